"""The real-sister scenario: always real bars, never synthetic (docs/private-evaluation.md, "Real sister").

1. Sister venue: the same symbol at the same timeframe on the next venue of the ring SISTER_RING (after the
   job's own venue) whose archive rows cover at least SISTER_COVERAGE of the job's timestamps over the window.
   Its rows are used as stored, on the job's timestamps they share (a missing one is a missing bar), under the
   job's own market key: a strategy sees the same market name and calendar.
2. Otherwise, the adjacent real window of the same market that the job did not request: the n bars just before
   the window (or, without enough history, just after it), relabelled onto the job's n timestamps.
The same rule applies to every market of the job: all get a sister venue, or all get the adjacent window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from bx_platform.errors import InputError
from bx_platform.market import archive
from bx_platform.market.calendars import TIMEFRAME_SECONDS
from bx_platform.scenarios.bars import Bars

SISTER_RING = ("coinbase", "bitstamp", "cryptodatadownload")
SISTER_COVERAGE = 0.95


def sister_venue(venue: str, symbol: str, timeframe: str, grid: pl.Series, archive_dir: Path | None = None) -> str | None:
    """The sister venue of a market over the job's timestamps `grid`, or None."""
    if venue not in SISTER_RING:
        return None
    start = SISTER_RING.index(venue)
    for other in SISTER_RING[start + 1:] + SISTER_RING[:start]:
        try:
            rows = _sister_rows(other, symbol, timeframe, grid, archive_dir)
        except InputError:  # no such dataset
            continue
        if rows.height >= SISTER_COVERAGE * grid.len():
            return other
    return None


def _window(grid: pl.Series, timeframe: str):
    return grid.min(), grid.max() + timedelta(seconds=TIMEFRAME_SECONDS[timeframe])


def _sister_rows(venue: str, symbol: str, timeframe: str, grid: pl.Series, archive_dir: Path | None) -> pl.DataFrame:
    start, end = _window(grid, timeframe)
    rows = archive.read_bars(venue, symbol, timeframe, start, end, archive_dir)
    return rows.filter(pl.col("ts").is_in(grid.implode()))


def sister_bars(bars: Bars, timeframe: str, archive_dir: Path | None = None) -> tuple[Bars, str]:
    """The real-sister bars of the job's bars (market key -> frame) and where they came from ("sister venue" or
    "adjacent window"), for the operator's record only."""
    grid = next(iter(bars.values()))["ts"]
    venues = {key: sister_venue(*key.split(":", 1), timeframe, grid, archive_dir) for key in bars}
    if all(venues.values()):
        out = {}
        for key, frame in bars.items():
            rows = _sister_rows(venues[key], key.split(":", 1)[1], timeframe, grid, archive_dir)
            out[key] = _like(rows, frame)
        return _common_grid(out), "sister venue"
    return {key: _adjacent(key, frame, timeframe, archive_dir) for key, frame in bars.items()}, "adjacent window"


def _like(rows: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Archive rows in the job frame's columns (a column the archive lacks is null)."""
    missing = [pl.lit(None, frame.schema[c]).alias(c) for c in frame.columns if c not in rows.columns]
    return rows.with_columns(missing).select(frame.columns).cast(frame.schema)


def _common_grid(out: Bars) -> Bars:
    """Markets on the timestamps they all have, as the job's own bars are staged."""
    common = None
    for frame in out.values():
        common = frame.select("ts") if common is None else common.join(frame.select("ts"), on="ts", how="inner")
    return {key: frame.join(common, on="ts", how="semi") for key, frame in out.items()}


def _adjacent(key: str, frame: pl.DataFrame, timeframe: str, archive_dir: Path | None) -> pl.DataFrame:
    venue, symbol = key.split(":", 1)
    n = frame.height
    info = archive.find_dataset(venue, symbol, timeframe, archive_dir)
    start, end = _window(frame["ts"], timeframe)
    before = archive.read_bars(venue, symbol, timeframe, info.start, start, archive_dir).tail(n)
    rows = before if before.height == n else archive.read_bars(
        venue, symbol, timeframe, end, info.end + timedelta(seconds=TIMEFRAME_SECONDS[timeframe]), archive_dir
    ).head(n)
    if rows.height < n:
        raise InputError("window", f"{key} has neither a sister venue nor {n} bars before or after the window for its real-sister scenario")
    return _like(rows, frame).with_columns(ts=frame["ts"])
