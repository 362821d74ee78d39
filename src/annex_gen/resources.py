"""Where the package data lives: templates, stylesheets, fonts and message catalogs."""

from __future__ import annotations

from pathlib import Path

# Installed as package data next to this module; a Path because WeasyPrint and Jinja read real files.
TEMPLATES_DIR = Path(__file__).parent / "templates"
