"""Observations built from real archive bars, the built-in SMA rule's answers, and real HTTP servers."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import numpy as np
import polars as pl

from bx_platform.demo import example_remote_model
from bx_platform.jobs.spec import TIMEFRAME_SECONDS
from bx_platform.market import archive
from bx_platform.strategies.base import OBSERVED_COLUMNS, MarketWindow, Observation, PortfolioState
from bx_platform.strategies.builtins import SmaTrend

BITSTAMP_MAJORS = [("bitstamp", "BTC/USD"), ("bitstamp", "ETH/USD"), ("bitstamp", "LTC/USD")]


@lru_cache
def archive_bars(markets: tuple[tuple[str, str], ...], timeframe: str, start: str, end: str) -> dict[str, pl.DataFrame]:
    """Real bars of each market on the same grid, keyed `venue:symbol`."""
    lo, hi = (datetime.fromisoformat(day).replace(tzinfo=timezone.utc) for day in (start, end))
    return {f"{venue}:{symbol}": archive.read_bars(venue, symbol, timeframe, lo, hi) for venue, symbol in markets}


def majors_daily() -> dict[str, pl.DataFrame]:
    """Bitstamp BTC, ETH and LTC daily bars over 2018-2019 (730 bars each, one grid)."""
    return archive_bars(tuple(BITSTAMP_MAJORS), "1d", "2018-01-01", "2020-01-01")


def observation_at(bars: dict[str, pl.DataFrame], t: int, lookback: int, timeframe: str) -> Observation:
    """What a strategy may see at bar t's close: copies of the last `lookback` bars up to t, a flat book."""
    first = max(0, t - lookback + 1)
    markets = {}
    for key, frame in bars.items():
        ts, columns = _arrays(frame)
        markets[key] = MarketWindow(
            ts=ts[first : t + 1].copy(), columns={name: values[first : t + 1].copy() for name, values in columns.items()}
        )
    opened = next(iter(bars.values()))["ts"][t]
    return Observation(
        decision_time=opened + timedelta(seconds=TIMEFRAME_SECONDS[timeframe]),
        bar_index=t,
        markets=markets,
        portfolio=PortfolioState(cash=100_000.0, equity=100_000.0, positions={}, weights={}, gross_exposure=0.0, net_exposure=0.0),
        timeframe=timeframe,
    )


_ARRAYS: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}


def _arrays(frame: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A frame's open times and observed columns as numpy arrays, converted once per frame."""
    if id(frame) not in _ARRAYS:
        _ARRAYS[id(frame)] = (
            frame["ts"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]"),
            {name: frame[name].to_numpy().astype(float) for name in OBSERVED_COLUMNS if name in frame.columns},
        )
    return _ARRAYS[id(frame)]


def builtin_sma_decisions(bars: dict[str, pl.DataFrame], timeframe: str, bar_indices: range) -> list[dict[str, float]]:
    """The built-in `bx/sma-trend`'s point-in-time targets at the given bars."""
    builtin = SmaTrend()
    return [dict(builtin.decide(observation_at(bars, t, builtin.lookback, timeframe))) for t in bar_indices]


# the example remote model in its own process on 127.0.0.1: the demo's launcher, with the server's options
remote_model = example_remote_model


@contextmanager
def http_model(answer: Callable[[BaseHTTPRequestHandler], tuple[int, bytes]]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (in a thread) whose /decide answers `answer(request)`: for faulty models."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection for all of a job's calls
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

        def do_GET(self) -> None:
            self._reply(200, b'{"model_version": "fault-1", "lookback": 3}')

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self._reply(*answer(self))

        def _reply(self, status: int, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the platform gave up waiting: expected for timeouts
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
