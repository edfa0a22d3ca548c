"""Leagues in the application layer: a round's job submitted once, its claim, and the standings (docs/leagues.md).

Whoever starts a round (a schedule tick, a backfill run, `bx league run`) calls `submit_round`: it submits the
round's job through admission (`submit`) and records the round in the store's `league_rounds` table. A round
already recorded returns its job without submitting anything, so a round never gets a second job, even when
the participants (an all-approved league) changed in between; for a league of listed handles the job id alone
already guarantees it (the same template and round give the same spec, hence the same id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bx_platform.jobs.leagues import LISTED, LeagueTemplate, Round
from bx_platform.jobs.spec import MAX_STRATEGIES
from bx_platform.jobs.store import JobStore, StoredJob
from bx_platform.pipeline.admission import submit
from bx_platform.pipeline.lifecycle import claim_job
from bx_platform.pipeline.records import run_tags
from bx_platform.strategies import registry as builtins
from bx_platform.strategies.handles import APPROVED, HandleRegistry
from bx_platform.warehouse.store import Warehouse


@dataclass(frozen=True)
class RoundSubmission:
    league: str
    round: str
    job_id: str
    created: bool  # the job was created by this call


@dataclass(frozen=True)
class RoundLaunch:
    submission: RoundSubmission
    claimed: bool  # this call claimed the job for its launcher
    stored: StoredJob


def participants(league: LeagueTemplate, jobs: JobStore) -> list[str]:
    """The handles taking part in a round now: the listed ones, or every built-in then every approved handle."""
    if league.participants == LISTED:
        return list(league.strategies)
    approved = sorted(r.handle for r in HandleRegistry(jobs.engine).listing() if r.visibility == APPROVED)
    return (builtins.known_handles() + approved)[:MAX_STRATEGIES]


def submitted_round(warehouse: Warehouse, league: str, round_key: str) -> str | None:
    """The job id of a round already submitted, else None."""
    rounds = warehouse.read_verified("league_rounds").filter(
        (pl.col("league") == league) & (pl.col("round").cast(pl.String) == round_key)
    )
    return rounds["job_id"].sort()[0] if rounds.height else None


def submit_round(
    league: LeagueTemplate, round_: Round, jobs: JobStore, warehouse: Warehouse, archive_dir: Path | None = None
) -> RoundSubmission:
    """Submit the round's job (at most once per round) and record the round; InputError if admission refuses it."""
    existing = submitted_round(warehouse, league.name, round_.key)
    if existing:
        return RoundSubmission(league.name, round_.key, existing, created=False)
    spec = league.round_spec(round_, participants(league, jobs))
    record, created = submit(spec, jobs, archive_dir)
    warehouse.write("verified", "league_rounds", record["job_id"], round_row(league, round_, record["job_id"]))
    return RoundSubmission(league.name, round_.key, record["job_id"], created)


def start_round(
    league: LeagueTemplate, round_: Round, jobs: JobStore, warehouse: Warehouse, claimant: str,
    archive_dir: Path | None = None,
) -> RoundLaunch:
    """Submit the round and claim its job for `claimant` (a schedule launching its run right away)."""
    submission = submit_round(league, round_, jobs, warehouse, archive_dir)
    claimed = claim_job(jobs, submission.job_id, claimant)
    return RoundLaunch(submission, claimed, jobs.get(submission.job_id))


def round_row(league: LeagueTemplate, round_: Round, job_id: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "league": [league.name],
            "round": [round_.start.date()],
            "job_id": [job_id],
            "organization": [league.organization],
            "visibility": [league.visibility],
            "window_start": [round_.start],
            "window_end": [round_.end],
        }
    )


def league_of_job(warehouse: Warehouse, job_id: str) -> str | None:
    """The league whose round the job is, if any."""
    if not warehouse.exists("verified", "league_rounds", job_id):
        return None
    return warehouse.read("verified", "league_rounds", job_id)["league"][0]


def read_standings(warehouse: Warehouse, league: str) -> pl.DataFrame:
    """A league's published standings (newest snapshot, read from Parquet: no DuckDB lock), by round and rank."""
    return warehouse.read_snapshot("league_standings").filter(pl.col("league") == league).sort("round", "rank")


def job_run_tags(record: dict, warehouse: Warehouse) -> dict[str, str]:
    """The Dagster run tags of a job (pipeline/records.py `run_tags`), with its league when it is a round."""
    spec = record["spec"]
    league = league_of_job(warehouse, record["job_id"])
    return run_tags(spec["organization"], spec["visibility"], record["pinned"]["scoring_version"], league)


def league_run_tags(league: LeagueTemplate) -> dict[str, str]:
    """The run tags of a league's own runs (those submitting its rounds)."""
    return run_tags(league.organization, league.visibility, league.scoring_version, league.name)
