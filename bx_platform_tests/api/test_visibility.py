"""Visibility, enforced on every route: organization B gets 404 for everything of A's private job, and no
public response carries order-level data, strategy parameters or endpoints."""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance
from fastapi.routing import APIRoute

from bx_platform.api.app import build_app
from bx_platform.api.openapi import openapi_document
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job

# Keys that would carry strategy internals, or be a column of order-level rows; none may appear in what another
# organization reads. (Aggregates may be named after orders: `"fills": 7` in an execution summary is a count.)
FORBIDDEN_KEYS = {"qty", "quantity", "side", "endpoint", "url", "parameters", "params", "credentials", "code", "token"}
ORDER_LEVEL = {"fills", "orders", "order", "trades"}


@pytest.fixture(scope="module")
def jobs(platform):
    """A private job of org-a and a public job of org-b, both submitted over HTTP and run through Dagster."""
    ids = {}
    for key, organization, visibility in (("a", "org-a", "private"), ("b", "org-b", "public")):
        spec = {**SMALL_JOB, "organization": organization, "visibility": visibility, "name": f"{visibility}-room"}
        with platform.client(key) as client:
            submitted = client.post("/v1/jobs", json=spec)
            assert submitted.status_code == 201, submitted.text
        with DagsterInstance.ephemeral() as instance:
            job_id, run = materialize_job(spec, platform.jobs_url, platform.warehouse_root, instance, control_url=platform.control_url)
        assert run.success and job_id == submitted.json()["job_id"]
        ids[visibility] = job_id
    return ids


def _concrete(path: str, job_id: str) -> str:
    return path.replace("{job_id}", job_id).replace("{contest}", "any-contest")


def _keys(value) -> set[str]:
    """Every key in a JSON value; an order-level name holding rows (a list) counts as forbidden."""
    if isinstance(value, dict):
        rows = {k for k, v in value.items() if k in ORDER_LEVEL and isinstance(v, list)}
        return set(value) | {f"{k}[rows]" for k in rows} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _refs(value) -> set[str]:
    if isinstance(value, dict):
        return ({value["$ref"]} if "$ref" in value else set()) | {r for v in value.values() for r in _refs(v)}
    if isinstance(value, list):
        return {r for v in value for r in _refs(v)}
    return set()


def _leaks(value) -> set[str]:
    return {k for k in _keys(value) if k in FORBIDDEN_KEYS or k.endswith("[rows]")}


def test_every_route_hides_a_private_job_from_other_organizations(platform, jobs):
    private = jobs["private"]
    routes = [r for r in build_app().routes if isinstance(r, APIRoute)]
    assert {r.path for r in routes} >= {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result", "/v1/usage"}
    with platform.client("a") as owner, platform.client("b") as other:
        for route in routes:
            for method in route.methods:
                path = _concrete(route.path, private)
                params = {"start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"} if route.path == "/v1/usage" else None
                if method == "POST":
                    continue  # submission creates, it reads nothing of anyone's
                seen = other.request(method, path, params=params)
                if "{job_id}" in route.path:
                    assert seen.status_code == 404, (method, route.path, seen.text)
                    if route.path.startswith("/v1/jobs/"):  # leaderboards are public data only, even for the owner
                        assert owner.request(method, path).status_code == 200, (method, route.path)
                echoed = seen.text.replace(path, "")  # a problem's `instance` repeats the path the caller typed
                assert private not in echoed and "org-a" not in echoed, (method, route.path)
    with platform.client("b") as other:
        missing = other.get("/v1/jobs/job-000000000000000000000000")
        hidden = other.get(f"/v1/jobs/{private}")
        assert missing.json()["detail"] == hidden.json()["detail"]  # existence is not disclosed


def test_public_job_is_readable_by_others_without_order_level_data(platform, jobs):
    public = jobs["public"]
    with platform.client("a") as other:
        result = other.get(f"/v1/jobs/{public}/result")
        assert result.status_code == 200 and result.headers["etag"]
        assert other.get(f"/v1/jobs/{public}/result", headers={"If-None-Match": result.headers["etag"]}).status_code == 304
        room = other.get(f"/v1/leaderboards/rooms/{public}").json()["rows"]
        board = other.get("/v1/leaderboards/long-term").json()["rows"]
        assert {r["strategy"] for r in room} == set(SMALL_JOB["strategies"]) and board
        assert other.get(f"/v1/leaderboards/rooms/{jobs['private']}").status_code == 404
        for response in (result, other.get(f"/v1/jobs/{public}")):
            assert not _leaks(response.json()), response.url
        assert not _leaks(room) and not _leaks(board)


def test_no_response_model_declares_order_level_or_strategy_internal_fields():
    assert _leaks({"fills": [{"qty": 1.0, "side": "buy"}], "execution": {"fills": 7}}) == {"fills[rows]", "qty", "side"}
    document = openapi_document()
    schemas = document["components"]["schemas"]
    returned = {
        content["schema"]["$ref"].rsplit("/", 1)[1]
        for operations in document["paths"].values() for operation in operations.values()
        for response in operation["responses"].values() for content in response.get("content", {}).values()
        if "$ref" in content.get("schema", {})
    }
    assert {"JobStatus", "JobList", "SubmittedJob", "RegisteredStrategy", "Rows", "Problem"} <= returned
    referenced = returned | {ref.rsplit("/", 1)[1] for name in returned for ref in _refs(schemas[name])}
    properties = {prop for name in referenced for prop in schemas[name].get("properties", {})}
    assert not properties & (FORBIDDEN_KEYS | ORDER_LEVEL)
    assert json.dumps(document).count('"fills"') == 0


def test_report_goes_to_its_owner_only_and_public_pages_need_no_key(platform, jobs):
    private, public = jobs["private"], jobs["public"]
    with platform.client("a") as a, platform.client("b") as b, platform.client(None) as anyone:
        report = a.get(f"/v1/jobs/{private}/report")
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html") and private in report.text
        assert b.get(f"/v1/jobs/{public}/report").status_code == 200
        assert a.get(f"/v1/jobs/{public}/report").status_code == 404  # public job, but not a's: the report is its owner's
        assert anyone.get(f"/v1/jobs/{public}/report").status_code == 401
        board = anyone.get("/leaderboard")
        page = anyone.get("/leaderboard/strategies/bx/sma-trend")
        for response in (board, page):
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
            assert private not in response.text and "org-a" not in response.text and "private-room" not in response.text
        assert public in page.text and "No leagues yet" in board.text
        missing = anyone.get("/leaderboard/strategies/nobody/nothing")
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
