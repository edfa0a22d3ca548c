"""Real series from the shared archive, read directly (independently of the project's importers)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

MARKET = Path("/work/shared/data/market")
BTC_1D = MARKET / "crypto" / "coinbase_btcusd_1d.cryptodatadownload.csv"
BTC_1H = MARKET / "crypto" / "coinbase_btcusd_1h.cryptodatadownload.csv"
STOCKS = MARKET / "equity" / "us_stocks_daily_2000_2013.csv.gz"


@lru_cache
def btc_daily() -> pl.DataFrame:
    """Coinbase BTC/USD daily bars, ascending: ts, open, high, low, close, volume (base units)."""
    df = pl.read_csv(BTC_1D, skip_rows=1)  # first line is a banner
    return (
        df.select(
            pl.col("date").str.to_date().cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("ts"),
            "open", "high", "low", "close", pl.col("volume_btc").alias("volume"),
        ).sort("ts")
    )


@lru_cache
def btc_hourly_close() -> np.ndarray:
    df = pl.read_csv(BTC_1H, skip_rows=1)
    return (
        df.with_columns((pl.col("date") + pl.lit(":00")).str.to_datetime("%Y-%m-%d %I-%p:%M"))
        .sort("date").unique("date", keep="first", maintain_order=True)["close"].to_numpy()
    )


@lru_cache
def stocks() -> pl.DataFrame:
    return pl.read_csv(STOCKS).with_columns(pl.col("Date").str.to_date()).sort(["Ticker", "Date"])


def stock(ticker: str, column: str = "Close") -> pl.DataFrame:
    return stocks().filter(pl.col("Ticker") == ticker).select("Date", pl.col(column).alias("px"))
