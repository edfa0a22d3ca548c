"""The budget and config eligibility gates, on a real room: a short in the December 2017 bitcoin rally grows
past the job's capital budget; a strategy that returns non-numbers fails its config."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from bx_platform.evaluation.report import evaluate_sessions
from bx_platform.execution.simulator import simulate
from bx_platform.market.archive import read_bars
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.room import StrategyInputs, score_strategy
from bx_platform_tests.execution.test_simulator import PARAMS, Scripted

START, END = datetime(2017, 11, 1, tzinfo=timezone.utc), datetime(2017, 12, 1, tzinfo=timezone.utc)


def _score(weights: tuple[float, ...]):
    bars = {"coinbase:BTC/USD": read_bars("coinbase", "BTC/USD", "1h", START, END)}
    result = simulate(Scripted(weights), bars, PARAMS)
    metrics = evaluate_sessions(result.equity, result.fills, None, sessions=3, periods_per_year=8760.0, max_gross_leverage=1.0)
    inputs = StrategyInputs(metrics["window"], metrics["sessions"], result.equity, result.fills, result.runtime_ms, result.flags)
    return score_strategy("job-gates", "test/scripted", inputs, 0.0, PARAMS.initial_capital, 1.0, {}, load_score_version("bx-score-v1"))


def test_a_short_that_outgrows_its_budget_fails_the_budget_gate():
    score = _score((-1.0,))
    [budget] = [f for f in score.eligibility.failed if f.gate == "budget_valid"]
    assert "gross exposure reached" in budget.message
    assert "config_valid" not in score.eligibility.failed_gates


def test_non_numbers_fail_the_config_gate_and_a_flat_long_passes_both():
    bad = _score((np.nan,))
    assert "config_valid" in bad.eligibility.failed_gates and "budget_valid" not in bad.eligibility.failed_gates
    good = _score((1.0,))
    assert not {"budget_valid", "config_valid"} & set(good.eligibility.failed_gates)
