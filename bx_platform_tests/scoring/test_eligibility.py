import math

import pytest

from bx_platform.scoring.eligibility import GATES, EligibilityThresholds, evaluate_eligibility
from bx_platform.scoring.governance import load_score_version

from ._fixtures import metrics

THRESHOLDS = load_score_version("bx-score-v1").eligibility_thresholds()
GOOD_UTILS = [0.02, 0.01, 0.03, -0.01]  # 3/4 = 0.75 positive


def _run(window=None, utils=GOOD_UTILS, runtime=120.0, **kw):
    return evaluate_eligibility(window if window is not None else metrics(), utils, runtime,
                                thresholds=THRESHOLDS, **kw)


def test_thresholds_come_from_the_version_file():
    assert THRESHOLDS == EligibilityThresholds(0.70, 0.35, 0.25, 10_000.0)


def test_all_gates_pass():
    r = _run()
    assert r.eligible and r.failed == ()
    assert r.to_dict() == {"eligible": True, "failed": []}


FAILING_ALONE = {
    "positive_utility_fraction": dict(utils=[0.02, 0.01, -0.03, -0.01]),
    "max_drawdown": dict(window=metrics(max_drawdown=0.36)),
    "mean_daily_turnover": dict(window=metrics(turnover=0.26)),
    "p95_runtime_ms": dict(runtime=10_001.0),
    "budget_valid": dict(budget_valid=False, budget_reason="exceeds the org's compute credits"),
    "config_valid": dict(config_valid=False, config_reason="unknown strategy parameter 'foo'"),
    "finite_values": dict(window=metrics(profit_factor=float("nan"), psr=float("inf"))),
    "risk_breach": dict(breached=True),
}


@pytest.mark.parametrize("gate", GATES)
def test_each_gate_fails_alone(gate):
    r = _run(**FAILING_ALONE[gate])
    assert not r.eligible
    assert r.failed_gates == (gate,)
    failure = r.failed[0]
    assert failure.message


def test_gate_boundaries_are_inclusive():
    r = _run(window=metrics(max_drawdown=0.35, turnover=0.25), utils=[1, 1, 1, 1, 1, 1, 1, -1, -1, -1],
             runtime=10_000.0)
    assert r.eligible


def test_finite_gate_names_the_keys():
    r = _run(**FAILING_ALONE["finite_values"], extra_values={"scenario_2.sharpe": float("-inf"), "beta_score": 1.0})
    f = r.failed[0]
    assert f.value == ["profit_factor", "psr", "scenario_2.sharpe"]
    assert "profit_factor" in f.message and "scenario_2.sharpe" in f.message


def test_all_gates_fail_together_and_each_is_named():
    window = metrics(max_drawdown=0.5, turnover=0.9, sharpe=float("nan"))
    r = _run(window=window, utils=[-0.1, 0.2, -0.3], runtime=25_000.0, budget_valid=False, budget_reason="over",
             config_valid=False, config_reason="bad", breached=True)
    assert not r.eligible
    assert r.failed_gates == GATES
    by_gate = {f.gate: f for f in r.failed}
    assert by_gate["max_drawdown"].value == 0.5 and by_gate["max_drawdown"].threshold == 0.35
    assert by_gate["mean_daily_turnover"].value == 0.9
    assert math.isclose(by_gate["positive_utility_fraction"].value, 1 / 3)
    assert by_gate["finite_values"].value == ["sharpe"]
    assert "over" in by_gate["budget_valid"].message and "bad" in by_gate["config_valid"].message
    assert [d["gate"] for d in r.to_dict()["failed"]] == list(GATES)


def test_non_finite_gate_value_fails_its_gate_too():
    r = _run(window=metrics(max_drawdown=float("nan")))
    assert r.failed_gates == ("max_drawdown", "finite_values")


def test_no_scenarios_is_not_eligible():
    r = _run(utils=[])
    assert r.failed_gates == ("positive_utility_fraction",)
