"""Organizations and API keys: the secret is shown once and only its peppered hash is stored; revoked,
wrong and malformed secrets authenticate nobody."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
import sqlalchemy as sa

from bx_platform.control import Capabilities, authenticate, create_key, create_organization, revoke_key
from bx_platform.control.store import api_keys, metadata
from bx_platform.errors import InputError
from bx_platform_tests.control.conftest import TEST_PEPPER


def _everything_stored(engine) -> str:
    """Every value of every table, as text (on SQLite the file's bytes are checked as well)."""
    with engine.connect() as conn:
        return "\n".join(repr(row) for table in metadata.sorted_tables for row in conn.execute(sa.select(table)))


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(engine, control_url):
    create_organization(engine, "acme")
    key_id, secret = create_key(engine, "acme", Capabilities(markets=("binance:*",)))
    random_part = secret.partition(".")[2]
    assert secret.startswith(key_id + ".") and len(random_part) >= 43
    stored = _everything_stored(engine)
    assert random_part not in stored
    if control_url.startswith("sqlite"):
        engine.dispose()
        database = control_url.removeprefix("sqlite:///")
        assert random_part.encode() not in b"".join(open(p, "rb").read() for p in (database, database + "-wal") if os.path.exists(p))
    with engine.connect() as conn:
        stored_hash = conn.execute(sa.select(api_keys.c.secret_hash)).scalar_one()
    assert stored_hash == hmac.new(TEST_PEPPER.encode(), secret.encode(), hashlib.sha256).hexdigest()

    identity = authenticate(engine, secret)
    assert (identity.key_id, identity.organization, identity.capabilities.markets) == (key_id, "acme", ("binance:*",))


def test_wrong_malformed_and_revoked_secrets_authenticate_nobody(engine, monkeypatch):
    create_organization(engine, "acme")
    key_id, secret = create_key(engine, "acme")
    other_id, other = create_key(engine, "acme")
    for wrong in (secret[:-1] + ("A" if secret[-1] != "A" else "B"), "", "nonsense", key_id, f"{other_id}.{secret.partition('.')[2]}"):
        assert authenticate(engine, wrong) is None
    monkeypatch.setenv("BX_KEY_PEPPER", "another-pepper")
    assert authenticate(engine, secret) is None  # the hash depends on the pepper
    monkeypatch.setenv("BX_KEY_PEPPER", TEST_PEPPER)
    assert revoke_key(engine, key_id) is True
    assert revoke_key(engine, key_id) is False
    assert authenticate(engine, secret) is None
    assert authenticate(engine, other).key_id == other_id  # revoking one key leaves the others


def test_organization_names_are_checked(engine):
    create_organization(engine, "acme")
    with pytest.raises(InputError, match="already exists"):
        create_organization(engine, "acme")
    with pytest.raises(InputError, match="lowercase"):
        create_organization(engine, "Acme Corp")
    with pytest.raises(InputError, match="no organization"):
        create_key(engine, "globex")
    with pytest.raises(InputError, match="no key"):
        revoke_key(engine, "bxk_0000000000000000")
