"""Operator commands for jobs whose run died: `bx recover` and `bx rerun` (docs/architecture.md, "Never stuck")."""

from __future__ import annotations

import argparse
import sys

from bx_platform.room_view import print_outcome


def add_recovery_commands(sub: argparse._SubParsersAction) -> None:
    """Add `bx recover` and `bx rerun` to `bx`'s subcommands."""
    recover = sub.add_parser(
        "recover", help="end, failed with the reason, every claimed job whose worker died or went silent",
    )
    recover.set_defaults(func=cmd_recover)

    rerun = sub.add_parser(
        "rerun", help="start a new attempt of a failed job (a new job id and new files; the decision is recorded)",
    )
    rerun.add_argument("job_id", metavar="JOB_ID")
    rerun.add_argument("--reason", required=True, help="why it is run again (kept in the new attempt's record)")
    rerun.add_argument("--now", action="store_true", help="run the attempt in this process, as `bx run` does")
    rerun.add_argument("--json", action="store_true", help="print the attempt (with --now: its result document) as JSON")
    rerun.set_defaults(func=cmd_rerun)


def end_lapsed_claims_now(jobs) -> list:
    """End the lapsed claims of this job store (opening the stores only when some job is claimed at all)."""
    if not jobs.claims():
        return []
    from bx_platform.control.store import open_engine
    from bx_platform.pipeline.recovery import end_lapsed_claims
    from bx_platform.warehouse.store import Warehouse

    control = open_engine()
    try:
        ended = end_lapsed_claims(jobs, Warehouse().ensure(), control)
    finally:
        control.dispose()
    for job in ended:
        print(f"{job.job_id} failed: {job.reason}", file=sys.stderr)
    if ended:  # Dagster's record of their runs says so too (imported only then: `bx jobs` stays quick)
        from bx_platform.defs.claims import fail_runs_of_ended_jobs
        from bx_platform.defs.instance import dagster_instance

        fail_runs_of_ended_jobs(dagster_instance(), ended)
    return ended


def cmd_recover(args) -> int:
    from bx_platform.jobs.store import JobStore

    jobs = JobStore()
    try:
        ended = end_lapsed_claims_now(jobs)
    finally:
        jobs.dispose()
    print(f"{len(ended)} job(s) ended failed" if ended else "no claimed job has lost its worker")
    return 0


def cmd_rerun(args) -> int:
    from bx_platform.control.store import open_engine
    from bx_platform.jobs.store import JobStore
    from bx_platform.pipeline.recovery import rerun

    jobs, control = JobStore(), open_engine()
    try:
        end_lapsed_claims_now(jobs)
        record = rerun(jobs, args.job_id, args.reason, control)
    finally:
        jobs.dispose()
        control.dispose()
    attempt = record["attempt"]
    if args.json and not args.now:
        from bx_platform.terminal import print_json

        print_json({"job_id": record["job_id"], "attempt": attempt})
        return 0
    if not args.json:
        print(record["job_id"])
    print(
        f"attempt {attempt['number']} of {attempt['of']} registered by {attempt['requested_by']}: {attempt['reason']}",
        file=sys.stderr,
    )
    if not args.now:
        return 0
    from bx_platform.defs.runner import run_submitted
    from bx_platform.terminal import ProgressLines

    return print_outcome(run_submitted(record["job_id"], progress=ProgressLines()), args.json)
