"""The job store: the control plane's record of submitted jobs (SQLite by default, PostgreSQL by URL).

A job is inserted once (its id is its spec's hash, so resubmitting is a no-op) and claimed once: the claim is
a conditional UPDATE, so whichever of `bx run`, the sensor or a second submission gets there first owns the
run and every other caller is told it was already claimed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from bx_platform.errors import InputError
from bx_platform.jobs.spec import JobSpec, canonical_json
from bx_platform.paths import store_url

_metadata = sa.MetaData()

jobs_table = sa.Table(
    "bx_jobs",
    _metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("organization", sa.String(200), nullable=False, index=True),
    sa.Column("record_json", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("submitted_at", sa.String(40), nullable=False),
    sa.Column("claimed_by", sa.String(200)),
    sa.Column("claimed_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("outcome", sa.String(20)),
)

# One row per strategy evaluated, kept to pin the DSR's trial count and Sharpe variance at submission.
evaluations_table = sa.Table(
    "bx_evaluations",
    _metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("strategy", sa.String(200), primary_key=True),
    sa.Column("organization", sa.String(200), nullable=False, index=True),
    sa.Column("sharpe_per_period", sa.Float),
    # the bar size of that Sharpe ratio, so a later job can convert it to its own (docs/scoring.md)
    sa.Column("periods_per_year", sa.Float),
)

# The lease of a claimed job: which process on which host runs it, in which step, and when it last said it is
# alive. Kept beside the job (not in bx_jobs) so stores created before it gain it with create_all.
leases_table = sa.Table(
    "bx_job_leases",
    _metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("step", sa.String(100), nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),  # seconds since the epoch
)

SUBMITTED, CLAIMED, FINISHED = "submitted", "claimed", "finished"
# What users see of a job: queued (submitted, unclaimed), running (claimed), then its outcome.
STATES = ("queued", "running", "complete", "partial", "failed")
_STATE_OF_STATUS = {SUBMITTED: "queued", CLAIMED: "running"}


def default_store_url() -> str:
    """BX_JOBSTORE_URL, default a SQLite file `jobs.sqlite` in BX_HOME."""
    return store_url("BX_JOBSTORE_URL", "jobs.sqlite")


@dataclass(frozen=True)
class StoredJob:
    job_id: str
    record: dict[str, Any]
    status: str
    outcome: str | None
    claimed_by: str | None = None
    submitted_at: str | None = None
    claimed_at: str | None = None
    finished_at: str | None = None

    @property
    def state(self) -> str:
        """queued, running, or the outcome (complete, partial, failed)."""
        return _STATE_OF_STATUS.get(self.status) or self.outcome or self.status

    @property
    def spec(self) -> JobSpec:
        return JobSpec.model_validate(self.record["spec"])


@dataclass(frozen=True)
class Lease:
    job_id: str
    host: str
    pid: int
    step: str
    heartbeat_at: float


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def create_tables(metadata: sa.MetaData, engine: sa.Engine) -> None:
    """Create the tables that are missing. Processes opening a fresh database at the same moment may all try;
    the losers' CREATE fails with "already exists", and then the tables are there: check once more."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except sa.exc.DBAPIError as error:
        if "already exists" not in str(error) and "duplicate key" not in str(error):
            raise
        metadata.create_all(engine, checkfirst=True)


