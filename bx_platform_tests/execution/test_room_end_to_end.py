"""A real job through Dagster on OANDA EUR/USD: the archive's bid/ask reach the engine through the verified
store (buys at the ask, sells at the bid), and the engine's outputs land where readers look: the execution
summary in the store and the result document, the per-call decision latencies in `strategy_runs`."""

from __future__ import annotations

import json

import polars as pl
from dagster import DagsterInstance

from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import materialize_job

EUR_USD_JOB = {
    "organization": "acme",
    "name": "eurusd-2018-q1",
    "markets": [{"venue": "oanda", "symbol": "EUR/USD"}],
    "window": {"start": "2018-01-01", "end": "2018-04-01"},
    "timeframe": "1h",
    "strategies": ["bx/momentum", "bx/mean-reversion"],
    "sessions": 2,
    "decision_every": 2,
}


def test_a_fx_job_fills_at_the_quotes_and_stores_its_execution_summary(bx_home):
    bx_home.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_id, result = materialize_job(EUR_USD_JOB, f"sqlite:///{bx_home / 'jobs.sqlite'}", warehouse.root, instance)
    assert result.success
    bars = warehouse.read("verified", "market_bars", job_id)
    fills = warehouse.read("verified", "fills", job_id).join(bars.select("ts", "ask_open", "bid_open"), on="ts")
    assert fills.height > 10 and bars["ask_open"].null_count() == 0
    buys, sells = fills.filter(pl.col("side") == "buy"), fills.filter(pl.col("side") == "sell")
    assert (buys["price"] == buys["ask_open"]).all() and (sells["price"] == sells["bid_open"]).all()

    summary = warehouse.read("verified", "execution_summary", job_id)
    assert set(summary["strategy"]) == {"bx/momentum", "bx/mean-reversion", "benchmark/hold"}
    momentum = summary.filter(pl.col("strategy") == "bx/momentum").to_dicts()[0]
    assert momentum["path"] == "fast" and momentum["spread_cost"] > 0 and momentum["financing"] > 0
    runs = warehouse.read("verified", "strategy_runs", job_id)
    assert (runs["decisions"] > 0).all() and (runs["decision_p95_ms"] <= runs["decision_max_ms"]).all()

    document = json.loads((warehouse.results / f"{job_id}.json").read_text())
    section = {s["strategy"]: s["execution"] for s in document["strategies"]}
    assert section["bx/momentum"]["fills"] == momentum["fills"] and "decision_p95_ms" not in section["bx/momentum"]
