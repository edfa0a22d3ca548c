"""Resources: the stores, configured from the environment (defaults: everything under BX_HOME)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import PrivateAttr

from bx_platform.control.store import default_control_url, open_engine
from bx_platform.jobs.store import JobStore, default_store_url
from bx_platform.market.archive import default_archive_dir
from bx_platform.paths import warehouse_dir
from bx_platform.warehouse.store import Warehouse


def env_or_default(name: str, default: str) -> dg.EnvVar | str:
    """Configure from the environment variable when it is set, else from the default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


class WarehouseResource(dg.ConfigurableResource):
    """The analytical store (Parquet partitions + DuckDB views)."""

    root: str

    def get(self) -> Warehouse:
        return Warehouse(Path(self.root)).ensure()


class JobStoreResource(dg.ConfigurableResource):
    """The control-plane job store (SQLite file or PostgreSQL URL); one connection pool per run or tick."""

    url: str
    _store: JobStore | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._store = JobStore(self.url)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._store is not None:
            self._store.dispose()

    def get(self) -> JobStore:
        if self._store is None:  # used outside a run (e.g. directly in a test)
            self._store = JobStore(self.url)
        return self._store


class ControlPlaneResource(dg.ConfigurableResource):
    """The control-plane store (organizations, keys, usage ledger, webhook outbox); one engine per run or tick."""

    url: str
    _engine: sa.Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = open_engine(self.url)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def get(self) -> sa.Engine:
        if self._engine is None:
            self._engine = open_engine(self.url)
        return self._engine


class ArchiveResource(dg.ConfigurableResource):
    """The canonical market-data archive."""

    path: str

    @property
    def dir(self) -> Path:
        return Path(self.path)


def default_resources() -> dict:
    return {
        "warehouse": WarehouseResource(root=env_or_default("BX_WAREHOUSE_DIR", str(warehouse_dir()))),
        "job_store": JobStoreResource(url=env_or_default("BX_JOBSTORE_URL", default_store_url())),
        "control": ControlPlaneResource(url=env_or_default("BX_CONTROL_URL", default_control_url())),
        "archive": ArchiveResource(path=env_or_default("BX_ARCHIVE_DIR", str(default_archive_dir()))),
    }
