"""A finished public job (three strategies and the Benchmark Hold, run through Dagster) whose report and public
pages the tests read, and the Debian chromium the browser tests drive."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterInstance

from bx_platform.paths import REPO_ROOT
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job

REPORT_JOB = {**SMALL_JOB, "organization": "org-r", "visibility": "public", "strategies": ["bx/sma-trend", "bx/momentum", "bx/mean-reversion"]}
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


@dataclass
class FinishedJob:
    job_id: str
    run: object  # the ExecuteInProcessResult
    warehouse: Warehouse
    jobs_url: str
    root: Path


@pytest.fixture(scope="session")
def finished_job(tmp_path_factory) -> FinishedJob:
    root = tmp_path_factory.mktemp("reports")
    warehouse = Warehouse(root / "warehouse").ensure()
    jobs_url = f"sqlite:///{root / 'jobs.sqlite'}"
    with DagsterInstance.ephemeral() as instance:
        job_id, run = materialize_job(REPORT_JOB, jobs_url, warehouse.root, instance)
    assert run.success
    return FinishedJob(job_id, run, warehouse, jobs_url, root)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Debian chromium (`.ci/run` installs it). Skipped without it, except under CI=true: failed."""
    found = next((path for name in CHROMIUM_CANDIDATES if (path := shutil.which(name))), None)
    if found is None:
        message = "no chromium on PATH (Debian: apt-get install -y chromium; .ci/run installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the browser tests must run)")
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests save their screenshots: $BX_SCREENSHOT_DIR, default var/screenshots in the
    repository (ignored by git; pytest's own tmp folders are pruned by later runs)."""
    folder = Path(os.environ.get("BX_SCREENSHOT_DIR") or REPO_ROOT / "var" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
