"""Cost of rebuilding league standings (scoring/league_standings.py), which `publish_leaderboard` does whenever
a job finishes: synthetic rounds of a league with 5 strategies (seeded random beta scores), timed for a growing
number of rounds. From 10 shared rounds on, every round's cumulative tier runs the MCS bootstrap (1000 reps) over
the rounds up to it, so the cost grows with the rounds.

    .venv/bin/python bench/league_standings.py [--rounds 12 36 120] [--strategies 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bx_platform.scoring.league_standings import league_standings  # noqa: E402


def league(rounds: int, strategies: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(7)
    days = [date(2000 + i // 12, i % 12 + 1, 1) for i in range(rounds)]
    round_rows = pl.DataFrame({
        "league": "bench", "round": days, "job_id": [f"job-{i}" for i in range(rounds)],
        "organization": "bench", "visibility": "public",
    })
    score_rows = pl.DataFrame([
        {"job_id": f"job-{i}", "strategy": f"bx/s{s}", "rank": s + 1, "tier": 1, "beta_score": float(rng.normal(0.01 * s, 1.0))}
        for i in range(rounds) for s in range(strategies)
    ])
    return round_rows, score_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, nargs="+", default=[12, 36, 120])
    parser.add_argument("--strategies", type=int, default=5)
    args = parser.parse_args()
    print(f"{'rounds':>7} {'rows':>6} {'seconds':>8}  (one rebuild of every round's standings, {args.strategies} strategies)")
    for rounds in args.rounds:
        round_rows, score_rows = league(rounds, args.strategies)
        started = time.perf_counter()
        table = league_standings(round_rows, score_rows)
        print(f"{rounds:>7} {table.height:>6} {time.perf_counter() - started:>8.2f}")


if __name__ == "__main__":
    main()
