import ast
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bx_platform.scoring import capital_score as capital_module
from bx_platform.scoring.capital_score import capital_score
from bx_platform.scoring.contest_score import ContestEntry, are_duplicates, contest_scores

DATES = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-03-01"))  # 60 days


def test_capital_score_formula_positive():
    s = capital_score([0.05, 0.03, 0.04], utility_ci_low=0.02, dsr=0.9, n_observations=120, n0=60)
    assert s == pytest.approx(100 * 0.02 * 0.9 * 120 / 180)


def test_capital_score_worst_scenario_bounds_it():
    s = capital_score([0.05, 0.01, 0.04], utility_ci_low=0.02, dsr=1.0, n_observations=60, n0=60)
    assert s == pytest.approx(100 * 0.01 * 0.5)


def test_capital_score_losses_are_not_shrunk():
    assert capital_score([-0.02, 0.03], 0.01, dsr=0.1, n_observations=5) == pytest.approx(-2.0)


def test_capital_score_small_samples_and_luck_are_penalized():
    big = capital_score([0.05], 0.04, dsr=0.95, n_observations=365)
    small = capital_score([0.05], 0.04, dsr=0.95, n_observations=20)
    lucky = capital_score([0.05], 0.04, dsr=0.2, n_observations=365)
    assert big > small > 0 and big > lucky > 0
    assert capital_score([0.05], 0.04, dsr=0.95, n_observations=0) == 0.0


def test_capital_score_non_finite_and_invalid():
    assert math.isnan(capital_score([float("nan")], 0.01, 0.5, 10))
    with pytest.raises(ValueError):
        capital_score([], 0.01, 0.5, 10)
    with pytest.raises(ValueError):
        capital_score([0.1], 0.01, 1.5, 10)


def test_capital_score_takes_no_contest_input():
    params = set(inspect.signature(capital_score).parameters)
    assert params == {"scenario_utilities", "utility_ci_low", "dsr", "n_observations", "n0"}
    assert not any("contest" in p or "cluster" in p for p in params)
    tree = ast.parse(inspect.getsource(capital_module))
    imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not any("contest" in name for name in imported)


capital_inputs = st.tuples(
    st.lists(st.floats(-1, 1), min_size=1, max_size=6), st.floats(-1, 1), st.floats(0, 1), st.integers(0, 2000)
)


@st.composite
def contest_entries(draw):
    n = draw(st.integers(0, 6))
    entries = []
    for i in range(n):
        days = draw(st.integers(0, 40))
        rets = draw(st.lists(st.floats(-0.2, 0.2), min_size=days, max_size=days))
        entries.append(ContestEntry(
            entry_id=f"e{i}", organization=draw(st.sampled_from(["orgA", "orgB"])), job_id=f"j{i % 2}",
            strategy_handle=draw(st.sampled_from(["s1", "s2", "s3"])),
            contest_key=draw(st.sampled_from([None, "cup-2026"])), dates=DATES[:days], returns=rets,
            beta_score=draw(st.floats(allow_nan=True, allow_infinity=True)),
        ))
    return entries


@settings(max_examples=60, deadline=None)
@given(st.lists(capital_inputs, min_size=1, max_size=4), contest_entries())
def test_no_contest_input_changes_a_capital_score(inputs, entries):
    before = [capital_score(u, lo, d, n) for u, lo, d, n in inputs]
    results = contest_scores(entries)
    assert len(results) == len(entries)
    after = [capital_score(u, lo, d, n) for u, lo, d, n in inputs]
    assert [x.hex() for x in before] == [x.hex() for x in after]


def _entry(eid, org, job, handle, rets, beta, contest="cup-2026", dates=DATES):
    return ContestEntry(eid, org, job, handle, contest, dates, rets, beta)


def test_duplicate_pair_across_two_organizations_shares_credit():
    rng = np.random.default_rng(7)
    base = rng.normal(0, 0.01, DATES.size)
    copy = base * 1.5 + rng.normal(0, 0.0005, DATES.size)  # levered near-copy: correlation ~0.999
    other = rng.normal(0, 0.01, DATES.size)
    entries = [
        _entry("a", "orgA", "job1", "alpha", base, beta=10.0),
        _entry("b", "orgB", "job2", "alpha-clone", copy, beta=12.0),
        _entry("c", "orgC", "job2", "gamma", other, beta=5.0),
    ]
    res = {r.entry_id: r for r in contest_scores(entries)}
    assert res["a"].cluster_id == res["b"].cluster_id == "cup-2026#a"
    assert res["a"].cluster_size == res["b"].cluster_size == 2
    assert res["c"].cluster_size == 1
    # two clusters: the duplicate pair ranks first (best member beta 12), gamma second
    assert res["a"].cluster_rank == 1 and res["c"].cluster_rank == 2
    assert res["a"].contest_score == res["b"].contest_score == 50.0
    assert res["c"].contest_score == 50.0
    # submitting a copy adds no credit to the pair
    solo = {r.entry_id: r for r in contest_scores([entries[1], entries[2]])}
    assert solo["b"].contest_score == res["a"].contest_score + res["b"].contest_score


def test_untagged_entries_compete_within_their_job_only():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.01, DATES.size)
    res = contest_scores([
        _entry("a", "orgA", "job1", "x", base, 1.0, contest=None),
        _entry("b", "orgB", "job2", "y", base, 2.0, contest=None),
    ])
    assert {r.contest_key for r in res} == {"job:job1", "job:job2"}
    assert all(r.cluster_size == 1 and r.contest_score == 100.0 for r in res)


def test_duplicates_need_enough_overlap_and_chain_through_a_third():
    rng = np.random.default_rng(3)
    base = rng.normal(0, 0.01, DATES.size)
    a = (DATES[:15], base[:15])
    b = (DATES[:15], base[:15] * 2)
    assert not are_duplicates(a, b)  # 15 < 20 overlapping days
    assert are_duplicates((DATES, base), (DATES, base * 2))
    assert are_duplicates((DATES, np.zeros(DATES.size)), (DATES, np.zeros(DATES.size)))
    assert not are_duplicates((DATES, np.zeros(DATES.size)), (DATES, base))


def test_contest_is_deterministic_under_input_order():
    rng = np.random.default_rng(5)
    series = [rng.normal(0, 0.01, DATES.size) for _ in range(3)]
    entries = [_entry(f"e{i}", "o", "j", f"h{i}", s, beta=1.0) for i, s in enumerate(series)]
    entries.append(_entry("e9", "o2", "j", "h9", series[0] + 1e-5, beta=1.0))
    assert contest_scores(entries) == contest_scores(list(reversed(entries)))
