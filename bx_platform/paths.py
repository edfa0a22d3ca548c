"""Where BX Platform keeps its state: one home folder, overridable by environment variables."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def bx_home() -> Path:
    """BX_HOME, default `.bx/` at the repository root (job store, warehouse, Dagster home)."""
    return Path(os.environ.get("BX_HOME") or REPO_ROOT / ".bx").resolve()


def warehouse_dir() -> Path:
    """BX_WAREHOUSE_DIR, default `$BX_HOME/warehouse`: the analytical store."""
    return Path(os.environ.get("BX_WAREHOUSE_DIR") or bx_home() / "warehouse").resolve()


def leagues_dir() -> Path:
    """BX_LEAGUES_DIR, default `data/leagues` in the repository: the league templates."""
    return Path(os.environ.get("BX_LEAGUES_DIR") or REPO_ROOT / "data" / "leagues").resolve()


def store_url(variable: str, filename: str) -> str:
    """A store's SQLAlchemy URL: the environment variable when set, else a SQLite file in BX_HOME."""
    url = os.environ.get(variable)
    if url:
        return url
    home = bx_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / filename}"
