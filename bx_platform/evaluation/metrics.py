"""Return-based performance statistics: one small function per statistic.

Conventions (the full list, with formulas, is in docs/metrics.md):

- Inputs are 1-D NumPy float arrays of per-period *simple* returns ``r_t = E_t / E_{t-1} - 1``
  (or of an equity curve where the docstring says so). They must be finite: NaN is not skipped, it
  propagates (the engine and ``equity_file`` never produce NaN, and skipping them silently would hide
  a broken input). Use :func:`simple_returns` to go from an equity curve to returns.
- The risk-free rate is zero.
- ``periods_per_year`` (``ppy``) is passed in by the caller: it is derived from the bar timeframe and the
  market's calendar (for example 365 daily bars a year for crypto, 252 for US equities, 8,760 hourly
  crypto bars). Nothing here guesses it.
- Where empyrical-reloaded has the same statistic, the value is empyrical-reloaded 0.7.1's definition
  (checked to a relative difference of 1e-9 in the tests), with two sign conventions of our own:
  ``max_drawdown`` and ``cvar`` are returned as *positive* loss fractions.
- A statistic that is undefined on its input (too few observations, zero dispersion, no drawdown)
  is NaN here. The report layer (``bx_platform.evaluation.report``) maps NaN to documented finite values.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "simple_returns",
    "equity_from_returns",
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe_ratio",
    "downside_deviation",
    "sortino_ratio",
    "drawdown_series",
    "max_drawdown",
    "value_at_risk",
    "cvar",
    "return_to_drawdown",
    "alpha_beta",
    "stability_of_timeseries",
    "gain_stability",
    "tail_ratio",
    "summary",
]

# Relative size under which a standard deviation is treated as exactly zero (constant returns leave a
# floating-point residue of ~1e-19 instead of 0, which would turn an undefined ratio into ~1e15).
_ZERO_DISPERSION = 1e-12


def _as_array(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {a.shape}")
    return a


def _mean_std(r: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1).

    One pass ``(Σr² − n·m²)/(n − 1)`` when that is safe — the subtracted term is under 1e-3 of Σr², so
    cancellation costs at most 3 of the 16 digits (returns: mean ≪ deviation, the usual case) — else
    the two-pass ``Σ(r − m)²/(n − 1)``."""
    n = r.shape[0]
    m = float(np.add.reduce(r)) / n
    ss = float(np.dot(r, r))
    nm2 = n * m * m
    if nm2 < 1e-3 * ss:
        var = (ss - nm2) / (n - 1)
    else:
        d = r - m
        var = float(np.dot(d, d)) / (n - 1)
    return m, math.sqrt(var)


def _is_zero_dispersion(mean: float, std: float) -> bool:
    return not (std > _ZERO_DISPERSION * abs(mean)) or std == 0.0


def simple_returns(equity) -> np.ndarray:
    """Per-period simple returns of an equity curve: ``E[1:] / E[:-1] - 1`` (one fewer element)."""
    e = _as_array(equity)
    return e[1:] / e[:-1] - 1.0


def equity_from_returns(returns, start: float = 1.0) -> np.ndarray:
    """Equity curve from simple returns, with ``start`` prepended (``len(returns) + 1`` elements)."""
    r = _as_array(returns)
    out = np.empty(r.shape[0] + 1)
    out[0] = start
    np.add(r, 1.0, out=out[1:])
    np.cumprod(out[1:], out=out[1:])
    out[1:] *= start
    return out


def total_return(returns) -> float:
    """Cumulative simple return ``prod(1 + r) - 1`` (empyrical ``cum_returns_final``). NaN if empty."""
    r = _as_array(returns)
    if r.shape[0] == 0:
        return math.nan
    return float(np.multiply.reduce(r + 1.0)) - 1.0


def annual_return(returns, periods_per_year: float) -> float:
    """Compound annual growth rate over the number of return periods ``n``:
    ``(1 + total_return) ** (ppy / n) - 1`` (empyrical ``annual_return``). NaN if empty, and NaN when the
    equity ended below zero (no real growth rate; empyrical's NumPy power gives NaN there too)."""
    r = _as_array(returns)
    n = r.shape[0]
    if n == 0:
        return math.nan
    ending = float(np.multiply.reduce(r + 1.0))
    if ending < 0.0:
        return math.nan
    return ending ** (1.0 / (n / periods_per_year)) - 1.0


