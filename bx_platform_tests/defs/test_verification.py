"""A finished job's audit trail, signed manifest, `bx verify` (every flipped byte found) and `bx verify --replay`;
a job whose data changed after submission; `bx audit` of a failed and of a partial job.

Flip rule (docs/verification.md): every byte of the manifest file and of every stored audit event (its text,
its hash, its kind) is flipped (XOR 0x01) one at a time; of each Parquet partition and the result document,
every byte when the file has at most 512 bytes, else its first 128 and last 128 bytes (the Parquet header, and
the end of the footer: its length and magic) and 32 evenly spaced bytes between them."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance

from bx_platform.cli import main
from bx_platform.control import audit, signing
from bx_platform.control.store import default_control_url, open_engine
from bx_platform.jobs.store import JobStore, default_store_url
from bx_platform.market.archive import default_archive_dir, sha256_file
from bx_platform.paths import warehouse_dir
from bx_platform.pipeline.manifest import manifest_path
from bx_platform.pipeline.replay import replay_job
from bx_platform.pipeline.verify import gather, verify
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import COINBASE_BTC_1H, SMALL_JOB, materialize_job, materialize_submitted

PARTIAL_JOB = {**SMALL_JOB, "name": "halted", "strategies": ["bx/buy-and-hold"], "risk_profile": "conservative"}


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def sampled_positions(size: int) -> list[int]:
    """The documented sample of a large file: all of a small one; head, tail and an even stride otherwise."""
    if size <= 512:
        return list(range(size))
    stride = [128 + i * (size - 256) // 32 for i in range(32)]
    return sorted({*range(128), *stride, *range(size - 128, size)})


def _run(spec: dict, archive_dir: Path | None = None) -> str:
    """One job through Dagster on the BX_HOME stores (so `bx` commands see it)."""
    with DagsterInstance.ephemeral() as instance:
        job_id, _ = materialize_job(spec, default_store_url(), warehouse_dir(), instance, archive_dir, default_control_url())
    return job_id


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A small finished job (partial: its strategies are halted by the daily-loss limit) in its own BX_HOME,
    signed with the development key."""
    home = tmp_path_factory.mktemp("verify") / "bx"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BX_HOME", str(home))
        for name in ("DAGSTER_HOME", "BX_JOBSTORE_URL", "BX_WAREHOUSE_DIR", "BX_ARCHIVE_DIR", "BX_CONTROL_URL", "BX_SIGNING_KEY"):
            patch.delenv(name, raising=False)
        job_id = _run(SMALL_JOB)
        yield job_id
        # later tests of the module run in this home too


def _evidence(job_id: str):
    jobs, control = JobStore(), open_engine()
    evidence = gather(manifest_path(Warehouse(), job_id), Warehouse(), jobs, control, signing.trusted_public_key())
    return evidence, jobs, control


def test_a_finished_job_has_a_full_trail_and_an_untouched_job_verifies(finished, capsys):
    evidence, jobs, control = _evidence(finished)
    kinds = [e.kind for e in evidence.events]
    assert kinds[:4] == ["submitted", "admitted", "claimed", "data_loaded"]
    assert kinds.count("quality_gate") == 2 and kinds.count("strategy_ended") == len(SMALL_JOB["strategies"]) + 1
    assert kinds[-1] == "finished" and {"artifact"} <= set(kinds)
    market_gate = next(e.content["detail"] for e in evidence.events if e.kind == "quality_gate")
    assert market_gate["passed"] and "expect_column_values_to_not_be_null(close)" in market_gate["expectations"]
    assert verify(evidence) == []
    manifest = evidence.manifest
    paths = {a["path"] for a in manifest["artifacts"]}
    assert {f"tables/verified/{t}/{finished}.parquet" for t in ("fills", "equity", "metrics", "scores", "remote_calls")} <= paths
    assert f"results/{finished}.json" in paths and manifest["audit"]["head_hash"] == evidence.events[-1].hash
    assert main(["verify", finished]) == 0 and main(["verify", str(manifest_path(Warehouse(), finished))]) == 0
    assert "verified" in capsys.readouterr().out
    jobs.dispose()
    control.dispose()


