"""The strategy interface: point in time.

At each decision time the engine hands a strategy an `Observation` holding only what was known then: for each
market the last `lookback` closed bars, the portfolio state and the clock. The strategy answers with target
weights per market (signed fractions of equity), or `None` for "no change". The engine fills a decision made at
bar t's close no earlier than bar t+1's open. The observation holds no reference into arrays that hold later
bars (the engine's windows are views of buffers it fills bar by bar, never rewritten), so a strategy cannot
read the future through it.

Three kinds of strategy implement `decide`: built-ins (in process), approved packages (in a sandboxed child
process that receives observations over a pipe) and remote models (an HTTP endpoint that receives the
observation as JSON, `observation_to_json`). Trusted built-ins may also offer `target_frame`, the whole-window
vectorized form used by the engine's fast path; the engine audits it for look-ahead on every job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping, Protocol, runtime_checkable

import numpy as np
import polars as pl

# Columns a strategy may see per market; bid/ask only where the archive has them.
OBSERVED_COLUMNS = ("open", "high", "low", "close", "volume", "bid", "ask")
# The JSON contract's version (docs/strategies.md, bx_platform/strategies/observation_schema.json).
OBSERVATION_SCHEMA = "bx-observation-1"


@dataclass(frozen=True)
class MarketWindow:
    """The last closed bars of one market, oldest first: open times (UTC) and one array per column."""

    ts: np.ndarray  # datetime64[us], bar open times
    columns: Mapping[str, np.ndarray]  # OBSERVED_COLUMNS present in the archive, float64

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class PortfolioState:
    """The strategy's own book at the decision time, marked at the last close."""

    cash: float
    equity: float
    positions: Mapping[str, float]  # units held per market (negative: short)
    weights: Mapping[str, float]  # signed value / equity per market
    gross_exposure: float
    net_exposure: float


@dataclass(frozen=True, slots=True)
class Observation:
    """What a strategy knows at one decision time: nothing after `decision_time`.

    The engine's observations (execution/simulator.py) compute `decision_time`, `markets` and `portfolio`
    on first use, from buffers that hold nothing after the decision time."""

    decision_time: datetime  # the close of the last observed bar (UTC)
    bar_index: int  # index of the last observed bar in the job's window
    markets: Mapping[str, MarketWindow]  # market key -> its last closed bars, spec order
    portfolio: PortfolioState
    timeframe: str = "1h"
    extra: Mapping[str, object] = field(default_factory=dict)


# A decision: target weight per market key, or None for "no change".
Decision = Mapping[str, float] | None


@runtime_checkable
class Strategy(Protocol):
    handle: str
    lookback: int  # how many closed bars per market it needs in each observation

    def decide(self, observation: Observation) -> Decision:
        """Target weights per market key once the observation's last bar has closed, or None."""
        ...


@runtime_checkable
class VectorizedStrategy(Strategy, Protocol):
    """A trusted built-in that can also emit the whole window's targets at once (the engine's fast path).

    `target_frame` must equal, bar by bar, what `decide` would answer: the look-ahead audit recomputes it on
    truncated data and compares."""

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        """Per market key, one target weight per bar (decided at that bar's close)."""
        ...


def observation_to_json(observation: Observation) -> dict:
    """The observation as the JSON document of the remote contract (schema `bx-observation-1`).

    Bar times are ISO-8601 UTC strings of bar open times; prices are numbers. Nothing in it names a file, a
    store or the job: only the clock, the bars and the strategy's own book."""
    return {
        "schema": OBSERVATION_SCHEMA,
        "decision_time": observation.decision_time.isoformat().replace("+00:00", "Z"),
        "bar_index": observation.bar_index,
        "timeframe": observation.timeframe,
        "markets": {
            key: {
                "ts": _iso(window.ts),
                **{name: np.asarray(values, dtype=float).tolist() for name, values in window.columns.items()},
            }
            for key, window in observation.markets.items()
        },
        "portfolio": {
            "cash": observation.portfolio.cash,
            "equity": observation.portfolio.equity,
            "positions": dict(observation.portfolio.positions),
            "weights": dict(observation.portfolio.weights),
            "gross_exposure": observation.portfolio.gross_exposure,
            "net_exposure": observation.portfolio.net_exposure,
        },
    }


def observation_from_json(document: dict) -> Observation:
    """The inverse of `observation_to_json` (what a sandboxed child or a Python remote model reads)."""
    markets = {
        key: MarketWindow(
            ts=_from_iso(data["ts"]),
            columns={name: np.asarray(data[name], dtype=float) for name in OBSERVED_COLUMNS if name in data},
        )
        for key, data in document["markets"].items()
    }
    portfolio = document["portfolio"]
    return Observation(
        decision_time=_parse_utc(document["decision_time"]),
        bar_index=int(document["bar_index"]),
        timeframe=document.get("timeframe", "1h"),
        markets=markets,
        portfolio=PortfolioState(
            cash=float(portfolio["cash"]),
            equity=float(portfolio["equity"]),
            positions={k: float(v) for k, v in portfolio["positions"].items()},
            weights={k: float(v) for k, v in portfolio["weights"].items()},
            gross_exposure=float(portfolio["gross_exposure"]),
            net_exposure=float(portfolio["net_exposure"]),
        ),
    )


def _iso(stamps: np.ndarray) -> list[str]:
    """Bar times as ISO-8601 UTC strings to the second, all at once (one at a time is ~10x slower)."""
    return (np.datetime_as_string(np.asarray(stamps, dtype="datetime64[us]"), unit="s").astype(object) + "Z").tolist()


def _from_iso(stamps: list[str]) -> np.ndarray:
    """The inverse of `_iso`: all at once when every stamp is in its form (UTC, `Z`), else one at a time."""
    if all(stamp.endswith("Z") for stamp in stamps):
        return np.array([stamp[:-1] for stamp in stamps], dtype="datetime64[us]")
    return np.array([np.datetime64(_parse_utc(t).replace(tzinfo=None), "us") for t in stamps], dtype="datetime64[us]")


def _parse_utc(stamp: str) -> datetime:
    """An ISO-8601 time with any UTC offset (or `Z`), as an aware UTC datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(timezone.utc)


class StrategyViolation(Exception):
    """A strategy broke the contract at one decision: `kind` is one of VIOLATION_KINDS."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


# How a strategy can break the contract (docs/strategies.md); the engine flags `strategy_violation: KIND at TIME`.
VIOLATION_KINDS = ("exception", "timeout", "non_finite", "unknown_market", "malformed", "process_died")
