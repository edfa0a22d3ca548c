"""The official private evaluation of a job (docs/private-evaluation.md): its eleven hidden scenarios built,
run through the same engine as the real window, and reduced to scores before anything is written.

What leaves this module is per-scenario scores (`private_scenarios`: kind, utility, beta, BX Score, costs,
flags) and, operator only, each scenario's bars hash and source (`scenario_audit`) and each strategy's daily
returns on the real-sister scenario (`private_sister_returns`, real archive bars, for the cross-organization
duplicate check). Scenario bars, fills, equity curves and seeds are never written anywhere; remote models'
calls on scenarios are not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bx_platform.evaluation.context import label_regimes, market_context
from bx_platform.evaluation.report import daily_frame, evaluate_strategy
from bx_platform.execution.battle_room import BENCHMARK, run_room
from bx_platform.execution.simulator import market_data
from bx_platform.jobs.spec import PRIVATE_EVALUATION, JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.market.archive import find_dataset
from bx_platform.pipeline.evaluation import job_periods_per_year, principal_market
from bx_platform.pipeline.execution import execution_params, funding_rates
from bx_platform.pipeline.staging import bars_by_market
from bx_platform.scenarios import REAL_SISTER, SCENARIO_NAMES, Scenario, build_scenario, build_scenarios, scenario_seeds, seed_commitments
from bx_platform.scenarios.bars import Bars, bars_sha256
from bx_platform.scenarios.seeds import COMMITMENT_FORMAT, commitment, scenario_secret
from bx_platform.scoring.bx_score import compute_bx_score
from bx_platform.scoring.contest_score import ContestEntry, duplicate_clusters
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.room import scenario_utility
from bx_platform.scoring.utility import beta_score
from bx_platform.strategies.handles import HandleRegistry
from bx_platform.strategies.session import StrategySession
from bx_platform.warehouse.schema import TABLES
from bx_platform.warehouse.store import Warehouse


class ScenarioSecretChanged(Exception):
    """The server's scenario secret is not the one the job's commitments were made with."""


def is_private_evaluation(record: dict) -> bool:
    return record["spec"].get("job_type") == PRIVATE_EVALUATION


def scenario_pins(job_id: str) -> dict:
    """What a private evaluation's record pins at submission: a commitment to each scenario's seed."""
    secret, _ = scenario_secret()
    return {"format": COMMITMENT_FORMAT, "commitments": seed_commitments(job_id, scenario_seeds(secret, job_id))}


def job_seeds(record: dict) -> dict[str, str]:
    """The job's seeds under the server's secret, checked against its commitments (operator use only)."""
    secret, _ = scenario_secret()
    seeds = scenario_seeds(secret, record["job_id"])
    if seed_commitments(record["job_id"], seeds) != record["pinned"]["scenarios"]["commitments"]:
        raise ScenarioSecretChanged(
            f"the server's scenario secret does not reproduce the commitments of {record['job_id']}: "
            "it was submitted under another secret"
        )
    return seeds


def job_scenarios(record: dict, spec: JobSpec, bars: Bars, archive_dir: Path | None = None) -> list[Scenario]:
    return build_scenarios(job_seeds(record), bars, spec.timeframe, archive_dir)


def verify_revealed_seeds(record: dict, revealed: dict[str, str], real_bars: Bars | None = None,
                          audit: pl.DataFrame | None = None, archive_dir: Path | None = None) -> list[str]:
    """Problems with revealed seeds (empty: verified): each scenario's seed must match its commitment in the
    record; with the job's real bars and its `scenario_audit` rows, each seed must also rebuild bars whose hash
    is the one recorded when the job ran."""
    job_id = record["job_id"]
    committed = record.get("pinned", {}).get("scenarios", {}).get("commitments")
    if not committed:
        return [f"{job_id} is not a private evaluation: its record holds no scenario commitments"]
    problems = []
    for name in SCENARIO_NAMES:
        seed = revealed.get(name)
        if not isinstance(seed, str):
            problems.append(f"{name}: no seed revealed")
        elif commitment(job_id, name, seed) != committed.get(name):
            problems.append(f"{name}: the revealed seed does not match the commitment {committed.get(name)}")
    if problems or real_bars is None or audit is None:
        return problems
    spec = JobSpec.model_validate(record["spec"])
    recorded = dict(zip(audit["scenario"], audit["bars_sha256"]))
    for name in SCENARIO_NAMES:
        rebuilt = build_scenario(name, revealed[name], real_bars, spec.timeframe, archive_dir).bars_sha256
        if rebuilt != recorded.get(name):
            problems.append(f"{name}: the seed rebuilds bars with sha256 {rebuilt}, the run recorded {recorded.get(name)}")
    return problems


def _long(bars: Bars) -> pl.DataFrame:
    return pl.concat([frame.with_columns(market=pl.lit(key)) for key, frame in bars.items()], how="diagonal_relaxed")


@dataclass(frozen=True)
class PrivateRun:
    """What a private evaluation's execution step writes: the tables named by the fields."""

    private_scenarios: pl.DataFrame
    scenario_audit: pl.DataFrame
    private_sister_returns: pl.DataFrame


def execute_private_scenarios(record: dict, spec: JobSpec, store: Warehouse, jobs: JobStore, archive_dir: Path | None = None) -> int:
    """A private evaluation's eleven hidden scenarios run on the job's verified bars, and only their scores,
    bar hashes and sister returns written (verified); returns how many scenarios ran (0 for other jobs)."""
    if not is_private_evaluation(record):
        return 0
    job_id = record["job_id"]
    run = run_private_scenarios(record, spec, bars_by_market(store.read("verified", "market_bars", job_id), spec), jobs, archive_dir)
    for table in ("private_scenarios", "scenario_audit", "private_sister_returns"):
        store.write("verified", table, job_id, getattr(run, table))
    return run.scenario_audit.height


