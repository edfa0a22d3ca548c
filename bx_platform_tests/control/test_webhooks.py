"""Signed webhooks, checked by an independent receiver on 127.0.0.1 (bx_platform_tests/control/receiver.py,
written from the Standard Webhooks specification): authentic events accepted, tampered bodies and stale
timestamps refused, retries with backoff under the same message id, every attempt recorded."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from bx_platform.control import add_endpoint, audit, create_organization, deliver_due, enqueue_event, message_attempts
from bx_platform.control.store import utcnow, webhook_endpoints
from bx_platform.control.webhooks import MAX_ATTEMPTS, outbox_message, retry_delay
from bx_platform.errors import InputError
from bx_platform_tests.control.receiver import Receiver

PAYLOAD = {"job_id": "job-0123456789abcdef01234567", "status": "completed"}


@pytest.fixture
def receiver(engine):
    create_organization(engine, "acme")
    with Receiver() as receiver:
        endpoint, receiver.secret = add_endpoint(engine, "acme", receiver.url)
        yield receiver


def test_an_event_is_delivered_signed_and_verified_by_the_receiver(engine, receiver):
    [message_id] = enqueue_event(engine, "acme", "job.completed", PAYLOAD)
    report = deliver_due(engine)
    assert (report.delivered, report.retrying, report.failed) == (1, 0, 0)
    [request] = receiver.requests
    assert request.refusal is None and request.status == 204
    assert request.headers["webhook-id"] == message_id
    assert request.body == outbox_message(engine, message_id)["body"].encode()
    [attempt] = message_attempts(engine, message_id)
    assert (attempt["attempt"], attempt["status_code"], attempt["error"]) == (1, 204, None) and attempt["duration_ms"] > 0
    assert outbox_message(engine, message_id)["status"] == "delivered"
    assert deliver_due(engine).delivered == 0  # delivered once


def test_each_delivery_attempt_of_a_job_event_is_in_the_jobs_audit_trail(engine, receiver):
    ten_minutes_ago = utcnow() - timedelta(minutes=10)
    [message_id] = enqueue_event(engine, "acme", "job.failed", PAYLOAD, now=ten_minutes_ago)
    deliver_due(engine, now=ten_minutes_ago)  # refused: a stale timestamp
    deliver_due(engine)  # the retry, due since, delivered
    events = audit.trail(engine, PAYLOAD["job_id"])
    assert [(e.content["detail"]["attempt"], e.content["detail"]["status"]) for e in events] == [(1, "pending"), (2, "delivered")]
    assert {e.content["detail"]["message_id"] for e in events} == {message_id}
    assert receiver.url not in "".join(e.body for e in events)  # the endpoint by id, never its URL
    assert audit.verify_chain(PAYLOAD["job_id"], events) == []
    assert "delivery attempt 2" in audit.describe(events[1])


def test_the_receiver_refuses_a_tampered_body_and_a_stale_timestamp(engine, receiver):
    enqueue_event(engine, "acme", "job.completed", PAYLOAD)
    deliver_due(engine)
    authentic = receiver.requests[0]
    forwarded = {k: authentic.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    tampered = authentic.body.replace(b"completed", b"failed")
    assert httpx.post(receiver.url, content=tampered, headers=forwarded).status_code == 400
    assert receiver.requests[-1].refusal == "no matching signature"

    ten_minutes_ago = utcnow() - timedelta(minutes=10)
    [stale_id] = enqueue_event(engine, "acme", "job.failed", PAYLOAD, now=ten_minutes_ago)
    assert deliver_due(engine, now=ten_minutes_ago).retrying == 1  # signed with a timestamp 10 minutes old
    assert receiver.requests[-1].refusal == "timestamp outside the tolerance"
    [attempt] = message_attempts(engine, stale_id)
    assert (attempt["status_code"], attempt["error"]) == (400, "HTTP 400")


def test_a_receiver_failing_twice_gets_the_same_event_id_three_times(engine, receiver):
    receiver.fail_first = 2
    [message_id] = enqueue_event(engine, "acme", "job.completed", PAYLOAD)
    now = utcnow()
    assert deliver_due(engine, now=now).retrying == 1
    assert deliver_due(engine, now=now + retry_delay(1) - timedelta(seconds=1)).retrying == 0  # not due yet
    now += retry_delay(1)
    assert deliver_due(engine, now=now).retrying == 1
    now += retry_delay(2)
    assert deliver_due(engine, now=now).delivered == 1
    assert [r.headers["webhook-id"] for r in receiver.requests] == [message_id] * 3
    assert len({r.headers["webhook-timestamp"] for r in receiver.requests}) == 3  # each attempt signed anew
    assert len({r.body for r in receiver.requests}) == 1
    assert [(a["attempt"], a["status_code"]) for a in message_attempts(engine, message_id)] == [(1, 500), (2, 500), (3, 204)]


def test_delivery_gives_up_after_max_attempts_and_records_connection_errors(engine):
    create_organization(engine, "acme")
    with Receiver() as closed:
        url = closed.url  # a port nobody listens on once the receiver is stopped
    add_endpoint(engine, "acme", url)
    [message_id] = enqueue_event(engine, "acme", "job.failed", PAYLOAD)
    now = utcnow()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        report = deliver_due(engine, now=now)
        assert (report.retrying, report.failed) == ((1, 0) if attempt < MAX_ATTEMPTS else (0, 1))
        now += retry_delay(attempt)
    assert deliver_due(engine, now=now + timedelta(days=30)) == type(report)(0, 0, 0)
    attempts = message_attempts(engine, message_id)
    assert [a["attempt"] for a in attempts] == list(range(1, MAX_ATTEMPTS + 1))
    assert all(a["status_code"] is None and a["error"].startswith("ConnectError") for a in attempts)
    assert outbox_message(engine, message_id)["status"] == "failed"


def test_backoff_is_exponential_and_capped():
    assert [retry_delay(n).total_seconds() for n in range(1, MAX_ATTEMPTS)] == [30, 120, 480, 1920, 7680, 21600, 21600]


def test_enqueue_is_idempotent_per_event_key_and_joins_the_callers_transaction(engine, receiver):
    first = enqueue_event(engine, "acme", "job.completed", PAYLOAD, event_key="job-1:job.completed")
    assert enqueue_event(engine, "acme", "job.completed", PAYLOAD, event_key="job-1:job.completed") == first
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            enqueue_event(conn, "acme", "job.completed", PAYLOAD, event_key="job-2:job.completed")
            raise RuntimeError("the job's closing failed")
    assert deliver_due(engine).delivered == 1  # only the first event was committed


def test_the_signing_secret_is_encrypted_at_rest(engine, receiver):
    with engine.connect() as conn:
        stored = conn.execute(sa.select(webhook_endpoints.c.secret_encrypted)).scalar_one()
    assert receiver.secret not in stored and receiver.secret.removeprefix("whsec_") not in stored


def test_only_http_urls_are_registered(engine):
    create_organization(engine, "acme")
    for url in ("ftp://example.org/hook", "not a url", "http:///path"):
        with pytest.raises(InputError, match="http or https URL"):
            add_endpoint(engine, "acme", url)


def test_two_workers_at_once_send_each_message_once(engine, receiver):
    message_ids = [enqueue_event(engine, "acme", "job.completed", {"n": n})[0] for n in range(12)]
    barrier = threading.Barrier(2)
    reports = []

    def worker():
        barrier.wait()
        reports.append(deliver_due(engine))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.delivered for r in reports) == 12
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(message_ids)
