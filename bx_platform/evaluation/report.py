"""The full metric set of one strategy over a window, per battle session and for the whole window.

Inputs are the execution engine's frames:

- ``equity``: ``ts`` (UTC), ``equity`` (mark-to-market at the bar's close), ``gross_exposure``,
  ``net_exposure``, ``max_position_weight``. Row 0 is the starting point (the initial capital, stamped at the
  first bar's open); each later row is one bar, stamped with the bar's open time (the engine's convention).
- ``fills``: ``strategy, market, ts, side, qty, price, notional, fee`` and optionally ``slippage_cost``.
- ``benchmark_equity``: ``ts, equity`` of the Benchmark Hold on the same ts grid (or None).

Output: a flat dict of floats whose keys are :data:`METRIC_KEYS` (the contract with the scoring layer).
Every value is finite. Where a statistic is undefined, a documented finite value is returned instead
(the full table is in docs/metrics.md, "Undefined values"); in short: no trades → trade statistics 0.0;
zero dispersion → Sharpe, PSR and DSR 0.0; no losses → ratios capped at :data:`RATIO_CAP`; no benchmark
(or a constant one) → alpha and beta 0.0; never exposed → position concentration 0.0.

Days: "daily" figures group bars by the UTC date of their ``ts``. The day's end equity is the last equity of
that date; its starting equity is the previous day's end (the first day's start is row 0). Fills are
grouped by the UTC date of their ``ts`` (a fill stamped before the first bar's date counts on the first day).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import polars as pl

from bx_platform.evaluation import metrics as M
from bx_platform.evaluation.luck import (
    deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
    stationary_bootstrap,
)
from bx_platform.evaluation.trades import (
    average_holding_duration,
    average_trade_return,
    profit_factor,
    reconstruct_trades,
    win_rate,
)

__all__ = [
    "METRIC_KEYS",
    "RATIO_CAP",
    "evaluate_strategy",
    "evaluate_sessions",
    "split_sessions",
    "daily_frame",
    "daily_returns",
    "daily_turnover",
    "explicit_cost",
    "bootstrap_utility_ci",
]

CONTRACT_V1_KEYS: tuple[str, ...] = (
    # core
    "net_pnl", "total_return", "profit_factor", "win_rate", "avg_trade_return", "trade_count",
    # risk
    "max_drawdown", "annual_volatility", "downside_deviation", "alpha", "beta", "cvar_95", "tail_cvar_95_daily",
    # risk-adjusted
    "sharpe", "sortino", "return_to_drawdown", "annual_return",
    # behavioral
    "trade_frequency", "avg_holding_days", "leverage_utilization", "position_concentration",
    "time_to_recover_days", "time_under_water_fraction",
    # stability
    "performance_stability", "session_return_variance", "regime_sensitivity",
    # utility inputs and luck-vs-skill
    "turnover", "cost", "psr", "dsr",
)
#: Added for bx-score-v3 (docs/metrics.md, "Window-invariant utility inputs"): signed stability, the worst
#: session, and the utility's terms as rates with the one-time entry kept apart.
CONTRACT_V2_ADDED_KEYS: tuple[str, ...] = (
    "gain_stability", "worst_session_return", "growth_rate", "entry_cost", "excess_turnover", "excess_cost_rate",
    "years", "tail_cvar_95_daily_after_entry",
)
METRIC_KEYS: tuple[str, ...] = CONTRACT_V1_KEYS + CONTRACT_V2_ADDED_KEYS

#: Value given to a ratio whose denominator is zero while its numerator is positive (profit factor with no
#: losing trade, Sortino with no negative return, return-to-drawdown with no drawdown), and the bound
#: applied to those three ratios.
RATIO_CAP = 100.0

_DAY_S = 86400.0


# ----------------------------------------------------------------------------------------------- helpers


def _finite(x: float, default: float = 0.0) -> float:
    return float(x) if math.isfinite(x) else default


def _capped_ratio(x: float) -> float:
    """NaN → 0.0; ±inf and beyond ±RATIO_CAP → ±RATIO_CAP."""
    if math.isnan(x):
        return 0.0
    return float(max(-RATIO_CAP, min(RATIO_CAP, x)))


def _check_equity(equity: pl.DataFrame) -> None:
    missing = {"ts", "equity"} - set(equity.columns)
    if missing:
        raise ValueError(f"equity frame lacks columns {sorted(missing)}")
    if equity.height < 1:
        raise ValueError("equity frame is empty")


def daily_frame(equity: pl.DataFrame) -> pl.DataFrame:
    """Daily equity: ``day`` (UTC date), ``start_equity``, ``end_equity``, ``ret`` for the bars (rows 1..)
    of an equity frame; row 0 is the first day's starting equity. Empty when there is no bar."""
    _check_equity(equity)
    start0 = float(equity["equity"][0])
    bars = equity.slice(1)
    if bars.height == 0:
        return pl.DataFrame(schema={"day": pl.Date, "start_equity": pl.Float64, "end_equity": pl.Float64,
                                    "ret": pl.Float64})
    d = (
        bars.select(pl.col("ts").dt.convert_time_zone("UTC").dt.date().alias("day"),
                    pl.col("equity").cast(pl.Float64))
        .group_by("day", maintain_order=True)
        .agg(pl.col("equity").last().alias("end_equity"))
        .sort("day")
        .with_columns(pl.col("end_equity").shift(1, fill_value=start0).alias("start_equity"))
    )
    return d.select("day", "start_equity", "end_equity", (pl.col("end_equity") / pl.col("start_equity") - 1.0)
                    .alias("ret"))


