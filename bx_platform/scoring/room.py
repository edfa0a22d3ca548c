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
from bx_platform.scoring.utility import beta_score, utility, utility_from_metrics

BOOTSTRAP_RESAMPLES = 1000


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


def score_strategy(
    job_id: str, strategy: str, inputs: StrategyInputs, hold_utility: float, initial_capital: float,
    max_gross_leverage: float, context: dict, version: ScoreVersion,
) -> StrategyScore:
    weights = version.utility_weights_obj()
    whole = utility_from_metrics(inputs.window, weights)
    per_session = [utility_from_metrics(m, weights) for m in inputs.sessions]
    low, high = bootstrap_utility_ci(
        inputs.equity, inputs.fills, initial_capital,
        lambda r, dd, tail, to, cost: utility(r, dd, tail, to, cost, weights),
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


def score_room(
    job_id: str, organization: str, strategies: dict[str, StrategyInputs], hold: StrategyInputs,
    initial_capital: float, max_gross_leverage: float, context: dict, version: ScoreVersion,
) -> RoomScores:
    """Score each strategy against the room's Benchmark Hold, then rank the room by beta score."""
    weights = version.utility_weights_obj()
    hold_utility = utility_from_metrics(hold.window, weights)
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
    for s in scored:
        s.rank = int(rank_of[s.strategy])
        s.contest_score = contest[s.strategy].contest_score
        s.contest_cluster = contest[s.strategy].cluster_id
    scored.sort(key=lambda s: s.rank)
    return RoomScores(
        hold_utility=hold_utility,
        hold_scenario_utilities=[utility_from_metrics(m, weights) for m in hold.sessions],
        strategies=scored,
    )
