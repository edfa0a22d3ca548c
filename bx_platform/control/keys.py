"""Organizations and their API keys.

A key's secret is `<key_id>.<43 random url-safe characters>` (256 bits from `secrets`), shown once at
creation; the store keeps only HMAC-SHA256(pepper, secret). The pepper comes from `BX_KEY_PEPPER`, so a
copy of the database alone cannot be used to test guessed secrets. Authentication looks the key up by the
id in the secret and compares the hashes with `hmac.compare_digest`, computing a hash even for an unknown id,
so the time taken does not tell a wrong secret from a wrong id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from datetime import datetime

import sqlalchemy as sa

from bx_platform.control.capabilities import Capabilities, KeyIdentity
from bx_platform.control.store import api_keys, key_capabilities, organizations, utcnow, warn_once
from bx_platform.errors import InputError

# The job spec's own pattern for organization names, so every organization can submit jobs.
ORGANIZATION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,199}$")
KEY_ID_PATTERN = re.compile(r"^bxk_[0-9a-f]{16}$")
DEVELOPMENT_PEPPER = "bx-development-pepper-not-for-production"
_UNKNOWN_KEY_HASH = "0" * 64


def key_pepper() -> bytes:
    """BX_KEY_PEPPER; a fixed development pepper (with a warning) when it is unset."""
    pepper = os.environ.get("BX_KEY_PEPPER")
    if not pepper:
        warn_once("BX_KEY_PEPPER is unset: API keys are hashed with the development pepper; set it in production")
        pepper = DEVELOPMENT_PEPPER
    return pepper.encode()


def hash_secret(secret: str, pepper: bytes) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def create_organization(
    engine: sa.Engine, name: str, jobs_per_hour: int | None = None, jobs_per_day: int | None = None
) -> str:
    """Register an organization; its name is what job specs and keys refer to."""
    if not ORGANIZATION_PATTERN.match(name):
        raise InputError("organization", f"{name!r}: lowercase letters, digits, '_', '.', '-', starting with a letter or digit")
    with engine.begin() as conn:
        if conn.execute(sa.select(organizations.c.organization).where(organizations.c.organization == name)).first():
            raise InputError("organization", f"{name!r} already exists")
        conn.execute(
            organizations.insert().values(
                organization=name, created_at=utcnow(), jobs_per_hour=jobs_per_hour, jobs_per_day=jobs_per_day
            )
        )
    return name


def require_organization(conn: sa.Connection, name: str) -> sa.RowMapping:
    row = conn.execute(sa.select(organizations).where(organizations.c.organization == name)).mappings().first()
    if row is None:
        raise InputError("organization", f"no organization {name!r}")
    return row


def list_organizations(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(organizations.c.organization).order_by(organizations.c.organization)).scalars())


def create_key(engine: sa.Engine, organization: str, capabilities: Capabilities | None = None) -> tuple[str, str]:
    """A new key for the organization: (key_id, secret). The secret is not stored and cannot be shown again."""
    capabilities = capabilities or Capabilities()
    key_id = f"bxk_{secrets.token_hex(8)}"
    secret = f"{key_id}.{secrets.token_urlsafe(32)}"
    with engine.begin() as conn:
        require_organization(conn, organization)
        conn.execute(
            api_keys.insert().values(
                key_id=key_id, organization=organization, secret_hash=hash_secret(secret, key_pepper()), created_at=utcnow()
            )
        )
        for name, value in capabilities.to_rows():
            conn.execute(key_capabilities.insert().values(key_id=key_id, capability=name, value=value))
    return key_id, secret


def authenticate(engine: sa.Engine, secret: str) -> KeyIdentity | None:
    """The identity of a valid, unrevoked key, or None; constant time in the secret (see the module docstring)."""
    key_id = secret.partition(".")[0]
    with engine.connect() as conn:
        row = None
        if KEY_ID_PATTERN.match(key_id):
            row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        expected = row["secret_hash"] if row else _UNKNOWN_KEY_HASH
        matches = hmac.compare_digest(hash_secret(secret, key_pepper()), expected)
        if not (row and matches) or row["revoked_at"] is not None:
            return None
        return KeyIdentity(key_id=key_id, organization=row["organization"], capabilities=_capabilities(conn, key_id))


def key_identity(engine: sa.Engine, key_id: str) -> KeyIdentity:
    """An existing key's identity by id (for operators; it proves nothing about the caller)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).mappings().first()
        if row is None:
            raise InputError("key_id", f"no key {key_id!r}")
        return KeyIdentity(key_id=key_id, organization=row["organization"], capabilities=_capabilities(conn, key_id))


def list_keys(engine: sa.Engine, organization: str | None = None) -> list[dict]:
    """Every key (of one organization), oldest first: id, organization, created, revoked and its capabilities as
    stored (capability, value) pairs. Never a secret's hash."""
    query = sa.select(api_keys.c.key_id, api_keys.c.organization, api_keys.c.created_at, api_keys.c.revoked_at)
    if organization:
        query = query.where(api_keys.c.organization == organization)
    with engine.connect() as conn:
        if organization:
            require_organization(conn, organization)
        keys = conn.execute(query.order_by(api_keys.c.created_at, api_keys.c.key_id)).mappings().all()
        return [{**key, "capabilities": _capabilities(conn, key["key_id"]).to_rows()} for key in keys]


def _capabilities(conn: sa.Connection, key_id: str) -> Capabilities:
    rows = conn.execute(
        sa.select(key_capabilities.c.capability, key_capabilities.c.value).where(key_capabilities.c.key_id == key_id)
    )
    return Capabilities.from_rows((name, value) for name, value in rows)


def revoke_key(engine: sa.Engine, key_id: str, at: datetime | None = None) -> bool:
    """Revoke a key from now on; False when it was already revoked. Unknown ids are an input error."""
    with engine.begin() as conn:
        exists = conn.execute(sa.select(api_keys.c.revoked_at).where(api_keys.c.key_id == key_id)).first()
        if exists is None:
            raise InputError("key_id", f"no key {key_id!r}")
        result = conn.execute(
            api_keys.update()
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at or utcnow())
        )
    return result.rowcount == 1
