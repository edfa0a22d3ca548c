"""Running a job's Battle Room: the job's spec mapped onto the engine's parameters and bars, and its strategies
opened at the revisions pinned in its record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from bx_platform.execution.battle_room import room_frames, run_records, run_room, summary_records
from bx_platform.execution.fill_model import ExecutionParams, MarketFill, venue_profile
from bx_platform.execution.simulator import SimulationResult, market_data
from bx_platform.jobs.spec import TIMEFRAME_SECONDS, JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.market import archive
from bx_platform.pipeline.staging import bars_by_market
from bx_platform.strategies import registry
from bx_platform.strategies.base import Strategy
from bx_platform.strategies.handles import HandleRegistry
from bx_platform.strategies.session import StrategySession
from bx_platform.warehouse.store import Warehouse


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


def simulate_job(
    spec: JobSpec, bars: dict[str, pl.DataFrame], archive_dir: Path | None = None,
    open_strategy: Callable[[str], Strategy] = registry.resolve,
) -> dict[str, SimulationResult]:
    """Every strategy of the job (opened by `open_strategy`) and the Benchmark Hold on the job's bars, under the
    job's parameters, funding where the archive has it."""
    params = execution_params(spec)
    first = next(iter(bars.values()))
    data = market_data(bars, params, spec.timeframe, funding_rates(spec, first["ts"], archive_dir))
    strategies = {handle: open_strategy(handle) for handle in spec.strategies}
    return run_room(data, params, strategies, spec.timeframe, seed_key=spec.job_id)


def run_job_room(
    record: dict, spec: JobSpec, bars: dict[str, pl.DataFrame], jobs: JobStore, archive_dir: Path | None = None,
    replay: pl.DataFrame | None = None,
) -> tuple[dict[str, SimulationResult], pl.DataFrame]:
    """Simulate the room: built-ins in process, packages in their sandbox, remote models over HTTP, or, with
    `replay` (the job's recorded `remote_calls`), from the record without calling any model. Returns the results
    and the remote calls of this run. Every sandbox is stopped when the room is done."""
    with StrategySession(record["pinned"]["strategies"], HandleRegistry(jobs.engine), replay=replay) as session:
        results = simulate_job(spec, bars, archive_dir, open_strategy=session.open)
        return results, session.remote_calls(record["job_id"], spec.organization)


def execute_job(
    record: dict, spec: JobSpec, store: Warehouse, jobs: JobStore, archive_dir: Path | None = None,
    replay: pl.DataFrame | None = None,
) -> tuple[dict[str, SimulationResult], pl.DataFrame]:
    """The room on the job's verified bars, written to the store: its remote calls, strategy runs and execution
    summaries (verified), its fills and equity curves (staged, until the execution gate). Returns the results
    and the fills."""
    job_id = record["job_id"]
    bars = bars_by_market(store.read("verified", "market_bars", job_id), spec)
    results, remote_calls = run_job_room(record, spec, bars, jobs, archive_dir, replay)
    store.write("verified", "remote_calls", job_id, remote_calls)
    fills, equity = room_frames(results, job_id, spec.organization)
    store.write("staged", "fills", job_id, fills)
    store.write("staged", "equity", job_id, equity)
    store.write("verified", "strategy_runs", job_id, run_records(results, job_id, spec.organization))
    store.write("verified", "execution_summary", job_id, summary_records(results, job_id, spec.organization, spec.capital.initial))
    return results, fills
