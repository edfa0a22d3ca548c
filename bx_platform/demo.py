"""What `bx demo` runs besides the shipped example jobs: a job of the user's own strategies, registered the way
a client registers them (an approved package and a remote model), beside the built-in with the same rule."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

from bx_platform.jobs.store import JobStore
from bx_platform.paths import REPO_ROOT
from bx_platform.strategies.handles import HandleRegistry

OWN_STRATEGIES_JOB = REPO_ROOT / "data" / "jobs" / "own" / "05-own-strategies.yaml"
PRIVATE_EVALUATION_JOB = REPO_ROOT / "data" / "jobs" / "private" / "06-private-evaluation.yaml"
REMOTE_MODEL = REPO_ROOT / "examples" / "remote_model" / "server.py"
PACKAGE_HANDLE, REMOTE_HANDLE, ORGANIZATION = "bx-demo/sma-package", "bx-demo/sma-remote", "bx-demo"


@contextmanager
def example_remote_model(*options: str) -> Iterator[str]:
    """The example remote model in its own process on 127.0.0.1 (a free port), started with the server's
    `options` (e.g. `--vary`); yields its base URL."""
    process = subprocess.Popen([sys.executable, str(REMOTE_MODEL), "--port", "0", *options], stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the example remote model did not start: {line!r}")
        yield line.split()[-1]
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def register_own_strategies(endpoint: str) -> None:
    """`bx strategy register` for the demo organization: the example package and the running remote model."""
    store = JobStore()
    try:
        registry = HandleRegistry(store.engine)
        registry.register(PACKAGE_HANDLE, ORGANIZATION, package="sma-trend", visibility="approved")
        registry.register(REMOTE_HANDLE, ORGANIZATION, endpoint=endpoint, visibility="approved")
    finally:
        store.dispose()
