"""The `bx` command: `bx_platform.cli.main` with two things only a process of its own can do.

- A command that runs jobs in this process (`bx run`, `bx demo`) starts its helper process first, before the
  command line is even parsed: the helper's imports (bx_platform/helper_process.py) then overlap all of ours.
- The exit skips Python's teardown of every module a run imports (Dagster, arch, great_expectations...), which
  takes 1–2 s and does nothing we need: by then the stores have committed, the exit handlers run here, other
  threads are joined and the output is flushed.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import nullcontext

RUNS_JOBS = ("run", "demo")
# what a run's helper prepares, in the order the run needs it: the gates first, then the statistical tiers and the
# report (with the modules of the functions it is handed, which the first call would import otherwise)
FIRST = ("great_expectations", "bx_platform.defs.quality")
LATER = (
    "arch.bootstrap", "bx_platform.scoring.tiers", "bx_platform.pipeline.reports", "bx_platform.reports.job_report",
    "bx_platform.reports.charts:start_renderer",
)


def console() -> None:
    helper = nullcontext()
    if sys.argv[1:2] and sys.argv[1] in RUNS_JOBS:
        from bx_platform.helper_process import helper_process

        helper = helper_process(FIRST, LATER)
    with helper:
        from bx_platform.cli import main

        code = main()
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code or 0)
