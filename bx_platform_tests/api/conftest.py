"""A real API server on 127.0.0.1 (uvicorn in a thread) over real stores, with two organizations and their keys."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from bx_platform.api.app import create_app
from bx_platform.control.capabilities import PRIVATE_EVALUATION, PUBLIC_BENCHMARK, Capabilities
from bx_platform.control.keys import create_key, create_organization, list_organizations
from bx_platform.control.metering import grant_credits
from bx_platform.control.store import open_engine


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a background thread."""

    def __init__(self, app):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the API server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Platform:
    url: str
    root: Path
    jobs_url: str
    control_url: str
    warehouse_root: Path
    keys: dict[str, str]  # name -> secret

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


ALL_JOB_TYPES = frozenset({PUBLIC_BENCHMARK, PRIVATE_EVALUATION})


def make_platform(root: Path, key_capabilities: dict[str, tuple[str, Capabilities]], credits: float = 1_000_000):
    """Stores under `root`, the organizations of the keys with `credits` each, and the keys."""
    jobs_url = f"sqlite:///{root / 'jobs.sqlite'}"
    control_url = f"sqlite:///{root / 'control.sqlite'}"
    engine = open_engine(control_url)
    keys = {}
    for name, (organization, capabilities) in key_capabilities.items():
        if organization not in list_organizations(engine):
            create_organization(engine, organization)
            grant_credits(engine, organization, credits)
        keys[name] = create_key(engine, organization, capabilities)[1]
    engine.dispose()
    return jobs_url, control_url, keys


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    root = tmp_path_factory.mktemp("api")
    everything = Capabilities(job_types=ALL_JOB_TYPES, finest_timeframe="1m", jobs_per_hour=None, jobs_per_day=None)
    jobs_url, control_url, keys = make_platform(
        root,
        {
            "a": ("org-a", everything),
            "b": ("org-b", everything),
            "daily-only": ("org-b", Capabilities(job_types=ALL_JOB_TYPES, finest_timeframe="1d")),
            "coinbase-only": ("org-b", Capabilities(job_types=ALL_JOB_TYPES, markets=("coinbase:*",), finest_timeframe="1m")),
            "two-per-hour": ("org-c", Capabilities(job_types=ALL_JOB_TYPES, jobs_per_hour=2)),
            "poor": ("org-poor", everything),
            "lab": ("org-lab", Capabilities(job_types=ALL_JOB_TYPES, finest_timeframe="1d", register_strategies=("org-lab/*",),
                                            use_strategies=("bx/*", "org-lab/*"))),
        },
    )
    engine = open_engine(control_url)
    grant_credits(engine, "org-poor", -999_999.99)  # leaves 0.01 credits
    engine.dispose()
    warehouse_root = root / "warehouse"
    app = create_app(jobs_url=jobs_url, control_url=control_url, warehouse_root=warehouse_root)
    with LiveServer(app) as url:
        yield Platform(url, root, jobs_url, control_url, warehouse_root, keys)
