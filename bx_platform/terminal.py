"""What `bx` prints for people: tables that fit the terminal, fractions shown in percent, prose wrapped.

The width is the terminal's: `COLUMNS` when set, else the size of the terminal on stdout, else 80 (output to
a pipe or a file). A table shows all its columns when they fit; otherwise it leaves out its optional columns,
the least telling first, names them under the table, and wraps what is still too wide. Percent is for display
only: `--json` prints the stored fractions (0.123, never 12.3).
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from datetime import date, datetime

DEFAULT_WIDTH = 80
PENDING = "…"  # ends a progress line that the next line completes (see ProgressLines)

# fields that hold fractions (of capital, of returns, of a count): the one list of what tables show in percent
PERCENT_FIELDS = frozenset(
    {
        "total_return", "annual_return", "annual_volatility", "max_drawdown", "cvar_95", "downside_deviation",
        "tail_cvar_95_daily", "worst_session_return", "avg_trade_return", "win_rate", "cost", "alpha",
        "time_under_water_fraction", "eligible_share", "utility", "hold_utility",
    }
)


@dataclass(frozen=True)
class Column:
    key: str  # the row's field
    header: str = ""  # the column's title (the key when empty)
    drop: int = 0  # 0: always shown; else left out when the table is too wide, the highest number first
    whole: bool = False  # an identifier (job id, strategy handle): never folded, other columns give way

    @property
    def title(self) -> str:
        return self.header or self.key


def terminal_width() -> int:
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def percent(fraction: float) -> str:
    """0.123 -> '12.3 %'; under 1 % two decimals, so a small cost does not read as zero."""
    value = fraction * 100
    return f"{value:,.{1 if abs(value) >= 1 else 2}f} %"


def cell(value, as_percent: bool = False) -> str:
    """One value as a table shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if as_percent:
            return percent(value)
        return f"{value:,.{4 if 0 < abs(value) < 0.01 else 2}f}"  # two decimals; a tiny value does not read as 0
    if isinstance(value, datetime):  # minutes are enough to tell jobs and bars apart on screen
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def print_table(rows: list[dict], columns: list[Column], title: str | None = None) -> None:
    """Print rows as a table no wider than the terminal (see the module's docstring)."""
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    width = terminal_width()
    texts = [{c.key: cell(row.get(c.key), c.key in PERCENT_FIELDS) for c in columns} for row in rows]
    numeric = {c.key for c in columns if rows and all(_is_number(row.get(c.key)) for row in rows)}

    def build(shown: list[Column]) -> Table:
        table = Table(
            title=title, box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True, pad_edge=False,
            title_justify="left", caption_justify="left",
        )
        for column in shown:
            justify = "right" if column.key in numeric else "left"
            table.add_column(column.title, overflow="fold", justify=justify, no_wrap=column.whole)
        for text in texts:
            table.add_row(*[text[column.key] for column in shown])
        return table

    console = Console(width=width, highlight=False, soft_wrap=False)
    unbounded = console.options.update(max_width=sys.maxsize)  # the table's natural width, not clamped to ours
    shown = list(columns)
    table = build(shown)
    while Measurement.get(console, unbounded, table).maximum > width and any(column.drop for column in shown):
        shown.remove(max((column for column in shown if column.drop), key=lambda column: column.drop))
        table = build(shown)
    left_out = [column.title for column in columns if column not in shown]
    if left_out:
        table.caption = f"not shown at {width} columns: {', '.join(left_out)} (--json has every field)"
    console.print(table)


def _is_number(value) -> bool:
    """Right-aligned in a table: numbers and blanks, not yes/no."""
    return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)


def say(text: str, indent: str = "") -> None:
    """Print a line of prose wrapped to the terminal; continuation lines indented two more spaces.
    Words are never broken, so a path longer than the terminal stays whole on its own line."""
    print(textwrap.fill(text, terminal_width(), initial_indent=indent, subsequent_indent=indent + "  ",
                        break_long_words=False, break_on_hyphens=False))


def print_json(data) -> None:
    """Machine-readable output: fractions as stored, keys sorted, dates as ISO strings."""
    print(json.dumps(data, sort_keys=True, indent=2, default=str))


class ProgressLines:
    """Progress on stderr while a job runs. A line ending with PENDING (a step has started) stays on screen in a
    terminal until the next line replaces it; to a pipe or a file it is left out, so a log gets one line per
    finished step. stdout is flushed first, so data and progress keep their order when both go to one file."""

    def __init__(self, stream=None, indent: str = ""):
        self.stream, self.indent = stream, indent
        self.open_line = False

    def __call__(self, line: str) -> None:
        stream = self.stream or _descriptor_copy(sys.stderr)
        pending = line.endswith(PENDING)
        if pending and not stream.isatty():
            return
        sys.stdout.flush()
        if self.open_line:
            stream.write("\r\x1b[K")  # back to the line's start, erase it
        stream.write(self.indent + line + ("" if pending else "\n"))
        stream.flush()
        self.open_line = pending


@functools.cache
def _descriptor_copy(stderr):
    """stderr as it was when progress began. While a step runs, Dagster points descriptor 2 at the step's log
    file (its compute logs, mirrored back by a `tail` process): progress is not step output, so it writes to a
    copy of the descriptor taken before, which still is the terminal or the pipe."""
    try:
        return os.fdopen(os.dup(stderr.fileno()), "w", buffering=1, encoding=stderr.encoding, errors="replace")
    except (AttributeError, OSError, ValueError):  # no descriptor (an in-memory stderr, as under pytest)
        return stderr
