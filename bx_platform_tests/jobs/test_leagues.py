"""League templates: reading and validation (a bad template names its file and field), round windows (the
latest complete window at a tick) and the round's job id (deterministic from the template and the tick)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from bx_platform.errors import InputError
from bx_platform.jobs.leagues import Round, add_periods, find_league, floor_to_boundary, load_league, load_leagues
from bx_platform.paths import REPO_ROOT

SHIPPED = REPO_ROOT / "data" / "leagues" / "btc-monthly-2018.yaml"
BX = str(Path(sys.executable).parent / "bx")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def template(**changes) -> dict:
    data = yaml.safe_load(SHIPPED.read_text())
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def write(tmp_path: Path, data: dict, name: str = "league.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_league_runs_monthly_rounds_through_2018():
    league = load_league(SHIPPED)
    assert [league.name] == [lg.name for lg in load_leagues()] and find_league(league.name) == league
    rounds = league.rounds_until(utc(2030, 1, 1))
    assert [r.key for r in rounds] == [f"2018-{m:02d}-01" for m in range(1, 13)]
    assert rounds[-1].end == utc(2019, 1, 1)


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (utc(2018, 4, 1), ("2018-03-01", utc(2018, 4, 1))),  # on the boundary: the month that just ended
        (utc(2018, 4, 17, 13, 5), ("2018-03-01", utc(2018, 4, 1))),  # mid-month: still the last complete one
        (utc(2019, 1, 1), ("2018-12-01", utc(2019, 1, 1))),  # the last round
        (utc(2018, 1, 20), None),  # the first round has not ended
        (utc(2019, 2, 1), None),  # the league has ended
    ],
)
def test_a_tick_runs_the_latest_complete_window(tick, expected):
    found = load_league(SHIPPED).round_at(tick)
    assert (found and (found.key, found.end)) == expected


def test_the_round_job_id_is_deterministic_from_template_and_tick(tmp_path):
    first, again = load_league(SHIPPED), load_league(SHIPPED)
    march = first.round_at(utc(2018, 4, 1, 0, 0, 30))
    spec = first.round_spec(march)
    assert spec.job_id == again.round_spec(again.round_at(utc(2018, 4, 2))).job_id
    assert spec.window.start == utc(2018, 3, 1) and spec.window.end == utc(2018, 4, 1)
    assert spec.name == "league btc-monthly-2018 round 2018-03-01" and spec.contest == "btc-monthly-2018"
    april = first.round_at(utc(2018, 5, 1))
    assert first.round_spec(april).job_id != spec.job_id
    # a different template is a different job, even for the same window
    other = load_league(write(tmp_path, template(sessions=3)))
    assert other.round_spec(march).job_id != spec.job_id


@pytest.mark.parametrize(
    ("cadence", "moment", "floor", "moved"),
    [
        ("daily", utc(2018, 3, 7, 15), utc(2018, 3, 7), utc(2018, 3, 9)),
        ("weekly", utc(2018, 3, 7, 15), utc(2018, 3, 5), utc(2018, 3, 19)),  # 2018-03-05 is a Monday
        ("monthly", utc(2018, 11, 7, 15), utc(2018, 11, 1), utc(2019, 1, 1)),
    ],
)
def test_cadence_boundaries(cadence, moment, floor, moved):
    assert floor_to_boundary(moment, cadence) == floor
    assert add_periods(floor, cadence, 2) == moved
    assert add_periods(moved, cadence, -2) == floor


def test_a_window_of_several_periods_ends_at_the_tick(tmp_path):
    league = load_league(write(tmp_path, template(window_periods=3, start="2018-01-01", end="2018-07-01")))
    assert league.round_at(utc(2018, 5, 1)) == Round(league.name, utc(2018, 2, 1), utc(2018, 5, 1))
    assert league.round_at(utc(2018, 3, 1)) is None
    assert [r.key for r in league.rounds_until(utc(2020, 1, 1))] == ["2018-01-01", "2018-02-01", "2018-03-01", "2018-04-01"]
    assert league.round_starting("2018-04-01").end == utc(2018, 7, 1)
    with pytest.raises(InputError, match="no round starting 2018-05-01"):
        league.round_starting("2018-05-01")
    with pytest.raises(InputError, match="not a day"):
        league.round_starting("May")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"cadence": "hourly"}, "cadence", "Input should be 'daily', 'weekly' or 'monthly'"),
        ({"cadence": None}, "cadence", "Field required"),
        ({"start": "2018-01-15"}, "template", "is not the start of a monthly period"),
        ({"end": "2018-01-15"}, "template", "is before the first round's window ends"),
        ({"window": {"start": "2018-01-01", "end": "2018-02-01"}}, "template", "`window` is set by the league"),
        ({"strategies": None}, "template", "`strategies` must list the handles"),
        ({"participants": "all-approved"}, "template", "takes no `strategies` list"),
        ({"name": "BTC Monthly"}, "name", "String should match pattern"),
        ({"markets": [{"venue": "coinbase", "symbol": "BTC USD"}]}, "markets.0.symbol", "String should match pattern"),
        ({"timeframe": "2h"}, "timeframe", "Input should be"),
        ({"sesions": 4}, "sesions", "Extra inputs are not permitted"),
        ({"start": 20180101}, "start", "must be a day"),
    ],
)
def test_a_bad_template_names_its_file_and_field(tmp_path, changes, field, message):
    path = write(tmp_path, template(**changes))
    with pytest.raises(InputError) as error:
        load_league(path)
    assert error.value.where == f"{path}: {field}" and message in error.value.problem


def test_bad_template_on_the_command_line_is_one_line_and_exit_2(tmp_path, bx_home):
    write(tmp_path, template(cadence="hourly"), "broken.yaml")
    done = subprocess.run(
        [BX, "league", "list"], capture_output=True, text=True, env={**os.environ, "BX_LEAGUES_DIR": str(tmp_path)}
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'broken.yaml'}: cadence: Input should be 'daily', 'weekly' or 'monthly'"
    ]


def test_two_templates_with_one_name_are_refused(tmp_path):
    write(tmp_path, template(), "a.yaml")
    write(tmp_path, template(), "b.yaml")
    with pytest.raises(InputError, match="is used by another template"):
        load_leagues(tmp_path)
