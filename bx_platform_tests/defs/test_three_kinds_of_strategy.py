"""One job through Dagster with the three kinds of strategy handle running the same rule (SMA trend 20/100):
the built-in, the example package in its sandboxed process, and the example remote model on 127.0.0.1. They
make the same fills; the remote model never received a bar later than the decision time; every remote call is
recorded, and nothing of the endpoint leaves the platform."""

from __future__ import annotations

import json

import httpx
import polars as pl
from dagster import DagsterInstance

from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import submit
from bx_platform.strategies.handles import HandleRegistry
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import materialize_submitted
from bx_platform_tests.strategies._support import remote_model
from bx_platform_tests.strategies.conftest import strategy_packages  # noqa: F401 (a fixture)

JOB = {
    "organization": "acme",
    "name": "three-kinds",
    "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}, {"venue": "bitstamp", "symbol": "ETH/USD"}],
    "window": {"start": "2017-11-09", "end": "2019-06-01"},
    "timeframe": "1d",
    "strategies": ["bx/sma-trend", "acme/sma-package", "acme/sma-remote"],
    "sessions": 3,
    "visibility": "private",
}
FILL_COLUMNS = ["market", "decision_ts", "ts", "side", "kind", "requested_qty", "qty", "price", "notional", "fee"]


def test_builtin_package_and_remote_model_make_the_same_fills(tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(tmp_path / "warehouse").ensure()
    with remote_model() as url:
        store = JobStore(store_url)
        registry = HandleRegistry(store.engine)
        registry.register("acme/sma-package", "acme", package="sma-trend")
        registry.register("acme/sma-remote", "acme", endpoint=url)
        record, _ = submit(parse_spec(JOB), store, None)
        store.dispose()
        with DagsterInstance.ephemeral() as instance:
            result = materialize_submitted(record["job_id"], store_url, warehouse.root, instance)
        seen = httpx.get(f"{url}/violations").json()
    job_id = record["job_id"]
    assert result.success
    assert seen["calls"] > 100 and seen["violations"] == []  # the model was called and never saw a later bar
    fills = warehouse.read("verified", "fills", job_id)
    by_strategy = {s: fills.filter(pl.col("strategy") == s).select(FILL_COLUMNS).sort("ts", "market") for s in JOB["strategies"]}
    assert by_strategy["bx/sma-trend"].height > 0
    assert by_strategy["acme/sma-package"].equals(by_strategy["bx/sma-trend"])
    assert by_strategy["acme/sma-remote"].equals(by_strategy["bx/sma-trend"])
    runs = warehouse.read("verified", "strategy_runs", job_id)
    assert set(runs["strategy"]) >= set(JOB["strategies"])
    calls = warehouse.read("verified", "remote_calls", job_id)
    assert calls.height > 0 and set(calls["strategy"]) == {"acme/sma-remote"} and calls["violation"].is_null().all()
    document = json.dumps(warehouse.read_result(job_id))
    host_port = url.split("//")[1]
    assert host_port not in document and host_port not in calls.write_csv()
    assert warehouse.read_result(job_id)["status"] in ("complete", "partial")


def test_replaying_a_job_answers_from_the_record_with_the_model_gone(tmp_path):
    """A model whose answers change on every call: the job's room replayed from its recorded calls, with the
    model stopped, gives the same fills and equity, byte for byte."""
    from bx_platform.execution.battle_room import room_frames
    from bx_platform.pipeline.execution import run_job_room
    from bx_platform.pipeline.staging import bars_by_market

    spec_data = {**JOB, "strategies": ["acme/sma-remote"], "name": "replayed"}
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(tmp_path / "warehouse").ensure()
    with remote_model("--vary") as url:
        store = JobStore(store_url)
        HandleRegistry(store.engine).register("acme/sma-remote", "acme", endpoint=url)
        record, _ = submit(parse_spec(spec_data), store, None)
        store.dispose()
        with DagsterInstance.ephemeral() as instance:
            assert materialize_submitted(record["job_id"], store_url, warehouse.root, instance).success
    job_id, spec = record["job_id"], parse_spec(spec_data)
    recorded = warehouse.read("verified", "remote_calls", job_id)
    assert recorded.height > 0 and recorded["response_json"].n_unique() > 1  # the model's answers varied
    bars = bars_by_market(warehouse.read("verified", "market_bars", job_id), spec)
    store = JobStore(store_url)
    results, replayed_calls = run_job_room(record, spec, bars, store, replay=recorded)
    store.dispose()
    fills, equity = room_frames(results, job_id, spec.organization)
    for table, frame in (("fills", fills), ("equity", equity)):
        stored = warehouse.read("verified", table, job_id)
        assert frame.select(stored.columns).equals(stored), table
    assert replayed_calls.drop("latency_ms").equals(recorded.drop("latency_ms"))


def test_a_failing_strategy_stops_alone_and_the_job_is_partial(tmp_path, strategy_packages):
    """A package strategy that raises on every decision is stopped at its first decision with the kind and the
    bar recorded; the built-in beside it finishes; the job ends partial."""
    spec_data = {**JOB, "strategies": ["bx/sma-trend", "acme/faulty"], "name": "one-fails"}
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(tmp_path / "warehouse").ensure()
    store = JobStore(store_url)
    HandleRegistry(store.engine).register("acme/faulty", "acme", package="fault-raises")
    record, _ = submit(parse_spec(spec_data), store, None)
    store.dispose()
    with DagsterInstance.ephemeral() as instance:
        assert materialize_submitted(record["job_id"], store_url, warehouse.root, instance).success
    document = warehouse.read_result(record["job_id"])
    assert document["status"] == "partial"
    flags = {s["strategy"]: s["flags"] for s in document["strategies"]}
    assert flags["bx/sma-trend"] == [] or not any(f.startswith("strategy_violation") for f in flags["bx/sma-trend"])
    [violation] = [f for f in flags["acme/faulty"] if f.startswith("strategy_violation")]
    assert violation.startswith("strategy_violation: exception at 2017-")
    fills = warehouse.read("verified", "fills", record["job_id"])
    assert fills.filter(pl.col("strategy") == "bx/sma-trend").height > 0
    assert fills.filter(pl.col("strategy") == "acme/faulty").height == 0
