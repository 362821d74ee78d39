"""A wheel (`pip wheel .`) installed with its dependencies in a fresh virtual environment works from anywhere.

The templates, fonts and catalogs are package data: the installed wheel must find them without
the checkout, and write the same bytes as the checkout does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from render_support import EXAMPLES_DIR, ROOT, run_cli, uv_command

EXAMPLE = EXAMPLES_DIR / "kowloon-studio.yaml"


def _fresh_env_with_wheel(tmp_path: Path) -> Path:
    """A new venv holding the built wheel and what its metadata asks for, at the lock's versions.

    The dependency ranges of pyproject.toml are what a user installing the wheel gets resolved;
    the lock's versions as constraints keep this test independent of upstream releases.
    """
    uv = uv_command()
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                            "--wheel-dir", str(wheels), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("annex_gen-*.whl")
    constraints = tmp_path / "constraints.txt"
    exported = subprocess.run([uv, "export", "--frozen", "--no-emit-project", "--no-hashes", "--no-header",
                               "--output-file", str(constraints)], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    assert exported.returncode == 0, exported.stderr
    env_dir = tmp_path / "env"
    for step in (["venv", "--quiet", "--python", sys.executable, str(env_dir)],
                 ["pip", "install", "--quiet", "--python", str(env_dir / "bin" / "python"), str(wheel),
                  "--constraints", str(constraints)]):
        done = subprocess.run([uv, *step], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
        assert done.returncode == 0, done.stderr
    return env_dir / "bin" / "python"


def test_a_wheel_install_finds_its_templates_and_writes_the_checkouts_bytes(tmp_path):
    python = _fresh_env_with_wheel(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([python, "-c", "import annex_gen.resources as r; print(r.TEMPLATES_DIR)"],
                           cwd=elsewhere, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "env"), where
    assert (Path(where) / "annex.html.j2").is_file() and (Path(where) / "fonts" / "OFL.txt").is_file()

    installed = subprocess.run([python, "-m", "annex_gen", "--registry", str(ROOT / "registry"), "generate",
                                str(EXAMPLE), "--out", "out"], cwd=elsewhere, capture_output=True, text=True,
                               timeout=300)
    assert installed.returncode == 0, installed.stderr
    checkout = run_cli("generate", EXAMPLE, "--out", tmp_path / "checkout")
    assert checkout.returncode == 0, checkout.stderr
    ours = sorted(p.relative_to(elsewhere / "out") for p in (elsewhere / "out").rglob("*.*"))
    theirs = sorted(p.relative_to(tmp_path / "checkout") for p in (tmp_path / "checkout").rglob("*.*"))
    assert ours == theirs and {p.suffix for p in ours} == {".pdf", ".docx"}
    for rel in ours:
        assert (elsewhere / "out" / rel).read_bytes() == (tmp_path / "checkout" / rel).read_bytes(), rel
