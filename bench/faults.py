"""Faults injected on real jobs (issue 9, items 4 and 6): per fault, was the job flagged with its reason, did a
half-written file become visible to a reader, was a row lost from the stores that existed before, was anything
retried, and how long from the fault to the job flagged.

    .venv/bin/python bench/faults.py [--spec data/jobs/01-coinbase-btc-hourly-2018.yaml] [--only kill-bx-run ...]

Each fault runs in a scratch copy of one home where an earlier job already ran (its rows are "the stores that
existed before"), with real `bx` and `dagster-daemon` processes. The PostgreSQL fault uses a scratch database on
127.0.0.1:5432 and never stops the shared server: it refuses new connections to that database and terminates
its backends (pg_terminate_backend), which is what a restart does to a run, then lets connections in again.
The full-disk fault mounts a small tmpfs as the warehouse (root only; skipped otherwise). The tests
(bx_platform_tests/test_faults.py) run these same functions on a smaller job. Figures: docs/faults.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bx_platform.jobs.spec import load_spec  # noqa: E402
from bx_platform.jobs.store import JobStore  # noqa: E402
from bx_platform.paths import REPO_ROOT  # noqa: E402
from bx_platform.warehouse.store import Warehouse  # noqa: E402
from bx_platform_tests.defs.helpers import BX, bx_env, start_group, stop_group, wait_for  # noqa: E402

DEFAULT_SPEC = REPO_ROOT / "data" / "jobs" / "01-coinbase-btc-hourly-2018.yaml"
EARLIER_SPEC = REPO_ROOT / "data" / "jobs" / "02-bitstamp-majors-daily.yaml"
PG_ADMIN_URL = os.environ.get("BX_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
FAULT_PACKAGE = REPO_ROOT / "bx_platform_tests" / "strategies" / "fault_package"
KILL_STEP = "execution_fills"  # the step a worker is killed in (the longest one)
PG_OUTAGE_SECONDS = 5.0  # a quick restart
PG_LONG_OUTAGE_SECONDS = 60.0  # past what Dagster's storage retries and the run's steps wait
DISK_FREE_BYTES = 64 * 1024  # what the full disk leaves: room for a failure document, not for the bars
TERMINAL = ("complete", "partial", "failed")


@dataclass
class FaultReport:
    fault: str
    job_id: str = ""
    state: str = ""
    reason: str = ""
    half_written: list[str] = field(default_factory=list)
    rows_lost: int = 0
    dagster_runs: int = 0
    attempts: int = 1
    repeated_requests: int = 0  # an exchange page asked again after it failed
    seconds_to_flagged: float | None = None
    note: str = ""

    @property
    def flagged(self) -> bool:
        return self.state in ("failed", "partial") and bool(self.reason)

    @property
    def retried(self) -> bool:
        return self.dagster_runs > 1 or self.attempts > 1 or self.repeated_requests > 0


# -- a scratch home ----------------------------------------------------------------------------------------
@dataclass
class Scratch:
    home: Path
    env: dict
    spec: Path

    @property
    def store_url(self) -> str:
        return self.env.get("BX_JOBSTORE_URL") or f"sqlite:///{self.home / 'jobs.sqlite'}"

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.env.get("BX_WAREHOUSE_DIR") or self.home / "warehouse")

    def bx(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([BX, *args], env=self.env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)

    def start(self, *args: str, log: str) -> subprocess.Popen:
        """A long-running `bx` process in its own process group."""
        return start_group([BX, *args], self.env, self.home / log)

    def job_store(self) -> JobStore:
        return JobStore(self.store_url)

    def submit(self, spec: Path | None = None) -> str:
        done = self.bx("submit", str(spec or self.spec))
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


def prepare_base(where: Path, earlier_spec: Path = EARLIER_SPEC) -> Path:
    """A home where one earlier job ran to its end: the stores that exist before each fault."""
    base = where / "base"
    done = subprocess.run([BX, "run", str(earlier_spec)], env=bx_env(base), cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 3), done.stdout + done.stderr
    return base


def scratch_from(base: Path, where: Path, spec: Path, **extra_env: str) -> Scratch:
    """A copy of the base home (its DuckDB views rebuilt for the copy's folder)."""
    home = where / f"home-{uuid.uuid4().hex[:8]}"
    warehouse = Path(extra_env.get("BX_WAREHOUSE_DIR") or home / "warehouse")
    shutil.copytree(base, home, ignore=shutil.ignore_patterns("*.lock", "warehouse"))
    shutil.copytree(base / "warehouse", warehouse, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock"))
    Warehouse(warehouse).create_views()
    return Scratch(home, bx_env(home, **extra_env), spec)


# -- what a reader can see -----------------------------------------------------------------------------------
def readable_rows(warehouse: Warehouse) -> dict[str, int]:
    """Rows of every file a reader can see (table partitions, board snapshots, result documents); -1 for a
    file that cannot be read whole."""
    rows = {}
    for path in sorted((warehouse.root / "tables").rglob("*.parquet")):
        try:
            rows[str(path)] = pl.read_parquet(path).height
        except Exception:  # any reading failure is a half-written file
            rows[str(path)] = -1
    for path in sorted(warehouse.results.glob("*.json")):
        try:
            json.loads(path.read_bytes())
            rows[str(path)] = 1
        except ValueError:
            rows[str(path)] = -1
    return rows


def store_rows(scratch: Scratch) -> dict[str, int]:
    """The visible files' rows and the job store's jobs."""
    jobs = scratch.job_store()
    try:
        listed = {f"job {job.job_id}": 1 for job in jobs.list_jobs(limit=10_000)}
    finally:
        jobs.dispose()
    return {**readable_rows(scratch.warehouse), **listed}


def rows_lost(before: dict[str, int], after: dict[str, int]) -> int:
    return sum(max(0, count - max(after.get(name, 0), 0)) for name, count in before.items())


def dagster_runs(scratch: Scratch, job_id: str) -> int:
    """Runs of the job's partition in the Dagster instance (more than one would be a retry)."""
    url = scratch.env.get("DAGSTER_PG_URL") or f"sqlite:///{scratch.home / 'dagster' / 'history' / 'runs.db'}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT count(DISTINCT run_id) FROM run_tags WHERE key = 'dagster/partition' AND value = :job")
            return conn.execute(query, {"job": job_id}).scalar()
    except sa.exc.OperationalError:  # no instance yet: no run
        return 0
    finally:
        engine.dispose()


def lease_of(scratch: Scratch, job_id: str):
    jobs = scratch.job_store()
    try:
        return next((lease for stored, lease in jobs.claims() if stored.job_id == job_id), None)
    finally:
        jobs.dispose()


def wait_for_step(scratch: Scratch, job_id: str, process: subprocess.Popen, step: str = KILL_STEP, timeout: float = 600):
    """The job's lease once its run is in `step`."""
    def in_step():
        if process.poll() is not None:
            raise RuntimeError(f"the process ended before step {step}: {(scratch.home / 'run.log').read_text()[-2000:] if (scratch.home / 'run.log').exists() else ''}")
        lease = lease_of(scratch, job_id)
        return lease if lease and lease.step == step else None

    return wait_for(in_step, timeout, interval=0.02, what=f"{job_id} to reach {step}")


def conclude(scratch: Scratch, fault: str, job_id: str, before: dict[str, int], injected_at: float, flagged_at: float | None) -> FaultReport:
    """The report of one fault, from the stores as a reader finds them now."""
    jobs = scratch.job_store()
    try:
        stored = jobs.get(job_id)
        attempts = sum(1 for job in jobs.list_jobs(limit=10_000) if job.record.get("attempt", {}).get("of") == job_id) + 1
    finally:
        jobs.dispose()
    after = store_rows(scratch)
    return FaultReport(
        fault=fault, job_id=job_id, state=stored.state, reason=job_reason(scratch.warehouse, job_id),
        half_written=[name for name, count in after.items() if count < 0], rows_lost=rows_lost(before, after),
        dagster_runs=dagster_runs(scratch, job_id), attempts=attempts,
        seconds_to_flagged=None if flagged_at is None else flagged_at - injected_at,
    )


def job_reason(warehouse: Warehouse, job_id: str) -> str:
    """What the result document says ended the job: the failure's reason, or the flags of a partial job."""
    document = warehouse.read_result(job_id)
    if document is None:
        return ""
    if document["status"] == "failed":
        return f"{document['failure']['stage']}: {document['failure']['reason']}"
    return "; ".join(f"{s['strategy']}: {flag}" for s in document.get("strategies", []) for flag in s["flags"])


def flagged_time(scratch: Scratch, job_id: str, timeout: float) -> float:
    """The moment the job store shows the job ended (polled)."""
    def ended():
        jobs = scratch.job_store()
        try:
            stored = jobs.get(job_id)
        finally:
            jobs.dispose()
        return stored is not None and stored.state in TERMINAL

    wait_for(ended, timeout, interval=0.1, what=f"{job_id} to be flagged")
    return time.monotonic()


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


# -- the faults ----------------------------------------------------------------------------------------------
def kill_bx_run(base: Path, where: Path, spec: Path) -> FaultReport:
    """kill -9 of `bx run` in the middle of its run; then the next check (`bx recover`; `bx jobs`, `bx result`,
    `bx run` and the daemon's sensor do the same) ends the job."""
    scratch = scratch_from(base, where, spec)
    before = store_rows(scratch)
    job_id = scratch.submit()
    run = scratch.start("run", str(spec), log="run.log")
    wait_for_step(scratch, job_id, run)
    injected = time.monotonic()
    kill_group(run)
    recovered = scratch.bx("recover")
    assert recovered.returncode == 0, recovered.stderr
    return conclude(scratch, "kill -9 of `bx run`", job_id, before, injected, flagged_time(scratch, job_id, 60))


def kill_daemon(base: Path, where: Path, spec: Path) -> FaultReport:
    """kill -9 of the Dagster daemon and of the run worker it launched, mid-run; the daemon is restarted and its
    sensor ends the job on its first tick."""
    scratch = scratch_from(base, where, spec)
    before = store_rows(scratch)
    job_id = scratch.submit()
    daemon = scratch.start("daemon", log="daemon.log")
    try:
        lease = wait_for_step(scratch, job_id, daemon)
        injected = time.monotonic()
        os.kill(lease.pid, signal.SIGKILL)  # the run worker (it may live outside the daemon's process group)
        kill_group(daemon)
        daemon = scratch.start("daemon", log="daemon-restarted.log")
        flagged_at = flagged_time(scratch, job_id, 300)
        time.sleep(15)  # three more sensor ticks: the job must not be launched again
    finally:
        stop_group(daemon)
    return conclude(scratch, "kill -9 of the daemon and its run worker", job_id, before, injected, flagged_at)


def postgres_restart(base: Path, where: Path, spec: Path, outage: float = PG_OUTAGE_SECONDS) -> FaultReport:
    """The job store, the Dagster instance and the control plane on a scratch PostgreSQL database whose
    connections are all cut mid-run, and refused for `outage` seconds, as a server restart does."""
    name = f"bx_faults_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        scratch = scratch_from(
            base, where, spec, BX_JOBSTORE_URL=url, BX_CONTROL_URL=url, DAGSTER_PG_URL=url,
            DAGSTER_HOME=str(where / f"dagster-{name}"),
        )
        Path(scratch.env["DAGSTER_HOME"]).mkdir()
        (Path(scratch.env["DAGSTER_HOME"]) / "dagster.yaml").write_text((REPO_ROOT / "deploy" / "postgres" / "dagster.yaml").read_text())
        scratch.submit(EARLIER_SPEC)  # a row the database held before the fault
        before = store_rows(scratch)
        job_id = scratch.submit()
        run = scratch.start("run", str(spec), log="run.log")
        wait_for_step(scratch, job_id, run)
        injected = time.monotonic()
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            time.sleep(outage)
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        run.wait(timeout=600)
        recovered = scratch.bx("recover")
        assert recovered.returncode == 0, recovered.stderr
        report = conclude(scratch, f"PostgreSQL restart (connections cut, refused {outage:.0f} s)", job_id, before, injected, flagged_time(scratch, job_id, 60))
        report.note = f"bx run exit {run.returncode}" + ("; the run rode through the outage: its normal result" if report.state != "failed" else "")
        return report
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def full_disk(base: Path, where: Path, spec: Path) -> FaultReport:
    """The warehouse on a small tmpfs left with DISK_FREE_BYTES free: the run's first large write (the job's
    bars) fails with ENOSPC."""
    mount = where / f"disk-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    size = sum(p.stat().st_size for p in (base / "warehouse").rglob("*") if p.is_file()) + 16 * 2**20
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        scratch = scratch_from(base, where, spec, BX_WAREHOUSE_DIR=str(mount))
        scratch.warehouse.ensure()
        before = store_rows(scratch)
        job_id = scratch.submit()
        free = shutil.disk_usage(mount).free
        with open(mount / "filler", "wb") as filler:
            filler.write(b"\0" * max(0, free - DISK_FREE_BYTES))
        injected = time.monotonic()
        done = scratch.bx("run", str(spec))
        report = conclude(scratch, "full disk during a write", job_id, before, injected, flagged_time(scratch, job_id, 60))
        report.note = f"bx run exit {done.returncode}; leftovers in _incoming: {len([f for f in (mount / '_incoming').iterdir() if f.name != 'reserve'])}"
        return report
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def corrupt_archive(base: Path, where: Path, spec: Path) -> FaultReport:
    """One byte of the job's archive file flipped after the job was submitted (a disk error, an edit)."""
    archive = where / f"archive-{uuid.uuid4().hex[:8]}"
    shutil.copytree(REPO_ROOT / "data" / "archive", archive)
    scratch = scratch_from(base, where, spec, BX_ARCHIVE_DIR=str(archive))
    before = store_rows(scratch)
    job_id = scratch.submit()
    market = load_spec(str(spec)).markets[0]
    manifest = json.loads((archive / "manifest.json").read_text())
    [dataset] = [d["path"] for d in manifest["datasets"].values() if d["venue"] == market.venue and d["symbol"] == market.symbol and d["timeframe"] == load_spec(str(spec)).timeframe]
    target = archive / dataset
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    injected = time.monotonic()
    done = scratch.bx("run", str(spec))
    report = conclude(scratch, "corrupted archive file", job_id, before, injected, flagged_time(scratch, job_id, 60))
    report.note = f"bx run exit {done.returncode}"
    return report


