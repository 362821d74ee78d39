"""Where the package data lives: templates, stylesheets, fonts and message catalogs."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Installed as package data; a Path because WeasyPrint and Jinja read real files.
TEMPLATES_DIR = Path(str(files("annex_gen") / "templates"))
