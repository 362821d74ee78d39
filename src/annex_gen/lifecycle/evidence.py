"""The evidence of one customer for an auditor: one zip anyone can check with sha256sum alone.

It holds the signed annexes (and their attachments) as archived, every message sent (.eml as
sent, and the files it carried), the objections with their letters, the customer's lifecycle
events and audit entries, the timeline, and MANIFEST.sha256 listing every file's SHA-256 in
`sha256sum` format; HEADS.txt names the heads of the archive chain and of both logs, so a copy
kept elsewhere can be compared. The same archive gives the same zip on the same day, byte for byte.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_EPOCH = (1980, 1, 1, 0, 0, 0)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

README = """Evidence for customer {customer}
{underline}

Written by annex-gen on {today} from the archive at {archive}.

What is here
- signed/      the signed annexes as archived (record number first), and their attachments
- messages/    every message sent to the customer, as sent (.eml, with its Message-ID in the file
               and in messages.json), and the files each carried
- objections/  each objection (.json) and the letter received with it
- timeline.json, events.json, audit.json
               the customer's timeline, the lifecycle log's events (with their hashes) and the
               audit log's entries that name the customer
- HEADS.txt    the last record of the archive's chain and the heads of both logs when written
- MANIFEST.sha256  the SHA-256 of every other file

How to check it, without annex-gen
1. Unzip the file into an empty folder and go into it.
2. Run:   sha256sum -c MANIFEST.sha256
   Every line must end in ": OK". A changed, missing or extra-written file is reported.
3. Compare the SHA-256 of MANIFEST.sha256 itself with the one kept when the zip was handed over:
          sha256sum MANIFEST.sha256
   MANIFEST.sha256 SHA-256: {manifest_sha256}
4. To see that nothing was taken out of the archive since, compare HEADS.txt with the heads
   `annex-gen archive head` prints on the archive (or a head kept outside it).
"""


def _name(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "file"


def _eml_files(eml: bytes) -> list[tuple[str, bytes]]:
    message = email.message_from_bytes(eml, policy=email.policy.default)
    return [(_name(part.get_filename() or "attachment"), part.get_content()) for part in message.iter_attachments()]


def evidence_files(customer: str, *, records: Sequence[Any], read_record: Any, events: Sequence[Any],
                   blob: Any, audit: Iterable[Any], timeline: Mapping[str, Any], objections: Sequence[Any],
                   heads: Mapping[str, str]) -> dict[str, bytes]:
    """Every file of the zip but the README and manifest, by path."""
    files: dict[str, bytes] = {}
    for r in records:
        files[f"signed/{r.seq:04d}-{_name(r.file_name)}"] = read_record(r)
    messages = []
    for n, e in enumerate((e for e in events if e.kind == "message queued"), start=1):
        d = e.data
        eml = blob(d["eml_sha256"])
        folder = f"messages/{n:03d}-{_name(d.get('notice_id') or d.get('document_id') or 'message')}"
        files[f"{folder}.eml"] = eml
        for name, data in _eml_files(eml):
            files[f"{folder}/{name}"] = data
        attempts = [{"at": a.at, "kind": a.kind, "reply": a.data.get("reply")} for a in events
                    if a.kind in ("message delivered", "message failed") and int(a.data["queued"]) == e.seq]
        messages.append({"file": f"{folder}.eml", "message_id": d["message_id"], "recipient": d["recipient"],
                         "subject": d["subject"], "queued_at": e.at, "attempts": attempts,
                         "purpose": d.get("purpose"), "document_id": d.get("document_id"),
                         "notice_id": d.get("notice_id")})
    files["messages.json"] = _json(messages)
    for o in objections:
        files[f"objections/{o.id}.json"] = _json(o.to_dict())
        if o.letter:
            files[f"objections/{o.id}-{_name(o.letter['name'])}"] = blob(o.letter["sha256"])
    files["events.json"] = _json([e.to_dict() for e in events])
    pattern = re.compile(rf"(?<![a-z0-9-]){re.escape(customer)}(?![a-z0-9-])")
    files["audit.json"] = _json([{"seq": a.seq, "at": a.at, "actor": a.actor, "action": a.action, "what": a.what,
                                  "refs": list(a.refs), "prev": a.prev, "entry_hash": a.entry_hash}
                                 for a in audit if pattern.search(a.what)])
    files["timeline.json"] = _json(timeline)
    files["HEADS.txt"] = "".join(f"{k}: {v}\n" for k, v in heads.items()).encode("utf-8")
    return files


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def manifest(files: Mapping[str, bytes]) -> bytes:
    """`sha256sum` lines for every file, by path."""
    return "".join(f"{hashlib.sha256(files[p]).hexdigest()}  {p}\n" for p in sorted(files)).encode("utf-8")


def evidence_zip(customer: str, files: Mapping[str, bytes], *, archive: str, today: str) -> bytes:
    """The zip: README.txt, MANIFEST.sha256 and the files, in a fixed order with fixed dates."""
    sums = manifest(files)
    readme = README.format(customer=customer, underline="=" * (22 + len(customer)), today=today,
                           archive=archive, manifest_sha256=hashlib.sha256(sums).hexdigest())
    entries = {"README.txt": readme.encode("utf-8"), "MANIFEST.sha256": sums, **files}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in ["README.txt", "MANIFEST.sha256", *sorted(files)]:
            info = zipfile.ZipInfo(f"{_name(customer)}-evidence/{path}", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, entries[path])
    return buf.getvalue()
