"""Live (or replayed) bars from any ccxt exchange, in the archive's canonical schema.

``fetch_ohlcv_range`` pages through ccxt's own ``fetch_ohlcv(symbol, timeframe, since, limit)``: each
next page starts at the last returned open time + one timeframe; it stops at ``until``, on an empty page,
or when a page makes no progress; candles are de-duplicated by open time (first seen wins) and kept only
when ``since <= ts < until``. The last candle is dropped while it is still forming (its close time is after
the exchange clock). Tests run it offline through bx_platform.market.replay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from bx_platform.errors import InputError
from bx_platform.market.archive import OHLCV, TS_DTYPE

CANONICAL_SCHEMA = {"ts": TS_DTYPE, **{c: pl.Float64 for c in OHLCV}}


def candles_to_frame(candles: list[list]) -> pl.DataFrame:
    """ccxt candles ``[ms, open, high, low, close, volume]`` -> canonical frame (ascending, unique ts)."""
    if not candles:
        return pl.DataFrame(schema=CANONICAL_SCHEMA)
    rows = [[int(c[0]), *[None if v is None else float(v) for v in c[1:6]]] for c in candles]
    df = pl.DataFrame(rows, schema=["ms", *OHLCV], orient="row", schema_overrides={"ms": pl.Int64, **{c: pl.Float64 for c in OHLCV}})
    return (
        df.with_columns(pl.from_epoch("ms", time_unit="ms").dt.replace_time_zone("UTC").cast(TS_DTYPE).alias("ts"))
        .select("ts", *OHLCV)
        .unique(subset=["ts"], keep="first", maintain_order=True)
        .sort("ts")
    )


def fetch_ohlcv_range(
    exchange: Any,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int,
    limit: int | None = None,
    params: dict | None = None,
    max_pages: int = 100_000,
    drop_incomplete: bool = True,
) -> pl.DataFrame:
    """Every candle of ``symbol`` with ``since_ms <= open time < until_ms``, paginated; canonical frame."""
    if until_ms <= since_ms:
        return candles_to_frame([])
    tf_ms = int(exchange.parse_timeframe(timeframe)) * 1000
    seen: dict[int, list] = {}
    since = int(since_ms)
    for _ in range(max_pages):
        page = exchange.fetch_ohlcv(symbol, timeframe, since, limit, dict(params or {}))
        if not page:
            break
        last = max(int(c[0]) for c in page)
        for c in page:
            t = int(c[0])
            if since_ms <= t < until_ms and t not in seen:
                seen[t] = c
        next_since = last + tf_ms
        if next_since <= since:  # no progress: the exchange keeps answering the same page
            break
        since = next_since
        if since >= until_ms:
            break
    candles = [seen[t] for t in sorted(seen)]
    if drop_incomplete and candles:
        now = int(exchange.milliseconds())
        candles = [c for c in candles if int(c[0]) + tf_ms <= now]
    return candles_to_frame(candles)


def _ms(ts: dt.datetime, where: str) -> int:
    if not isinstance(ts, dt.datetime) or ts.tzinfo is None or ts.tzinfo.utcoffset(ts) is None:
        raise InputError(where, "expected a timezone-aware datetime")
    return int(round(ts.timestamp() * 1000))


class CcxtSource:
    """Bars from a ccxt exchange object (``ccxt.binance()`` etc.), canonical schema, window [start, end)."""

    def __init__(self, exchange: Any, limit: int | None = None, params: dict | None = None):
        self.exchange = exchange
        self.limit = limit
        self.params = dict(params or {})

    @classmethod
    def from_id(cls, exchange_id: str, config: dict | None = None, **kw) -> CcxtSource:
        import ccxt

        if exchange_id not in ccxt.exchanges:
            raise InputError("exchange", f"unknown ccxt exchange {exchange_id!r}")
        return cls(getattr(ccxt, exchange_id)(dict(config or {})), **kw)

    def fetch_bars(self, symbol: str, timeframe: str, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        return fetch_ohlcv_range(
            self.exchange, symbol, timeframe, _ms(start, "start"), _ms(end, "end"), self.limit, self.params
        )
