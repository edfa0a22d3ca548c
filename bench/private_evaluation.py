"""What a private evaluation costs: building the eleven hidden scenarios, and running the room on them against
running it on the real window alone, for the demo's private evaluation (data/jobs/private/06-...yaml) or a
given spec. Wall clock, best of `--repeat` runs; the machine is shared, so the figures are noisy.

    .venv/bin/python bench/private_evaluation.py [--spec FILE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bx_platform.jobs.spec import load_spec  # noqa: E402
from bx_platform.jobs.store import JobStore  # noqa: E402
from bx_platform.pipeline.admission import build_record  # noqa: E402
from bx_platform.pipeline.execution import run_job_room  # noqa: E402
from bx_platform.pipeline.private_evaluation import job_scenarios, run_private_scenarios  # noqa: E402
from bx_platform.pipeline.staging import bars_by_market, job_bars  # noqa: E402


def best(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "data" / "jobs" / "private" / "06-private-evaluation.yaml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("BX_SCENARIO_SECRET", "bench-secret")
    spec = load_spec(args.spec)
    with tempfile.TemporaryDirectory() as home:
        store = JobStore(f"sqlite:///{Path(home) / 'jobs.sqlite'}")
        record = build_record(spec, store)
        bars = bars_by_market(job_bars(spec, spec.job_id), spec)
        build = best(args.repeat, lambda: job_scenarios(record, spec, bars))
        real = best(args.repeat, lambda: run_job_room(record, spec, bars, store))
        hidden = best(args.repeat, lambda: run_private_scenarios(record, spec, bars, store))
        store.dispose()
    steps = next(iter(bars.values())).height * len(spec.markets) * len(spec.strategies)
    print(f"{args.spec}: {len(spec.strategies)} strategies x {len(spec.markets)} market(s) x {steps // len(spec.strategies) // len(spec.markets)} bars")
    print(f"build the 11 scenarios' bars:              {build * 1000:8.1f} ms")
    print(f"room on the real window (simulation only): {real * 1000:8.1f} ms")
    print(f"11 hidden scenarios (room + metrics + scores): {hidden * 1000:8.1f} ms  ({hidden / real:.1f}x the real window's room)")


if __name__ == "__main__":
    main()
