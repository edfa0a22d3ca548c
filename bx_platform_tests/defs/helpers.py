"""Running jobs in tests: the real Dagster definitions, materialized in-process on a given instance."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.defs.claims import CLAIMANT_TAG
from bx_platform.defs.partitions import benchmark_jobs
from bx_platform.defs.resources import ArchiveResource, JobStoreResource, WarehouseResource
from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import submit
from bx_platform.market.archive import default_archive_dir
from bx_platform.paths import REPO_ROOT

BX = str(Path(sys.executable).parent / "bx")
TEST_CLAIMANT = "test"

SMALL_JOB = {
    "organization": "acme",
    "name": "coinbase-btc-2018-q1",
    "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
    "window": {"start": "2018-01-01", "end": "2018-04-01"},
    "timeframe": "1h",
    "strategies": ["bx/sma-trend", "bx/momentum"],
    "sessions": 3,
}


def job_resources(store_url: str, warehouse_root: Path, archive_dir: Path | None = None) -> dict:
    return {
        "warehouse": WarehouseResource(root=str(warehouse_root)),
        "job_store": JobStoreResource(url=store_url),
        "archive": ArchiveResource(path=str(archive_dir or default_archive_dir())),
    }


def materialize_job(spec_data: dict, store_url: str, warehouse_root: Path, instance, archive_dir: Path | None = None):
    """Submit, claim and materialize one job partition; returns (job_id, ExecuteInProcessResult)."""
    spec = parse_spec(spec_data)
    store = JobStore(store_url)
    record, _ = submit(spec, store, archive_dir)
    assert store.claim(record["job_id"], TEST_CLAIMANT)
    store.dispose()
    instance.add_dynamic_partitions(benchmark_jobs.name, [record["job_id"]])
    result = dg.materialize(
        [*benchmark_assets, *benchmark_checks],
        partition_key=record["job_id"],
        instance=instance,
        resources=job_resources(store_url, warehouse_root, archive_dir),
        raise_on_error=False,
        tags={CLAIMANT_TAG: TEST_CLAIMANT},
    )
    return record["job_id"], result


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
