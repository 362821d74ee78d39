"""The parsed registry kept between commands: a hit equals a parse, any change is a miss, and a
cache nobody may trust, or cannot write, is left alone without failing anything."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REGISTRY_DIR, ROOT, copy_registry, replace_once

from annex_gen import app, cachefiles
from annex_gen.errors import InvalidInput
from annex_gen.inputs import registry_cache

STAMP = (("registry.yaml", b"\1" * 32),)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(registry_cache.CACHE_ENV, str(directory))
    monkeypatch.setattr(app, "_REGISTRIES", {})
    return directory


def test_a_stored_registry_comes_back_equal(cache, registry):
    registry_cache.put(REGISTRY_DIR, STAMP, registry)
    assert registry_cache.get(REGISTRY_DIR, STAMP) == registry
    assert [p.stat().st_mode & 0o777 for p in cache.iterdir()] == [0o600]
    assert cache.stat().st_mode & 0o777 == 0o700


def test_other_files_another_directory_or_other_code_miss(cache, registry, monkeypatch):
    registry_cache.put(REGISTRY_DIR, STAMP, registry)
    assert registry_cache.get(REGISTRY_DIR, (("registry.yaml", b"\2" * 32),)) is None
    assert registry_cache.get(REGISTRY_DIR, (*STAMP, ("extra.yaml", b"\1" * 32))) is None
    assert registry_cache.get(Path("elsewhere/registry"), STAMP) is None
    monkeypatch.setattr(cachefiles, "_code_digest", b"another version of the loader")
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None


def test_a_registry_that_cannot_be_stored_or_keyed_is_a_miss_not_an_error(cache, registry, monkeypatch):
    def unpicklable(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded while pickling an object")

    monkeypatch.setattr(registry_cache.pickle, "dumps", unpicklable)
    registry_cache.put(REGISTRY_DIR, STAMP, registry)  # does not raise
    assert not cache.exists() or not list(cache.iterdir())
    monkeypatch.undo()
    monkeypatch.setenv(registry_cache.CACHE_ENV, str(cache))
    registry_cache.put(REGISTRY_DIR, STAMP, registry)

    def unreadable_sources() -> bytes:
        raise PermissionError("model/registry.py: permission denied")

    monkeypatch.setattr(cachefiles, "code_digest", unreadable_sources)
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None


def test_a_cache_others_may_write_or_garbage_is_a_miss(cache, registry):
    registry_cache.put(REGISTRY_DIR, STAMP, registry)
    [stored] = cache.iterdir()
    stored.chmod(0o620)
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None
    stored.chmod(0o600)
    cache.chmod(0o777)
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None
    cache.chmod(0o700)
    stored.write_bytes(b"not a pickle")
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None
    stored.write_bytes(pickle.dumps({"not": "a registry"}))
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None


def test_a_linked_cache_file_or_directory_is_not_followed(cache, registry, tmp_path):
    registry_cache.put(REGISTRY_DIR, STAMP, registry)
    [stored] = cache.iterdir()
    elsewhere = tmp_path / "elsewhere.pickle"
    stored.rename(elsewhere)
    stored.symlink_to(elsewhere)
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None
    stored.unlink()
    cache.rename(tmp_path / "real-cache")
    cache.symlink_to(tmp_path / "real-cache")
    registry_cache.put(REGISTRY_DIR, STAMP, registry)
    assert registry_cache.get(REGISTRY_DIR, STAMP) is None
    assert list((tmp_path / "real-cache").iterdir()) == [], "nothing is written through the link"


def test_a_registry_edited_while_it_was_parsed_is_not_stored(cache, tmp_path, monkeypatch):
    registry_dir = copy_registry(tmp_path / "registry")
    parse = app._parse_registry

    def edited_meanwhile(directory):
        parsed = parse(directory)
        replace_once(directory / "registry.yaml", "release:", "release:  ")
        return parsed

    monkeypatch.setattr(app, "_parse_registry", edited_meanwhile)
    app.load_registry(registry_dir)
    assert not cache.exists() or not list(cache.glob("registry-*.pickle"))


def test_off_or_unwritable_leaves_no_cache_and_loading_works(tmp_path, monkeypatch, registry):
    monkeypatch.setattr(app, "_REGISTRIES", {})
    monkeypatch.setenv(registry_cache.CACHE_ENV, "off")
    assert registry_cache.cache_dir() is None
    assert app.load_registry(REGISTRY_DIR) == registry
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way")
    monkeypatch.setattr(app, "_REGISTRIES", {})
    monkeypatch.setenv(registry_cache.CACHE_ENV, str(blocked / "cache"))
    assert app.load_registry(REGISTRY_DIR) == registry
    assert blocked.read_text() == "in the way"


def test_only_the_most_recent_are_kept(cache, registry):
    for n in range(registry_cache.KEEP + 3):
        registry_cache.put(REGISTRY_DIR, (("registry.yaml", bytes([n]) * 32),), registry)
    assert len(list(cache.glob("registry-*.pickle"))) == registry_cache.KEEP
    assert not list(cache.glob(".registry-*"))


def test_a_registry_with_errors_is_not_stored(cache, tmp_path):
    registry_dir = copy_registry(tmp_path / "registry")
    replace_once(registry_dir / "registry.yaml", "release:", "releases:")
    with pytest.raises(InvalidInput, match="release"):
        app.load_registry(registry_dir)
    assert not cache.exists() or not list(cache.iterdir())


LOAD = """
import json, sys
from pathlib import Path
from annex_gen import app
registry = app.load_registry(Path(sys.argv[1]))
parsers = sorted(m for m in ("annex_gen.inputs.registry", "ruamel.yaml", "yaml", "babel", "stdnum") if m in sys.modules)
print(json.dumps({"version": registry.version, "sections": len(registry.sections), "parsed": parsers}))
"""


def _load_in_a_new_process(registry_dir: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", LOAD, str(registry_dir)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def test_the_next_command_reads_the_cache_without_the_parsers_and_sees_every_edit(cache, tmp_path, registry):
    registry_dir = copy_registry(tmp_path / "registry")
    first = _load_in_a_new_process(registry_dir)
    # ruamel only for what libyaml's fast path leaves (inputs.yamlio)
    assert first["parsed"] == ["annex_gen.inputs.registry", "babel", "stdnum", "yaml"]
    second = _load_in_a_new_process(registry_dir)
    assert second == {**first, "parsed": []}
    replace_once(registry_dir / "registry.yaml", f"release: \"{registry.release}\"", "release: \"2099.1.1\"")
    edited = _load_in_a_new_process(registry_dir)
    assert edited["version"].startswith("2099.1.1+") and edited["parsed"] != []
    assert _load_in_a_new_process(registry_dir) == {**edited, "parsed": []}
    assert len(list(cache.glob("registry-*.pickle"))) == 2, "the processes used this cache"
