"""Plausibility of market bars: every real bar of the archive passes the market gate; an absurd bar fails it,
named by expectation, column and count."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import polars as pl
import pytest

from bx_platform.market.archive import list_datasets, read_bars
from bx_platform.market.plausibility import BOUNDS, MOVE, bounds_for, with_moves
from bx_platform.defs.quality import market_gate

DAY = datetime(2018, 2, 1, 12, tzinfo=timezone.utc)


def _archive_bars(venue: str, symbol: str, timeframe: str, market: str) -> pl.DataFrame:
    info = next(d for d in list_datasets() if (d.venue, d.symbol, d.timeframe) == (venue, symbol, timeframe))
    end = info.end.replace(year=info.end.year + 1)
    return read_bars(venue, symbol, timeframe, info.start, end).with_columns(market=pl.lit(market))


def test_every_real_bar_of_the_archive_is_plausible():
    frames, classes = [], {}
    for info in list_datasets():
        key = f"{info.venue}:{info.symbol}:{info.timeframe}"
        frames.append(_archive_bars(info.venue, info.symbol, info.timeframe, key).select("market", "ts", "open", "high", "low", "close", "volume"))
        classes[key] = info.asset_class
    assert set(classes.values()) == set(BOUNDS)
    gate = market_gate(pl.concat(frames), classes)
    assert gate.success, gate.summary()


def test_moves_are_per_market_from_the_previous_close():
    bars = pl.DataFrame(
        {
            "market": ["a", "a", "a", "b", "b"],
            "ts": [1, 2, 3, 1, 2],
            "open": [10.0, 10.0, 40.0, 5.0, 5.0],
            "close": [10.0, 20.0, 40.0, 5.0, 2.5],
        }
    )
    moves = with_moves(bars)[MOVE].to_list()
    assert moves == pytest.approx([0.0, math.log(2), math.log(2), 0.0, math.log(2)])


@pytest.mark.parametrize(
    "column, value, expectation, failing_column",
    [
        ("close", 1e300, "expect_column_values_to_be_between", "close"),
        ("close", math.inf, "expect_column_values_to_be_between", "close"),
        ("high", 1e300, "expect_column_values_to_be_between", "high"),
        ("volume", math.inf, "expect_column_values_to_be_between", "volume"),
        ("close", math.nan, "expect_column_values_to_not_be_null", "close"),
    ],
)
def test_a_non_finite_or_absurd_price_fails_the_gate(column, value, expectation, failing_column):
    bars = _archive_bars("coinbase", "BTC/USD", "1h", "coinbase:BTC/USD").filter(pl.col("ts").dt.month() <= 3)
    doctored = bars.with_columns(pl.when(pl.col("ts") == DAY).then(value).otherwise(pl.col(column)).alias(column))
    gate = market_gate(doctored, {"coinbase:BTC/USD": "crypto"})
    assert not gate.success
    assert {"expectation": expectation, "column": failing_column, "group": "coinbase:BTC/USD", "unexpected_count": 1} in gate.failures


@pytest.mark.parametrize("asset_class, venue, symbol, timeframe", [
    ("crypto", "coinbase", "BTC/USD", "1h"), ("equity", "us_equities", "AAPL", "1d"), ("fx", "oanda", "EUR/USD", "1h"),
])
def test_a_price_beyond_the_class_bound_move_fails_the_gate(asset_class, venue, symbol, timeframe):
    """A decimal point shifted in one bar's open and close: a jump a real market of the class does not make."""
    bars = _archive_bars(venue, symbol, timeframe, "m").head(500)
    at = bars["ts"][250]
    factor = math.exp(bounds_for(asset_class).max_move) * 1.01
    doctored = bars.with_columns(
        [pl.when(pl.col("ts") == at).then(pl.col(c) * factor).otherwise(pl.col(c)).alias(c) for c in ("open", "high", "low", "close")]
    )
    gate = market_gate(doctored, {"m": asset_class})
    # the doctored bar jumps up from the bar before it and the bar after it falls back down
    assert gate.failures == [{"expectation": "expect_column_values_to_be_between", "column": MOVE, "group": "m", "unexpected_count": 2}]
    assert market_gate(bars, {"m": asset_class}).success


def test_an_unknown_asset_class_is_refused():
    with pytest.raises(ValueError, match="no plausibility bounds for asset class 'bonds'"):
        bounds_for("bonds")