def strategy_crash(base: Path, where: Path, spec: Path) -> FaultReport:
    """A package strategy whose sandboxed process dies (`os._exit(3)`) at its first decision."""
    install_fault_package()
    scratch = scratch_from(base, where, spec)
    organization = load_spec(str(spec)).organization
    handle = f"{organization}/crashes"
    registered = scratch.bx("strategy", "register", handle, "--organization", organization, "--package", "fault-exits")
    assert registered.returncode == 0, registered.stderr
    crashing = where / f"crash-{uuid.uuid4().hex[:8]}.json"
    spec_data = json.loads(json.dumps(load_spec(str(spec)).model_dump(mode="json")))
    crashing.write_text(json.dumps({**spec_data, "strategies": [*spec_data["strategies"][:2], handle]}))
    before = store_rows(scratch)
    injected = time.monotonic()
    done = scratch.bx("run", str(crashing))
    job_id = done.stdout.strip().splitlines()[-1].split(":")[0]
    report = conclude(scratch, "strategy process crash", job_id, before, injected, flagged_time(scratch, job_id, 60))
    report.note = f"bx run exit {done.returncode}; time is the whole run"
    return report


def install_fault_package() -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution("bx-fault-strategies")
    except PackageNotFoundError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", str(FAULT_PACKAGE)], check=True)