def daily_returns(equity: pl.DataFrame) -> np.ndarray:
    """Daily simple returns (UTC days) of an equity frame, see :func:`daily_frame`."""
    return daily_frame(equity)["ret"].to_numpy()


def daily_turnover(equity: pl.DataFrame, fills: pl.DataFrame, days: pl.DataFrame | None = None) -> np.ndarray:
    """Per UTC day: one-way traded notional (the sum of |notional| over that day's fills, each fill counted
    once) divided by the day's starting equity. Days without fills count as 0."""
    d = daily_frame(equity) if days is None else days
    if d.height == 0:
        return np.zeros(0)
    if fills.height == 0:
        return np.zeros(d.height)
    first, last = d["day"][0], d["day"][-1]
    f = (
        fills.select(pl.col("ts").dt.convert_time_zone("UTC").dt.date().clip(first, last).alias("day"),
                     pl.col("notional").cast(pl.Float64).abs())
        .group_by("day").agg(pl.col("notional").sum())
    )
    j = d.join(f, on="day", how="left").sort("day")
    # a day without fills turned nothing over, even when its starting equity is 0 (after a wipe-out)
    traded = pl.when(pl.col("notional").is_null()).then(0.0).otherwise(pl.col("notional") / pl.col("start_equity"))
    return j.select(traded).to_series().to_numpy()


def explicit_cost(fills: pl.DataFrame) -> float:
    """Explicit execution costs in quote currency: the sum of ``fee`` plus ``spread_cost`` and ``slippage_cost``
    when present."""
    if fills.height == 0:
        return 0.0
    total = float(fills["fee"].cast(pl.Float64).fill_null(0.0).sum())
    for column in ("spread_cost", "slippage_cost"):
        if column in fills.columns:
            total += float(fills[column].cast(pl.Float64).fill_null(0.0).sum())
    return total


def _recovery(ts_s: np.ndarray, eq: np.ndarray) -> tuple[float, float]:
    """(longest time to recover in days, fraction of bars under water) of an equity curve (row 0 included
    as the starting peak; the fraction is over rows 1..). An episode runs from the last peak before the
    equity falls below it to the first row back at or above it; an episode not recovered by the end of the
    window counts as the window length (the worst possible value: "never recovered")."""
    n = eq.shape[0]
    if n < 2:
        return 0.0, 0.0
    peak = np.maximum.accumulate(eq)
    under = eq < peak
    frac = float(np.mean(under[1:]))
    if not under.any():
        return 0.0, frac
    window_days = (ts_s[-1] - ts_s[0]) / _DAY_S
    u = under.astype(np.int8)
    edges = np.diff(np.concatenate(([0], u, [0])))
    starts = np.flatnonzero(edges == 1)  # first underwater row
    ends = np.flatnonzero(edges == -1)  # first row back at the peak (== n when never)
    longest = 0.0
    for s, e in zip(starts, ends):
        if e >= n:
            dur = window_days
        else:
            dur = (ts_s[e] - ts_s[s - 1]) / _DAY_S
        longest = max(longest, dur)
    return float(longest), frac


