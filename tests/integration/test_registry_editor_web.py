"""The registry editor over HTTP: forms, problems on the field, proposals, four eyes, history, audit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from annex_gen import app
from annex_gen.web import Settings, create_app
from editor_support import (
    NEW_ENTITY,
    SOURCE_QUOTE,
    SOURCE_URL,
    customers_copy,
    eu_mailer_customers,
    git,
    registry_repo,
)
from web_support import PASSWORD, csrf, login

USERS = {"anna": "legal", "ben": "legal", "sam": "sales"}


@pytest.fixture
def site(tmp_path: Path):
    """An application over a registry checkout, the example customers and an archive directory."""
    registry = registry_repo(tmp_path / "repo")
    customers = customers_copy(tmp_path / "customers")
    users = tmp_path / "users.yaml"
    for name, role in USERS.items():
        app.add_user(users, name, role, PASSWORD)
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        users_file=users, archive=str(tmp_path / "archive"))

    def client(name: str) -> TestClient:
        c = TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False)
        login(c, name)
        return c

    return registry, customers, tmp_path / "archive", client
SIGN_INS = ("signed in", "signed out", "sign-in failed")  # the sign-ins of the users the tests log in


def _new_sub_processor(vat: str = NEW_ENTITY["vat"]) -> dict[str, object]:
    return {
        "action": "add", "id": NEW_ENTITY["id"], "name": NEW_ENTITY["name"],
        "name_src_url": [SOURCE_URL, ""], "name_src_quote": [SOURCE_QUOTE, ""],
        "legal_kind": "vat", "legal_value": vat, "legal_id_src_url": SOURCE_URL,
        "country": NEW_ENTITY["country"], "country_src_url": SOURCE_URL,
        "address": "", "privacy_contact": "",
        "entry_section": "eu-mailer", "entry_location": "eu",
        "entry_purpose_fi": "Sähköpostien avaus- ja klikkausanalytiikka",
        "entry_purpose_en": "Open and click analytics of e-mails",
        "entry_entry_src_url": SOURCE_URL, "reason": "New analytics vendor for LianaMailer",
    }


def test_sales_gets_403_and_no_link(site) -> None:
    _, _, _, client = site
    sales = client("sam")
    assert 'href="/editor"' not in sales.get("/customers").text
    for path in ("/editor", "/editor/entity/new", "/editor/history"):
        assert sales.get(path).status_code == 403
    response = sales.post("/editor/entity", data={**_new_sub_processor(), "csrf_token": csrf(sales)})
    assert response.status_code == 403
    legal = client("anna")
    assert 'href="/editor"' in legal.get("/customers").text


def test_problems_are_shown_on_their_field_and_nothing_is_saved(site) -> None:
    registry, _, archive, client = site
    anna = client("anna")
    before = (registry / "entities.yaml").read_text()
    form = {**_new_sub_processor(vat="FI12345678"), "reason": "", "csrf_token": csrf(anna, "/editor")}
    response = anna.post("/editor/entity", data=form)
    assert response.status_code == 400
    field = re.search(r'<div class="field invalid">\s*<label for="legal_value">.*?</div>', response.text, re.S)
    assert field and "The identifier FI12345678 is not valid." in field.group(0)
    reason = re.search(r'<div class="field invalid">\s*<label for="reason">.*?</div>', response.text, re.S)
    assert reason and "Say why the list changes" in reason.group(0)  # every problem at once
    assert 'value="FI12345678"' in response.text and 'value="MailMetrics Oy"' in response.text  # typed values kept
    taken = anna.post("/editor/entity", data={**form, "legal_value": "FI24315605", "reason": "x"})
    assert "The identifier FI24315605 is already used by upcloud." in taken.text
    no_reason = anna.post("/editor/entity", data={**_new_sub_processor(), "reason": " ",
                                                  "csrf_token": csrf(anna, "/editor")})
    assert no_reason.status_code == 400 and "Say why the list changes" in no_reason.text
    assert (registry / "entities.yaml").read_text() == before
    assert anna.get("/editor").text.count('name="proposal"') == 0


def test_propose_impact_four_eyes_approve_commit_history_audit(site) -> None:
    registry, customers, archive, client = site
    anna, ben = client("anna"), client("ben")
    response = anna.post("/editor/entity", data={**_new_sub_processor(), "csrf_token": csrf(anna, "/editor")})
    assert response.status_code == 303, response.text
    page_url = response.headers["location"]
    assert page_url == "/editor/proposals/1"
    page = anna.get(page_url).text
    assert "New sub-processor: MailMetrics Oy" in page  # in words, as the public changes page says it
    shown = set(re.findall(r'data-customer="([^"]+)"', page))
    assert shown == eu_mailer_customers(customers) and shown
    assert "You proposed or edited this change" in page

    # the proposer's approval is refused with the reason, and nothing is written
    refused = anna.post("/editor/proposals/1/approve", data={"release": "2026.12.1", "csrf_token": csrf(anna)})
    assert refused.status_code == 403
    assert "another legal user must approve it" in refused.text
    assert NEW_ENTITY["name"] not in (registry / "entities.yaml").read_text()

    done = ben.post("/editor/proposals/1/approve", data={"release": "2026.12.1", "csrf_token": csrf(ben),
                                                         **_seen(ben, "/editor/proposals/1")})
    assert done.status_code == 303
    entities = (registry / "entities.yaml").read_text()
    assert "  mailmetrics:\n    name: MailMetrics Oy\n    legal_id: {kind: vat, value: FI12345698}\n" in entities
    assert entities.startswith("# Every legal entity of the published list, once.")  # comments kept
    assert 'release: "2026.12.1"' in (registry / "registry.yaml").read_text()
    log = git(registry.parent, "log", "-1", "--format=%an%n%s%n%b")
    assert log.startswith("ben\nRegistry: add entity MailMetrics Oy (mailmetrics); add mailmetrics in eu")
    assert "Proposal #1 by anna" in log and SOURCE_URL in log and "Approved-by: ben" in log
    assert git(registry.parent, "status", "--porcelain") == ""

    checked = subprocess.run([sys.executable, "-m", "annex_gen", "check", "--registry", str(registry),
                              str(customers)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

    history = ben.get("/editor/history").text
    assert all(text in history for text in ("#1", "anna", "ben", "New analytics vendor for LianaMailer", SOURCE_URL))
    assert "The change log is intact: 2 in all, each entry hashed with the one before" in history
    audit = [(e.actor, e.action) for e in app.audit_entries(str(archive)) if e.action not in SIGN_INS]
    assert audit == [("anna", "registry change proposed"), ("ben", "registry change approved")]
    # the approved proposal can no longer be approved, edited or withdrawn
    again = client("sam")
    assert again.get("/editor/proposals/1").status_code == 403
    assert ben.post("/editor/proposals/1/withdraw", data={"csrf_token": csrf(ben)}).status_code == 409


def _new_location(token: str) -> dict[str, str]:
    """The form proposing a new location, Ireland."""
    return {"action": "add", "id": "ireland", "name_fi": "Irlanti", "name_en": "Ireland", "eea": "yes",
            "location_src_url": "https://example.com/ireland", "reason": "Dublin region", "csrf_token": token}


def _seen(client, page: str) -> dict[str, str]:
    """The revisions of the proposals a page shows, as its approve form sends them."""
    return dict(re.findall(r'name="(seen(?:-\d+)?)" value="(\d+)"', client.get(page).text))


def test_an_approval_is_of_the_proposal_as_the_approver_saw_it(site) -> None:
    registry, _, _, client = site
    anna, ben = client("anna"), client("ben")
    token = csrf(anna, "/editor")
    location = _new_location(token)
    assert anna.post("/editor/location", data=location).status_code == 303
    shown = _seen(ben, "/editor/proposals/1")  # ben reviews "Ireland"
    listed = _seen(ben, "/editor")
    assert shown == {"seen": listed["seen-1"]}
    # anna changes it while ben reads
    assert anna.post("/editor/location", data={**location, "name_en": "Russian Federation", "editing": "1"}
                     ).status_code == 303
    for url, data in (("/editor/proposals/1/approve", shown),
                      ("/editor/proposals/approve", {"proposal": ["1"], **listed}),
                      ("/editor/proposals/1/approve", {})):  # no revision sent: nothing seen
        late = ben.post(url, data={"release": "2026.12.1", "csrf_token": csrf(ben), **data})
        assert late.status_code == 409
        assert "Proposal #1 changed after you opened it (anna, " in late.text and "Nothing was approved." in late.text
        assert "ireland:" not in (registry / "locations.yaml").read_text()
    again = _seen(ben, "/editor/proposals/1")  # ben opens it again, sees the new name, and approves that
    assert again != shown and "Russian Federation" in ben.get("/editor/proposals/1").text
    done = ben.post("/editor/proposals/1/approve", data={"release": "2026.12.1", "csrf_token": csrf(ben), **again})
    assert done.status_code == 303
    assert "Russian Federation" in (registry / "locations.yaml").read_text()
    assert "is approved and written" in ben.get("/editor/proposals/1?done=approved").text
    assert ben.get("/editor/proposals/1?done=%7B%7Bx%7D%7D").status_code == 200  # an unknown word: no message


def test_edit_withdraw_and_combine(site) -> None:
    registry, _, archive, client = site
    anna, ben = client("anna"), client("ben")
    token = csrf(anna, "/editor")
    location = _new_location(token)
    assert anna.post("/editor/location", data=location).status_code == 303
    # a second proposal of the same item is refused: edit the open one instead
    clash = anna.post("/editor/location", data=location)
    assert clash.status_code == 409 and "proposal #1" in clash.text
    # ben edits anna's proposal: now neither of them may approve it
    edit_form = ben.get("/editor/proposals/1/edit").text
    assert 'value="Irlanti"' in edit_form and 'name="editing" value="1"' in edit_form
    edited = ben.post("/editor/location", data={**location, "name_en": "Ireland (Dublin)", "editing": "1",
                                                "csrf_token": csrf(ben)})
    assert edited.status_code == 303
    assert "Ireland (Dublin)" in ben.get("/editor/proposals/1").text
    assert ben.post("/editor/proposals/1/approve", data={"csrf_token": csrf(ben)}).status_code == 403
    basis = {"action": "add", "id": "ch-adequacy", "kind": "adequacy", "decision": "2000/518/EC",
             "name_fi": "Riittävyyspäätös (Sveitsi)", "name_en": "Adequacy decision (Switzerland)",
             "basis_src_url": "https://eur-lex.europa.eu/eli/dec/2000/518/oj", "reason": "Swiss transfers",
             "csrf_token": token}
    added = anna.post("/editor/basis", data=basis)
    assert added.status_code == 303, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", added.text))[-1500:]
    remove = {"action": "remove", "key": ["okta-ireland"], "reason": "contract ended", "csrf_token": token}
    refused = anna.post("/editor/entity", data=remove)
    assert refused.status_code == 400 and "“okta-ireland” is not one of the choices" in refused.text
    third = {"action": "add", "id": "stockholm", "name_fi": "Tukholma", "name_en": "Stockholm", "eea": "yes",
             "reason": "not needed after all", "csrf_token": token}
    assert anna.post("/editor/location", data=third).status_code == 303
    withdrawn = anna.post("/editor/proposals/3/withdraw", data={"reason": "duplicate", "csrf_token": token})
    assert withdrawn.status_code == 303
    # carol is not there: a third legal user would approve #1; the basis (#2) alone goes with ben
    combined = ben.post("/editor/proposals/approve", data={"proposal": ["2"], "release": "2026.12.1",
                                                           "csrf_token": csrf(ben), **_seen(ben, "/editor")})
    assert combined.status_code == 303
    assert "ch-adequacy:" in (registry / "registry.yaml").read_text()
    assert "ireland:" not in (registry / "locations.yaml").read_text()
    history = ben.get("/editor/history").text
    assert "#2" in history and "#3" in history and "withdrawn by anna" in history
    actions = [e.action for e in app.audit_entries(str(archive)) if e.action not in SIGN_INS]
    assert actions == ["registry change proposed", "registry change edited", "registry change proposed",
                       "registry change proposed", "registry change withdrawn", "registry change approved"]


def test_without_git_the_approval_is_chained_with_the_files(site, tmp_path: Path) -> None:
    registry, _, archive, client = site
    import shutil

    shutil.rmtree(registry.parent / ".git")
    anna, ben = client("anna"), client("ben")
    assert anna.post("/editor/entity", data={**_new_sub_processor(), "csrf_token": csrf(anna, "/editor")}
                     ).status_code == 303
    assert ben.post("/editor/proposals/1/approve", data={"csrf_token": csrf(ben),
                                                         **_seen(ben, "/editor/proposals/1")}).status_code == 303
    from annex_gen.registry_edit.log import open_change_log

    log = open_change_log(str(archive))
    approved = log.events()[-1]
    assert approved.kind == "approved" and approved.data["commit"] is None
    assert approved.data["texts"]["entities.yaml"] == (registry / "entities.yaml").read_text()
    assert log.check().problems == []
    assert "the registry change log" in ben.get("/editor/proposals/1").text


def test_change_forms_are_filled_from_the_list_and_save_as_proposals(site) -> None:
    registry, _, _, client = site
    anna, ben = client("anna"), client("ben")
    form = anna.get("/editor/entity/change?id=cyclr").text
    assert 'value="Cyclr"' in form and 'value="08790783"' in form and 'value="GB"' in form
    assert 'id="id" name="id" type="text" value="cyclr"' in form and "readonly" in form
    entry = anna.get("/editor/entry/change?section=eu-mailer&entity=upcloud&location=helsinki").text
    assert "Dedikoidut MTA:t" in entry and "Dedicated MTAs" in entry
    assert anna.get("/editor/entry/change?section=eu-mailer&entity=nobody&location=eu").status_code == 404
    no_key = anna.post("/editor/entry", data={"action": "change", "reason": "x", "csrf_token": csrf(anna)})
    assert no_key.status_code == 400 and "The form is out of date; open it again from the editor." in no_key.text
    token = csrf(anna, "/editor")
    address = {"action": "change", "key": ["cyclr"], "name": "Cyclr", "legal_kind": "uk_crn",
               "legal_value": "08790783", "country": "GB", "address": "Example Street 1, Brighton, United Kingdom",
               "address_src_url": "https://example.com/cyclr/registered-office",
               "address_src_quote": "Example Street 1",
               "reason": "Annex III needs the registered address", "csrf_token": token}
    assert anna.post("/editor/entity", data=address).status_code == 303
    purpose = {"action": "change", "key": ["eu-mailer", "upcloud", "helsinki"], "entity": "upcloud",
               "location": "helsinki", "option": "dedicated_mta", "purpose_fi": "Asiakkaalle dedikoidut MTA:t",
               "purpose_en": "Customer-dedicated MTAs", "reason": "clearer wording", "csrf_token": token}
    assert anna.post("/editor/entry", data=purpose).status_code == 303
    combined = ben.post("/editor/proposals/approve", data={"proposal": ["1", "2"], "release": "2026.12.1",
                                                           "csrf_token": csrf(ben), **_seen(ben, "/editor")})
    assert combined.status_code == 303
    entities = (registry / "entities.yaml").read_text()
    start = entities.index("\n  cyclr:\n")  # the address a fact with its source, as the registry writes facts
    end = re.compile(r"\n  [a-z0-9-]+:\n").search(entities, start + 1)
    cyclr = entities[start:end.start() if end else None]
    assert "value: Example Street 1, Brighton, United Kingdom" in cyclr
    assert "url: https://example.com/cyclr/registered-office" in cyclr and "quote: Example Street 1" in cyclr
    sections = (registry / "sections.yaml").read_text()
    assert "          fi: Asiakkaalle dedikoidut MTA:t\n          en: Customer-dedicated MTAs\n" in sections
    subject = git(registry.parent, "log", "-1", "--format=%s")
    assert subject.startswith("Registry: change entity Cyclr (cyclr); change upcloud in helsinki")
    assert app.load_registry(registry).entities["cyclr"].address == "Example Street 1, Brighton, United Kingdom"


def test_proposals_live_with_a_postgresql_archive(tmp_path: Path, postgres_server) -> None:
    registry = registry_repo(tmp_path / "repo")
    customers = customers_copy(tmp_path / "customers")
    users = tmp_path / "users.yaml"
    for name, role in USERS.items():
        app.add_user(users, name, role, PASSWORD)
    url = postgres_server.database()
    settings = Settings(registry_dir=registry, customers_dir=customers, out_dir=tmp_path / "output",
                        users_file=users, archive=url)
    anna = TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False)
    ben = TestClient(create_app(settings), base_url="http://127.0.0.1", follow_redirects=False)  # another instance
    login(anna, "anna")
    login(ben, "ben")
    assert anna.post("/editor/entity", data={**_new_sub_processor(), "csrf_token": csrf(anna, "/editor")}
                     ).status_code == 303
    assert "MailMetrics Oy" in ben.get("/editor").text
    assert ben.post("/editor/proposals/1/approve", data={"csrf_token": csrf(ben),
                                                         **_seen(ben, "/editor/proposals/1")}).status_code == 303
    assert "mailmetrics:" in (registry / "entities.yaml").read_text()
    from annex_gen.registry_edit.log import open_change_log

    log = open_change_log(url)
    assert [e.kind for e in log.events()] == ["proposed", "approved"] and log.check().problems == []
    actions = [e.action for e in app.audit_entries(url) if e.action not in SIGN_INS]
    assert actions == ["registry change proposed", "registry change approved"]
