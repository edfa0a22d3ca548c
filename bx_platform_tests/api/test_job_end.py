"""A job's end, at its single terminal point: usage charged against the quote, and a signed event delivered
from the outbox to the organization's endpoint (checked by the independent receiver)."""

from __future__ import annotations

import json

from dagster import DagsterInstance

from bx_platform.control import add_endpoint, deliver_due
from bx_platform.control.store import open_engine
from bx_platform_tests.control.receiver import Receiver
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job


def test_finished_job_is_metered_and_announced(platform):
    engine = open_engine(platform.control_url)
    spec = {**SMALL_JOB, "organization": "org-b", "visibility": "private", "name": "announced"}
    with Receiver() as receiver:
        endpoint, receiver.secret = add_endpoint(engine, "org-b", receiver.url)
        with platform.client("b") as b:
            submitted = b.post("/v1/jobs", json=spec).json()
            with DagsterInstance.ephemeral() as instance:
                job_id, run = materialize_job(spec, platform.jobs_url, platform.warehouse_root, instance, control_url=platform.control_url)
            assert run.success and job_id == submitted["job_id"]
            assert b.get(f"/v1/jobs/{job_id}").json()["status"] in ("complete", "partial")
            usage = b.get("/v1/usage", params={"start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}).json()
        report = deliver_due(engine)
    [line] = [j for j in usage["jobs"] if j["job_id"] == job_id]
    assert 0 < line["charged_credits"] <= line["quoted_credits"] == submitted["quote"]["credits"]
    assert line["cpu_seconds"] > 0 and line["bar_steps"] == submitted["quote"]["bar_steps"]
    assert report.delivered >= 1
    [request] = [r for r in receiver.requests if json.loads(r.body)["data"]["job_id"] == job_id]
    assert request.refusal is None and request.status == 204
    event = json.loads(request.body)
    assert event["type"] == "job.completed" and event["data"]["status"] in ("complete", "partial")
    engine.dispose()
