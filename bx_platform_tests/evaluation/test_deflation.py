"""Honest deflation (docs/scoring.md, "Honest deflation"): V[SR] in one per-period unit, a documented prior for an
organization with few earlier trials, trials pinned per organization at submission."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from bx_platform.evaluation.luck import (
    EULER_GAMMA,
    MIN_EARLIER_TRIALS,
    PRIOR_ANNUAL_SHARPE_VARIANCE,
    convert_sharpe,
    deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
    trial_pins,
)
from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import submit
from bx_platform_tests.evaluation._data import btc_daily
from bx_platform_tests.jobs.test_spec import BASE

HOURLY, DAILY = 8760.0, 365.0


def _btc_2017_returns() -> np.ndarray:
    bars = btc_daily().filter(btc_daily()["ts"].dt.year() == 2017)
    close = bars["close"].to_numpy()
    return close[1:] / close[:-1] - 1.0


def test_first_job_of_an_organization_is_deflated():
    """No earlier trial: V is the prior 1/ppy (per-period unit), so with N > 1 the DSR is below the PSR for a
    strategy with a positive Sharpe ratio (v1 pinned V = 0 here, and the DSR equalled the PSR whatever N)."""
    pins = trial_pins(0, 3, [], DAILY)
    assert pins["n"] == 3 and pins["variance_source"] == "prior"
    assert pins["sharpe_variance"] == pytest.approx(PRIOR_ANNUAL_SHARPE_VARIANCE / DAILY)
    returns = _btc_2017_returns()
    psr = probabilistic_sharpe_ratio(returns)
    dsr = deflated_sharpe_ratio(returns, pins["n"], pins["sharpe_variance"])
    assert 0.0 < dsr < psr


def test_a_daily_job_after_an_hourly_one_deflates_as_computed_by_hand():
    """Twelve earlier hourly Sharpe ratios (enough history, no prior): each is converted to a daily one,
    SR_d = SR_h·√8760/√365 = SR_h·√24, before the variance; pooling them as they are (what v1 did) gives a V
    24 times too small."""
    hourly = [0.002 * k - 0.01 for k in range(12)]
    assert len(hourly) >= MIN_EARLIER_TRIALS
    pins = trial_pins(12, 2, [(sr, HOURLY) for sr in hourly], DAILY)
    by_hand = float(np.var([sr * math.sqrt(24.0) for sr in hourly], ddof=1))
    assert pins["sharpe_variance"] == pytest.approx(by_hand, rel=1e-12)
    assert pins["sharpe_variance"] == pytest.approx(24.0 * np.var(hourly, ddof=1), rel=1e-12)
    assert pins["n"] == 14 and pins["variance_source"] == "history" and pins["periods_per_year"] == DAILY

    returns = _btc_2017_returns()
    sr0 = math.sqrt(by_hand) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / 14) + EULER_GAMMA * norm.ppf(1 - 1 / (14 * math.e)))
    assert deflated_sharpe_ratio(returns, 14, pins["sharpe_variance"]) == pytest.approx(
        probabilistic_sharpe_ratio(returns, sr0), rel=1e-12)


def test_convert_sharpe_goes_through_the_annual_ratio():
    assert convert_sharpe(0.01, HOURLY, DAILY) == pytest.approx(0.01 * math.sqrt(24.0))
    assert convert_sharpe(convert_sharpe(0.3, DAILY, HOURLY), HOURLY, DAILY) == pytest.approx(0.3)


def test_trials_are_pinned_per_organization_with_their_unit(tmp_path):
    """Through the job store: an organization's first job is deflated by the prior; its evaluations are kept
    with their bar size; a later job converts them. The organization is its name (until identities exist), so
    another name starts from the prior again (docs/scoring.md says so)."""
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    first, _ = submit(parse_spec({**BASE, "strategies": ["bx/sma-trend", "bx/momentum"]}), store)
    trials = first["pinned"]["trials"]
    assert trials["n"] == 2 and trials["variance_source"] == "prior" and trials["sharpe_variance"] > 0
    assert trials["unit"].startswith("per-period") and trials["periods_per_year"] == HOURLY
    store.record_evaluations(first["job_id"], BASE["organization"], {"bx/sma-trend": 0.02, "bx/momentum": -0.01}, HOURLY)
    daily, _ = submit(parse_spec({**BASE, "timeframe": "1d", "strategies": ["bx/mean-reversion"]}), store)
    converted = float(np.var([0.02 * math.sqrt(24), -0.01 * math.sqrt(24)], ddof=1))
    assert daily["pinned"]["trials"]["n"] == 3
    assert daily["pinned"]["trials"]["sharpe_variance"] == pytest.approx(max(converted, 1 / DAILY))
    other, _ = submit(parse_spec({**BASE, "organization": "acme-2", "strategies": ["bx/mean-reversion"]}), store)
    assert other["pinned"]["trials"]["n"] == 1
    store.dispose()