def annual_volatility(returns, periods_per_year: float) -> float:
    """Sample standard deviation (ddof=1) times ``sqrt(ppy)`` (empyrical ``annual_volatility``).
    NaN with fewer than 2 returns."""
    r = _as_array(returns)
    if r.shape[0] < 2:
        return math.nan
    _, s = _mean_std(r)
    return s * periods_per_year**0.5


def sharpe_ratio(returns, periods_per_year: float) -> float:
    """Annualized Sharpe ratio, zero risk-free rate: ``mean(r) / std(r, ddof=1) * sqrt(ppy)``
    (empyrical ``sharpe_ratio``). NaN with fewer than 2 returns or zero dispersion."""
    r = _as_array(returns)
    if r.shape[0] < 2:
        return math.nan
    m, s = _mean_std(r)
    if _is_zero_dispersion(m, s):
        return math.nan
    return m / s * math.sqrt(periods_per_year)


def downside_deviation(returns, periods_per_year: float, required_return: float = 0.0) -> float:
    """Annualized downside deviation below ``required_return``, averaged over ALL observations:
    ``sqrt(mean(min(r - MAR, 0)**2)) * sqrt(ppy)`` (empyrical ``downside_risk``). NaN if empty."""
    r = _as_array(returns)
    n = r.shape[0]
    if n == 0:
        return math.nan
    d = np.minimum(r - required_return if required_return else r, 0.0)
    return math.sqrt(float(np.dot(d, d)) / n) * math.sqrt(periods_per_year)


def sortino_ratio(returns, periods_per_year: float, required_return: float = 0.0) -> float:
    """Sortino ratio: ``mean(r - MAR) * ppy / downside_deviation`` (empyrical ``sortino_ratio``).
    NaN with fewer than 2 returns; +inf when there is no downside and the mean is positive (as empyrical)."""
    r = _as_array(returns)
    n = r.shape[0]
    if n < 2:
        return math.nan
    adj = r - required_return if required_return else r
    mean = float(np.add.reduce(adj)) / n
    d = np.minimum(adj, 0.0)
    dd = math.sqrt(float(np.dot(d, d)) / n) * math.sqrt(periods_per_year)
    if dd == 0.0:
        return math.nan if mean == 0.0 else math.copysign(math.inf, mean)
    return mean * periods_per_year / dd


def drawdown_series(equity) -> np.ndarray:
    """Drawdown at each point of an equity curve as a positive fraction: ``1 - E_t / max_{s<=t} E_s``."""
    e = _as_array(equity)
    peak = np.maximum.accumulate(e)
    return 1.0 - e / peak


def max_drawdown(equity) -> float:
    """Maximum drawdown of an equity curve as a POSITIVE fraction, ``max_t (1 - E_t / max_{s<=t} E_s)``.

    ``equity`` includes the starting point (the initial capital), so a loss on the very first period
    counts. Equal to ``-empyrical.max_drawdown(simple_returns(equity))`` (empyrical anchors the
    cumulative curve at a starting value the same way). 0.0 when equity never falls; NaN if empty."""
    e = _as_array(equity)
    if e.shape[0] == 0:
        return math.nan
    peak = np.maximum.accumulate(e)
    return float(1.0 - np.min(e / peak))


def value_at_risk(returns, cutoff: float = 0.05) -> float:
    """Historical Value at Risk as a positive loss fraction: ``-percentile(r, 100*cutoff)``
    (linear interpolation, empyrical ``value_at_risk`` negated). NaN if empty."""
    r = _as_array(returns)
    if r.shape[0] == 0:
        return math.nan
    return -_percentiles_linear(r, (100.0 * cutoff,))[0]


def cvar(returns, cutoff: float = 0.05) -> float:
    """Historical conditional value at risk (expected shortfall) as a positive loss fraction.

    The mean of the ``k + 1`` lowest returns with ``k = int((n - 1) * cutoff)``, negated — exactly
    empyrical ``conditional_value_at_risk`` with the sign flipped. A negative value means even the
    worst tail is on average a gain. NaN if empty."""
    r = _as_array(returns)
    n = r.shape[0]
    if n == 0:
        return math.nan
    k = int((n - 1) * cutoff)
    return -float(np.mean(np.partition(r, k)[: k + 1]))


