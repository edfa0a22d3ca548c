"""Scoring a job and publishing it: `load_job_tables` reads its verified data, `score_job` (pure) calls the
scoring core and builds the scores table and the result document (docs/result.md), `publish_scores` writes
them; `publish_leaderboard` rebuilds the long-term boards."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass

import polars as pl

from bx_platform.evaluation.context import market_context
from bx_platform.pipeline.evaluation import (
    WHOLE_WINDOW,
    job_periods_per_year,
    metrics_by_strategy,
    principal_market,
    scenario_metrics,
)
from bx_platform.execution.battle_room import BENCHMARK
from bx_platform.pipeline.execution import execution_params
from bx_platform.pipeline.manifest import altered_partitions
from bx_platform.pipeline.reports import write_job_report
from bx_platform.pipeline.private_evaluation import private_duplicates
from bx_platform.execution.summary import summary_document
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.market.archive import find_dataset
from bx_platform.evaluation.report import daily_frame
from bx_platform.scenarios import SCENARIO_NAMES
from bx_platform.scoring.private import official_score
from bx_platform.scoring.contest_score import ContestEntry, contest_scores
from bx_platform.scoring.governance import ScoreVersion, current_version, load_score_version
from bx_platform.scoring.leaderboard import long_term_leaderboard
from bx_platform.scoring.league_standings import league_standings
from bx_platform.scoring.room import RoomScores, StrategyInputs, daily_series, score_room
from bx_platform.versions import RESULT_SCHEMA_VERSION
from bx_platform.warehouse.schema import TABLES
from bx_platform.warehouse.store import Warehouse

logger = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    status: str
    room: RoomScores

    def room_table_markdown(self) -> str:
        lines = ["| rank | tier | strategy | beta score | BX Score | eligible |", "|---|---|---|---|---|---|"]
        for s in self.room.strategies:
            lines.append(f"| {s.rank} | {s.tier} | {s.strategy} | {s.beta_score:.2f} | {s.bx.score:.2f} | {s.eligibility.eligible} |")
        return "\n".join(lines)


def json_ready(value):
    """Non-finite floats become null (undefined), so the document is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def strategy_inputs(strategy: str, metrics: dict, equity: pl.DataFrame, fills: pl.DataFrame, runs: dict, sessions: int) -> StrategyInputs:
    run = runs.get(strategy, {"flags": "", "decision_p95_ms": 0.0})
    window, per_session = scenario_metrics(metrics[strategy], sessions)
    return StrategyInputs(
        window=window,
        sessions=per_session,
        equity=equity.filter(pl.col("strategy") == strategy).sort("ts"),
        fills=fills.filter(pl.col("strategy") == strategy).sort("ts"),
        runtime_ms=float(run["decision_p95_ms"]),  # the p95 of the timed decision calls
        flags=[f for f in run["flags"].split(",") if f],
    )


def job_market_context(spec: JobSpec, bars: pl.DataFrame, ppy: float) -> dict[str, dict]:
    return {
        m.key: market_context(bars, ppy, asset_class=find_dataset(m.venue, m.symbol, spec.timeframe).asset_class, market=m.key)
        for m in spec.markets
    }


@dataclass(frozen=True)
class JobTables:
    """What scoring a job reads: its verified metrics, equity, fills, strategy runs, market bars and execution
    summaries."""

    metrics: dict
    equity: pl.DataFrame
    fills: pl.DataFrame
    runs: dict
    bars: pl.DataFrame
    execution: dict
    private: pl.DataFrame | None = None  # a private evaluation's per-scenario scores (`private_scenarios`)


@dataclass(frozen=True)
class ScoredJob:
    """Everything scoring a job produces, before anything is written."""

    outcome: JobOutcome
    scores: pl.DataFrame
    document: dict
    sharpe_per_period: dict[str, float]  # the DSR trials this job adds to its organization's history
    periods_per_year: float  # the unit of those Sharpe ratios

    @property
    def status(self) -> str:
        return self.outcome.status


