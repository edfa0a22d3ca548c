"""CapitalScore: the robust allocation diagnostic (docs/scoring.md, "CapitalScore"). Secondary to the beta score.

    L      = min(U_ci_low, min_s U_s)          robust lower utility: the bootstrap lower bound, or the worst
                                               scenario if that is lower (a fragile strategy is as good as its
                                               worst battle session)
    shrink = DSR · n / (n + n0)                luck-vs-skill and sample-size confidence, in [0, 1]
    CapitalScore = 100 · L · shrink   if L > 0
                 = 100 · L            if L ≤ 0  (uncertainty never makes a loss look smaller)

It takes no ContestScore input by construction (and this module imports nothing from contest_score).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DEFAULT_N0_DAYS = 60.0


def robust_lower_utility(scenario_utilities: Sequence[float], utility_ci_low: float) -> float:
    """min(U_ci_low, worst scenario utility)."""
    return min(float(utility_ci_low), min(float(u) for u in scenario_utilities))


def confidence_shrink(dsr: float, n_observations: int, n0: float = DEFAULT_N0_DAYS) -> float:
    """DSR · n/(n + n0): 0 with no evidence, → DSR as the sample grows."""
    return float(dsr) * n_observations / (n_observations + n0)


def capital_score(
    scenario_utilities: Sequence[float],
    utility_ci_low: float,
    dsr: float,
    n_observations: int,
    *,
    n0: float = DEFAULT_N0_DAYS,
) -> float:
    """CapitalScore (utility points; see the module formula).

    scenario_utilities: U per battle session (at least one); utility_ci_low: lower bound of the utility's
    bootstrap interval; dsr: Deflated Sharpe Ratio in [0, 1]; n_observations: number of daily returns;
    n0: sample-size half-point in days (score version `capital.n0_days`).
    Returns NaN when any input is NaN/inf (the eligibility "finite" gate then names it);
    raises ValueError on structurally invalid input.
    """
    if len(scenario_utilities) == 0:
        raise ValueError("capital_score needs at least one scenario utility")
    if n_observations < 0 or n0 <= 0:
        raise ValueError(f"capital_score needs n_observations >= 0 and n0 > 0 (got {n_observations}, {n0})")
    values = [float(u) for u in scenario_utilities] + [float(utility_ci_low), float(dsr)]
    if not all(math.isfinite(v) for v in values):
        return math.nan
    if not 0.0 <= dsr <= 1.0:
        raise ValueError(f"dsr must be a probability in [0, 1] (got {dsr!r})")
    low = robust_lower_utility(scenario_utilities, utility_ci_low)
    if low <= 0.0:
        return 100.0 * low
    return 100.0 * low * confidence_shrink(dsr, n_observations, n0)
