"""How long a job's report takes to render and how large it is (docs/reports.md, "Figures").

Run: ``.venv/bin/python bench/reports.py [JOB_SPEC]``  (default data/jobs/01-coinbase-btc-hourly-2018.yaml: a year of
hourly bars, 5 strategies and the Benchmark Hold; about a minute on 2 cores)

The job runs through Dagster in a temporary BX_HOME (deleted at the end). Then, in this process:
1. the Vega script bundle, in two fresh processes: bundled by vl-convert (empty cache), then read from the cache;
2. `render_report` (result document + verified equity -> HTML), median of 3, and the report's size;
3. `equity_chart_png` (the Dagster metadata image), median of 3, and its size.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE_TIMING = (
    "import time; from bx_platform.reports.page import vega_javascript; "
    "start = time.perf_counter(); vega_javascript(); print(time.perf_counter() - start)"
)


def _timed(function, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> int:
    spec_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "data" / "jobs" / "01-coinbase-btc-hourly-2018.yaml"
    with tempfile.TemporaryDirectory() as home:
        os.environ.update(BX_HOME=f"{home}/bx", XDG_CACHE_HOME=f"{home}/cache")
        from bx_platform.defs.runner import run_job
        from bx_platform.jobs.spec import load_spec
        from bx_platform.pipeline.reports import equity_chart_png, render_report
        from bx_platform.reports import page
        from bx_platform.warehouse.store import Warehouse

        outcome = run_job(load_spec(str(spec_path)), progress=lambda line: None)
        warehouse = Warehouse()
        equity_rows = warehouse.read("verified", "equity", outcome.job_id).height
        print(f"job {outcome.job_id} ({spec_path.name}): {outcome.status}, {equity_rows:,} equity rows")

        cold = subprocess.run(  # a process with an empty cache bundles the script; the next one reads it
            [sys.executable, "-c", BUNDLE_TIMING], capture_output=True, text=True, check=True,
            env={**os.environ, "XDG_CACHE_HOME": f"{home}/empty-cache"},
        )
        warm = subprocess.run([sys.executable, "-c", BUNDLE_TIMING], capture_output=True, text=True, check=True,
                              env={**os.environ, "XDG_CACHE_HOME": f"{home}/empty-cache"})
        script = page.vega_javascript()
        print(f"Vega script bundle: {len(script) / 1e6:.2f} MB; bundled by vl-convert in {float(cold.stdout):.2f} s, "
              f"read from the cache in {float(warm.stdout) * 1000:.1f} ms")

        seconds, html = _timed(lambda: render_report(outcome.job_id, warehouse), 3)
        print(f"render_report: {seconds:.2f} s (median of 3); report {len(html.encode()) / 1e6:.2f} MB, of which the script {len(script) / 1e6:.2f} MB")
        seconds, image = _timed(lambda: equity_chart_png(outcome.job_id, warehouse), 3)
        print(f"equity_chart_png: {seconds:.2f} s (median of 3); {len(image) / 1e3:.0f} kB PNG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
