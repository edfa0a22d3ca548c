"""A Battle Room: every strategy of a job, and the Benchmark Hold, on the same bars and constraints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from bx_platform.evaluation.luck import seed_from_job_id
from bx_platform.execution.fill_model import ExecutionParams, MarketFill, venue_profile
from bx_platform.execution.simulator import MarketData, SimulationResult, market_data, simulate
from bx_platform.execution.summary import EXECUTION_SUMMARY_SCHEMA, execution_summary
from bx_platform.jobs.spec import TIMEFRAME_SECONDS, JobSpec
from bx_platform.market import archive
from bx_platform.strategies import registry
from bx_platform.strategies.base import Strategy


def execution_params(spec: JobSpec) -> ExecutionParams:
    """The job's engine parameters: its capital and risk limits, and each market's venue profile with the
    spec's `fills` overrides applied."""
    limits, overrides = spec.risk_limits, spec.fills

    def pick(override, profile_value):
        return profile_value if override is None else override

    markets = {}
    for market in spec.markets:
        profile = venue_profile(market.venue)
        markets[market.key] = MarketFill(
            half_spread=pick(overrides.half_spread_bps, profile.half_spread_bps) / 10_000.0,
            impact_coefficient=pick(overrides.impact_coefficient, profile.impact_coefficient),
            participation_cap=pick(overrides.participation_cap, profile.participation_cap),
        )
    return ExecutionParams(
        initial_capital=spec.capital.initial,
        fee_rate=spec.costs.fee_bps / 10_000.0,
        slippage_rate=spec.costs.slippage_bps / 10_000.0,
        max_position_per_market=spec.capital.max_position_per_market,
        # the tighter of the client's constraint and the risk profile's ceiling
        max_gross_leverage=min(spec.capital.max_gross_leverage, limits.max_gross_leverage),
        max_net_leverage=spec.capital.max_net_leverage,
        halt_drawdown=limits.halt_drawdown,
        max_daily_loss=limits.max_daily_loss,
        decision_every=spec.decision_every,
        latency_bars=overrides.latency_bars,
        # one rate for the job: the first market's venue (the job's markets share one calendar and venue class)
        financing_daily_rate=pick(overrides.financing_daily_rate, venue_profile(spec.markets[0].venue).financing_daily_rate),
        markets=markets,
    )


# The room's reference, stored beside the strategies under this name.
BENCHMARK = "benchmark/hold"


def funding_rates(spec: JobSpec, ts: pl.Series, archive_dir: Path | None = None) -> dict[str, np.ndarray]:
    """Per perpetual market with a funding table in the archive: the rate charged at the close of each bar
    (the sum of the funding events inside the bar)."""
    tables = archive.load_manifest(archive_dir).get("tables", {})
    out = {}
    for market in spec.markets:
        if not any(e.get("kind") == "funding" and (e.get("venue"), e.get("symbol")) == (market.venue, market.symbol) for e in tables.values()):
            continue
        events = archive.read_funding(market.venue, market.symbol, archive_dir)
        bar = np.searchsorted(ts.to_numpy(), events["ts"].to_numpy(), side="right") - 1
        rates = np.zeros(ts.len())
        window_end = ts[-1] + timedelta(seconds=TIMEFRAME_SECONDS[spec.timeframe])  # the last bar's close
        inside = (bar >= 0) & (events["ts"] < window_end).to_numpy()
        np.add.at(rates, bar[inside], events["rate"].to_numpy()[inside])
        out[market.key] = rates
    return out


def run_room(
    spec: JobSpec, bars: dict[str, pl.DataFrame], archive_dir: Path | None = None,
    open_strategy: Callable[[str], Strategy] = registry.resolve,
) -> dict[str, SimulationResult]:
    """Simulate each strategy of the job, then the Benchmark Hold (key BENCHMARK).

    The Benchmark Hold lives under the same rules as the strategies (the risk profile halts it too), so a strategy
    that is the hold scores beta 0 (docs/scoring.md, "Fair reference"). Every result's accounting identity is
    checked on every bar."""
    params = execution_params(spec)
    first = next(iter(bars.values()))
    data = market_data(bars, params, spec.timeframe, funding_rates(spec, first["ts"], archive_dir))
    results = {}
    for handle in spec.strategies:
        seed = seed_from_job_id(f"{spec.job_id}/{handle}/lookahead")
        results[handle] = simulate(open_strategy(handle), data, params, timeframe=spec.timeframe, audit_seed=seed)
    hold = simulate(registry.BENCHMARK_HOLD, data, params, timeframe=spec.timeframe, audit_seed=None)
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
