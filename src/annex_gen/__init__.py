"""annex-gen: DPA sub-processor annexes from the published sub-processor list."""

from annex_gen import codecache

__version__ = "0.1.0"

codecache.install()
