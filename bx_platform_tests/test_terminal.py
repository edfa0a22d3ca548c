"""What `bx` prints for people: tables no wider than the terminal, fractions in percent, `--json` on every
command that prints data, progress lines that a pipe gets once per finished step."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from bx_platform.cli import build_parser, main
from bx_platform.room_view import ROOM_COLUMNS
from bx_platform.terminal import PENDING, Column, ProgressLines, cell, print_table

# commands whose output is a confirmation, a secret, a walkthrough or another program, not data to parse
PRINTS_NO_DATA = {
    "demo", "submit", "api", "ui", "daemon", "sql", "warehouse init", "data import", "strategy register",
    "org create", "org grant", "key create", "key revoke", "webhook add", "webhook deliver",
    "report", "keys public", "league submit", "recover", "scenarios reveal", "scenarios verify",  # reveal prints JSON already
}


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every leaf command of `bx` with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))
            return
    yield " ".join(path), parser


def test_every_command_that_prints_data_has_json():
    commands = dict(_commands(build_parser()))
    assert PRINTS_NO_DATA <= set(commands)
    without_json = {name for name, parser in commands.items() if "--json" not in parser._option_string_actions}
    assert without_json == PRINTS_NO_DATA


ROOM_ROW = {
    "rank": 1, "tier": 1, "strategy": "acme-fund/sma-trend", "beta_score": 12.345, "bx_score": 61.2, "utility": 0.2345,
    "total_return": 0.123, "max_drawdown": 0.0456, "sharpe": 1.234, "flags": "halted_drawdown",
    "eligible": False,
}


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_a_room_fits_the_terminal_and_shows_percent(monkeypatch, capsys, width):
    monkeypatch.setenv("COLUMNS", str(width))
    print_table([ROOM_ROW, {**ROOM_ROW, "rank": 2, "strategy": "bx/cash", "flags": "", "eligible": True}], ROOM_COLUMNS, "Battle Room job-c224184cdeb55b37a1dbb11e (a long name to wrap)")
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= width
    text = "\n".join(lines)
    assert "0.123" not in text and "acme-fund/sma-trend" in text  # handles are never broken
    if width < 80:
        return  # what still does not fit wraps
    assert "12.3 %" in text and "4.6 %" in text
    if width >= 120:
        assert "not shown" not in text and "23.4 %" in text
    else:  # utility (carried by the beta score) goes first
        assert "not shown at" in text and "utility" in text.split("not shown at")[1]


def test_a_cell_shows_fractions_in_percent_and_small_ones_with_two_decimals():
    assert cell(0.123, as_percent=True) == "12.3 %"
    assert cell(-0.0004, as_percent=True) == "-0.04 %"
    assert cell(1234.5678) == "1,234.57" and cell(0.97123) == "0.97" and cell(0.0) == "0.00" and cell(0.0012) == "0.0012"
    assert cell(None) == "" and cell(True) == "yes"


def test_columns_are_dropped_by_their_drop_number_only(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "30")
    rows = [{"a": "x" * 12, "b": "y" * 12, "c": "z" * 12}]
    print_table(rows, [Column("a"), Column("b", drop=1), Column("c", drop=2)])
    out = capsys.readouterr().out
    assert "x" * 12 in out and "y" * 12 in out and "z" * 12 not in out and "not shown at 30 columns: c" in out.replace("\n", " ")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_to_a_pipe_is_one_line_per_finished_step():
    stream = io.StringIO()
    progress = ProgressLines(stream, indent="  ")
    for line in (f"[1/2] market_data {PENDING}", "[1/2] market_data: success 0.4 s", f"[2/2] scores {PENDING}", "[2/2] scores: success 1.2 s"):
        progress(line)
    assert stream.getvalue() == "  [1/2] market_data: success 0.4 s\n  [2/2] scores: success 1.2 s\n"


def test_progress_in_a_terminal_shows_the_running_step_until_it_ends():
    stream = _Terminal()
    progress = ProgressLines(stream)
    progress(f"[1/2] market_data {PENDING}")
    assert stream.getvalue() == f"[1/2] market_data {PENDING}"  # on screen while the step runs
    progress("[1/2] market_data: success 0.4 s")
    assert stream.getvalue().endswith("\r\x1b[K[1/2] market_data: success 0.4 s\n")  # replaced in place


def test_data_list_and_org_list_print_json(bx_home, capsys):
    assert main(["data", "list", "--json"]) == 0
    datasets = json.loads(capsys.readouterr().out)
    assert {"venue", "symbol", "timeframe", "start", "end", "rows", "calendar"} <= set(datasets[0])
    assert main(["org", "create", "acme", "--credits", "12.5"]) == 0
    capsys.readouterr()
    assert main(["org", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"organization": "acme", "balance": 12.5}]
