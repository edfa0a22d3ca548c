"""The result document (docs/result.md) against its JSON Schema (bx_platform/result_schema.json).

(a) every document a real run writes validates, strictly; (b) the same job run twice, in two fresh homes, gives
the same bytes except `submitted_at`, and the same scores and metrics Parquet partitions; (c) a tampered
document (missing key, wrong type, extra key, broken invariant) fails validation. The schema itself is checked
against the code it describes (METRIC_KEYS, JobSpec, market_context, GATES, KEY_LIBRARIES).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path

import polars as pl
import pytest
from dagster import DagsterInstance
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from bx_platform.evaluation.context import market_context
from bx_platform.evaluation.report import METRIC_KEYS
from bx_platform.jobs.spec import Capital, Costs, JobSpec, Market, Window, canonical_json
from bx_platform.scoring.eligibility import GATES
from bx_platform.versions import KEY_LIBRARIES, RESULT_SCHEMA_VERSION
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job

# A second real job that exercises the other branches: private, contest-tagged, and partial (buy-and-hold
# falls more than the conservative profile's 15 % in Q1 2018 and is halted, so it carries a flag).
PRIVATE_PARTIAL_JOB = {
    **SMALL_JOB,
    "name": "coinbase-btc-2018-q1-private",
    "visibility": "private",
    "contest": "schema-test",
    "risk_profile": "conservative",
    "strategies": ["bx/buy-and-hold", "bx/mean-reversion"],
    "sessions": 2,
}

# Verified partitions compared byte for byte between two runs of one job. Not compared: `strategy_runs`
# (holds the measured decision runtime) and `jobs` (holds the record's submitted_at).
DETERMINISTIC_TABLES = ("scores", "metrics", "fills", "equity", "market_bars", "execution_summary")
SUBMITTED_AT = re.compile(r'^  "submitted_at": "[^"]*",$', re.MULTILINE)


def load_schema() -> dict:
    return json.loads(files("bx_platform").joinpath("result_schema.json").read_text())


def validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=FormatChecker())


def _strict_json(text: str) -> dict:
    """Parse as strict JSON: NaN and ±Infinity are not JSON (the document writes them as null)."""

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant} in the result document")

    return json.loads(text, parse_constant=refuse)


def run_job(spec: dict, home: Path) -> tuple[str, Warehouse, str]:
    """Run one job to the end in `home`; return its id, its warehouse and the result document's text."""
    home.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_id, result = materialize_job(spec, f"sqlite:///{home / 'jobs.sqlite'}", warehouse.root, instance)
    assert result.success
    path = warehouse.results / f"{job_id}.json"
    assert path.exists(), "the job wrote no result document"
    return job_id, warehouse, path.read_text()


# -- the schema describes the code -----------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema_for_the_current_version():
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # bumping RESULT_SCHEMA_VERSION without a schema for the new version fails here
    assert schema["properties"]["schema"] == {"const": RESULT_SCHEMA_VERSION, "description": "This document's schema id."}
    assert schema["$id"].endswith(RESULT_SCHEMA_VERSION)


def _closed(subschema: dict) -> set[str]:
    """The keys of a fixed-shape object: all required, nothing else allowed."""
    assert subschema["additionalProperties"] is False
    assert set(subschema["required"]) == set(subschema["properties"])
    return set(subschema["properties"])


def test_schema_matches_the_code_it_describes():
    defs = load_schema()["$defs"]
    assert _closed(defs["metrics"]) == set(METRIC_KEYS)
    assert defs["metrics"]["required"] == list(METRIC_KEYS)
    assert defs["metric_key"]["enum"] == list(METRIC_KEYS)
    assert defs["gate_failure"]["properties"]["gate"]["enum"] == list(GATES)
    assert _closed(defs["pinned"]["properties"]["libraries"]) == set(KEY_LIBRARIES)

    spec = defs["spec"]
    assert _closed(spec) == set(JobSpec.model_fields)
    assert _closed(spec["properties"]["capital"]) == set(Capital.model_fields)
    assert _closed(spec["properties"]["costs"]) == set(Costs.model_fields)
    assert _closed(spec["properties"]["window"]) == set(Window.model_fields)
    assert _closed(spec["properties"]["markets"]["items"]) == set(Market.model_fields)

    start = datetime(2018, 1, 1, tzinfo=timezone.utc)
    bars = pl.DataFrame(
        {
            "ts": [start + timedelta(hours=i) for i in range(30)],
            **{c: [100.0 + i for i in range(30)] for c in ("open", "high", "low", "close")},
            "volume": [1.0] * 30,
            "market": ["coinbase:BTC/USD"] * 30,
        }
    )
    context = market_context(bars, 8760.0, market="coinbase:BTC/USD")
    assert _closed(defs["market_context"]) == set(context)
    Draft202012Validator({"$defs": defs, **defs["market_context"]}).validate(context)


