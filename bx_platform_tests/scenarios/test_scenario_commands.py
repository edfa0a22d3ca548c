"""`bx scenarios reveal` and `bx scenarios verify` as an operator meets them, and admission of private
evaluations: the development secret is generated into BX_HOME and said so, a reveal under another secret is
refused, a wrong seed is refused with exit code 1, bad input exits 2 naming the field."""

from __future__ import annotations

import json
import re
import stat

import pytest

from bx_platform.cli import main
from bx_platform.scenarios import SCENARIO_NAMES
from bx_platform.scenarios.seeds import DEV_SECRET_FILE

PRIVATE_YAML = """\
organization: acme
job_type: private_evaluation
markets: [{venue: coinbase, symbol: BTC/USD}]
window: {start: 2018-01-01, end: 2019-01-01}
timeframe: 1d
strategies: [bx/sma-trend]
"""


def _submit(bx_home, tmp_path, capsys, text: str = PRIVATE_YAML) -> tuple[int, str, str]:
    spec = tmp_path / "job.yaml"
    spec.write_text(text)
    code = main(["submit", str(spec)])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err


def test_reveal_and_verify_round_trip_and_a_wrong_seed_is_refused(bx_home, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BX_SCENARIO_SECRET", raising=False)
    code, job_id, _ = _submit(bx_home, tmp_path, capsys)
    assert code == 0 and job_id.startswith("job-")
    secret_file = bx_home / DEV_SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600  # the development secret, generated into BX_HOME

    seeds_file = tmp_path / "seeds.json"
    assert main(["scenarios", "reveal", job_id, "--out", str(seeds_file)]) == 0
    assert stat.S_IMODE(seeds_file.stat().st_mode) == 0o600
    revealed = json.loads(seeds_file.read_text())["seeds"]
    assert len(revealed) == 11
    assert main(["scenarios", "verify", job_id, str(seeds_file)]) == 0
    assert "verified: the 11 revealed seeds" in capsys.readouterr().out

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"seeds": {**revealed, "outage": revealed["crash"]}}))
    assert main(["scenarios", "verify", job_id, str(wrong)]) == 1
    assert capsys.readouterr().out.startswith("REFUSED outage: the revealed seed does not match the commitment")

    monkeypatch.setenv("BX_SCENARIO_SECRET", "another secret")  # not the secret the job committed under
    assert main(["scenarios", "reveal", job_id]) == 2
    captured = capsys.readouterr()
    assert "does not reproduce the commitments" in captured.err and not captured.out


@pytest.mark.parametrize(
    "text, named",
    [
        (PRIVATE_YAML + "scoring_version: bx-score-v3\n", "scoring_version: 'bx-score-v3' defines no official private score"),
        (PRIVATE_YAML.replace("coinbase, symbol: BTC/USD", "us_equities, symbol: FB").replace("2018-01-01", "2012-06-01")
         .replace("2019-01-01", "2013-03-01"), "window: us_equities:FB has neither a sister venue nor"),
    ],
)
def test_private_evaluations_that_cannot_run_are_refused_naming_the_field(bx_home, tmp_path, capsys, text, named):
    code, out, err = _submit(bx_home, tmp_path, capsys, text)
    assert code == 2 and named in err and not out
    assert "Traceback" not in err


def test_bad_seeds_files_and_unknown_jobs_exit_2(bx_home, tmp_path, capsys):
    _, job_id, _ = _submit(bx_home, tmp_path, capsys)
    not_json = tmp_path / "seeds.json"
    not_json.write_text("{not json")
    assert main(["scenarios", "verify", job_id, str(not_json)]) == 2
    assert main(["scenarios", "reveal", "job-000000000000000000000000"]) == 2
    err = capsys.readouterr().err
    assert "not a readable JSON file of revealed seeds" in err and "no job 'job-000000000000000000000000'" in err


def test_the_demos_private_evaluation_prints_eleven_scenario_scores_and_the_official_score(bx_home, capsys, monkeypatch, caplog):
    """`bx demo` ends with this job and prints it the same way (`print_room`); here through `bx run`."""
    from bx_platform.demo import PRIVATE_EVALUATION_JOB

    monkeypatch.delenv("BX_SCENARIO_SECRET", raising=False)
    monkeypatch.setenv("COLUMNS", "160")  # wide enough for every column (at 80 the scenario kind is left out)
    assert main(["run", str(PRIVATE_EVALUATION_JOB)]) in (0, 3)  # complete or partial (a strategy halted)
    captured = capsys.readouterr()
    table = captured.out[captured.out.index("Private evaluation job-"):]
    scenario_lines = [line.split() for line in table.splitlines() if line.split() and line.split()[0] in SCENARIO_NAMES]
    assert [cells[0] for cells in scenario_lines] == list(SCENARIO_NAMES)
    for cells in scenario_lines:  # scenario, kind, then the BX Score of each of the four strategies
        assert cells[1] in ("real-sister", "perturbation", "stress") and len(cells) == 6, cells
        assert all(re.fullmatch(r"\d+\.\d\d", cell) for cell in cells[2:]), cells
    assert "OFFICIAL SCORE" in table and "CapitalScore" in table and "eligible" in table
    assert f"development secret in\n{bx_home / DEV_SECRET_FILE}" in caplog.text  # the scenario secret's origin is said


def test_a_private_evaluation_is_quoted_and_limited_as_twelve_runs():
    from bx_platform.control.metering import quote_job
    from bx_platform.jobs.spec import parse_spec

    private = parse_spec({"organization": "acme", "job_type": "private_evaluation", "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
                          "window": {"start": "2018-01-01", "end": "2019-01-01"}, "timeframe": "1d", "strategies": ["bx/sma-trend"]})
    benchmark = private.model_copy(update={"job_type": "benchmark"})
    assert private.scoring_version == "bx-private-v1" and private.runs == 12 and benchmark.runs == 1
    assert quote_job(private).bar_steps == 12 * quote_job(benchmark).bar_steps == 12 * 365
