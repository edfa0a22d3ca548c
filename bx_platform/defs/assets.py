"""The benchmark asset graph, one partition per job: market_data -> execution_fills -> verified_metrics ->
scores -> leaderboard. Thin: every computation is in the domain packages. Data moves through the warehouse
(staged -> verified | quarantine), never through Dagster's IO managers.
"""

import base64
import json
import warnings

import dagster as dg

from bx_platform.defs.claims import owns_job, run_claimant
from bx_platform.defs.partitions import benchmark_jobs
from bx_platform.defs.quality import GateResult, market_gate, run_gate
from bx_platform.defs.resources import ArchiveResource, ControlPlaneResource, JobStoreResource, WarehouseResource
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import JobStore, StoredJob
from bx_platform.market.archive import find_dataset
from bx_platform.pipeline.evaluation import evaluate_job
from bx_platform.pipeline.execution import execute_job
from bx_platform.pipeline.leagues import job_run_tags
from bx_platform.pipeline.leases import enter_step
from bx_platform.pipeline.lifecycle import begin_run, claim_job, finish_job
from bx_platform.pipeline.private_evaluation import execute_private_scenarios
from bx_platform.pipeline.records import job_row
from bx_platform.pipeline.reports import equity_chart_png
from bx_platform.pipeline.results import load_job_tables, publish_leaderboard, publish_scores, score_job
from bx_platform.pipeline.staging import PinnedDataChanged, job_bars
from bx_platform.pipeline.trail import check_data, record_artifact, record_claim, record_gate, record_strategy_endings

# The gates are partitioned blocking asset checks, a Dagster preview feature we rely on knowingly (its tests are
# ours: defs/test_quality_gate.py); its warning is not for the people running `bx`.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)

GROUP = "benchmark"


def _stored(jobs: JobStore, job_id: str) -> StoredJob:
    stored = jobs.get(job_id)
    if stored is None:
        raise dg.Failure(f"job {job_id} is not in the job store; submit it with `bx submit`")
    return stored


def _job(job_store: JobStoreResource, job_id: str) -> tuple[dict, JobSpec]:
    stored = _stored(job_store.get(), job_id)
    return stored.record, stored.spec


def _enter(context: dg.AssetExecutionContext, job_store: JobStoreResource) -> None:
    """The run is now in this step, in this process: its lease says so (and stops a run whose job has ended)."""
    enter_step(job_store.get(), context.partition_key, context.asset_key.path[-1])


def _settle(
    check: str, gate: GateResult, tables: list[str], job_id: str, store, job_store: JobStoreResource,
    control: ControlPlaneResource,
) -> dg.AssetCheckResult:
    """Move the gated partitions to verified (pass) or quarantine (fail, and the job fails)."""
    zone = "verified" if gate.success else "quarantine"
    for table in tables:
        store.move(table, job_id, "staged", zone)
    record_gate(control.get(), job_id, check, gate, zone)
    if not gate.success:
        jobs = job_store.get()
        failure = {"stage": check, "reason": gate.summary(), "failed_expectations": gate.failures}
        finish_job(jobs.get(job_id).record, "failed", store, jobs, control.get(), failure)
    return dg.AssetCheckResult(
        passed=gate.success,
        severity=dg.AssetCheckSeverity.ERROR,
        description=gate.summary(),
        metadata={
            "failed_expectations": dg.MetadataValue.json(gate.failures),
            "expectations_evaluated": gate.evaluated,
            "partition_now_in": zone,
        },
    )


