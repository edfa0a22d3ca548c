"""Fill-model parameters: per-venue profiles, the job's overrides, and the per-bar inputs the kernel prices with.

The laws and the reasons for each default are in docs/engine.md ("Fills").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class VenueProfile:
    """How one venue fills. `half_spread_bps` applies only where the archive has no bid/ask; the impact
    coefficient Y of the square-root law; the participation cap as a share of the bar's volume (None: no cap,
    for venues whose volume is not traded size); the daily financing rate on borrowed cash and short notional."""

    half_spread_bps: float
    impact_coefficient: float
    participation_cap: float | None
    financing_daily_rate: float


CRYPTO = VenueProfile(half_spread_bps=1.0, impact_coefficient=1.0, participation_cap=0.10, financing_daily_rate=0.0002)
VENUE_PROFILES: dict[str, VenueProfile] = {
    "coinbase": CRYPTO,
    "bitstamp": CRYPTO,
    "binance": CRYPTO,
    "cryptodatadownload": CRYPTO,
    # OANDA's volume is a tick count, not traded size: no impact, no participation cap; spread from bid/ask
    "oanda": VenueProfile(half_spread_bps=0.5, impact_coefficient=0.0, participation_cap=None, financing_daily_rate=0.0001),
    "us_equities": VenueProfile(half_spread_bps=2.0, impact_coefficient=1.0, participation_cap=0.05, financing_daily_rate=0.00015),
}


def venue_profile(venue: str) -> VenueProfile:
    """The venue's profile; an unknown venue fills like a crypto exchange (the most conservative defaults)."""
    return VENUE_PROFILES.get(venue, CRYPTO)


@dataclass(frozen=True)
class MarketFill:
    """The fill parameters of one market of a job (its venue's profile with the job's overrides applied)."""

    half_spread: float = 0.0  # fraction of the mid, used where the bars carry no bid/ask
    impact_coefficient: float = 0.0
    participation_cap: float | None = None


@dataclass(frozen=True)
class ExecutionParams:
    """Everything the engine needs besides the bars and the strategy (the application layer maps a job onto them: pipeline/execution.py)."""

    initial_capital: float
    fee_rate: float
    slippage_rate: float
    max_position_per_market: float
    max_gross_leverage: float
    max_net_leverage: float
    halt_drawdown: float
    max_daily_loss: float = math.inf
    decision_every: int = 1
    latency_bars: int = 0
    financing_daily_rate: float = 0.0
    markets: dict[str, MarketFill] = field(default_factory=dict)  # market key -> fill parameters

    def market(self, key: str) -> MarketFill:
        return self.markets.get(key, MarketFill())


VOLATILITY_BARS = 20


def bar_volatility(opens: np.ndarray, highs: np.ndarray, lows: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """Per bar t, the volatility known at its open: the standard deviation of the last `VOLATILITY_BARS`
    close-to-close log returns ending at close t-1; where fewer than two such returns exist, the previous
    bar's log high/low range; 0 at the first bar (nothing is known yet). Columns are markets."""
    log_returns = np.diff(np.log(closes), axis=0)
    zero = np.zeros((1, closes.shape[1]))
    cumsum = np.vstack([zero, np.cumsum(log_returns, axis=0)])  # cumsum[i] = sum of the first i returns
    cumsq = np.vstack([zero, np.cumsum(log_returns**2, axis=0)])
    bar = np.arange(closes.shape[0])
    k = np.clip(bar - 1, 0, VOLATILITY_BARS)  # returns that ended at or before close t-1
    end = np.maximum(bar - 1, 0)
    s = cumsum[end] - cumsum[end - k]
    sq = cumsq[end] - cumsq[end - k]
    k_ = np.maximum(k, 2)[:, None]
    sigma = np.sqrt(np.maximum(sq - s * s / k_, 0.0) / (k_ - 1))
    previous_range = np.vstack([zero, np.log(highs[:-1] / lows[:-1])])
    sigma = np.where((k >= 2)[:, None], sigma, previous_range)
    sigma[0] = 0.0
    return sigma
