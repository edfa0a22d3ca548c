"""Bar frames as the scenarios handle them: one frame per market (`ts, open, high, low, close, volume` and, for
quoted markets, `bid_open, ask_open, bid_close, ask_close`) on one timestamp grid, in the job's market order.

Every price transform of a scenario goes through `with_prices`, which keeps each bar consistent
(low <= open, close <= high) and moves a quoted market's bid and ask with the price they quote."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

Bars = dict[str, pl.DataFrame]
PRICES = ("open", "high", "low", "close")
OPEN_QUOTES, CLOSE_QUOTES = ("bid_open", "ask_open"), ("bid_close", "ask_close")
HASHED_COLUMNS = ("open", "high", "low", "close", "volume", *OPEN_QUOTES, *CLOSE_QUOTES)


def column(frame: pl.DataFrame, name: str) -> np.ndarray:
    return frame[name].cast(pl.Float64).to_numpy()


def quoted(frame: pl.DataFrame, name: str) -> bool:
    return name in frame.columns and frame.height > 0 and frame[name].null_count() == 0


def log_shape(frame: pl.DataFrame) -> np.ndarray:
    """Each bar's open, high and low as log ratios to its own close: an (n, 3) array."""
    close = column(frame, "close")
    return np.log(np.column_stack([column(frame, "open"), column(frame, "high"), column(frame, "low")]) / close[:, None])


def log_returns(frame: pl.DataFrame) -> np.ndarray:
    """Close-to-close log returns, n - 1 of them."""
    return np.diff(np.log(column(frame, "close")))


def with_prices(
    frame: pl.DataFrame, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
    source_rows: np.ndarray | None = None,
) -> pl.DataFrame:
    """`frame` with new prices on its own timestamps. Volume and the quotes' ratios to the price they quote come
    from `source_rows` of the frame (default: the same rows), so a resampled bar keeps its volume and spread."""
    source = frame if source_rows is None else frame[source_rows]
    high = np.maximum.reduce([high, open_, close])  # guards rounding only: inputs are consistent already
    low = np.minimum.reduce([low, open_, close])
    updates = {"open": open_, "high": high, "low": low, "close": close, "volume": column(source, "volume")}
    for names, price, reference in ((OPEN_QUOTES, open_, "open"), (CLOSE_QUOTES, close, "close")):
        for name in names:
            if quoted(frame, name):
                updates[name] = column(source, name) / column(source, reference) * price
    return frame.with_columns(**{name: pl.Series(name, values, pl.Float64) for name, values in updates.items()})


def rebuild(frame: pl.DataFrame, returns: np.ndarray, shape: np.ndarray, source_rows: np.ndarray | None = None) -> pl.DataFrame:
    """Bars rebuilt from the first close and `returns` (n - 1 close-to-close log returns), each bar drawn around
    its close with `shape` (n, 3: log open, high, low over close)."""
    close = column(frame, "close")[0] * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    ratios = np.exp(shape)
    return with_prices(frame, close * ratios[:, 0], close * ratios[:, 1], close * ratios[:, 2], close, source_rows)


def scale_prices(frame: pl.DataFrame, factor: np.ndarray) -> pl.DataFrame:
    """Every price of bar t (and its quotes) multiplied by factor[t]."""
    return with_prices(frame, *(column(frame, name) * factor for name in PRICES))


def bars_sha256(bars: Bars) -> str:
    """A hash of a scenario's bars that is the same in any process and library version: each market's key,
    its timestamps (int64 microseconds) and its price and volume columns (float64, NaN where absent), in order."""
    digest = hashlib.sha256()
    for key, frame in bars.items():
        digest.update(key.encode("utf-8") + b"\x00")
        digest.update(frame["ts"].dt.epoch("us").to_numpy().astype("<i8").tobytes())
        for name in HASHED_COLUMNS:
            values = column(frame, name) if name in frame.columns else np.full(frame.height, np.nan)
            digest.update(name.encode() + values.astype("<f8").tobytes())
    return digest.hexdigest()
