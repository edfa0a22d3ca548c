import math

from hypothesis import given
from hypothesis import strategies as st

from bx_platform.scoring.utility import DEFAULT_WEIGHTS, UtilityWeights, beta_score, utility, utility_from_metrics

from ._fixtures import metrics

finite = st.floats(-10, 10, allow_nan=False)


def test_default_weights_are_the_products():
    assert DEFAULT_WEIGHTS == UtilityWeights(w_r=1.0, w_dd=0.6, w_tail=2.0, w_to=0.3, w_cost=1.0)


def test_utility_formula():
    u = utility(0.10, 0.05, 0.02, 0.10, 0.01)
    assert math.isclose(u, 0.10 - 0.6 * 0.05 - 2.0 * 0.02 - 0.3 * 0.10 - 1.0 * 0.01)


def test_utility_from_metrics_uses_daily_tail():
    m = metrics(total_return=0.2, max_drawdown=0.1, tail_cvar_95_daily=0.03, turnover=0.2, cost=0.02, cvar_95=9.9)
    assert utility_from_metrics(m) == utility(0.2, 0.1, 0.03, 0.2, 0.02)


def test_custom_weights():
    w = UtilityWeights(w_r=2.0, w_dd=0.0, w_tail=0.0, w_to=0.0, w_cost=0.0)
    assert utility(0.1, 0.5, 0.5, 0.5, 0.5, w) == 0.2


def test_non_finite_propagates():
    assert math.isnan(utility(float("nan"), 0.1, 0.0, 0.0, 0.0))


@given(finite, finite)
def test_beta_score_is_a_difference(us, uh):
    assert beta_score(us, uh) == 100.0 * (us - uh)
    assert beta_score(us, us) == 0.0


@given(finite, finite, st.floats(0, 1), st.floats(0, 1), st.floats(0, 5), st.floats(0, 1))
def test_penalties_never_raise_utility(r, dd, tail, to, turnover_extra, cost):
    base = utility(r, dd, tail, to, cost)
    assert utility(r, dd, tail, to + turnover_extra, cost) <= base
    assert utility(r, dd + turnover_extra, tail, to, cost) <= base
