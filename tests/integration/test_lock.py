"""uv.lock is what every install uses: it must agree with pyproject.toml's dependencies."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from render_support import ROOT, uv_command


def lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([uv_command(), "lock", "--check", "--offline"], cwd=project, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})


def test_the_lock_agrees_with_pyproject():
    result = lock_check(ROOT)
    assert result.returncode == 0, f"{result.stderr}\nuv.lock is out of date: run make lock, then make test"


def test_a_changed_dependency_range_is_a_disagreement(tmp_path: Path):
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert '"jinja2>=3.1,<4"' in text
    pyproject.write_text(text.replace('"jinja2>=3.1,<4"', '"jinja2>=3.1,<5"'), encoding="utf-8")
    result = lock_check(tmp_path)
    # uv says so outright, or, offline with an empty cache, finds it cannot resolve the new range from the lock
    assert result.returncode != 0
    assert "needs to be updated" in result.stderr or "No solution found" in result.stderr, result.stderr
