"""`bx report JOB_ID [--output FILE]`: a job's self-contained HTML report (docs/reports.md)."""

from __future__ import annotations

from pathlib import Path

from bx_platform.errors import InputError


def cmd_report(args) -> int:
    from bx_platform.jobs.store import JobStore
    from bx_platform.pipeline.reports import write_job_report
    from bx_platform.warehouse.store import Warehouse

    output = Path(args.output) if args.output else None
    if output and not output.parent.is_dir():
        raise InputError("--output", f"{output.parent} is not a folder")
    stored = JobStore().existing(args.job_id)
    path = write_job_report(args.job_id, Warehouse())
    if path is None:
        raise InputError("JOB_ID", f"{args.job_id} has no result yet ({stored.state}): its report is written when it finishes")
    if output:
        output.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    print(output or path)
    return 0


def add_report_commands(subparsers) -> None:
    report = subparsers.add_parser("report", help="write a job's self-contained HTML report and print its path")
    report.add_argument("job_id", metavar="JOB_ID")
    report.add_argument("--output", metavar="FILE", help="also write it to FILE (default: only warehouse/reports/JOB_ID.html)")
    report.set_defaults(func=cmd_report)
