"""Column types of every table in the analytical store (the views are in sql/schema.sql)."""

from __future__ import annotations

import polars as pl

from bx_platform.execution.summary import EXECUTION_SUMMARY_SCHEMA
from bx_platform.execution.simulator import FILL_SCHEMA
from bx_platform.strategies.remote import REMOTE_CALL_SCHEMA

UTC_TS = pl.Datetime("us", "UTC")

TABLES: dict[str, dict[str, pl.DataType]] = {
    "jobs": {
        "job_id": pl.String,
        "organization": pl.String,
        "visibility": pl.String,
        "contest": pl.String,
        "name": pl.String,
        "markets": pl.String,
        "timeframe": pl.String,
        "window_start": UTC_TS,
        "window_end": UTC_TS,
        "strategies": pl.String,
        "data_manifest_hash": pl.String,
        "engine_version": pl.String,
        "scoring_version": pl.String,
        "submitted_at": pl.String,
        "record_json": pl.String,
    },
    # written once when the job ends, so the `jobs` partition itself is written only once
    "job_outcomes": {
        "job_id": pl.String,
        "organization": pl.String,
        "outcome": pl.String,
    },
    "market_bars": {
        "job_id": pl.String,
        "organization": pl.String,
        "market": pl.String,
        "ts": UTC_TS,
        "open": pl.Float64,
        "high": pl.Float64,
        "low": pl.Float64,
        "close": pl.Float64,
        "volume": pl.Float64,
        "bid_open": pl.Float64,
        "ask_open": pl.Float64,
        "bid_close": pl.Float64,
        "ask_close": pl.Float64,
    },
    "fills": {"job_id": pl.String, "organization": pl.String, **FILL_SCHEMA},
    "equity": {
        "job_id": pl.String,
        "organization": pl.String,
        "strategy": pl.String,
        "ts": UTC_TS,
        "equity": pl.Float64,
        "cash": pl.Float64,
        "gross_exposure": pl.Float64,
        "net_exposure": pl.Float64,
        "max_position_weight": pl.Float64,
    },
    "metrics": {
        "job_id": pl.String,
        "organization": pl.String,
        "strategy": pl.String,
        "scenario": pl.String,
        "metric": pl.String,
        "value": pl.Float64,
    },
    "scores": {
        "job_id": pl.String,
        "organization": pl.String,
        "visibility": pl.String,
        "contest": pl.String,
        "strategy": pl.String,
        "scoring_version": pl.String,
        "market_class": pl.String,
        "rank": pl.Int64,
        "tier": pl.Int64,
        "utility": pl.Float64,
        "hold_utility": pl.Float64,
        "beta_score": pl.Float64,
        "bx_score": pl.Float64,
        "capital_score": pl.Float64,
        "contest_score": pl.Float64,
        "eligible": pl.Boolean,
        "failed_gates": pl.String,
        "flags": pl.String,
        "bx_breakdown": pl.String,
        "market_context": pl.String,
    },
    "strategy_runs": {
        "job_id": pl.String,
        "organization": pl.String,
        "strategy": pl.String,
        "flags": pl.String,
        "path": pl.String,
        # wall clock (excluded from determinism comparisons): per decision call, and their total
        "decisions": pl.Int64,
        "decision_p50_ms": pl.Float64,
        "decision_p95_ms": pl.Float64,
        "decision_max_ms": pl.Float64,
        "runtime_ms": pl.Float64,
    },
    # every call to a remote strategy, in call order: a replay answers from these rows (docs/strategies.md)
    "remote_calls": {"job_id": pl.String, "organization": pl.String, **REMOTE_CALL_SCHEMA},
    # one row per strategy and the Benchmark Hold: what its execution did (docs/engine.md, "Execution summary")
    "execution_summary": EXECUTION_SUMMARY_SCHEMA,
    "leaderboard": {
        "market_class": pl.String,
        "rank": pl.Int64,
        "strategy": pl.String,
        "tier": pl.Int64,
        "tier_jobs": pl.Int64,
        "evaluations": pl.Int64,
        "scored_evaluations": pl.Int64,
        "mean_bx_score": pl.Float64,
        "credibility": pl.Float64,
        "credible_score": pl.Float64,
        "eligible_share": pl.Float64,
        "violations": pl.Int64,
    },
    "contest_standings": {
        "contest": pl.String,
        "job_id": pl.String,
        "organization": pl.String,
        "strategy": pl.String,
        "cluster_id": pl.String,
        "cluster_size": pl.Int64,
        "cluster_rank": pl.Int64,
        "contest_score": pl.Float64,
    },
}