def _regime_sensitivity(ts: pl.Series, rets: np.ndarray, regimes: pl.DataFrame | None, ppy: float) -> float:
    """Mean over regime dimensions (vol_regime, trend_regime) of |mean bar return in label A − in label B|
    × √ppy / std of all bar returns, each bar labelled with the regime known at its open: the gap between the regimes' annualized mean returns in units of the
    strategy's own annualized volatility (a Sharpe-ratio gap), so the figure reads the same for a 5 %-vol FX
    strategy and an 80 %-vol crypto one. A dimension counts only when both labels hold bars. 0.0 without
    regimes, when no dimension has both labels, or for a flat curve."""
    if regimes is None or rets.shape[0] == 0:
        return 0.0
    dims = [c for c in ("vol_regime", "trend_regime") if c in regimes.columns]
    # a bar's regime is the one known when it opened: the labels of the bar before, since a label at ts is
    # computed from closes up to ts and so from the very return it would be conditioning
    known = regimes.select(["ts", *dims]).sort("ts").with_columns(pl.col(dims).shift(1), pl.col("ts").cast(ts.dtype))
    frame = pl.DataFrame({"ts": ts, "_r": rets}).join(known, on="ts", how="left")
    volatility = float(np.std(rets, ddof=1)) if rets.shape[0] > 1 else 0.0
    if not volatility > 0.0:
        return 0.0
    gaps = []
    for dim in dims:
        means = frame.filter(pl.col(dim).is_not_null()).group_by(dim).agg(pl.col("_r").mean())["_r"].to_numpy()
        if means.shape[0] >= 2:
            gaps.append((float(means.max()) - float(means.min())) * math.sqrt(ppy) / volatility)
    return float(np.mean(gaps)) if gaps else 0.0


def _aligned_benchmark_returns(equity: pl.DataFrame, benchmark_equity: pl.DataFrame | None) -> np.ndarray | None:
    if benchmark_equity is None:
        return None
    if benchmark_equity.height != equity.height or not (
        benchmark_equity["ts"].cast(pl.Datetime("us", "UTC")) == equity["ts"].cast(pl.Datetime("us", "UTC"))
    ).all():
        raise ValueError("benchmark_equity must be on the same ts grid as equity")
    return M.simple_returns(benchmark_equity["equity"].cast(pl.Float64).to_numpy())


def _rate_terms(eq: np.ndarray, equity: pl.DataFrame, days: pl.DataFrame, daily_to: np.ndarray, cost: float,
                years: float) -> dict:
    """The window-invariant utility inputs (docs/metrics.md, "Window-invariant utility inputs").

    The entry is building the book once: up to the peak gross exposure above the scenario's starting one. Its
    turns are free of the turnover term and its costs (their share of all costs) are charged once as
    ``entry_cost``; everything traded beyond it is recurring and charged as a rate: ``excess_turnover``
    one-way turns per day with bars, ``excess_cost_rate`` costs per year. ``growth_rate`` is the log growth
    per year of the equity after the entry (a constant per-bar return gives the same rate on any window);
    a wiped-out curve gets −RATIO_CAP. ``tail_cvar_95_daily_after_entry`` is the daily CVaR of the same
    post-entry curve (the first day starts from the equity left after paying the entry)."""
    turns = float(np.sum(daily_to))
    gross = equity["gross_exposure"].cast(pl.Float64).to_numpy() if "gross_exposure" in equity.columns else np.zeros(1)
    entry_turns = min(turns, max(float(np.max(gross)) - float(gross[0]), 0.0))
    entry_cost = cost * entry_turns / turns if turns > 0.0 else 0.0
    ratio = float(eq[-1] / eq[0])
    if years <= 0.0:
        growth = 0.0
    elif ratio > 0.0 and entry_cost < 1.0:
        growth = (math.log(ratio) - math.log1p(-entry_cost)) / years
    else:
        growth = -RATIO_CAP
    after_entry = days["ret"].to_numpy().copy()
    if after_entry.shape[0] and entry_cost < 1.0:
        after_entry[0] = (after_entry[0] + 1.0) / (1.0 - entry_cost) - 1.0
    return {
        "years": years,
        "tail_cvar_95_daily_after_entry": _finite(M.cvar(after_entry, 0.05)),
        "growth_rate": _finite(growth, -RATIO_CAP),
        "entry_cost": entry_cost,
        "excess_turnover": (turns - entry_turns) / daily_to.shape[0] if daily_to.shape[0] else 0.0,
        "excess_cost_rate": (cost - entry_cost) / years if years > 0.0 else 0.0,
    }


