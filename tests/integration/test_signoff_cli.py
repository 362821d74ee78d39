"""Legal's sign-off end to end, as a lawyer runs it: `check --strict`, `facts confirm`, `release approve`.

Every test works on a copy of the project's registry in its own directory (no contracts there, so
`check` and `release approve` see the registry alone), with the archive on both backends.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from docx import Document
from ruamel.yaml import YAML

from annex_gen import app
from annex_gen.inputs.registry import load_registry
from annex_gen.signoff.facts import unconfirmed
from conftest import EXAMPLES_DIR, copy_registry

LAWYER = "Laura Lakimies"


def run(cwd: Path, *args: str, archive: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ("--archive", archive) if archive else ()
    return subprocess.run([sys.executable, "-m", "annex_gen", *args, *extra], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def work(tmp_path) -> Path:
    copy_registry(tmp_path / "registry")
    return tmp_path


def confirm_everything(registry_dir: Path, archive: str | None = None) -> int:
    """What legal does, in the test: confirm every printed fact (choosing the first candidate where a fact
    is open), add every missing Annex III detail, and name a basis for the register's transfers."""
    registry = load_registry(registry_dir)
    count = 0
    for fact in unconfirmed(registry):
        value = fact.candidates[0].value if fact.value is None else None
        app.confirm_fact(registry_dir, fact.key, by=LAWYER, source="Liana's signed agreement (test)", value=value,
                         on=dt.date(2026, 12, 7), archive=archive)
        count += 1
    for d in load_registry(registry_dir).warnings:
        if d.key.startswith("entities."):  # a missing address or contact
            app.confirm_fact(registry_dir, d.key, by=LAWYER, source="register extract (test)",
                             value=f"Detail of {d.key} (test)", on=dt.date(2026, 12, 7))
            count += 1
    # the customer register's US rows name no transfer basis: legal records one (in the test, the SCC)
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    sections_file = registry_dir / "sections.yaml"
    data = yaml.load(sections_file.read_text(encoding="utf-8"))
    locations = load_registry(registry_dir).locations
    for section in data["sections"]:
        for entry in section["entries"]:
            if not locations[entry["location"]].eea and "transfer" not in entry:
                entry["transfer"] = "scc-module-3"
    with sections_file.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    return count


def test_check_strict_names_each_unconfirmed_fact_and_missing_detail(work):
    strict = run(work, "check", "--strict")
    assert strict.returncode == 1
    lines = strict.stderr.splitlines()
    registry = load_registry(work / "registry")
    for fact in unconfirmed(registry):
        assert any(line.startswith(f"registry/{Path(fact.file).name}:{fact.line}: {fact.key}: warning: {fact.label}: ")
                   for line in lines), fact.key
    # the Alicloud brand: open, both candidates named; Cyclr's address: proposed, its conflict noted
    assert any("entities.alicloud-global.legal_name: warning: Alicloud Global: legal name: open, legal must "
               "name it (candidates: Alibaba Cloud (Singapore) Private Limited; Alibaba (Netherlands) B.V.)" in line
               for line in lines)
    assert any("entities.cyclr.address: warning: Cyclr: registered address: proposed, not confirmed by legal "
               "('Cohub, 1 Commercial Road" in line and "sources conflict" in line for line in lines)
    assert any("transfer_bases.scc-module-3: warning: transfer basis scc-module-3: proposed" in line
               for line in lines)
    assert any("corrections[0]: warning: correction 1: " in line for line in lines)
    # each missing Annex III field, with file, line and key
    assert any(line.startswith("registry/entities.yaml:") and "entities.peakford.address: warning: "
               "registered address of Peakford Ltd. unknown (SCC 2021/914 Annex III" in line for line in lines)
    # without --strict: one line that counts them, and the exit code stays 0
    plain = run(work, "check")
    assert plain.returncode == 0, plain.stderr
    count = len(unconfirmed(registry))
    assert count > 1 and f"{count} printed facts are not confirmed by legal" in plain.stderr
    assert "entities.cyclr.address: warning" not in plain.stderr


