"""The point-in-time contract: a peeking strategy gains nothing on the event path and is caught on the fast
path; each way of breaking the contract stops only that strategy, at that bar, flattened at the next open."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pytest

from bx_platform.execution.simulator import market_data, simulate
from bx_platform.strategies.base import StrategyViolation, observation_to_json
from bx_platform_tests.execution.test_simulator import BTC, PARAMS, Scripted, btc_bars


@dataclass
class Peeker:
    """Long when it can find any close later than its decision bar: in the observation, behind the arrays'
    `.base` (anything written past the decision bar), or in the arrays it was handed at earlier decisions
    (kept, in case they fill up later)."""

    handle: str = "test/peeker"
    lookback: int = 5
    kept: list = field(default_factory=list)
    found_future: bool = False

    def decide(self, observation):
        window = observation.markets[BTC]
        self.kept.append(window)
        candidates = [w["close"] for w in self.kept] + [window["close"].base] + [w.ts for w in self.kept]
        seen = sum(np.asarray(c).size for c in candidates if c is not None)
        latest = max(w.ts[-1] for w in self.kept)
        if latest > window.ts[-1] or any(np.asarray(w.ts).size > self.lookback for w in self.kept):
            self.found_future = True
        for array in (window["close"], window.ts):
            behind = array.base if array.base is not None else array
            if np.any(np.asarray(behind).view(np.uint8).reshape(*behind.shape, -1)[..., observation.bar_index + 1 :, :] != 0):
                self.found_future = True
        text = repr(observation) + str(observation_to_json(observation))
        if "archive" in text or ".parquet" in text:
            self.found_future = True  # a path to the data would let it read ahead
        return {BTC: 1.0 if self.found_future else 0.0} if seen else None


def test_a_peeking_strategy_finds_no_later_bar_on_the_event_path():
    bars = btc_bars()
    peeker = Peeker()
    result = simulate(peeker, bars, PARAMS, path="event")
    assert not peeker.found_future and result.fills.height == 0


@dataclass
class Keeper:
    """Keeps every observation it is handed, to look at them again after the run."""

    handle: str = "test/keeper"
    lookback: int = 5
    kept: list = field(default_factory=list)

    def decide(self, observation):
        self.kept.append((observation, observation.markets[BTC]["close"].copy()))
        return None


def test_observations_share_no_memory_with_the_jobs_arrays_and_never_change_afterwards():
    data = market_data(btc_bars(), PARAMS)
    keeper = Keeper()
    simulate(keeper, data, PARAMS, path="event")
    assert len(keeper.kept) == data.n_bars - 1
    for t, (obs, closes_then) in enumerate(keeper.kept):
        window = obs.markets[BTC]  # built lazily, after the whole run: still the bars up to t, nothing later
        assert obs.bar_index == t and window.ts[-1] == data.ts[t] and len(window) == min(t + 1, 5)
        assert np.array_equal(window["close"], closes_then) and np.array_equal(window["close"], data.closes[max(0, t - 4) : t + 1, 0])
        for array in (window.ts, *window.columns.values()):
            assert not np.shares_memory(array, data.observed_rows) and not np.shares_memory(array, data.ts)
            assert not array.flags.writeable
        # the buffers behind the views hold nothing after the decision time at that decision (checked by
        # Peeker); the portfolio is a copy of the book at that close
        assert obs.portfolio.equity == PARAMS.initial_capital and obs.portfolio.positions == {BTC: 0.0}
        assert obs.decision_time == data.close_time(t)


@dataclass
class Trader:
    """Long, short and flat in turn; keeps the portfolio it was shown at each decision."""

    handle: str = "test/trader"
    lookback: int = 1
    shown: list = field(default_factory=list)

    def decide(self, observation):
        self.shown.append(observation.portfolio)
        return {BTC: (0.8, -0.5, 0.0)[observation.bar_index // 7 % 3]}


def test_the_portfolio_shown_at_each_decision_is_the_book_at_that_close():
    data = market_data(btc_bars(), PARAMS)
    trader = Trader()
    result = simulate(trader, data, PARAMS, path="event")
    signed = np.where(result.fills["side"].to_numpy() == "buy", 1.0, -1.0) * result.fills["qty"].to_numpy()
    bar = np.searchsorted(data.ts, result.fills["ts"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]"))
    units = np.cumsum(np.bincount(bar, weights=signed, minlength=data.n_bars))
    assert len(trader.shown) == data.n_bars - 1 and result.fills.height > 4
    for t, shown in enumerate(trader.shown):
        row = result.equity.row(t, named=True)
        assert (shown.cash, shown.equity, shown.gross_exposure, shown.net_exposure) == (
            row["cash"], row["equity"], row["gross_exposure"], row["net_exposure"]
        )
        assert shown.positions[BTC] == pytest.approx(units[t], rel=1e-12, abs=1e-12)
        assert shown.weights[BTC] == pytest.approx(units[t] * data.closes[t, 0] / row["equity"], rel=1e-12, abs=1e-15)


@dataclass(frozen=True)
class PeekingFrame:
    """A vectorized strategy that reads the next close: long before every rise."""

    handle: str = "test/peeking-frame"
    lookback: int = 2

    def decide(self, observation):  # point in time it cannot peek: the last two closes only
        close = observation.markets[BTC]["close"]
        return {BTC: 1.0 if close.size > 1 and close[-1] > close[-2] else 0.0}

    def target_frame(self, bars):
        close = bars[BTC]["close"]
        return {BTC: (close.shift(-1) > close).fill_null(False).cast(pl.Float64).to_numpy()}


def test_the_lookahead_audit_flags_a_peeking_target_frame_and_runs_it_point_in_time():
    bars = btc_bars()
    honest = simulate(PeekingFrame(), bars, PARAMS, path="event")
    caught = simulate(PeekingFrame(), bars, PARAMS, audit_seed=1234)
    assert caught.flags == ["lookahead_detected"] and caught.path == "event"
    assert caught.equity.equals(honest.equity)
    unaudited = simulate(PeekingFrame(), bars, PARAMS, audit_seed=None)
    assert unaudited.equity["equity"][-1] > 1.5 * honest.equity["equity"][-1]  # what the peek would have gained


@dataclass(frozen=True)
class Breaks:
    """Trades long, then breaks the contract at bar `at` in the way `kind` says."""

    kind: str
    at: int = 10
    handle: str = "test/breaks"
    lookback: int = 1

    def decide(self, observation):
        if observation.bar_index < self.at:
            return {BTC: 1.0}
        if self.kind == "exception":
            raise ZeroDivisionError("bug")
        if self.kind in ("timeout", "process_died"):  # what the sandbox and remote adapters raise
            raise StrategyViolation(self.kind, "adapter")
        return {
            "non_finite": {BTC: float("inf")},
            "unknown_market": {"nyse:XYZ": 1.0},
            "malformed": [0.5],
        }[self.kind]


@pytest.mark.parametrize("kind", ["exception", "timeout", "non_finite", "unknown_market", "malformed", "process_died"])
def test_each_violation_stops_the_strategy_at_that_bar_and_flattens_it_at_the_next_open(kind):
    bars = btc_bars()
    result = simulate(Breaks(kind), bars, PARAMS)
    ts = bars[BTC]["ts"]
    decided_at = ts[11].strftime("%Y-%m-%dT%H:%MZ")  # the close of bar 10
    assert result.flags == [f"strategy_violation: {kind} at {decided_at}"]
    entry, flatten = result.fills.to_dicts()
    assert flatten["kind"] == "flatten" and flatten["ts"] == ts[11] and flatten["qty"] == pytest.approx(entry["qty"])
    assert (result.equity["gross_exposure"][11:] == 0.0).all()
    assert result.latencies_ms.size == 11  # every call timed, none after the violation


def test_every_decision_call_is_timed():
    @dataclass(frozen=True)
    class Slow:
        handle: str = "test/slow"
        lookback: int = 1

        def decide(self, observation):
            time.sleep(0.002)
            return None

    bars = {BTC: btc_bars()[BTC].head(20)}
    result = simulate(Slow(), bars, PARAMS)
    assert result.latencies_ms.size == 19 and result.latency(0.5) >= 2.0 and result.runtime_ms >= 2.0
    assert simulate(Scripted((0.0,)), bars, PARAMS).latency(1.0) < 2.0


@dataclass(frozen=True)
class InfiniteFrame:
    """A vectorized strategy that answers long, then +inf from bar 10 on."""

    handle: str = "test/infinite-frame"
    lookback: int = 1

    def decide(self, observation):
        return {BTC: 1.0 if observation.bar_index < 10 else float("inf")}

    def target_frame(self, bars):
        n = bars[BTC].height
        return {BTC: np.where(np.arange(n) < 10, 1.0, np.inf)}


def test_a_non_finite_target_frame_stops_the_strategy_as_the_event_path_does():
    bars = btc_bars()
    fast = simulate(InfiniteFrame(), bars, PARAMS, path="fast")
    event = simulate(InfiniteFrame(), bars, PARAMS, path="event")
    assert fast.path == "fast" and fast.flags == event.flags == ["strategy_violation: non_finite at " + bars[BTC]["ts"][11].strftime("%Y-%m-%dT%H:%MZ")]
    assert fast.fills.height == 2 and fast.fills.equals(event.fills) and fast.equity.equals(event.equity)
