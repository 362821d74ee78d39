"""Many writers at once keep a gapless chain, on both backends: 8 processes adding 200 files."""

from __future__ import annotations

import multiprocessing

from annex_gen import app
from annex_gen.archive.store import Archive
from archive_backends import add_scans

WRITERS, ADDS = 8, 200


def test_eight_writers_and_two_hundred_adds_keep_a_gapless_chain(backend):
    with Archive.open(backend.location, create=True):
        pass  # the schema exists before the writers start, as in a deployment
    context = multiprocessing.get_context("spawn")  # no connection is shared with the parent
    with context.Pool(WRITERS) as pool:
        per_writer = pool.starmap(add_scans, [(backend.location, w, ADDS // WRITERS) for w in range(WRITERS)])
    seqs = sorted(s for writer in per_writer for s in writer)
    assert seqs == list(range(1, ADDS + 1))
    for writer in per_writer:
        assert writer == sorted(writer)  # each writer's adds are chained in the order it made them
    records = app.archive_records(backend.location)
    assert [r.seq for r in records] == list(range(1, ADDS + 1))
    assert all(r.body["prev"] == p.record_hash for p, r in zip(records, records[1:], strict=False))
    report = app.archive_verify(backend.location)
    assert report.problems == [] and (report.records, report.files) == (ADDS, ADDS)
    assert len(backend.stored_objects()) == ADDS
