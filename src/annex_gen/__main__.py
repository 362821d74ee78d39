"""`python -m annex_gen`."""

from annex_gen.cli import main

raise SystemExit(main())
