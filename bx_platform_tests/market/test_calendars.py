from __future__ import annotations

import datetime as dt

import pytest

from bx_platform.errors import InputError
from bx_platform.market.calendars import (
    expected_bar_opens,
    floor_to_timeframe,
    periods_per_year,
    timeframe_seconds,
    utc_day,
)

UTC = dt.timezone.utc


def t(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_periods_per_year():
    assert periods_per_year("24/7", "1d") == 365
    assert periods_per_year("24/7", "1h") == 365 * 24
    assert periods_per_year("24/7", "1m") == 365 * 24 * 60
    assert periods_per_year("XNYS", "1d") == 252
    assert periods_per_year("24x5", "1h") == 260 * 24
    assert periods_per_year("24x5", "1d") == 260
    with pytest.raises(InputError):
        periods_per_year("XNYS", "1h")
    with pytest.raises(InputError, match="unknown calendar"):
        periods_per_year("LSE", "1d")


def test_timeframes():
    assert [timeframe_seconds(x) for x in ("1m", "1h", "1d")] == [60, 3600, 86400]
    with pytest.raises(InputError, match="unknown timeframe"):
        timeframe_seconds("7m")


def test_utc_day_and_floor():
    cet = dt.timezone(dt.timedelta(hours=1))
    assert utc_day(dt.datetime(2020, 1, 2, 0, 30, tzinfo=cet)) == t(2020, 1, 1)
    assert floor_to_timeframe(t(2020, 1, 1, 5, 59, 59), "1h") == t(2020, 1, 1, 5)
    with pytest.raises(InputError):
        utc_day(dt.datetime(2020, 1, 1))


def test_24_7_grid_is_epoch_aligned_half_open():
    s = expected_bar_opens("24/7", "1h", t(2020, 1, 1, 0, 30), t(2020, 1, 1, 5))
    assert s.to_list() == [t(2020, 1, 1, h) for h in range(1, 5)]
    assert expected_bar_opens("24/7", "1d", t(2020, 1, 1), t(2020, 1, 1)).len() == 0


def test_xnys_daily_opens():
    s = expected_bar_opens("XNYS", "1d", t(2005, 7, 1), t(2005, 7, 8))
    assert s.to_list() == [t(2005, 7, 1, 13, 30), t(2005, 7, 5, 13, 30), t(2005, 7, 6, 13, 30), t(2005, 7, 7, 13, 30)]
    w = expected_bar_opens("XNYS", "1d", t(2005, 2, 25), t(2005, 3, 2))
    assert w.to_list() == [t(2005, 2, 25, 14, 30), t(2005, 2, 28, 14, 30), t(2005, 3, 1, 14, 30)]


def test_fx_week_follows_new_york_17h():
    winter = expected_bar_opens("24x5", "1h", t(2018, 1, 5), t(2018, 1, 13))  # Fri 5 Jan .. Sat 13 Jan
    assert winter.filter(winter < t(2018, 1, 6))[-1] == t(2018, 1, 5, 21)  # Friday 16:00 New York
    week = winter.filter(winter > t(2018, 1, 6))
    assert week[0] == t(2018, 1, 7, 22) and week[-1] == t(2018, 1, 12, 21)
    assert week.len() == 120
    summer = expected_bar_opens("24x5", "1h", t(2018, 7, 7), t(2018, 7, 14))
    assert summer[0] == t(2018, 7, 8, 21) and summer[-1] == t(2018, 7, 13, 20) and summer.len() == 120
    days = expected_bar_opens("24x5", "1d", t(2018, 7, 7), t(2018, 7, 14))
    assert days.dt.weekday().to_list() == [1, 2, 3, 4, 5]