# ------------------------------------------------------------------------------------------------ public


def evaluate_strategy(
    equity: pl.DataFrame,
    fills: pl.DataFrame,
    benchmark_equity: pl.DataFrame | None = None,
    *,
    periods_per_year: float,
    max_gross_leverage: float,
    n_trials: int = 1,
    sr_variance: float = 0.0,
    initial_capital: float | None = None,
    regimes: pl.DataFrame | None = None,
    trades: pl.DataFrame | None = None,
) -> dict[str, float]:
    """The full metric set (:data:`METRIC_KEYS`, all finite) of one strategy over one window.

    ``initial_capital`` defaults to the equity at row 0 (the window's starting equity); it is the
    denominator of ``cost``. ``regimes`` is :func:`bx_platform.evaluation.context.label_regimes` output (per
    bar ``ts, vol_regime, trend_regime``) for ``regime_sensitivity``. ``trades`` are the round trips to count
    (default: reconstructed from ``fills``; :func:`evaluate_sessions` passes the whole window's trades that
    exit in the session). ``session_return_variance`` is 0.0 here: only :func:`evaluate_sessions` fills it
    for the whole window. ``n_trials``/``sr_variance`` (per-period Sharpe variance) drive the DSR."""
    _check_equity(equity)
    ppy = float(periods_per_year)
    eq = equity["equity"].cast(pl.Float64).to_numpy()
    start = float(eq[0])
    cap0 = float(initial_capital) if initial_capital is not None else start
    r = M.simple_returns(eq)
    n = r.shape[0]
    bench_r = _aligned_benchmark_returns(equity, benchmark_equity)
    if trades is None:
        trades = reconstruct_trades(fills)

    # core
    pnl = trades["pnl"].to_numpy() if trades.height else np.zeros(0)
    out: dict[str, float] = {
        "net_pnl": float(eq[-1] - start),
        "total_return": float(eq[-1] / start - 1.0),
        "profit_factor": _capped_ratio(profit_factor(pnl)),
        "win_rate": _finite(win_rate(pnl)),
        "avg_trade_return": _finite(average_trade_return(trades["return"].to_numpy())),
        "trade_count": float(trades.height),
    }

    # risk
    out["max_drawdown"] = _finite(M.max_drawdown(eq))
    out["annual_volatility"] = _finite(M.annual_volatility(r, ppy))
    out["downside_deviation"] = _finite(M.downside_deviation(r, ppy))
    if bench_r is not None:
        a, b = M.alpha_beta(r, bench_r, ppy)
    else:
        a, b = math.nan, math.nan
    out["alpha"], out["beta"] = _finite(a), _finite(b)
    out["cvar_95"] = _finite(M.cvar(r, 0.05))
    days = daily_frame(equity)
    dr = days["ret"].to_numpy()
    out["tail_cvar_95_daily"] = _finite(M.cvar(dr, 0.05))

    # risk-adjusted
    out["sharpe"] = _finite(M.sharpe_ratio(r, ppy))
    sortino = M.sortino_ratio(r, ppy)
    out["sortino"] = _capped_ratio(sortino)
    ann = M.annual_return(r, ppy)
    mdd = out["max_drawdown"]
    if mdd > 0.0:
        rtd = _capped_ratio(ann / mdd)
    else:
        rtd = RATIO_CAP if (math.isfinite(ann) and ann > 0.0) else 0.0
    out["return_to_drawdown"] = rtd
    out["annual_return"] = _finite(ann)

    # behavioral
    years = n / ppy
    out["trade_frequency"] = float(trades.height / years) if years > 0 else 0.0
    out["avg_holding_days"] = _finite(average_holding_duration(trades["holding_seconds"].to_numpy()) / _DAY_S)
    bars = equity.slice(1)
    if bars.height and "gross_exposure" in bars.columns:
        gross = bars["gross_exposure"].cast(pl.Float64).to_numpy()
        out["leverage_utilization"] = _finite(float(np.mean(gross)) / float(max_gross_leverage))
        if "max_position_weight" in bars.columns:
            w = bars["max_position_weight"].cast(pl.Float64).to_numpy()
            exposed = gross > 1e-12
            out["position_concentration"] = (
                _finite(float(np.mean(w[exposed] / gross[exposed]))) if exposed.any() else 0.0)
        else:
            out["position_concentration"] = 0.0
    else:
        out["leverage_utilization"] = 0.0
        out["position_concentration"] = 0.0
    ts_s = equity["ts"].dt.epoch("us").cast(pl.Float64).to_numpy() / 1e6
    out["time_to_recover_days"], out["time_under_water_fraction"] = _recovery(ts_s, eq)

    # stability
    out["performance_stability"] = _finite(M.stability_of_timeseries(r))
    out["gain_stability"] = _finite(M.gain_stability(r))
    out["session_return_variance"] = 0.0
    out["worst_session_return"] = out["total_return"]
    out["regime_sensitivity"] = _finite(_regime_sensitivity(bars["ts"], r, regimes, ppy))

    # utility inputs, luck vs skill
    to = daily_turnover(equity, fills, days)
    out["turnover"] = float(np.mean(to)) if to.shape[0] else 0.0
    out["cost"] = explicit_cost(fills) / cap0
    out.update(_rate_terms(eq, equity, days, to, out["cost"], years))
    out["psr"] = _finite(probabilistic_sharpe_ratio(r, 0.0))
    out["dsr"] = _finite(deflated_sharpe_ratio(r, n_trials, sr_variance))
    return {k: float(out[k]) for k in METRIC_KEYS}


