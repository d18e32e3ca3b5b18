"""A real SMTP server (aiosmtpd) on 127.0.0.1 for delivery tests: it collects the messages it accepts,
can be told to answer a command with an error (451, 550, ...), and can be stopped so that connecting is
refused, then started again on the same port."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.conftest import free_port


class SmtpServer:
    def __init__(self, *, auth: bool = False):
        self.port = free_port()
        self.auth = auth
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []  # what clients tried to log in with
        self._replies: dict[str, list[str]] = {"RCPT": [], "DATA": []}
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # --- scripting ---------------------------------------------------------------------------------
    def refuse(self, reply: str, *, at: str = "DATA", times: int = 1) -> None:
        """Answer the next `times` RCPT or DATA commands with `reply`, e.g. "451 4.3.0 try later"."""
        with self._lock:
            self._replies[at] += [reply] * times

    def _next_reply(self, command: str) -> str | None:
        with self._lock:
            return self._replies[command].pop(0) if self._replies[command] else None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> SmtpServer:
        extra = {"authenticator": self._authenticate, "auth_require_tls": False} if self.auth else {}
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, server_hostname="smtp.test", **extra
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        # Every login fails (535): the tests only need a server that sees, and refuses, the password.
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(self, smtp: SmtpServer):
        self.smtp = smtp

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.smtp._next_reply("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.smtp._next_reply("DATA")
        if reply:
            return reply
        self.smtp.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.smtp.received.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"
