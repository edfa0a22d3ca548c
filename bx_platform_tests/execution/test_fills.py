"""Fills checked by hand on real bars: the bid/ask spread on EUR/USD, square-root impact, the participation cap,
financing on a short, the daily-loss and drawdown halts at the right bar, and the accounting identity of a
multi-market long/short book on every bar."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from bx_platform.execution.battle_room import check_accounting
from bx_platform.execution.fill_model import MarketFill
from bx_platform.execution.simulator import market_data, simulate
from bx_platform.execution.summary import execution_summary
from bx_platform.market.archive import read_bars
from bx_platform_tests.execution.test_simulator import BTC, PARAMS, Scripted, btc_bars

UTC = timezone.utc
FEES_ONLY = replace(PARAMS, slippage_rate=0.0)


def test_eur_usd_buys_at_the_ask_and_sells_at_the_bid():
    bars = read_bars("oanda", "EUR/USD", "1h", datetime(2018, 3, 1, tzinfo=UTC), datetime(2018, 3, 3, tzinfo=UTC))
    key = "oanda:EUR/USD"
    result = simulate(Scripted((1.0, 1.0, 1.0, 0.0)), {key: bars}, FEES_ONLY)
    buy, sell = result.fills.to_dicts()
    assert buy["price"] == bars["ask_open"][1] and sell["price"] == bars["bid_open"][4]
    assert buy["spread_cost"] == pytest.approx(buy["qty"] * (bars["ask_open"][1] - bars["open"][1]), rel=1e-12)
    assert sell["spread_cost"] == pytest.approx(sell["qty"] * (bars["open"][4] - bars["bid_open"][4]), rel=1e-12)
    assert buy["slippage_cost"] == 0.0


def test_a_large_order_pays_square_root_impact_on_the_bar_volatility_and_its_share_of_volume():
    bars = btc_bars()
    capital, coefficient, t = 5e6, 0.8, 31
    params = replace(FEES_ONLY, initial_capital=capital, markets={BTC: MarketFill(impact_coefficient=coefficient)})
    result = simulate(Scripted((0.0,) * (t - 1) + (0.5,)), bars, params)
    [fill] = result.fills.to_dicts()
    frame = bars[BTC]
    assert fill["ts"] == frame["ts"][t]
    # by hand: sigma = sample std of the 20 log returns ending at close t-1; share = units / bar volume
    returns = np.diff(np.log(frame["close"].to_numpy()[t - 21 : t]))
    sigma = returns.std(ddof=1)
    units = 0.5 * capital / frame["open"][t]
    price = frame["open"][t] * (1 + coefficient * sigma * math.sqrt(units / frame["volume"][t]))
    assert fill["qty"] == pytest.approx(units, rel=1e-12) and fill["price"] == pytest.approx(price, rel=1e-12)
    assert fill["slippage_cost"] == pytest.approx(units * (price - frame["open"][t]), rel=1e-9)
    assert fill["price"] / frame["open"][t] - 1 > 0.001  # a $2.5M order in one hour of 2018 bitcoin moves it


def test_an_order_beyond_the_participation_cap_fills_partially_and_carries_the_rest():
    bars = btc_bars()
    capital, cap = 5e6, 0.05
    params = replace(FEES_ONLY, initial_capital=capital, markets={BTC: MarketFill(participation_cap=cap)})
    result = simulate(Scripted((0.5,)), bars, params)
    frame = bars[BTC]
    fills = result.fills.to_dicts()
    units = 0.5 * capital / frame["open"][1]
    assert len(fills) > 1 and all(f["requested_qty"] == pytest.approx(units, rel=1e-12) for f in fills)
    for i, f in enumerate(fills[:-1]):  # each bar takes at most cap x its volume, the bars in a row
        assert f["ts"] == frame["ts"][1 + i] and f["qty"] == pytest.approx(cap * frame["volume"][1 + i], rel=1e-12)
    assert sum(f["qty"] for f in fills) == pytest.approx(units, rel=1e-12)
    assert (result.events["reason"] == "partial_fill_carried").sum() == len(fills) - 1
    summary = execution_summary("s", result.path, result.fills, result.events, result.equity, 0.0, 0.0, capital, [])
    assert (summary["orders"], summary["fills"], summary["partial_fills"]) == (1, len(fills), len(fills) - 1)
    assert summary["turnover"] == pytest.approx(sum(f["notional"] for f in fills) / capital)


def test_a_short_pays_the_daily_financing_rate_on_its_notional_every_bar():
    bars = btc_bars()
    rate = 0.001
    result = simulate(Scripted((-0.5,)), bars, replace(PARAMS, fee_rate=0.0, slippage_rate=0.0, financing_daily_rate=rate))
    [fill] = result.fills.to_dicts()
    cash = result.equity["cash"].to_numpy()
    close = bars[BTC]["close"].to_numpy()
    charged = cash[1:-1] - cash[2:]  # from bar 2 on, the only cash movement is financing
    assert charged == pytest.approx(rate / 24 * fill["qty"] * close[2:], rel=1e-9)  # cash differences round at 1e-11
    assert result.financing == pytest.approx(charged.sum() + rate / 24 * fill["qty"] * close[1], rel=1e-12)


def _first_breach(equity: np.ndarray, days: np.ndarray, initial: float, daily_loss: float, drawdown: float) -> int:
    """By hand: the first bar whose close is `daily_loss` below the previous day's last close (the initial
    capital on the first day) or `drawdown` below the running peak."""
    day_start, peak, previous_day, last = initial, initial, days[0], initial
    for t, value in enumerate(equity):
        if days[t] != previous_day:
            previous_day, day_start = days[t], last
        last, peak = value, max(peak, value)
        if value <= day_start * (1 - daily_loss) or 1 - value / peak >= drawdown:
            return t
    raise AssertionError("no breach in the window")


@pytest.mark.parametrize("limit", ["daily_loss", "drawdown"])
def test_a_breach_flattens_at_the_next_open_and_halts_at_the_right_bar(limit):
    bars = btc_bars(datetime(2018, 1, 10, tzinfo=UTC), datetime(2018, 2, 10, tzinfo=UTC))  # the January 2018 fall
    free = simulate(Scripted((1.0,)), bars, FEES_ONLY)
    daily_loss, drawdown = (0.08, math.inf) if limit == "daily_loss" else (math.inf, 0.20)
    result = simulate(Scripted((1.0,)), bars, replace(FEES_ONLY, max_daily_loss=daily_loss, halt_drawdown=drawdown))
    ts = bars[BTC]["ts"]
    days = ts.dt.date().to_numpy()
    t = _first_breach(free.equity["equity"].to_numpy(), days, 100_000.0, daily_loss, drawdown)
    [flag] = result.flags
    close_of_t = (ts[t] + (ts[1] - ts[0])).strftime("%Y-%m-%dT%H:%MZ")
    assert flag == f"halted_{limit} at {close_of_t}"
    flatten = result.fills.filter(pl.col("kind") == "flatten").to_dicts()
    assert flatten and flatten[0]["ts"] == ts[t + 1]
    assert result.equity["equity"][: t + 1].equals(free.equity["equity"][: t + 1])
    assert (result.equity["gross_exposure"][t + 1 :] == 0.0).all()


def test_the_accounting_identity_holds_on_every_bar_of_a_multi_market_long_short_book():
    start, end = datetime(2018, 4, 5, tzinfo=UTC), datetime(2018, 4, 6, tzinfo=UTC)
    frames = {f"coinbase:{s}/USD": read_bars("coinbase", f"{s}/USD", "1m", start, end) for s in ("BTC", "ETH", "LTC")}
    common = frames["coinbase:LTC/USD"].select("ts")
    bars = {k: f.join(common, on="ts", how="semi") for k, f in frames.items()}
    keys = list(bars)
    params = replace(
        PARAMS, max_gross_leverage=2.0, max_net_leverage=1.0, financing_daily_rate=0.0005,
        markets={k: MarketFill(half_spread=0.0002, impact_coefficient=1.0, participation_cap=0.2) for k in keys},
    )

    @dataclass(frozen=True)
    class Rotating:
        """Long one market, short another, flat the third, rotating every 60 bars."""

        handle: str = "test/rotating"
        lookback: int = 1

        def decide(self, observation):
            turn = observation.bar_index // 60 % 3
            return {keys[turn]: 0.9, keys[(turn + 1) % 3]: -0.7, keys[(turn + 2) % 3]: 0.0}

    result = simulate(Rotating(), bars, params, timeframe="1m")
    assert result.fills.height > 50 and (result.fills["side"] == "sell").any()
    assert (result.equity["net_exposure"] < 0).any() or (result.events.height > 0)
    check_accounting(result, market_data(bars, params, "1m"), tolerance=1e-12)
    # and by hand: final cash = initial - buys - fees + sells - financing
    fills = result.fills
    signed = np.where(fills["side"].to_numpy() == "buy", -1.0, 1.0) * fills["notional"].to_numpy()
    cash = 100_000.0 + signed.sum() - fills["fee"].sum() - result.financing
    assert result.equity["cash"][-1] == pytest.approx(cash, rel=1e-10)
    positions = {k: 0.0 for k in keys}
    for f in fills.to_dicts():
        positions[f["market"]] += f["qty"] if f["side"] == "buy" else -f["qty"]
    marked = cash + sum(positions[k] * bars[k]["close"][-1] for k in keys)
    assert result.equity["equity"][-1] == pytest.approx(marked, rel=1e-10)
    assert min(positions.values()) < 0 < max(positions.values())


def test_perpetual_funding_is_charged_at_the_close_of_the_bar_holding_the_funding_time():
    from bx_platform.pipeline.execution import funding_rates
    from bx_platform.jobs.spec import parse_spec

    # the archive's real funding events of Binance's BTCUSD perpetual, mapped onto an hourly grid
    spec = parse_spec({
        "organization": "acme", "markets": [{"venue": "binance", "symbol": "BTC/USD:PERP"}],
        "window": {"start": "2020-12-29", "end": "2021-01-02"}, "strategies": ["bx/buy-and-hold"],
    })
    grid = pl.datetime_range(datetime(2020, 12, 29, tzinfo=UTC), datetime(2021, 1, 1, 23, tzinfo=UTC), "1h", eager=True, time_zone="UTC")
    rates = funding_rates(spec, grid.dt.cast_time_unit("us"))["binance:BTC/USD:PERP"]
    events = read_funding_table()
    inside = events.filter(pl.col("ts") < datetime(2021, 1, 2, tzinfo=UTC))
    assert inside.height > 0 and np.count_nonzero(rates) == inside.height
    assert rates[int((inside["ts"][0] - grid[0]).total_seconds() // 3600)] == inside["rate"][0]

    # a long on bars that carry those rates pays units x close x rate at that close
    bars = btc_bars()
    funding = np.zeros(bars[BTC].height)
    funding[5], funding[13] = 0.001, -0.0005
    data = market_data(bars, FEES_ONLY, funding={BTC: funding})
    result = simulate(Scripted((0.5,)), data, FEES_ONLY)
    [fill] = result.fills.to_dicts()
    cash = result.equity["cash"].to_numpy()
    close = bars[BTC]["close"].to_numpy()
    assert cash[4] - cash[5] == pytest.approx(fill["qty"] * close[5] * 0.001, rel=1e-9)
    assert cash[13] - cash[12] == pytest.approx(fill["qty"] * close[13] * 0.0005, rel=1e-9)
    assert result.funding == pytest.approx(fill["qty"] * (close[5] * 0.001 - close[13] * 0.0005), rel=1e-12)


def read_funding_table() -> pl.DataFrame:
    from bx_platform.market.archive import read_funding

    return read_funding("binance", "BTC/USD:PERP").sort("ts")
