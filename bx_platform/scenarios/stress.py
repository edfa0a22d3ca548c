"""The five stress scenarios (docs/private-evaluation.md, "Stress", has each formula and size). Each starts
from the job's real bars; the random choices (where the event falls, its exact size) come from the
scenario's seed, the same for every market of the job."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from bx_platform.execution.fill_model import ExecutionParams
from bx_platform.scenarios.bars import OPEN_QUOTES, CLOSE_QUOTES, Bars, column, log_returns, log_shape, quoted, rebuild, scale_prices

EVENT_ZONE = (0.25, 0.75)  # every event starts in the middle half of the window
CRASH_GAP, CRASH_DRAWDOWN, CRASH_BARS_SHARE = 0.10, 0.25, 0.05  # open gap, total fall, share of bars it takes
SPIKE_FACTOR, SPIKE_BARS_SHARE = 3.0, 0.10  # returns and bar ranges x3 over 10 % of the window
DROUGHT_VOLUME, DROUGHT_SPREAD = (0.03, 0.10), (3.0, 8.0)  # volume x [0.03, 0.10]; spreads x [3, 8]
FEE_SHOCK_BPS = (20.0, 40.0)  # fee + [20, 40] bps on every fill
OUTAGE_BARS_SHARE, OUTAGE_JUMP = 0.04, (0.05, 0.10)  # 4 % of the bars missing, then a jump of 5-10 %, either sign
MIN_EVENT_BARS = 3


@dataclass(frozen=True)
class ExecutionShock:
    """What a scenario changes in the engine's parameters besides the bars."""

    extra_fee_rate: float = 0.0
    spread_multiplier: float = 1.0

    def apply(self, params: ExecutionParams) -> ExecutionParams:
        markets = {key: replace(fill, half_spread=fill.half_spread * self.spread_multiplier) for key, fill in params.markets.items()}
        return replace(params, fee_rate=params.fee_rate + self.extra_fee_rate, markets=markets)


@dataclass(frozen=True)
class StressedBars:
    bars: Bars
    shock: ExecutionShock = ExecutionShock()
    gap: tuple[int, int] | None = None  # outage: the real bars [start, end) that are missing


def _event(n: int, share: float, rng: np.random.Generator) -> tuple[int, int]:
    """[start, end) of an event of max(3, share x n) bars starting in the middle half of the window."""
    length = max(MIN_EVENT_BARS, int(round(share * n)))
    start = int(rng.integers(int(EVENT_ZONE[0] * n), max(int(EVENT_ZONE[0] * n) + 1, int(EVENT_ZONE[1] * n) - length)))
    return start, min(n, start + length)


def crash(bars: Bars, rng: np.random.Generator) -> StressedBars:
    """From bar t0 every price is scaled by f_t: f = 1 - gap at t0's open, falling geometrically to
    1 - drawdown over K bars, and staying there: a 10 % gap then a 25 % total fall from the last close before it."""
    n = next(iter(bars.values())).height
    start, end = _event(n, CRASH_BARS_SHARE, rng)
    k = end - start
    factor = np.ones(n)
    steps = np.arange(k) / max(k - 1, 1)
    factor[start:end] = (1 - CRASH_GAP) * ((1 - CRASH_DRAWDOWN) / (1 - CRASH_GAP)) ** steps
    factor[end:] = 1 - CRASH_DRAWDOWN
    return StressedBars({key: scale_prices(frame, factor) for key, frame in bars.items()})


def volatility_spike(bars: Bars, rng: np.random.Generator) -> StressedBars:
    """Over K = 10 % of the bars, r'_t = mean(r) + 3 (r_t - mean(r)) and the bars' shapes x3; the path is rebuilt."""
    n = next(iter(bars.values())).height
    start, end = _event(n, SPIKE_BARS_SHARE, rng)
    out = {}
    for key, frame in bars.items():
        r, shape = log_returns(frame), log_shape(frame)
        scale = np.ones(n)
        scale[start:end] = SPIKE_FACTOR
        out[key] = rebuild(frame, r.mean() + scale[1:] * (r - r.mean()), shape * scale[:, None])
    return StressedBars(out)


def liquidity_drought(bars: Bars, rng: np.random.Generator) -> StressedBars:
    """Volume x v (v in [0.03, 0.10]) on every bar, so the square-root impact and the participation cap bite, and
    spreads x m (m in [3, 8]): the half spread of unquoted markets in the engine's parameters, the bid and ask
    of quoted ones around their mid."""
    volume = float(rng.uniform(*DROUGHT_VOLUME))
    spread = float(rng.uniform(*DROUGHT_SPREAD))
    out = {}
    for key, frame in bars.items():
        widened = {"volume": pl.col("volume") * volume}
        for bid, ask in zip((OPEN_QUOTES[0], CLOSE_QUOTES[0]), (OPEN_QUOTES[1], CLOSE_QUOTES[1])):
            if quoted(frame, bid) and quoted(frame, ask):
                mid, half = (pl.col(ask) + pl.col(bid)) / 2, (pl.col(ask) - pl.col(bid)) / 2 * spread
                widened[bid], widened[ask] = mid - half, mid + half
        out[key] = frame.with_columns(**widened)
    return StressedBars(out, ExecutionShock(spread_multiplier=spread))


def fee_shock(bars: Bars, rng: np.random.Generator) -> StressedBars:
    """The real bars; every fill pays the job's fee plus 20-40 bps."""
    return StressedBars(dict(bars), ExecutionShock(extra_fee_rate=float(rng.uniform(*FEE_SHOCK_BPS)) / 10_000.0))


def outage(bars: Bars, rng: np.random.Generator) -> StressedBars:
    """The exchange is down for K = 4 % of the bars: those bars are missing (no observation, no fill), and when it
    comes back every later price is moved by a jump J (5-10 %, either sign) on top of the path missed."""
    n = next(iter(bars.values())).height
    start, end = _event(n, OUTAGE_BARS_SHARE, rng)
    jump = float(rng.uniform(*OUTAGE_JUMP)) * (1.0 if rng.random() < 0.5 else -1.0)
    factor = np.where(np.arange(n) >= end, 1.0 + jump, 1.0)
    keep = np.ones(n, dtype=bool)
    keep[start:end] = False
    return StressedBars({key: scale_prices(frame, factor).filter(pl.Series(keep)) for key, frame in bars.items()}, gap=(start, end))
