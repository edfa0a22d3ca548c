"""evaluate_strategy / evaluate_sessions / bootstrap_utility_ci on a strategy run by hand over real BTC bars."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import empyrical as ep
import numpy as np
import polars as pl
import pytest

from bx_platform.evaluation import metrics as M
from bx_platform.evaluation.context import label_regimes
from bx_platform.evaluation.luck import seed_from_job_id
from bx_platform.evaluation.report import (
    METRIC_KEYS,
    RATIO_CAP,
    bootstrap_utility_ci,
    daily_frame,
    daily_turnover,
    evaluate_sessions,
    evaluate_strategy,
    split_sessions,
)

from ._data import btc_daily

FEE = 0.001
CAP = 10_000.0


def run(bars: pl.DataFrame, hold_every: int = 15):
    """Long/flat every `hold_every` bars; trades at the bar's open, marks at its close. Row 0 = initial capital
    stamped at the first bar's open (the first bar has no position), like the engine."""
    ts, o, c = bars["ts"], bars["open"].to_numpy(), bars["close"].to_numpy()
    cash, qty = CAP, 0.0
    eq, gross, fl = [CAP], [0.0], []
    for t in range(1, len(c)):
        want_long = (t // hold_every) % 2 == 0
        if want_long and qty == 0.0:
            notional = cash / (1 + FEE)
            qty = notional / o[t]
            fee = notional * FEE
            cash -= notional + fee
            fl.append(("s", "BTC", ts[t], "buy", qty, o[t], notional, fee))
        elif not want_long and qty > 0.0:
            notional = qty * o[t]
            fee = notional * FEE
            cash += notional - fee
            fl.append(("s", "BTC", ts[t], "sell", qty, o[t], notional, fee))
            qty = 0.0
        e = cash + qty * c[t]
        eq.append(e)
        gross.append(qty * c[t] / e)
    equity = pl.DataFrame({"ts": ts, "equity": eq, "gross_exposure": gross, "net_exposure": gross,
                           "max_position_weight": gross})
    fills = pl.DataFrame(fl, schema={"strategy": pl.String, "market": pl.String, "ts": pl.Datetime("us", "UTC"),
                                     "side": pl.String, "qty": pl.Float64, "price": pl.Float64,
                                     "notional": pl.Float64, "fee": pl.Float64}, orient="row")
    hold_eq = CAP / (c[0]) * c
    hold_eq[0] = CAP
    bench = pl.DataFrame({"ts": ts, "equity": hold_eq})
    return equity, fills, bench


@pytest.fixture(scope="module")
def battle():
    bars = btc_daily().slice(0, 600)
    return bars, *run(bars)


def test_evaluate_strategy_keys_finite_and_consistent(battle):
    bars, equity, fills, bench = battle
    m = evaluate_strategy(equity, fills, bench, periods_per_year=365, max_gross_leverage=1.0,
                          n_trials=20, sr_variance=0.001, regimes=label_regimes(bars))
    assert tuple(m) == METRIC_KEYS
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values())
    eq = equity["equity"].to_numpy()
    r = M.simple_returns(eq)
    assert m["total_return"] == pytest.approx(eq[-1] / CAP - 1)
    assert m["net_pnl"] == pytest.approx(eq[-1] - CAP)
    assert m["max_drawdown"] == pytest.approx(-ep.max_drawdown(r), rel=1e-9)
    assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(r, annualization=365), rel=1e-9)
    assert m["sortino"] == pytest.approx(ep.sortino_ratio(r, annualization=365), rel=1e-9)
    assert m["annual_return"] == pytest.approx(ep.annual_return(r, annualization=365), rel=1e-9)
    assert m["cvar_95"] == pytest.approx(-ep.conditional_value_at_risk(r), rel=1e-9)
    br = M.simple_returns(bench["equity"].to_numpy())
    a, b = ep.alpha_beta(r, br, annualization=365)
    assert (m["alpha"], m["beta"]) == pytest.approx((a, b), rel=1e-9)
    # daily bars: one bar per UTC day, so the daily tail is the per-bar tail
    assert m["tail_cvar_95_daily"] == pytest.approx(m["cvar_95"], rel=1e-12)
    assert m["trade_count"] == fills.height // 2
    assert m["avg_holding_days"] == pytest.approx(15.0, abs=0.1)  # the first holds 14 days
    assert m["cost"] == pytest.approx(fills["fee"].sum() / CAP)
    assert 0 < m["leverage_utilization"] <= 1 and m["position_concentration"] == pytest.approx(1.0)
    assert 0 <= m["psr"] <= 1 and m["dsr"] < m["psr"]
    assert m["regime_sensitivity"] > 0
    assert 0 < m["time_under_water_fraction"] < 1 and m["time_to_recover_days"] > 0
    assert m["trade_frequency"] == pytest.approx(m["trade_count"] / (599 / 365))


def test_turnover_is_daily_notional_over_starting_equity(battle):
    _, equity, fills, _ = battle
    days = daily_frame(equity)
    to = daily_turnover(equity, fills, days)
    assert to.shape[0] == days.height == equity.height - 1
    i = int(np.flatnonzero(to)[0])
    day = days["day"][i]
    notional = fills.filter(pl.col("ts").dt.date() == day)["notional"].abs().sum()
    assert to[i] == pytest.approx(notional / days["start_equity"][i])


