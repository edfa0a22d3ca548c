"""Speed of the return-based statistics on a 1,000,000-bar equity curve: this project vs empyrical-reloaded vs
quantstats, in-process, same series. Run: ``python bench/metrics.py [--bars N] [--repeat R]``.

The series is a seeded geometric random walk of hourly-like returns (drift 0, vol 1 % a bar) and a benchmark
correlated with it. Each library computes the same statistics with its own per-statistic public functions;
empyrical-reloaded gets NumPy arrays (its fastest input), quantstats gets pandas Series with a DatetimeIndex
(its required input). Each timing is the best of ``--repeat`` runs. The bootstrap is timed separately (this
project only: neither library has a stationary bootstrap).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

import empyrical as ep  # noqa: E402
import quantstats as qs  # noqa: E402

from bx_platform.evaluation import luck as L  # noqa: E402
from bx_platform.evaluation import metrics as M  # noqa: E402


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--ppy", type=float, default=8760.0)
    args = ap.parse_args()
    n, ppy, rep = args.bars, args.ppy, args.repeat

    rng = np.random.Generator(np.random.PCG64(20240501))
    b = rng.normal(0.0, 0.01, n)
    r = 0.6 * b + rng.normal(0.00002, 0.008, n)
    equity = M.equity_from_returns(r, 10_000.0)
    idx = pd.date_range("1990-01-01", periods=n, freq="h")
    rs, bs = pd.Series(r, index=idx), pd.Series(b, index=idx)
    ipy = int(ppy)

    # (statistic, ours, empyrical, quantstats or None)
    stats = [
        ("total_return", lambda: M.total_return(r), lambda: ep.cum_returns_final(r), lambda: qs.stats.comp(rs)),
        ("annual_return", lambda: M.annual_return(r, ppy), lambda: ep.annual_return(r, annualization=ppy),
         lambda: qs.stats.cagr(rs, periods=ipy)),
        ("annual_volatility", lambda: M.annual_volatility(r, ppy), lambda: ep.annual_volatility(r, annualization=ppy),
         lambda: qs.stats.volatility(rs, periods=ipy)),
        ("sharpe_ratio", lambda: M.sharpe_ratio(r, ppy), lambda: ep.sharpe_ratio(r, annualization=ppy),
         lambda: qs.stats.sharpe(rs, periods=ipy)),
        ("sortino_ratio", lambda: M.sortino_ratio(r, ppy), lambda: ep.sortino_ratio(r, annualization=ppy),
         lambda: qs.stats.sortino(rs, periods=ipy)),
        ("downside_deviation", lambda: M.downside_deviation(r, ppy), lambda: ep.downside_risk(r, annualization=ppy),
         None),
        ("max_drawdown", lambda: M.max_drawdown(equity), lambda: ep.max_drawdown(r),
         lambda: qs.stats.max_drawdown(rs)),
        ("cvar (historical 5 %)", lambda: M.cvar(r), lambda: ep.conditional_value_at_risk(r),
         lambda: qs.stats.conditional_value_at_risk(rs, method="historical")),
        ("return_to_drawdown", lambda: M.return_to_drawdown(r, ppy), lambda: ep.calmar_ratio(r, annualization=ppy),
         lambda: qs.stats.calmar(rs, periods=ipy)),
        ("alpha_beta", lambda: M.alpha_beta(r, b, ppy), lambda: ep.alpha_beta(r, b, annualization=ppy),
         lambda: qs.stats.greeks(rs, bs, periods=ppy)),
        ("stability", lambda: M.stability_of_timeseries(r), lambda: ep.stability_of_timeseries(r), None),
        ("tail_ratio", lambda: M.tail_ratio(r), lambda: ep.tail_ratio(r), lambda: qs.stats.tail_ratio(rs)),
        ("psr (SR*=0)", lambda: L.probabilistic_sharpe_ratio(r), None,
         lambda: qs.stats.probabilistic_sharpe_ratio(rs, periods=ipy)),
    ]

    print(f"{n:,} bars, best of {rep}; times in milliseconds\n")
    head = f"{'statistic':24} {'bx_platform':>12} {'empyrical':>12} {'quantstats':>12} {'x empyrical':>12} {'x quantstats':>13}"
    print(head)
    print("-" * len(head))
    tot = {"bx": 0.0, "ep": 0.0, "qs": 0.0, "ep_common": 0.0, "bx_ep": 0.0, "qs_common": 0.0, "bx_qs": 0.0}
    for name, f_bx, f_ep, f_qs in stats:
        t_bx = best_of(f_bx, rep)
        t_ep = best_of(f_ep, rep) if f_ep else None
        t_qs = best_of(f_qs, max(1, rep - 1)) if f_qs else None
        tot["bx"] += t_bx
        if t_ep is not None:
            tot["ep_common"] += t_ep
            tot["bx_ep"] += t_bx
        if t_qs is not None:
            tot["qs_common"] += t_qs
            tot["bx_qs"] += t_bx
            if name != "alpha_beta":
                tot["qs_noab"] = tot.get("qs_noab", 0.0) + t_qs
                tot["bx_noab"] = tot.get("bx_noab", 0.0) + t_bx

        def fmt(t):
            return f"{t * 1e3:12.2f}" if t is not None else f"{'n/a':>12}"

        x_ep = f"{t_ep / t_bx:11.1f}x" if t_ep is not None else f"{'':12}"
        x_qs = f"{t_qs / t_bx:12.1f}x" if t_qs is not None else f"{'':13}"
        print(f"{name:24} {fmt(t_bx)} {fmt(t_ep)} {fmt(t_qs)} {x_ep} {x_qs}")
    print("-" * len(head))
    print(f"{'sum, vs empyrical':24} {tot['bx_ep'] * 1e3:12.2f} {tot['ep_common'] * 1e3:12.2f} {'':12} "
          f"{tot['ep_common'] / tot['bx_ep']:11.1f}x")
    print(f"{'sum, vs quantstats':24} {tot['bx_qs'] * 1e3:12.2f} {'':12} {tot['qs_common'] * 1e3:12.2f} {'':12} "
          f"{tot['qs_common'] / tot['bx_qs']:12.1f}x")
    print(f"{'sum vs qs, w/o alpha_beta':24} {tot['bx_noab'] * 1e3:12.2f} {'':12} {tot['qs_noab'] * 1e3:12.2f} "
          f"{'':12} {tot['qs_noab'] / tot['bx_noab']:12.1f}x")
    t_sum = best_of(lambda: (M.summary(r, ppy, b), L.probabilistic_sharpe_ratio(r)), rep)
    print(f"{'bx summary() (fused)':24} {t_sum * 1e3:12.2f}   (all statistics above in one call)")

    print("\nbootstrap (this project; stationary bootstrap, PCG64 seeded, vectorized index generation)")
    daily = r[: 1000 * 24].reshape(1000, 24).sum(axis=1)  # ~1,000 days
    t_b1 = best_of(lambda: L.stationary_bootstrap_ci(daily, lambda m: m.mean(axis=1), n_boot=1000, seed=1,
                                                   vectorized=True), rep)
    print(f"  1,000 resamples of 1,000 daily returns, mean          : {t_b1 * 1e3:10.2f} ms")
    t_b2 = best_of(lambda: L.stationary_bootstrap_ci(r, lambda m: m.mean(axis=1) / m.std(axis=1, ddof=1),
                                                   n_boot=100, seed=1, vectorized=True), 1)
    print(f"  100 resamples of {n:,} bars, per-period Sharpe       : {t_b2 * 1e3:10.2f} ms")


if __name__ == "__main__":
    main()
