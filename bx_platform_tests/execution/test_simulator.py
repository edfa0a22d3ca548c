"""The execution engine's accounting, on real bars: fills at the next open, fees, exact closes, halts, clips,
both paths giving the same fills."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np
import pytest

from bx_platform.execution.fill_model import ExecutionParams
from bx_platform.execution.simulator import simulate
from bx_platform.market.archive import read_bars
from bx_platform.strategies.builtins import BuyAndHold, SmaTrend, TimeSeriesMomentum, ZScoreMeanReversion

PARAMS = ExecutionParams(
    initial_capital=100_000.0, fee_rate=0.001, slippage_rate=0.0005, max_position_per_market=1.0,
    max_gross_leverage=1.0, max_net_leverage=1.0, halt_drawdown=float("inf"),
)
BTC = "coinbase:BTC/USD"


@dataclass(frozen=True)
class Scripted:
    """Target weights for every market, given decision by decision (the last one repeats)."""

    weights: tuple[float, ...]
    handle: str = "test/scripted"
    lookback: int = 1

    def decide(self, observation):
        w = self.weights[min(observation.bar_index, len(self.weights) - 1)]
        return {key: w for key in observation.markets}


def btc_bars(start=datetime(2018, 1, 1, tzinfo=timezone.utc), end=datetime(2018, 1, 8, tzinfo=timezone.utc)):
    return {BTC: read_bars("coinbase", "BTC/USD", "1h", start, end).select("ts", "open", "high", "low", "close", "volume")}


@pytest.fixture(scope="module")
def btc():
    return btc_bars()


def test_decisions_fill_at_the_next_open_with_fee_and_slippage(btc):
    result = simulate(Scripted((1.0,)), btc, PARAMS)
    bars = btc[BTC]
    [fill] = result.fills.to_dicts()
    assert fill["ts"] == bars["ts"][1] and fill["price"] == pytest.approx(bars["open"][1] * 1.0005, rel=1e-15)
    assert fill["decision_ts"] == bars["ts"][1]  # decided at bar 0's close = bar 1's open
    assert fill["notional"] + fill["fee"] == pytest.approx(100_000.0, rel=1e-12)  # fully invested, no borrowing
    assert fill["slippage_cost"] == pytest.approx(fill["qty"] * bars["open"][1] * 0.0005, rel=1e-12)
    assert result.equity["equity"][0] == 100_000.0
    assert result.equity["equity"][-1] == pytest.approx(fill["qty"] * bars["close"][-1], rel=1e-12)


def test_a_buy_the_cash_covers_is_bought_in_full(btc):
    """The documented buy sizing (vectorbt's): half the equity buys half the equity's notional, fee on top."""
    result = simulate(Scripted((0.5,)), btc, replace(PARAMS, slippage_rate=0.0))
    [fill] = result.fills.to_dicts()
    assert fill["notional"] == pytest.approx(50_000.0, rel=1e-12)
    assert result.equity["cash"][1] == pytest.approx(50_000.0 - fill["fee"], rel=1e-12)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_going_flat_closes_the_whole_position(btc, side):
    result = simulate(Scripted((side, side, side, 0.0)), btc, PARAMS)
    opened, closed = result.fills.to_dicts()
    assert closed["qty"] == pytest.approx(opened["qty"], rel=1e-15)
    assert closed["side"] != opened["side"]
    after = result.equity.slice(4)
    assert (after["gross_exposure"] == 0.0).all()
    assert after["equity"].n_unique() == 1  # flat: nothing moves any more


def test_a_drawdown_halt_liquidates_everything_and_stops_trading(btc):
    result = simulate(Scripted((-1.0,)), btc, replace(PARAMS, halt_drawdown=0.02))  # short bitcoin, first week of 2018
    [flag] = result.flags
    assert flag.startswith("halted_drawdown at ")
    assert result.fills.height == 2 and result.fills["kind"].to_list() == ["target", "flatten"]
    assert result.equity["gross_exposure"][-1] == 0.0


def test_targets_are_clipped_to_the_capital_constraints_and_each_clip_is_recorded(btc):
    two = {**btc, "coinbase:BTC/USD-copy": btc[BTC]}

    @dataclass(frozen=True)
    class Wants:
        handle: str = "test/wants"
        lookback: int = 1

        def decide(self, observation):
            return {BTC: 0.9, "coinbase:BTC/USD-copy": -0.9} if observation.bar_index == 0 else None

    params = replace(PARAMS, max_position_per_market=0.6, max_gross_leverage=1.0, max_net_leverage=0.5)
    result = simulate(Wants(), two, params)
    assert set(result.events["reason"]) >= {"clip_max_position_per_market"}
    weights = result.equity.slice(1, 1)
    assert weights["gross_exposure"][0] <= 1.0 + 1e-3 and abs(weights["net_exposure"][0]) <= 0.5 + 1e-3


@pytest.mark.parametrize("every, latency", [(1, 0), (3, 2)])
def test_the_builtins_decide_exactly_what_their_target_frames_say_and_both_paths_fill_alike(every, latency):
    bars = btc_bars(datetime(2018, 1, 1, tzinfo=timezone.utc), datetime(2018, 3, 1, tzinfo=timezone.utc))
    params = replace(PARAMS, decision_every=every, latency_bars=latency)
    for strategy in (BuyAndHold(), SmaTrend(), TimeSeriesMomentum(), ZScoreMeanReversion()):
        fast = simulate(strategy, bars, params, path="fast")
        event = simulate(strategy, bars, params, path="event")
        assert fast.path == "fast" and event.path == "event"
        assert fast.fills.height > 0, strategy.handle
        assert fast.fills.equals(event.fills), strategy.handle
        assert fast.equity.equals(event.equity), strategy.handle


@pytest.mark.parametrize("every", [1, 5])
def test_decision_cadence_and_latency(btc, every):
    params = replace(PARAMS, decision_every=every, latency_bars=2)
    result = simulate(Scripted((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)), btc, params)
    [fill] = result.fills.to_dicts()
    ts = btc[BTC]["ts"]
    decided = 7 if every == 1 else 10  # the first decision bar at or after bar 7
    assert fill["decision_ts"] == ts[decided + 1]  # the close of the deciding bar
    assert fill["ts"] == ts[decided + 1 + 2]  # two extra bars of latency
    assert result.latencies_ms.size == len(range(0, ts.len() - 1, every))


def test_non_finite_targets_stop_the_strategy_with_a_violation(btc):
    result = simulate(Scripted((np.nan,)), btc, PARAMS)
    assert result.flags == ["strategy_violation: non_finite at 2018-01-01T01:00Z"] and result.fills.height == 0