def test_daily_aggregation_of_hourly_bars():
    ts = pl.datetime_range(datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 3, 23, tzinfo=timezone.utc), "1h",
                           eager=True)
    eq = np.linspace(100.0, 130.0, ts.len())
    d = daily_frame(pl.DataFrame({"ts": ts, "equity": eq}))
    assert d.height == 3
    assert d["end_equity"].to_list() == pytest.approx([eq[23], eq[47], eq[71]])
    assert d["start_equity"][0] == 100.0 and d["ret"][1] == pytest.approx(eq[47] / eq[23] - 1)


def test_no_trades_gives_documented_zeros():
    ts = pl.datetime_range(datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 30, tzinfo=timezone.utc), "1d",
                           eager=True)
    n = ts.len()
    flat = pl.DataFrame({"ts": ts, "equity": [CAP] * n, "gross_exposure": [0.0] * n, "net_exposure": [0.0] * n,
                         "max_position_weight": [0.0] * n})
    empty = pl.DataFrame(schema={"strategy": pl.String, "market": pl.String, "ts": pl.Datetime("us", "UTC"),
                                 "side": pl.String, "qty": pl.Float64, "price": pl.Float64,
                                 "notional": pl.Float64, "fee": pl.Float64})
    m = evaluate_strategy(flat, empty, flat.select("ts", "equity"), periods_per_year=365, max_gross_leverage=1)
    assert all(math.isfinite(v) for v in m.values())
    for k in ("profit_factor", "win_rate", "trade_count", "sharpe", "sortino", "max_drawdown", "psr", "dsr",
              "alpha", "beta", "turnover", "cost", "return_to_drawdown", "position_concentration"):
        assert m[k] == 0.0, k


def test_ratio_caps():
    ts = pl.datetime_range(datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(2024, 1, 10, tzinfo=timezone.utc), "1d",
                           eager=True)
    up = pl.DataFrame({"ts": ts, "equity": np.geomspace(100, 120, ts.len())})
    m = evaluate_strategy(up, pl.DataFrame(schema={"market": pl.String, "ts": pl.Datetime("us", "UTC"),
                                                   "side": pl.String, "qty": pl.Float64, "price": pl.Float64,
                                                   "notional": pl.Float64, "fee": pl.Float64}),
                          periods_per_year=365, max_gross_leverage=1)
    assert m["return_to_drawdown"] == RATIO_CAP and m["sortino"] == RATIO_CAP and m["max_drawdown"] == 0.0


def test_split_sessions():
    assert split_sessions(11, 3) == [(0, 4), (4, 7), (7, 10)]
    assert split_sessions(5, 1) == [(0, 4)]
    with pytest.raises(ValueError):
        split_sessions(3, 3)


def test_sessions_and_window(battle):
    bars, equity, fills, bench = battle
    res = evaluate_sessions(equity, fills, bench, sessions=4, periods_per_year=365, max_gross_leverage=1.0,
                            n_trials=5, sr_variance=0.001, regimes=label_regimes(bars))
    w, ss = res["window"], res["sessions"]
    assert len(ss) == 4 and all(tuple(s) == METRIC_KEYS for s in ss)
    assert all(math.isfinite(v) for s in [w, *ss] for v in s.values())
    # sessions chain: the product of session growths is the window's growth
    assert np.prod([1 + s["total_return"] for s in ss]) == pytest.approx(1 + w["total_return"], rel=1e-12)
    assert w["session_return_variance"] == pytest.approx(np.var([s["total_return"] for s in ss]))
    assert sum(s["trade_count"] for s in ss) == w["trade_count"]
    assert sum(s["net_pnl"] for s in ss) == pytest.approx(w["net_pnl"])
    assert max(s["max_drawdown"] for s in ss) <= w["max_drawdown"] + 1e-12


def _utility(ret, mdd, tail, to, cost):
    return 1.0 * ret - 0.6 * mdd - 2.0 * tail - 0.3 * to - 1.0 * cost


def test_bootstrap_utility_ci_reproducible_and_brackets_observed(battle):
    _, equity, fills, _ = battle
    seed = seed_from_job_id("job-7")
    ci = bootstrap_utility_ci(equity, fills, CAP, _utility, seed, n_boot=400)
    assert ci == bootstrap_utility_ci(equity, fills, CAP, _utility, seed, n_boot=400)
    assert ci != bootstrap_utility_ci(equity, fills, CAP, _utility, seed + 1, n_boot=400)
    m = evaluate_strategy(equity, fills, periods_per_year=365, max_gross_leverage=1.0)
    u = _utility(m["total_return"], m["max_drawdown"], m["tail_cvar_95_daily"], m["turnover"], m["cost"])
    lo, hi = ci
    assert lo < hi and lo < u < hi


def test_regime_sensitivity_labels_each_bar_with_the_regime_known_at_its_open():
    """Labels computed from a bar's own return must not condition that return (look-ahead)."""
    from bx_platform.evaluation.report import _regime_sensitivity

    rng = np.random.default_rng(7)
    returns = rng.normal(0.0, 0.01, 5000)
    ts = pl.datetime_range(
        datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(hours=4999),
        "1h", eager=True, time_zone="UTC",
    )
    # a label that knows the bar's own return: "trend" exactly when the return is positive
    regimes = pl.DataFrame({"ts": ts, "trend_regime": np.where(returns > 0, "trend", "range")})
    assert _regime_sensitivity(ts, returns, regimes, ppy=1.0) < 0.15  # iid returns: no real regime effect