def return_to_drawdown(returns, periods_per_year: float) -> float:
    """Calmar ratio: ``annual_return / max_drawdown`` on the equity curve built from ``returns``
    starting at 1 (empyrical ``calmar_ratio``). NaN when there is no drawdown or the ratio is infinite."""
    r = _as_array(returns)
    n = r.shape[0]
    if n == 0:
        return math.nan
    eq = equity_from_returns(r)
    mdd = max_drawdown(eq)
    if not mdd > 0.0:
        return math.nan
    # the annual return from the same curve: eq[-1] == prod(1 + r) (cumprod and reduce agree to ~1 ulp)
    out = (float(eq[-1]) ** (1.0 / (n / periods_per_year)) - 1.0) / mdd
    return math.nan if math.isinf(out) else out


def alpha_beta(returns, benchmark_returns, periods_per_year: float) -> tuple[float, float]:
    """Alpha (annualized) and beta against a benchmark, zero risk-free rate (empyrical ``alpha_beta``).

    ``beta = cov(r, b) / var(b)`` with population moments (ddof=0; NaN when ``var(b) < 1e-30``);
    ``alpha = (1 + mean(r - beta * b)) ** ppy - 1`` (compounded per-period alpha). Both NaN with fewer
    than 2 observations. ``returns`` and ``benchmark_returns`` must be aligned and of equal length."""
    r = _as_array(returns)
    b = _as_array(benchmark_returns)
    if r.shape != b.shape:
        raise ValueError(f"returns and benchmark_returns differ in length: {r.shape[0]} != {b.shape[0]}")
    n = r.shape[0]
    if n < 2:
        return math.nan, math.nan
    bres = b - float(np.add.reduce(b)) / n
    var_b = float(np.dot(bres, bres)) / n
    if var_b < 1.0e-30:
        return math.nan, math.nan
    beta = (float(np.dot(bres, r)) / n) / var_b
    a_per = (float(np.add.reduce(r)) - beta * float(np.add.reduce(b))) / n
    return (1.0 + a_per) ** periods_per_year - 1.0, beta


def stability_of_timeseries(returns) -> float:
    """R² of an ordinary least squares fit of cumulative log returns ``cumsum(log1p(r))`` against time
    (empyrical ``stability_of_timeseries``). NaN with fewer than 2 returns or a flat curve."""
    r = _as_array(returns)
    n = r.shape[0]
    if n < 2:
        return math.nan
    y = np.cumsum(np.log1p(r))
    t = np.arange(n, dtype=np.float64)
    t -= (n - 1) / 2.0
    y = y - float(np.add.reduce(y)) / n
    syy = float(np.dot(y, y))
    if syy == 0.0:
        return math.nan
    sty = float(np.dot(t, y))
    stt = float(np.dot(t, t))
    r2 = sty * sty / (stt * syy)
    return min(r2, 1.0)


def gain_stability(returns) -> float:
    """R² of the fit of :func:`stability_of_timeseries`, signed by the fitted slope: in [−1, 1], +1 for a
    perfectly steady gain, −1 for a perfectly steady loss. The unsigned R² rates a steady loss as well as a
    steady gain; the sign makes consistency count only in the direction of profit. Raising every return by
    a constant raises it (the slope grows while the residuals stay). NaN where the R² is undefined."""
    r = _as_array(returns)
    r2 = stability_of_timeseries(r)
    if math.isnan(r2):
        return math.nan
    y = np.cumsum(np.log1p(r))
    t = np.arange(r.shape[0], dtype=np.float64) - (r.shape[0] - 1) / 2.0
    return math.copysign(r2, float(np.dot(t, y)))


