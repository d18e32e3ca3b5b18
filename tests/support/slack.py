"""A real HTTPS server on 127.0.0.1 standing in for Slack's incoming webhooks.

Its certificate is self-signed for IP 127.0.0.1 (made here with `cryptography`); tests trust it through
settings.SLACK_CA_BUNDLE, so the client verifies TLS exactly as it does against hooks.slack.com. The
server answers a scripted sequence of replies (then 200 "ok") and records every JSON body it receives."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: longer than SLACK_TIMEOUT_SECONDS is a timeout


OK = Reply()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 (in the SAN, which is what clients check)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "slack-cert.pem", directory / "slack-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class FakeSlack:
    def __init__(self, directory: Path):
        self.cert, self.key = self_signed_certificate(directory)
        self.received: list[dict] = []  # every JSON body, in arrival order
        self.paths: list[str] = []
        self.delivered: list[dict] = []  # the bodies answered with a 2xx: what Slack would have posted
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self._httpd = _Server(("127.0.0.1", 0), _handler_for(self), context)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str = "/services/T0000/B0000/XXSECRETXXsecretpath") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script += replies

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # cut delayed replies short
        self._httpd.shutdown()
        self._httpd.server_close()

    def _take(self, path: str, body: dict) -> Reply:
        with self._lock:
            self.paths.append(path)
            self.received.append(body)
            reply = self._script.pop(0) if self._script else OK
            if 200 <= reply.status < 300 and not reply.delay:
                self.delivered.append(body)
            return reply


@contextmanager
def trusted_slack(settings, directory: Path):
    """A FakeSlack the project's Slack transport talks to as it would to hooks.slack.com: its certificate
    trusted (SLACK_CA_BUNDLE) and its host allowed; stopped afterwards."""
    server = FakeSlack(directory).start()
    settings.SLACK_CA_BUNDLE = str(server.cert)
    settings.SLACK_WEBHOOK_HOSTS = ["127.0.0.1"]
    settings.SLACK_TIMEOUT_SECONDS = 5.0
    try:
        yield server
    finally:
        server.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, context: ssl.SSLContext):
        super().__init__(address, handler)
        self.context = context

    def get_request(self):
        sock, address = self.socket.accept()
        # The handshake happens in the request's own thread, so a slow client does not block accept().
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address):
        # A client that rejects our certificate (the test that trusts nothing) is expected, not noise.
        if not isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(slack: FakeSlack):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {"_invalid_json": raw.decode("utf-8", "replace")}
            reply = slack._take(self.path, body)
            if reply.delay and slack._stopping.wait(reply.delay):
                return
            payload = reply.body.encode()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format, *args):
            pass

    return Handler


# --- Block Kit structure (api.slack.com/reference/block-kit), checked the way Slack rejects a payload ---
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _text_object(obj: dict, *, limit: int, types=TEXT_TYPES) -> None:
    assert obj["type"] in types, obj
    assert isinstance(obj["text"], str) and 0 < len(obj["text"]) <= limit, obj


def assert_block_kit(payload: dict) -> None:
    """Fail unless `payload` is a webhook message Slack would accept: a `text` fallback and a list of
    known blocks within their limits."""
    assert isinstance(payload.get("text"), str) and payload["text"]
    blocks = payload["blocks"]
    assert isinstance(blocks, list) and 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            _text_object(block["text"], limit=150, types={"plain_text"})
        elif kind == "section":
            assert "text" in block or "fields" in block, block
            if "text" in block:
                _text_object(block["text"], limit=3000)
            for f in block.get("fields", []):
                _text_object(f, limit=2000)
            assert len(block.get("fields", [])) <= 10
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                _text_object(element, limit=3000)
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert element["type"] == "button"
                _text_object(element["text"], limit=75, types={"plain_text"})
                assert element["url"].startswith(("https://", "http://")) and len(element["url"]) <= 3000
        elif kind != "divider":
            raise AssertionError(f"unexpected block type {kind!r}")


def all_texts(payload: dict) -> list[str]:
    """Every string Slack would display from the payload."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") in TEXT_TYPES:
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return [payload["text"], *found]
