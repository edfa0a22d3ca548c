"""Luck versus skill: Probabilistic and Deflated Sharpe Ratios, and the stationary bootstrap.

PSR and DSR follow Bailey and López de Prado ("The Sharpe Ratio Efficient Frontier", 2012; "The Deflated
Sharpe Ratio", 2014) with the conventions public libraries often get wrong:

- the Sharpe ratio is the PER-PERIOD one (mean / std of the per-bar returns, ddof=1), never annualized;
- γ3 is the skewness and γ4 the RAW kurtosis (3 for a normal distribution), both as population moments
  (the biased estimators, ``scipy.stats.skew`` / ``scipy.stats.kurtosis(fisher=False)`` defaults);
- T is the number of return observations.

PSR(SR*) = Φ( (SR − SR*)·√(T − 1) / √(1 − γ3·SR + ((γ4 − 1)/4)·SR²) )

E[max SR] over N independent trials whose per-period Sharpe ratios have variance V:
SR0 = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), γ the Euler–Mascheroni constant.
For N = 1 there is no selection, so SR0 = 0 (the formula's Φ⁻¹(0) = −∞ is not used).
DSR = PSR(SR0).
"""

from __future__ import annotations

import hashlib
import math
from typing import Callable

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "EULER_GAMMA",
    "sharpe_moments",
    "psr_from_moments",
    "probabilistic_sharpe_ratio",
    "expected_max_sharpe",
    "deflated_sharpe_ratio",
    "default_mean_block",
    "stationary_bootstrap_indices",
    "stationary_bootstrap",
    "stationary_bootstrap_ci",
    "seed_from_job_id",
    "MIN_EARLIER_TRIALS",
    "PRIOR_ANNUAL_SHARPE_VARIANCE",
    "convert_sharpe",
    "trial_pins",
]

EULER_GAMMA = 0.5772156649015329


def sharpe_moments(returns) -> tuple[float, float, float, int]:
    """(per-period SR with ddof=1, skewness, raw kurtosis, T) of a return series.

    Skewness and kurtosis are population moments: m3/m2^1.5 and m4/m2² (normal → 0 and 3).
    SR, skew and kurtosis are NaN when T < 2 or the returns are constant."""
    r = np.asarray(returns, dtype=np.float64)
    t = int(r.shape[0])
    if t < 2:
        return math.nan, math.nan, math.nan, t
    m = float(np.add.reduce(r)) / t
    d = r - m
    d2 = d * d
    m2 = float(np.add.reduce(d2)) / t
    if not m2 > 0.0 or math.sqrt(m2) <= 1e-12 * abs(m):
        return math.nan, math.nan, math.nan, t
    m3 = float(np.dot(d2, d)) / t
    m4 = float(np.dot(d2, d2)) / t
    sr = m / math.sqrt(m2 * t / (t - 1))
    return sr, m3 / m2**1.5, m4 / (m2 * m2), t


def psr_from_moments(sr: float, sr_benchmark: float, t: int, skew: float, kurtosis: float) -> float:
    """PSR from its inputs: per-period ``sr``, per-period ``sr_benchmark`` (SR*), ``t`` observations,
    ``skew`` (γ3) and RAW ``kurtosis`` (γ4, normal = 3). NaN when undefined (t < 2, non-finite input,
    or a non-positive variance term 1 − γ3·SR + (γ4 − 1)/4·SR²)."""
    if t < 2 or not all(math.isfinite(v) for v in (sr, sr_benchmark, skew, kurtosis)):
        return math.nan
    var_term = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if not var_term > 0.0:
        return math.nan
    z = (sr - sr_benchmark) * math.sqrt(t - 1) / math.sqrt(var_term)
    return float(ndtr(z))


def probabilistic_sharpe_ratio(returns, sr_benchmark: float = 0.0, risk_free: float = 0.0) -> float:
    """Probability that the true per-period Sharpe ratio exceeds ``sr_benchmark`` (per period, not
    annualized), given the sample's SR, skewness, raw kurtosis and length. See the module docstring.
    ``risk_free`` is the risk-free return PER PERIOD (an annual rate must be converted by the caller): the
    Sharpe ratio is that of the excess returns ``r − risk_free``."""
    r = np.asarray(returns, dtype=np.float64)
    sr, g3, g4, t = sharpe_moments(r - risk_free if risk_free else r)
    return psr_from_moments(sr, sr_benchmark, t, g3, g4)


