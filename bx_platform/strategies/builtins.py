"""Built-in strategies. Each splits capital equally between the job's markets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


def _equal_share(bars: dict[str, pl.DataFrame]) -> float:
    return 1.0 / len(bars)


@dataclass(frozen=True)
class BuyAndHold:
    """Benchmark Hold: buy every market with an equal share at the first fill and keep it."""

    handle: str = "bx/buy-and-hold"

    def target_weights(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = _equal_share(bars)
        return {key: np.full(frame.height, share) for key, frame in bars.items()}


@dataclass(frozen=True)
class SmaTrend:
    """Trend following: long while the fast moving average of closes is above the slow one, else flat."""

    handle: str = "bx/sma-trend"
    fast: int = 20
    slow: int = 100

    def target_weights(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = _equal_share(bars)
        out = {}
        for key, frame in bars.items():
            signal = frame.select(
                (pl.col("close").rolling_mean(self.fast) > pl.col("close").rolling_mean(self.slow)).fill_null(False)
            ).to_series()
            out[key] = signal.cast(pl.Float64).to_numpy() * share
        return out


@dataclass(frozen=True)
class TimeSeriesMomentum:
    """Momentum, long or short: the sign of the trailing `lookback`-bar return."""

    handle: str = "bx/momentum"
    lookback: int = 50

    def target_weights(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = _equal_share(bars)
        out = {}
        for key, frame in bars.items():
            trailing = frame.select(pl.col("close").pct_change(self.lookback).fill_null(0.0)).to_series()
            out[key] = np.sign(trailing.to_numpy()) * share
        return out


@dataclass(frozen=True)
class ZScoreMeanReversion:
    """Mean reversion: enter long when the close is `entry` deviations below its rolling mean,
    exit when it is back above the mean."""

    handle: str = "bx/mean-reversion"
    window: int = 20
    entry: float = 1.5

    def target_weights(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = _equal_share(bars)
        out = {}
        for key, frame in bars.items():
            close = pl.col("close")
            zscore = (
                frame.select(((close - close.rolling_mean(self.window)) / close.rolling_std(self.window)).fill_nan(None))
                .to_series()
                .to_numpy()
            )
            out[key] = _hysteresis(zscore < -self.entry, zscore > 0.0) * share
        return out


def _hysteresis(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """1 from a bar where `enter` holds until the next bar where `leave` holds, else 0."""
    state = np.full(enter.shape, np.nan)
    state[enter] = 1.0
    state[leave & ~enter] = 0.0
    # forward-fill the last decided state; before any decision the position is flat
    index = np.where(~np.isnan(state), np.arange(state.size), 0)
    np.maximum.accumulate(index, out=index)
    filled = state[index]
    return np.nan_to_num(filled, nan=0.0)