def test_every_flipped_byte_of_manifest_events_and_artifacts_is_detected(finished):
    evidence, jobs, control = _evidence(finished)
    assert verify(evidence) == []
    missed, flips = [], 0
    # the manifest file, every byte, read from disk as `bx verify` reads it
    path = manifest_path(Warehouse(), finished)
    original = path.read_bytes()
    for position in range(len(original)):
        path.write_bytes(_flip(original, position))
        flips += 1
        if not verify(gather(path, Warehouse(), jobs, control, evidence.public_key)):
            missed.append(f"manifest byte {position}")
    path.write_bytes(original)
    # every audit event as read from the store: its text, its hash and its kind
    events = evidence.events
    for index, event in enumerate(events):
        for field in ("body", "hash", "kind"):
            value = getattr(event, field)
            for position in range(len(value)):
                flipped = value[:position] + chr(ord(value[position]) ^ 0x01) + value[position + 1 :]
                flips += 1
                if not verify(replace(evidence, events=[*events[:index], replace(event, **{field: flipped}), *events[index + 1 :]])):
                    missed.append(f"event {event.seq} {field} byte {position}")
    # every artifact: all bytes of a small file, the documented sample of a large one
    for entry in evidence.manifest["artifacts"]:
        artifact = Warehouse().root / entry["path"]
        data = artifact.read_bytes()
        for position in sampled_positions(len(data)):
            artifact.write_bytes(_flip(data, position))
            flips += 1
            if not verify(evidence):
                missed.append(f"{entry['path']} byte {position}")
        artifact.write_bytes(data)
    assert missed == [] and flips > 10_000, missed[:20]
    print(f"{flips} single-byte flips, every one detected")  # the figure in docs/verification.md (pytest -rP)
    assert verify(evidence) == []
    jobs.dispose()
    control.dispose()