def expected_max_sharpe(sr_variance: float, n_trials: int) -> float:
    """Expected maximum per-period Sharpe ratio of ``n_trials`` independent trials with true SR 0 and
    cross-trial variance ``sr_variance`` (of PER-PERIOD Sharpe ratios; divide an annualized variance by
    ppy). ``√V·((1−γ)Φ⁻¹(1−1/N) + γΦ⁻¹(1−1/(N·e)))``; 0.0 for N = 1 (no selection)."""
    n = int(n_trials)
    if n < 1 or n != n_trials:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if not sr_variance >= 0.0:
        raise ValueError(f"sr_variance must be >= 0, got {sr_variance!r}")
    if n == 1:
        return 0.0
    z = (1.0 - EULER_GAMMA) * float(ndtri(1.0 - 1.0 / n)) + EULER_GAMMA * float(ndtri(1.0 - 1.0 / (n * math.e)))
    return math.sqrt(sr_variance) * z


def deflated_sharpe_ratio(returns, n_trials: int, sr_variance: float) -> float:
    """Deflated Sharpe Ratio: PSR at SR0 = :func:`expected_max_sharpe` ``(sr_variance, n_trials)``.
    With ``n_trials == 1`` it equals the PSR against 0."""
    return probabilistic_sharpe_ratio(returns, expected_max_sharpe(sr_variance, n_trials))


# --------------------------------------------------------------------------------------------------
# Stationary bootstrap (Politis and Romano, 1994)


def default_mean_block(n: int) -> float:
    """Default mean block length: ``max(1, n ** (1/3))`` (the usual n^(1/3) rate for block bootstraps)."""
    return max(1.0, float(n) ** (1.0 / 3.0))


def stationary_bootstrap_indices(n: int, n_boot: int, mean_block: float, rng: np.random.Generator) -> np.ndarray:
    """``(n_boot, n)`` resampling indices of the stationary bootstrap.

    Each resample is a concatenation of blocks: a block starts at a uniformly drawn index and continues
    with consecutive indices (wrapping around the end), and each next position starts a new block with
    probability ``p = 1 / mean_block`` (so block lengths are geometric with mean ``mean_block``).
    Vectorized: one draw of starts and one of block breaks for the whole matrix, then the position of the
    current block start is propagated with a running maximum."""
    if n < 1 or n_boot < 1:
        raise ValueError("n and n_boot must be >= 1")
    if not mean_block >= 1.0:
        raise ValueError(f"mean_block must be >= 1, got {mean_block!r}")
    p = 1.0 / mean_block
    starts = rng.integers(0, n, size=(n_boot, n))
    new_block = rng.random((n_boot, n)) < p
    new_block[:, 0] = True
    pos = np.arange(n)
    block_pos = np.where(new_block, pos, 0)
    np.maximum.accumulate(block_pos, axis=1, out=block_pos)
    idx = np.take_along_axis(starts, block_pos, axis=1)
    idx += pos - block_pos
    idx %= n
    return idx


