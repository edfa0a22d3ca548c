import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bx_platform.scoring.bx_score import compute_bx_score, sigmoid_points, transform_points
from bx_platform.scoring.governance import TransformSpec, load_score_version

from ._fixtures import SAMPLE_CONTEXT, SAMPLE_METRICS, metrics

V1 = load_score_version("bx-score-v1")
V2 = load_score_version("bx-score-v2")

any_float = st.floats(allow_nan=True, allow_infinity=True)
metric_dicts = st.fixed_dictionaries({k: any_float for k in SAMPLE_METRICS})


@settings(max_examples=150, deadline=None)
@given(metric_dicts, st.sampled_from([V1, V2]))
def test_score_is_bounded_and_contributions_sum_to_it(m, version):
    r = compute_bx_score(m, None, version)
    assert 0.0 <= r.score <= 100.0 + 1e-9
    assert math.fsum(r.group_contributions.values()) == r.score
    assert set(r.group_contributions) == set(version.groups)
    assert all(0.0 <= p <= 10.0 for p in r.normalized.values())
    assert set(r.flags) == {k for k in version.metrics if not math.isfinite(m[k])}


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_sigmoid_is_bounded_and_monotone(z):
    p = sigmoid_points(z)
    assert 0.0 <= p <= 10.0
    assert sigmoid_points(z + abs(z) * 1e-3 + 1e-3) >= p


def test_sigmoid_reference_points():
    assert sigmoid_points(0.0) == 5.0
    assert math.isclose(sigmoid_points(1.0), 5 + 5 / math.sqrt(11))
    assert sigmoid_points(-2.0) == pytest.approx(10.0 - sigmoid_points(2.0))


@pytest.mark.parametrize("name,params,lo_x,hi_x", [
    ("sigmoid", {"scale": 1.0}, -1.0, 1.0),
    ("log_sigmoid", {"scale": 0.5, "clamp": (0.01, 100.0)}, 0.5, 2.0),
    ("linear", {"lo": 0.0, "hi": 1.0}, 0.2, 0.8),
])
def test_direction_flips_the_order(name, params, lo_x, hi_x):
    up = TransformSpec(name=name, direction="higher", **params)
    down = TransformSpec(name=name, direction="lower", **params)
    assert transform_points(hi_x, up) > transform_points(lo_x, up)
    assert transform_points(hi_x, down) < transform_points(lo_x, down)


def test_decay_is_best_at_zero():
    spec = TransformSpec(name="decay", direction="lower", scale=0.1)
    assert transform_points(0.0, spec) == 10.0
    assert transform_points(-1.0, spec) == 10.0
    assert transform_points(0.1, spec) == pytest.approx(10 / math.e)


def test_nan_is_neutral_and_flagged():
    r = compute_bx_score(metrics(profit_factor=float("nan"), sharpe=float("-inf")), None, V1)
    assert r.flags == {"profit_factor": "nan", "sharpe": "-inf"}
    assert r.normalized["profit_factor"] == V1.non_finite_points == r.normalized["sharpe"]


def test_better_metrics_score_higher():
    base = compute_bx_score(metrics(), None, V1).score
    assert compute_bx_score(metrics(sharpe=3.0), None, V1).score > base
    assert compute_bx_score(metrics(max_drawdown=0.3), None, V1).score < base
    assert compute_bx_score(metrics(regime_sensitivity=2.0), None, V1).score < base


def test_unscored_metrics_do_not_move_the_score():
    base = compute_bx_score(metrics(), None, V1)
    other = compute_bx_score(metrics(net_pnl=-1e9, beta=7.0, dsr=float("nan")), None, V1)
    assert other.to_json() == base.to_json()


def test_missing_scored_metric_is_named():
    m = metrics()
    del m["sharpe"]
    with pytest.raises(KeyError, match="sharpe"):
        compute_bx_score(m, None, V1)


def test_context_is_recorded_not_used_to_rescale():
    with_ctx = compute_bx_score(metrics(), SAMPLE_CONTEXT, V1)
    without = compute_bx_score(metrics(), None, V1)
    assert with_ctx.context == SAMPLE_CONTEXT
    assert with_ctx.score == without.score
    assert with_ctx.version == "bx-score-v1" and with_ctx.version_sha256 == V1.sha256


def test_deterministic_json():
    a = compute_bx_score(metrics(), SAMPLE_CONTEXT, V1).to_json()
    b = compute_bx_score(dict(reversed(list(metrics().items()))), dict(reversed(SAMPLE_CONTEXT.items())), V1)
    assert a == b.to_json()
