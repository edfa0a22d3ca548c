"""Submitting and reading jobs over HTTP: idempotency, problem details, capabilities, limits and budgets."""

from __future__ import annotations

import json

import yaml

DAILY_JOB = {
    "name": "bitstamp-btc-2018",
    "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}],
    "window": {"start": "2018-01-01", "end": "2019-01-01"},
    "timeframe": "1d",
    "strategies": ["bx/sma-trend"],
    "visibility": "private",
}


def _problem(response, status: int, reason: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["reason"] == reason and body["detail"] and body["type"].endswith(reason)
    return body


def test_without_a_key_or_with_a_wrong_one_is_401(platform):
    with platform.client(None) as anonymous:
        _problem(anonymous.get("/v1/jobs"), 401, "unauthenticated")
        response = anonymous.get("/v1/jobs", headers={"Authorization": "Bearer bxk_0000.not-a-key"})
        _problem(response, 401, "invalid_key")
        assert "Bearer" in response.headers["www-authenticate"]


def test_submit_is_idempotent_in_json_and_yaml(platform):
    with platform.client("a") as a:
        first = a.post("/v1/jobs", json=DAILY_JOB)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["job_id"].startswith("job-") and body["created"] and body["status"] == "queued"
        assert body["quote"]["credits"] > 0 and body["balance"] < 1_000_000
        again = a.post("/v1/jobs", content=yaml.safe_dump(DAILY_JOB), headers={"Content-Type": "application/yaml"})
        assert again.status_code == 200 and again.json()["job_id"] == body["job_id"] and not again.json()["created"]
        assert again.json()["balance"] == body["balance"]  # quoted once
        status = a.get(f"/v1/jobs/{body['job_id']}").json()
        assert status["organization"] == "org-a" and status["status"] == "queued" and status["submitted_at"]
        _problem(a.get(f"/v1/jobs/{body['job_id']}/result"), 409, "not_finished")


def test_an_api_submission_starts_the_trail_with_the_key_id_and_the_quote(platform):
    with platform.client("a") as a, platform.client("b") as b:
        body = a.post("/v1/jobs", json={**DAILY_JOB, "name": "audited"}).json()
        trail = a.get(f"/v1/jobs/{body['job_id']}/audit").json()
        submitted, admitted = (json.loads(e["event"]) for e in trail["events"])
        assert submitted["detail"]["submitted_by"] == platform.keys["a"].split(".")[0]  # the key id, never the secret
        assert admitted["detail"]["quote"]["credits"] == body["quote"]["credits"] and trail["intact"]
        assert platform.keys["a"] not in json.dumps(trail)
        _problem(b.get(f"/v1/jobs/{body['job_id']}/audit"), 404, "not_found")


def test_the_organization_comes_from_the_key(platform):
    with platform.client("a") as a:
        body = _problem(a.post("/v1/jobs", json={**DAILY_JOB, "organization": "org-b"}), 403, "organization_mismatch")
        assert "org-b" in body["detail"]
        assert a.post("/v1/jobs", json={**DAILY_JOB, "organization": "org-a"}).status_code in (200, 201)


def test_bad_bodies_are_problems_naming_the_field(platform):
    with platform.client("a") as a:
        body = _problem(a.post("/v1/jobs", json={**DAILY_JOB, "capital": {"initial": -5}}), 422, "invalid_spec")
        assert body["field"] == "capital.initial"
        body = _problem(a.post("/v1/jobs", json={**DAILY_JOB, "window": {"start": "2030-01-01", "end": "2031-01-01"}}), 422, "invalid_spec")
        assert body["field"] == "window" and "outside the data" in body["detail"]
        # capabilities are checked before the spec is admitted: a handle the key may not use is a 403
        body = _problem(a.post("/v1/jobs", json={**DAILY_JOB, "strategies": ["someone/secret"]}), 403, "strategy_not_allowed")
        assert body["capability"] == "use_strategy"
        _problem(a.post("/v1/jobs", content=b"{not json", headers={"Content-Type": "application/json"}), 400, "malformed_body")
        _problem(a.post("/v1/jobs", content=b"x" * 70_000, headers={"Content-Type": "application/json"}), 413, "spec_too_large")
        _problem(a.post("/v1/jobs", content=b"<job/>", headers={"Content-Type": "application/xml"}), 415, "unsupported_media_type")
        _problem(a.get("/v1/jobs", params={"status": "bogus"}), 422, "invalid_request")


def test_capabilities_name_what_is_missing(platform):
    with platform.client("daily-only") as daily:
        body = _problem(daily.post("/v1/jobs", json={**DAILY_JOB, "timeframe": "1h", "window": {"start": "2018-01-01", "end": "2018-03-01"}}), 403, "granularity_not_allowed")
        assert body["capability"] == "finest_timeframe"
    with platform.client("coinbase-only") as coinbase:
        body = _problem(coinbase.post("/v1/jobs", json=DAILY_JOB), 403, "market_not_allowed")
        assert body["capability"] == "market" and "bitstamp:BTC/USD" in body["detail"]


def test_frequency_limit_gives_429_with_retry_after(platform):
    with platform.client("two-per-hour") as client:
        for year in (2016, 2017):
            spec = {**DAILY_JOB, "window": {"start": f"{year}-01-01", "end": f"{year + 1}-01-01"}}
            assert client.post("/v1/jobs", json=spec).status_code == 201
        response = client.post("/v1/jobs", json=DAILY_JOB)
        body = _problem(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) == body["retry_after"] > 0


def test_over_budget_is_refused_before_anything_runs_with_quote_and_balance(platform):
    with platform.client("poor") as poor:
        body = _problem(poor.post("/v1/jobs", json=DAILY_JOB), 403, "budget_exceeded")
        assert body["quote"]["credits"] > body["balance"] >= 0
        assert poor.get("/v1/jobs").json()["jobs"] == []


def test_list_is_the_callers_own_paginated_and_filtered(platform):
    with platform.client("b") as b:
        ids = [b.post("/v1/jobs", json={**DAILY_JOB, "name": f"page-{i}"}).json()["job_id"] for i in range(3)]
        first = b.get("/v1/jobs", params={"limit": 2}).json()
        second = b.get("/v1/jobs", params={"limit": 2, "offset": first["next_offset"]}).json()
        listed = [job["job_id"] for job in first["jobs"] + second["jobs"]]
        assert set(ids) <= set(listed) and len(listed) == len(set(listed)) and second["next_offset"] is None
        assert {job["organization"] for job in first["jobs"] + second["jobs"]} == {"org-b"}
        assert b.get("/v1/jobs", params={"status": "complete"}).json()["jobs"] == []


def test_openapi_document_is_committed_and_served(platform):
    from bx_platform.api.openapi import OPENAPI_PATH

    with platform.client(None) as anonymous:
        served = anonymous.get("/openapi.json").json()
    assert served["openapi"].startswith("3.")
    committed = json.loads(OPENAPI_PATH.read_text())
    assert committed == served, "run `bx api --write-openapi` and commit bx_platform/api/openapi.json"


def test_bx_api_serves_the_committed_document(tmp_path):
    import socket
    import sys
    from pathlib import Path

    import httpx

    from bx_platform.api.openapi import OPENAPI_PATH
    from bx_platform_tests.defs.helpers import bx_env, start_group, stop_group, wait_for

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_group([str(Path(sys.executable).parent / "bx"), "api", "--port", str(port)], bx_env(tmp_path / "bx"), tmp_path / "api.log")
    try:
        def served():
            assert server.poll() is None, (tmp_path / "api.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).json()
            except httpx.TransportError:
                return None

        assert wait_for(served, timeout=60, what="bx api") == json.loads(OPENAPI_PATH.read_text())
        assert httpx.get(f"http://127.0.0.1:{port}/v1/jobs").status_code == 401
    finally:
        stop_group(server)


def test_the_body_is_read_as_strictly_as_a_spec_file(platform):
    with platform.client("a") as a:
        duplicated = b'{"timeframe": "1d", "timeframe": "1h"}'
        body = _problem(a.post("/v1/jobs", content=duplicated, headers={"Content-Type": "application/json"}), 400, "malformed_body")
        assert "timeframe" in body["field"] + body["detail"]
        infinite = yaml.safe_dump(DAILY_JOB).replace("timeframe: 1d", "timeframe: 1d\ncapital: {initial: .inf}")
        _problem(a.post("/v1/jobs", content=infinite, headers={"Content-Type": "application/yaml"}), 422, "invalid_spec")


def test_registering_a_remote_strategy_and_benchmarking_it(platform):
    from bx_platform_tests.strategies._support import remote_model

    with remote_model() as url, platform.client("lab") as lab, platform.client("a") as a:
        registration = {"handle": "org-lab/trend-model", "endpoint": url, "visibility": "private"}
        body = _problem(a.post("/v1/strategies", json={**registration, "handle": "org-a/x"}), 403, "strategy_registration_not_allowed")
        assert body["capability"] == "register_strategy"
        created = lab.post("/v1/strategies", json=registration)
        assert created.status_code == 201, created.text
        shown = created.json()
        assert shown["kind"] == "remote" and shown["revision"] == 1 and shown["version"]
        assert url not in created.text and url.split("//")[1] not in created.text
        job = lab.post("/v1/jobs", json={**DAILY_JOB, "strategies": ["bx/sma-trend", "org-lab/trend-model"]})
        assert job.status_code == 201, job.text
        _problem(a.post("/v1/jobs", json={**DAILY_JOB, "strategies": ["org-lab/trend-model"]}), 403, "strategy_not_allowed")
        _problem(lab.post("/v1/strategies", json={**registration, "handle": "org-a/stolen"}), 403, "strategy_registration_not_allowed")
        _problem(lab.post("/v1/strategies", json={**registration, "endpoint": None}), 422, "invalid_registration")
