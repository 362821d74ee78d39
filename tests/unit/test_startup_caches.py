"""What a command keeps between runs to start sooner, and what it leaves out of its start.

The compiled methods of dataclasses and the message catalogs come back from the user's cache
equal to what compiling and parsing give; anything unreadable is a miss. PyYAML's patterns and
stdnum's ssl and pydoc are left until used, and work when used.
"""

from __future__ import annotations

import dataclasses
import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import ROOT

from annex_gen import cachefiles, codecache
from annex_gen.errors import InvalidInput
from annex_gen.views import catalog


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv(cachefiles.CACHE_ENV, str(directory))
    return directory


def _methods(cls: type) -> dict[str, object]:
    return {name: getattr(cls, name) for name in ("__init__", "__repr__", "__eq__", "__setattr__", "__hash__")
            if name in cls.__dict__}


def _define(namespace: dict) -> type:
    @dataclasses.dataclass(frozen=True, order=True)
    class Point:
        """A point."""

        x: int
        y: list[int] = dataclasses.field(default_factory=list)
        label: str = "p"

    namespace["Point"] = Point
    return Point


def test_dataclass_methods_from_the_cache_equal_compiled_ones(cache, monkeypatch):
    assert dataclasses.exec is codecache._exec, "annex_gen installs the cache when imported"
    monkeypatch.setattr(codecache, "_codes", {})
    monkeypatch.setattr(codecache, "_new", False)
    _define({})  # compiled, and stored
    codecache.save()
    codecache._codes.clear()
    codecache._codes.update(codecache._load())
    assert codecache._codes and all(isinstance(code, bytes) for code in codecache._codes.values())
    compiled = _define({})  # from the file, through marshal
    assert not codecache._new, "every method came from the file"
    monkeypatch.setattr(dataclasses, "exec", exec)  # dataclasses as it is without annex-gen
    plain = _define({})
    cached, uncached = _methods(compiled), _methods(plain)
    assert cached.keys() == uncached.keys() and "__init__" in cached
    for name, method in cached.items():
        assert method.__code__ == uncached[name].__code__, name
        assert method.__annotations__ == uncached[name].__annotations__, name
    assert compiled(1, [2]) < compiled(2) and repr(compiled(1)).endswith("Point(x=1, y=[], label='p')")


def test_the_cache_file_is_written_at_exit_and_read_by_the_next_process(cache):
    program = ("import dataclasses, annex_gen\n"
               "@dataclasses.dataclass\nclass Unseen:\n    '''Seen by this test only.'''\n    serial: int = 20261207\n"
               "from annex_gen import codecache\nprint(len(codecache._codes), codecache._new)")
    first = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    stored = marshal.loads((cache / codecache.FILE).read_bytes())
    assert any("serial" in text for text in stored), "the new class's methods were kept"
    assert all(isinstance(marshal.loads(code), type(compile("", "", "exec"))) for code in stored.values())
    second = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    assert first.stdout.split()[1] == "True" and second.stdout.split() == [str(len(stored)), "False"]


@pytest.mark.parametrize("content", [b"", b"not marshal data", marshal.dumps(["a", "list"]),
                                     marshal.dumps({"text": "not code"}),
                                     marshal.dumps({"x = 1": compile("x = 1", "<string>", "exec")})])
def test_an_unreadable_code_cache_is_a_miss(cache, content):
    cache.mkdir(mode=0o700)
    (cache / codecache.FILE).write_bytes(content)
    (cache / codecache.FILE).chmod(0o600)
    assert codecache._load() == {}


def test_a_code_cache_others_may_write_is_not_read(cache):
    cache.mkdir(mode=0o700)
    code = marshal.dumps(compile("x = 1", "<string>", "exec"))
    (cache / codecache.FILE).write_bytes(marshal.dumps({"x = 1": code}))
    (cache / codecache.FILE).chmod(0o600)
    assert codecache._load() == {"x = 1": code}
    (cache / codecache.FILE).chmod(0o622)
    assert codecache._load() == {}


def test_a_stored_code_that_does_not_read_back_is_compiled_again(monkeypatch):
    stored = {}
    monkeypatch.setattr(codecache, "_codes", stored)
    monkeypatch.setattr(codecache, "_new", False)
    text = "def __init__(self, n):\n  self.n = n\n"
    stored[text] = b"not marshal data"
    namespace: dict = {}
    codecache._exec(text, namespace)
    assert namespace["__init__"].__code__.co_varnames[:2] == ("self", "n")
    assert codecache._new and stored[text] == compile(text, "<string>", "exec", dont_inherit=True)
    stored[text] = marshal.dumps(compile("def __init__(self): pass", "<string>", "exec"))
    codecache._exec(text, namespace)
    assert namespace["__init__"].__code__.co_varnames == ("self",), "a stored code is used as it reads"


