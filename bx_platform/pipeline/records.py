"""Rows of the store's `jobs` table, built from a job record."""

from __future__ import annotations

import polars as pl

from bx_platform.jobs.spec import canonical_json


def job_row(record: dict) -> pl.DataFrame:
    spec, pinned = record["spec"], record["pinned"]
    return pl.DataFrame(
        {
            "job_id": [record["job_id"]],
            "organization": [spec["organization"]],
            "visibility": [spec["visibility"]],
            "contest": [spec.get("contest")],
            "name": [spec.get("name")],
            "markets": [", ".join(f"{m['venue']}:{m['symbol']}" for m in spec["markets"])],
            "timeframe": [spec["timeframe"]],
            "window_start": [spec["window"]["start"]],
            "window_end": [spec["window"]["end"]],
            "strategies": [", ".join(spec["strategies"])],
            "data_manifest_hash": [pinned["data_manifest_hash"]],
            "engine_version": [pinned["engine_version"]],
            "scoring_version": [pinned["scoring_version"]],
            "submitted_at": [record["submitted_at"]],
            "record_json": [canonical_json(record)],
        }
    ).with_columns(pl.col("window_start", "window_end").str.to_datetime(time_zone="UTC"))


def outcome_row(record: dict, outcome: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"job_id": [record["job_id"]], "organization": [record["spec"]["organization"]], "outcome": [outcome]}
    )


# Tags every run of a job carries in Dagster (filter runs by them in the UI: docs/leagues.md, "Run tags").
RUN_TAG_PREFIX = "bx/"


def run_tags(organization: str, visibility: str, scoring_version: str, league: str | None = None) -> dict[str, str]:
    """A run's organization, visibility, score version and, for a league's run, its league."""
    tags = {
        f"{RUN_TAG_PREFIX}organization": organization,
        f"{RUN_TAG_PREFIX}visibility": visibility,
        f"{RUN_TAG_PREFIX}scoring_version": scoring_version,
    }
    return {**tags, f"{RUN_TAG_PREFIX}league": league} if league else tags
