"""Usage metering in compute credits: the quote before a run, admission against frequency limits and the
organization's budget, the charge after the run, and usage statements. The formula and its reasons are in
docs/api.md ("Compute credits").

Every movement of credits is a row of the append-only ledger, in integer millicredits (signed: grants add,
holds and charges spend): admitting a job holds its quote, closing it releases the hold and charges the
actual usage. The balance is the sum of an organization's rows, so no row is ever updated.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bx_platform.control.capabilities import KeyIdentity, Refusal, check_submission
from bx_platform.control.keys import require_organization
from bx_platform.control.store import rate_events, usage_ledger, utcnow, write_transaction
from bx_platform.errors import InputError

GRANT, HOLD, RELEASE, USAGE = "grant", "hold", "release", "usage"

# Rates in microcredits; one credit is about one CPU-second of the reference machine (docs/api.md).
JOB_BASE_UCR = 7_000_000  # staging, gates, scoring, storing and orchestration of one job
MARKET_BAR_UCR = 20  # reading and gating one bar of one market
BAR_STEP_UCR = 20  # simulating one bar of one market for one strategy, and its metrics
DECISION_UCR = 50  # one strategy decision (one call covering all the job's markets)
SESSION_EVALUATION_UCR = 10_000  # evaluating one strategy over one battle session

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class Quote:
    """The credits a job is quoted, and the quantities they were computed from."""

    millicredits: int
    markets: int
    strategies: int
    bars: int
    sessions: int
    scenarios: int
    decision_every: int
    market_bars: int
    bar_steps: int
    decisions: int

    @property
    def credits(self) -> float:
        return self.millicredits / 1000

    def to_dict(self) -> dict[str, Any]:
        return {"credits": self.credits, **asdict(self)}


def quote_credits(
    markets: int, strategies: int, bars: int, sessions: int = 1, scenarios: int = 1, decision_every: int = 1
) -> Quote:
    """The credit price of a run: integer arithmetic, so the same inputs give the same quote everywhere.

    market_bars = bars x markets x scenarios (data depth read and gated), bar_steps = market_bars x
    strategies (simulated), decisions = ceil(bars / decision_every) x strategies x scenarios (strategy calls).
    """
    if min(markets, strategies, sessions, scenarios, decision_every) < 1 or bars < 0:
        raise InputError("quote", "markets, strategies, sessions, scenarios and decision_every must be >= 1, bars >= 0")
    market_bars = bars * markets * scenarios
    bar_steps = market_bars * strategies
    decisions = -(-bars // decision_every) * strategies * scenarios
    microcredits = (
        JOB_BASE_UCR
        + MARKET_BAR_UCR * market_bars
        + BAR_STEP_UCR * bar_steps
        + DECISION_UCR * decisions
        + SESSION_EVALUATION_UCR * strategies * sessions * scenarios
    )
    return Quote(
        millicredits=-(-microcredits // 1000),
        markets=markets,
        strategies=strategies,
        bars=bars,
        sessions=sessions,
        scenarios=scenarios,
        decision_every=decision_every,
        market_bars=market_bars,
        bar_steps=bar_steps,
        decisions=decisions,
    )


def quote_job(spec: Any) -> Quote:
    """The quote of a job spec (`JobSpec`, or anything with its fields): one scenario per run of the room (the
    real window; a private evaluation adds its eleven hidden scenarios)."""
    bars = spec.bar_steps() // (len(spec.markets) * len(spec.strategies))
    return quote_credits(
        markets=len(spec.markets),
        strategies=len(spec.strategies),
        bars=bars,
        sessions=spec.sessions,
        scenarios=getattr(spec, "runs", 1),  # a private evaluation runs the window and its hidden scenarios
        decision_every=getattr(spec, "decision_every", 1),
    )


def actual_charge(quote: Quote, bar_steps: int) -> int:
    """Millicredits charged after a run: the quote's variable part scaled by the bar-steps actually run,
    never more than the quote (a run cut short pays for what it did; the base is always due)."""
    base = -(-JOB_BASE_UCR // 1000)
    if quote.bar_steps == 0:
        return quote.millicredits
    done = min(max(bar_steps, 0), quote.bar_steps)
    return base + (quote.millicredits - base) * done // quote.bar_steps


@dataclass(frozen=True)
class Admission:
    """A job admitted for an organization: its quote held against the balance (`balance` is after the hold)."""

    job_id: str
    organization: str
    quote: Quote
    balance_millicredits: int
    already_admitted: bool = False


def grant_credits(engine: sa.Engine, organization: str, credits: float, note: str = "", at: datetime | None = None) -> int:
    """Add credits to an organization's budget (negative for a correction); returns the new balance in millicredits."""
    millicredits = round(credits * 1000)
    with write_transaction(engine, organization) as conn:
        require_organization(conn, organization)
        conn.execute(
            usage_ledger.insert().values(
                organization=organization,
                at=at or utcnow(),
                kind=GRANT,
                millicredits=millicredits,
                detail_json=json.dumps({"note": note}) if note else None,
            )
        )
        return _balance(conn, organization)


