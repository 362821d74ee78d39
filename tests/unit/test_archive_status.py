"""The annex in force on a date, and its drift from what the registry resolves now."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from annex_gen.archive.status import (
    archive_status,
    customer_status,
    diff_annex,
    in_force,
)
from annex_gen.archive.store import Archive, Record
from annex_gen.changes.annex_diff import PartyChange as Change
from annex_gen.errors import UsageError
from annex_gen.inputs.contract import load_contract
from archive_support import example_annex, project_registry, with_document_id
from conftest import EXAMPLES_DIR

D = dt.date


@pytest.fixture
def archive(backend):
    with Archive.open(backend.location, create=True) as a:
        yield a


def _add(archive: Archive, signed_on: str, annex: dict[str, Any] | None = None, *,
         customer: str = "esimerkki-oy", document_id: str | None = None) -> Record:
    fields = {"kind": "annex", "customer_id": customer, "parent": None, "signed_on": signed_on,
              "document_id": annex["document_id"] if annex else document_id, "annex": annex}
    data = f"{customer} {signed_on} {document_id} {len(archive.records())}".encode()
    return archive.append(fields, data, name="a.pdf", media_type="application/pdf", shown="a.pdf")


def _contract():
    contract, _ = load_contract(project_registry(), EXAMPLES_DIR / "esimerkki-oy.yaml")
    return contract


def _current() -> dict[str, Any]:
    return example_annex("esimerkki-oy").to_dict()


def _older() -> dict[str, Any]:
    """The current annex as it might have read before a registry change (four differences)."""
    old = copy.deepcopy(_current())
    parties = {p["id"]: p for p in old["subprocessors"]}
    parties["dna"]["legal_id"] = "FI00000000"
    parties["hetzner"]["locations"] = ["Saksa", "Suomi"]
    old["subprocessors"] = [p for p in old["subprocessors"] if p["id"] != "twilio-ireland"]
    old["subprocessors"].append({"id": "gone-oy", "name": "Gone Oy", "legal_id": "FI11111111",
                                 "country": "FI", "locations": ["Suomi"], "outside_eea": False,
                                 "sections": ["eu-general"]})
    for section in old["sections"]:
        section["entries"] = [e for e in section["entries"] if e["subprocessor"] != "twilio-ireland"]
        for entry in section["entries"]:
            if entry["subprocessor"] == "cyclr":
                entry["purpose"] = "Integraatiot"
    return with_document_id(old)


def test_the_annex_in_force_is_the_latest_signed_not_after_the_date(archive):
    march = _add(archive, "2025-03-01", document_id="ANX-0000-0000-0000-0001")
    september = _add(archive, "2025-09-01", document_id="ANX-0000-0000-0000-0002")
    added_late = _add(archive, "2025-02-01", document_id="ANX-0000-0000-0000-0003")
    records = archive.records()
    assert in_force(records, D(2025, 1, 31)) is None
    assert in_force(records, D(2025, 2, 1)) == added_late
    assert in_force(records, D(2025, 5, 1)) == march
    assert in_force(records, D(2025, 9, 1)) == september
    assert in_force(records, D(2030, 1, 1)) == september


def test_of_two_annexes_signed_the_same_day_the_later_record_is_in_force(archive):
    _add(archive, "2025-03-01", document_id="ANX-0000-0000-0000-0001")
    second = _add(archive, "2025-03-01", document_id="ANX-0000-0000-0000-0002")
    assert in_force(archive.records(), D(2025, 3, 1)) == second


def test_diff_lists_added_removed_and_changed_subprocessors():
    changes, other = diff_annex(_older(), _current())
    assert other == ()
    by_id = {c.id: c for c in changes}
    assert [c.change for c in changes] == ["added", "removed", "changed", "changed", "changed"]
    assert by_id["twilio-ireland"] == Change("added", "twilio-ireland", "Twilio Ireland Ltd.", "IE557454")
    assert by_id["gone-oy"] == Change("removed", "gone-oy", "Gone Oy", "FI11111111")
    assert by_id["dna"].details == ("legal ID: 'FI00000000' -> 'FI05925096'",)
    assert by_id["hetzner"].details == ("locations: removed 'Suomi'",)
    (cyclr,) = by_id["cyclr"].details
    assert cyclr == "purpose: added 'Lianan integraatioalusta osalle toimituksista'; removed 'Integraatiot'"


def test_provenance_alone_is_no_difference():
    old = _current()
    old["registry_version"] = "2025.1.0+00000000"
    old["published_list"] = {**old["published_list"], "retrieved": "2025-01-01"}
    assert diff_annex(with_document_id(old), _current()) == ((), ())


def test_other_content_changes_are_named():
    old = _current()
    old["notice_period_days"] = old["notice_period_days"] + 30
    assert diff_annex(with_document_id(old), _current()) == ((), ("notice_period_days",))


def test_status_current_outdated_and_before_any_annex(archive):
    older = _add(archive, "2025-03-01", _older())
    newer = _add(archive, "2025-09-01", _current())
    registry, contract = project_registry(), _contract()

    before = customer_status(archive, registry, contract, D(2025, 1, 1))
    assert (before.state, before.record) == ("no-annex", None)
    assert before.current_document_id == _current()["document_id"]

    between = customer_status(archive, registry, contract, D(2025, 6, 1))
    assert (between.state, between.record) == ("outdated", older)
    assert {c.id for c in between.changes} == {"twilio-ireland", "gone-oy", "dna", "hetzner", "cyclr"}

    after = customer_status(archive, registry, contract, D(2025, 10, 1))
    assert (after.state, after.record, after.changes) == ("current", newer, ())


def test_a_scan_is_compared_by_its_document_id_and_borrows_content_from_its_document(archive):
    registry, contract = project_registry(), _contract()
    scan = _add(archive, "2025-03-01", document_id=_current()["document_id"])
    assert customer_status(archive, registry, contract, D(2025, 4, 1)).state == "current"

    old_scan = _add(archive, "2025-05-01", document_id="ANX-0000-0000-0000-0009")
    status = customer_status(archive, registry, contract, D(2025, 6, 1))
    assert (status.state, status.record) == ("unknown", old_scan)

    older = _older()
    linked_scan = _add(archive, "2025-07-01", document_id=older["document_id"])
    _add(archive, "2020-01-01", older)  # the digitally signed original, long superseded
    status = customer_status(archive, registry, contract, D(2025, 8, 1))
    assert (status.state, status.record) == ("outdated", linked_scan)
    assert len(status.changes) == 5
    assert scan.seq == 1


def test_archive_status_reports_archived_customers_without_a_contract(archive):
    _add(archive, "2025-03-01", _current())
    _add(archive, "2025-03-01", customer="departed-oy", document_id="ANX-0000-0000-0000-0001")
    statuses = archive_status(archive, project_registry(), [_contract()], D(2025, 4, 1))
    assert [(s.customer_id, s.state) for s in statuses] == [("esimerkki-oy", "current"),
                                                            ("departed-oy", "no-contract")]
    assert statuses[1].to_dict()["document_id"] == "ANX-0000-0000-0000-0001"


def test_archive_status_of_an_unknown_customer_is_refused(archive):
    with pytest.raises(UsageError, match="'nobody' has neither a contract nor an archived annex"):
        archive_status(archive, project_registry(), [_contract()], D(2025, 4, 1), customer="nobody")


def test_an_annex_read_back_from_its_json_is_the_same_annex():
    from annex_gen.model import Annex

    for name in ("esimerkki-oy", "nordic-webshop", "kauppahuone-aalto"):
        annex = example_annex(name)
        assert Annex.from_dict(annex.to_dict(), customer_register_id=annex.customer_register.id) == annex


def test_an_archived_annex_of_a_later_schema_version_is_compared_by_its_content():
    later = with_document_id({**_current(), "schema": "annex-gen/annex/2", "signing_channel": "e-signature"})
    assert diff_annex(later, _current()) == ((), ())
    older = with_document_id({**_older(), "schema": "annex-gen/annex/2", "signing_channel": "e-signature"})
    changes, other = diff_annex(older, _current())
    assert {c.id for c in changes} == {"twilio-ireland", "gone-oy", "dna", "hetzner", "cyclr"} and other == ()