# -- (a) real documents validate ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [SMALL_JOB, PRIVATE_PARTIAL_JOB], ids=["small-public", "private-contest-partial"])
def test_every_real_result_document_validates(bx_home, spec):
    job_id, _, text = run_job(spec, bx_home)
    document = _strict_json(text)
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)

    # invariants a JSON Schema cannot state
    resolved = JobSpec.model_validate(spec)
    assert document["job_id"] == job_id == resolved.job_id
    assert canonical_json(document["spec"]) == resolved.canonical_json()
    assert document["organization"] == document["spec"]["organization"]
    assert document["visibility"] == document["spec"]["visibility"]
    assert document["pinned"]["scoring_version"] == document["spec"]["scoring_version"]
    markets = [f"{m['venue']}:{m['symbol']}" for m in document["spec"]["markets"]]
    assert set(document["market_context"]) == set(markets) == set(document["pinned"]["datasets"])
    sessions = document["spec"]["sessions"]
    strategies = document["strategies"]
    assert sorted(s["strategy"] for s in strategies) == sorted(spec["strategies"])
    assert [s["rank"] for s in strategies] == list(range(1, len(strategies) + 1))
    assert document["status"] == ("partial" if any(s["flags"] for s in strategies) else "complete")
    hold = document["benchmark_hold"]
    assert len(hold["metrics"]["sessions"]) == len(hold["scenario_utilities"]) == sessions
    for s in strategies:
        assert len(s["metrics"]["sessions"]) == len(s["scores"]["scenario_utilities"]) == sessions
        bx = s["scores"]["bx_score"]
        assert bx["version"] == document["pinned"]["scoring_version"]
        assert bx["version_sha256"] == document["pinned"]["scoring_version_sha256"]
        assert bx["context"] == document["market_context"][markets[0]]  # the principal market's
        assert bx["score"] == pytest.approx(sum(bx["group_contributions"].values()), abs=1e-9)
    # the stored bytes are the canonical serialization of the document
    assert text == json.dumps(document, sort_keys=True, indent=2, allow_nan=False) + "\n"
    if spec is PRIVATE_PARTIAL_JOB:
        assert document["status"] == "partial" and document["visibility"] == "private"
        assert document["spec"]["contest"] == "schema-test"


# -- (b) determinism ----------------------------------------------------------------------------------------


def test_the_same_job_gives_the_same_bytes_in_two_fresh_homes(bx_home, tmp_path, monkeypatch):
    first_id, first, first_text = run_job(SMALL_JOB, bx_home)
    second_home = tmp_path / "second-home"
    monkeypatch.setenv("BX_HOME", str(second_home))
    second_id, second, second_text = run_job(SMALL_JOB, second_home)
    assert first_id == second_id
    assert first.root != second.root

    # the documents differ at most in the record's submitted_at, and nowhere else, byte for byte
    assert len(SUBMITTED_AT.findall(first_text)) == len(SUBMITTED_AT.findall(second_text)) == 1
    same = SUBMITTED_AT.sub('  "submitted_at": "<submitted_at>",', first_text)
    other = SUBMITTED_AT.sub('  "submitted_at": "<submitted_at>",', second_text)
    if same != other:
        import difflib

        diff = "\n".join(difflib.unified_diff(same.splitlines(), other.splitlines(), "run 1", "run 2", lineterm="", n=1))
        pytest.fail(f"the result document of {first_id} is not deterministic:\n{diff}")
    a, b = _strict_json(first_text), _strict_json(second_text)
    a.pop("submitted_at"), b.pop("submitted_at")
    assert a == b

    for table in DETERMINISTIC_TABLES:
        left = first.partition_path("verified", table, first_id).read_bytes()
        right = second.partition_path("verified", table, second_id).read_bytes()
        assert left == right, f"verified {table} partition differs between two runs of {first_id}"
    for snapshot in ("leaderboard", "contest_standings"):
        left = sorted(first.table_dir("verified", snapshot).glob("snapshot-*.parquet"))[-1].read_bytes()
        right = sorted(second.table_dir("verified", snapshot).glob("snapshot-*.parquet"))[-1].read_bytes()
        assert left == right, f"{snapshot} snapshot differs between two identical stores"


# -- (c) tampered documents fail ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_document(tmp_path_factory) -> dict:
    """The result document of a real run of SMALL_JOB (its own home, shared by the tampering cases)."""
    home = tmp_path_factory.mktemp("reference") / "bx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BX_HOME", str(home))
        for name in ("DAGSTER_HOME", "DAGSTER_PG_URL", "BX_JOBSTORE_URL", "BX_WAREHOUSE_DIR", "BX_ARCHIVE_DIR"):
            mp.delenv(name, raising=False)
        _, _, text = run_job(SMALL_JOB, home)
    document = _strict_json(text)
    validator().validate(document)
    return document