def test_confirm_writes_the_yaml_round_trip_and_keeps_both_sides_of_a_conflict(work):
    entities = work / "registry" / "entities.yaml"
    before = entities.read_text(encoding="utf-8")
    # legal chooses the privacy policy's address over the terms' one: the terms' stays as a candidate
    result = run(work, "facts", "confirm", "entities.cyclr.address", "--by", LAWYER, "--on", "2026-12-07",
                 "--value", "Office 6-10, Sussex Innovation Centre, 12-16 Addiscombe Road, London CR0 0XT",
                 "--source", "Companies House extract 2026-12-07", archive=str(work / "archive"))
    assert result.returncode == 0, result.stderr
    after = entities.read_text(encoding="utf-8")
    assert after.startswith(before.split("entities:\n")[0])  # the header comment is kept
    # a local change: everything outside Cyclr's entry is as it was, byte for byte
    for text in (before, after):
        assert text.index("\n  cyclr:\n") < text.index("\n  twilio-ireland:\n")
    assert after.split("\n  cyclr:\n")[0] == before.split("\n  cyclr:\n")[0]
    assert after.split("\n  twilio-ireland:\n")[1] == before.split("\n  twilio-ireland:\n")[1]
    assert after != before
    registry = load_registry(work / "registry")
    fact = next(f for f in registry.facts if f.key == "entities.cyclr.address")
    assert fact.status == "confirmed"
    assert fact.value == "Office 6-10, Sussex Innovation Centre, 12-16 Addiscombe Road, London CR0 0XT"
    assert (fact.confirmed.by, fact.confirmed.on, fact.confirmed.source) == (
        LAWYER, dt.date(2026, 12, 7), "Companies House extract 2026-12-07")
    assert [c.value for c in fact.candidates] == [
        "Cohub, 1 Commercial Road, Eastbourne, East Sussex, BN21 3XE, United Kingdom"]
    assert fact.candidates[0].sources[0].url == "https://cyclr.com/legal/terms"
    assert fact.conflicts  # the recorded conflict stays visible
    assert registry.entities["cyclr"].address == fact.value
    # the act is in the audit log
    entries = app.audit_entries(work / "archive")
    assert [(e.actor, e.action, e.refs) for e in entries] == [(LAWYER, "fact confirmed", ("entities.cyclr.address",))]
    # confirmed again: the file keeps the new confirmation and the command names the one it replaces
    again = run(work, "facts", "confirm", "entities.cyclr.address", "--by", "Lauri", "--on", "2026-12-08",
                "--source", "Companies House extract 2026-12-08", archive=str(work / "archive"))
    assert again.returncode == 0 and again.stderr == (f"note: this replaces the confirmation by {LAWYER} on "
                                                      "2026-12-07 against Companies House extract 2026-12-07\n")
    assert len(app.audit_entries(work / "archive")) == 2


@pytest.mark.parametrize("key", ["corrections[0]", "entities.cyclr.address"])
def test_a_confirmation_adds_its_lines_and_changes_no_other(work, key):
    import difflib

    before = {p.name: p.read_text(encoding="utf-8") for p in (work / "registry").iterdir()}
    result = run(work, "facts", "confirm", key, "--by", LAWYER, "--source", "x", "--on", "2026-12-07")
    assert result.returncode == 0, result.stderr
    after = {p.name: p.read_text(encoding="utf-8") for p in (work / "registry").iterdir()}
    changed = [name for name in before if before[name] != after[name]]
    assert len(changed) == 1
    lines = [line for line in difflib.unified_diff(before[changed[0]].splitlines(), after[changed[0]].splitlines(),
                                                   lineterm="", n=0) if line[:1] in "+-" and line[:3] not in "+++---"]
    assert [line[0] + line[1:].strip() for line in lines] == ["+confirmed:", f"+by: {LAWYER}", "+on: 2026-12-07",
                                                            "+source: x"]


