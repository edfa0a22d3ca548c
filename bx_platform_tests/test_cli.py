"""The `bx` command as a user meets it: stable ids, field-named errors with exit code 2, no tracebacks."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess

import polars as pl
import pytest

from bx_platform.cli import main
from bx_platform.market.archive import default_archive_dir
from bx_platform.paths import REPO_ROOT
from bx_platform.terminal import PENDING
from bx_platform_tests.defs.helpers import BX, SMALL_JOB, bx_env

GOOD_YAML = """\
organization: acme
markets: [{venue: coinbase, symbol: BTC/USD}]
window: {start: 2018-01-01, end: 2018-03-01}
strategies: [bx/sma-trend]
"""


def test_submit_twice_gives_the_same_job_id(bx_home, tmp_path, capsys):
    spec = tmp_path / "job.yaml"
    spec.write_text(GOOD_YAML)
    assert main(["submit", str(spec)]) == 0
    first = capsys.readouterr()
    spec.write_text("# the same job, spelled differently\n" + GOOD_YAML.replace("2018-01-01", "'2018-01-01T00:00:00Z'"))
    assert main(["submit", str(spec)]) == 0
    second = capsys.readouterr()
    assert first.out == second.out and first.out.startswith("job-")
    assert "already submitted" in second.err


@pytest.mark.parametrize(
    "text, named",
    [
        ("organization: acme\nmarkets: [{venue: coinbase\n", "malformed YAML"),
        (GOOD_YAML.replace("[bx/sma-trend]", "[]"), "strategies"),
        (GOOD_YAML + "capital: {initial: -100}\n", "capital.initial"),
        (GOOD_YAML.replace("BTC/USD", "DOGE/USD"), "markets: unknown market coinbase:DOGE/USD at 1h"),
        (GOOD_YAML.replace("2018-03-01", "2030-01-01"), "window: "),
        (GOOD_YAML.replace("bx/sma-trend", "someone/secret-sauce"), "strategies: unknown strategy handle"),
        (GOOD_YAML.replace("window: {start: 2018-01-01, end: 2018-03-01}", "window: {start: 2017-08-01, end: 2019-10-01}\ntimeframe: 1h")
         .replace("[bx/sma-trend]", "[bx/sma-trend, bx/momentum, bx/mean-reversion, bx/buy-and-hold]")
         .replace("markets: [{venue: coinbase, symbol: BTC/USD}]", "markets: [{venue: coinbase, symbol: BTC/USD}]\n"), None),
        ("- just\n- a list\n", "a job spec must be a mapping"),
        (GOOD_YAML.replace("end: 2018-03-01", "end: 2018-01-01T05:00:00Z"), "window: 5 bars on the job's grid are too few for 4 sessions"),
        (GOOD_YAML + "timeframe: 1d\nsessions: 52\n", "too few for 52 sessions"),
    ],
)
def test_invalid_specs_exit_2_naming_the_field(bx_home, tmp_path, capsys, text, named):
    spec = tmp_path / "job.yaml"
    spec.write_text(text)
    code = main(["submit", str(spec)])
    err = capsys.readouterr().err
    if named is None:  # a valid but large job is admitted
        assert code == 0
        return
    assert code == 2
    assert err.startswith("error: ") and named in err and "Traceback" not in err


def test_too_large_a_job_is_refused(bx_home, tmp_path, capsys):
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "organization: acme\nmarkets: [{venue: coinbase, symbol: BTC/USD}, {venue: coinbase, symbol: ETH/USD}]\n"
        "window: {start: 1990-01-01, end: 2020-01-01}\ntimeframe: 1m\n"  # 126 M bar-steps
        "strategies: [bx/sma-trend, bx/momentum, bx/mean-reversion, bx/buy-and-hold]\n"
    )
    assert main(["submit", str(spec)]) == 2
    assert "window: job too large" in capsys.readouterr().err


def test_a_missing_file_and_a_real_process_exit_code(tmp_path):
    done = subprocess.run([BX, "run", str(tmp_path / "nope.yaml")], env=bx_env(tmp_path / "bx"), capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 2
    assert "nope.yaml: no such file" in done.stderr and "Traceback" not in done.stderr


def _real_equity_curve(path) -> None:
    """Equity of holding Coinbase BTC/USD daily through 2018, from the archive."""
    bars = pl.read_parquet(default_archive_dir() / "coinbase/BTC-USD/1d.parquet").filter(pl.col("ts").dt.year() == 2018)
    bars.select("ts", (pl.col("close") / bars["close"][0] * 100_000).alias("equity")).write_csv(path)


def test_metrics_command_prints_json(tmp_path, capsys):
    curve = tmp_path / "equity.csv"
    _real_equity_curve(curve)
    assert main(["metrics", "--equity", str(curve), "--benchmark", str(curve), "--periods-per-year", "365", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("total_return", "annual_return", "annual_volatility", "sharpe", "sortino", "max_drawdown", "cvar_95",
                "downside_deviation", "return_to_drawdown", "psr", "alpha", "beta"):
        assert key in result
    assert result["total_return"] < -0.5 and 0.5 < result["max_drawdown"] < 1 and result["beta"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "content, problem",
    [
        ("ts,value\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n", "equity"),
        ("ts,equity\n2020-01-02,1\n2020-01-01,2\n2020-01-03,3\n", "sorted"),
        ("ts,equity\n2020-01-01,1\n2020-01-01,2\n2020-01-03,3\n", "duplicate"),
        ("ts,equity\n2020-01-01,1\n2020-01-02,-2\n2020-01-03,3\n", "positive"),
        ("ts,equity\n2020-01-01,1\n", "rows"),
    ],
)
def test_metrics_command_bad_file(tmp_path, capsys, content, problem):
    curve = tmp_path / "bad.csv"
    curve.write_text(content)
    assert main(["metrics", "--equity", str(curve), "--periods-per-year", "365", "--json"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and problem in err and "Traceback" not in err


def test_run_of_a_job_that_fails_its_gate_reports_it_without_a_traceback(tmp_path):
    from bx_platform_tests.defs.test_quality_gate import _archive_with_a_negative_close

    archive = _archive_with_a_negative_close(tmp_path)
    spec = tmp_path / "job.yaml"
    spec.write_text(json.dumps(SMALL_JOB))
    env = bx_env(tmp_path / "bx", BX_ARCHIVE_DIR=str(archive))
    for _ in range(2):  # the second time, the job is already finished
        done = subprocess.run([BX, "run", str(spec)], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
        assert done.returncode == 1, done.stderr
        assert "failed at market_data_quality_gate" in done.stdout
        assert "expect_column_values_to_be_between on close (coinbase:BTC/USD): 1 rows" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr


def test_jobs_lists_states_and_filters(bx_home, tmp_path, capsys):
    spec = tmp_path / "job.yaml"
    spec.write_text(GOOD_YAML)
    assert main(["submit", str(spec)]) == 0
    job_id = capsys.readouterr().out.strip()
    assert main(["jobs", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["job_id"] == job_id and row["status"] == "queued" and row["organization"] == "acme"
    assert main(["jobs", "--json", "--status", "running"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    from bx_platform.jobs.store import JobStore

    JobStore().claim(job_id, "test")
    assert main(["jobs", "--json", "--status", "running"]) == 0
    assert [r["status"] for r in json.loads(capsys.readouterr().out)] == ["running"]
    assert main(["result", job_id]) == 0
    assert capsys.readouterr().out.strip().endswith(f"{job_id}: running")
    assert main(["jobs", "--json", "--organization", "someone-else"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def _fits(output: str, width: int = 80) -> None:
    """No line wider than the terminal, except a path printed alone on its line (never broken)."""
    for line in output.splitlines():
        assert len(line) <= width or line.strip().startswith("/") and " " not in line.strip(), line


def test_run_in_an_80_column_terminal(tmp_path):
    """`bx run` as the demo runs each job: a progress line per Dagster step with its time (on stderr, without
    the asset prefix the step key repeats), then the room; the room, the leaderboard, the jobs and the archive
    print in 80 columns, returns in percent; --json prints the stored fractions and nothing else."""
    spec = tmp_path / "job.yaml"
    spec.write_text(json.dumps(SMALL_JOB))
    env = bx_env(tmp_path / "bx", COLUMNS="80")

    def bx(*argv):
        done = subprocess.run([BX, *argv], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
        assert done.returncode in (0, 3), done.stderr
        return done

    run = bx("run", str(spec))
    steps = re.findall(r"^\[(\d+)/(\d+)\] (\w+): (\w+) \d+\.\d s$", run.stderr, flags=re.MULTILINE)
    assert len(steps) == int(steps[0][1]) == 7 and [int(done) for done, *_ in steps] == list(range(1, 8)), run.stderr
    assert {(name, outcome) for *_, name, outcome in steps} >= {("market_data_quality_gate", "success"), ("execution_quality_gate", "success"), ("scores", "success")}
    assert "market_data_market_data" not in run.stderr and PENDING not in run.stderr  # a pipe gets finished steps only
    assert "Battle Room" in run.stdout and " %" in run.stdout
    _fits(run.stdout)
    _fits(run.stderr)
    job_id = run.stdout.strip().splitlines()[-1].split(":")[0]

    for argv in (["leaderboard"], ["jobs"], ["result", job_id], ["data", "list"], ["strategy", "list"]):
        _fits(bx(*argv).stdout)

    again = bx("run", str(spec), "--json")  # the job is finished: its result document, alone on stdout
    document = json.loads(again.stdout)
    assert document["job_id"] == job_id and -1 <= document["strategies"][0]["metrics"]["all"]["total_return"] < 10
    rows = json.loads(bx("leaderboard", "--json").stdout)
    assert {r["strategy"] for r in rows} == set(SMALL_JOB["strategies"]) and rows[0]["rank"] == 1
    assert all(0 <= r["eligible_share"] <= 1 for r in rows)  # fractions, not percent


def test_run_in_a_terminal_shows_each_step_while_it_runs(tmp_path):
    """stderr on a real pseudo-terminal: each step's line appears when it starts (`…`) and is replaced in place
    when it ends, even while Dagster points descriptor 2 at the step's compute log."""
    spec = tmp_path / "job.yaml"
    spec.write_text(json.dumps({**SMALL_JOB, "window": {"start": "2018-01-01", "end": "2018-02-01"}, "strategies": ["bx/momentum"]}))
    controller, terminal = pty.openpty()
    run = subprocess.Popen([BX, "run", str(spec)], env=bx_env(tmp_path / "bx"), stdout=subprocess.PIPE, stderr=terminal, cwd=REPO_ROOT)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert run.wait(timeout=60) in (0, 3), seen
    screen = seen.decode()
    assert f"[3/7] execution_fills {PENDING}\r\x1b[K[3/7] execution_fills: success " in screen, screen
    assert "Battle Room" in run.stdout.read().decode()
