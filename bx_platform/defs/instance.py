"""The Dagster instance bx uses: $DAGSTER_HOME if set, else `$BX_HOME/dagster` configured from the repo's
dagster.yaml (SQLite), or from deploy/postgres/dagster.yaml when DAGSTER_PG_URL is set."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bx_platform.paths import REPO_ROOT, bx_home

SQLITE_CONFIG = REPO_ROOT / "dagster.yaml"
POSTGRES_CONFIG = REPO_ROOT / "deploy" / "postgres" / "dagster.yaml"


def ensure_dagster_home() -> Path:
    """Set DAGSTER_HOME for this process and its children, writing the instance config if needed."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    home = bx_home() / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = (POSTGRES_CONFIG if os.environ.get("DAGSTER_PG_URL") else SQLITE_CONFIG).read_text()
    target = home / "dagster.yaml"
    if not target.exists() or target.read_text() != config:
        target.write_text(config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def dagster_instance():
    """The instance, created under a file lock: two `bx run` starting together on a fresh SQLite home would
    otherwise race on creating its databases (an alembic error)."""
    from dagster import DagsterInstance

    home = ensure_dagster_home()
    with open(home / ".instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = DagsterInstance.get()
        instance.get_runs(limit=1)  # creates the storage while the lock is held
    return instance
