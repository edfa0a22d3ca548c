"""Trading calendars and timeframes of the canonical archive.

Three calendars, named as they appear in the archive manifest (docs/data.md has the full rules):

- ``"24/7"``  crypto: every bar of the timeframe grid, aligned on the Unix epoch (so daily bars open at
  00:00 UTC, hourly bars on the hour).
- ``"XNYS"``  US equities, daily bars only: one bar per New York Stock Exchange session (exchange_calendars
  "XNYS"), stamped with that session's open time in UTC (14:30 UTC in winter, 13:30 UTC in summer).
- ``"24x5"``  spot FX: the grid of the timeframe, restricted to the FX trading week, which runs from
  Sunday 17:00 to Friday 17:00 America/New_York time (21:00/22:00 UTC depending on US daylight saving).
  A bar belongs to the week when its *open* time falls inside it. Holidays (25 December, 1 January) are
  not modelled: the archive lists them as gaps. Daily FX bars (not in the archive) are defined as
  Monday..Friday at 00:00 UTC.

Annualisation (``periods_per_year``): 24/7 = 365 days x bars per day; XNYS daily = 252; 24x5 = 260 days
(52 weeks x 5 days) x bars per day.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import polars as pl

from bx_platform.errors import InputError

CALENDARS: tuple[str, ...] = ("24/7", "XNYS", "24x5")

_TIMEFRAME_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 4 * 3600,
    "8h": 8 * 3600,
    "1d": 86400,
}
# The bar sizes a job may ask for (the archive also knows 30m and 8h bars).
TIMEFRAME_SECONDS = {tf: _TIMEFRAME_SECONDS[tf] for tf in ("1m", "5m", "15m", "1h", "4h", "1d")}

#: The FX week in New York local time (Sunday 17:00 to Friday 17:00).
FX_WEEK_TZ = "America/New_York"
FX_WEEK_OPEN_HOUR = 17

XNYS_DAYS_PER_YEAR = 252.0
FX_DAYS_PER_YEAR = 260.0  # 52 weeks x 5 days
CRYPTO_DAYS_PER_YEAR = 365.0


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar in seconds ("1m" -> 60, "1h" -> 3600, "1d" -> 86400)."""
    try:
        return _TIMEFRAME_SECONDS[timeframe]
    except (KeyError, TypeError):
        known = ", ".join(_TIMEFRAME_SECONDS)
        raise InputError("timeframe", f"unknown timeframe {timeframe!r}; known: {known}") from None


def timeframe_ms(timeframe: str) -> int:
    return timeframe_seconds(timeframe) * 1000


def _check_calendar(calendar: str) -> None:
    if calendar not in CALENDARS:
        raise InputError("calendar", f"unknown calendar {calendar!r}; known: {', '.join(CALENDARS)}")


def periods_per_year(calendar: str, timeframe: str) -> float:
    """Bars per year used to annualise per-bar statistics.

    24/7: 365 x bars per day. XNYS: 252 (daily bars only). 24x5: 260 x bars per day.
    """
    _check_calendar(calendar)
    seconds = timeframe_seconds(timeframe)
    bars_per_day = 86400.0 / seconds
    if calendar == "24/7":
        return CRYPTO_DAYS_PER_YEAR * bars_per_day
    if calendar == "XNYS":
        if timeframe != "1d":
            raise InputError("timeframe", f"the XNYS calendar has daily bars only, not {timeframe}")
        return XNYS_DAYS_PER_YEAR
    return FX_DAYS_PER_YEAR * bars_per_day


def _as_utc(ts: dt.datetime, where: str) -> dt.datetime:
    if not isinstance(ts, dt.datetime):
        raise InputError(where, f"expected a datetime, got {type(ts).__name__}")
    if ts.tzinfo is None or ts.tzinfo.utcoffset(ts) is None:
        raise InputError(where, f"datetime {ts.isoformat()} has no time zone; give it in UTC")
    return ts.astimezone(dt.timezone.utc)


