"""Typst annexes shared among threads: what a failure or a Ctrl-C does to the others.

The render itself is replaced by a stand-in, so the timing, not Typst, decides which thread meets
what; tests/integration/test_render_generate.py runs the real renders.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from annex_gen.output import generate as generate_module
from annex_gen.output.generate import Generated, _in_threads


def _run(monkeypatch, contracts: list[int], jobs: int, render) -> list[Generated]:
    def stand_in(registry, contract, out_dir, formats, engine="typst"):
        render(contract)
        return Generated(f"c{contract}", f"ANX-{contract}")

    monkeypatch.setattr(generate_module, "generate", stand_in)
    return _in_threads(None, contracts, Path("out"), ("pdf",), "typst", jobs)  # type: ignore[arg-type]


def test_the_first_contract_s_failure_is_raised_whichever_thread_meets_it_first(monkeypatch):
    def render(contract: int) -> None:
        if contract == 0:
            time.sleep(0.3)  # fails after contract 1 has failed on the other thread
        if contract in (0, 1):
            raise ValueError(f"contract {contract}")

    for _ in range(3):
        with pytest.raises(ValueError, match="contract 0"):
            _run(monkeypatch, [0, 1, 2, 3], 2, render)


def test_results_come_back_in_the_contracts_order(monkeypatch):
    done = _run(monkeypatch, list(range(7)), 3, lambda contract: time.sleep(0.01 * (7 - contract)))
    assert [g.customer_id for g in done] == [f"c{n}" for n in range(7)]


def test_ctrl_c_while_waiting_lets_the_other_thread_finish_its_annex_then_stops(monkeypatch):
    finished: list[int] = []
    taken: list[int] = []

    other_took = threading.Event()

    def render(contract: int) -> None:
        taken.append(contract)
        if threading.current_thread() is threading.main_thread():
            other_took.wait(10)  # until the other thread has its annex (however busy the machine)
            time.sleep(0.1)
            return
        other_took.set()
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the main thread is interrupted, this one is not
        time.sleep(0.4)
        finished.append(contract)

    # Ctrl-C as in a terminal: a process started in the background of a script inherits SIGINT ignored
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            _run(monkeypatch, [0, 1, 2, 3, 4, 5], 2, render)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert finished, "the other thread's annex was finished before the command stopped"
    assert len(taken) < 6, "no annex was started after the Ctrl-C"
