"""ContestScore across jobs, end to end: two organizations run the same strategies in one contest. The copies
are clustered across the organizations and share their credit in the contest standings, and nothing about the
contest changes the first job's stored scores (its CapitalScores above all)."""

from __future__ import annotations

import polars as pl
from dagster import DagsterInstance

from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job

LEAGUE = {**SMALL_JOB, "contest": "spring-league", "strategies": ["bx/sma-trend", "bx/mean-reversion"]}


def test_duplicates_across_organizations_share_credit_and_leave_capital_scores_alone(bx_home, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        first, _ = materialize_job(LEAGUE, store_url, warehouse.root, instance)
        scores_before = warehouse.partition_path("verified", "scores", first).read_bytes()
        alone = warehouse.read_snapshot("contest_standings")
        second, _ = materialize_job({**LEAGUE, "organization": "copycat"}, store_url, warehouse.root, instance)

    assert warehouse.partition_path("verified", "scores", first).read_bytes() == scores_before
    assert alone["cluster_size"].to_list() == [1, 1]

    standings = warehouse.read_snapshot("contest_standings").sort("cluster_rank", "organization")
    assert standings.height == 4 and set(standings["contest"]) == {"spring-league"}
    for _, cluster in standings.group_by("cluster_id"):
        assert cluster["cluster_size"].to_list() == [2, 2]
        assert sorted(cluster["organization"]) == ["acme", "copycat"]
        assert cluster["strategy"].n_unique() == 1
    # each cluster's credit is what a single entry earned alone, now split in two
    merged = standings.join(alone.select("strategy", pl.col("contest_score").alias("alone")), on="strategy")
    assert (merged["contest_score"] * 2 == merged["alone"]).all()
    assert {first, second} == set(standings["job_id"])
