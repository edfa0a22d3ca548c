"""Running a job's Battle Room with its strategies opened at the revisions pinned in its record."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bx_platform.execution.battle_room import run_room
from bx_platform.execution.simulator import SimulationResult
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.strategies.handles import HandleRegistry
from bx_platform.strategies.session import StrategySession


def run_job_room(
    record: dict, spec: JobSpec, bars: dict[str, pl.DataFrame], jobs: JobStore, archive_dir: Path | None = None,
    replay: pl.DataFrame | None = None,
) -> tuple[dict[str, SimulationResult], pl.DataFrame]:
    """Simulate the room: built-ins in process, packages in their sandbox, remote models over HTTP, or, with
    `replay` (the job's recorded `remote_calls`), from the record without calling any model. Returns the results
    and the remote calls of this run. Every sandbox is stopped when the room is done."""
    with StrategySession(record["pinned"]["strategies"], HandleRegistry(jobs.engine), replay=replay) as session:
        results = run_room(spec, bars, archive_dir, open_strategy=session.open)
        return results, session.remote_calls(record["job_id"], spec.organization)