def split_sessions(n_rows: int, sessions: int) -> list[tuple[int, int]]:
    """Row ranges ``(start, end)`` (inclusive) of ``sessions`` equal consecutive battle sessions of an
    equity frame of ``n_rows`` rows (row 0 = starting point). The ``n_rows − 1`` bars are split into
    ``sessions`` consecutive chunks whose sizes differ by at most one (the first chunks take the extra
    bar); each session's frame starts at the row before its first bar (its starting equity)."""
    n_bars = n_rows - 1
    if sessions < 1:
        raise ValueError("sessions must be >= 1")
    if n_bars < sessions:
        raise ValueError(f"cannot split {n_bars} bars into {sessions} sessions")
    base, extra = divmod(n_bars, sessions)
    out, first = [], 1
    for i in range(sessions):
        size = base + (1 if i < extra else 0)
        out.append((first - 1, first + size - 1))
        first += size
    return out


def evaluate_sessions(
    equity: pl.DataFrame,
    fills: pl.DataFrame,
    benchmark_equity: pl.DataFrame | None = None,
    *,
    sessions: int,
    periods_per_year: float,
    max_gross_leverage: float,
    n_trials: int = 1,
    sr_variance: float = 0.0,
    initial_capital: float | None = None,
    regimes: pl.DataFrame | None = None,
) -> dict:
    """``{"window": metrics, "sessions": [metrics, ...]}`` for the whole window and each battle session.

    Sessions come from :func:`split_sessions`. A session's fills are those stamped at or after its first
    bar's ts and before the next session's first bar (the first session also takes earlier fills); its
    trades are the whole window's round trips (FIFO over all fills, so a position carried across a session
    boundary is one trade) whose exit falls in the session. A session's ``cost`` is over its starting
    equity. The window's ``session_return_variance`` is the population variance (ddof=0) of the sessions'
    total returns (0.0 for one session)."""
    kw = dict(periods_per_year=periods_per_year, max_gross_leverage=max_gross_leverage, n_trials=n_trials,
              sr_variance=sr_variance, regimes=regimes)
    trades = reconstruct_trades(fills)
    window = evaluate_strategy(equity, fills, benchmark_equity, initial_capital=initial_capital,
                               trades=trades, **kw)
    ranges = split_sessions(equity.height, sessions)
    ts = equity["ts"].cast(pl.Datetime("us", "UTC"))
    fts = fills["ts"].cast(pl.Datetime("us", "UTC")) if fills.height else None
    per = []
    for i, (s, e) in enumerate(ranges):
        lo = ts[s + 1] if i > 0 else None
        hi = ts[e + 1] if i + 1 < len(ranges) else None

        def in_range(col: pl.Expr) -> pl.Expr:
            cond = pl.lit(True)
            if lo is not None:
                cond = cond & (col >= lo)
            if hi is not None:
                cond = cond & (col < hi)
            return cond

        f_s = fills.filter(in_range(pl.col("ts").cast(pl.Datetime("us", "UTC")))) if fts is not None else fills
        t_s = trades.filter(in_range(pl.col("exit_ts")))
        eq_s = equity.slice(s, e - s + 1)
        b_s = benchmark_equity.slice(s, e - s + 1) if benchmark_equity is not None else None
        per.append(evaluate_strategy(eq_s, f_s, b_s, trades=t_s, **kw))
    totals = np.array([p["total_return"] for p in per])
    window["session_return_variance"] = float(np.var(totals)) if totals.shape[0] > 1 else 0.0
    window["worst_session_return"] = float(totals.min())
    return {"window": window, "sessions": per}


