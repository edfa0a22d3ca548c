"""Replaying a job (`bx verify --replay`, docs/verification.md): its room run again in a scratch warehouse from its
record (spec and pins), its pinned data (re-hashed first) and its recorded remote answers (no model is called),
then the bytes of what it produced compared with the stored ones.

Compared: the Parquet partitions `fills`, `equity`, `metrics`, `scores` and the result document, byte for byte.
None of them holds a wall-clock value (decision latencies live in `strategy_runs` and `remote_calls`, which are
not compared; the result document's only clock time, `submitted_at`, comes from the record). A step runs only
when the job itself got that far (a job that failed at its execution gate is replayed up to its fills).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bx_platform.jobs.store import JobStore
from bx_platform.market.archive import sha256_file
from bx_platform.pipeline.evaluation import evaluate_job
from bx_platform.pipeline.execution import execute_job
from bx_platform.pipeline.private_evaluation import execute_private_scenarios
from bx_platform.pipeline.results import load_job_tables, score_job
from bx_platform.pipeline.staging import PinnedDataChanged, check_pinned_data, job_bars
from bx_platform.warehouse.store import Warehouse

COMPARED_TABLES = ("fills", "equity", "metrics", "scores")
SCORED = ("complete", "partial")


@dataclass(frozen=True)
class Comparison:
    artifact: str
    stored: Path
    replayed: Path

    @property
    def identical(self) -> bool:
        return self.stored.read_bytes() == self.replayed.read_bytes()

    def difference(self) -> str:
        return (
            f"{self.artifact}: the replay gives sha256 {sha256_file(self.replayed)}, "
            f"the stored {self.stored} has {sha256_file(self.stored)}"
        )


def stored_partition(warehouse: Warehouse, table: str, job_id: str) -> Path | None:
    """The job's partition of a table where its gate put it (verified or quarantine), if it has one."""
    for zone in ("verified", "quarantine"):
        if warehouse.exists(zone, table, job_id):
            return warehouse.partition_path(zone, table, job_id)
    return None


def replay_job(job_id: str, jobs: JobStore, warehouse: Warehouse, scratch: Path, archive_dir: Path | None = None) -> tuple[list[Comparison], list[str]]:
    """Replay the stored job into a scratch warehouse under `scratch`; returns the comparisons made and the
    problems that stopped the replay (changed data, nothing recorded to replay)."""
    stored = jobs.get(job_id)
    record, spec = stored.record, stored.spec
    try:
        check_pinned_data(record, spec, archive_dir)
    except PinnedDataChanged as changed:
        return [], [str(changed)]
    if not warehouse.exists("verified", "remote_calls", job_id) or stored_partition(warehouse, "fills", job_id) is None:
        return [], [f"{job_id} ended ({stored.outcome or stored.status}) before its room ran: there is nothing to replay"]
    scratch_store = Warehouse(scratch / "warehouse").ensure()
    scratch_store.write("verified", "market_bars", job_id, job_bars(spec, job_id, archive_dir))
    execute_job(record, spec, scratch_store, jobs, archive_dir, replay=warehouse.read("verified", "remote_calls", job_id))
    execute_private_scenarios(record, spec, scratch_store, jobs, archive_dir)  # remote answers on them are not recorded
    for table in ("fills", "equity"):
        scratch_store.move(table, job_id, "staged", "verified")
    if stored_partition(warehouse, "metrics", job_id):
        tables = {t: scratch_store.read("verified", t, job_id) for t in ("market_bars", "fills", "equity")}
        metrics = evaluate_job(record, bars=tables["market_bars"], fills=tables["fills"], equity=tables["equity"])
        scratch_store.write("verified", "metrics", job_id, metrics)
    comparisons = [
        Comparison(table, path, scratch_store.partition_path("verified", table, job_id))
        for table in COMPARED_TABLES[:3]
        if (path := stored_partition(warehouse, table, job_id))
    ]
    if stored_partition(warehouse, "scores", job_id):
        scored = score_job(record, load_job_tables(job_id, scratch_store))
        scratch_store.write("verified", "scores", job_id, scored.scores)
        comparisons.append(Comparison("scores", stored_partition(warehouse, "scores", job_id), scratch_store.partition_path("verified", "scores", job_id)))
        document = warehouse.read_result(job_id)
        if document and document.get("status") in SCORED:
            replayed = scratch_store.write_result(job_id, scored.document)
            comparisons.append(Comparison("result document", warehouse.results / f"{job_id}.json", replayed))
    return comparisons, []