def load_job_tables(job_id: str, warehouse: Warehouse) -> JobTables:
    return JobTables(
        metrics=metrics_by_strategy(warehouse.read("verified", "metrics", job_id)),
        equity=warehouse.read("verified", "equity", job_id),
        fills=warehouse.read("verified", "fills", job_id),
        runs={r["strategy"]: r for r in warehouse.read("verified", "strategy_runs", job_id).to_dicts()},
        bars=warehouse.read("verified", "market_bars", job_id),
        execution={r["strategy"]: r for r in warehouse.read("verified", "execution_summary", job_id).to_dicts()},
        private=warehouse.read("verified", "private_scenarios", job_id) if warehouse.exists("verified", "private_scenarios", job_id) else None,
    )


def score_job(record: dict, tables: JobTables) -> ScoredJob:
    """Score the job from its verified tables under its pinned score version. Pure: writes nothing."""
    job_id = record["job_id"]
    spec = JobSpec.model_validate(record["spec"])
    version = load_score_version(record["pinned"]["scoring_version"])
    if version.sha256 != record["pinned"]["scoring_version_sha256"]:
        raise RuntimeError(f"score version {version.version} changed since the job was pinned")
    metrics = tables.metrics
    ppy = job_periods_per_year(spec)
    context = job_market_context(spec, tables.bars, ppy)
    inputs = {s: strategy_inputs(s, metrics, tables.equity, tables.fills, tables.runs, spec.sessions) for s in spec.strategies}
    hold = strategy_inputs(BENCHMARK, metrics, tables.equity, tables.fills, tables.runs, spec.sessions)
    room = score_room(
        job_id, spec.organization, inputs, hold, spec.capital.initial, execution_params(spec).max_gross_leverage,
        context[principal_market(spec)], version,
    )
    status = "partial" if any(s.flags for s in room.strategies) else "complete"
    return ScoredJob(
        outcome=JobOutcome(status, room),
        scores=_scores_frame(record, room, context),
        document=result_document(
            record, room, metrics, context, status, tables.execution,
            private_sections(tables.private, room, metrics, tables.equity, version) if tables.private is not None else None,
        ),
        sharpe_per_period={s: metrics[s][WHOLE_WINDOW]["sharpe"] / math.sqrt(ppy) for s in spec.strategies},
        periods_per_year=ppy,
    )


def publish_scores(record: dict, scored: ScoredJob, warehouse: Warehouse, jobs: JobStore) -> None:
    """Write a scored job: its scores table, its result document, its report and its DSR trials."""
    job_id = record["job_id"]
    warehouse.write("verified", "scores", job_id, scored.scores)
    warehouse.write_result(job_id, scored.document)
    write_job_report(job_id, warehouse)
    jobs.record_evaluations(job_id, record["spec"]["organization"], scored.sharpe_per_period, scored.periods_per_year)


def _document_head(record: dict, status: str) -> dict:
    """The fields every result document starts with: identity, visibility, the spec and what was pinned."""
    spec = record["spec"]
    return {
        "schema": RESULT_SCHEMA_VERSION,
        "job_id": record["job_id"],
        "organization": spec["organization"],
        "visibility": spec["visibility"],
        "submitted_at": record["submitted_at"],
        "spec": spec,
        "pinned": record["pinned"],
        "status": status,
    }


def failure_document(record: dict, failure: dict) -> dict:
    """The result document of a job that stopped before it was scored (schema `bx-result-3`, status failed)."""
    return json_ready(
        {
            **_document_head(record, "failed"),
            "failure": {
                "stage": failure.get("stage", "run"),
                "reason": failure.get("reason", "the run failed; its Dagster run log has the error"),
                "failed_expectations": failure.get("failed_expectations", []),
            },
        }
    )


