"""Score a real job's room through the domain core (no Dagster): the same steps as the asset graph."""

from __future__ import annotations

from pathlib import Path

from bx_platform.pipeline.evaluation import evaluate_job, job_periods_per_year, metrics_by_strategy, principal_market
from bx_platform.execution.battle_room import BENCHMARK, room_frames, run_records
from bx_platform.pipeline.execution import execution_params, simulate_job
from bx_platform.jobs.spec import JobSpec, load_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import build_record
from bx_platform.pipeline.staging import bars_by_market, job_bars
from bx_platform.pipeline.results import job_market_context, strategy_inputs
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.room import RoomScores, score_room

DEMO_JOBS = Path(__file__).resolve().parents[2] / "data" / "jobs"


def score_spec(spec: JobSpec, store: JobStore, version: str | None = None) -> tuple[dict, RoomScores, dict]:
    """(record, room scores, metrics by strategy) of one job, scored under `version` (default: its own)."""
    if version is not None:
        spec = spec.model_copy(update={"scoring_version": version})
    record = build_record(spec, store)
    job_id = record["job_id"]
    bars = job_bars(spec, job_id)
    results = simulate_job(spec, bars_by_market(bars, spec))
    fills, equity = room_frames(results, job_id, spec.organization)
    metrics = metrics_by_strategy(evaluate_job(record, bars, fills, equity))
    runs = {r["strategy"]: r for r in run_records(results, job_id, spec.organization).to_dicts()}
    inputs = {s: strategy_inputs(s, metrics, equity, fills, runs, spec.sessions) for s in spec.strategies}
    hold = strategy_inputs(BENCHMARK, metrics, equity, fills, runs, spec.sessions)
    context = job_market_context(spec, bars, job_periods_per_year(spec))
    room = score_room(job_id, spec.organization, inputs, hold, spec.capital.initial,
                      execution_params(spec).max_gross_leverage, context[principal_market(spec)],
                      load_score_version(spec.scoring_version))
    return record, room, metrics


def demo_spec(name: str) -> JobSpec:
    return load_spec(DEMO_JOBS / name)