@dg.asset(partitions_def=benchmark_jobs, group_name=GROUP, kinds={"polars", "parquet"})
def market_data(
    context: dg.AssetExecutionContext, job_store: JobStoreResource, archive: ArchiveResource, warehouse: WarehouseResource,
    control: ControlPlaneResource,
) -> dg.MaterializeResult:
    """The job's market bars cut from the real archive (its markets and window on one grid), written to the
    staged zone. They become verified only when the quality gate passes. The archive files are re-hashed first:
    data that changed since the job was submitted fails the job, naming both hashes."""
    # A run launched from the UI claims its job here, so the sensor will not launch it again; a run that the
    # sensor or `bx run` launched finds the job claimed by its launcher. Any other run stops: a job runs once.
    jobs = job_store.get()
    if claim_job(jobs, context.partition_key, run_claimant(context.run)):
        context.log.info(f"claimed {context.partition_key} for this run")
    stored = _stored(jobs, context.partition_key)
    if not owns_job(stored, context.run):
        raise dg.Failure(
            f"job {context.partition_key} is {stored.status} ({stored.outcome or stored.claimed_by}); "
            "a job runs once, and this run does not own it"
        )
    begin_run(context.partition_key)
    _enter(context, job_store)
    record, spec = stored.record, stored.spec
    store = warehouse.get()
    record_claim(control.get(), stored)
    tags = job_run_tags(record, store)  # launchers set them at launch; a run launched by hand gets them here
    if not tags.items() <= context.run.tags.items():
        context.instance.add_run_tags(context.run_id, tags)
    try:
        check_data(control.get(), record, spec, archive.dir)
    except PinnedDataChanged as changed:
        finish_job(record, "failed", store, jobs, control.get(), {"stage": "market_data", "reason": str(changed)})
        raise dg.Failure(str(changed)) from None
    if not store.exists("verified", "jobs", context.partition_key):  # written once: readers may have it open
        store.write("verified", "jobs", context.partition_key, job_row(record))
    bars = job_bars(spec, context.partition_key, archive.dir)
    store.write("staged", "market_bars", context.partition_key, bars)
    return dg.MaterializeResult(
        metadata={
            "rows": bars.height,
            "markets": ", ".join(m.key for m in spec.markets),
            "first_bar": str(bars["ts"].min()),
            "last_bar": str(bars["ts"].max()),
            "data_manifest_hash": record["pinned"]["data_manifest_hash"],
        }
    )


@dg.asset_check(asset=market_data, blocking=True, partitions_def=benchmark_jobs)
def market_data_quality_gate(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, job_store: JobStoreResource,
    archive: ArchiveResource, control: ControlPlaneResource,
) -> dg.AssetCheckResult:
    """great-expectations suite on every market's staged bars: non-null, high >= close >= low, unique strictly
    increasing timestamps, and plausible for its asset class (finite prices in the class's range, bounded
    moves from bar to bar). Pass: the bars move to verified. Fail: they move to quarantine and the job fails;
    nothing downstream runs."""
    store = warehouse.get()
    staged = store.read("staged", "market_bars", context.partition_key)
    spec = _stored(job_store.get(), context.partition_key).spec
    classes = {m.key: find_dataset(m.venue, m.symbol, spec.timeframe, archive.dir).asset_class for m in spec.markets}
    gate = market_gate(staged, classes)
    return _settle("market_data_quality_gate", gate, ["market_bars"], context.partition_key, store, job_store, control)


@dg.asset(partitions_def=benchmark_jobs, group_name=GROUP, deps=[market_data], kinds={"polars", "parquet"})
def execution_fills(
    context: dg.AssetExecutionContext, job_store: JobStoreResource, warehouse: WarehouseResource, archive: ArchiveResource,
    control: ControlPlaneResource,
) -> dg.MaterializeResult:
    """The Battle Room: every strategy (built-in, sandboxed package or remote model, at its pinned revision) and
    the Benchmark Hold simulated on the verified bars, point in time, giving fills and mark-to-market equity
    curves, staged until the execution gate; every call to a remote model is recorded (`remote_calls`)."""
    _enter(context, job_store)
    record, spec = _job(job_store, context.partition_key)
    store = warehouse.get()
    results, fills = execute_job(record, spec, store, job_store.get(), archive.dir)
    last_bar = store.read("verified", "market_bars", context.partition_key)["ts"].max()
    record_strategy_endings(
        control.get(), context.partition_key, {h: r.flags for h, r in results.items()}, last_bar.strftime("%Y-%m-%dT%H:%MZ")
    )
    hidden = execute_private_scenarios(record, spec, store, job_store.get(), archive.dir)
    return dg.MaterializeResult(
        metadata={
            **({"hidden_scenarios": hidden} if hidden else {}),
            "fills": fills.height,
            "strategies": len(results),
            "flags": dg.MetadataValue.json({h: r.flags for h, r in results.items() if r.flags}),
            "decision_p95_ms": dg.MetadataValue.json({h: round(r.latency(0.95), 3) for h, r in results.items()}),
            "paths": dg.MetadataValue.json({h: r.path for h, r in results.items()}),
        }
    )