@pytest.mark.parametrize(("args", "message"), [
    (("entities.alicloud-global.legal_name",),
     "has no value yet: choose one with --value (candidates: Alibaba Cloud (Singapore) Private Limited; "
     "Alibaba (Netherlands) B.V.)"),
    (("entities.nobody.address",), "no fact 'entities.nobody.address' in the registry"),
    (("entities.cyclr.adress",), "did you mean 'entities.cyclr.address'?"),
    (("entities.peakford.address",), "entities.peakford.address has no value yet: give it with --value TEXT"),
    (("corrections[0]", "--value", "x"), "only an entity's detail takes --value"),
    (("not a key",), "is not a fact's key"),
    (("entities.cyclr.country", "--value", "QQ"), "unknown country code 'QQ'"),
])
def test_a_confirmation_that_cannot_be_recorded_is_refused_and_writes_nothing(work, args, message):
    before = {p.name: p.read_bytes() for p in (work / "registry").iterdir()}
    result = run(work, "facts", "confirm", *args, "--by", LAWYER, "--source", "x")
    assert result.returncode in (1, 2), result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in (work / "registry").iterdir()} == before


def test_approval_is_refused_listing_every_item(work, backend):
    before = {p.name: p.read_bytes() for p in (work / "registry").iterdir()}
    result = run(work, "release", "approve", "--by", LAWYER, "--label", "2026.12.1", archive=backend.location)
    assert {p.name: p.read_bytes() for p in (work / "registry").iterdir()} == before  # not even the label
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    registry = load_registry(work / "registry")
    listed = [line for line in result.stderr.splitlines() if ": warning: " not in line and " error" not in line
              and line.startswith("registry/")]
    assert len(listed) >= len(unconfirmed(registry)) + 4  # every fact, and the missing details
    assert "release not approved" in result.stderr
    assert run(work, "release", "list", archive=backend.location).stdout == "no approved release\n"


