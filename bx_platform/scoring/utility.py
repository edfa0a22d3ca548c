"""Per-scenario utility and the beta score (docs/scoring.md, "Utility" and "Beta score").

U = w_r·return − w_dd·max_drawdown − w_tail·tail − w_to·turnover − w_cost·cost

All inputs are fractions of capital (0.05 = 5 %). Non-finite inputs propagate to a non-finite utility
on purpose: the eligibility gate "every value finite" then names them; nothing is silently replaced here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Keys of the evaluation layer's metric dict that feed the utility, in formula order.
UTILITY_METRIC_KEYS: tuple[str, ...] = ("total_return", "max_drawdown", "tail_cvar_95_daily", "turnover", "cost")
#: The same for the window-invariant form (score version rule `utility: rates`, bx-score-v3 on).
RATE_UTILITY_METRIC_KEYS: tuple[str, ...] = (
    "growth_rate", "max_drawdown", "tail_cvar_95_daily_after_entry", "excess_turnover", "entry_cost", "excess_cost_rate",
)


@dataclass(frozen=True)
class UtilityWeights:
    """Weights of the utility terms. Defaults are the product's MVP weights."""

    w_r: float = 1.0
    w_dd: float = 0.6
    w_tail: float = 2.0
    w_to: float = 0.3
    w_cost: float = 1.0


DEFAULT_WEIGHTS = UtilityWeights()


def utility(
    total_return: float,
    max_drawdown: float,
    tail: float,
    turnover: float,
    cost: float,
    weights: UtilityWeights = DEFAULT_WEIGHTS,
) -> float:
    """Utility of one scenario.

    total_return: total simple return over the scenario; max_drawdown: positive fraction on mark-to-market
    equity (incl. initial capital); tail: CVaR 95 % of daily (UTC) returns as a positive loss fraction;
    turnover: mean daily one-way traded notional / that day's starting equity; cost: explicit costs
    (fees + slippage) / initial capital.
    """
    return float(
        weights.w_r * total_return
        - weights.w_dd * max_drawdown
        - weights.w_tail * tail
        - weights.w_to * turnover
        - weights.w_cost * cost
    )


def utility_from_metrics(m: Mapping[str, float], weights: UtilityWeights = DEFAULT_WEIGHTS) -> float:
    """Utility from an evaluation-layer metric dict (uses `UTILITY_METRIC_KEYS`; KeyError if one is missing)."""
    return utility(
        float(m["total_return"]),
        float(m["max_drawdown"]),
        float(m["tail_cvar_95_daily"]),
        float(m["turnover"]),
        float(m["cost"]),
        weights,
    )


def rate_utility(
    growth_rate: float,
    max_drawdown: float,
    tail: float,
    excess_turnover: float,
    entry_cost: float,
    excess_cost_rate: float,
    weights: UtilityWeights = DEFAULT_WEIGHTS,
    growth_cap: float = 5.0,
) -> float:
    """Window-invariant utility (docs/scoring.md, "Utility, bx-score-v3"): every term keeps its unit on any window.

    U = w_r·clip(growth_rate, ±growth_cap) − w_dd·clip(max_drawdown, 0, 1) − w_tail·clip(tail, 0, 1)
        − w_to·excess_turnover − w_cost·(entry_cost + excess_cost_rate)

    growth_rate: log growth per year after the entry; max_drawdown: fraction (a level, not a rate); tail: daily
    CVaR 95 % of the equity after the entry, as a loss, never a bonus (a window whose worst days gained gets 0); excess_turnover: one-way turns
    per day beyond building the book once; entry_cost: the one-time cost of that build, as a fraction of capital;
    excess_cost_rate: the other costs, per year. Bounded terms keep U finite on any finite input."""
    return float(
        weights.w_r * min(max(growth_rate, -growth_cap), growth_cap)
        - weights.w_dd * min(max(max_drawdown, 0.0), 1.0)
        - weights.w_tail * min(max(tail, 0.0), 1.0)
        - weights.w_to * excess_turnover
        - weights.w_cost * (entry_cost + excess_cost_rate)
    )


def beta_score(u_strategy: float, u_hold: float) -> float:
    """Beta score = 100 × (U_strategy − U_hold) on the whole window: a difference, never a ratio.

    A ratio would explode or flip sign when the Benchmark Hold utility is near zero or negative; the
    difference is in "utility points" (1 point = 1 % of capital of risk-adjusted return) whatever the hold did.
    """
    return float(100.0 * (u_strategy - u_hold))
