"""Helpers of the team tests: a migrated database, workers as child processes, files compared byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg
from batch_support import cli, command

ROOT = Path(__file__).resolve().parents[2]


def migrated(postgres_server) -> str:
    """A fresh database with the archive, team and queue schemas."""
    url = postgres_server.database()
    done = cli("archive", "migrate", "--archive", url)
    assert done.returncode == 0, done.stderr
    return url


class Worker:
    """`annex-gen worker` in a child process with a short heartbeat, logging to a file."""

    def __init__(self, url: str, log: Path, name: str, heartbeat: float = 1.0) -> None:
        self.log = log
        self._file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command("worker", "--archive", url, "--heartbeat", str(heartbeat), "--name", name),
            cwd=ROOT, stdout=self._file, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM (the running job finishes first); the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._file.close()
        return self.process.returncode


def query(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as con:
        return con.execute(sql, params).fetchall()


# Rows a worker has begun to render (its attempt recorded, its result not yet): a worker killed now is
# mid-render, not between taking a job and starting it.
RENDERING = "SELECT count(*) FROM annex_team.run_items WHERE status = 'queued' AND attempts >= 1"


def wait_for(predicate, timeout: float, what: str, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def files_of(folder: Path) -> dict[str, bytes]:
    """Every document file under folder (PDF and DOCX), by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.suffix in (".pdf", ".docx")}
