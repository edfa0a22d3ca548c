"""200 concurrent submissions over HTTP, some identical: each distinct spec is exactly one job, and every
identical submission gets that job back."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from bx_platform.jobs.store import JobStore
from bx_platform_tests.api.test_jobs_api import DAILY_JOB

CLIENTS, DISTINCT = 200, 50


def test_two_hundred_concurrent_submissions(platform):
    specs = [{**DAILY_JOB, "name": f"concurrent-{i % DISTINCT}"} for i in range(CLIENTS)]

    def submit(spec):
        with httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {platform.keys['a']}"}, timeout=120) as client:
            response = client.post("/v1/jobs", json=spec)
        return spec["name"], response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(submit, specs))

    assert Counter(status for _, status, _ in answers) == {201: DISTINCT, 200: CLIENTS - DISTINCT}, answers[:3]
    job_of = {}
    for name, _, body in answers:
        assert job_of.setdefault(name, body["job_id"]) == body["job_id"]  # identical specs, one job
    assert len(set(job_of.values())) == DISTINCT
    store = JobStore(platform.jobs_url)
    stored = {job.job_id for job in store.list_jobs(organization="org-a", limit=1000) if job.record["spec"]["name"].startswith("concurrent-")}
    store.dispose()
    assert stored == set(job_of.values())
