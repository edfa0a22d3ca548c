"""Market context and per-bar regimes on real bars."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from bx_platform.evaluation.context import label_regimes, market_context

from ._data import FUNDING, btc_daily, stock


def test_btc_daily_context():
    bars = btc_daily()
    c = market_context(bars, 365.0, "crypto")
    lr = np.diff(np.log(bars["close"].to_numpy()))
    assert c["realized_vol"] == pytest.approx(np.std(lr, ddof=1) * math.sqrt(365), rel=1e-12)
    assert c["vol_regime"] == "high"  # 2014-2019 bitcoin: ~86 % a year
    assert c["liquidity"] in {"low", "normal", "high"}
    assert 0 < c["efficiency_ratio"] < 1 and c["trend_regime"] in {"trend", "range"}
    assert c["funding_rate_mean"] is None


def test_funding_and_equity_context():
    f = pl.read_parquet(FUNDING)
    c = market_context(btc_daily(), 365.0, "crypto", funding=f)
    assert c["funding_observations"] == f.height and c["funding_rate_mean"] == pytest.approx(f["rate"].mean())
    s = stock("AAPL").select(pl.col("Date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("ts"),
                             pl.col("px").alias("close"), pl.lit(1e7).alias("volume"))
    e = market_context(s, 252.0, "equity")
    assert e["vol_regime"] in {"low", "normal", "high"} and e["liquidity"] == "high"
    with pytest.raises(ValueError):
        market_context(s, 252.0, "bonds")


def test_label_regimes_per_bar():
    bars = btc_daily()
    lab = label_regimes(bars)
    assert lab.height == bars.height and (lab["ts"] == bars["ts"]).all()
    assert set(lab["vol_regime"].unique()) == {"high", "low"}
    assert set(lab["trend_regime"].unique()) == {"trend", "range"}
    assert lab["vol_regime"].null_count() == 0 and lab["trend_regime"].null_count() == 0
    # a straight line is a trend everywhere
    line = bars.with_columns(pl.Series("close", np.linspace(100, 200, bars.height)))
    assert (label_regimes(line)["trend_regime"] == "trend").all()


def test_multi_market_bars_pick_one():
    b = btc_daily()
    two = pl.concat([b.with_columns(pl.lit("BTC").alias("market")),
                     b.with_columns(pl.lit("ALT").alias("market"), pl.col("close") * 2)])
    assert market_context(two, 365.0, market="BTC")["market"] == "BTC"
    assert label_regimes(two, market="BTC").height == b.height
