"""Shared test helpers: inline input trees, the project's registry, and contract builders."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import textwrap
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

# The test process keeps nothing in the user's cache; the commands it starts share the session's (below).
os.environ.setdefault("ANNEX_GEN_CACHE_DIR", "off")
# Tests, the commands they start and the web application take today in one zone, the one `serve`
# defaults to: at any hour of a run, "today" is the same day for all of them. (The render tests start
# their commands without TZ, or with another, to show the documents do not depend on it.)
os.environ["TZ"] = "Europe/Helsinki"
time.tzset()

from annex_gen.inputs.registry import load_registry  # noqa: E402
from annex_gen.model import Annex, Contract, Registry  # noqa: E402
from annex_gen.resolve import resolve  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGISTRY_DIR = ROOT / "registry"
EXAMPLES_DIR = ROOT / "examples"

Tree = Mapping[str, "str | bytes | Tree"]


def build_file_tree(root: Path, spec: Tree) -> Path:
    """Create files under root from {name: text | bytes | {nested}}; text is dedented."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in spec.items():
        path = root / name
        if isinstance(content, Mapping):
            build_file_tree(path, content)
        elif isinstance(content, bytes):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def copy_registry(dest: Path) -> Path:
    """A copy of the project's registry directory at dest."""
    shutil.copytree(REGISTRY_DIR, dest)
    return dest


def replace_once(path: Path, old: str, new: str) -> tuple[int, int]:
    """Replace the first occurrence of old in a file; return its 1-based line and column."""
    text = path.read_text(encoding="utf-8")
    index = text.find(old)
    assert index >= 0, f"{old!r} not found in {path}"
    path.write_text(text[:index] + new + text[index + len(old):], encoding="utf-8")
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def make_contract(
    region: str,
    products: Iterable[str],
    *,
    language: str = "fi",
    options: Mapping[str, bool] | None = None,
    customer_id: str = "acme",
    customer_name: str = "Acme Oy",
) -> Contract:
    """A Contract built directly, bypassing the file loader."""
    return Contract(
        customer_id=customer_id,
        customer_name=customer_name,
        date=dt.date(2026, 11, 29),
        region=region,
        language=language,
        products=tuple(products),
        options=dict(options or {}),
    )


def pytest_configure(config):
    """The commands the tests start treat warnings as the suite does: an undecided one is an error."""
    os.environ["PYTHONWARNINGS"] = ",".join(config.getini("filterwarnings"))


@pytest.fixture(scope="session", autouse=True)
def _registry_cache_dir(tmp_path_factory):
    """Commands keep the parsed registry and more in a cache directory (annex_gen.cachefiles): the session's own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANNEX_GEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The project's registry, loaded once."""
    return load_registry(REGISTRY_DIR)


@pytest.fixture
def annex_for(registry: Registry):
    """resolve() of a directly built contract against the project's registry."""

    def _annex_for(region: str, products: Iterable[str], **kwargs) -> Annex:
        return resolve(registry, make_contract(region, products, **kwargs))

    return _annex_for


# The archive's backends: every archive test runs against a directory (SQLite) and PostgreSQL.


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL cluster for the session; the tests that need it fail if it cannot start."""
    from archive_backends import PostgresServer

    try:
        server = PostgresServer().start()
    except (RuntimeError, OSError, LookupError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"the PostgreSQL test server cannot start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """Where the test's archive lives: a new directory, or a new database on the test server."""
    from archive_backends import Backend

    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "archive"))
    return Backend("postgresql", request.getfixturevalue("postgres_server").database())
