"""An independent webhook receiver for the tests: a real HTTP server on 127.0.0.1 that verifies requests
as the Standard Webhooks specification tells a receiver to, written from the specification and not from
our signer (it imports nothing of bx_platform).

Verification: the secret is base64 after the `whsec_` prefix; the signed content is
`{webhook-id}.{webhook-timestamp}.{body}`; the expected signature is base64(HMAC-SHA256(secret, content));
`webhook-signature` holds space-separated `v1,<signature>` entries, any one of which may match, compared in
constant time; a timestamp further than the tolerance from the receiver's clock is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> str | None:
    """None when the request is authentic and fresh, else why it is refused."""
    msg_id, timestamp, signatures = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        return "missing headers"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs((now or time.time()) - sent_at) > TOLERANCE_SECONDS:
        return "timestamp outside the tolerance"
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    expected = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest())
    for entry in signatures.split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return None
    return "no matching signature"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    refusal: str | None
    status: int


@dataclass
class Receiver:
    """Fails the first `fail_first` authentic requests with 500, then answers 204; refuses bad ones with 400."""

    secret: str = ""
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/bx"

    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.status == 204]

    def __enter__(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                refusal = verify(receiver.secret, headers, body)
                authentic_so_far = sum(1 for r in receiver.requests if r.refusal is None)
                status = 400 if refusal else (500 if authentic_so_far < receiver.fail_first else 204)
                receiver.requests.append(Received(headers, body, refusal, status))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