def test_confirm_everything_then_approve_then_final_annexes(work, backend):
    registry_dir = work / "registry"
    assert confirm_everything(registry_dir) > 50
    # check --strict also wants where the list is published (the annexes' source line names it)
    meta = registry_dir / "registry.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace(
        "  retrieved: 2026-11-29\n", "  retrieved: 2026-11-29\n  address: https://liana.example/sub-processors\n", 1),
        encoding="utf-8")
    assert run(work, "check", "--strict").returncode == 0
    approve = run(work, "release", "approve", "--by", LAWYER, "--label", "2026.12.1", "--effective", "2027-01-01",
                  archive=backend.location)
    assert approve.returncode == 0, approve.stderr
    registry = load_registry(registry_dir)
    assert registry.release == "2026.12.1"
    assert approve.stdout.startswith(f"approved release 2026.12.1 ({registry.version}) by {LAWYER} on ")
    listed = json.loads(run(work, "release", "list", "--json", archive=backend.location).stdout)
    assert [(r["release"], r["registry_digest"], r["approved_by"], r["effective"]) for r in listed] == [
        ("2026.12.1", registry.digest, LAWYER, "2027-01-01")]
    # the same content twice is refused; the chain verifies with the release record in it
    again = run(work, "release", "approve", "--by", LAWYER, archive=backend.location)
    assert again.returncode == 1 and "was already approved as release 2026.12.1" in again.stderr
    assert run(work, "archive", "verify", archive=backend.location).returncode == 0
    assert run(work, "archive", "list", archive=backend.location).stdout == "no records\n"
    assert [e.action for e in app.audit_entries(backend.location)] == ["release approved"]

    # annexes from the approved content are final: no draft mark, the signature block
    out = work / "out"
    generated = run(work, "generate", str(EXAMPLES_DIR / "kowloon-studio.yaml"), "--format", "pdf,docx,json",
                    "--out", str(out), archive=backend.location)
    assert generated.returncode == 0, generated.stderr
    assert "written as drafts" not in generated.stderr
    [pdf] = out.glob("*/*.pdf")
    [docx] = out.glob("*/*.docx")
    [data] = out.glob("*/*.json")
    content = json.loads(data.read_text(encoding="utf-8"))
    assert content["status"] == "final"
    alicloud = next(p for p in content["subprocessors"] if p["id"] == "alicloud-global")
    assert (alicloud["brand"], alicloud["legal_name"]) == (True, "Alibaba Cloud (Singapore) Private Limited")
    with pdfplumber.open(pdf) as doc:
        pages = [page.extract_text() for page in doc.pages]
    assert not any("DRAFT" in text or "LUONNOS" in text for text in pages)
    assert "Allekirjoitus" in pages[-1] and "Nimenselvennys ja asema" in pages[-1]
    assert "Sopimusosapuoli:" in " ".join(pages)  # the brand's contracting entity, named
    text = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "LUONNOS" not in text

    # without the archive (or with another registry content) the same contract is a draft
    drafts = work / "drafts"
    drafted = run(work, "generate", str(EXAMPLES_DIR / "kowloon-studio.yaml"), "--format", "json", "--out",
                  str(drafts), archive=str(work / "elsewhere"))
    assert drafted.returncode == 0
    assert drafted.stderr.endswith(f"note: written as drafts (marked on every page, not for signature): registry "
                                   f"{registry.version} is not a release legal approved (`annex-gen release "
                                   "approve`)\n")
    [draft] = drafts.glob("*/*.json")
    assert json.loads(draft.read_text(encoding="utf-8"))["status"] == "draft"
    assert not (work / "elsewhere").exists()  # looking up the status creates no archive

    # a later release changes what customers were given: legal sets its date, after the customers' notice
    # (from the approval) and never before the release it follows takes effect
    earliest = max(dt.date.today() + dt.timedelta(days=30), dt.date(2027, 1, 1))
    text = meta.read_text(encoding="utf-8")
    meta.write_text(text.replace('release: "2026.12.1"\n', 'release: "2026.12.1"\neffective: 2026-12-31\n', 1),
                    encoding="utf-8")  # new content, with a date of its own
    for args in ([], ["--effective", "2026-12-31"]):
        later = run(work, "release", "approve", "--by", LAWYER, "--label", "2026.12.2", *args,
                    archive=backend.location)
        assert later.returncode == 1
        assert later.stderr.splitlines() == [
            "registry/registry.yaml: --effective 2026-12-31 is too early: customers are owed 30 days' notice of a "
            f"change and release 2026.12.1 is in effect from 2027-01-01, so this one takes effect on {earliest} or "
            "later", "annex-gen: release not approved: 1 item to resolve first"]
        assert 'release: "2026.12.1"' in meta.read_text(encoding="utf-8")  # refused: the label is not changed
    approved = run(work, "release", "approve", "--by", LAWYER, "--label", "2026.12.2", "--effective",
                   earliest.isoformat(), archive=backend.location)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.rstrip().endswith(f"effective {earliest}: record 2")


