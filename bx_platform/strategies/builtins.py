"""Built-in strategies, point in time. Each splits capital equally between the job's markets.

Each answers `decide(observation)` from the observation's closes alone, and offers `target_frame(bars)`, the
same rule over the whole window at once (the engine's fast path): row t of the frame is what `decide` answers
at bar t's close, NaN where it answers "no change". Both compute each statistic with the same NumPy reduction
over the same window of closes (`sliding_window_view` rows are those windows), so they agree bit for bit; a
test checks it on real bars, and the engine's look-ahead audit checks the frame on every job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from bx_platform.strategies.base import Observation


def _closes(observation: Observation) -> dict[str, np.ndarray]:
    return {key: window["close"] for key, window in observation.markets.items()}


def _window_rows(close: np.ndarray, length: int) -> np.ndarray:
    """Row i = the `length` closes ending at bar i + length - 1 (empty when there are fewer bars)."""
    if close.size < length:
        return np.empty((0, length))
    return sliding_window_view(close, length)


def _aligned(values: np.ndarray, n: int, fill: float) -> np.ndarray:
    """Values for the bars from the first complete window on, padded in front to n bars."""
    return np.concatenate([np.full(n - values.size, fill), values])


@dataclass(frozen=True)
class BuyAndHold:
    """Benchmark Hold: buy every market with an equal share at the first fill and keep it."""

    handle: str = "bx/buy-and-hold"
    lookback: int = 1

    def decide(self, observation: Observation) -> dict[str, float]:
        return {key: 1.0 / len(observation.markets) for key in observation.markets}

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        return {key: np.full(frame.height, 1.0 / len(bars)) for key, frame in bars.items()}


@dataclass(frozen=True)
class SmaTrend:
    """Trend following: long while the mean of the last `fast` closes is above the mean of the last `slow`
    closes, else flat (flat until `slow` closes exist)."""

    handle: str = "bx/sma-trend"
    fast: int = 20
    slow: int = 100

    @property
    def lookback(self) -> int:
        return self.slow

    def decide(self, observation: Observation) -> dict[str, float]:
        share = 1.0 / len(observation.markets)
        out = {}
        for key, close in _closes(observation).items():
            long = close.size >= self.slow and close[-self.fast :].mean() > close[-self.slow :].mean()
            out[key] = share if long else 0.0
        return out

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = 1.0 / len(bars)
        out = {}
        for key, frame in bars.items():
            close = frame["close"].to_numpy()
            slow = _window_rows(close, self.slow).mean(axis=1)
            fast = _window_rows(close, self.fast).mean(axis=1)[self.slow - self.fast :]
            out[key] = _aligned((fast > slow) * share, close.size, 0.0)
        return out


@dataclass(frozen=True)
class TimeSeriesMomentum:
    """Momentum, long or short: the sign of the trailing `period`-bar return (flat until it exists)."""

    handle: str = "bx/momentum"
    period: int = 50

    @property
    def lookback(self) -> int:
        return self.period + 1

    def decide(self, observation: Observation) -> dict[str, float]:
        share = 1.0 / len(observation.markets)
        out = {}
        for key, close in _closes(observation).items():
            out[key] = float(np.sign(close[-1] / close[-1 - self.period] - 1.0)) * share if close.size > self.period else 0.0
        return out

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = 1.0 / len(bars)
        out = {}
        for key, frame in bars.items():
            close = frame["close"].to_numpy()
            trailing = close[self.period :] / close[: close.size - self.period] - 1.0
            out[key] = _aligned(np.sign(trailing) * share, close.size, 0.0)
        return out


@dataclass(frozen=True)
class ZScoreMeanReversion:
    """Mean reversion: enter long when the close is `entry` sample deviations below the mean of the last
    `window` closes, exit when it is back above that mean; in between, no change."""

    handle: str = "bx/mean-reversion"
    window: int = 20
    entry: float = 1.5

    @property
    def lookback(self) -> int:
        return self.window

    def _targets(self, rows: np.ndarray, share: float) -> np.ndarray:
        """Per window row: share (enter), 0 (exit) or NaN (no change)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            zscore = (rows[:, -1] - rows.mean(axis=1)) / rows.std(axis=1, ddof=1)
        return np.where(zscore < -self.entry, share, np.where(zscore > 0.0, 0.0, np.nan))

    def decide(self, observation: Observation) -> dict[str, float] | None:
        share = 1.0 / len(observation.markets)
        out = {}
        for key, close in _closes(observation).items():
            if close.size >= self.window:
                target = self._targets(close[-self.window :][None, :], share)[0]
                if target == target:
                    out[key] = float(target)
        return out or None

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = 1.0 / len(bars)
        return {
            key: _aligned(self._targets(_window_rows(frame["close"].to_numpy(), self.window), share), frame.height, np.nan)
            for key, frame in bars.items()
        }
