"""Compute credits: a deterministic quote, admission against frequency limits (correct under concurrent
submissions) and budgets, the charge after the run, and the usage statement."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bx_platform.control import (
    Admission,
    Capabilities,
    Refusal,
    admit_submission,
    authenticate,
    balance,
    create_key,
    create_organization,
    grant_credits,
    open_engine,
    quote_credits,
    quote_job,
    record_usage,
    usage_statement,
)
from bx_platform.control.store import rate_events, usage_ledger
from bx_platform_tests.control.conftest import spec_for

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_the_quote_is_the_documented_formula():
    quote = quote_job(spec_for("acme"))  # 240 hourly bars, 1 market, 1 strategy, 4 sessions
    assert (quote.bars, quote.market_bars, quote.bar_steps, quote.decisions) == (240, 240, 240, 240)
    # 7 credits base + 20 ucr x 240 market-bars + 20 ucr x 240 bar-steps + 50 ucr x 240 decisions + 10000 ucr x 4
    assert quote.millicredits == -(-(7_000_000 + 20 * 240 + 20 * 240 + 50 * 240 + 10_000 * 4) // 1000) == 7062


def test_the_quote_reads_the_decision_cadence_when_the_spec_has_one():
    spec = spec_for("acme")
    fields = {name: getattr(spec, name) for name in ("markets", "strategies", "sessions", "bar_steps")}
    sparse = quote_job(SimpleNamespace(**fields, decision_every=24))
    assert sparse.decisions == 10 and sparse.millicredits < quote_job(spec).millicredits


def test_the_quote_is_the_same_in_another_process():
    spec = spec_for("acme", markets=[{"venue": "bitstamp", "symbol": "BTC/USD"}, {"venue": "bitstamp", "symbol": "ETH/USD"}])
    code = (
        "import json, sys; from bx_platform.jobs.spec import parse_spec; from bx_platform.control import quote_job; "
        "print(json.dumps(quote_job(parse_spec(json.loads(sys.argv[1]))).to_dict(), sort_keys=True))"
    )
    other = subprocess.run([sys.executable, "-c", code, spec.canonical_json()], capture_output=True, text=True, check=True)
    assert json.loads(other.stdout) == quote_job(spec).to_dict()


@settings(max_examples=200, deadline=None)
@given(
    markets=st.integers(1, 20), strategies=st.integers(1, 20), bars=st.integers(0, 10**6),
    sessions=st.integers(1, 52), scenarios=st.integers(1, 11), every=st.integers(1, 100),
)
def test_the_quote_grows_with_every_quantity_of_work(markets, strategies, bars, sessions, scenarios, every):
    quote = quote_credits(markets, strategies, bars, sessions, scenarios, every)
    assert quote == quote_credits(markets, strategies, bars, sessions, scenarios, every)
    assert quote.millicredits >= 7000
    for more in (
        quote_credits(markets + 1, strategies, bars, sessions, scenarios, every),
        quote_credits(markets, strategies + 1, bars, sessions, scenarios, every),
        quote_credits(markets, strategies, bars + every, sessions, scenarios, every),
        quote_credits(markets, strategies, bars, sessions, scenarios + 1, every),
    ):
        assert more.millicredits >= quote.millicredits
    assert quote_credits(markets, strategies, bars, sessions, scenarios, every + 1).millicredits <= quote.millicredits


def test_admission_holds_the_quote_and_closing_charges_the_usage(engine, acme):
    spec = spec_for("acme")
    admission = admit_submission(engine, acme, spec, now=T0)
    quote = quote_job(spec)
    assert isinstance(admission, Admission) and admission.job_id == spec.job_id
    assert admission.balance_millicredits == balance(engine, "acme") == 1_000_000 - quote.millicredits
    again = admit_submission(engine, acme, spec, now=T0 + timedelta(minutes=1))
    assert again.already_admitted and balance(engine, "acme") == admission.balance_millicredits  # counted once

    usage = record_usage(engine, spec.job_id, cpu_seconds=3.25, bar_steps=120, at=T0 + timedelta(minutes=5))
    assert usage.quoted_millicredits == quote.millicredits
    assert 7000 < usage.charged_millicredits < quote.millicredits  # half the bar-steps: the base and half the rest
    assert record_usage(engine, spec.job_id, cpu_seconds=99, bar_steps=240) == usage  # closing is idempotent
    assert balance(engine, "acme") == 1_000_000 - usage.charged_millicredits
    assert record_usage(engine, "job-never-admitted", 1.0, 10) is None

    statement = usage_statement(engine, "acme", T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert statement.charged == usage.charged_millicredits / 1000 and statement.held == 0
    assert (statement.cpu_seconds, statement.bar_steps) == (3.25, 120)
    assert [job.job_id for job in statement.jobs] == [spec.job_id]
    assert statement.jobs[0].quoted_credits == quote.credits
    before_close = usage_statement(engine, "acme", T0 - timedelta(days=1), T0 + timedelta(minutes=1))
    assert before_close.held == quote.credits and before_close.charged == 0


def test_an_organization_over_budget_is_refused_with_the_quote_and_the_balance(engine):
    create_organization(engine, "small")
    grant_credits(engine, "small", 7.0)
    identity = authenticate(engine, create_key(engine, "small")[1])
    spec = spec_for("small")
    refusal = admit_submission(engine, identity, spec, now=T0)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.reason) == (403, "budget_exceeded")
    assert refusal.context["quote"]["credits"] == quote_job(spec).credits and refusal.context["balance"] == 7.0
    with engine.connect() as conn:  # nothing held, nothing counted
        assert conn.execute(sa.select(sa.func.count()).select_from(rate_events)).scalar_one() == 0
        assert conn.execute(sa.select(usage_ledger.c.kind)).scalars().all() == ["grant"]
    grant_credits(engine, "small", 1.0)
    assert isinstance(admit_submission(engine, identity, spec, now=T0), Admission)


def _distinct_specs(organization: str, n: int):
    return [spec_for(organization, name=f"job-{i}") for i in range(n)]


def test_the_key_frequency_limit_answers_429_with_the_seconds_until_a_slot_frees(engine):
    create_organization(engine, "acme")
    grant_credits(engine, "acme", 10_000)
    identity = authenticate(engine, create_key(engine, "acme", Capabilities(jobs_per_hour=3, jobs_per_day=4))[1])
    specs = _distinct_specs("acme", 6)
    for i, spec in enumerate(specs[:3]):
        assert isinstance(admit_submission(engine, identity, spec, now=T0 + timedelta(minutes=10 * i)), Admission)
    refusal = admit_submission(engine, identity, specs[3], now=T0 + timedelta(minutes=25))
    assert (refusal.status, refusal.reason, refusal.capability) == (429, "rate_limited", "jobs_per_hour")
    assert refusal.retry_after == 35 * 60  # the first admission (T0) leaves the hour at T0 + 60 min
    later = T0 + timedelta(minutes=25, seconds=refusal.retry_after)
    assert isinstance(admit_submission(engine, identity, specs[3], now=later), Admission)
    day_refusal = admit_submission(engine, identity, specs[4], now=T0 + timedelta(hours=3))
    assert (day_refusal.status, day_refusal.capability, day_refusal.retry_after) == (429, "jobs_per_day", 21 * 3600)


def test_the_organization_limit_counts_every_key(engine):
    create_organization(engine, "acme", jobs_per_hour=2)
    grant_credits(engine, "acme", 10_000)
    first, second = (authenticate(engine, create_key(engine, "acme")[1]) for _ in range(2))
    specs = _distinct_specs("acme", 3)
    assert isinstance(admit_submission(engine, first, specs[0], now=T0), Admission)
    assert isinstance(admit_submission(engine, second, specs[1], now=T0), Admission)
    refusal = admit_submission(engine, second, specs[2], now=T0 + timedelta(seconds=1))
    assert refusal.status == 429 and refusal.context["scope"] == "organization" and refusal.retry_after == 3599


def test_concurrent_submissions_from_threads_admit_exactly_the_limit(engine):
    create_organization(engine, "acme")
    grant_credits(engine, "acme", 10_000)
    identity = authenticate(engine, create_key(engine, "acme", Capabilities(jobs_per_hour=7))[1])
    outcomes = []
    barrier = threading.Barrier(20)

    def submit(spec):
        barrier.wait()
        outcomes.append(admit_submission(engine, identity, spec, now=T0))

    threads = [threading.Thread(target=submit, args=(spec,)) for spec in _distinct_specs("acme", 20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(o, Admission) for o in outcomes) == 7
    assert sorted({o.status for o in outcomes if isinstance(o, Refusal)}) == [429]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(rate_events)).scalar_one() == 7


def _submit_in_process(url: str, secret: str, names: list[str], start: threading.Barrier) -> list[str]:
    engine = open_engine(url)
    identity = authenticate(engine, secret)
    start.wait()
    results = []
    for name in names:
        outcome = admit_submission(engine, identity, spec_for("acme", name=name), now=T0)
        results.append("admitted" if isinstance(outcome, Admission) else f"{outcome.status}")
    engine.dispose()
    return results


def test_concurrent_submissions_from_processes_stay_within_the_budget_and_the_limit(engine, control_url):
    create_organization(engine, "acme", jobs_per_hour=9)
    quote = quote_job(spec_for("acme"))
    grant_credits(engine, "acme", 12 * quote.credits)  # room for 12 jobs; the hour allows 9
    secret = create_key(engine, "acme", Capabilities(jobs_per_hour=None, jobs_per_day=None))[1]
    engine.dispose()
    context = multiprocessing.get_context("fork")  # the children inherit the imports: fast
    with context.Manager() as manager:
        barrier = manager.Barrier(4)
        with context.Pool(4) as pool:
            batches = [[f"p{p}-{i}" for i in range(5)] for p in range(4)]
            results = pool.starmap(_submit_in_process, [(control_url, secret, names, barrier) for names in batches])
    flat = [r for batch in results for r in batch]
    assert flat.count("admitted") == 9 and flat.count("429") == 11
    assert balance(engine, "acme") == 12 * quote.millicredits - 9 * quote.millicredits
