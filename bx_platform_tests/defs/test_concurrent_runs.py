"""Two jobs run at the same time (overlap asserted from the instance's run records) while another process
reads the DuckDB store read-only in a loop and sees the new results appear: zero lock errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
from dagster import DagsterInstance

from bx_platform.paths import REPO_ROOT
from bx_platform_tests.defs.helpers import BX, SMALL_JOB, bx_env, start_group, stop_group, wait_for

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb
    database, stop, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    reads, errors, seen = 0, [], []
    while not stop.exists():
        try:
            with duckdb.connect(database, read_only=True) as conn:
                count = conn.execute("SELECT count(DISTINCT job_id) FROM scores").fetchall()[0][0]
            reads += 1
            if not seen or seen[-1] != count:
                seen.append(count)
        except Exception as exc:
            errors.append(repr(exc))
        time.sleep(0.02)
    out.write_text(json.dumps({"reads": reads, "errors": errors, "seen": seen}))
    """
)


def test_two_runs_overlap_while_an_analyst_reads(tmp_path):
    home = tmp_path / "bx"
    env = bx_env(home)
    init = subprocess.run([BX, "warehouse", "init"], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert init.returncode == 0, init.stderr
    database = init.stdout.strip()

    specs = []
    for name, window in (("first", ("2017-08-01", "2019-01-01")), ("second", ("2018-03-01", "2019-10-01"))):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(json.dumps({**SMALL_JOB, "name": name, "window": dict(zip(("start", "end"), window)),
                                    "strategies": ["bx/sma-trend", "bx/momentum", "bx/mean-reversion"]}))
        specs.append(spec)

    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = start_group([sys.executable, "-c", READER, database, str(stop), str(out)], env, tmp_path / "reader.log")
    runs = [start_group([BX, "run", str(spec)], env, tmp_path / f"{spec.stem}.log") for spec in specs]
    try:
        codes = [run.wait(timeout=300) for run in runs]
        assert set(codes) <= {0, 3}, [(tmp_path / f"{s.stem}.log").read_text()[-2000:] for s in specs]
        stop.touch()
        wait_for(out.exists, timeout=30, what="the reader's report")
    finally:
        for process in (*runs, reader):
            if process.poll() is None:
                stop_group(process)
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert report["reads"] > 20
    assert report["seen"][0] == 0 and report["seen"][-1] == 2  # the reader saw the results appear

    with duckdb.connect(database, read_only=True) as conn:  # neither job's update of the long-term board was lost
        board = dict(conn.execute("SELECT strategy, evaluations FROM leaderboard").fetchall())
    assert board == {"bx/sma-trend": 2, "bx/momentum": 2, "bx/mean-reversion": 2}

    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.get_run_records()
    assert len(records) == 2
    (a, b) = sorted(records, key=lambda r: r.start_time)
    assert b.start_time < a.end_time, "the two runs did not overlap in time"
