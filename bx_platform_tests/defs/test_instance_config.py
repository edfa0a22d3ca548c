"""The shipped instance configs load, keep telemetry off and open the Dagster UI without its community pop-up
(the "NUX" modal: `nux: enabled: false`); test_ui.py asks the running UI itself."""

from __future__ import annotations

import pytest

from bx_platform.defs.instance import POSTGRES_CONFIG, SQLITE_CONFIG, dagster_instance


@pytest.fixture(params=["sqlite", "postgres"])
def shipped_instance(request, bx_home, monkeypatch):
    """The instance bx builds from the shipped config: dagster.yaml, or deploy/postgres/dagster.yaml with
    DAGSTER_PG_URL set (on the real PostgreSQL server)."""
    if request.param == "postgres":
        monkeypatch.setenv("DAGSTER_PG_URL", request.getfixturevalue("pg_database"))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = dagster_instance()
    yield request.param, instance
    instance.dispose()
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # dagster_instance() set it for this process


def test_shipped_instance_loads_without_the_community_pop_up(shipped_instance):
    kind, instance = shipped_instance
    assert type(instance.run_storage).__name__ == ("PostgresRunStorage" if kind == "postgres" else "SqliteRunStorage")
    assert instance.nux_enabled is False
    assert instance.telemetry_enabled is False


@pytest.mark.parametrize("config", [SQLITE_CONFIG, POSTGRES_CONFIG], ids=["sqlite", "postgres"])
def test_shipped_configs_say_so_in_the_file(config):
    import yaml

    settings = yaml.safe_load(config.read_text())
    assert settings["nux"] == {"enabled": False} and settings["telemetry"] == {"enabled": False}
