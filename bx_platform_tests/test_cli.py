"""The `bx` command as a user meets it: stable ids, field-named errors with exit code 2, no tracebacks."""

from __future__ import annotations

import json
import subprocess

import polars as pl
import pytest

from bx_platform.cli import main
from bx_platform.market.archive import default_archive_dir
from bx_platform.paths import REPO_ROOT
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


def test_run_prints_step_names_without_the_repeated_asset_prefix(tmp_path):
    spec = tmp_path / "job.yaml"
    spec.write_text(json.dumps(SMALL_JOB))
    env = bx_env(tmp_path / "bx")
    done = subprocess.run([BX, "run", str(spec)], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode in (0, 3), done.stderr
    assert "  market_data_quality_gate: success" in done.stderr
    assert "  execution_quality_gate: success" in done.stderr
    assert "market_data_market_data" not in done.stderr
    board = subprocess.run([BX, "leaderboard", "--json"], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    rows = json.loads(board.stdout)
    assert {r["strategy"] for r in rows} == set(SMALL_JOB["strategies"]) and rows[0]["rank"] == 1
