"""The SMTP URL and credentials, and the messages' texts (draft or final, both languages)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from annex_gen.errors import UsageError
from annex_gen.lifecycle.messages import Attachment, annex_letter, body_of, build_message, notice_letter
from annex_gen.lifecycle.smtp import smtp_server


def test_smtp_urls_and_credentials(tmp_path):
    server = smtp_server("smtp://mail.example.com:587?starttls=required", {})
    assert (server.host, server.port, server.tls, server.starttls, server.user) == (
        "mail.example.com", 587, False, "required", None)
    assert smtp_server("smtps://mail.example.com", {}).port == 465
    assert smtp_server(None, {"ANNEX_GEN_SMTP": "smtp://relay"}).port == 25
    secret = tmp_path / "password"
    secret.write_text("s3cret\n", encoding="utf-8")
    with_file = smtp_server("smtp://relay", {"ANNEX_GEN_SMTP_USER": "annex",
                                             "ANNEX_GEN_SMTP_PASSWORD_FILE": str(secret)})
    assert (with_file.user, with_file.password) == ("annex", "s3cret")
    assert "s3cret" not in repr(with_file)


@pytest.mark.parametrize(("url", "env", "message"), [
    ("smtp://u:p@relay", {}, "must not carry a user or password"),
    ("http://relay", {}, "an SMTP server is smtp://HOST[:PORT]"),
    ("smtp://relay?tls=yes", {}, "unknown option 'tls'"),
    ("smtp://relay?starttls=maybe", {}, "starttls='maybe'"),
    ("smtp://relay:99999", {}, "the port is not a number"),
    ("smtp://relay", {"ANNEX_GEN_SMTP_PASSWORD": "x"}, "an SMTP password is set but no user"),
    ("smtp://relay", {"ANNEX_GEN_SMTP_USER": "u", "ANNEX_GEN_SMTP_PASSWORD_FILE": "/nonexistent/pw"},
     "/nonexistent/pw: cannot read the SMTP password"),
])
def test_bad_smtp_settings_are_refused_clearly(url, env, message):
    with pytest.raises(UsageError) as caught:
        smtp_server(url, env)
    assert message in str(caught.value)


def test_a_draft_says_so_in_subject_and_body_in_both_languages():
    for language, word in (("en", "DRAFT"), ("fi", "LUONNOS")):
        final = annex_letter(language, company="Liana Technologies Oy", customer="Acme", document_id="ANX-1",
                             registry_version="v1", draft=False)
        draft = annex_letter(language, company="Liana Technologies Oy", customer="Acme", document_id="ANX-1",
                             registry_version="v1", draft=True)
        assert word in draft.subject and word in " ".join(draft.paragraphs)
        assert word not in final.subject and word not in " ".join(final.paragraphs)
    assert "not for signature" in " ".join(annex_letter("en", company="C", customer="A", document_id="D",
                                                        registry_version="v", draft=True).paragraphs)


def test_the_same_inputs_give_the_same_body_and_the_message_reads_back():
    letter = notice_letter("fi", company="Liana Technologies Oy", customer="Acme Oy", notice_id="NTC-1",
                           document_id="ANX-2", effective_date=dt.date(2027, 1, 15),
                           objection_deadline=dt.date(2026, 12, 16))
    files = [Attachment("NTC-1.pdf", b"%PDF-1.7 notice"), Attachment("ANX-2.pdf", b"%PDF-1.7 annex")]

    def make(message_id: str, hour: int) -> bytes:
        return build_message(letter, "fi", sender="legal@liana.example", recipient="dpo@acme.example",
                             company="Liana Technologies Oy", attachments=files, message_id=message_id,
                             date=dt.datetime(2026, 12, 1, hour, tzinfo=dt.UTC))

    one, two = make("<a@liana.example>", 9), make("<b@liana.example>", 10)
    assert one != two and body_of(one) == body_of(two)
    message = email.message_from_bytes(one, policy=email.policy.default)
    assert message["Subject"] == "Ilmoitus alikäsittelijöiden muutoksista (NTC-1)"
    text = message.get_body(("plain",)).get_content()
    assert "Muutokset tulevat voimaan 15.1.2027" in text
    assert "kirjallisesti ja perustellen viimeistään 16.12.2026" in text
    assert [p.get_content() for p in message.iter_attachments()] == [f.data for f in files]
