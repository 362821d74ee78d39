"""The interface's texts in Finnish and English (templates/web/i18n), and which language a request gets."""

from __future__ import annotations

from functools import lru_cache

from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views.catalog import Catalog, load_catalogs

CATALOG_DIR = TEMPLATES_DIR / "web" / "i18n"
DEFAULT_LANGUAGE = "en"


def catalogs() -> dict[str, Catalog]:
    """The web interface's catalogs by language (loaded once, checked for matching keys)."""
    return load_catalogs(CATALOG_DIR)


def languages() -> tuple[str, ...]:
    """The interface languages."""
    return tuple(catalogs())


@lru_cache(maxsize=512)  # a page asks for every text it shows; browsers send few distinct headers
def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language chosen by the user, else the browser's first supported one, else English."""
    if chosen in catalogs():
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.split("-")[0].strip().lower()))
    for quality, _, tag in sorted(ranked):
        if quality < 0 and tag in catalogs():
            return tag
    return DEFAULT_LANGUAGE
