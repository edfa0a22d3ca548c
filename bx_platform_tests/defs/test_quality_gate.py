"""A job whose market data fails the blocking gate never reaches verified tables, scores or the leaderboard;
its staged bars sit in quarantine and the check result names the failing expectation."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import dagster as dg
import polars as pl
from jsonschema import Draft202012Validator
from dagster import DagsterInstance

from bx_platform.control import audit
from bx_platform.control.store import open_engine
from bx_platform.defs.assets import benchmark_assets, benchmark_checks
from bx_platform.jobs.store import JobStore
from bx_platform.paths import REPO_ROOT
from bx_platform.warehouse.store import Warehouse
from bx_platform.market.archive import default_archive_dir, sha256_file
from bx_platform_tests.defs.helpers import (
    COINBASE_BTC_1H, SMALL_JOB, default_control_url_beside, doctored_archive, job_resources, materialize_job,
    materialize_submitted,
)

RESULT_SCHEMA = REPO_ROOT / "bx_platform" / "result_schema.json"


def _archive_with_a_negative_close(tmp_path):
    """A copy of the archive where one bar inside the job's window has a negative close."""
    return doctored_archive(tmp_path, COINBASE_BTC_1H, {datetime(2018, 2, 1, 12, tzinfo=timezone.utc): -1.0})


def test_failed_gate_quarantines_and_stops_the_job(bx_home, tmp_path):
    archive = _archive_with_a_negative_close(tmp_path)
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_id, result = materialize_job(SMALL_JOB, store_url, warehouse.root, instance, archive_dir=archive)

    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    failed = evaluation.metadata["failed_expectations"].value
    assert {"expectation": "expect_column_values_to_be_between", "column": "close", "group": "coinbase:BTC/USD", "unexpected_count": 1} in failed
    assert evaluation.metadata["partition_now_in"].value == "quarantine"

    assert warehouse.exists("quarantine", "market_bars", job_id)
    assert not warehouse.exists("verified", "market_bars", job_id)
    assert not warehouse.exists("staged", "market_bars", job_id)
    for table in ("fills", "equity", "metrics", "scores"):
        assert not any(warehouse.exists(zone, table, job_id) for zone in ("staged", "verified"))
    document = warehouse.read_result(job_id)  # a failed job's result document says where and why it stopped
    assert document["status"] == "failed" and "strategies" not in document
    assert document["failure"]["stage"] == "market_data_quality_gate"
    assert document["failure"]["failed_expectations"] == failed
    Draft202012Validator(json.loads(RESULT_SCHEMA.read_text())).validate(document)
    report = warehouse.report_path(job_id).read_text(encoding="utf-8")  # so does its report
    assert "market_data_quality_gate" in report and "expect_column_values_to_be_between" in report
    materialized = {m.asset_key.path[0] for m in result.get_asset_materialization_events()}
    assert materialized == {"market_data"}
    control = open_engine(default_control_url_beside(warehouse.root))
    gate, finished = [e for e in audit.trail(control, job_id) if e.kind in ("quality_gate", "finished")]
    assert gate.content["detail"]["failed_expectations"] == failed and "expect_column_values_to_be_between(close)" in gate.content["detail"]["expectations"]
    assert "FAILED at market_data_quality_gate: market_bars: failed " in audit.describe(finished)
    assert "expect_column_values_to_be_between(close): 1 rows" in audit.describe(finished)
    control.dispose()

    with warehouse.connect_readonly() as conn:
        assert conn.execute("SELECT count(*) FROM market_bars WHERE job_id = ?", [job_id]).fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM quarantine_market_bars WHERE job_id = ?", [job_id]).fetchall()[0][0] > 2000
        assert conn.execute("SELECT count(*) FROM scores WHERE job_id = ?", [job_id]).fetchall() == [(0,)]
        assert conn.execute("SELECT count(*) FROM leaderboard").fetchall() == [(0,)]
        assert conn.execute("SELECT outcome FROM jobs WHERE job_id = ?", [job_id]).fetchall() == [("failed",)]
    assert JobStore(store_url).get(job_id).outcome == "failed"


def test_passing_gate_promotes_to_verified_and_the_job_runs_once(bx_home, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_id, result = materialize_job(SMALL_JOB, store_url, warehouse.root, instance)
        document = warehouse.read_result(job_id)
        # another run of the finished job (as from the UI) is refused and changes nothing
        again = dg.materialize(
            [*benchmark_assets, *benchmark_checks], partition_key=job_id, instance=instance, raise_on_error=False,
            resources=job_resources(store_url, warehouse.root),
        )
    assert result.success and not again.success
    assert "a job runs once" in str(again.get_step_failure_events()[0].step_failure_data.error.message)
    assert warehouse.read_result(job_id) == document
    assert JobStore(store_url).get(job_id).outcome == document["status"]
    assert all(e.passed for e in result.get_asset_check_evaluations())
    for table in ("market_bars", "fills", "equity", "metrics", "scores"):
        assert warehouse.exists("verified", table, job_id)
    assert not warehouse.exists("quarantine", "market_bars", job_id)
    with warehouse.connect_readonly() as conn:
        assert conn.execute("SELECT count(*) FROM scores WHERE job_id = ?", [job_id]).fetchall() == [(2,)]
        board = conn.execute("SELECT strategy FROM leaderboard ORDER BY rank").fetchall()
    assert sorted(s for (s,) in board) == ["bx/momentum", "bx/sma-trend"]


def test_a_job_whose_archive_file_changed_after_submission_fails_naming_both_hashes(tmp_path):
    """Pinned data is re-hashed at run time: a file changed between submission and run fails the job."""
    from bx_platform.pipeline.admission import submit
    from bx_platform.jobs.spec import parse_spec

    archive = tmp_path / "archive"
    shutil.copytree(default_archive_dir(), archive)
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    store = JobStore(store_url)
    record, _ = submit(parse_spec(SMALL_JOB), store, archive)
    store.dispose()
    pinned = record["pinned"]["datasets"]["coinbase:BTC/USD"]
    path = archive / COINBASE_BTC_1H
    bars = pl.read_parquet(path)
    bars.with_columns(pl.when(pl.int_range(pl.len()) == 100).then(pl.col("close") * 1.01).otherwise(pl.col("close")).alias("close")).write_parquet(path)
    changed = sha256_file(path)
    warehouse = Warehouse(tmp_path / "warehouse").ensure()
    with DagsterInstance.ephemeral() as instance:
        job_id = record["job_id"]
        result = materialize_submitted(job_id, store_url, warehouse.root, instance, archive)
    assert not result.success
    document = warehouse.read_result(job_id)
    assert document["status"] == "failed" and document["failure"]["stage"] == "market_data"
    assert pinned in document["failure"]["reason"] and changed in document["failure"]["reason"]
    assert not warehouse.exists("staged", "market_bars", job_id) and not warehouse.exists("verified", "scores", job_id)
    assert JobStore(store_url).get(job_id).state == "failed"
