"""Submitting a job on behalf of an authenticated caller (what `POST /v1/jobs` does).

Order matters, so that a refused job costs nothing and leaves nothing behind: the caller's capabilities
(pure), then admission against the archive and the registry (validation, nothing written), then the control
plane's frequency limits and budget (the quote is held), and only then the job record is stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bx_platform.control.capabilities import KeyIdentity, Refusal, check_submission
from bx_platform.control.metering import Admission, admit_submission
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import build_record
from bx_platform.pipeline.trail import record_submission


@dataclass(frozen=True)
class Submission:
    record: dict
    created: bool
    admission: Admission


def submit_for(
    identity: KeyIdentity, spec: JobSpec, jobs: JobStore, control: sa.Engine, archive_dir: Path | None = None
) -> Submission | Refusal:
    """Admit and store the caller's job, or say why not (`Refusal`; an invalid spec raises InputError).

    Idempotent: the same spec from the same organization is the same job, returned with `created` False,
    counted once against the limits and quoted once."""
    refusal = check_submission(identity, spec)
    if refusal:
        return refusal
    record = build_record(spec, jobs, archive_dir)
    admission = admit_submission(control, identity, spec, job_id=record["job_id"])
    if isinstance(admission, Refusal):
        return admission
    created = jobs.submit(record)
    if created:
        record_submission(control, record, identity.key_id, admission.quote.to_dict())
    return Submission(record if created else jobs.get(spec.job_id).record, created, admission)
