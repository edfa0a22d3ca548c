"""Every statistic shared with empyrical-reloaded, on real series from the archive: relative difference <= 1e-9."""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bx_platform.evaluation import metrics as M

from ._data import btc_daily, btc_hourly_close, stock

REL = 1e-9


def close(a: float, b: float) -> bool:
    if b == 0.0:
        return abs(a) <= 1e-15
    return abs(a - b) / abs(b) <= REL


def _series():
    return {
        # (price curve used as equity, periods per year)
        "btc_1d": (btc_daily()["close"].to_numpy(), 365.0),
        "btc_1h": (btc_hourly_close(), 8760.0),
        "aapl_close": (stock("AAPL")["px"].to_numpy(), 252.0),
        "ibm_adj_close": (stock("IBM", "Adj Close")["px"].to_numpy(), 252.0),
    }


SERIES = list(_series())


@pytest.fixture(scope="module")
def series():
    return _series()


@pytest.mark.parametrize("name", SERIES)
def test_shared_statistics_match_empyrical(series, name):
    equity, ppy = series[name]
    r = M.simple_returns(equity)
    assert r.shape[0] > 1000
    pairs = {
        "total_return": (M.total_return(r), ep.cum_returns_final(r)),
        "annual_return": (M.annual_return(r, ppy), ep.annual_return(r, annualization=ppy)),
        "annual_volatility": (M.annual_volatility(r, ppy), ep.annual_volatility(r, annualization=ppy)),
        "sharpe_ratio": (M.sharpe_ratio(r, ppy), ep.sharpe_ratio(r, annualization=ppy)),
        "sortino_ratio": (M.sortino_ratio(r, ppy), ep.sortino_ratio(r, annualization=ppy)),
        "downside_deviation": (M.downside_deviation(r, ppy), ep.downside_risk(r, annualization=ppy)),
        "max_drawdown": (M.max_drawdown(equity), -ep.max_drawdown(r)),
        "value_at_risk": (M.value_at_risk(r), -ep.value_at_risk(r)),
        "cvar": (M.cvar(r), -ep.conditional_value_at_risk(r)),
        "return_to_drawdown": (M.return_to_drawdown(r, ppy), ep.calmar_ratio(r, annualization=ppy)),
        "stability_of_timeseries": (M.stability_of_timeseries(r), ep.stability_of_timeseries(r)),
        "tail_ratio": (M.tail_ratio(r), ep.tail_ratio(r)),
    }
    bad = {k: v for k, v in pairs.items() if not close(*v)}
    assert not bad, bad


@pytest.mark.parametrize("name", SERIES)
def test_summary_equals_individual_functions(series, name):
    equity, ppy = series[name]
    r = M.simple_returns(equity)
    s = M.summary(r, ppy)
    assert s["max_drawdown"] == pytest.approx(M.max_drawdown(equity), rel=1e-12)
    for key, fn in [("annual_volatility", M.annual_volatility), ("sharpe", M.sharpe_ratio),
                    ("sortino", M.sortino_ratio), ("downside_deviation", M.downside_deviation),
                    ("annual_return", M.annual_return), ("return_to_drawdown", M.return_to_drawdown)]:
        assert s[key] == pytest.approx(fn(r, ppy), rel=1e-12), key
    assert s["total_return"] == pytest.approx(M.total_return(r), rel=1e-12)
    assert s["cvar_95"] == M.cvar(r)


def _aligned(t1: str, t2: str):
    a = stock(t1).join(stock(t2), on="Date", how="inner", suffix="_b").sort("Date")
    return a["px"].to_numpy(), a["px_b"].to_numpy()


@pytest.mark.parametrize("pair", [("AAPL", "MSFT"), ("IBM", "MSFT"), ("GOOG", "AAPL")])
def test_alpha_beta_match_empyrical(pair):
    a, b = _aligned(*pair)
    ra, rb = M.simple_returns(a), M.simple_returns(b)
    alpha, beta = M.alpha_beta(ra, rb, 252.0)
    e_alpha, e_beta = ep.alpha_beta(ra, rb, annualization=252.0)
    assert close(alpha, e_alpha), (alpha, e_alpha)
    assert close(beta, e_beta), (beta, e_beta)


