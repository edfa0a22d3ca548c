"""Concurrency of the analytical store (bx_platform/warehouse/store.py), measured with real processes.

Run: ``.venv/bin/python bench/warehouse.py [--partitions N] [--seconds S]``  (about a minute on 2 cores)

Everything happens in a temporary warehouse root (local files only, deleted at the end); every loop is bounded.

1. Store under load: W writer processes (default 2) each write N partitions (default 200) of the `equity` table
   (3 strategies x 3,000 bars = 9,000 rows a partition) through ``Warehouse.write(...)`` while R reader processes
   (default 2) loop: open ``bx.duckdb`` read-only, ``count(*)`` and a GROUP BY aggregate over the `equity` view,
   close. Every error is counted by kind; a read whose row count is not a whole number of partitions is a torn
   read; a count going down is a lost partition. At the end every partition must be visible.
2. Contrast, the naive design (a few seconds): one DuckDB file that the writers open read-write to insert each
   partition, while the readers try to open it read-only. Lock errors are counted on both sides.
3. ``Warehouse.move()`` (promotion staged -> verified), timed per partition, while a reader queries the verified
   view (must see no error) and, separately, the staged view (whose files disappear under it). Then re-runs:
   partitions already in one zone are staged again and promoted to the other zone; each must end in exactly
   one zone (``move`` drops the third copy) while a reader queries the verified view.
4. Leaderboard: two processes each doing 50 lock / read newest snapshot / append / publish cycles through
   ``Warehouse.exclusive("leaderboard")`` and ``write_snapshot`` (a new ``snapshot-<n>.parquet`` each time); no
   update may be lost. Meanwhile a third process reads the ``leaderboard`` VIEW through DuckDB read-only (and
   ``Warehouse.read_snapshot``) without the lock: 0 errors, never an empty board, row count never going down.
   The same cycles without the lock are run for contrast.
5. ``Warehouse.create_views()`` (``bx warehouse init --recreate-views``) repeated while a reader queries: the new
   DuckDB file is swapped in with os.replace; readers must see no error.

Exit status is 0 when every must-be-zero count is 0 and every partition is visible, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STRATEGIES = ("hold", "momentum", "mean_reversion")
BARS = 3_000
ROWS_PER_PARTITION = len(STRATEGIES) * BARS


# -- data ---------------------------------------------------------------------------------------------------
def equity_frame(job_id: str, seed: int):
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    ts = start + np.arange(BARS) * np.timedelta64(3600, "s")
    parts = []
    for strategy in STRATEGIES:
        equity = 10_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, BARS)))
        parts.append(
            pl.DataFrame(
                {
                    "job_id": job_id,
                    "organization": "org-bench",
                    "strategy": strategy,
                    "ts": pl.Series(ts).dt.replace_time_zone("UTC"),
                    "equity": equity,
                    "gross_exposure": rng.uniform(0.0, 1.0, BARS),
                    "net_exposure": rng.uniform(-1.0, 1.0, BARS),
                    "max_position_weight": rng.uniform(0.0, 0.5, BARS),
                }
            )
        )
    return pl.concat(parts)


def error_kind(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = re.sub(r'"[^"]*/([^"/]*)"', r'"…/\1"', text)  # shorten paths to their file name
    text = re.sub(r"job-[\w-]+", "<job>", text)
    if "lock" in text.lower():
        text = "Could not set lock on file (conflicting lock held)"
    return f"{type(exc).__name__}: {text[:90]}"


# -- phase 1: store under load ------------------------------------------------------------------------------
def writer(root: str, index: int, partitions: int, deadline: float, results) -> None:
    import polars as pl

    from bx_platform.warehouse.store import Warehouse

    store = Warehouse(root)
    base = equity_frame("x", seed=index)
    errors: Counter = Counter()
    written, size, seconds = 0, 0, 0.0
    for i in range(partitions):
        if time.time() > deadline:
            break
        job_id = f"job-w{index}-{i:05d}"
        frame = base.with_columns(job_id=pl.lit(job_id))
        t0 = time.perf_counter()
        try:
            path = store.write("verified", "equity", job_id, frame)
            written += 1
            size += path.stat().st_size
        except Exception as exc:  # counted, must stay 0
            errors[error_kind(exc)] += 1
        seconds += time.perf_counter() - t0
    results.put(("writer", index, {"written": written, "bytes": size, "seconds": seconds, "errors": dict(errors)}))


def reader(root: str, index: int, view: str, stop, deadline: float, results) -> None:
    import duckdb

    path = str(Path(root) / "bx.duckdb")
    errors: Counter = Counter()
    latencies: list[float] = []
    torn = regressions = 0
    last = 0
    started = time.perf_counter()
    while not stop.is_set() and time.time() < deadline:
        t0 = time.perf_counter()
        try:
            with duckdb.connect(path, read_only=True) as conn:
                (rows,) = conn.execute(f"SELECT count(*) FROM {view}").fetchall()[0]
                conn.execute(
                    f"SELECT strategy, count(*), avg(equity), max(gross_exposure), min(ts), max(ts) "
                    f"FROM {view} GROUP BY strategy"
                ).fetchall()
            latencies.append(time.perf_counter() - t0)
            if rows % ROWS_PER_PARTITION:
                torn += 1
            if view.startswith(("equity", "verified")) and rows < last:
                regressions += 1
            last = rows
        except Exception as exc:
            errors[error_kind(exc)] += 1
            latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    results.put(
        (
            "reader",
            index,
            {
                "reads": len(latencies) - sum(errors.values()),
                "elapsed": elapsed,
                "latencies": latencies,
                "errors": dict(errors),
                "torn": torn,
                "regressions": regressions,
                "last_rows": last,
            },
        )
    )


def collect(results, expected: int) -> list[tuple]:
    return [results.get(timeout=600) for _ in range(expected)]


def run_store_under_load(ctx, root: Path, args) -> dict:
    from bx_platform.warehouse.store import Warehouse

    Warehouse(root).ensure()
    results, stop = ctx.Queue(), ctx.Event()
    deadline = time.time() + args.seconds
    readers = [ctx.Process(target=reader, args=(str(root), i, "equity", stop, deadline + 5, results)) for i in range(args.readers)]
    writers = [ctx.Process(target=writer, args=(str(root), i, args.partitions, deadline, results)) for i in range(args.writers)]
    for p in readers:
        p.start()
    time.sleep(1.5)  # let the readers import duckdb and start looping before the writers begin
    t0 = time.perf_counter()
    for p in writers:
        p.start()
    out = collect(results, args.writers)
    wall = time.perf_counter() - t0
    for p in writers:
        p.join()
    time.sleep(0.3)  # a few reads after the last write
    stop.set()
    out += collect(results, args.readers)
    for p in readers:
        p.join()

    import duckdb

    with duckdb.connect(str(root / "bx.duckdb"), read_only=True) as conn:
        jobs, rows = conn.execute("SELECT count(DISTINCT job_id), count(*) FROM equity").fetchall()[0]
    at_rest = []
    for _ in range(5):  # the same read as the readers', with no writer running
        t0 = time.perf_counter()
        with duckdb.connect(str(root / "bx.duckdb"), read_only=True) as conn:
            conn.execute("SELECT count(*) FROM equity").fetchall()
            conn.execute("SELECT strategy, count(*), avg(equity), max(gross_exposure), min(ts), max(ts) FROM equity GROUP BY strategy").fetchall()
        at_rest.append(time.perf_counter() - t0)
    return {
        "at_rest": statistics.median(at_rest),
        "writers": {i: r for kind, i, r in out if kind == "writer"},
        "readers": {i: r for kind, i, r in out if kind == "reader"},
        "wall": wall,
        "visible_jobs": jobs,
        "visible_rows": rows,
        "leftover_incoming": len(list((root / "_incoming").iterdir())),
    }


# -- phase 2: the naive design ------------------------------------------------------------------------------
def naive_writer(db: str, index: int, seconds: float, barrier, results) -> None:
    import duckdb
    import polars as pl

    frame = equity_frame("x", seed=index)
    barrier.wait()
    deadline = time.time() + seconds
    errors: Counter = Counter()
    inserted = 0
    i = 0
    while time.time() < deadline:
        part = frame.with_columns(job_id=pl.lit(f"job-w{index}-{i:05d}"))
        try:
            with duckdb.connect(db) as conn:
                conn.register("part", part)
                conn.execute("INSERT INTO equity SELECT * FROM part")
            inserted += 1
            i += 1
        except Exception as exc:
            errors[error_kind(exc)] += 1
            time.sleep(0.005)
    results.put(("writer", index, {"inserted": inserted, "errors": dict(errors)}))


def naive_reader(db: str, index: int, seconds: float, barrier, results) -> None:
    import duckdb

    barrier.wait()
    deadline = time.time() + seconds
    errors: Counter = Counter()
    reads = 0
    while time.time() < deadline:
        try:
            with duckdb.connect(db, read_only=True) as conn:
                conn.execute("SELECT count(*) FROM equity").fetchall()
                conn.execute("SELECT strategy, avg(equity) FROM equity GROUP BY strategy").fetchall()
            reads += 1
        except Exception as exc:
            errors[error_kind(exc)] += 1
            time.sleep(0.005)
    results.put(("reader", index, {"reads": reads, "errors": dict(errors)}))


def run_naive(ctx, root: Path, args) -> dict:
    import duckdb

    db = str(root / "naive.duckdb")
    with duckdb.connect(db) as conn:
        conn.register("seed", equity_frame("seed", seed=99))
        conn.execute("CREATE TABLE equity AS SELECT * FROM seed")
    results = ctx.Queue()
    barrier = ctx.Barrier(args.writers + args.readers, timeout=120)  # all start together, after their imports
    seconds = args.contrast_seconds
    procs = [ctx.Process(target=naive_writer, args=(db, i, seconds, barrier, results)) for i in range(args.writers)]
    procs += [ctx.Process(target=naive_reader, args=(db, i, seconds, barrier, results)) for i in range(args.readers)]
    for p in procs:
        p.start()
    out = collect(results, len(procs))
    for p in procs:
        p.join()
    return {
        "writers": {i: r for kind, i, r in out if kind == "writer"},
        "readers": {i: r for kind, i, r in out if kind == "reader"},
    }


# -- phase 3: promotion staged -> verified ------------------------------------------------------------------
def run_move(ctx, root: Path, args) -> dict:
    import polars as pl

    from bx_platform.warehouse.store import Warehouse

    store = Warehouse(root)
    base = equity_frame("x", seed=7)
    ids = [f"job-m-{i:05d}" for i in range(args.moves)]
    for job_id in ids:
        store.write("staged", "equity", job_id, base.with_columns(job_id=pl.lit(job_id)))
    results, stop = ctx.Queue(), ctx.Event()
    deadline = time.time() + 60
    procs = [
        ctx.Process(target=reader, args=(str(root), 0, "equity", stop, deadline, results)),
        ctx.Process(target=reader, args=(str(root), 1, "staged_equity", stop, deadline, results)),
    ]
    for p in procs:
        p.start()
    time.sleep(1.5)
    timings = []
    for job_id in ids:
        t0 = time.perf_counter()
        store.move("equity", job_id, "staged", "verified")
        timings.append(time.perf_counter() - t0)
        time.sleep(0.005)  # spread the moves over about a second of concurrent reads
    time.sleep(0.3)
    stop.set()
    out = {i: r for _, i, r in collect(results, 2)}
    for p in procs:
        p.join()
    in_both = sum(1 for j in ids if store.exists("staged", "equity", j) and store.exists("verified", "equity", j))

    # Re-runs: every partition is now verified; quarantine a third as if an earlier run had failed. Each re-run
    # stages the partition again; its gate then gives: n % 3 == 0 fail (verified -> quarantine: move() removes
    # the verified copy), 1 pass (quarantine -> verified), 2 pass again (verified -> verified: a rename over the
    # existing verified file).
    for job_id in ids[1::3]:
        store.move("equity", job_id, "verified", "quarantine")
    results, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=reader, args=(str(root), 0, "equity", stop, time.time() + 60, results))
    proc.start()
    time.sleep(1.5)
    rerun_timings = []
    for n, job_id in enumerate(ids):
        store.write("staged", "equity", job_id, base.with_columns(job_id=pl.lit(job_id)))
        target = "quarantine" if n % 3 == 0 else "verified"
        t0 = time.perf_counter()
        store.move("equity", job_id, "staged", target)
        rerun_timings.append(time.perf_counter() - t0)
        time.sleep(0.005)
    time.sleep(0.3)
    stop.set()
    rerun_reader = collect(results, 1)[0][2]
    proc.join()
    zones = [sum(store.exists(z, "equity", j) for z in ("staged", "verified", "quarantine")) for j in ids]
    return {
        "timings": timings, "verified_reader": out[0], "staged_reader": out[1], "in_both_zones": in_both,
        "rerun_timings": rerun_timings, "rerun_reader": rerun_reader,
        "rerun_not_in_one_zone": sum(1 for z in zones if z != 1),
    }


# -- phase 4: leaderboard snapshots -------------------------------------------------------------------------
def board_cycles(root: str, index: int, cycles: int, use_lock: bool, barrier, results) -> None:
    import contextlib

    import polars as pl

    from bx_platform.warehouse.store import Warehouse

    store = Warehouse(root)
    errors: Counter = Counter()
    waits, holds = [], []
    barrier.wait()
    for i in range(cycles):
        t0 = time.perf_counter()
        try:
            with store.exclusive("leaderboard") if use_lock else contextlib.nullcontext():
                t1 = time.perf_counter()
                board = store.read_snapshot("leaderboard")
                row = pl.DataFrame({"strategy": [f"p{index}-{i:03d}"], "evaluations": [1]})
                board = pl.concat([board, row], how="diagonal_relaxed").with_columns(
                    rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
                )
                store.write_snapshot("leaderboard", board)
                holds.append(time.perf_counter() - t1)
            waits.append(t1 - t0)
        except Exception as exc:
            errors[error_kind(exc)] += 1
    results.put((index, {"waits": waits, "holds": holds, "errors": dict(errors)}))


def snapshot_reader(root: str, stop, deadline: float, results) -> None:
    """Reads the leaderboard while snapshots are published, without the lock: the `leaderboard` VIEW through
    DuckDB read-only (newest snapshot file), then `Warehouse.read_snapshot` (polars), alternately."""
    import duckdb

    from bx_platform.warehouse.store import Warehouse

    store = Warehouse(root)
    errors: Counter = Counter()
    latencies: list[tuple[int, float]] = []  # (snapshot files in the folder, seconds) of each view read
    reads = empty = polars_empty = regressions = polars_reads = 0
    last = 0
    folder = store.table_dir("verified", "leaderboard")
    while not stop.is_set() and time.time() < deadline:
        try:
            files = sum(1 for _ in folder.glob("snapshot-*.parquet"))
            t0 = time.perf_counter()
            with duckdb.connect(str(Path(root) / "bx.duckdb"), read_only=True) as conn:
                rows, distinct = conn.execute("SELECT count(*), count(DISTINCT strategy) FROM leaderboard").fetchall()[0]
            latencies.append((files, time.perf_counter() - t0))
            reads += 1
            if rows == 0:
                empty += 1  # the board is seeded with one row: an empty answer would be a wrong read
            if rows < last or rows != distinct:
                regressions += 1
            last = max(last, rows)
            if len(store.read_snapshot("leaderboard")) < 1:
                polars_empty += 1
            polars_reads += 1
        except Exception as exc:
            errors[error_kind(exc)] += 1
    results.put(("snapshot_reader", {"reads": reads, "polars_reads": polars_reads, "errors": dict(errors),
                                      "empty": empty, "polars_empty": polars_empty, "regressions": regressions, "latencies": latencies}))


def run_leaderboard(ctx, root: Path, args, use_lock: bool) -> dict:
    import polars as pl

    from bx_platform.warehouse.schema import TABLES
    from bx_platform.warehouse.store import Warehouse

    store = Warehouse(root)
    seed = pl.DataFrame({"strategy": ["seed"], "rank": [1], "evaluations": [1]})
    with store.exclusive("leaderboard"):
        store.write_snapshot("leaderboard", pl.concat([pl.DataFrame(schema=TABLES["leaderboard"]), seed], how="diagonal_relaxed"))
    results, barrier = ctx.Queue(), ctx.Barrier(2, timeout=120)
    procs = [ctx.Process(target=board_cycles, args=(str(root), i, args.cycles, use_lock, barrier, results)) for i in range(2)]
    stop, side = ctx.Event(), ctx.Queue()
    watcher = ctx.Process(target=snapshot_reader, args=(str(root), stop, time.time() + 120, side))
    if use_lock:
        watcher.start()
        time.sleep(1.5)  # the reader is looping before the first publication
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    out = dict(results.get(timeout=300) for _ in procs)
    for p in procs:
        p.join()
    wall = time.perf_counter() - t0
    watched = None
    if use_lock:
        time.sleep(0.3)
        stop.set()
        watched = side.get(timeout=300)[1]
        watcher.join()
    import duckdb

    with duckdb.connect(str(root / "bx.duckdb"), read_only=True) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT strategy) FROM leaderboard").fetchall()[0]
        at_rest = []
        for _ in range(5):
            t1 = time.perf_counter()
            conn.execute("SELECT count(*), count(DISTINCT strategy) FROM leaderboard").fetchall()
            at_rest.append(time.perf_counter() - t1)
    files = sum(1 for _ in store.table_dir("verified", "leaderboard").glob("snapshot-*.parquet"))
    return {"procs": out, "rows": rows - 1, "distinct": distinct - 1, "wall": wall, "watched": watched,
            "snapshot_files": files, "at_rest": statistics.median(at_rest)}


# -- phase 5: recreate the views under readers ----------------------------------------------------------------
def run_recreate_views(ctx, root: Path, args) -> dict:
    from bx_platform.warehouse.store import Warehouse

    store = Warehouse(root)
    results, stop = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=reader, args=(str(root), i, "equity", stop, time.time() + 60, results)) for i in range(2)]
    for p in procs:
        p.start()
    time.sleep(1.5)
    timings = []
    for _ in range(args.recreates):
        t0 = time.perf_counter()
        store.create_views()
        timings.append(time.perf_counter() - t0)
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    out = {i: r for _, i, r in collect(results, 2)}
    for p in procs:
        p.join()
    return {"timings": timings, "readers": out, "leftover_incoming": len(list((root / "_incoming").iterdir()))}


# -- report -------------------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def merge_errors(*dicts: dict) -> Counter:
    total: Counter = Counter()
    for d in dicts:
        total.update(d)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", type=int, default=200, help="partitions per writer (default 200)")
    ap.add_argument("--seconds", type=float, default=75.0, help="cap on the concurrent write phase (default 75)")
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--contrast-seconds", type=float, default=3.0, help="length of the naive-design contrast")
    ap.add_argument("--moves", type=int, default=200, help="partitions promoted staged -> verified")
    ap.add_argument("--cycles", type=int, default=50, help="leaderboard cycles per process")
    ap.add_argument("--recreates", type=int, default=20, help="create_views() swaps under readers")
    args = ap.parse_args()

    ctx = mp.get_context("spawn")
    tmp = Path(tempfile.mkdtemp(prefix="bx-bench-warehouse-"))
    started = time.perf_counter()
    failures: list[str] = []
    findings: list[str] = []
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{platform.system()} {platform.release()}")
        import duckdb
        import polars as pl

        print(f"duckdb {duckdb.__version__}, polars {pl.__version__}; temp root {tmp}")

        # 1
        load = run_store_under_load(ctx, tmp / "store", args)
        writers, readers = load["writers"], load["readers"]
        written = sum(w["written"] for w in writers.values())
        size = sum(w["bytes"] for w in writers.values())
        expected = args.writers * args.partitions
        print(f"\n[1] store under load: {args.writers} writers x {args.partitions} partitions of `equity` "
              f"({ROWS_PER_PARTITION:,} rows each), {args.readers} read-only readers")
        print(f"  writes: {written} partitions, {size / 1e6:.1f} MB in {load['wall']:.1f} s wall -> "
              f"{written / load['wall']:.1f} partitions/s, {size / 1e6 / load['wall']:.1f} MB/s "
              f"(mean {ms(sum(w['seconds'] for w in writers.values()) / max(written, 1))} a partition, "
              f"{size / max(written, 1) / 1e6:.2f} MB each)")
        all_lat = []
        for i, r in sorted(readers.items()):
            lat = r["latencies"]
            all_lat += lat
            print(f"  reader {i}: {r['reads']} reads in {r['elapsed']:.1f} s = {r['reads'] / r['elapsed']:.1f} reads/s, "
                  f"latency median {ms(statistics.median(lat))}, max {ms(max(lat))}, first {ms(lat[0])}, last {ms(lat[-1])}")
        errors = merge_errors(*(w["errors"] for w in writers.values()), *(r["errors"] for r in readers.values()))
        torn = sum(r["torn"] for r in readers.values())
        regressions = sum(r["regressions"] for r in readers.values())
        print(f"  max read latency: {ms(max(all_lat))}; the same read at rest over all {written} partitions: "
              f"median {ms(load['at_rest'])} (it grows with the number of files: the glob and every footer are read)")
        print(f"  errors: {sum(errors.values())} {dict(errors) or ''}; torn reads (row count not whole partitions): "
              f"{torn}; counts that went down: {regressions}; temp files left in _incoming: {load['leftover_incoming']}")
        visible = load["visible_jobs"] == expected and load["visible_rows"] == expected * ROWS_PER_PARTITION
        print(f"  at the end: {load['visible_jobs']}/{expected} partitions, {load['visible_rows']:,} rows visible -> "
              f"{'every partition visible' if visible else 'MISSING PARTITIONS'}")
        if errors or torn or regressions or not visible or load["leftover_incoming"]:
            failures.append("store under load")

        # 2
        naive = run_naive(ctx, tmp, args)
        print(f"\n[2] contrast, naive design: one DuckDB file written read-write by {args.writers} writers while "
              f"{args.readers} readers open it read-only ({args.contrast_seconds:.0f} s)")
        for i, w in sorted(naive["writers"].items()):
            print(f"  writer {i}: {w['inserted']} partitions inserted, errors {sum(w['errors'].values())} {w['errors'] or ''}")
        for i, r in sorted(naive["readers"].items()):
            print(f"  reader {i}: {r['reads']} reads, errors {sum(r['errors'].values())} {r['errors'] or ''}")

        # 3
        move = run_move(ctx, tmp / "store", args)
        t = move["timings"]
        print(f"\n[3] Warehouse.move() staged -> verified, {len(t)} partitions while readers query the views")
        print(f"  per move: median {statistics.median(t) * 1e6:.0f} us, mean {statistics.mean(t) * 1e6:.0f} us, "
              f"max {max(t) * 1e6:.0f} us; partitions in two zones afterwards: {move['in_both_zones']}")
        vr, sr = move["verified_reader"], move["staged_reader"]
        print(f"  reader of `equity` (verified): {vr['reads']} reads, errors {sum(vr['errors'].values())} "
              f"{vr['errors'] or ''}, torn {vr['torn']}, counts that went down {vr['regressions']}")
        print(f"  reader of `staged_equity`:     {sr['reads']} reads, errors {sum(sr['errors'].values())} "
              f"{sr['errors'] or ''}  (files leave this folder under the reader: see docs/warehouse.md)")
        if vr["errors"] or vr["torn"] or vr["regressions"] or move["in_both_zones"]:
            failures.append("move")
        if sr["errors"]:
            findings.append(f"{sum(sr['errors'].values())} reads of a staged_* view failed while partitions were promoted "
                            "out of it (the glob is expanded, then a file has gone); staged_* views are transient")
        rt, rr = move["rerun_timings"], move["rerun_reader"]
        print(f"  re-runs: {len(rt)} partitions staged again, a third each verified->quarantine, quarantine->verified, "
              f"verified->verified; "
              f"not in exactly one zone afterwards: {move['rerun_not_in_one_zone']}; per move median "
              f"{statistics.median(rt) * 1e6:.0f} us, max {max(rt) * 1e6:.0f} us")
        print(f"  reader of `equity` (verified) during the re-runs: {rr['reads']} reads, errors "
              f"{sum(rr['errors'].values())} {rr['errors'] or ''}, torn {rr['torn']}  (counts go down here by design: "
              f"a re-run that fails its gate removes the verified copy)")
        if move["rerun_not_in_one_zone"] or rr["torn"]:
            failures.append("re-run move")
        if rr["errors"]:
            findings.append(f"{sum(rr['errors'].values())} reads of the verified `equity` view failed during re-runs "
                            "(move() unlinks an earlier verified copy, or renames over it, under the reader)")

        # 4
        for use_lock in (True, False):
            board = run_leaderboard(ctx, tmp / "store", args, use_lock)
            expected_rows = 2 * args.cycles
            waits = [w for p in board["procs"].values() for w in p["waits"]]
            holds = [h for p in board["procs"].values() for h in p["holds"]]
            errs = merge_errors(*(p["errors"] for p in board["procs"].values()))
            label = "with Warehouse.exclusive('leaderboard')" if use_lock else "contrast, WITHOUT the lock"
            print(f"\n[4] leaderboard read-modify-write, 2 processes x {args.cycles} cycles, {label}")
            print(f"  newest snapshot: {board['rows']} rows ({board['distinct']} distinct) of {expected_rows} -> "
                  f"{expected_rows - board['distinct']} lost updates; errors {sum(errs.values())} {dict(errs) or ''}")
            print(f"  cycle: median hold {ms(statistics.median(holds))}, median wait for the lock "
                  f"{ms(statistics.median(waits))}, max wait {ms(max(waits))}; {board['wall']:.1f} s wall")
            print(f"  snapshot files now in the folder: {board['snapshot_files']}; `leaderboard` view read at rest: "
                  f"median {ms(board['at_rest'])}")
            if use_lock and (board["distinct"] != expected_rows or errs):
                failures.append("leaderboard lock")
            if board["watched"] is not None:
                w = board["watched"]
                n = sum(w["errors"].values())
                lat = w["latencies"]
                print(f"  a reader meanwhile, no lock: {w['reads']} reads of the `leaderboard` VIEW (DuckDB read-only) + "
                      f"{w['polars_reads']} Warehouse.read_snapshot; errors {n} {w['errors'] or ''}; empty boards from the view "
                      f"{w['empty']}, from read_snapshot {w['polars_empty']}; row count down or duplicated {w['regressions']}")
                if lat:
                    head, tail = lat[: max(1, len(lat) // 10)], lat[-max(1, len(lat) // 10):]
                    print(f"  view read (open, query, close): median {ms(statistics.median(x for _, x in lat))}, max "
                          f"{ms(max(x for _, x in lat))}; first tenth ({head[0][0]}-{head[-1][0]} snapshot files) median "
                          f"{ms(statistics.median(x for _, x in head))}, last tenth ({tail[0][0]}-{tail[-1][0]} files) "
                          f"median {ms(statistics.median(x for _, x in tail))}")
                if n or w["empty"] or w["polars_empty"] or w["regressions"] or not w["reads"]:
                    failures.append("leaderboard reader")
                if w["empty"]:
                    findings.append(
                        f"{w['empty']} reads of the `leaderboard` view returned an EMPTY board (no error) while snapshots "
                        "were published: the view lists the folder twice (read_parquet's glob, then glob() for the max "
                        "file name); a snapshot published in between is the max but not among the files read")

        # 5
        rec = run_recreate_views(ctx, tmp / "store", args)
        t = rec["timings"]
        print(f"\n[5] Warehouse.create_views() (bx warehouse init --recreate-views) x {len(t)} while 2 readers query `equity`")
        print(f"  per rebuild: median {ms(statistics.median(t))}, max {ms(max(t))}; temp files left in _incoming: "
              f"{rec['leftover_incoming']}")
        for i, r in sorted(rec["readers"].items()):
            print(f"  reader {i}: {r['reads']} reads, errors {sum(r['errors'].values())} {r['errors'] or ''}, torn {r['torn']}")
        if any(r["errors"] or r["torn"] for r in rec["readers"].values()) or rec["leftover_incoming"]:
            failures.append("recreate views")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - started:.1f} s; temp root removed: {not tmp.exists()}")
    for finding in findings:
        print(f"FINDING (design, see docs/warehouse.md): {finding}")
    print("RESULT: " + ("OK" if not failures else "FAILED: " + ", ".join(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
