"""A Battle Room: every strategy of a job, and the Benchmark Hold, on the same bars and constraints."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from bx_platform.execution.simulator import ExecutionParams, SimulationResult, simulate
from bx_platform.jobs.spec import JobSpec
from bx_platform.strategies import registry


def execution_params(spec: JobSpec) -> ExecutionParams:
    limits = spec.risk_limits
    return ExecutionParams(
        initial_capital=spec.capital.initial,
        fee_rate=spec.costs.fee_bps / 10_000.0,
        slippage_rate=spec.costs.slippage_bps / 10_000.0,
        max_position_per_market=spec.capital.max_position_per_market,
        # the tighter of the client's constraint and the risk profile's ceiling
        max_gross_leverage=min(spec.capital.max_gross_leverage, limits.max_gross_leverage),
        max_net_leverage=spec.capital.max_net_leverage,
        halt_drawdown=limits.halt_drawdown,
    )


# The room's reference, stored beside the strategies under this name.
BENCHMARK = "benchmark/hold"


def run_room(spec: JobSpec, bars: dict[str, pl.DataFrame]) -> dict[str, SimulationResult]:
    """Simulate each strategy of the job, then the Benchmark Hold (key BENCHMARK).

    The Benchmark Hold lives under the same rules as the strategies (the risk profile halts it too), so a strategy
    that is the hold scores beta 0 (docs/scoring.md, "Fair reference").
    """
    params = execution_params(spec)
    results = {handle: simulate(registry.resolve(handle), bars, params) for handle in spec.strategies}
    hold = simulate(registry.BENCHMARK_HOLD, bars, params)
    results[BENCHMARK] = replace(hold, strategy=BENCHMARK, fills=hold.fills.with_columns(strategy=pl.lit(BENCHMARK)))
    return results


def room_frames(results: dict[str, SimulationResult], job_id: str, organization: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All fills and all equity curves of a room as two long frames, tagged with job and organization."""
    tag = {"job_id": pl.lit(job_id), "organization": pl.lit(organization)}
    fills = pl.concat([r.fills.with_columns(**tag) for r in results.values()], how="vertical")
    equity = pl.concat(
        [r.equity.with_columns(strategy=pl.lit(h), **tag) for h, r in results.items()], how="vertical"
    )
    return fills, equity


def run_records(results: dict[str, SimulationResult], job_id: str, organization: str) -> pl.DataFrame:
    """One row per simulated strategy: its flags and its decision runtime."""
    return pl.DataFrame(
        {
            "job_id": job_id,
            "organization": organization,
            "strategy": list(results),
            "flags": [",".join(r.flags) for r in results.values()],
            "runtime_ms": [r.runtime_ms for r in results.values()],
        }
    )
