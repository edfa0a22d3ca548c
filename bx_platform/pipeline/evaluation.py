"""Evaluate a whole Battle Room: the metric set of every strategy (and the Benchmark Hold), per battle
session and for the whole window, as one long table (strategy, scenario, metric, value)."""

from __future__ import annotations

import polars as pl

from bx_platform.evaluation.context import label_regimes
from bx_platform.evaluation.report import evaluate_sessions
from bx_platform.execution.battle_room import BENCHMARK
from bx_platform.pipeline.execution import execution_params
from bx_platform.jobs.spec import JobSpec
from bx_platform.market.archive import find_dataset
from bx_platform.market.calendars import periods_per_year

WHOLE_WINDOW = "all"


def session_name(index: int) -> str:
    return f"session-{index + 1}"


def job_periods_per_year(spec: JobSpec) -> float:
    """Annualization of the job's bars, from its (shared) calendar and timeframe."""
    first = spec.markets[0]
    return periods_per_year(find_dataset(first.venue, first.symbol, spec.timeframe).calendar, spec.timeframe)


def scenario_metrics(per_strategy: dict[str, dict[str, float]], sessions: int) -> tuple[dict, list[dict]]:
    """One strategy's whole-window metrics and its per-session metrics in session order."""
    return per_strategy[WHOLE_WINDOW], [per_strategy[session_name(i)] for i in range(sessions)]


def principal_market(spec: JobSpec) -> str:
    """The market whose regimes label the bars: the first market of the spec."""
    return spec.markets[0].key


def evaluate_job(record: dict, bars: pl.DataFrame, fills: pl.DataFrame, equity: pl.DataFrame) -> pl.DataFrame:
    spec = JobSpec.model_validate(record["spec"])
    trials = record["pinned"]["trials"]
    params = execution_params(spec)
    regimes = label_regimes(bars, market=principal_market(spec))
    hold = equity.filter(pl.col("strategy") == BENCHMARK).sort("ts")
    ppy = job_periods_per_year(spec)
    rows = []
    for strategy in [*spec.strategies, BENCHMARK]:
        curve = equity.filter(pl.col("strategy") == strategy).sort("ts")
        result = evaluate_sessions(
            curve,
            fills.filter(pl.col("strategy") == strategy).sort("ts"),
            hold,
            sessions=spec.sessions,
            periods_per_year=ppy,
            max_gross_leverage=params.max_gross_leverage,
            n_trials=max(1, int(trials["n"])),
            sr_variance=float(trials["sharpe_variance"]),
            initial_capital=spec.capital.initial,
            regimes=regimes,
        )
        scenarios = [(WHOLE_WINDOW, result["window"])] + [
            (session_name(i), metrics) for i, metrics in enumerate(result["sessions"])
        ]
        for scenario, metrics in scenarios:
            rows.extend((strategy, scenario, name, value) for name, value in metrics.items())
    return pl.DataFrame(rows, schema=["strategy", "scenario", "metric", "value"], orient="row").with_columns(
        job_id=pl.lit(record["job_id"]), organization=pl.lit(spec.organization)
    )


def metrics_by_strategy(metrics: pl.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """{strategy: {scenario: {metric: value}}} from the long table."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for strategy, scenario, metric, value in metrics.select("strategy", "scenario", "metric", "value").iter_rows():
        out.setdefault(strategy, {}).setdefault(scenario, {})[metric] = value
    return out
