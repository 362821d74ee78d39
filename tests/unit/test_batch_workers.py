"""Worker processes that die: the batch engine retries what the broken pool held once, then reports it failed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from annex_gen.batch.run import run_in_workers


def die_once_then_work(payload: tuple[str, str], out_dir: Path, registry) -> tuple:
    """Stand-in renderer: 'once' kills its own process the first time, 'always' every time."""
    name, mode = payload
    marker = out_dir / f"{name}.tried"
    if mode == "always" or (mode == "once" and not marker.exists()):
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return ("ok", name)


def run(tmp_path: Path, payloads: list[tuple[str, str]], jobs: int = 2) -> tuple[dict[str, tuple], list[str]]:
    outcomes: dict[str, tuple] = {}
    retried: list[str] = []
    run_in_workers(die_once_then_work, "stand-in registry", payloads, tmp_path, jobs,
                   lambda index, outcome: outcomes.__setitem__(payloads[index][0], outcome),
                   retried=lambda index: retried.append(payloads[index][0]))
    return outcomes, retried


def test_a_worker_killed_once_costs_a_retry_and_nothing_else(tmp_path):
    payloads = [("a", "work"), ("b", "once"), ("c", "work"), ("d", "work"), ("e", "work")]
    outcomes, retried = run(tmp_path, payloads)
    assert outcomes == {name: ("ok", name) for name, _ in payloads}
    assert "b" in retried and len(retried) <= 2  # the killed contract, and the one its pool held beside it


def test_a_contract_that_kills_its_worker_every_time_fails_and_the_rest_finish(tmp_path):
    payloads = [("a", "work"), ("b", "always"), ("c", "work"), ("d", "work")]
    outcomes, retried = run(tmp_path, payloads)
    assert outcomes.pop("b") == ("failed", "its worker process died 2 times while rendering it (killed, or out "
                                           "of memory); the other contracts went on")
    assert outcomes == {name: ("ok", name) for name in ("a", "c", "d")}
    assert retried.count("b") == 1