def _drop(path):
    def tamper(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        del target[last]

    return tamper


def _set(path, value):
    def tamper(doc):
        *parents, last = path
        target = doc
        for key in parents:
            target = target[key]
        target[last] = value

    return tamper


def _eligible_with_a_failure(doc):
    doc["strategies"][0]["eligibility"] = {
        "eligible": True,
        "failed": [{"gate": "max_drawdown", "value": 0.5, "threshold": 0.35, "message": "max drawdown 0.5 exceeds the limit 0.35"}],
    }


def _ineligible_without_a_failure(doc):
    doc["strategies"][0]["eligibility"] = {"eligible": False, "failed": []}


S0 = ("strategies", 0)
TAMPERINGS = {
    # missing keys
    "missing status": _drop(("status",)),
    "missing submitted_at": _drop(("submitted_at",)),
    "missing pinned block": _drop(("pinned",)),
    "missing a window metric": _drop((*S0, "metrics", "all", "sharpe")),
    "missing a session metric": _drop((*S0, "metrics", "sessions", 0, "dsr")),
    "missing a hold metric": _drop(("benchmark_hold", "metrics", "all", "total_return")),
    "missing bx score": _drop((*S0, "scores", "bx_score")),
    "missing a market-context key": _drop(("market_context", "coinbase:BTC/USD", "vol_regime")),
    "missing a pinned library": _drop(("pinned", "libraries", "polars")),
    "missing a spec field": _drop(("spec", "costs")),
    # wrong types
    "metric as a string": _set((*S0, "metrics", "all", "sharpe"), "1.25"),
    "metric as a list": _set((*S0, "metrics", "sessions", 1, "max_drawdown"), [0.1]),
    "rank as a float": _set((*S0, "rank"), 1.5),
    "rank as a string": _set((*S0, "rank"), "1"),
    "flags as a string": _set((*S0, "flags"), "halted_drawdown"),
    "utility as a string": _set((*S0, "scores", "utility"), "high"),
    "eligible as a string": _set((*S0, "eligibility", "eligible"), "yes"),
    "sessions spec as a string": _set(("spec", "sessions"), "3"),
    "trials n as a float": _set(("pinned", "trials", "n"), 2.5),
    "realized vol as a label": _set(("market_context", "coinbase:BTC/USD", "realized_vol"), "high"),
    "strategies as an object": _set(("strategies",), {}),
    # values outside their domain
    "unknown status": _set(("status",), "done"),
    "unknown visibility": _set(("visibility",), "internal"),
    "another schema id": _set(("schema",), "bx-result-1"),
    "malformed job id": _set(("job_id",), "job-XYZ"),
    "local submitted_at": _set(("submitted_at",), "2018-01-01T09:00:00+09:00"),
    "negative capital": _set(("spec", "capital", "initial"), -1.0),
    "bx score above 100": _set((*S0, "scores", "bx_score", "score"), 100.5),
    "metric points above 10": _set((*S0, "scores", "bx_score", "normalized", "sharpe"), 11.0),
    "unknown gate": _set((*S0, "eligibility", "failed"), [{"gate": "luck", "value": 1.0, "threshold": 0.5, "message": "m"}]),
    "dataset hash not hex": _set(("pinned", "datasets", "coinbase:BTC/USD"), "not-a-sha256"),
    "hold renamed": _set(("benchmark_hold", "strategy"), "bx/other"),
    "no strategies": _set(("strategies",), []),
    "one-sided interval": _set((*S0, "scores", "utility_ci_95"), [0.1]),
    "eligible with a failure": _eligible_with_a_failure,
    "ineligible without a failure": _ineligible_without_a_failure,
    # extra keys
    "extra top-level key": _set(("generated_at",), "2026-01-01T00:00:00+00:00"),
    "measured runtime back in": _set((*S0, "runtime_ms"), 0.4),
    "extra metric": _set((*S0, "metrics", "all", "calmar"), 1.0),
    "extra spec field": _set(("spec", "priority"), 1),
    "extra score": _set((*S0, "scores", "alpha_score"), 1.0),
    # a failed job's document has a failure and no scores; a scored one has no failure
    "failed but scored": _set(("status",), "failed"),
    "scored with a failure": _set(("failure",), {"stage": "run", "reason": "r", "failed_expectations": []}),
}


def test_the_reference_document_is_the_untampered_baseline(reference_document):
    validator().validate(copy.deepcopy(reference_document))
    assert "coinbase:BTC/USD" in reference_document["market_context"]


@pytest.mark.parametrize("tamper", list(TAMPERINGS.values()), ids=list(TAMPERINGS))
def test_a_tampered_document_fails_validation(reference_document, tamper):
    document = copy.deepcopy(reference_document)
    tamper(document)
    assert document != reference_document
    with pytest.raises(ValidationError):
        validator().validate(document)
