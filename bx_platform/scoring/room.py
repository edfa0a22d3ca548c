"""Score a Battle Room: every strategy's utility, beta score, BX Score, CapitalScore, ContestScore within the
room, eligibility and rank. Pure: inputs are the room's metrics and curves, output is plain data."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from bx_platform.evaluation.luck import seed_from_job_id
from bx_platform.evaluation.report import bootstrap_utility_ci, daily_frame
from bx_platform.scoring.bx_score import BXScoreResult, compute_bx_score
from bx_platform.scoring.capital_score import capital_score
from bx_platform.scoring.contest_score import ContestEntry, contest_scores
from bx_platform.scoring.eligibility import EligibilityResult, evaluate_eligibility
from bx_platform.scoring.governance import ScoreVersion
from bx_platform.scoring.leaderboard import room_leaderboard
from bx_platform.helper_process import offload
from bx_platform.scoring.tiers import mcs_tiers
from bx_platform.scoring.utility import beta_score, rate_utility, utility, utility_from_metrics

BOOTSTRAP_RESAMPLES = 1000
# the engine's flags for a strategy the risk profile stopped: `halted_drawdown at TIME`, `halted_daily_loss at TIME`
HALTED_PREFIX = "halted_"


def risk_breached(flags: list[str]) -> bool:
    """The risk profile halted the strategy (its drawdown or daily-loss limit)."""
    return any(flag.startswith(HALTED_PREFIX) for flag in flags)


@dataclass
class StrategyScore:
    strategy: str
    utility: float
    scenario_utilities: list[float]
    utility_ci: tuple[float, float]
    beta_score: float
    bx: BXScoreResult
    capital_score: float
    eligibility: EligibilityResult
    flags: list[str] = field(default_factory=list)
    contest_score: float = math.nan
    contest_cluster: str = ""
    rank: int = 0
    tier: int = 0


@dataclass
class RoomScores:
    hold_utility: float
    hold_scenario_utilities: list[float]
    strategies: list[StrategyScore]


@dataclass(frozen=True)
class StrategyInputs:
    """What the scorer needs of one strategy: its metrics per scenario and its verified curve and fills."""

    window: dict[str, float]
    sessions: list[dict[str, float]]
    equity: pl.DataFrame
    fills: pl.DataFrame
    runtime_ms: float
    flags: list[str]


def daily_series(equity: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    days = daily_frame(equity)
    return days["day"].to_numpy(), days["ret"].to_numpy()


def scenario_utility(m: dict[str, float], version: ScoreVersion) -> float:
    """The utility of one scenario's metrics in the form the version's rules name (docs/scoring.md, "Utility")."""
    weights = version.utility_weights_obj()
    if version.rules.utility == "window_totals":
        return utility_from_metrics(m, weights)
    return rate_utility(
        m["growth_rate"], m["max_drawdown"], m["tail_cvar_95_daily_after_entry"], m["excess_turnover"], m["entry_cost"],
        m["excess_cost_rate"], weights, version.rules.growth_rate_cap,
    )


def _resample_utility(window: dict[str, float], version: ScoreVersion):
    """utility(total_return, max_drawdown, tail, turnover, cost) of one bootstrap resample in the version's form;
    in the rates form, the resample's total return becomes a growth rate over the window's years and the
    trading terms stay the observed ones (as the bootstrap holds turnover and cost)."""
    weights = version.utility_weights_obj()
    if version.rules.utility == "window_totals":
        return lambda r, dd, tail, to, cost: utility(r, dd, tail, to, cost, weights)
    years, entry = window["years"], window["entry_cost"]

    def rates(r, dd, tail, to, cost):
        if not math.isfinite(r):  # the resample holds a day after a wipe-out (0 equity, no return): wiped out
            r, dd, tail = -1.0, 1.0, 1.0
        growth = (math.log1p(r) - math.log1p(-entry)) / years if r > -1.0 and entry < 1.0 and years > 0 else -math.inf
        return rate_utility(growth, dd, tail, window["excess_turnover"], entry, window["excess_cost_rate"], weights,
                            version.rules.growth_rate_cap)

    return rates


def score_strategy(
    job_id: str, strategy: str, inputs: StrategyInputs, hold_utility: float, initial_capital: float,
    max_gross_leverage: float, context: dict, version: ScoreVersion,
) -> StrategyScore:
    whole = scenario_utility(inputs.window, version)
    per_session = [scenario_utility(m, version) for m in inputs.sessions]
    low, high = bootstrap_utility_ci(
        inputs.equity, inputs.fills, initial_capital,
        _resample_utility(inputs.window, version),
        # one stream per strategy, all derived from the job id: reruns give the same interval
        seed=seed_from_job_id(f"{job_id}/{strategy}"),
        n_boot=BOOTSTRAP_RESAMPLES,
    )
    n_days = daily_frame(inputs.equity).height
    capital = capital_score(per_session, low, inputs.window["dsr"], n_days, n0=version.capital.n0_days)
    beta = beta_score(whole, hold_utility)
    # positions are not rebalanced on drift, so gross exposure may pass the cap by price moves alone; past the
    # version's tolerance, the strategy has used more capital than its budget
    thresholds = version.eligibility_thresholds()
    peak_gross = float(inputs.equity["gross_exposure"].max())
    eligibility = evaluate_eligibility(
        inputs.window,
        per_session,
        p95_runtime_ms=inputs.runtime_ms,
        budget_valid=peak_gross <= max_gross_leverage * (1.0 + thresholds.budget_drift_tolerance),
        budget_reason=f"gross exposure reached {peak_gross:.4f}, more than {thresholds.budget_drift_tolerance:.0%} "
        f"above the job's gross leverage cap {max_gross_leverage:g}",
        config_valid=not any(f.startswith("strategy_violation: non_finite") for f in inputs.flags),
        config_reason="the strategy returned target weights that are not finite numbers (traded as flat)",
        extra_values={"utility": whole, "beta_score": beta, "capital_score": capital},
        thresholds=thresholds,
        turnover_key="turnover" if version.rules.utility == "window_totals" else "excess_turnover",
        breached=version.rules.halt_ends_eligibility and risk_breached(inputs.flags),
    )
    return StrategyScore(
        strategy=strategy,
        utility=whole,
        scenario_utilities=per_session,
        utility_ci=(low, high),
        beta_score=beta,
        bx=compute_bx_score(inputs.window, context, version),
        capital_score=capital,
        eligibility=eligibility,
        flags=list(inputs.flags),
    )


def room_tiers(job_id: str, equity: dict[str, pl.DataFrame]) -> dict[str, int]:
    """Statistical tier of each strategy of a room (scoring/tiers.py): the MCS over minus the daily returns,
    on the room's common days, bootstrapped with a seed derived from the job id."""
    days = {name: daily_frame(curve).select("day", "ret") for name, curve in equity.items()}
    common = set.intersection(*(set(d["day"].to_list()) for d in days.values())) if days else set()
    losses = {name: -d.filter(pl.col("day").is_in(sorted(common)))["ret"].to_numpy() for name, d in days.items()}
    return offload(mcs_tiers, losses, seed_from_job_id(f"{job_id}/tiers"))


