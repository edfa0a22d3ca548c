"""Signed webhooks from a durable outbox (the Standard Webhooks scheme; docs/api.md, "Webhooks").

`enqueue_event` only writes outbox rows (one per active endpoint of the organization), so a job's result
never waits on, or depends on, a receiver. `deliver_due` is the worker: it claims due messages, POSTs each
with the headers `webhook-id` (the message id, the same on every attempt, for the receiver's idempotency),
`webhook-timestamp` (seconds, the attempt's time) and `webhook-signature: v1,<base64 HMAC-SHA256 over
"id.timestamp.body">`, records every attempt, and retries failures with exponential backoff until
MAX_ATTEMPTS. These are delivery retries: the job is never run again.

Endpoint signing secrets are `whsec_` + base64 of 32 random bytes, shown once at registration and stored
Fernet-encrypted with the key in `BX_WEBHOOK_KEY` (comma-separated keys: the first encrypts, all decrypt, for
rotation); they must be recoverable, as signing needs the secret itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bx_platform.control.audit import record_event
from bx_platform.control.keys import require_organization
from bx_platform.control.store import utcnow, warn_once, webhook_attempts, webhook_endpoints, webhook_outbox
from bx_platform.errors import InputError
from bx_platform.jobs.spec import canonical_json

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
MAX_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(seconds=30)
BACKOFF_FACTOR = 4
MAX_RETRY_DELAY = timedelta(hours=6)
REQUEST_TIMEOUT_SECONDS = 10.0
# How long a worker owns a claimed message; longer than one request, so two workers never send it at once.
CLAIM_SECONDS = 60
SECRET_PREFIX = "whsec_"
DEVELOPMENT_KEY_SEED = b"bx-development-webhook-key-not-for-production"


def retry_delay(failed_attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 30 s, 2 min, 8 min, 32 min, 2 h 8 min, then 6 h."""
    return min(FIRST_RETRY_DELAY * BACKOFF_FACTOR ** (failed_attempts - 1), MAX_RETRY_DELAY)


def _fernet() -> MultiFernet:
    configured = os.environ.get("BX_WEBHOOK_KEY")
    if not configured:
        warn_once("BX_WEBHOOK_KEY is unset: webhook secrets are encrypted with the development key; set it in production")
        return MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(DEVELOPMENT_KEY_SEED).digest()))])
    try:
        return MultiFernet([Fernet(key.strip()) for key in configured.split(",") if key.strip()])
    except ValueError:
        raise InputError("BX_WEBHOOK_KEY", "expected Fernet keys (32 url-safe base64 bytes), comma-separated") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    organization: str
    url: str


def add_endpoint(engine: sa.Engine, organization: str, url: str) -> tuple[Endpoint, str]:
    """Register an endpoint; returns it and its signing secret, which is shown this once."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("url", f"{url!r}: an http or https URL with a host is needed")
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    endpoint = Endpoint(f"ep_{secrets.token_hex(8)}", organization, url)
    with engine.begin() as conn:
        require_organization(conn, organization)
        conn.execute(
            webhook_endpoints.insert().values(
                endpoint_id=endpoint.endpoint_id,
                organization=organization,
                url=url,
                secret_encrypted=_fernet().encrypt(secret.encode()).decode(),
                created_at=utcnow(),
            )
        )
    return endpoint, secret


def disable_endpoint(engine: sa.Engine, endpoint_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            webhook_endpoints.update()
            .where(webhook_endpoints.c.endpoint_id == endpoint_id, webhook_endpoints.c.disabled_at.is_(None))
            .values(disabled_at=utcnow())
        )


def enqueue_event(
    engine_or_conn: sa.Engine | sa.Connection,
    organization: str,
    event_type: str,
    payload: dict[str, Any],
    event_key: str | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Put an event in the outbox for each active endpoint of the organization; returns the message ids.

    Given a Connection, the rows join the caller's transaction (so a job's closing and its event commit
    together). `event_key` (e.g. "<job id>:job.completed") makes enqueuing idempotent per endpoint.
    """
    if isinstance(engine_or_conn, sa.Engine):
        with engine_or_conn.begin() as conn:
            return enqueue_event(conn, organization, event_type, payload, event_key, now)
    conn, now = engine_or_conn, now or utcnow()
    body = canonical_json({"type": event_type, "timestamp": now.isoformat(), "data": payload})
    endpoints = conn.execute(
        sa.select(webhook_endpoints.c.endpoint_id).where(
            webhook_endpoints.c.organization == organization, webhook_endpoints.c.disabled_at.is_(None)
        ).order_by(webhook_endpoints.c.endpoint_id)
    ).scalars().all()
    message_ids = []
    for endpoint_id in endpoints:
        if event_key is not None:
            existing = conn.execute(
                sa.select(webhook_outbox.c.message_id).where(
                    webhook_outbox.c.endpoint_id == endpoint_id, webhook_outbox.c.event_key == event_key
                )
            ).scalar()
            if existing:
                message_ids.append(existing)
                continue
        message_id = f"msg_{uuid.uuid4().hex}"
        conn.execute(
            webhook_outbox.insert().values(
                message_id=message_id,
                endpoint_id=endpoint_id,
                organization=organization,
                event_type=event_type,
                event_key=event_key,
                body=body,
                created_at=now,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
            )
        )
        message_ids.append(message_id)
    return message_ids


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    retrying: int
    failed: int  # gave up after MAX_ATTEMPTS


