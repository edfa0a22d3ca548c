"""The analytical store: immutable Parquet partitions per job and zone, read through DuckDB views.

Runs never open the DuckDB file. Each run writes whole Parquet files outside the globbed folders and moves
them in with an atomic rename, so a reader sees a partition completely or not at all. The DuckDB file only
holds views over the folders: analysts open it read-only while any number of runs write. Measured and
explained in docs/warehouse.md; the schema is in sql/schema.sql.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import polars as pl

from bx_platform.errors import StoredDataError
from bx_platform.paths import REPO_ROOT, warehouse_dir
from bx_platform.warehouse.schema import TABLES

ZONES = ("staged", "verified", "quarantine")
# Space kept in reserve (a file of zeros in `_incoming`), given up only to a job's terminal writes (its outcome
# row and failure document) when they meet a full disk, so that a job that failed on a full disk still says why.
RESERVE_BYTES = 1 << 20
SCHEMA_SQL = REPO_ROOT / "sql" / "schema.sql"
# What the public analyst store holds: these views of sql/schema.sql, materialized as tables (docs/warehouse.md).
PUBLIC_TABLES = (
    "public_jobs", "public_scores", "public_room_leaderboard", "public_leaderboard", "public_contest_standings",
    "public_metrics", "public_league_standings",
)


class Warehouse:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root else warehouse_dir()
        self.incoming = self.root / "_incoming"
        self.results = self.root / "results"
        self.reports = self.root / "reports"
        self.reserve = self.incoming / "reserve"
        self.duckdb_path = self.root / "bx.duckdb"
        self.public_path = self.root / "public" / "bx-public.duckdb"

    # -- layout ---------------------------------------------------------------------------------------
    def table_dir(self, zone: str, table: str) -> Path:
        return self.root / "tables" / zone / table

    def partition_path(self, zone: str, table: str, job_id: str) -> Path:
        return self.table_dir(zone, table) / f"{job_id}.parquet"

    def ensure(self) -> "Warehouse":
        """Create the folders, an empty schema file per table and zone, and the DuckDB file of views."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        self.results.mkdir(parents=True, exist_ok=True)
        for zone in ZONES:
            for table, schema in TABLES.items():
                folder = self.table_dir(zone, table)
                folder.mkdir(parents=True, exist_ok=True)
                marker = folder / "_schema.parquet"
                if not marker.exists():
                    self._atomic_parquet(pl.DataFrame(schema=schema), marker)
        if not self.duckdb_path.exists():
            self.create_views()
        if not self.reserve.exists():
            self._keep_reserve()
        return self

    def _keep_reserve(self) -> None:
        try:
            self._atomic_write(self.reserve, ".reserve", lambda tmp: tmp.write_bytes(bytes(RESERVE_BYTES)))
        except OSError:  # no room for it now; the next `ensure` tries again
            pass

    def create_views(self) -> None:
        """(Re)build the DuckDB file of views and swap it in; readers holding the old file keep it."""
        sql = SCHEMA_SQL.read_text().replace("{{root}}", str(self.root))

        def write(tmp: Path) -> None:
            with duckdb.connect(str(tmp)) as conn:
                conn.execute(sql)

        self._atomic_write(self.duckdb_path, ".duckdb", write)

    # -- writing ---------------------------------------------------------------------------------------
    def _atomic_parquet(self, frame: pl.DataFrame, target: Path, may_use_reserve: bool = False) -> None:
        write = lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=True)  # noqa: E731
        self._atomic_write(target, ".parquet", write, may_use_reserve)

    def _atomic_write(self, target: Path, suffix: str, write, may_use_reserve: bool = False) -> None:
        """Write a file in `_incoming` and move it in with one rename, so a reader sees all of it or nothing; a
        write that fails (a full disk) leaves nothing behind, not even its partial file in `_incoming`. A
        terminal write (`may_use_reserve`) that meets a full disk is given the reserve."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        tmp = self.incoming / f"{uuid.uuid4().hex}{suffix}"
        try:
            write(tmp)
            os.replace(tmp, target)
        except (OSError, pl.exceptions.PolarsError) as error:
            tmp.unlink(missing_ok=True)
            if not (may_use_reserve and _disk_full(error) and self.reserve.exists()):
                raise
            self.reserve.unlink()
            self._atomic_write(target, suffix, write)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def write(self, zone: str, table: str, job_id: str, frame: pl.DataFrame, may_use_reserve: bool = False) -> Path:
        """Write one job's partition of a table, cast to the table's schema, atomically."""
        target = self.partition_path(zone, table, job_id)
        self._atomic_parquet(_conform(table, frame), target, may_use_reserve)
        return target

    def read(self, zone: str, table: str, job_id: str) -> pl.DataFrame:
        return _read_parquet(self.partition_path(zone, table, job_id))

    def exists(self, zone: str, table: str, job_id: str) -> bool:
        return self.partition_path(zone, table, job_id).exists()

    def move(self, table: str, job_id: str, source: str, target: str) -> Path:
        """Move a partition between zones with one rename, then drop any copy an earlier run of the job left
        in a third zone: a partition is in exactly one zone."""
        destination = self.partition_path(target, table, job_id)
        os.replace(self.partition_path(source, table, job_id), destination)
        for zone in set(ZONES) - {source, target}:
            self.partition_path(zone, table, job_id).unlink(missing_ok=True)
        return destination

    def write_text(self, text: str, target: Path, may_use_reserve: bool = False) -> Path:
        """Write a whole text file by rename: a reader sees the previous version or the new one, never a part."""
        target.parent.mkdir(parents=True, exist_ok=True)
        self._atomic_write(target, target.suffix, lambda tmp: tmp.write_text(text, encoding="utf-8"), may_use_reserve)
        return target

    def write_result(self, job_id: str, document: dict, may_use_reserve: bool = False) -> Path:
        text = json.dumps(document, sort_keys=True, indent=2, allow_nan=False) + "\n"
        return self.write_text(text, self.results / f"{job_id}.json", may_use_reserve)

    def report_path(self, job_id: str) -> Path:
        return self.reports / f"{job_id}.html"

    def write_report(self, job_id: str, html: str) -> Path:
        """A job's HTML report (docs/reports.md), replaced whole."""
        return self.write_text(html, self.report_path(job_id))

    def read_result(self, job_id: str) -> dict | None:
        path = self.results / f"{job_id}.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StoredDataError(str(path), f"unreadable result document ({exc})") from None

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """A cross-process lock, for read-modify-write of shared snapshots such as the leaderboard."""
        lock_path = self.root / f"{name}.lock"
        with open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write_snapshot(self, table: str, frame: pl.DataFrame) -> Path:
        """Publish a new version of a whole-store table (call under `exclusive`).

        Never overwrites a file a reader may have open (DuckDB opens a Parquet file more than once per query,
        and would mix the old file's metadata with the new one's bytes): each version is a new file,
        `snapshot-<n>.parquet`, and the view reads the newest. Old versions are kept: deleting one could fail
        a query that has just listed it (compacting them is an offline maintenance task)."""
        versions = self._snapshots(table)
        number = int(versions[-1].stem.split("-")[1]) + 1 if versions else 1
        target = self.table_dir("verified", table) / f"snapshot-{number:012d}.parquet"
        self._atomic_parquet(_conform(table, frame), target)
        return target

    def read_snapshot(self, table: str) -> pl.DataFrame:
        """The newest published version of a whole-store table, read from its Parquet file: no DuckDB, so no
        lock, whoever holds the DuckDB file. Empty (with the table's columns) before the first publication."""
        versions = self._snapshots(table)
        return _read_parquet(versions[-1]) if versions else pl.DataFrame(schema=TABLES[table])

    def _snapshots(self, table: str) -> list[Path]:
        """The published versions of a whole-store table, oldest first."""
        return sorted(self.table_dir("verified", table).glob("snapshot-*.parquet"))

    def read_verified(self, table: str) -> pl.DataFrame:
        """Every verified partition of a table (the schema file makes an empty table well-typed)."""
        folder = self.table_dir("verified", table)
        try:
            return pl.read_parquet(folder / "*.parquet")
        except (pl.exceptions.PolarsError, OSError) as exc:
            for path in sorted(folder.glob("*.parquet")):  # name the file at fault
                _read_parquet(path)
            raise StoredDataError(str(folder), f"its partitions cannot be read together ({_first_line(exc)})") from None

    def connect_readonly(self) -> duckdb.DuckDBPyConnection:
        """The internal operator store: views over every verified partition, private ones included."""
        return duckdb.connect(str(self.duckdb_path), read_only=True)

    # -- the public analyst store ---------------------------------------------------------------------
    def publish_public_store(self) -> Path:
        """Rebuild the public analyst store (call under `exclusive("leaderboard")`): a DuckDB file that
        physically holds the public views as tables and nothing else (no view, no path to any partition), swapped
        in by one rename, so readers holding the previous file keep it."""
        self.public_path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            with duckdb.connect() as source, duckdb.connect(str(tmp)) as target:
                source.execute(SCHEMA_SQL.read_text().replace("{{root}}", str(self.root)))
                for name in PUBLIC_TABLES:
                    target.register("rows", source.execute(f"SELECT * FROM {name}").pl())
                    target.execute(f"CREATE TABLE {name} AS SELECT * FROM rows")
                    target.unregister("rows")

        self._atomic_write(self.public_path, ".duckdb", write)
        return self.public_path

    def connect_public(self) -> duckdb.DuckDBPyConnection:
        """The public analyst store, read-only and with no access to files outside it (`read_parquet` of any
        path is refused), as analysts outside the operator team get it."""
        if not self.public_path.exists():
            with self.exclusive("leaderboard"):
                self.publish_public_store()
        return duckdb.connect(str(self.public_path), read_only=True, config={"enable_external_access": False})


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except FileNotFoundError:
        raise StoredDataError(str(path), "missing") from None
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise StoredDataError(str(path), f"not a readable Parquet file ({_first_line(exc)})") from None


def _disk_full(error: Exception) -> bool:
    """ENOSPC, also from Polars, whose errors carry the code only in their text."""
    return getattr(error, "errno", None) == errno.ENOSPC or "(os error 28)" in str(error)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The table's columns, in its order and types (sql/schema.sql reads them by name)."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in TABLES[table].items()])
