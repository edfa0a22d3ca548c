"""Round-trip trades reconstructed from fills, and the trade statistics built on them.

Fills frame columns: ``strategy, market, ts (Datetime UTC), side ("buy"/"sell"), qty (> 0), price,
notional, fee`` (``strategy`` and ``notional`` are not needed here).

Matching is FIFO per market. A fill in the direction of the open position (or with no open position)
opens a lot; a fill against it closes the oldest lots first. A fill larger than the open position closes
it and opens a lot in the other direction with the remainder, so a sell with no position opens a short.
Each (entry lot, closing fill) pair that is matched is one trade row, of the matched quantity.

Per trade: ``pnl = direction · (exit_price − entry_price) · qty − entry fees − exit fees`` where fees are
allocated pro rata to the matched quantity (direction +1 long, −1 short); ``return = pnl /
(entry_price · qty)`` (net return on the entry notional); ``holding_seconds = exit_ts − entry_ts``.
Lots still open at the end of the fills are not trades (they are open positions, marked in equity).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import polars as pl

__all__ = [
    "TRADES_SCHEMA",
    "reconstruct_trades",
    "profit_factor",
    "win_rate",
    "average_trade_return",
    "average_holding_duration",
]

TRADES_SCHEMA = {
    "market": pl.String,
    "direction": pl.Int8,
    "entry_ts": pl.Datetime("us", "UTC"),
    "exit_ts": pl.Datetime("us", "UTC"),
    "qty": pl.Float64,
    "entry_price": pl.Float64,
    "exit_price": pl.Float64,
    "pnl": pl.Float64,
    "return": pl.Float64,
    "holding_seconds": pl.Float64,
}

_EPS = 1e-12


def reconstruct_trades(fills: pl.DataFrame) -> pl.DataFrame:
    """Round-trip trades (FIFO per market, long and short) from a fills frame; see the module docstring.

    Returns columns ``market, direction (+1 long / -1 short), entry_ts, exit_ts, qty, entry_price,
    exit_price, pnl, return, holding_seconds`` sorted by exit time then market."""
    rows: dict[str, list] = {k: [] for k in TRADES_SCHEMA}
    if fills.height == 0:
        return pl.DataFrame(rows, schema=TRADES_SCHEMA)
    f = fills.select(
        pl.col("market").cast(pl.String),
        pl.col("ts").cast(pl.Datetime("us", "UTC")),
        pl.col("side").cast(pl.String).str.to_lowercase(),
        pl.col("qty").cast(pl.Float64),
        pl.col("price").cast(pl.Float64),
        pl.col("fee").cast(pl.Float64).fill_null(0.0),
    ).with_row_index("_i").sort(["market", "ts", "_i"])
    bad = f.filter(~pl.col("side").is_in(["buy", "sell"]))
    if bad.height:
        raise ValueError(f"fill side must be 'buy' or 'sell', got {bad['side'][0]!r}")
    if f.filter(~(pl.col("qty") > 0)).height:
        raise ValueError("fill qty must be > 0")

    books: dict[str, deque] = {}
    for market, ts, side, qty, price, fee in zip(
        f["market"].to_list(), f["ts"].to_list(), f["side"].to_list(),
        f["qty"].to_list(), f["price"].to_list(), f["fee"].to_list(),
    ):
        sign = 1 if side == "buy" else -1
        fee_per_unit = fee / qty
        book = books.setdefault(market, deque())
        remaining = qty
        # close opposing lots first (FIFO)
        while remaining > _EPS and book and book[0][0] != sign:
            lot = book[0]  # [direction, ts, qty, price, fee_per_unit]
            matched = min(lot[2], remaining)
            direction = lot[0]
            pnl = direction * (price - lot[3]) * matched - lot[4] * matched - fee_per_unit * matched
            entry_notional = lot[3] * matched
            rows["market"].append(market)
            rows["direction"].append(direction)
            rows["entry_ts"].append(lot[1])
            rows["exit_ts"].append(ts)
            rows["qty"].append(matched)
            rows["entry_price"].append(lot[3])
            rows["exit_price"].append(price)
            rows["pnl"].append(pnl)
            rows["return"].append(pnl / entry_notional if entry_notional else math.nan)
            rows["holding_seconds"].append((ts - lot[1]).total_seconds())
            lot[2] -= matched
            remaining -= matched
            if lot[2] <= _EPS * max(1.0, qty):
                book.popleft()
        if remaining > _EPS * max(1.0, qty):
            book.append([sign, ts, remaining, price, fee_per_unit])
    return pl.DataFrame(rows, schema=TRADES_SCHEMA).sort(["exit_ts", "market"], maintain_order=True)


def _arr(x) -> np.ndarray:
    if isinstance(x, pl.Series):
        return x.cast(pl.Float64).to_numpy()
    return np.asarray(x, dtype=np.float64)


def profit_factor(trade_pnl) -> float:
    """Gross profit / gross loss of round-trip trade PnL: ``sum(pnl > 0) / |sum(pnl < 0)|``.
    NaN with no trades (or only break-even trades); +inf with gains and no losses; 0.0 with only losses."""
    p = _arr(trade_pnl)
    gains = float(p[p > 0].sum())
    losses = float(-p[p < 0].sum())
    if losses == 0.0:
        return math.inf if gains > 0.0 else math.nan
    return gains / losses


def win_rate(trade_pnl) -> float:
    """Fraction of round-trip trades with ``pnl > 0`` (break-even counts as not winning). NaN with no trades."""
    p = _arr(trade_pnl)
    return float(np.mean(p > 0)) if p.shape[0] else math.nan


def average_trade_return(trade_returns) -> float:
    """Arithmetic mean of per-trade net returns (pnl / entry notional). NaN with no trades."""
    r = _arr(trade_returns)
    return float(np.mean(r)) if r.shape[0] else math.nan


def average_holding_duration(holding_seconds) -> float:
    """Mean holding time of round-trip trades, in seconds. NaN with no trades."""
    h = _arr(holding_seconds)
    return float(np.mean(h)) if h.shape[0] else math.nan
