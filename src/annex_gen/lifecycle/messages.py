"""The e-mails that carry an annex or a change notice: texts from the mail catalogs, files attached.

The same inputs give the same message body byte for byte (text, attachments, MIME boundary);
only the Date and Message-ID headers name the moment and the message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from annex_gen.cldr import text_date
from annex_gen.resources import TEMPLATES_DIR
from annex_gen.views.catalog import Catalog, load_catalogs

CATALOG_DIR = TEMPLATES_DIR / "mail" / "i18n"
MEDIA_TYPES = {"pdf": ("application", "pdf"),
               "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")}


def mail_catalogs() -> dict[str, Catalog]:
    """The message texts by language (checked for matching keys)."""
    return load_catalogs(CATALOG_DIR)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        """SHA-256 of the file."""
        return hashlib.sha256(self.data).hexdigest()

    def to_dict(self) -> dict[str, object]:
        """What the log records of it."""
        return {"name": self.name, "sha256": self.sha256, "size": len(self.data)}


@dataclass(frozen=True)
class Letter:
    """What a message says: subject and paragraphs, in one language."""

    subject: str
    paragraphs: tuple[str, ...]


def _paragraphs(catalog: Catalog, group: str, values: Mapping[str, object]) -> tuple[str, ...]:
    texts = catalog.group(group)
    return tuple(texts[key].format(**values) for key in sorted(texts, key=lambda k: int(k.lstrip("p"))))


def annex_letter(language: str, *, company: str, customer: str, document_id: str, registry_version: str,
                 draft: bool) -> Letter:
    """The message that sends an annex (a draft's says it is for review, not for signature)."""
    catalog = mail_catalogs()[language]
    values = {"company": company, "customer": customer, "document_id": document_id,
              "registry_version": registry_version}
    subject = catalog.format("annex.subject_draft" if draft else "annex.subject", **values)
    return Letter(subject, _paragraphs(catalog, "annex.body_draft" if draft else "annex.body", values))


def notice_letter(language: str, *, company: str, customer: str, notice_id: str, document_id: str,
                  effective_date: dt.date, objection_deadline: dt.date) -> Letter:
    """The message that sends a change notice with its new annex."""
    catalog = mail_catalogs()[language]
    values = {"company": company, "customer": customer, "notice_id": notice_id, "document_id": document_id,
              "effective_date": text_date(effective_date, language),
              "objection_deadline": text_date(objection_deadline, language)}
    return Letter(catalog.format("notice.subject", **values), _paragraphs(catalog, "notice.body", values))


def new_message_id(sender: str) -> str:
    """A Message-ID no other message has, in the sender's domain."""
    domain = sender.rpartition("@")[2] or "annex-gen.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def build_message(letter: Letter, language: str, *, sender: str, recipient: str, company: str,
                  attachments: Sequence[Attachment], message_id: str, date: dt.datetime) -> bytes:
    """The message as sent (CRLF line ends): text in language, then the attachments in order."""
    catalog = mail_catalogs()[language]
    text = "\n\n".join([*letter.paragraphs, catalog["closing"] + "\n" + company,
                        catalog.format("attachments", files=", ".join(a.name for a in attachments))]) + "\n"
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(date.astimezone(dt.UTC))
    message["Message-ID"] = message_id
    message["Content-Language"] = language
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    for a in attachments:
        maintype, subtype = MEDIA_TYPES[a.name.rpartition(".")[2].lower()]
        message.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.name)
    # a boundary named by the content, so the body is the same bytes every time
    digest = hashlib.sha256(text.encode("utf-8") + b"".join(a.data for a in attachments)).hexdigest()
    message.set_boundary(f"=_annex-gen_{digest[:32]}")
    return message.as_bytes(policy=policy.SMTP)


def body_of(message: bytes) -> bytes:
    """A message without its headers: what is the same for the same inputs."""
    return message.split(b"\r\n\r\n", 1)[1]
