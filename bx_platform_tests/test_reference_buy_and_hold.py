"""An independent check of a stored result. This module imports nothing from bx_platform: it runs `bx run`
as a user would, reads the archive's Parquet directly, recomputes buy-and-hold's total return on Coinbase
BTC/USD over a year by hand (including the risk profile's halt, which the hold obeys like every strategy), and compares it with what the platform stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

REPO = Path(__file__).resolve().parents[1]
BX = str(Path(sys.executable).parent / "bx")
FEE_BPS = 10.0
HALT_DRAWDOWN = 0.25  # the default (balanced) risk profile's halts, which the Benchmark Hold obeys too
MAX_DAILY_LOSS = 0.10
START, END = datetime(2017, 10, 1, tzinfo=timezone.utc), datetime(2018, 10, 1, tzinfo=timezone.utc)


def test_stored_buy_and_hold_return_matches_a_hand_computation(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "organization: reference-check\n"
        "markets: [{venue: coinbase, symbol: BTC/USD}]\n"
        f"window: {{start: '{START.isoformat()}', end: '{END.isoformat()}'}}\n"
        "timeframe: 1h\n"
        f"costs: {{fee_bps: {FEE_BPS}}}\n"
        # fees only: no spread or impact, and the whole bar volume available, so the hand formula below is the engine's documented buy rule
        # (docs/conventions.md, "Execution": a buy the cash cannot pay with the fee is cut to cash / (price x (1 + fee)))
        "fills: {half_spread_bps: 0, impact_coefficient: 0, participation_cap: 1}\n"
        "strategies: [bx/sma-trend]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BX_", "DAGSTER_"))}
    env["BX_HOME"] = str(tmp_path / "bx")
    run = subprocess.run([BX, "run", str(spec)], env=env, capture_output=True, text=True, cwd=REPO)
    assert run.returncode in (0, 3), run.stderr[-3000:]
    job_id = run.stdout.strip().splitlines()[-1].split(":")[0]

    bars = pl.read_parquet(REPO / "data/archive/coinbase/BTC-USD/1h.parquet").filter(
        (pl.col("ts") >= START) & (pl.col("ts") < END)
    ).sort("ts")
    assert (bars["ts"][-1] - bars["ts"][0]).days >= 364
    # the hold decides on the first bar and fills at the second bar's open; buys pay the fee on top
    entry = bars["open"][1]
    fee = FEE_BPS / 10_000
    quantity = 100_000.0 / (entry * (1 + fee))
    # marked at each close (cash until the fill); once a close is MAX_DAILY_LOSS below the previous UTC day's
    # last close (the initial capital on the first day), or HALT_DRAWDOWN below the peak (the initial capital
    # included), it is sold at the next bar's open, paying the fee, and stays in cash
    closes, opens = bars["close"].to_list(), bars["open"].to_list()
    days = [stamp.date() for stamp in bars["ts"].to_list()]  # the UTC day of each bar's open
    peak, day_start, last, final = 100_000.0, 100_000.0, 100_000.0, None
    for t in range(len(closes)):
        value = 100_000.0 if t == 0 else quantity * closes[t]
        if t > 0 and days[t] != days[t - 1]:
            day_start = last
        last, peak = value, max(peak, value)
        if value <= day_start * (1 - MAX_DAILY_LOSS) or 1.0 - value / peak >= HALT_DRAWDOWN:
            final = quantity * opens[t + 1] * (1 - fee)
            break
    expected = (final if final is not None else quantity * closes[-1]) / 100_000.0 - 1.0

    document = json.loads((tmp_path / "bx/warehouse/results" / f"{job_id}.json").read_text())
    stored = document["benchmark_hold"]["metrics"]["all"]["total_return"]
    assert abs(stored - expected) <= 1e-9, (stored, expected)

    with duckdb.connect(str(tmp_path / "bx/warehouse/bx.duckdb"), read_only=True) as conn:
        [(from_store,)] = conn.execute(
            "SELECT value FROM metrics WHERE job_id = ? AND strategy = 'benchmark/hold' AND scenario = 'all' "
            "AND metric = 'total_return'", [job_id]
        ).fetchall()
        [(price, qty, paid)] = conn.execute(
            "SELECT price, qty, fee FROM fills WHERE job_id = ? AND strategy = 'benchmark/hold' AND side = 'buy'", [job_id]
        ).fetchall()
    assert abs(from_store - expected) <= 1e-9
    assert price == entry and abs(qty - quantity) <= 1e-12 * quantity
    assert abs(paid - quantity * entry * fee) <= 1e-9