@dg.asset_check(asset=execution_fills, blocking=True, partitions_def=benchmark_jobs)
def execution_quality_gate(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, job_store: JobStoreResource,
    control: ControlPlaneResource,
) -> dg.AssetCheckResult:
    """great-expectations suites on the staged equity curves (positive, finite exposure) and fills (positive
    quantity and price, known side). Pass: both move to verified. Fail: both move to quarantine."""
    job_id = context.partition_key
    store = warehouse.get()
    equity_gate = run_gate("equity", store.read("staged", "equity", job_id), group_by="strategy")
    fills = store.read("staged", "fills", job_id)
    fills_gate = run_gate("fills", fills) if fills.height else GateResult("fills", True, 0)
    gate = GateResult(
        gate="execution",
        success=equity_gate.success and fills_gate.success,
        evaluated=equity_gate.evaluated + fills_gate.evaluated,
        failures=equity_gate.failures + fills_gate.failures,
        expectations=equity_gate.expectations + fills_gate.expectations,
    )
    return _settle("execution_quality_gate", gate, ["fills", "equity"], job_id, store, job_store, control)


@dg.asset(partitions_def=benchmark_jobs, group_name=GROUP, deps=[execution_fills], kinds={"polars", "parquet"})
def verified_metrics(
    context: dg.AssetExecutionContext, job_store: JobStoreResource, warehouse: WarehouseResource,
    control: ControlPlaneResource,
) -> dg.MaterializeResult:
    """The full metric set of every strategy, per battle session and for the whole window, computed from
    verified equity curves and fills only."""
    _enter(context, job_store)
    record, spec = _job(job_store, context.partition_key)
    store = warehouse.get()
    job_id = context.partition_key
    metrics = evaluate_job(
        record,
        bars=store.read("verified", "market_bars", job_id),
        fills=store.read("verified", "fills", job_id),
        equity=store.read("verified", "equity", job_id),
    )
    record_artifact(control.get(), job_id, "metrics", store.write("verified", "metrics", job_id, metrics))
    return dg.MaterializeResult(metadata={"rows": metrics.height, "strategies": metrics["strategy"].n_unique()})


@dg.asset(partitions_def=benchmark_jobs, group_name=GROUP, deps=[verified_metrics], kinds={"polars", "parquet"})
def scores(
    context: dg.AssetExecutionContext, job_store: JobStoreResource, warehouse: WarehouseResource,
    control: ControlPlaneResource,
) -> dg.MaterializeResult:
    """Utility, beta score against the Benchmark Hold, BX Score with its per-group breakdown, CapitalScore,
    ContestScore, eligibility and rank in the room; the job's result document and its HTML report (linked in
    the metadata, with its equity chart as an image)."""
    _enter(context, job_store)
    record, _ = _job(job_store, context.partition_key)
    job_id = context.partition_key
    store = warehouse.get()
    jobs = job_store.get()
    scored = score_job(record, load_job_tables(job_id, store))
    publish_scores(record, scored, store, jobs)
    record_artifact(control.get(), job_id, "scores", store.partition_path("verified", "scores", job_id))
    record_artifact(control.get(), job_id, "result document", store.results / f"{job_id}.json")
    chart = base64.b64encode(equity_chart_png(job_id, store)).decode()
    return dg.MaterializeResult(
        metadata={
            "outcome": scored.status,
            "room": dg.MetadataValue.md(scored.outcome.room_table_markdown()),
            "result_document": str(store.results / f"{job_id}.json"),
            "report": dg.MetadataValue.path(str(store.report_path(job_id))),
            "equity_chart": dg.MetadataValue.md(f"![Equity and drawdown against the Benchmark Hold](data:image/png;base64,{chart})"),
        }
    )


@dg.asset(partitions_def=benchmark_jobs, group_name=GROUP, deps=[scores], kinds={"parquet"})
def leaderboard(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, job_store: JobStoreResource,
    control: ControlPlaneResource,
) -> dg.MaterializeResult:
    """The long-term public leaderboard over all jobs, rebuilt from every verified score when a job finishes.
    The rebuild holds the store's leaderboard lock, so jobs finishing together never lose an update. The job
    ends here, with the status of its result document: a board that cannot be rebuilt (a stored partition
    unreadable) fails the job, naming the file."""
    _enter(context, job_store)
    store = warehouse.get()
    board = publish_leaderboard(store)
    jobs = job_store.get()
    record = _stored(jobs, context.partition_key).record
    finish_job(record, store.read_result(context.partition_key)["status"], store, jobs, control.get())
    return dg.MaterializeResult(
        metadata={"strategies": board.height, "top": json.dumps(board.head(3).to_dicts(), default=str)}
    )


benchmark_assets = [market_data, execution_fills, verified_metrics, scores, leaderboard]
benchmark_checks = [market_data_quality_gate, execution_quality_gate]