def utc_day(ts: dt.datetime) -> dt.datetime:
    """00:00 UTC of the UTC calendar day containing ``ts`` (tz-aware)."""
    t = _as_utc(ts, "ts")
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def floor_to_timeframe(ts: dt.datetime, timeframe: str) -> dt.datetime:
    """Open time of the epoch-aligned bar containing ``ts``."""
    t = _as_utc(ts, "ts")
    step = timeframe_seconds(timeframe)
    epoch = int(t.timestamp() // step) * step
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)


def _ceil_to_timeframe(ts: dt.datetime, timeframe: str) -> dt.datetime:
    floor = floor_to_timeframe(ts, timeframe)
    if floor < ts:
        floor += dt.timedelta(seconds=timeframe_seconds(timeframe))
    return floor


def _grid(start: dt.datetime, end: dt.datetime, timeframe: str) -> pl.Series:
    first = _ceil_to_timeframe(start, timeframe)
    if first >= end:
        return pl.Series("ts", [], dtype=pl.Datetime("us", "UTC"))
    return pl.datetime_range(
        first,
        end,
        interval=f"{timeframe_seconds(timeframe)}s",
        closed="left",
        time_unit="us",
        time_zone="UTC",
        eager=True,
    ).alias("ts")


@lru_cache(maxsize=1)
def xnys_calendar():
    import exchange_calendars as xcals

    return xcals.get_calendar("XNYS", start="1990-01-02")


@lru_cache(maxsize=1)
def xnys_sessions() -> pl.DataFrame:
    """Every XNYS session known to exchange_calendars: ``date`` (Date) and ``open`` (Datetime us UTC)."""
    sched = xnys_calendar().schedule
    opens = sched["open"].dt.tz_convert("UTC").dt.tz_localize(None)
    return pl.DataFrame(
        {
            "date": pl.Series([d.date() for d in sched.index], dtype=pl.Date),
            "open": pl.Series([t.to_pydatetime() for t in opens], dtype=pl.Datetime("us")).dt.replace_time_zone("UTC"),
        }
    )


def xnys_session_opens(start: dt.datetime, end: dt.datetime) -> pl.Series:
    """XNYS session open times (UTC) within [start, end)."""
    ts = xnys_sessions()["open"].alias("ts")
    return ts.filter((ts >= start) & (ts < end))


def in_fx_week(ts: pl.Expr) -> pl.Expr:
    """True where a bar opening at ``ts`` (UTC) lies in the FX week (Sun 17:00 to Fri 17:00 New York)."""
    local = ts.dt.convert_time_zone(FX_WEEK_TZ)
    wd = local.dt.weekday()  # Monday=1 .. Sunday=7
    hour = local.dt.hour()
    closed = (
        (wd == 6)
        | ((wd == 5) & (hour >= FX_WEEK_OPEN_HOUR))
        | ((wd == 7) & (hour < FX_WEEK_OPEN_HOUR))
    )
    return ~closed


def expected_bar_opens(calendar: str, timeframe: str, start: dt.datetime, end: dt.datetime) -> pl.Series:
    """Open times (Datetime us UTC, ascending) of every bar the calendar expects in [start, end)."""
    _check_calendar(calendar)
    timeframe_seconds(timeframe)
    start = _as_utc(start, "start")
    end = _as_utc(end, "end")
    if calendar == "24/7":
        return _grid(start, end, timeframe)
    if calendar == "XNYS":
        if timeframe != "1d":
            raise InputError("timeframe", f"the XNYS calendar has daily bars only, not {timeframe}")
        return xnys_session_opens(start, end)
    grid = _grid(start, end, timeframe)
    if timeframe == "1d":
        return grid.filter(grid.dt.weekday() <= 5)
    return pl.DataFrame({"ts": grid}).filter(in_fx_week(pl.col("ts")))["ts"]
