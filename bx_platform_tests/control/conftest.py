"""Fixtures of the control-plane tests: a migrated store on SQLite and on the real PostgreSQL server, test
secrets in the environment, an organization with a key, and job specs."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bx_platform.control import Capabilities, authenticate, create_key, create_organization, grant_credits, open_engine
from bx_platform.jobs.spec import parse_spec

TEST_PEPPER = "test-pepper-0f1e2d3c"


def spec_for(organization: str, **changes):
    """A small valid job spec for the organization (one market, one strategy, 10 days of hourly bars)."""
    data = {
        "organization": organization,
        "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
        "window": {"start": "2018-01-01", "end": "2018-01-11"},
        "timeframe": "1h",
        "strategies": ["bx/sma-trend"],
        **changes,
    }
    return parse_spec(data)


@pytest.fixture(autouse=True)
def control_secrets(monkeypatch, bx_home):
    monkeypatch.setenv("BX_KEY_PEPPER", TEST_PEPPER)
    monkeypatch.setenv("BX_WEBHOOK_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("BX_CONTROL_URL", raising=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def control_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'control.sqlite'}"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def engine(control_url):
    engine = open_engine(control_url)
    yield engine
    engine.dispose()


@pytest.fixture
def acme(engine):
    """Organization `acme` with 1000 credits and a key with the default capabilities: (engine, identity)."""
    create_organization(engine, "acme")
    grant_credits(engine, "acme", 1000)
    _, secret = create_key(engine, "acme", Capabilities())
    return authenticate(engine, secret)
