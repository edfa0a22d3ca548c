"""Golden tests for metric bugs known in public libraries (issue 7, item 6), so none of them can happen here.
Every expected value is computed by hand in the test from the definition in docs/metrics.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from bx_platform.errors import InputError
from bx_platform.evaluation import metrics as M
from bx_platform.evaluation.luck import probabilistic_sharpe_ratio, sharpe_moments, psr_from_moments
from bx_platform.evaluation.report import evaluate_strategy
from bx_platform.execution.simulator import ExecutionParams, simulate
from bx_platform.market.calendars import periods_per_year

START = datetime(2021, 1, 1, tzinfo=timezone.utc)


def _equity(values) -> pl.DataFrame:
    return pl.DataFrame({"ts": [START + timedelta(days=i) for i in range(len(values))], "equity": values},
                        schema={"ts": pl.Datetime("us", "UTC"), "equity": pl.Float64})


NO_FILLS = pl.DataFrame(schema={"strategy": pl.String, "market": pl.String, "ts": pl.Datetime("us", "UTC"), "side": pl.String,
                                "qty": pl.Float64, "price": pl.Float64, "notional": pl.Float64, "fee": pl.Float64})


def test_a_first_period_loss_counts_in_max_drawdown():
    """Bug: the running peak starts at the first period's end, so a loss in the very first period is no
    drawdown. Here the peak is the initial capital: 100 → 90 → 95 has a 10 % drawdown."""
    assert M.max_drawdown(np.array([100.0, 90.0, 95.0])) == pytest.approx(0.10)
    metrics = evaluate_strategy(_equity([100.0, 90.0, 95.0]), NO_FILLS, periods_per_year=365.0, max_gross_leverage=1.0)
    assert metrics["max_drawdown"] == pytest.approx(0.10)


def test_cvar_never_falls_back_to_var_nor_returns_nan_on_a_short_tail():
    """Bug: with fewer than 1/cutoff observations the 5 % tail is empty, and the library returns the VaR or NaN.
    Here the tail holds at least the worst observation: CVaR of [−5 %, +1 %, +2 %] is 5 %, while the
    interpolated VaR is 4.4 %; one observation gives its own loss; the scored daily tail is finite."""
    r = np.array([-0.05, 0.01, 0.02])
    var = M.value_at_risk(r, 0.05)
    assert var == pytest.approx(0.05 - 0.1 * 0.06)  # np.percentile's linear interpolation at rank 0.1
    assert M.cvar(r, 0.05) == pytest.approx(0.05) and M.cvar(r, 0.05) > var
    assert M.cvar(np.array([-0.03]), 0.05) == pytest.approx(0.03)
    one_day = evaluate_strategy(_equity([100.0, 97.0]), NO_FILLS, periods_per_year=365.0, max_gross_leverage=1.0)
    assert one_day["tail_cvar_95_daily"] == pytest.approx(0.03)


def test_downside_deviation_averages_over_all_observations():
    """Bug: the squared shortfalls are averaged over the negative returns only. Over all four observations
    of [+10 %, −10 %, +10 %, −10 %]: √((0.01 + 0.01)/4) = 0.0707 per period (√(0.02/2) = 0.1 is the bug)."""
    r = np.array([0.1, -0.1, 0.1, -0.1])
    assert M.downside_deviation(r, 1.0) == pytest.approx(math.sqrt(0.02 / 4))
    assert M.downside_deviation(r, 252.0) == pytest.approx(math.sqrt(0.02 / 4) * math.sqrt(252.0))


@pytest.mark.parametrize(
    "calendar, timeframe, expected",
    [("24/7", "1d", 365.0), ("24/7", "1h", 8760.0), ("24/7", "4h", 2190.0),  # crypto trades every hour of the year
     ("XNYS", "1d", 252.0),  # equities: NYSE sessions, not calendar days
     ("24x5", "1d", 260.0), ("24x5", "1h", 6240.0)],  # FX: 24 hours, 5 days a week
)
def test_annualization_follows_the_venue_calendar(calendar, timeframe, expected):
    """Bug: one constant (252 or 365) for every market, or 252·24 for hourly bars of any market."""
    assert periods_per_year(calendar, timeframe) == expected


def test_intraday_equity_bars_are_refused_rather_than_mis_annualized():
    """Bug: hourly equity bars annualized as 24 × 252 (or 24 × 365) although NYSE trades 6.5 hours a session.
    The archive holds no intraday equity data, so the calendar refuses the timeframe instead of guessing."""
    with pytest.raises(InputError, match="daily bars only"):
        periods_per_year("XNYS", "1h")


@dataclass(frozen=True)
class _AlwaysShort:
    handle: str = "test/short"
    lookback: int = 1

    def decide(self, observation):
        return {key: -1.0 for key in observation.markets}

    def target_frame(self, bars):
        return {key: np.full(frame.height, -1.0) for key, frame in bars.items()}


def test_a_short_cannot_earn_more_than_its_fills_allow():
    """Bug: a short's return taken as minus the asset's return each period and compounded, so a price falling
    10 % a day for 30 days 'earns' 1.1^30 − 1 = 1,645 %. Marked to market from its fills, a short sold at
    the first open can earn at most the price it sold at: with 100 % of capital short, under 100 %."""
    n = 31
    price = 100.0 * 0.9 ** np.arange(n)
    ts = [START + timedelta(days=i) for i in range(n)]
    bars = {"test:X": pl.DataFrame({"ts": ts, "open": price, "high": price, "low": price, "close": price,
                                    "volume": np.full(n, 1e9)}, schema_overrides={"ts": pl.Datetime("us", "UTC")})}
    params = ExecutionParams(initial_capital=100_000.0, fee_rate=0.0, slippage_rate=0.0, max_position_per_market=1.0,
                             max_gross_leverage=1.0, max_net_leverage=1.0, halt_drawdown=math.inf)
    result = simulate(_AlwaysShort(), bars, params)
    sold = result.fills.filter(pl.col("side") == "sell")
    ceiling = float(sold["notional"].sum()) / params.initial_capital
    metrics = evaluate_strategy(result.equity, result.fills, periods_per_year=365.0, max_gross_leverage=1.0,
                                initial_capital=params.initial_capital)
    assert 0.0 < metrics["total_return"] <= ceiling <= 1.0 + 1e-9
    assert float(np.prod(1.0 - (price[1:] / price[:-1] - 1.0)) - 1.0) > 10.0  # what the bug would report


def test_sortino_and_psr_take_the_risk_free_rate_per_period():
    """Bug: an annual risk-free rate subtracted from per-period returns, or the excess return used in the
    numerator only. Here rf is per period and the downside is that of r − rf as well."""
    rng = np.random.default_rng(11)
    r = rng.normal(0.0008, 0.01, 500)
    rf_annual, ppy = 0.04, 252.0
    rf = (1.0 + rf_annual) ** (1.0 / ppy) - 1.0  # the caller's conversion, once
    excess = r - rf
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    assert M.sortino_ratio(r, ppy, required_return=rf) == pytest.approx(excess.mean() * ppy / (downside * math.sqrt(ppy)))
    assert M.sortino_ratio(r, ppy, required_return=rf_annual) < 0 < M.sortino_ratio(r, ppy, required_return=rf)

    sr, skew, kurt, t = sharpe_moments(excess)
    assert sr == pytest.approx(excess.mean() / excess.std(ddof=1))
    assert probabilistic_sharpe_ratio(r, risk_free=rf) == pytest.approx(psr_from_moments(sr, 0.0, t, skew, kurt))
    assert probabilistic_sharpe_ratio(r, risk_free=rf) < probabilistic_sharpe_ratio(r)