def _scores_frame(record: dict, room: RoomScores, context: dict) -> pl.DataFrame:
    spec = record["spec"]
    return pl.DataFrame(
        [
            {
                "job_id": record["job_id"],
                "organization": spec["organization"],
                "visibility": spec["visibility"],
                "contest": spec.get("contest"),
                "strategy": s.strategy,
                "scoring_version": s.bx.version,
                # context is in spec order: the first market is the principal one
                "market_class": next(iter(context.values()))["asset_class"],
                "rank": s.rank,
                "tier": s.tier,
                "utility": s.utility,
                "hold_utility": room.hold_utility,
                "beta_score": s.beta_score,
                "bx_score": s.bx.score,
                "capital_score": s.capital_score,
                "contest_score": s.contest_score,
                "eligible": s.eligibility.eligible,
                "failed_gates": ",".join(s.eligibility.failed_gates),
                "flags": ",".join(s.flags),
                "bx_breakdown": json.dumps(json_ready(s.bx.group_contributions), sort_keys=True),
                "market_context": json.dumps(json_ready(context), sort_keys=True),
            }
            for s in room.strategies
        ]
    )


def result_document(
    record: dict, room: RoomScores, metrics: dict, context: dict, status: str, execution: dict, private: dict | None = None,
) -> dict:
    """The job's result document, schema `bx-result-3` (docs/result.md, bx_platform/result_schema.json).

    Deterministic: the same job gives the same bytes, except the record's `submitted_at`. So nothing measured
    on the clock goes in (the strategies' decision runtimes stay in the `strategy_runs` table)."""
    spec = record["spec"]

    def scenarios(strategy: str) -> dict:
        window, per_session = scenario_metrics(metrics[strategy], spec["sessions"])
        return {"all": window, "sessions": per_session}

    return json_ready(
        {
            **_document_head(record, status),
            "market_context": context,
            "benchmark_hold": {
                "strategy": BENCHMARK,
                "utility": room.hold_utility,
                "scenario_utilities": room.hold_scenario_utilities,
                "metrics": scenarios(BENCHMARK),
            },
            "strategies": [
                {
                    "strategy": s.strategy,
                    "rank": s.rank,
                    "tier": s.tier,
                    "flags": s.flags,
                    "metrics": scenarios(s.strategy),
                    "scores": {
                        "utility": s.utility,
                        "scenario_utilities": s.scenario_utilities,
                        "utility_ci_95": list(s.utility_ci),
                        "beta_score": s.beta_score,
                        "bx_score": s.bx.to_dict(),
                        "capital_score": s.capital_score,
                        "contest_score": s.contest_score,
                        "contest_cluster": s.contest_cluster,
                    },
                    "eligibility": s.eligibility.to_dict(),
                    "execution": summary_document(execution[s.strategy]),
                    **({"private_evaluation": private[s.strategy]} if private else {}),
                }
                for s in room.strategies
            ],
        }
    )


def scenario_flags(flags: str) -> list[str]:
    """A hidden scenario's engine flags without their time (`halted_drawdown at 2017-03-31T00:00Z` ->
    `halted_drawdown`): when a strategy was halted would tell where the scenario's path fell."""
    return sorted({flag.split(" at ")[0] for flag in flags.split(",") if flag})


def private_sections(
    private: pl.DataFrame, room: RoomScores, metrics: dict, equity: pl.DataFrame, version: ScoreVersion
) -> dict[str, dict]:
    """Each strategy's `private_evaluation` section: per hidden scenario its kind and scores (never its bars), and
    the official private score of the version (docs/private-evaluation.md)."""
    order = {name: i for i, name in enumerate(SCENARIO_NAMES)}
    out = {}
    for s in room.strategies:
        rows = sorted(private.filter(pl.col("strategy") == s.strategy).to_dicts(), key=lambda r: order[r["scenario"]])
        n_days = daily_frame(equity.filter(pl.col("strategy") == s.strategy).sort("ts")).height
        official = official_score(rows, version.private_evaluation, metrics[s.strategy][WHOLE_WINDOW]["dsr"], n_days, version.capital.n0_days)
        out[s.strategy] = {
            "scoring_version": version.version,
            "scenarios": [
                {
                    "scenario": r["scenario"], "kind": r["kind"], "utility": r["utility"], "beta_score": r["beta_score"],
                    "bx_score": r["bx_score"], "flags": scenario_flags(r["flags"]),
                }
                for r in rows
            ],
            "official": official.to_dict(),
        }
    return out


