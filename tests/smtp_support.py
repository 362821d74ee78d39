"""A real SMTP server for the send tests: aiosmtpd on a free loopback port, keeping what it receives.

Addresses listed in `refuse` are answered 550 at RCPT, as a server refuses an unknown mailbox.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server got it."""

    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        """The message parsed."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Mailbox:
    """What the server received, and the addresses it refuses."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued as TEST" + str(len(self.received))


class SmtpServer:
    """aiosmtpd serving a Mailbox on 127.0.0.1."""

    def __init__(self) -> None:
        from browser_support import free_port

        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        """Messages received so far."""
        return self.mailbox.received

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A fresh SMTP server for one test."""
    server = SmtpServer().start()
    yield server
    server.stop()
