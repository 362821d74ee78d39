"""annex-gen prints its own messages only: libraries' warnings stay off a user's terminal.

They show with --debug or when the user asks for them (-W, PYTHONWARNINGS); the test run asks
for them as errors (conftest), so these tests run the commands with the environment a user has.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from archive_support import annex_pdf, sign, write

# As a library raises it: attributed to a module other than __main__, where Python hides it by default.
WARN = ("import warnings; warnings.warn_explicit('a library is deprecating something', DeprecationWarning, "
        "'library.py', 1, module='library')")


def user_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}


def python(code: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60,
                          env=env or user_env())


QUIETED = ("import sys; from annex_gen.cli import quiet_libraries; quiet_libraries(sys.argv[1:]); " + WARN
           + "; import subprocess; subprocess.run([sys.executable, '-c', " + repr(WARN) + "])")


def test_a_library_warning_is_not_shown_to_the_user_nor_in_worker_processes():
    result = python(QUIETED, "generate", "x.yaml")
    assert result.returncode == 0 and result.stderr == ""


def test_debug_shows_every_library_warning():
    result = python(QUIETED, "--debug", "generate", "x.yaml")
    assert result.stderr.count("DeprecationWarning: a library is deprecating something") == 2  # and in the worker


def test_the_users_own_warning_filters_win():
    result = python(QUIETED, "generate", env={**user_env(), "PYTHONWARNINGS": "always"})
    assert result.stderr.count("DeprecationWarning: a library is deprecating something") == 2


def test_archive_add_of_a_signed_pdf_prints_nothing_on_stderr(tmp_path: Path):
    signed = write(tmp_path / "signed.pdf", sign(annex_pdf("nordic-webshop"), signer="Maija Meikäläinen"))
    env = {**user_env(), "ANNEX_GEN_ARCHIVE": str(tmp_path / "archive")}
    for args in (["add", signed.name, "--customer", "nordic-webshop"], ["verify"], ["show", "1"]):
        result = subprocess.run([sys.executable, "-m", "annex_gen", "archive", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", args
