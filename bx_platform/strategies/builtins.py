"""Built-in strategies, point in time. Each splits capital equally between the job's markets.

Each answers `decide(observation)` from the observation's closes alone, and offers `target_frame(bars)`, the
same rule over the whole window at once (the engine's fast path): row t of the frame is what `decide` answers
at bar t's close, NaN where it answers "no change". Both compute each statistic with the same code over the
same window of closes (the same NumPy reduction on `sliding_window_view` rows, or the same compiled function),
so they agree bit for bit; a test checks it on real bars, and the engine's look-ahead audit checks the frame on
every job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from numba import njit
from numpy.lib.stride_tricks import sliding_window_view

from bx_platform.strategies.base import Observation


def _closes(observation: Observation) -> dict[str, np.ndarray]:
    return {key: window["close"] for key, window in observation.markets.items()}


def _window_rows(close: np.ndarray, length: int) -> np.ndarray:
    """Row i = the `length` closes ending at bar i + length - 1 (empty when there are fewer bars)."""
    if close.size < length:
        return np.empty((0, length))
    return sliding_window_view(close, length)


ROWS_PER_CHUNK = 8192  # windows reduced at a time: bounded temporaries (the reductions are per row, so unchanged)


def _by_chunks(rows: np.ndarray, reduce) -> np.ndarray:
    """`reduce` (row-wise) over the window rows a chunk at a time."""
    if len(rows) == 0:
        return reduce(rows)
    return np.concatenate([reduce(rows[i : i + ROWS_PER_CHUNK]) for i in range(0, len(rows), ROWS_PER_CHUNK)])


def _mean_rows(rows: np.ndarray) -> np.ndarray:
    return _by_chunks(rows, lambda chunk: chunk.mean(axis=1))


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
            slow = _mean_rows(_window_rows(close, self.slow))
            fast = _mean_rows(_window_rows(close, self.fast)[self.slow - self.fast :])
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
            if close.size <= self.period:  # a window (or an audit cut) shorter than the period: flat throughout
                out[key] = np.zeros(close.size)
                continue
            trailing = close[self.period :] / close[: close.size - self.period] - 1.0
            out[key] = _aligned(np.sign(trailing) * share, close.size, 0.0)
        return out


@njit(cache=True, error_model="numpy")
def _zscore(window: np.ndarray) -> float:
    """(last − mean) / sample standard deviation of one window of closes, summed in order (NaN if flat)."""
    n = window.size
    total = 0.0
    for x in window:
        total += x
    mean = total / n
    squares = 0.0
    for x in window:
        squares += (x - mean) * (x - mean)
    return (window[n - 1] - mean) / np.sqrt(squares / (n - 1))


@njit(cache=True, error_model="numpy")
def _zscores(close: np.ndarray, window: int) -> np.ndarray:
    """`_zscore` of every window of `window` closes (NaN before the first full one)."""
    out = np.full(close.size, np.nan)
    for t in range(window - 1, close.size):
        out[t] = _zscore(close[t - window + 1 : t + 1])
    return out


@dataclass(frozen=True)
class ZScoreMeanReversion:
    """Mean reversion: enter long when the close is `entry` sample deviations below the mean of the last
    `window` closes, exit when it is back above that mean; in between, no change. The z-score is one compiled
    function that both `decide` and `target_frame` call, window by window."""

    handle: str = "bx/mean-reversion"
    window: int = 20
    entry: float = 1.5

    @property
    def lookback(self) -> int:
        return self.window

    def _targets(self, zscore: np.ndarray, share: float) -> np.ndarray:
        """Per z-score: share (enter), 0 (exit) or NaN (no change)."""
        return np.where(zscore < -self.entry, share, np.where(zscore > 0.0, 0.0, np.nan))

    def decide(self, observation: Observation) -> dict[str, float] | None:
        share = 1.0 / len(observation.markets)
        out = {}
        for key, close in _closes(observation).items():
            if close.size >= self.window:
                target = self._targets(np.array([_zscore(np.ascontiguousarray(close[-self.window :]))]), share)[0]
                if target == target:
                    out[key] = float(target)
        return out or None

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        share = 1.0 / len(bars)
        return {
            key: self._targets(_zscores(np.ascontiguousarray(frame["close"].to_numpy(), dtype=np.float64), self.window), share)
            for key, frame in bars.items()
        }
