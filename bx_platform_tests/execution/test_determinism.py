"""Determinism across processes: the same job run by `bx run` in two processes with different hash seeds and
Polars thread counts gives byte-identical fills, equity, metrics, scores and execution summaries. Wall-clock
figures live in `strategy_runs` (decision latencies) and are not compared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BX = str(Path(sys.executable).parent / "bx")
JOB = """organization: determinism-check
markets: [{venue: coinbase, symbol: BTC/USD}]
window: {start: 2018-01-01, end: 2018-03-01}
timeframe: 1h
strategies: [bx/momentum, bx/mean-reversion, bx/sma-trend]
decision_every: 2
fills: {latency_bars: 1, participation_cap: 0.02}
sessions: 2
"""
COMPARED = ("fills", "equity", "metrics", "scores", "execution_summary")


def _run(tmp_path: Path, name: str, hash_seed: str, threads: str) -> tuple[str, Path]:
    spec = tmp_path / "job.yaml"
    spec.write_text(JOB)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BX_", "DAGSTER_", "POLARS_"))}
    env.update(BX_HOME=str(tmp_path / name), PYTHONHASHSEED=hash_seed, POLARS_MAX_THREADS=threads)
    run = subprocess.run([BX, "run", str(spec)], env=env, capture_output=True, text=True, cwd=REPO)
    assert run.returncode in (0, 3), run.stderr[-3000:]
    return run.stdout.strip().splitlines()[-1].split(":")[0], tmp_path / name / "warehouse" / "tables" / "verified"


def test_the_same_job_in_two_processes_gives_identical_bytes(tmp_path):
    first_id, first = _run(tmp_path, "one", "1", "1")
    second_id, second = _run(tmp_path, "two", "4242", "2")
    assert first_id == second_id
    for table in COMPARED:
        left, right = (root / table / f"{first_id}.parquet" for root in (first, second))
        assert left.read_bytes() == right.read_bytes(), f"{table} differs between the two processes"
