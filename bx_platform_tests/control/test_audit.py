"""The audit trail's chain and its append-only table (SQLite and PostgreSQL), and the manifest signing key."""

from __future__ import annotations

import base64
import os
import stat

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bx_platform.control import audit, signing
from bx_platform.control.store import open_engine
from bx_platform.errors import InputError


def _three_events(engine) -> list[audit.AuditEvent]:
    audit.record_event(engine, "job-1", "claimed", {"claimed_by": "test", "claimed_at": "2026-12-01T00:00:00+00:00"})
    audit.record_event(engine, "job-1", "data_loaded", {"datasets": {"coinbase:BTC/USD": "ab" * 32}})
    audit.record_event(engine, "job-1", "finished", {"outcome": "failed", "stage": "market_data", "reason": "why"})
    return audit.trail(engine, "job-1")


def test_each_event_carries_the_hash_of_the_one_before(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'control.sqlite'}")
    audit.record_event(engine, "job-other", "claimed", {"claimed_by": "x", "claimed_at": None})
    events = _three_events(engine)
    assert [e.seq for e in events] == [1, 2, 3] and [e.kind for e in events] == ["claimed", "data_loaded", "finished"]
    assert events[0].content["prev"] == audit.GENESIS
    assert [e.content["prev"] for e in events[1:]] == [e.hash for e in events[:-1]]
    assert all(audit.sha256_text(e.body) == e.hash for e in events)
    assert audit.verify_chain("job-1", events) == [] and audit.head_hash(events) == events[-1].hash
    assert "FAILED at market_data: why" in audit.describe(events[-1])


def test_a_changed_missing_or_foreign_event_breaks_the_chain(tmp_path):
    events = _three_events(open_engine(f"sqlite:///{tmp_path / 'control.sqlite'}"))
    edited = audit.AuditEvent("job-1", 2, "data_loaded", events[1].body.replace("ab", "cd", 1), events[1].hash)
    assert "does not match its stored hash" in audit.verify_chain("job-1", [events[0], edited, events[2]])[0]
    missing = audit.verify_chain("job-1", [events[0], events[2]])
    assert any("`prev`" in p for p in missing) and any("an event is missing" in p for p in missing)
    assert any("`job_id`" in p for p in audit.verify_chain("job-2", events))


def test_the_trail_refuses_update_and_delete_on_sqlite(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'control.sqlite'}")
    _three_events(engine)
    for statement in ("UPDATE bx_audit_events SET body = 'x'", "DELETE FROM bx_audit_events"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert len(audit.trail(engine, "job-1")) == 3


def test_the_trail_refuses_update_delete_and_truncate_on_postgresql(pg_database):
    engine = open_engine(pg_database)
    events = _three_events(engine)
    assert audit.verify_chain("job-1", events) == []
    for statement in ("UPDATE bx_audit_events SET body = 'x'", "DELETE FROM bx_audit_events", "TRUNCATE bx_audit_events"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))
    assert [e.hash for e in audit.trail(engine, "job-1")] == [e.hash for e in events]
    engine.dispose()


def test_a_development_key_is_generated_once_and_says_so(bx_home, monkeypatch, capsys):
    monkeypatch.delenv(signing.SIGNING_KEY_ENV, raising=False)
    assert signing.trusted_public_key() is None  # verifying never creates a key
    key = signing.signing_key()
    assert "BX_SIGNING_KEY is not set" in capsys.readouterr().err
    path = signing.dev_key_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert signing.raw_public(signing.signing_key().public_key()) == signing.raw_public(key.public_key())
    assert signing.raw_public(signing.trusted_public_key()) == signing.raw_public(key.public_key())


def test_the_signing_key_comes_from_the_environment_as_pem_or_base64(bx_home, monkeypatch):
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for value in (base64.b64encode(raw).decode(), pem.decode()):
        monkeypatch.setenv(signing.SIGNING_KEY_ENV, value)
        assert signing.raw_public(signing.signing_key().public_key()) == signing.raw_public(key.public_key())
    assert not signing.dev_key_path().exists()
    monkeypatch.setenv(signing.SIGNING_KEY_ENV, "not a key")
    with pytest.raises(InputError, match="BX_SIGNING_KEY"):
        signing.signing_key()


def test_a_signature_counts_only_as_written():
    key = Ed25519PrivateKey.generate()
    signature = signing.sign(key, b"message")
    assert signing.signature_valid(key.public_key(), b"message", signature)
    assert not signing.signature_valid(key.public_key(), b"messagE", signature)
    assert not signing.signature_valid(key.public_key(), b"message", signature.upper())
    assert not signing.signature_valid(key.public_key(), b"message", signature[:-1] + "x")