def test_publish_shows_approved_releases_only_with_the_effective_date_legal_set(tmp_path):
    import dataclasses
    import datetime as dt

    import publish_support as ps

    from annex_gen.archive.store import Archive
    from annex_gen.publish.history import read_history
    from annex_gen.signoff.releases import record_approval

    def relabel(registry: Path) -> None:
        text = (registry / "registry.yaml").read_text(encoding="utf-8")
        (registry / "registry.yaml").write_text(text.replace('release: "2026.11.1"', 'release: "2026.12.1"', 1),
                                                encoding="utf-8")
        sections = registry / "sections.yaml"
        sections.write_text(sections.read_text(encoding="utf-8").replace(
            "Käytetään asiakastilausten hallintaan", "Käytetään asiakastilausten ja laskujen hallintaan", 1),
            encoding="utf-8")

    registry_dir = ps.scripted_history(tmp_path / "repo", [
        ps.Commit("2026-11-30T09:00:00Z", "The registry as published"),
        ps.Commit("2026-12-05T09:00:00Z", "Chargebee also invoices", relabel),
    ])
    first, second = read_history(registry_dir).versions
    # legal approved only the first version, in effect from a date they set
    archive = tmp_path / "legal-archive"
    with Archive.open(archive, create=True) as opened:
        files = tmp_path / "approved"
        files.mkdir()
        for name in ("registry.yaml", "locations.yaml", "entities.yaml", "sections.yaml", "corrections.yaml"):
            shown = subprocess.run(["git", "show", f"{first.commit}:./{name}"], cwd=registry_dir,
                                   capture_output=True, check=True)
            (files / name).write_bytes(shown.stdout)
        # approved under a label of its own: the label is not part of the content, and the commit's is older
        approved = dataclasses.replace(first.registry, release="2026.11.2")
        record_approval(opened, files, approved, by=LAWYER, on=dt.date(2026, 12, 1),
                        effective=dt.date(2026, 12, 20))
    out = tmp_path / "site"
    result = run(tmp_path, "publish", "--registry", str(registry_dir), "--out", str(out), archive=str(archive))
    assert result.returncode == 0, result.stderr
    assert approved.version.startswith("2026.11.2+") and approved.version != first.registry.version
    assert f"is not an approved release; the site shows release {approved.version}" in result.stderr
    data = json.loads((out / "subprocessors.json").read_text(encoding="utf-8"))
    assert (data["registry_version"], data["effective"]) == (approved.version, "2026-12-20")
    changes = (out / "changes-en.html").read_text(encoding="utf-8")
    assert approved.version in changes and first.registry.version not in changes
    assert second.registry.version not in changes
    assert approved.version in (out / "changes.atom").read_text(encoding="utf-8")
    assert "ja laskujen" not in (out / "index.html").read_text(encoding="utf-8")
    # without an approved release nothing is published
    nothing = run(tmp_path, "publish", "--registry", str(registry_dir), "--out", str(tmp_path / "none"),
                  archive=str(tmp_path / "no-archive"))
    assert nothing.returncode == 2 and "no approved release in the archive" in nothing.stderr
    assert not (tmp_path / "none").exists()


def test_a_batch_regenerates_drafts_as_finals_once_the_release_is_approved(work):
    from render_support import approved_archive  # approves the project's registry: the copy has its content

    contract = str(EXAMPLES_DIR / "nordic-webshop.yaml")
    out = work / "out"
    first = run(work, "batch", contract, "--out", str(out), "--plain", "--jobs", "1", archive=str(work / "none"))
    assert first.returncode == 0, first.stderr
    [draft] = (out / "nordic-webshop").glob("*.pdf")
    with pdfplumber.open(draft) as doc:
        assert doc.pages[0].extract_text().startswith("DRAFT – not for signature")
    again = run(work, "batch", contract, "--out", str(out), "--plain", "--jobs", "1",
                archive=str(approved_archive()))
    assert again.returncode == 0, again.stderr
    assert ": 1 generated, 0 unchanged, 0 failed" in again.stdout  # the approval alone makes it final
    [final] = [p for p in (out / "nordic-webshop").glob("*.pdf") if p != draft]
    with pdfplumber.open(final) as doc:
        assert "DRAFT" not in doc.pages[0].extract_text()
    # the release took effect after the contract's date, but a draft was never in force: nothing is replaced
    with pikepdf.open(final) as pdf:
        data = json.loads(pdf.attachments["annex.json"].get_file().read_bytes())
    assert (data["contract"]["date"], data["contract"]["replaces"]) == ("2026-11-30", None)