def ccxt_adapter_error(base: Path, where: Path, spec: Path) -> FaultReport:
    """An exchange that fails on the second page of a fetch (recorded answers, no network). Jobs never call an
    exchange (they run on the pinned archive), so this fault can only meet a fetch: it must raise, hand back
    no partial frame and not call again."""
    from datetime import datetime, timezone

    import ccxt

    from bx_platform.market.ccxt_source import CcxtSource
    from bx_platform.market.importers import default_source_dir
    from bx_platform.market.replay import RecordedTransport, load_json, offline_binance

    hour = 3_600_000
    start = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
    pages: list[dict] = []

    def klines(query: dict) -> list:
        pages.append(query)
        if len(pages) == 2:
            raise ccxt.ExchangeNotAvailable("binance GET /api/v3/klines 503 Service Unavailable")
        since = int(query["startTime"])
        return [[since + i * hour, 1.0, 1.0, 1.0, 1.0, 1.0] for i in range(int(query.get("limit", 3)))]

    markets = load_json(default_source_dir() / "ccxt" / "binance_markets.json")
    transport = RecordedTransport().add("https://api.binance.com/api/v3/klines", klines)
    source = CcxtSource(offline_binance(markets, transport), limit=3)
    injected = time.monotonic()
    try:
        source.fetch_bars("BTC/USDT", "1h", datetime.fromtimestamp(start / 1000, timezone.utc), datetime.fromtimestamp((start + 10 * hour) / 1000, timezone.utc))
        reason = ""
    except ccxt.BaseError as error:
        reason = f"{type(error).__name__}: {error}"
    return FaultReport(
        fault="ccxt adapter error (during a fetch)", state="failed" if reason else "complete", reason=reason,
        repeated_requests=len(pages) - 2,  # the failing page is the second one asked for
        seconds_to_flagged=time.monotonic() - injected, note="no job involved: jobs read the pinned archive",
    )