def _copy_catalogs(tmp_path: Path) -> Path:
    directory = tmp_path / "i18n"
    directory.mkdir()
    for path in (ROOT / "src" / "annex_gen" / "templates" / "i18n").glob("*.yaml"):
        (directory / path.name).write_bytes(path.read_bytes())
    return directory


def _texts(catalogs: dict) -> dict:
    return {language: dict(cat) for language, cat in catalogs.items()}


def test_catalogs_from_the_cache_equal_parsed_ones(cache, tmp_path):
    directory = _copy_catalogs(tmp_path)
    parsed = _texts(catalog.load_catalogs.__wrapped__(directory))
    [stored] = cache.glob("catalogs-*.marshal")
    assert marshal.loads(stored.read_bytes()) == parsed
    assert _texts(catalog.load_catalogs.__wrapped__(directory)) == parsed
    assert parsed["fi"]["document.page"] and parsed.keys() == {"en", "fi"}


def test_an_edited_catalog_is_parsed_again_and_still_checked(cache, tmp_path):
    directory = _copy_catalogs(tmp_path)
    catalog.load_catalogs.__wrapped__(directory)
    fi = directory / "fi.yaml"
    text = fi.read_text(encoding="utf-8")
    fi.write_text(text.replace("{page}", "{sivu}", 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        catalog.load_catalogs.__wrapped__(directory)
    assert any("placeholders differ" in d.message for d in raised.value.diagnostics)
    fi.write_text(text.replace("document:", "document:\n  extra: Lisäteksti", 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        catalog.load_catalogs.__wrapped__(directory)
    assert [(Path(d.file).name, d.key) for d in raised.value.diagnostics] == [("en.yaml", "document.extra")]


def test_catalogs_cached_by_other_reading_code_are_parsed_again(cache, tmp_path, monkeypatch):
    directory = _copy_catalogs(tmp_path)
    catalog.load_catalogs.__wrapped__(directory)
    monkeypatch.setattr(cachefiles, "_code_digest", b"another YAML reader or PyYAML release")
    catalog.load_catalogs.__wrapped__(directory)
    assert len(list(cache.glob("catalogs-*.marshal"))) == 2


def test_catalogs_load_when_the_reading_code_cannot_be_read(cache, tmp_path, monkeypatch):
    def unreadable() -> bytes:
        raise PermissionError("inputs/yamlio.py: permission denied")

    monkeypatch.setattr(cachefiles, "code_digest", unreadable)
    directory = _copy_catalogs(tmp_path)
    assert _texts(catalog.load_catalogs.__wrapped__(directory))["fi"]["document.page"]
    assert not list(cache.glob("catalogs-*.marshal"))


def test_a_garbage_catalog_cache_is_parsed_over(cache, tmp_path):
    directory = _copy_catalogs(tmp_path)
    parsed = _texts(catalog.load_catalogs.__wrapped__(directory))
    [stored] = cache.glob("catalogs-*.marshal")
    stored.write_bytes(marshal.dumps({"fi": "not a dict"}))
    assert _texts(catalog.load_catalogs.__wrapped__(directory)) == parsed


def test_catalogs_load_with_the_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv(cachefiles.CACHE_ENV, "off")
    directory = _copy_catalogs(tmp_path)
    assert _texts(catalog.load_catalogs.__wrapped__(directory))["en"]["document.page"]
    assert not list(tmp_path.rglob("*.marshal"))


LEFT_UNTIL_USED = """
import json, re, sys
sys.path.insert(0, "src")
from annex_gen.inputs.contract import _eu_vat
import yaml.reader
pattern = yaml.reader.Reader.NON_PRINTABLE
lazy = type(pattern).__name__
vat = _eu_vat()
imported = sorted(name for name in ("ssl", "pydoc", "inspect") if name in sys.modules)
print(json.dumps({
    "lazy": lazy,
    "found": pattern.search("a\\x07b").start(),
    "compile": re.compile.__module__,
    "safe_load": yaml.safe_load("a: [1, x]"),
    "vat": vat.is_valid("SE556703748501"),
    "imported": imported,
}))
"""


def test_pyyaml_patterns_and_stdnum_modules_wait_until_used():
    proc = subprocess.run([sys.executable, "-c", LEFT_UNTIL_USED], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["lazy"] == "_PatternOnFirstUse" and seen["found"] == 1  # compiled when first searched
    assert seen["compile"] == "re" and seen["safe_load"] == {"a": [1, "x"]}
    assert seen["vat"] is True and seen["imported"] == []


THREADED = """
import sys, threading
sys.path.insert(0, "src")
started = threading.Event()
worker = threading.Thread(target=started.wait, daemon=True)
worker.start()
from annex_gen.inputs import yamlio
import yaml.reader
print(type(yaml.reader.Reader.NON_PRINTABLE).__name__)
started.set()
"""


def test_with_other_threads_running_pyyaml_is_imported_as_usual():
    proc = subprocess.run([sys.executable, "-c", THREADED], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Pattern"