def balance(engine: sa.Engine, organization: str) -> int:
    """The organization's balance in millicredits (grants minus holds of running jobs and charges)."""
    with engine.connect() as conn:
        return _balance(conn, organization)


def _balance(conn: sa.Connection, organization: str, before: datetime | None = None) -> int:
    query = sa.select(sa.func.coalesce(sa.func.sum(usage_ledger.c.millicredits), 0)).where(
        usage_ledger.c.organization == organization
    )
    if before is not None:
        query = query.where(usage_ledger.c.at < before)
    return int(conn.execute(query).scalar_one())


def admit_submission(
    engine: sa.Engine, identity: KeyIdentity, spec: Any, job_id: str | None = None, now: datetime | None = None
) -> Admission | Refusal:
    """Admit a job for the key's organization, or refuse it before anything runs.

    In order: the capability checks, then (serialized per organization, see `write_transaction`) the
    frequency limits of the key and of the organization (429 with the seconds until a slot frees), then the
    budget (403 `budget_exceeded` with the quote and the balance); an admitted job is counted and its quote
    held. Admitting the same job again returns its first admission and counts nothing.
    """
    refusal = check_submission(identity, spec)
    if refusal:
        return refusal
    now = now or utcnow()
    job_id = job_id or spec.job_id
    quote = quote_job(spec)
    with write_transaction(engine, identity.organization) as conn:
        org = require_organization(conn, identity.organization)
        if _ledger_entry(conn, job_id, HOLD) is not None:
            return Admission(job_id, identity.organization, quote, _balance(conn, identity.organization), already_admitted=True)
        refusal = _frequency_refusal(conn, identity, org, now)
        if refusal:
            return refusal
        available = _balance(conn, identity.organization)
        if quote.millicredits > available:
            return Refusal(
                403,
                "budget_exceeded",
                f"the job is quoted {quote.credits:g} credits and the organization's balance is {available / 1000:g}",
                context={"quote": quote.to_dict(), "balance": available / 1000},
            )
        conn.execute(rate_events.insert().values(organization=identity.organization, key_id=identity.key_id, at=now, job_id=job_id))
        conn.execute(
            usage_ledger.insert().values(
                organization=identity.organization,
                at=now,
                kind=HOLD,
                millicredits=-quote.millicredits,
                job_id=job_id,
                key_id=identity.key_id,
                bar_steps=quote.bar_steps,
                detail_json=json.dumps(quote.to_dict(), sort_keys=True),
            )
        )
        return Admission(job_id, identity.organization, quote, available - quote.millicredits)


def _frequency_refusal(conn: sa.Connection, identity: KeyIdentity, org: sa.RowMapping, now: datetime) -> Refusal | None:
    caps = identity.capabilities
    limits = (
        ("key", rate_events.c.key_id, identity.key_id, caps.jobs_per_hour, HOUR),
        ("key", rate_events.c.key_id, identity.key_id, caps.jobs_per_day, DAY),
        ("organization", rate_events.c.organization, identity.organization, org["jobs_per_hour"], HOUR),
        ("organization", rate_events.c.organization, identity.organization, org["jobs_per_day"], DAY),
    )
    for scope, column, value, limit, window in limits:
        if limit is None:
            continue
        recent = sa.select(rate_events.c.at).where(column == value, rate_events.c.at > now - window)
        count = conn.execute(sa.select(sa.func.count()).select_from(recent.subquery())).scalar_one()
        if count < limit:
            continue
        # The slot frees when the (count - limit + 1)-th oldest admission in the window leaves it.
        freeing = conn.execute(recent.order_by(rate_events.c.at).offset(count - limit).limit(1)).scalar()
        wait = (freeing + window - now).total_seconds() if freeing else window.total_seconds()
        per = "hour" if window == HOUR else "day"
        return Refusal(
            429,
            "rate_limited",
            f"the {scope}'s limit of {limit} jobs per {per} is reached",
            capability=f"jobs_per_{per}",
            retry_after=max(1, math.ceil(wait)),
            context={"scope": scope, "limit": limit, "window": per},
        )
    return None


