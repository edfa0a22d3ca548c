"""A Battle Room: every strategy of a job, and the Benchmark Hold, on the same bars and constraints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import polars as pl

from bx_platform.evaluation.luck import seed_from_job_id
from bx_platform.execution.fill_model import ExecutionParams
from bx_platform.execution.simulator import MarketData, SimulationResult, simulate
from bx_platform.execution.summary import EXECUTION_SUMMARY_SCHEMA, execution_summary
from bx_platform.strategies import registry
from bx_platform.strategies.base import Strategy


# The room's reference, stored beside the strategies under this name.
BENCHMARK = "benchmark/hold"


def run_room(
    data: MarketData, params: ExecutionParams, strategies: Mapping[str, Strategy], timeframe: str, seed_key: str
) -> dict[str, SimulationResult]:
    """Simulate each strategy (handle -> strategy, in order), then the Benchmark Hold (key BENCHMARK), on the
    same bars and parameters. `seed_key` (the job id) seeds each fast-path strategy's look-ahead audit.

    The Benchmark Hold lives under the same rules as the strategies (the risk profile halts it too), so a strategy
    that is the hold scores beta 0 (docs/scoring.md, "Fair reference"). Every result's accounting identity is
    checked on every bar."""
    results = {}
    for handle, strategy in strategies.items():
        seed = seed_from_job_id(f"{seed_key}/{handle}/lookahead")
        results[handle] = simulate(strategy, data, params, timeframe=timeframe, audit_seed=seed)
    hold = simulate(registry.BENCHMARK_HOLD, data, params, timeframe=timeframe, audit_seed=None)
    results[BENCHMARK] = replace(hold, strategy=BENCHMARK, fills=hold.fills.with_columns(strategy=pl.lit(BENCHMARK)))
    for result in results.values():
        check_accounting(result, data)
    return results


def check_accounting(result: SimulationResult, data: MarketData, tolerance: float = 1e-9) -> None:
    """cash + Σ quantity × close = equity on every bar, with quantities rebuilt from the fills alone."""
    held = np.zeros_like(data.closes)
    if result.fills.height:
        signed = np.where(result.fills["side"].to_numpy() == "buy", 1.0, -1.0) * result.fills["qty"].to_numpy()
        bar = np.searchsorted(data.ts, result.fills["ts"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]"))
        market = np.array([data.keys.index(key) for key in result.fills["market"]])
        np.add.at(held, (bar, market), signed)
    positions = np.cumsum(held, axis=0)
    equity = result.equity["equity"].to_numpy()
    marked = result.equity["cash"].to_numpy() + (positions * data.closes).sum(axis=1)
    scale = np.maximum(np.abs(equity), np.abs(positions * data.closes).sum(axis=1))
    worst = np.abs(marked - equity) / np.maximum(scale, 1.0)
    if worst.size and worst.max() > tolerance:
        t = int(worst.argmax())
        raise RuntimeError(f"{result.strategy}: cash + positions x close differs from equity at bar {t} by {worst[t]:.3g} (relative)")


def room_frames(results: dict[str, SimulationResult], job_id: str, organization: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All fills and all equity curves of a room as two long frames, tagged with job and organization."""
    tag = {"job_id": pl.lit(job_id), "organization": pl.lit(organization)}
    fills = pl.concat([r.fills.with_columns(**tag) for r in results.values()], how="vertical")
    equity = pl.concat(
        [r.equity.with_columns(strategy=pl.lit(h), **tag) for h, r in results.items()], how="vertical"
    )
    return fills, equity


def run_records(results: dict[str, SimulationResult], job_id: str, organization: str) -> pl.DataFrame:
    """One row per simulated strategy: its flags, its path and its decision latencies (wall clock)."""
    return pl.DataFrame(
        {
            "job_id": job_id,
            "organization": organization,
            "strategy": list(results),
            "flags": [",".join(r.flags) for r in results.values()],
            "path": [r.path for r in results.values()],
            "decisions": [int(r.latencies_ms.size) for r in results.values()],
            "decision_p50_ms": [r.latency(0.5) for r in results.values()],
            "decision_p95_ms": [r.latency(0.95) for r in results.values()],
            "decision_max_ms": [r.latency(1.0) for r in results.values()],
            "runtime_ms": [float(r.latencies_ms.sum()) for r in results.values()],
        }
    )


def summary_records(results: dict[str, SimulationResult], job_id: str, organization: str, initial_capital: float) -> pl.DataFrame:
    """The `execution_summary` rows of a room."""
    rows = [
        {
            "job_id": job_id,
            "organization": organization,
            **execution_summary(h, r.path, r.fills, r.events, r.equity, r.financing, r.funding, initial_capital, r.flags),
        }
        for h, r in results.items()
    ]
    return pl.DataFrame(rows, schema=EXECUTION_SUMMARY_SCHEMA)
