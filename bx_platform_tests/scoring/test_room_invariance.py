"""A strategy's scores do not depend on who else is in its room: the BX Score's normalization is absolute.
Checked end to end on real data: the same pinned job context, once with two strategies, once with three."""

from __future__ import annotations

from bx_platform.evaluation.job_evaluation import evaluate_job, metrics_by_strategy
from bx_platform.execution.battle_room import BENCHMARK, room_frames, run_records, run_room
from bx_platform.jobs.spec import parse_spec
from bx_platform.market.staging import bars_by_market, job_bars
from bx_platform.results import strategy_inputs
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.room import score_room

JOB_ID = "job-room-invariance"
PINNED = {"trials": {"n": 12, "sharpe_variance": 0.0004}}


def _room(strategies: list[str]) -> dict:
    spec = parse_spec(
        {
            "organization": "acme",
            "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}, {"venue": "bitstamp", "symbol": "ETH/USD"}],
            "window": {"start": "2018-01-01", "end": "2019-06-01"},
            "timeframe": "1d",
            "strategies": strategies,
        }
    )
    record = {"job_id": JOB_ID, "spec": spec.model_dump(mode="json"), "pinned": PINNED}
    bars = job_bars(spec, JOB_ID)
    results = run_room(spec, bars_by_market(bars, spec))
    fills, equity = room_frames(results, JOB_ID, spec.organization)
    metrics = metrics_by_strategy(evaluate_job(record, bars, fills, equity))
    runs = {r["strategy"]: r for r in run_records(results, JOB_ID, spec.organization).to_dicts()}
    inputs = {s: strategy_inputs(s, metrics, equity, fills, runs, spec.sessions) for s in spec.strategies}
    hold = strategy_inputs(BENCHMARK, metrics, equity, fills, runs, spec.sessions)
    room = score_room(JOB_ID, "acme", None, inputs, hold, spec.capital.initial, {}, load_score_version("bx-score-v1"))
    return {s.strategy: s for s in room.strategies}


def test_adding_a_strategy_changes_no_other_strategys_scores():
    two = _room(["bx/sma-trend", "bx/momentum"])
    three = _room(["bx/sma-trend", "bx/momentum", "bx/mean-reversion"])
    for handle in two:
        before, after = two[handle], three[handle]
        assert before.bx.to_json() == after.bx.to_json()
        assert (before.utility, before.beta_score, before.capital_score, before.utility_ci) == (
            after.utility, after.beta_score, after.capital_score, after.utility_ci
        )
        assert before.eligibility == after.eligibility
    # what is relative is the rank, carried separately
    assert sorted(s.rank for s in three.values()) == [1, 2, 3]