def _ledger_entry(conn: sa.Connection, job_id: str, kind: str) -> sa.RowMapping | None:
    return conn.execute(
        sa.select(usage_ledger).where(usage_ledger.c.job_id == job_id, usage_ledger.c.kind == kind)
    ).mappings().first()


@dataclass(frozen=True)
class Usage:
    job_id: str
    organization: str
    quoted_millicredits: int
    charged_millicredits: int
    cpu_seconds: float
    bar_steps: int


def record_usage(
    engine: sa.Engine, job_id: str, cpu_seconds: float, bar_steps: int, at: datetime | None = None
) -> Usage | None:
    """Close an admitted job's metering: release its hold and charge what it used (idempotent).

    None for a job that was never admitted through `admit_submission` (an operator's local run): there is
    no quote and no organization budget to charge it to.
    """
    with engine.connect() as conn:
        hold = _ledger_entry(conn, job_id, HOLD)
    if hold is None:
        return None
    organization = hold["organization"]
    quote = Quote(**{k: v for k, v in json.loads(hold["detail_json"]).items() if k != "credits"})
    with write_transaction(engine, organization) as conn:
        charged = _ledger_entry(conn, job_id, USAGE)
        if charged is None:
            at = at or utcnow()
            charge = actual_charge(quote, bar_steps)
            common = {"organization": organization, "at": at, "job_id": job_id, "key_id": hold["key_id"]}
            conn.execute(usage_ledger.insert().values(kind=RELEASE, millicredits=quote.millicredits, **common))
            conn.execute(
                usage_ledger.insert().values(
                    kind=USAGE, millicredits=-charge, cpu_seconds=float(cpu_seconds), bar_steps=int(bar_steps), **common
                )
            )
            charged = _ledger_entry(conn, job_id, USAGE)
    return Usage(
        job_id=job_id,
        organization=organization,
        quoted_millicredits=quote.millicredits,
        charged_millicredits=-charged["millicredits"],
        cpu_seconds=charged["cpu_seconds"],
        bar_steps=charged["bar_steps"],
    )


@dataclass
class JobUsage:
    job_id: str
    admitted_at: str | None = None
    closed_at: str | None = None
    quoted_credits: float = 0.0
    charged_credits: float = 0.0
    cpu_seconds: float = 0.0
    bar_steps: int = 0


@dataclass
class UsageStatement:
    """An organization's credits over [start, end): balances at both ends, movements and per-job usage."""

    organization: str
    start: str
    end: str
    opening_balance: float
    closing_balance: float
    granted: float
    charged: float
    held: float  # quotes of jobs admitted and not yet closed at the end of the period
    cpu_seconds: float
    bar_steps: int
    jobs: list[JobUsage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def usage_statement(engine: sa.Engine, organization: str, start: datetime, end: datetime) -> UsageStatement:
    with engine.connect() as conn:
        require_organization(conn, organization)
        opening, closing = _balance(conn, organization, before=start), _balance(conn, organization, before=end)
        outstanding_holds = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(usage_ledger.c.millicredits), 0)).where(
                usage_ledger.c.organization == organization,
                usage_ledger.c.kind.in_((HOLD, RELEASE)),
                usage_ledger.c.at < end,
            )
        ).scalar_one()
        rows = conn.execute(
            sa.select(usage_ledger)
            .where(usage_ledger.c.organization == organization, usage_ledger.c.at >= start, usage_ledger.c.at < end)
            .order_by(usage_ledger.c.entry_id)
        ).mappings().all()
    totals = {GRANT: 0, HOLD: 0, RELEASE: 0, USAGE: 0}  # movements within the period
    jobs: dict[str, JobUsage] = {}
    for row in rows:
        totals[row["kind"]] += row["millicredits"]
        if row["job_id"] is None:
            continue
        job = jobs.setdefault(row["job_id"], JobUsage(row["job_id"]))
        if row["kind"] == HOLD:
            job.admitted_at, job.quoted_credits = row["at"].isoformat(), -row["millicredits"] / 1000
        elif row["kind"] == USAGE:
            job.closed_at, job.charged_credits = row["at"].isoformat(), -row["millicredits"] / 1000
            job.cpu_seconds, job.bar_steps = row["cpu_seconds"], row["bar_steps"]
    return UsageStatement(
        organization=organization,
        start=start.isoformat(),
        end=end.isoformat(),
        opening_balance=opening / 1000,
        closing_balance=closing / 1000,
        granted=totals[GRANT] / 1000,
        charged=-totals[USAGE] / 1000,
        held=-int(outstanding_holds) / 1000,
        cpu_seconds=sum(job.cpu_seconds for job in jobs.values()),
        bar_steps=sum(job.bar_steps for job in jobs.values()),
        jobs=list(jobs.values()),
    )
