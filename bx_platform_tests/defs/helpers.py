"""Running jobs in tests: the real Dagster definitions, materialized in-process on a given instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl

from bx_platform.control.store import open_engine
from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.defs.claims import CLAIMANT_TAG
from bx_platform.defs.partitions import benchmark_jobs
from bx_platform.defs.resources import ArchiveResource, ControlPlaneResource, JobStoreResource, WarehouseResource
from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.market.archive import default_archive_dir, sha256_file
from bx_platform.pipeline.admission import submit
from bx_platform.paths import REPO_ROOT

BX = str(Path(sys.executable).parent / "bx")
TEST_CLAIMANT = "test"
COINBASE_BTC_1H = "coinbase/BTC-USD/1h.parquet"  # the dataset of SMALL_JOB

SMALL_JOB = {
    "organization": "acme",
    "name": "coinbase-btc-2018-q1",
    "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
    "window": {"start": "2018-01-01", "end": "2018-04-01"},
    "timeframe": "1h",
    "strategies": ["bx/sma-trend", "bx/momentum"],
    "sessions": 3,
}


def default_control_url_beside(warehouse_root: Path) -> str:
    """A test's control plane: a SQLite file beside its warehouse."""
    Path(warehouse_root).parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(warehouse_root).parent / 'control.sqlite'}"


def job_resources(store_url: str, warehouse_root: Path, archive_dir: Path | None = None, control_url: str | None = None) -> dict:
    """The stores of a test's jobs; the control plane defaults to a SQLite file beside the warehouse."""
    return {
        "warehouse": WarehouseResource(root=str(warehouse_root)),
        "job_store": JobStoreResource(url=store_url),
        "control": ControlPlaneResource(url=control_url or default_control_url_beside(warehouse_root)),
        "archive": ArchiveResource(path=str(archive_dir or default_archive_dir())),
    }


def materialize_job(
    spec_data: dict, store_url: str, warehouse_root: Path, instance, archive_dir: Path | None = None, control_url: str | None = None
):
    """Submit, claim and materialize one job partition; returns (job_id, ExecuteInProcessResult)."""
    spec = parse_spec(spec_data)
    store, control = JobStore(store_url), open_engine(control_url or default_control_url_beside(warehouse_root))
    record, _ = submit(spec, store, archive_dir, control)
    store.dispose()
    control.dispose()
    return record["job_id"], materialize_submitted(record["job_id"], store_url, warehouse_root, instance, archive_dir, control_url)


def materialize_submitted(
    job_id: str, store_url: str, warehouse_root: Path, instance, archive_dir: Path | None = None, control_url: str | None = None
):
    """Claim a submitted job and materialize its partition; returns the ExecuteInProcessResult."""
    store = JobStore(store_url)
    assert store.claim(job_id, TEST_CLAIMANT)
    store.dispose()
    instance.add_dynamic_partitions(benchmark_jobs.name, [job_id])
    return dg.materialize(
        [*benchmark_assets, *benchmark_checks],
        partition_key=job_id,
        instance=instance,
        resources=job_resources(store_url, warehouse_root, archive_dir, control_url),
        raise_on_error=False,
        tags={CLAIMANT_TAG: TEST_CLAIMANT},
    )


def doctored_archive(tmp_path: Path, dataset: str, closes: dict) -> Path:
    """A copy of the archive's manifest and one dataset (a path inside the archive) where the bars opening at
    the given times have the given closes; the manifest carries the doctored file's hash, so the job is
    admitted and only the quality gate can catch it."""
    archive = tmp_path / "archive"
    (archive / dataset).parent.mkdir(parents=True)
    bars = pl.read_parquet(default_archive_dir() / dataset)
    for ts, close in closes.items():
        bars = bars.with_columns(close=pl.when(pl.col("ts") == ts).then(close).otherwise(pl.col("close")))
    bars.write_parquet(archive / dataset)
    manifest = json.loads((default_archive_dir() / "manifest.json").read_text())
    for entry in manifest["datasets"].values():
        if entry["path"] == dataset:
            entry["sha256"] = sha256_file(archive / dataset)
    (archive / "manifest.json").write_text(json.dumps(manifest))
    return archive


def bx_env(home: Path, **extra: str) -> dict:
    """Environment for a `bx` subprocess with its own state under `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "BX_"))}
    env.update({"BX_HOME": str(home), **extra})
    return env


def start_group(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a long-running process in its own process group (dagster ignores signals otherwise)."""
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