def score_room(
    job_id: str, organization: str, strategies: dict[str, StrategyInputs], hold: StrategyInputs,
    initial_capital: float, max_gross_leverage: float, context: dict, version: ScoreVersion,
) -> RoomScores:
    """Score each strategy against the room's Benchmark Hold, rank the room by beta score and tier it."""
    hold_utility = scenario_utility(hold.window, version)
    scored = [
        score_strategy(job_id, name, inputs, hold_utility, initial_capital, max_gross_leverage, context, version)
        for name, inputs in strategies.items()
    ]
    ranks = room_leaderboard([{"job_id": job_id, "strategy_handle": s.strategy, "beta_score": s.beta_score} for s in scored])
    rank_of = dict(zip(ranks["strategy_handle"], ranks["rank"]))
    # ContestScore within this room only (deterministic for the job); cross-job contest standings are
    # rebuilt with the leaderboard
    entries = [
        ContestEntry(s.strategy, organization, job_id, s.strategy, None, *daily_series(strategies[s.strategy].equity), s.beta_score)
        for s in scored
    ]
    contest = {
        r.entry_id: r
        for r in contest_scores(
            entries,
            duplicate_correlation=version.contest.duplicate_correlation,
            min_overlap_days=version.contest.min_overlap_days,
        )
    }
    tiers = room_tiers(job_id, {name: inputs.equity for name, inputs in strategies.items()})
    for s in scored:
        s.rank = int(rank_of[s.strategy])
        s.tier = tiers[s.strategy]
        s.contest_score = contest[s.strategy].contest_score
        s.contest_cluster = contest[s.strategy].cluster_id
    scored.sort(key=lambda s: s.rank)
    return RoomScores(
        hold_utility=hold_utility,
        hold_scenario_utilities=[scenario_utility(m, version) for m in hold.sessions],
        strategies=scored,
    )
