"""Real series from the project's canonical archive (data/archive), read directly with Polars."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

ARCHIVE = Path(__file__).resolve().parents[2] / "data" / "archive"
FUNDING = ARCHIVE / "binance" / "BTC-USD-PERP" / "funding.parquet"


@lru_cache
def btc_daily() -> pl.DataFrame:
    """Coinbase BTC/USD daily bars, ascending: ts, open, high, low, close, volume (base units)."""
    return pl.read_parquet(ARCHIVE / "coinbase" / "BTC-USD" / "1d.parquet").select(
        "ts", "open", "high", "low", "close", "volume"
    )


@lru_cache
def btc_hourly_close() -> np.ndarray:
    return pl.read_parquet(ARCHIVE / "coinbase" / "BTC-USD" / "1h.parquet")["close"].to_numpy()


def stock(ticker: str, column: str = "Close") -> pl.DataFrame:
    """One US stock's daily series as (Date, px): `Close` unadjusted, `Adj Close` split and dividend adjusted."""
    bars = pl.read_parquet(ARCHIVE / "us_equities" / ticker / "1d.parquet")
    price = pl.col("close") * pl.col("adj_factor") if column == "Adj Close" else pl.col("close")
    return bars.select(pl.col("ts").dt.date().alias("Date"), price.alias("px"))
