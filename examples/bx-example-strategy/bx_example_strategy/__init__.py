"""The 20/100-bar moving-average trend rule as a BX Platform package strategy."""

from __future__ import annotations

import numpy as np


class SmaTrend:
    """Long an equal share of each market while the mean of the last `fast` closes is above the mean of the last
    `slow` closes; flat otherwise, and flat until `slow` bars have closed."""

    handle = "example/sma-trend"
    fast = 20
    slow = 100
    lookback = slow

    def decide(self, observation) -> dict[str, float]:
        share = 1.0 / len(observation.markets)
        weights = {}
        for market, window in observation.markets.items():
            closes = np.asarray(window["close"], dtype=float)
            trending = len(closes) >= self.slow and closes[-self.fast :].mean() > closes[-self.slow :].mean()
            weights[market] = share if trending else 0.0
        return weights