def run_private_scenarios(
    record: dict, spec: JobSpec, real_bars: Bars, jobs: JobStore, archive_dir: Path | None = None
) -> PrivateRun:
    """Run every strategy and the Benchmark Hold on each hidden scenario and reduce each run to its scores."""
    version = load_score_version(spec.scoring_version)
    ppy = job_periods_per_year(spec)
    principal = principal_market(spec)
    first = spec.markets[0]
    asset_class = find_dataset(first.venue, first.symbol, spec.timeframe, archive_dir).asset_class
    trials = record["pinned"]["trials"]
    rows, audit, sister_returns = [], [], []
    for scenario in job_scenarios(record, spec, real_bars, archive_dir):
        params = scenario.shock.apply(execution_params(spec))
        grid = next(iter(scenario.bars.values()))["ts"]
        data = market_data(scenario.bars, params, spec.timeframe, funding_rates(spec, grid, archive_dir))
        # a fresh session per scenario: strategies start from scratch; remote calls on hidden bars are not kept
        with StrategySession(record["pinned"]["strategies"], HandleRegistry(jobs.engine)) as session:
            strategies = {handle: session.open(handle) for handle in spec.strategies}
            results = run_room(data, params, strategies, spec.timeframe, seed_key=f"{record['job_id']}/{scenario.name}")
        long = _long(scenario.bars)
        regimes = label_regimes(long, market=principal)
        context = market_context(long, ppy, asset_class=asset_class, market=principal)
        hold_equity = results[BENCHMARK].equity.sort("ts")
        measured = {}
        for handle, result in results.items():
            measured[handle] = evaluate_strategy(
                result.equity.sort("ts"), result.fills.sort("ts"), hold_equity, periods_per_year=ppy,
                max_gross_leverage=params.max_gross_leverage, n_trials=max(1, int(trials["n"])),
                sr_variance=float(trials["sharpe_variance"]), initial_capital=spec.capital.initial, regimes=regimes,
            )
        hold_utility = scenario_utility(measured[BENCHMARK], version)
        gap = _gap_times(real_bars, scenario.gap)
        if scenario.kind == REAL_SISTER:
            sister_returns += [
                {"job_id": record["job_id"], "organization": spec.organization, "strategy": handle, "day": day, "ret": ret}
                for handle in spec.strategies for day, ret in daily_frame(results[handle].equity.sort("ts")).select("day", "ret").rows()
            ]
        for handle, result in results.items():
            m, fills = measured[handle], result.fills
            u = scenario_utility(m, version)
            rows.append({
                "job_id": record["job_id"], "organization": spec.organization, "strategy": handle,
                "scenario": scenario.name, "kind": scenario.kind, "utility": u, "hold_utility": hold_utility,
                "beta_score": beta_score(u, hold_utility), "bx_score": compute_bx_score(m, context, version).score,
                "total_return": m["total_return"], "max_drawdown": m["max_drawdown"], "sharpe": m["sharpe"],
                "fills": fills.height,
                "fills_in_outage": int(fills.filter(pl.col("ts").is_between(*gap, closed="left")).height) if gap else 0,
                "fees": float(fills["fee"].sum()), "spread_cost": float(fills["spread_cost"].sum()),
                "impact_cost": float(fills["slippage_cost"].sum()), "traded_notional": float(fills["notional"].sum()),
                "flags": ",".join(result.flags),
            })
        audit.append({
            "job_id": record["job_id"], "organization": spec.organization, "scenario": scenario.name,
            "kind": scenario.kind, "bars_sha256": bars_sha256(scenario.bars), "bars": grid.len(), "source": scenario.source,
        })
    return PrivateRun(pl.DataFrame(rows), pl.DataFrame(audit), pl.DataFrame(sister_returns, schema=TABLES["private_sister_returns"]))


def private_duplicates(warehouse: Warehouse, duplicate_correlation: float, min_overlap_days: int) -> pl.DataFrame:
    """Near-duplicate strategies across organizations, on the real-sister scenario: every private evaluation's
    strategies whose daily returns on their sister bars (real archive rows, shared by every job on that market
    and window) correlate at least `duplicate_correlation` over at least `min_overlap_days` common days
    (scoring.contest_score's rule and clusters), kept when a cluster spans two organizations or more. Operator
    only: a client is never told another organization's strategies."""
    returns = warehouse.read_verified("private_sister_returns")
    entries = [
        ContestEntry(f"{job_id}/{strategy}", organization, job_id, strategy, "private", group["day"].to_numpy(), group["ret"].to_numpy(), 0.0)
        for (job_id, organization, strategy), group in returns.sort("day").group_by(["job_id", "organization", "strategy"], maintain_order=True)
    ]
    rows = []
    for cluster in duplicate_clusters(entries, duplicate_correlation, min_overlap_days):
        organizations = sorted({e.organization for e in cluster})
        if len(organizations) > 1:
            rows += [
                {"cluster_id": cluster[0].entry_id, "job_id": e.job_id, "organization": e.organization, "strategy": e.strategy_handle,
                 "cluster_size": len(cluster), "organizations": ",".join(organizations)}
                for e in cluster
            ]
    return pl.DataFrame(rows, schema=TABLES["private_duplicates"])


def _gap_times(real_bars: Bars, gap: tuple[int, int] | None):
    """[first missing bar's ts, first bar after the outage's ts) of an outage, in real time."""
    if gap is None:
        return None
    ts = next(iter(real_bars.values()))["ts"]
    return ts[gap[0]], ts[gap[1]] if gap[1] < ts.len() else ts[-1]
