"""Reading the numbers a page shows back, and holding them against the data it was built from.

Every numeric cell names its source with `data-path` (a JSON pointer) and its unit with `data-unit`; the text
is the number rounded to the unit's decimals (percent for fractions). A shown number equals its source when
it is within half a unit of its last digit."""

from __future__ import annotations

from html.parser import HTMLParser

from bx_platform.reports.page import DECIMALS, PERCENT, UNDEFINED


def resolve(data, pointer: str):
    """The value at a JSON pointer (RFC 6901)."""
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def parse_shown(text: str, unit: str) -> float | None:
    text = text.strip()
    if text == UNDEFINED:
        return None
    number = float(text.removesuffix("%").strip().replace(",", ""))
    return number / 100 if unit == PERCENT else number


def mismatches(data, cells: list[tuple[str, str, str]]) -> list[str]:
    """Cells (pointer, unit, text) whose text is not their source value at the shown precision."""
    wrong = []
    for pointer, unit, text in cells:
        expected = resolve(data, pointer)
        shown = parse_shown(text, unit)
        if expected is None or shown is None:
            if expected is not shown:
                wrong.append(f"{pointer}: shows {text!r}, the data has {expected!r}")
            continue
        scale = 100 if unit == PERCENT else 1
        if abs(shown * scale - float(expected) * scale) > 0.5 * 10 ** -DECIMALS[unit] + 1e-9:
            wrong.append(f"{pointer}: shows {text!r}, the data has {expected!r}")
    return wrong


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self._open = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-path" in attrs:
            self._open = [attrs["data-path"], attrs["data-unit"], ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag):
        if self._open is not None and tag == "td":
            self.cells.append(tuple(self._open))
            self._open = None


def numeric_cells(html: str) -> list[tuple[str, str, str]]:
    """(pointer, unit, text) of every numeric cell of a page's HTML source."""
    parser = _Cells()
    parser.feed(html)
    return parser.cells
