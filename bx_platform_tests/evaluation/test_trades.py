"""Round-trip reconstruction from fills (FIFO per market, long and short) and trade statistics."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bx_platform.evaluation.trades import (
    average_holding_duration,
    average_trade_return,
    profit_factor,
    reconstruct_trades,
    win_rate,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def fills(rows):
    """rows: (market, hours after T0, side, qty, price, fee)"""
    return pl.DataFrame(
        {
            "strategy": ["s"] * len(rows),
            "market": [r[0] for r in rows],
            "ts": [T0 + timedelta(hours=r[1]) for r in rows],
            "side": [r[2] for r in rows],
            "qty": [float(r[3]) for r in rows],
            "price": [float(r[4]) for r in rows],
            "notional": [float(r[3] * r[4]) for r in rows],
            "fee": [float(r[5]) for r in rows],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )


def test_long_round_trip_net_of_fees():
    t = reconstruct_trades(fills([("BTC", 0, "buy", 2, 100, 2.0), ("BTC", 24, "sell", 2, 110, 2.2)]))
    assert t.height == 1
    row = t.row(0, named=True)
    assert row["direction"] == 1 and row["qty"] == 2
    assert row["pnl"] == pytest.approx(2 * 10 - 2.0 - 2.2)
    assert row["return"] == pytest.approx((20 - 4.2) / 200)
    assert row["holding_seconds"] == 86400


def test_sell_without_position_opens_a_short():
    t = reconstruct_trades(fills([("ETH", 0, "sell", 1, 50, 0.0), ("ETH", 2, "buy", 1, 40, 0.0)]))
    assert t["direction"].to_list() == [-1]
    assert t["pnl"][0] == pytest.approx(10.0)


def test_fifo_partial_and_flip():
    f = fills([
        ("BTC", 0, "buy", 1, 100, 1.0),
        ("BTC", 1, "buy", 1, 120, 1.0),
        ("BTC", 2, "sell", 3, 110, 3.0),  # closes 1@100, 1@120, opens short 1@110
        ("BTC", 3, "buy", 1, 100, 1.0),  # closes the short
    ])
    t = reconstruct_trades(f)
    assert t["entry_price"].to_list() == [100, 120, 110]
    assert t["direction"].to_list() == [1, 1, -1]
    # fees allocated pro rata: entry fee 1 per unit, the 3-unit sell pays 1 per unit
    assert t["pnl"].to_list() == pytest.approx([10 - 1 - 1, -10 - 1 - 1, 10 - 1 - 1])


def test_markets_are_matched_separately_and_open_lots_are_not_trades():
    f = fills([("A", 0, "buy", 1, 10, 0), ("B", 1, "sell", 1, 20, 0), ("A", 2, "sell", 1, 11, 0),
               ("B", 3, "buy", 0.5, 18, 0)])
    t = reconstruct_trades(f)
    assert sorted(t["market"].to_list()) == ["A", "B"]
    b = t.filter(pl.col("market") == "B").row(0, named=True)
    assert b["qty"] == 0.5 and b["pnl"] == pytest.approx(1.0)


def test_empty_fills_and_bad_side():
    assert reconstruct_trades(fills([])).height == 0
    with pytest.raises(ValueError):
        reconstruct_trades(fills([("A", 0, "hold", 1, 10, 0)]))


def test_trade_statistics():
    pnl = [10.0, -5.0, 0.0, 15.0]
    assert profit_factor(pnl) == pytest.approx(25 / 5)
    assert win_rate(pnl) == 0.5
    assert average_trade_return([0.1, -0.1, 0.3]) == pytest.approx(0.1)
    assert average_holding_duration([3600, 7200]) == 5400
    assert math.isnan(profit_factor([])) and math.isnan(win_rate([]))
    assert profit_factor([1.0, 2.0]) == math.inf and profit_factor([-1.0]) == 0.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 5), st.integers(50, 150)),
                min_size=1, max_size=30))
def test_property_flat_book_pnl_equals_cash_flow(seq):
    """When the fills end flat, total trade PnL equals the net cash flow minus fees (no fees here)."""
    rows = [("X", i, s, q, p, 0.0) for i, (s, q, p) in enumerate(seq)]
    pos = sum(q if s == "buy" else -q for s, q, _ in seq)
    last_price = 100
    if pos:
        rows.append(("X", len(seq), "sell" if pos > 0 else "buy", abs(pos), last_price, 0.0))
    cash = sum((-q * p if s == "buy" else q * p) for _, _, s, q, p, _ in rows)
    t = reconstruct_trades(fills(rows))
    assert t["pnl"].sum() == pytest.approx(cash, abs=1e-6)
    assert (t["holding_seconds"] >= 0).all()