def stationary_bootstrap(
    x,
    stat_fn: Callable,
    n_boot: int = 1000,
    mean_block: float | None = None,
    seed: int = 0,
    vectorized: bool = False,
    max_cells: int = 4_000_000,
) -> np.ndarray:
    """Bootstrap distribution (``n_boot`` values) of ``stat_fn`` under the stationary bootstrap.

    ``stat_fn`` takes one resampled 1-D array and returns a float; with ``vectorized=True`` it takes an
    ``(b, n)`` matrix (one resample per row) and returns ``b`` values, which is much faster. Draws come
    from ``numpy.random.Generator(PCG64(seed))`` in chunks of at most ``max_cells`` cells; the chunking
    depends only on ``n`` and ``max_cells``, so the same seed gives the same distribution."""
    a = np.asarray(x, dtype=np.float64)
    n = int(a.shape[0])
    if n < 1:
        raise ValueError("cannot bootstrap an empty series")
    mb = default_mean_block(n) if mean_block is None else float(mean_block)
    rng = np.random.Generator(np.random.PCG64(seed))
    chunk = max(1, min(n_boot, max_cells // n))
    out = np.empty(n_boot)
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        samples = a[stationary_bootstrap_indices(n, b, mb, rng)]
        if vectorized:
            out[done : done + b] = np.asarray(stat_fn(samples), dtype=np.float64)
        else:
            for i in range(b):
                out[done + i] = stat_fn(samples[i])
        done += b
    return out


def stationary_bootstrap_ci(
    x_or_returns,
    stat_fn: Callable,
    n_boot: int = 1000,
    mean_block: float | None = None,
    alpha: float = 0.05,
    seed: int = 0,
    vectorized: bool = False,
) -> tuple[float, float]:
    """Percentile confidence interval ``(low, high)`` at level ``1 - alpha`` of ``stat_fn`` under the
    stationary bootstrap (see :func:`stationary_bootstrap`; the mean block length defaults to
    :func:`default_mean_block`). Non-finite bootstrap values are ignored; (NaN, NaN) if none is finite."""
    dist = stationary_bootstrap(x_or_returns, stat_fn, n_boot, mean_block, seed, vectorized)
    dist = dist[np.isfinite(dist)]
    if dist.shape[0] == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(dist, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


def seed_from_job_id(job_id: str) -> int:
    """Deterministic bootstrap seed of a job: the first 8 bytes of SHA-256(job_id, UTF-8), big-endian."""
    return int.from_bytes(hashlib.sha256(job_id.encode("utf-8")).digest()[:8], "big")


# --------------------------------------------------------------------------------------------------
# Trials pinned at submission (docs/scoring.md, "Honest deflation")

#: Below this many earlier Sharpe ratios, the organization's own variance is too noisy to trust alone.
MIN_EARLIER_TRIALS = 10
#: The prior (a floor) on the variance of ANNUALIZED Sharpe ratios across trials: 1.0 is the sampling variance
#: of an annualized Sharpe ratio estimated on one year of data when the true one is zero, i.e. how much
#: skill-less trials scatter on a year's evidence.
PRIOR_ANNUAL_SHARPE_VARIANCE = 1.0


def convert_sharpe(sr_per_period: float, from_periods_per_year: float, to_periods_per_year: float) -> float:
    """A per-period Sharpe ratio in another bar size: annualize with √ppy of its own bars, then divide by √ppy
    of the target bars (an hourly SR of 0.01 on a 24/7 market is a daily SR of 0.01·√8760/√365 = 0.049)."""
    return sr_per_period * math.sqrt(from_periods_per_year) / math.sqrt(to_periods_per_year)


def trial_pins(
    earlier_trials: int, new_trials: int, earlier_sharpes: list[tuple[float, float]], periods_per_year: float
) -> dict:
    """What a job pins for its Deflated Sharpe Ratio: N and V[SR] in ONE unit, the per-period Sharpe ratio of
    this job's bars.

    earlier_trials: strategy evaluations the organization submitted before; new_trials: this job's strategies;
    earlier_sharpes: (per-period SR, periods per year of its job) of the earlier evaluations with a known SR;
    periods_per_year: this job's bars. Every earlier SR is converted to this job's bar size first
    (:func:`convert_sharpe`), then V is their sample variance (ddof=1). With fewer than
    :data:`MIN_EARLIER_TRIALS` of them, V is at least the prior ``PRIOR_ANNUAL_SHARPE_VARIANCE / ppy``, so an
    organization's first job is deflated too."""
    converted = [convert_sharpe(sr, ppy, periods_per_year) for sr, ppy in earlier_sharpes]
    sample = float(np.var(converted, ddof=1)) if len(converted) >= 2 else 0.0
    prior = PRIOR_ANNUAL_SHARPE_VARIANCE / periods_per_year
    use_prior = len(converted) < MIN_EARLIER_TRIALS and prior > sample
    return {
        "n": earlier_trials + new_trials,
        "sharpe_variance": prior if use_prior else sample,
        "unit": "per-period Sharpe ratio of this job's bars, squared",
        "periods_per_year": periods_per_year,
        "earlier_trials": earlier_trials,
        "earlier_sharpes": len(converted),
        "variance_source": "prior" if use_prior else "history",
        "prior_annual_variance": PRIOR_ANNUAL_SHARPE_VARIANCE,
        "min_earlier_trials": MIN_EARLIER_TRIALS,
    }