FAULTS = {
    "kill-bx-run": kill_bx_run,
    "kill-daemon": kill_daemon,
    "postgres-restart": postgres_restart,
    "postgres-long-outage": lambda base, where, spec: postgres_restart(base, where, spec, PG_LONG_OUTAGE_SECONDS),
    "full-disk": full_disk,
    "corrupt-archive": corrupt_archive,
    "ccxt-error": ccxt_adapter_error,
    "strategy-crash": strategy_crash,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=str(DEFAULT_SPEC), help="the job each fault is injected on")
    parser.add_argument("--only", nargs="*", choices=list(FAULTS), help="these faults only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bx-faults-") as scratch_dir:
        where = Path(scratch_dir)
        base = prepare_base(where)
        print(f"{'fault':<52} {'flagged':<8} {'half-written':<13} {'rows lost':<10} {'retried':<8} {'to flagged':<11} reason")
        for name in args.only or FAULTS:
            if name == "full-disk" and not can_mount():
                print(f"{name:<52} skipped: mounting a small tmpfs needs root")
                continue
            report = FAULTS[name](base, where, Path(args.spec))
            seconds = f"{report.seconds_to_flagged:.1f} s" if report.seconds_to_flagged is not None else "-"
            print(
                f"{report.fault:<52} {'yes' if report.flagged else 'NO':<8} {'NO' if not report.half_written else 'YES':<13} "
                f"{report.rows_lost:<10} {'YES' if report.retried else 'no':<8} {seconds:<11} {report.state}: {report.reason}"
                + (f"  [{report.note}]" if report.note else ""),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