def publish_leaderboard(warehouse: Warehouse) -> pl.DataFrame:
    """Rebuild the long-term public leaderboard, the contest standings and the league standings from every
    verified score, then the public analyst store.

    Holds the store's leaderboard lock across read and write: two jobs finishing together serialize here,
    and the later one reads the earlier one's scores, so no update is lost."""
    with warehouse.exclusive("leaderboard"):
        # a job that failed after its scoring step (a board it could not rebuild) is on no board
        failed = warehouse.read_verified("job_outcomes").filter(pl.col("outcome") == "failed").select("job_id")
        # nor is a finished job whose scores were changed after its manifest was signed (`bx verify` names it)
        altered = altered_partitions(warehouse, "scores")
        for problem in altered.values():
            logger.warning("left off the boards: %s", problem)
        scores = warehouse.read_verified("scores").join(failed, on="job_id", how="anti").filter(~pl.col("job_id").is_in(list(altered)))
        evaluations = scores.select(
            pl.col("strategy").alias("strategy_handle"), "job_id", "bx_score", "beta_score", "eligible", "visibility",
            "market_class",
            (pl.col("flags").str.len_chars() > 0).cast(pl.Int64).alias("violations"),
        )
        version = load_score_version(current_version())
        board = long_term_leaderboard(evaluations, k=version.leaderboard.credibility_k, public_only=True).rename(
            {"strategy_handle": "strategy"}
        )
        warehouse.write_snapshot("leaderboard", board)
        warehouse.write_snapshot("contest_standings", _contest_standings(warehouse, scores))
        warehouse.write_snapshot("private_duplicates", private_duplicates(warehouse, version.contest.duplicate_correlation, version.contest.min_overlap_days))
        warehouse.write_snapshot("league_standings", league_standings(warehouse.read_verified("league_rounds"), scores))
        warehouse.publish_public_store()
    return board


def _contest_standings(warehouse: Warehouse, scores: pl.DataFrame) -> pl.DataFrame:
    """Duplicate-aware ContestScore over all public jobs of each contest (untagged jobs are left out)."""
    tagged = scores.filter((pl.col("visibility") == "public") & pl.col("contest").is_not_null()).sort("job_id", "strategy")
    entries, owners, equity = [], {}, {}
    for row in tagged.iter_rows(named=True):
        if row["job_id"] not in equity:  # one read per job, not per strategy
            equity[row["job_id"]] = warehouse.read("verified", "equity", row["job_id"])
        curve = equity[row["job_id"]].filter(pl.col("strategy") == row["strategy"]).sort("ts")
        entry_id = f"{row['job_id']}/{row['strategy']}"
        owners[entry_id] = row
        entries.append(
            ContestEntry(entry_id, row["organization"], row["job_id"], row["strategy"], row["contest"], *daily_series(curve), row["beta_score"])
        )
    version = load_score_version(tagged["scoring_version"][0]) if tagged.height else None
    results = (
        contest_scores(entries, duplicate_correlation=version.contest.duplicate_correlation, min_overlap_days=version.contest.min_overlap_days)
        if entries
        else []
    )
    return pl.DataFrame(
        [
            {
                "contest": r.contest_key,
                "job_id": owners[r.entry_id]["job_id"],
                "organization": owners[r.entry_id]["organization"],
                "strategy": owners[r.entry_id]["strategy"],
                "cluster_id": r.cluster_id,
                "cluster_size": r.cluster_size,
                "cluster_rank": r.cluster_rank,
                "contest_score": r.contest_score,
            }
            for r in results
        ],
        schema=TABLES["contest_standings"],
    )