def test_btc_against_its_own_open_as_benchmark():
    d = btc_daily()
    r = M.simple_returns(d["close"].to_numpy())
    b = M.simple_returns(d["open"].to_numpy())
    alpha, beta = M.alpha_beta(r, b, 365.0)
    e_alpha, e_beta = ep.alpha_beta(r, b, annualization=365.0)
    assert close(alpha, e_alpha) and close(beta, e_beta)


def test_max_drawdown_counts_loss_from_initial_capital():
    # equity falls right after the start: the initial capital is the first peak
    assert M.max_drawdown(np.array([100.0, 90.0, 95.0, 120.0])) == pytest.approx(0.10)
    assert M.max_drawdown(np.array([100.0, 101.0, 102.0])) == 0.0


def test_undefined_cases_are_nan():
    assert math.isnan(M.sharpe_ratio(np.array([0.01]), 252))
    assert math.isnan(M.sharpe_ratio(np.full(10, 0.001), 252))  # zero dispersion
    assert math.isnan(M.return_to_drawdown(np.full(10, 0.001), 252))  # no drawdown
    assert math.isnan(M.total_return(np.array([])))
    assert math.isnan(M.alpha_beta(np.array([0.1, 0.2]), np.array([0.0, 0.0]), 252)[1])
    assert M.sortino_ratio(np.array([0.01, 0.02]), 252) == math.inf


returns_arrays = arrays(np.float64, st.integers(3, 300),
                        elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False))


@settings(max_examples=60, deadline=None)
@given(returns_arrays)
def test_property_equity_roundtrip_and_drawdown_bounds(r):
    eq = M.equity_from_returns(r, start=1000.0)
    np.testing.assert_allclose(M.simple_returns(eq), r, rtol=1e-9, atol=1e-12)
    mdd = M.max_drawdown(eq)
    assert 0.0 <= mdd <= 1.0
    assert np.all(M.drawdown_series(eq) <= mdd + 1e-15)


@settings(max_examples=60, deadline=None)
@given(returns_arrays)
def test_property_matches_empyrical_on_arbitrary_returns(r):
    ppy = 252.0
    assert M.total_return(r) == pytest.approx(ep.cum_returns_final(r), rel=1e-9, abs=1e-12)
    assert M.annual_volatility(r, ppy) == pytest.approx(ep.annual_volatility(r, annualization=ppy), rel=1e-9,
                                                       abs=1e-12)
    assert M.downside_deviation(r, ppy) == pytest.approx(ep.downside_risk(r, annualization=ppy), rel=1e-9,
                                                        abs=1e-12)
    assert M.cvar(r) == pytest.approx(-ep.conditional_value_at_risk(r), rel=1e-9, abs=1e-15)
    assert M.max_drawdown(M.equity_from_returns(r)) == pytest.approx(-ep.max_drawdown(r), rel=1e-9, abs=1e-12)
    s = M.sharpe_ratio(r, ppy)
    if math.isfinite(s):
        assert s == pytest.approx(ep.sharpe_ratio(r, annualization=ppy), rel=1e-7)


def test_rejects_2d_input():
    with pytest.raises(ValueError):
        M.sharpe_ratio(np.zeros((3, 2)), 252)
    with pytest.raises(ValueError):
        M.alpha_beta(np.zeros(3), np.zeros(4), 252)


def test_polars_series_input_accepted():
    r = pl.Series([0.01, -0.02, 0.03, 0.0])
    assert M.sharpe_ratio(r, 252) == pytest.approx(ep.sharpe_ratio(r.to_numpy(), annualization=252), rel=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar power:RuntimeWarning")
def test_annual_return_of_a_wiped_out_curve_is_nan_like_empyrical():
    returns = np.array([0.5, -1.8, 0.1, 0.0, 0.0])  # equity went below zero; 252/5 is not a whole power
    assert math.isnan(M.annual_return(returns, 252.0))
    assert math.isnan(ep.annual_return(returns, annualization=252))