def bootstrap_utility_ci(
    equity: pl.DataFrame,
    fills: pl.DataFrame,
    initial_capital: float,
    utility_fn: Callable[[float, float, float, float, float], float],
    seed: int,
    n_boot: int = 1000,
    mean_block: float | None = None,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """``(low, high)`` percentile interval (95 % by default) of the utility under the stationary bootstrap
    of the DAILY returns (Politis–Romano; mean block length ``n_days ** (1/3)`` unless given; seed e.g.
    :func:`bx_platform.evaluation.luck.seed_from_job_id`).

    Per resample: ``total_return = prod(1 + r*) − 1``, ``max_drawdown`` of the resampled daily equity
    curve starting at 1, ``tail`` = CVaR 95 % of the resampled daily returns; ``turnover`` and ``cost`` are
    held at their observed values (they are properties of the trading, not of the return path's order), and
    ``utility_fn(total_return, max_drawdown, tail, turnover, cost)`` is called once per resample. With no
    complete day of returns, the observed utility is returned as both bounds."""
    days = daily_frame(equity)
    dr = days["ret"].to_numpy()
    to = daily_turnover(equity, fills, days)
    turnover = float(np.mean(to)) if to.shape[0] else 0.0
    cost = explicit_cost(fills) / float(initial_capital)
    if dr.shape[0] == 0:
        u = float(utility_fn(0.0, 0.0, 0.0, turnover, cost))
        return u, u
    n = dr.shape[0]
    k = int((n - 1) * 0.05)

    def stat(s: np.ndarray) -> np.ndarray:
        growth = np.cumprod(1.0 + s, axis=1)
        total = growth[:, -1] - 1.0
        peak = np.maximum(np.maximum.accumulate(growth, axis=1), 1.0)
        mdd = np.maximum(1.0 - (growth / peak).min(axis=1), 0.0)
        tail = -np.partition(s, k, axis=1)[:, : k + 1].mean(axis=1)
        return np.array([utility_fn(float(a), float(b), float(c), turnover, cost)
                         for a, b, c in zip(total, mdd, tail)])

    dist = stationary_bootstrap(dr, stat, n_boot=n_boot, mean_block=mean_block, seed=seed, vectorized=True)
    dist = dist[np.isfinite(dist)]
    if dist.shape[0] == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(dist, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)
