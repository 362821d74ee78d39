"""The SMTP server messages go through: where it is, how to sign in, and one delivery.

The server is a URL: `smtp://host[:port]` (port 25; STARTTLS whenever the server offers it,
required with `?starttls=required`) or `smtps://host[:port]` (TLS from the start, port 465).
The user name and password never come from the command line: ANNEX_GEN_SMTP_USER and
ANNEX_GEN_SMTP_PASSWORD, or the password read from the file ANNEX_GEN_SMTP_PASSWORD_FILE.
ANNEX_GEN_SMTP_CA_FILE names extra certificate authorities to trust (a company's own).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from annex_gen.errors import UsageError

SMTP_ENV = "ANNEX_GEN_SMTP"
USER_ENV = "ANNEX_GEN_SMTP_USER"
PASSWORD_ENV = "ANNEX_GEN_SMTP_PASSWORD"
PASSWORD_FILE_ENV = "ANNEX_GEN_SMTP_PASSWORD_FILE"
CA_FILE_ENV = "ANNEX_GEN_SMTP_CA_FILE"
FROM_ENV = "ANNEX_GEN_MAIL_FROM"
TIMEOUT_S = 30


@dataclass(frozen=True)
class SmtpServer:
    """Where to deliver and how (the password is kept out of repr and messages)."""

    host: str
    port: int
    tls: bool  # smtps: TLS from the start
    starttls: str  # "auto" (when offered) or "required"
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None

    def __repr__(self) -> str:
        return f"SmtpServer({self.shown})"

    @property
    def shown(self) -> str:
        """The server as messages name it."""
        return f"{'smtps' if self.tls else 'smtp'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    """What the server said to one message: accepted or not, with its reply (code and text)."""

    accepted: bool
    reply: str


def _bad_settings(message: str) -> UsageError:
    """A problem of the server's mail settings (the web page asks for the administrator; the CLI says which)."""
    return UsageError(message, code="lifecycle.mail_settings")


def smtp_server(url: str | None, env: Mapping[str, str] | None = None) -> SmtpServer:
    """The server named by url (or $ANNEX_GEN_SMTP), with credentials from the environment."""
    env = os.environ if env is None else env
    url = url or env.get(SMTP_ENV)
    if not url:
        raise UsageError(f"no SMTP server: pass --smtp smtp://HOST:PORT or set {SMTP_ENV}",
                         code="lifecycle.no_server")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise _bad_settings(f"{parts.scheme or url!r}: an SMTP server is smtp://HOST[:PORT] (STARTTLS when offered) "
                         "or smtps://HOST[:PORT] (TLS)")
    if parts.username or parts.password:
        raise _bad_settings(f"the SMTP URL must not carry a user or password (a command line is visible to other "
                         f"users); set {USER_ENV} and {PASSWORD_ENV} or {PASSWORD_FILE_ENV}")
    if not parts.hostname:
        raise _bad_settings(f"{url!r}: no host; e.g. smtp://mail.example.com:587")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise _bad_settings(f"{url!r}: the port is not a number from 1 to 65535") from None
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise _bad_settings(f"{url!r}: unknown option {unknown[0]!r}; the one option is ?starttls=required")
    starttls = (query.get("starttls") or ["auto"])[-1]
    if starttls not in ("auto", "required"):
        raise _bad_settings(f"{url!r}: starttls={starttls!r}; expected starttls=required (or nothing: when offered)")
    user = env.get(USER_ENV) or None
    password = env.get(PASSWORD_ENV) or None
    if env.get(PASSWORD_FILE_ENV):
        path = Path(env[PASSWORD_FILE_ENV])
        try:
            password = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            problem = f"{path}: cannot read the SMTP password ({PASSWORD_FILE_ENV}): {exc.strerror}"
            raise _bad_settings(problem) from None
    if password and not user:
        raise _bad_settings(f"an SMTP password is set but no user: set {USER_ENV}")
    return SmtpServer(parts.hostname, port, parts.scheme == "smtps", starttls, user, password,
                      env.get(CA_FILE_ENV) or None)


def _context(server: SmtpServer) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if server.ca_file:
        context.load_verify_locations(cafile=server.ca_file)
    return context


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(text.split())}".strip()


def deliver(server: SmtpServer, sender: str, recipient: str, message: bytes) -> Answer:
    """Hand one message to the server; never raises for what a server or network does (it is the answer)."""
    try:
        if server.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_S,
                                                    context=_context(server))
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_S)
        with client:
            client.ehlo()
            if not server.tls:
                if client.has_extn("starttls"):
                    client.starttls(context=_context(server))
                    client.ehlo()
                elif server.starttls == "required":
                    return Answer(False, f"{server.shown} does not offer STARTTLS, which ?starttls=required "
                                         "asks for; nothing was sent")
            if server.user:
                client.login(server.user, server.password or "")
            code, text = client.mail(sender)
            if code != 250:
                return Answer(False, _reply(code, text))
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                return Answer(False, _reply(code, text))
            code, text = client.data(message)
            return Answer(code == 250, _reply(code, text))
    except smtplib.SMTPResponseException as exc:
        return Answer(False, _reply(exc.smtp_code, exc.smtp_error))
    except smtplib.SMTPException as exc:
        return Answer(False, f"{server.shown}: {exc}")
    except ssl.SSLError as exc:
        return Answer(False, f"{server.shown}: TLS failed: {exc.reason or exc}")
    except (TimeoutError, OSError) as exc:
        return Answer(False, f"{server.shown}: cannot connect: {exc.strerror or exc}")
