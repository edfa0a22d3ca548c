"""Statistical tiers (docs/scoring.md, "Statistical tiers"): which strategies can be told apart from the best.

Tier 1 is Hansen, Lunde and Nason's Model Confidence Set (`arch.bootstrap.MCS`, range statistic, stationary
block bootstrap) at confidence 1 − TIER_SIZE over the strategies' losses; the MCS is then run again on the
strategies left out, whose set is tier 2, and so on. Losses are per observation (a room: minus the daily
returns on the room's common days). The bootstrap is seeded from the job id, so the same room gives the same
tiers in any process.

Strategies with identical loss series are one model to the MCS (their difference has no variance, which the
test statistic cannot divide by): they are tested once and share its tier.
"""

from __future__ import annotations

import numpy as np

TIER_SIZE = 0.10  # the MCS size: tier 1 holds the best with 90 % confidence
TIER_REPS = 1000
MIN_TIER_OBSERVATIONS = 10  # fewer: nothing can be told apart, every strategy is tier 1


def _distinct(losses: dict[str, np.ndarray]) -> tuple[list[str], dict[str, str]]:
    """Representatives of the distinct loss series, and each name's representative."""
    reps: list[str] = []
    rep_of: dict[str, str] = {}
    for name in sorted(losses):
        match = next((r for r in reps if np.array_equal(losses[r], losses[name])), None)
        if match is None:
            reps.append(name)
            match = name
        rep_of[name] = match
    return reps, rep_of


def mcs_tiers(losses: dict[str, np.ndarray], seed: int, size: float = TIER_SIZE, reps: int = TIER_REPS) -> dict[str, int]:
    """Tier (1 = indistinguishable from the best) of each named loss series; all series have one length.

    Lower loss is better. With fewer than MIN_TIER_OBSERVATIONS observations, or one distinct series, every
    name is tier 1."""
    if not losses:
        return {}
    names, rep_of = _distinct(losses)
    length = len(next(iter(losses.values())))
    tier_of: dict[str, int] = {}
    remaining, tier = list(names), 1
    rng = np.random.Generator(np.random.PCG64(seed))
    while remaining:
        if len(remaining) == 1 or length < MIN_TIER_OBSERVATIONS:
            included = list(remaining)
        else:
            from arch.bootstrap import MCS  # seconds to import (pandas, scipy, statsmodels): only when tiers are computed

            matrix = np.column_stack([losses[n] for n in remaining])
            mcs = MCS(matrix, size=size, reps=reps, method="R", bootstrap="stationary", seed=rng)
            mcs.compute()
            included = [remaining[int(i)] for i in mcs.included]
        tier_of.update(dict.fromkeys(included, tier))
        remaining = [n for n in remaining if n not in included]
        tier += 1
    return {name: tier_of[rep_of[name]] for name in losses}