def _percentiles_linear(r: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(r, qs)`` (linear interpolation, numpy's lerp) from order statistics found by
    successive single-pivot partitions of shrinking prefixes (numpy's multi-pivot partition is ~6x slower)."""
    n = r.shape[0]
    pos = [q / 100.0 * (n - 1) for q in qs]
    need = sorted({int(math.floor(p)) for p in pos}, reverse=True)
    order: dict[int, float] = {}
    w = r.copy()
    size, upper = n, None  # w[:size] holds the `size` smallest values; `upper` = order stat `size`
    for lo in need:
        w[:size].partition(lo)
        order[lo] = float(w[lo])
        if lo + 1 < size:
            order[lo + 1] = float(w[lo + 1 : size].min())
        elif lo + 1 < n:
            order[lo + 1] = upper
        size, upper = lo, order[lo]
    out = []
    for p in pos:
        lo = int(math.floor(p))
        frac = p - lo
        a = order[lo]
        b = order.get(lo + 1, a)
        diff = b - a
        out.append(a + diff * frac if frac < 0.5 else b - diff * (1.0 - frac))
    return out


def tail_ratio(returns) -> float:
    """``|95th percentile| / |5th percentile|`` of returns, percentiles with linear interpolation
    (empyrical ``tail_ratio``). NaN if empty; inf when the 5th percentile is 0."""
    r = _as_array(returns)
    if r.shape[0] == 0:
        return math.nan
    p5, p95 = _percentiles_linear(r, (5.0, 95.0))
    if p5 == 0.0:
        return math.nan if p95 == 0.0 else math.inf
    return abs(p95) / abs(p5)


def summary(returns, periods_per_year: float, benchmark_returns=None, cutoff: float = 0.05) -> dict:
    """All return-based statistics of this module in one pass over shared intermediates.

    Same values as the individual functions (same formulas, same undefined cases), computed once:
    the mean and deviation are shared by volatility, Sharpe and PSR, the equity curve by total/annual
    return and drawdown. Keys: total_return, annual_return, annual_volatility, sharpe, sortino,
    downside_deviation, max_drawdown, cvar_95, return_to_drawdown, stability, tail_ratio, and
    alpha/beta when ``benchmark_returns`` is given."""
    r = _as_array(returns)
    n = r.shape[0]
    nan = math.nan
    if n == 0:
        out = dict.fromkeys(
            ["total_return", "annual_return", "annual_volatility", "sharpe", "sortino",
             "downside_deviation", "max_drawdown", "cvar_95", "return_to_drawdown", "stability",
             "tail_ratio"], nan)
        if benchmark_returns is not None:
            out["alpha"] = out["beta"] = nan
        return out
    eq = np.empty(n + 1)
    eq[0] = 1.0
    np.add(r, 1.0, out=eq[1:])
    np.cumprod(eq[1:], out=eq[1:])
    ending = float(eq[-1])
    tot = ending - 1.0
    ann = ending ** (1.0 / (n / periods_per_year)) - 1.0
    peak = np.maximum.accumulate(eq)
    np.divide(eq, peak, out=peak)
    mdd = float(1.0 - peak.min())
    s_ppy = math.sqrt(periods_per_year)
    if n >= 2:
        m, s = _mean_std(r)
        vol = s * periods_per_year**0.5
        sharpe = nan if _is_zero_dispersion(m, s) else m / s * s_ppy
    else:
        m, vol, sharpe = float(r[0]), nan, nan
    d = np.minimum(r, 0.0)
    dd = math.sqrt(float(np.dot(d, d)) / n) * s_ppy
    if n < 2:
        sortino = nan
    elif dd == 0.0:
        sortino = nan if m == 0.0 else math.copysign(math.inf, m)
    else:
        sortino = m * periods_per_year / dd
    k = int((n - 1) * cutoff)
    cv = -float(np.mean(np.partition(r, k)[: k + 1]))
    if mdd > 0.0:
        calmar = ann / mdd
        calmar = nan if math.isinf(calmar) else calmar
    else:
        calmar = nan
    out = {
        "total_return": tot,
        "annual_return": ann,
        "annual_volatility": vol,
        "sharpe": sharpe,
        "sortino": sortino,
        "downside_deviation": dd,
        "max_drawdown": mdd,
        "cvar_95": cv,
        "return_to_drawdown": calmar,
        "stability": stability_of_timeseries(r),
        "tail_ratio": tail_ratio(r),
    }
    if benchmark_returns is not None:
        out["alpha"], out["beta"] = alpha_beta(r, benchmark_returns, periods_per_year)
    return out
