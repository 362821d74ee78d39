"""The background batch runner: progress as events arrive, one batch at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from annex_gen.batch.background import FAILED, FINISHED, RUNNING, BatchRunner
from annex_gen.batch.run import BatchResult, Event
from annex_gen.errors import OutputLocked, UsageError


def test_progress_counts_events_and_the_result_is_kept(tmp_path: Path):
    runner = BatchRunner()
    release = threading.Event()
    finished = []

    def run(progress):
        progress(Event("planned", 0, 3, to_render=2))
        progress(Event("unchanged", 1, 3, customer_id="a"))
        progress(Event("generated", 2, 3, customer_id="b"))
        release.wait(10)
        progress(Event("failed", 3, 3, customer_id="c"))
        return BatchResult(total=3, generated=[("b", "ANX-B")], unchanged=["a"])

    started = runner.start(run, out_dir=tmp_path, started_by="maija", on_finish=finished.append)
    assert (started.state, started.started_by) == (RUNNING, "maija")
    with pytest.raises(OutputLocked, match=r"in use by another batch \(started by maija at .*\)"):
        runner.start(run, out_dir=tmp_path, started_by="pekka")
    release.set()
    final = runner.wait(10)
    assert (final.state, final.done, final.total, final.to_render) == (FINISHED, 3, 3, 2)
    assert (final.generated, final.unchanged, final.failed, final.last, final.percent) == (1, 1, 1, "c", 100)
    assert final.result.generated == [("b", "ANX-B")] and finished == [final]
    assert final.to_dict()["state"] == "finished"


def test_an_error_is_reported_and_a_new_batch_may_start(tmp_path: Path):
    runner = BatchRunner()

    def fail(progress):
        raise UsageError("no contracts found")

    runner.start(fail, out_dir=tmp_path, started_by="local")
    final = runner.wait(10)
    assert (final.state, final.error) == (FAILED, "no contracts found")
    runner.start(lambda progress: BatchResult(), out_dir=tmp_path, started_by="local")
    assert runner.wait(10).state == FINISHED
