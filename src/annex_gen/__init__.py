"""annex-gen: DPA sub-processor annexes from the published sub-processor list."""

__version__ = "0.1.0"
