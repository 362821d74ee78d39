"""`python -m annex_gen`."""

from .cli import main

raise SystemExit(main())
