"""The execution engine's accounting, on real bars: fills at the next open, fees, exact closes, halts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pytest

from bx_platform.execution.simulator import ExecutionParams, clip_targets, simulate
from bx_platform.market.archive import read_bars

PARAMS = ExecutionParams(
    initial_capital=100_000.0, fee_rate=0.001, slippage_rate=0.0005, max_position_per_market=1.0,
    max_gross_leverage=1.0, max_net_leverage=1.0, halt_drawdown=float("inf"),
)


@dataclass(frozen=True)
class Scripted:
    """Target weights given bar by bar (the last one repeats)."""

    weights: tuple[float, ...]
    handle: str = "test/scripted"

    def target_weights(self, bars):
        frame = next(iter(bars.values()))
        w = np.full(frame.height, self.weights[-1])
        w[: len(self.weights)] = self.weights
        return {key: w.copy() for key in bars}


@pytest.fixture(scope="module")
def btc():
    bars = read_bars("coinbase", "BTC/USD", "1h", datetime(2018, 1, 1, tzinfo=timezone.utc), datetime(2018, 1, 8, tzinfo=timezone.utc))
    return {"coinbase:BTC/USD": bars}


def test_decisions_fill_at_the_next_open_with_fee_and_slippage(btc):
    result = simulate(Scripted((1.0,)), btc, PARAMS)
    bars = btc["coinbase:BTC/USD"]
    [fill] = result.fills.to_dicts()
    assert fill["ts"] == bars["ts"][1] and fill["price"] == pytest.approx(bars["open"][1] * 1.0005, rel=1e-15)
    assert fill["notional"] + fill["fee"] == pytest.approx(100_000.0, rel=1e-12)  # fully invested, no borrowing
    assert result.equity["equity"][0] == 100_000.0
    assert result.equity["equity"][-1] == pytest.approx(fill["qty"] * bars["close"][-1], rel=1e-12)


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_going_flat_closes_the_whole_position(btc, side):
    result = simulate(Scripted((side, side, side, 0.0)), btc, PARAMS)
    opened, closed = result.fills.to_dicts()
    assert closed["qty"] == pytest.approx(opened["qty"], rel=1e-15)
    assert closed["side"] != opened["side"]
    after = result.equity.slice(4)
    assert (after["gross_exposure"] == 0.0).all()
    assert after["equity"].n_unique() == 1  # flat: nothing moves any more


def test_a_halt_liquidates_everything_and_stops_trading(btc):
    params = ExecutionParams(**{**PARAMS.__dict__, "halt_drawdown": 0.02})
    result = simulate(Scripted((-1.0,)), btc, params)  # short bitcoin in the first week of 2018
    assert result.flags == ["halted_drawdown"]
    assert result.fills.height == 2
    assert result.equity["gross_exposure"][-1] == 0.0


def test_targets_are_clipped_to_the_capital_constraints():
    params = ExecutionParams(**{**PARAMS.__dict__, "max_position_per_market": 0.6, "max_gross_leverage": 1.0, "max_net_leverage": 0.5})
    clipped = clip_targets(np.array([[0.9, 0.9], [0.9, -0.9], [np.nan, 0.2]]), params)
    assert np.abs(clipped).max() <= 0.6 + 1e-12
    assert (np.abs(clipped).sum(axis=1) <= 1.0 + 1e-12).all()
    assert (np.abs(clipped.sum(axis=1)) <= 0.5 + 1e-12).all()
    assert clipped[2, 0] == 0.0


def test_non_finite_targets_are_traded_as_flat_and_flagged(btc):
    result = simulate(Scripted((float("nan"),)), btc, PARAMS)
    assert result.flags == ["non_finite_targets"] and result.fills.height == 0
