"""PSR / DSR against the papers' formulas (written out independently here with scipy), and the bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bx_platform.evaluation.luck import (
    EULER_GAMMA,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    psr_from_moments,
    seed_from_job_id,
    sharpe_moments,
    stationary_bootstrap,
    stationary_bootstrap_ci,
    stationary_bootstrap_indices,
)
from bx_platform.evaluation.metrics import simple_returns

from ._data import btc_daily, stock


def _independent_psr(sr, sr_star, t, skew, raw_kurt):
    # Bailey & López de Prado (2012), eq. for PSR with the non-annualized SR and raw kurtosis
    sigma = math.sqrt((1.0 - skew * sr + (raw_kurt - 1.0) / 4.0 * sr**2) / (t - 1.0))
    return stats.norm.cdf((sr - sr_star) / sigma)


def _independent_sr0(v, n):
    g = np.euler_gamma
    return math.sqrt(v) * ((1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * np.e)))


def test_dsr_worked_example_of_the_paper():
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", numerical example: N = 100 trials,
    annualized V[SR] = 1/2, T = 1250 daily observations (250 a year), annualized SR 2.5, skew -3, kurtosis 10.
    The paper reports E[max SR] ≈ 0.1132 (per day) and DSR ≈ 0.9004."""
    v = 0.5 / 250.0
    sr = 2.5 / math.sqrt(250.0)
    sr0 = expected_max_sharpe(v, 100)
    assert sr0 == pytest.approx(_independent_sr0(v, 100), rel=1e-12)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    dsr = psr_from_moments(sr, sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(_independent_psr(sr, sr0, 1250, -3.0, 10.0), rel=1e-12)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_euler_gamma():
    assert EULER_GAMMA == pytest.approx(np.euler_gamma, rel=1e-15)


@pytest.mark.parametrize("ticker", ["AAPL", "MSFT", "IBM"])
def test_psr_on_real_returns_against_independent_formula(ticker):
    r = simple_returns(stock(ticker)["px"].to_numpy())
    sr = np.mean(r) / np.std(r, ddof=1)
    skew = stats.skew(r)  # population (biased) moment
    kurt = stats.kurtosis(r, fisher=False)  # raw kurtosis, normal = 3
    sr_m, skew_m, kurt_m, t = sharpe_moments(r)
    assert (sr_m, skew_m, kurt_m, t) == pytest.approx((sr, skew, kurt, len(r)), rel=1e-9)
    for sr_star in (0.0, 0.01, -0.02):
        assert probabilistic_sharpe_ratio(r, sr_star) == pytest.approx(
            _independent_psr(sr, sr_star, len(r), skew, kurt), rel=1e-9, abs=1e-15)


def test_dsr_on_btc_and_monotone_in_trials():
    r = simple_returns(btc_daily()["close"].to_numpy())
    v = 0.002
    prev = probabilistic_sharpe_ratio(r, 0.0)
    assert deflated_sharpe_ratio(r, 1, v) == prev  # N = 1: no selection, SR0 = 0
    for n in (2, 3, 5, 10, 50, 100, 1000, 10_000):
        d = deflated_sharpe_ratio(r, n, v)
        sr, g3, g4, t = sharpe_moments(r)
        assert d == pytest.approx(_independent_psr(sr, _independent_sr0(v, n), t, g3, g4), rel=1e-9)
        assert d < prev
        prev = d


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-6, 1.0), st.integers(1, 10_000))
def test_property_expected_max_sharpe_increasing(v, n):
    assert expected_max_sharpe(v, n + 1) > expected_max_sharpe(v, n) >= 0.0


def test_expected_max_sharpe_rejects_bad_input():
    with pytest.raises(ValueError):
        expected_max_sharpe(0.1, 0)
    with pytest.raises(ValueError):
        expected_max_sharpe(-0.1, 3)


def test_psr_undefined_is_nan():
    assert math.isnan(probabilistic_sharpe_ratio(np.array([0.01])))
    assert math.isnan(probabilistic_sharpe_ratio(np.full(20, 0.01)))


def test_seed_from_job_id():
    import hashlib

    s = seed_from_job_id("job-123")
    assert s == int.from_bytes(hashlib.sha256(b"job-123").digest()[:8], "big")
    assert 0 <= s < 2**64 and s != seed_from_job_id("job-124")


def test_bootstrap_reproducible_with_the_same_seed():
    r = simple_returns(btc_daily()["close"].to_numpy())
    seed = seed_from_job_id("job-abc")
    a = stationary_bootstrap_ci(r, np.mean, n_boot=300, seed=seed)
    b = stationary_bootstrap_ci(r, np.mean, n_boot=300, seed=seed)
    c = stationary_bootstrap_ci(r, np.mean, n_boot=300, seed=seed + 1)
    assert a == b and a != c
    lo, hi = a
    assert lo < np.mean(r) < hi
    # vectorized stat gives the same distribution as the per-sample stat
    d1 = stationary_bootstrap(r, np.mean, n_boot=50, seed=7)
    d2 = stationary_bootstrap(r, lambda m: m.mean(axis=1), n_boot=50, seed=7, vectorized=True)
    np.testing.assert_allclose(d1, d2, rtol=1e-12)


def test_bootstrap_indices_are_blocks_with_the_right_mean_length():
    rng = np.random.Generator(np.random.PCG64(1))
    n, mean_block = 500, 10.0
    idx = stationary_bootstrap_indices(n, 200, mean_block, rng)
    assert idx.shape == (200, n) and idx.min() >= 0 and idx.max() < n
    # consecutive positions continue the block (index + 1 mod n) except at block starts
    cont = (idx[:, 1:] == (idx[:, :-1] + 1) % n)
    breaks = 1.0 - cont.mean()
    # probability of a new block is 1/mean_block (plus rare accidental continuations at random starts)
    assert breaks == pytest.approx(1.0 / mean_block, rel=0.05)
