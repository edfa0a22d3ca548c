"""The job store: a job is inserted once and claimed once, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import threading

import pytest

from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import submit
from bx_platform_tests.jobs.test_spec import BASE


def _store(kind, tmp_path, request) -> JobStore:
    if kind == "sqlite":
        return JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    return JobStore(request.getfixturevalue("pg_database"))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_submit_is_idempotent_and_claim_happens_once(kind, tmp_path, request):
    store = _store(kind, tmp_path, request)
    spec = parse_spec(BASE)
    record, created = submit(spec, store)
    again, created_again = submit(spec, store)
    assert created and not created_again and again == record
    assert record["pinned"]["trials"]["n"] == 1

    winners = []

    def claim(name):
        if store.claim(spec.job_id, name):
            winners.append(name)

    threads = [threading.Thread(target=claim, args=(f"claimant-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert store.pending() == []
    assert submit(spec, store)[1] is False  # resubmitting a claimed job does not reopen it
    assert store.get(spec.job_id).status == "claimed"
    store.dispose()


def test_trials_are_pinned_from_the_organizations_history(tmp_path):
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
    first, _ = submit(parse_spec(BASE), store)
    ppy = first["pinned"]["trials"]["periods_per_year"]
    store.record_evaluations(first["job_id"], "acme", {"bx/sma-trend": 0.01}, ppy)
    second, _ = submit(parse_spec({**BASE, "strategies": ["bx/momentum", "bx/mean-reversion"]}), store)
    # one earlier Sharpe ratio has no variance: the documented prior deflates the second job
    assert second["pinned"]["trials"]["n"] == 3
    assert second["pinned"]["trials"]["variance_source"] == "prior"
    store.record_evaluations(second["job_id"], "acme", {"bx/momentum": 0.03, "bx/mean-reversion": -0.01}, ppy)
    third, _ = submit(parse_spec({**BASE, "strategies": ["bx/buy-and-hold"]}), store)
    assert third["pinned"]["trials"]["n"] == 4
    # the sample variance 0.0004 is above the prior 1/ppy at these hourly bars
    assert third["pinned"]["trials"]["sharpe_variance"] == pytest.approx(0.0004)
    assert third["pinned"]["trials"]["variance_source"] == "history"
    store.dispose()
