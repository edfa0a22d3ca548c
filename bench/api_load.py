"""Load on the HTTP API: p50/p99 latency of submit, status and result under 200 concurrent clients on loopback,
requests per second, and whether any job was lost or duplicated.

The server is a real `bx api` process (uvicorn) on 127.0.0.1 over fresh SQLite stores; the clients are 200
asyncio tasks in this process (httpx). Submissions mix identical and distinct specs; afterwards the job store
is compared with what the clients were told. Then, when `wrk` is installed (Debian package `wrk`), 200
connections poll one job's status for 10 s: wrk is C, so the figures are the server's, not the Python client's.

    .venv/bin/python bench/api_load.py [--clients 200] [--rounds 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bx_platform.control.capabilities import PRIVATE_EVALUATION, PUBLIC_BENCHMARK, Capabilities  # noqa: E402
from bx_platform.control.keys import create_key, create_organization  # noqa: E402
from bx_platform.control.metering import grant_credits  # noqa: E402
from bx_platform.control.store import open_engine  # noqa: E402
from bx_platform.jobs.store import JobStore  # noqa: E402

SPEC = {
    "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}],
    "window": {"start": "2018-01-01", "end": "2019-01-01"},
    "timeframe": "1d",
    "strategies": ["bx/sma-trend"],
    "visibility": "private",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   n={len(ordered)}"


async def _timed(client: httpx.AsyncClient, method: str, path: str, **kwargs) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await client.request(method, path, **kwargs)
    return time.perf_counter() - started, response


async def _load(url: str, secret: str, clients: int, rounds: int, distinct: int) -> dict:
    headers = {"Authorization": f"Bearer {secret}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    timings: dict[str, list[float]] = {"submit": [], "status": [], "result": []}
    told: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(_timed(client, "POST", "/v1/jobs", json={**SPEC, "name": f"load-{i % distinct}"}) for i in range(clients))
        )
        for i, (seconds, response) in enumerate(answers):
            assert response.status_code in (200, 201), response.text
            timings["submit"].append(seconds)
            assert told.setdefault(f"load-{i % distinct}", response.json()["job_id"]) == response.json()["job_id"]
        ids = list(told.values())
        for _ in range(rounds):
            for kind, suffix in (("status", ""), ("result", "/result")):
                answers = await asyncio.gather(
                    *(_timed(client, "GET", f"/v1/jobs/{ids[i % len(ids)]}{suffix}") for i in range(clients))
                )
                for seconds, response in answers:
                    assert response.status_code in (200, 409), response.text  # 409: queued, no result yet
                    timings[kind].append(seconds)
        elapsed = time.perf_counter() - started
    requests = sum(len(v) for v in timings.values())
    return {"timings": timings, "told": told, "requests": requests, "elapsed": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--distinct", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "BX_HOME": home}
        env.pop("BX_JOBSTORE_URL", None), env.pop("BX_CONTROL_URL", None)
        control = open_engine(f"sqlite:///{home}/control.sqlite")
        create_organization(control, "load-org")
        grant_credits(control, "load-org", 10_000_000)
        caps = Capabilities(job_types=frozenset({PUBLIC_BENCHMARK, PRIVATE_EVALUATION}), jobs_per_hour=None, jobs_per_day=None)
        _, secret = create_key(control, "load-org", caps)
        control.dispose()
        port = _free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "bx"), "api", "--port", str(port), "--workers", str(args.workers)], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"{url}/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None, "the API did not start"
                    time.sleep(0.2)
            outcome = asyncio.run(_load(url, secret, args.clients, args.rounds, args.distinct))
            polled = _wrk_status(url, secret, next(iter(outcome["told"].values())), args.clients)
        finally:
            server.terminate()
            server.wait(timeout=20)
        store = JobStore(f"sqlite:///{home}/jobs.sqlite")
        stored = [job.job_id for job in store.list_jobs(organization="load-org", limit=100_000)]
        store.dispose()
    told = set(outcome["told"].values())
    print(f"BX API under load: {args.clients} concurrent clients on loopback, {args.workers} uvicorn worker(s), SQLite stores")
    for kind, values in outcome["timings"].items():
        print(f"  {kind:7s} {_percentiles(values)}")
    print(f"  {outcome['requests']} requests in {outcome['elapsed']:.2f} s: {outcome['requests'] / outcome['elapsed']:.0f} requests/s")
    print(f"  distinct specs {args.distinct}; jobs stored {len(stored)}; lost {len(told - set(stored))}; "
          f"duplicated {len(stored) - len(set(stored)) + len(set(stored) - told)}")
    print(polled)
    return 0


def _wrk_status(url: str, secret: str, job_id: str, connections: int) -> str:
    """Status polled by wrk over `connections` connections for 10 s: its latency percentiles and rate."""
    if not shutil.which("wrk"):
        return "  status under wrk: wrk is not installed (apt-get install wrk)"
    done = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", "-d10s", "--latency", "-H", f"Authorization: Bearer {secret}", f"{url}/v1/jobs/{job_id}"],
        capture_output=True, text=True, timeout=60,
    )
    found = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", done.stdout, re.M))
    rate = re.search(r"Requests/sec:\s+(\S+)", done.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return (f"  status under wrk ({connections} connections, 10 s): p50 {found.get('50')}   p90 {found.get('90')}   "
            f"p99 {found.get('99')}   {rate.group(1) if rate else '?'} requests/s   non-2xx {errors.group(1) if errors else 0}")


if __name__ == "__main__":
    sys.exit(main())