def deliver_due(
    engine: sa.Engine, now: datetime | None = None, limit: int = 100, client: httpx.Client | None = None
) -> DeliveryReport:
    """Attempt every message due at `now` (default: the current time), at most `limit` of them."""
    now = now or utcnow()
    claimed = _claim_due(engine, now, limit)
    counts = {DELIVERED: 0, PENDING: 0, FAILED: 0}
    owned_client = client is None
    client = client or httpx.Client(timeout=REQUEST_TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for message in claimed:
            counts[_attempt(engine, client, message, now)] += 1
    finally:
        if owned_client:
            client.close()
    return DeliveryReport(delivered=counts[DELIVERED], retrying=counts[PENDING], failed=counts[FAILED])


def _claim_due(engine: sa.Engine, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Due pending messages this worker now owns (a conditional UPDATE per message: one owner each)."""
    claim_until = now + timedelta(seconds=CLAIM_SECONDS)
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(webhook_outbox.c.message_id)
            .where(
                webhook_outbox.c.status == PENDING,
                webhook_outbox.c.next_attempt_at <= now,
                sa.or_(webhook_outbox.c.locked_until.is_(None), webhook_outbox.c.locked_until <= now),
            )
            .order_by(webhook_outbox.c.next_attempt_at, webhook_outbox.c.message_id)
            .limit(limit)
        ).scalars().all()
    owned = []
    for message_id in due:
        with engine.begin() as conn:
            taken = conn.execute(
                webhook_outbox.update()
                .where(
                    webhook_outbox.c.message_id == message_id,
                    webhook_outbox.c.status == PENDING,
                    sa.or_(webhook_outbox.c.locked_until.is_(None), webhook_outbox.c.locked_until <= now),
                )
                .values(locked_until=claim_until)
            ).rowcount
            if taken:
                row = conn.execute(
                    sa.select(webhook_outbox, webhook_endpoints.c.url, webhook_endpoints.c.secret_encrypted)
                    .join(webhook_endpoints, webhook_endpoints.c.endpoint_id == webhook_outbox.c.endpoint_id)
                    .where(webhook_outbox.c.message_id == message_id)
                ).mappings().one()
                owned.append(dict(row))
    return owned


def _attempt(engine: sa.Engine, client: httpx.Client, message: dict[str, Any], now: datetime) -> str:
    """One signed POST of a claimed message, recorded; returns the message's new status."""
    attempt = message["attempts"] + 1
    body = message["body"].encode()
    timestamp = int(now.timestamp())
    status_code, error = None, None
    started = time.perf_counter()
    try:
        secret = _fernet().decrypt(message["secret_encrypted"].encode()).decode()
        headers = {
            "content-type": "application/json",
            "user-agent": "bx-platform-webhooks/1",
            "webhook-id": message["message_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message["message_id"], timestamp, body),
        }
        response = client.post(message["url"], content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except InvalidToken:
        error = "the endpoint's secret cannot be decrypted with BX_WEBHOOK_KEY"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = (time.perf_counter() - started) * 1000
    if error is None:
        status, next_at, finished = DELIVERED, None, now
    elif attempt >= MAX_ATTEMPTS:
        status, next_at, finished = FAILED, None, now
    else:
        status, next_at, finished = PENDING, now + retry_delay(attempt), None
    with engine.begin() as conn:
        conn.execute(
            webhook_attempts.insert().values(
                message_id=message["message_id"],
                attempt=attempt,
                at=now,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
        )
        conn.execute(
            webhook_outbox.update()
            .where(webhook_outbox.c.message_id == message["message_id"])
            .values(status=status, attempts=attempt, next_attempt_at=next_at, finished_at=finished, locked_until=None)
        )
    _audit_attempt(engine, message, attempt, status_code, error, status)
    return status


def _audit_attempt(engine: sa.Engine, message: dict[str, Any], attempt: int, status_code: int | None, error: str | None, status: str) -> None:
    """A delivery attempt of a job's event goes into that job's audit trail (the endpoint by id, never its URL)."""
    job_id = json.loads(message["body"]).get("data", {}).get("job_id")
    if job_id:
        detail = {
            "event_type": message["event_type"], "message_id": message["message_id"], "endpoint_id": message["endpoint_id"],
            "attempt": attempt, "status_code": status_code, "error": error, "status": status,
        }
        record_event(engine, job_id, "webhook_attempt", detail)


def message_attempts(engine: sa.Engine, message_id: str) -> list[dict[str, Any]]:
    """Every recorded attempt of a message, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(webhook_attempts).where(webhook_attempts.c.message_id == message_id).order_by(webhook_attempts.c.attempt)
        ).mappings()
        return [dict(row) for row in rows]


def outbox_message(engine: sa.Engine, message_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(webhook_outbox).where(webhook_outbox.c.message_id == message_id)).mappings().first()
    if row is None:
        raise InputError("message_id", f"no webhook message {message_id!r}")
    return dict(row)