class JobStore:
    def __init__(self, url: str | None = None):
        self.url = url or default_store_url()
        connect_args = {"timeout": 30} if self.url.startswith("sqlite") else {}
        # pre-ping: a connection the server dropped (a restart) is replaced before use instead of failing it
        self.engine = sa.create_engine(self.url, connect_args=connect_args, future=True, pool_pre_ping=True)
        create_tables(_metadata, self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def submit(self, record: dict[str, Any]) -> bool:
        """Insert the job record; False when the job already exists (it is then left untouched)."""
        row = {
            "job_id": record["job_id"],
            "organization": record["spec"]["organization"],
            "record_json": canonical_json(record),
            "status": SUBMITTED,
            "submitted_at": record["submitted_at"],
        }
        with self.engine.begin() as conn:
            exists = conn.execute(
                sa.select(jobs_table.c.job_id).where(jobs_table.c.job_id == row["job_id"])
            ).first()
            if exists:
                return False
            try:
                conn.execute(jobs_table.insert().values(**row))
            except sa.exc.IntegrityError:
                return False
        return True

    def get(self, job_id: str) -> StoredJob | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs_table).where(jobs_table.c.job_id == job_id)).mappings().first()
        return _stored(row) if row else None

    def existing(self, job_id: str) -> StoredJob:
        """The job a user named; an InputError naming JOB_ID when the store has no such job."""
        stored = self.get(job_id)
        if stored is None:
            raise InputError("JOB_ID", f"no job {job_id!r} in the job store")
        return stored

    def list_jobs(
        self, organization: str | None = None, state: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[StoredJob]:
        """Jobs newest first, optionally of one organization and in one state (see STATES)."""
        query = sa.select(jobs_table)
        if organization is not None:
            query = query.where(jobs_table.c.organization == organization)
        if state is not None:
            status = {v: k for k, v in _STATE_OF_STATUS.items()}.get(state, FINISHED)
            query = query.where(jobs_table.c.status == status)
            if status == FINISHED:
                query = query.where(jobs_table.c.outcome == state)
        query = query.order_by(jobs_table.c.submitted_at.desc(), jobs_table.c.job_id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query).mappings()]

    def pending(self) -> list[StoredJob]:
        """Submitted and not yet claimed, oldest first."""
        query = (
            sa.select(jobs_table)
            .where(jobs_table.c.status == SUBMITTED)
            .order_by(jobs_table.c.submitted_at, jobs_table.c.job_id)
        )
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query).mappings()]

    def claimed_unfinished(self, claimant: str) -> list[str]:
        """Ids of jobs this claimant claimed that have not finished, oldest first."""
        query = (
            sa.select(jobs_table.c.job_id)
            .where(jobs_table.c.status == CLAIMED, jobs_table.c.claimed_by == claimant)
            .order_by(jobs_table.c.claimed_at, jobs_table.c.job_id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def claim(self, job_id: str, claimant: str) -> bool:
        """Atomically move a job from submitted to claimed; True for exactly one caller."""
        with self.engine.begin() as conn:
            result = conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.status == SUBMITTED)
                .values(status=CLAIMED, claimed_by=claimant, claimed_at=_now())
            )
        return result.rowcount == 1

    def finish(self, job_id: str, outcome: str) -> bool:
        """Record the job's outcome; False (and nothing changed) when it had already finished: a job ends once."""
        with self.engine.begin() as conn:
            result = conn.execute(
                jobs_table.update()
                .where(jobs_table.c.job_id == job_id, jobs_table.c.status != FINISHED)
                .values(status=FINISHED, outcome=outcome, finished_at=_now())
            )
            conn.execute(leases_table.delete().where(leases_table.c.job_id == job_id))
        return result.rowcount == 1

    def hold(self, job_id: str, host: str, pid: int, step: str, at: float) -> bool:
        """Take or renew the lease of a claimed job for this process; False when the job is no longer claimed
        (it finished, or was ended because its lease had lapsed): its runner must stop."""
        with self.engine.begin() as conn:
            status = conn.execute(sa.select(jobs_table.c.status).where(jobs_table.c.job_id == job_id)).scalar()
            if status != CLAIMED:
                return False
            lease = {"host": host, "pid": pid, "step": step, "heartbeat_at": at}
            updated = conn.execute(leases_table.update().where(leases_table.c.job_id == job_id).values(**lease))
            if updated.rowcount == 0:
                conn.execute(leases_table.insert().values(job_id=job_id, **lease))
        return True

    def take_over(self, job_id: str, seen: Lease | None, host: str, pid: int, step: str, at: float) -> bool:
        """Compare-and-set: take the job's lease only if it is still the one `seen` (None: still no lease) and
        the job still claimed; True for exactly one of several callers."""
        lease = {"host": host, "pid": pid, "step": step, "heartbeat_at": at}
        with self.engine.begin() as conn:
            status = conn.execute(sa.select(jobs_table.c.status).where(jobs_table.c.job_id == job_id)).scalar()
            if status != CLAIMED:
                return False
            if seen is not None:
                updated = conn.execute(
                    leases_table.update()
                    .where(leases_table.c.job_id == job_id, leases_table.c.pid == seen.pid,
                           leases_table.c.host == seen.host, leases_table.c.heartbeat_at == seen.heartbeat_at)
                    .values(**lease)
                )
                return updated.rowcount == 1
        try:
            with self.engine.begin() as conn:
                conn.execute(leases_table.insert().values(job_id=job_id, **lease))
        except sa.exc.IntegrityError:
            return False
        return True

    def claims(self) -> list[tuple[StoredJob, Lease | None]]:
        """Every claimed, unfinished job with its lease (None: no process has taken it yet), oldest first."""
        query = (
            sa.select(jobs_table, leases_table.c.host, leases_table.c.pid, leases_table.c.step, leases_table.c.heartbeat_at)
            .outerjoin(leases_table, leases_table.c.job_id == jobs_table.c.job_id)
            .where(jobs_table.c.status == CLAIMED)
            .order_by(jobs_table.c.claimed_at, jobs_table.c.job_id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            (_stored(row), Lease(row["job_id"], row["host"], row["pid"], row["step"], row["heartbeat_at"]) if row["pid"] is not None else None)
            for row in rows
        ]

    def record_evaluations(self, job_id: str, organization: str, sharpes: dict[str, float], periods_per_year: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(evaluations_table.delete().where(evaluations_table.c.job_id == job_id))
            for strategy, sharpe in sorted(sharpes.items()):
                conn.execute(
                    evaluations_table.insert().values(
                        job_id=job_id, strategy=strategy, organization=organization, sharpe_per_period=sharpe,
                        periods_per_year=periods_per_year,
                    )
                )

    def trial_history(self, organization: str) -> tuple[int, list[tuple[float, float]]]:
        """Strategy evaluations the organization submitted so far, and the (per-period Sharpe ratio, periods per
        year of its bars) known for them. The organization is identified by its name until jobs carry an
        authenticated identity."""
        with self.engine.connect() as conn:
            records = conn.execute(
                sa.select(jobs_table.c.record_json).where(jobs_table.c.organization == organization)
            ).scalars()
            submitted = sum(len(json.loads(r)["spec"]["strategies"]) for r in records)
            sharpes = conn.execute(
                sa.select(evaluations_table.c.sharpe_per_period, evaluations_table.c.periods_per_year)
                .where(evaluations_table.c.organization == organization)
                .order_by(evaluations_table.c.job_id, evaluations_table.c.strategy)
            )
            known = [(float(s), float(p)) for s, p in sharpes if s is not None and p is not None]
        return submitted, known

def _stored(row) -> StoredJob:
    return StoredJob(
        job_id=row["job_id"],
        record=json.loads(row["record_json"]),
        status=row["status"],
        outcome=row["outcome"],
        claimed_by=row["claimed_by"],
        submitted_at=row["submitted_at"],
        claimed_at=row["claimed_at"],
        finished_at=row["finished_at"],
    )
