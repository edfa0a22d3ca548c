"""One example job end to end through Dagster, by phase: what `bx run SPEC` costs in a fresh BX_HOME, and
what a process that runs several jobs (`bx demo`) pays for the next one once its imports are done.

Run: ``python bench/job.py [SPEC] [--repeat N]`` (default data/jobs/01-coinbase-btc-hourly-2018.yaml).

Each repetition, in a fresh process and a fresh BX_HOME (temporary folder, SQLite Dagster instance as `bx run`
uses by default):
- `bx run` wall clock, the command a user types (a subprocess, with its helper process: bx_platform/console.py),
  in the fresh BX_HOME and then again, for another job, in that BX_HOME (stores and instance now exist);
- the same steps in one process without a helper, phase by phase: Python imports (what `bx run` imports before its run),
  admission and the Dagster instance (`bx run` up to "running ... through Dagster"), the Dagster run and each
  of its steps (from the run's event log: step start to step end);
- a second job in the same process (the spec with another name, so another job id): what a process that runs
  several jobs pays for each after its first.
Printed: best and spread over the repetitions. Then the imports of a fresh process by top-level package
(`python -X importtime`), largest first.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BX = str(Path(sys.executable).with_name("bx"))
IMPORTS = "import bx_platform.cli; from bx_platform.defs.runner import run_job; from bx_platform.defs.definitions import defs"


def phases(spec: str) -> dict[str, float]:
    """One fresh process: the phases of `bx run` in it, then a second job (run as a child so that the imports
    are timed in a process that has imported nothing yet)."""
    code = f"""
import json, os, sys, time
started = time.perf_counter()
{IMPORTS}
imported = time.perf_counter()
from bx_platform.jobs.spec import load_spec
from bx_platform.defs import runner
marks = {{}}
def progress(line):
    if line.startswith("running "):
        marks["dagster_start"] = time.perf_counter()
spec = load_spec(sys.argv[1])
begin = time.perf_counter()
outcome = runner.run_job(spec, progress=progress)
end = time.perf_counter()
from bx_platform.defs.instance import dagster_instance
instance = dagster_instance()
steps = {{}}
for record in instance.all_logs(outcome.run_id):
    event = record.dagster_event
    if event is not None and event.step_key and event.event_type_value in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
        steps.setdefault(event.step_key, []).append(record.timestamp)
warm_spec = spec.model_copy(update={{"name": spec.name + "-warm"}})
again = time.perf_counter()
runner.run_job(warm_spec, progress=lambda line: None)
warm = time.perf_counter() - again
print(json.dumps({{
    "imports": imported - started,
    "admission + instance": marks["dagster_start"] - begin,
    "dagster run": end - marks["dagster_start"],
    "in process, total": end - started,
    "second job, same process": warm,
    **{{"  step " + key: max(ts) - min(ts) for key, ts in steps.items()}},
}}))
"""
    with tempfile.TemporaryDirectory(prefix="bx-bench-job-") as home:
        env = {**os.environ, "BX_HOME": home}
        env.pop("DAGSTER_HOME", None)
        done = subprocess.run([sys.executable, "-c", code, spec], env=env, capture_output=True, text=True, cwd=REPO)
        if done.returncode:
            raise SystemExit(done.stderr[-3000:])
        import json

        return json.loads(done.stdout.strip().splitlines()[-1])


def bx_runs(spec: str) -> tuple[float, float]:
    """`bx run SPEC` in a fresh BX_HOME, then `bx run` of the same job under another name (another job id) in
    that home, which now has its stores and Dagster instance: wall clock of each, a new process each."""
    with tempfile.TemporaryDirectory(prefix="bx-bench-job-") as home:
        env = {**os.environ, "BX_HOME": home}
        env.pop("DAGSTER_HOME", None)
        again = Path(home) / "again.yaml"
        document = yaml.safe_load(Path(REPO, spec).read_text())
        again.write_text(yaml.safe_dump({**document, "name": f"{document.get('name', 'job')}-again"}))
        seconds = []
        for path in (spec, str(again)):
            started = time.perf_counter()
            done = subprocess.run([BX, "run", path], env=env, capture_output=True, text=True, cwd=REPO)
            seconds.append(time.perf_counter() - started)
            if done.returncode not in (0, 3):  # complete or partial
                raise SystemExit(done.stderr[-3000:])
        return seconds[0], seconds[1]


def imports_by_package() -> list[tuple[str, float]]:
    """Self time of every module `bx run` imports, summed by top-level package (a fresh process)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", IMPORTS], capture_output=True, text=True, cwd=REPO)
    totals: collections.Counter = collections.Counter()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:") :].split("|")
            totals[name.strip().split(".")[0]] += int(self_us)
    return [(name, us / 1e6) for name, us in totals.most_common()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default="data/jobs/01-coinbase-btc-hourly-2018.yaml")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = [bx_runs(args.spec) for _ in range(args.repeat)]
    for label, seconds in (("a fresh BX_HOME", [r[0] for r in runs]), ("a BX_HOME that has run a job", [r[1] for r in runs])):
        print(f"bx run {args.spec} in {label}: best {min(seconds):.1f} s, spread {min(seconds):.1f}-{max(seconds):.1f} s over {len(seconds)}")
    figures = [phases(args.spec) for _ in range(args.repeat)]
    for name in figures[0]:
        values = [f[name] for f in figures if name in f]
        print(f"  {name:<58} best {min(values):6.2f} s   spread {min(values):6.2f}-{max(values):6.2f} s")
    print("imports of a fresh process by package (self time, one run):")
    packages = imports_by_package()
    print("  " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in packages[:12]) + f"; total {sum(s for _, s in packages):.2f} s")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import great_expectations"], check=True)
    print(f"  great_expectations alone in a fresh process (imported at a run's first quality gate): {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
