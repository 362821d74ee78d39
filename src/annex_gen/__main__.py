"""`python -m annex_gen`."""

from annex_gen.cli import run

run()