def test_a_changed_stored_event_or_partition_is_named_by_bx_verify(finished, capsys):
    """End to end through the stores: an event edited in the database (past its trigger) and a Parquet file
    changed on disk are each reported in plain words with exit 1."""
    warehouse = Warehouse()
    scores = warehouse.partition_path("verified", "scores", finished)
    original = scores.read_bytes()
    scores.write_bytes(_flip(original, len(original) // 2))
    assert main(["verify", finished]) == 1
    out = capsys.readouterr().out
    assert f"{scores}: sha256 {sha256_file(scores)}" in out and "MISMATCH" in out
    scores.write_bytes(original)

    database = Path(default_control_url().removeprefix("sqlite:///"))
    edit = "UPDATE bx_audit_events SET body = replace(body, ?, ?) WHERE job_id = ? AND kind = 'claimed'"
    with sqlite3.connect(database) as conn:  # an intruder with write access to the file drops the trigger
        conn.execute("DROP TRIGGER bx_audit_events_no_update")
        conn.execute(edit, ('"claimed_by":"test"', '"claimed_by":"tesT"', finished))
    assert main(["verify", finished]) == 1
    assert "audit event 3 (claimed): its content does not match its stored hash" in capsys.readouterr().out
    with sqlite3.connect(database) as conn:
        conn.execute(edit, ('"claimed_by":"tesT"', '"claimed_by":"test"', finished))
    assert main(["verify", finished]) == 0


def test_verify_refuses_bad_input_with_exit_2(finished, tmp_path, capsys):
    assert main(["verify", "job-000000000000000000000000"]) == 2
    assert main(["verify", "no/such/file.json"]) == 2
    assert "neither a manifest file nor a job id" in capsys.readouterr().err


def test_a_manifest_signed_by_another_key_does_not_verify(finished, tmp_path, capsys):
    other = tmp_path / "other.pem"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other.write_text(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    assert main(["verify", finished, "--public-key", str(other)]) == 1
    assert "not the trusted key" in capsys.readouterr().out
    assert main(["keys", "public"]) == 0
    published = tmp_path / "published.pem"
    published.write_text(capsys.readouterr().out)
    assert main(["verify", finished, "--public-key", str(published)]) == 0


def test_replay_gives_identical_bytes(finished, tmp_path):
    jobs = JobStore()
    comparisons, problems = replay_job(finished, jobs, Warehouse(), tmp_path, default_archive_dir())
    jobs.dispose()
    assert problems == []
    assert [c.artifact for c in comparisons] == ["fills", "equity", "metrics", "scores", "result document"]
    assert [c.difference() for c in comparisons if not c.identical] == []
    assert main(["verify", "--replay", finished]) == 0


def test_a_partial_job_reads_as_what_ended_it_and_when(finished, capsys):
    job_id = _run(PARTIAL_JOB)
    assert Warehouse().read_result(job_id)["status"] == "partial"
    assert main(["audit", job_id]) == 0
    out = capsys.readouterr().out
    assert "strategy bx/buy-and-hold ended: halted, halted_daily_loss at bar 2018-01-07T17:00Z" in out
    assert "What ended it: " in out and "ended PARTIAL: bx/buy-and-hold: halted_daily_loss at 2018-01-07T17:00Z" in out
    assert "The chain is intact" in out
    assert main(["verify", job_id]) == 0


def test_data_changed_after_submission_fails_the_job_naming_both_hashes(finished, tmp_path, capsys):
    archive = tmp_path / "archive"
    (archive / COINBASE_BTC_1H).parent.mkdir(parents=True)
    shutil.copy(default_archive_dir() / "manifest.json", archive / "manifest.json")
    shutil.copy(default_archive_dir() / COINBASE_BTC_1H, archive / COINBASE_BTC_1H)
    spec = {**SMALL_JOB, "name": "changed-data"}
    from bx_platform.jobs.spec import parse_spec
    from bx_platform.pipeline.admission import submit

    jobs, control = JobStore(), open_engine()
    record, _ = submit(parse_spec(spec), jobs, archive, control)
    clean = sha256_file(archive / COINBASE_BTC_1H)
    bars = pl.read_parquet(archive / COINBASE_BTC_1H)
    bars.with_columns(close=pl.col("close") * 1.0001).write_parquet(archive / COINBASE_BTC_1H)  # after submission
    changed = sha256_file(archive / COINBASE_BTC_1H)
    job_id = record["job_id"]
    with DagsterInstance.ephemeral() as instance:
        materialize_submitted(job_id, default_store_url(), warehouse_dir(), instance, archive, default_control_url())
    assert jobs.get(job_id).outcome == "failed"
    [event] = [e for e in audit.trail(control, job_id) if e.kind == "data_changed"]
    assert event.content["detail"]["pinned"] == clean and event.content["detail"]["actual"] == changed
    document = Warehouse().read_result(job_id)
    assert clean in document["failure"]["reason"] and changed in document["failure"]["reason"]
    assert main(["audit", job_id]) == 0
    out = capsys.readouterr().out
    ending = [line for line in out.splitlines() if line.startswith("What ended it: ")][0]
    assert "FAILED at market_data" in ending and clean in ending and changed in ending
    assert main(["verify", job_id]) == 0  # a failed job's manifest and trail verify too
    jobs.dispose()
    control.dispose()


def test_the_api_serves_the_trail_to_its_organization_only(finished):
    from fastapi.testclient import TestClient

    from bx_platform.api.app import create_app
    from bx_platform.control.keys import create_key, create_organization

    control = open_engine()
    create_organization(control, SMALL_JOB["organization"])
    create_organization(control, "someone-else")
    _, owner = create_key(control, SMALL_JOB["organization"])
    _, other = create_key(control, "someone-else")
    control.dispose()
    with TestClient(create_app()) as client:
        mine = client.get(f"/v1/jobs/{finished}/audit", headers={"Authorization": f"Bearer {owner}"})
        assert mine.status_code == 200 and mine.json()["intact"] is True
        assert mine.json()["events"][-1]["kind"] == "finished" and "ended PARTIAL: bx/momentum: halted_daily_loss" in mine.json()["events"][-1]["description"]
        assert client.get(f"/v1/jobs/{finished}/audit", headers={"Authorization": f"Bearer {other}"}).status_code == 404
        keys = client.get("/v1/keys").json()["keys"]
        assert keys[0]["key_id"] == signing.key_id(signing.trusted_public_key())
    assert json.loads(manifest_path(Warehouse(), finished).read_text())["signature"]["key_id"] == keys[0]["key_id"]


def test_replay_of_own_strategies_answers_from_the_record_with_the_model_gone(finished):
    """The demo's fifth job shape: a built-in, the example package in its sandbox and the example remote model,
    here one whose answers change on every call. Replayed after the model stopped: identical bytes."""
    from bx_platform.demo import PACKAGE_HANDLE, REMOTE_HANDLE, example_remote_model, register_own_strategies

    spec = {
        **SMALL_JOB, "organization": "bx-demo", "name": "own", "timeframe": "1d",
        "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}, {"venue": "bitstamp", "symbol": "ETH/USD"}],
        "window": {"start": "2017-11-09", "end": "2019-06-01"},
        "strategies": ["bx/sma-trend", PACKAGE_HANDLE, REMOTE_HANDLE],
    }
    with example_remote_model("--vary") as endpoint:
        register_own_strategies(endpoint)
        job_id = _run(spec)
    assert Warehouse().read("verified", "remote_calls", job_id)["response_json"].n_unique() > 1
    assert main(["verify", "--replay", job_id]) == 0


def test_an_edited_score_stays_off_the_boards_with_the_file_named(finished, caplog):
    """The probe of issue 9: a verified score edited on disk (38.7 -> 99.0) flowed into the next leaderboard.
    Now a finished job's scores that are not the file its signed manifest hashed are left off every board."""
    from bx_platform.pipeline.manifest import altered_partitions
    from bx_platform.pipeline.results import publish_leaderboard

    warehouse = Warehouse()
    path = warehouse.partition_path("verified", "scores", finished)
    original = path.read_bytes()
    pl.read_parquet(path).with_columns(bx_score=pl.lit(99.0), beta_score=pl.lit(99.0)).write_parquet(path)
    try:
        assert list(altered_partitions(warehouse, "scores")) == [finished]
        board = publish_leaderboard(warehouse)
        numbers = board.select(pl.selectors.numeric()).to_numpy().ravel().tolist()
        assert 99.0 not in numbers
        assert f"left off the boards: {path} is not the file its signed manifest hashed" in caplog.text
    finally:
        path.write_bytes(original)
    assert altered_partitions(warehouse, "scores") == {}
