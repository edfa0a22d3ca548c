"""The HTML of every page BX Platform renders: one self-contained document (styles, Vega-Lite charts and the
Vega JavaScript inlined, nothing fetched from the network), tables whose cells name the number they show.

A numeric cell carries `data-path`, where its value is in the data the page was assembled from (for a report:
the result document, e.g. `strategies.0.scores.beta_score`), and `data-unit`; the browser tests read the
rendered text back and compare it with that value (docs/reports.md, "Numbers").
"""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import altair as alt
import vl_convert

PERCENT, NUMBER, MONEY, COUNT = "percent", "number", "money", "count"
# Digits after the decimal point each unit is shown with; a reader of the page gets half a unit of the last
# digit of accuracy (0.005 %, 0.005 points, ...).
DECIMALS = {PERCENT: 2, NUMBER: 2, MONEY: 2, COUNT: 0}
UNDEFINED = "–"  # a null number in the document: undefined, never zero (docs/result.md)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1b1f24; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; }
.sub { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border-bottom: 1px solid #d8dee4; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; } .chart { margin: 1rem 0; } .fail { color: #b42318; }
code { font-size: .85rem; } a { color: #0969da; }
"""


@lru_cache(maxsize=1)
def vega_javascript() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script that defines `window.vegaEmbed`, bundled by the
    vl-convert package for the Vega-Lite version Altair's schema targets: the page loads nothing from the network.

    Bundling takes seconds (6.4 s measured, docs/reports.md), so the bundle is kept in a cache file named by
    both versions and reused by every later process; without a writable cache it is bundled once per process."""
    vl_version = "_".join(alt.SCHEMA_VERSION.split(".")[:2])
    cache = _cache_dir() / f"vega-embed-{vl_convert.__version__}-{vl_version}.js"
    try:
        return cache.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = vl_convert.javascript_bundle(vl_version=vl_version).replace("</script", "<\\/script")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        partial.write_text(bundle, encoding="utf-8")
        os.replace(partial, cache)  # readers see the whole bundle or none
    except OSError:
        pass
    return bundle


def _cache_dir() -> Path:
    """$XDG_CACHE_HOME/bx-platform, default ~/.cache/bx-platform."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bx-platform"


@dataclass(frozen=True)
class Cell:
    """One table cell: text (a link when `href` is given), or a number with its unit and where it comes from."""

    value: object
    unit: str | None = None
    path: str | None = None
    href: str | None = None

    def html(self) -> str:
        if self.href is not None:
            return f'<td><a href="{escape(self.href)}">{escape(self.value)}</a></td>'
        if self.unit is None:
            return f"<td>{escape(self.value)}</td>"
        path = f' data-path="{escape(self.path)}"' if self.path else ""
        return f'<td class="num" data-unit="{self.unit}"{path}>{format_number(self.value, self.unit)}</td>'


def format_number(value, unit: str) -> str:
    """A number as the page shows it: fractions in percent, money and ratios to 2 decimals, counts whole."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return UNDEFINED
    if isinstance(value, bool):
        return "yes" if value else "no"
    shown = 100 * value if unit == PERCENT else value
    text = f"{shown:,.{DECIMALS[unit]}f}"
    return text + " %" if unit == PERCENT else text


def escape(value) -> str:
    return html.escape("" if value is None else str(value))


def table(headers: list[str], rows: list[list[Cell | str]], css_id: str | None = None) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(c.html() if isinstance(c, Cell) else Cell(c).html() for c in row) + "</tr>" for row in rows
    )
    ident = f' id="{css_id}"' if css_id else ""
    return f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def chart(name: str, spec: dict) -> str:
    """A chart's placeholder and its Vega-Lite spec; `page` embeds every placeholder with vega-embed."""
    data = json.dumps(spec, sort_keys=True, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
    return (
        f'<div class="chart" id="chart-{escape(name)}" data-chart="{escape(name)}"></div>'
        f'<script type="application/json" class="chart-spec" data-chart="{escape(name)}">{data}</script>'
    )


EMBED_SCRIPT = """
document.querySelectorAll("script.chart-spec").forEach(function (source) {
  var target = document.getElementById("chart-" + source.dataset.chart);
  window.vegaEmbed(target, JSON.parse(source.textContent), {renderer: "svg", actions: false})
    .then(function () { target.dataset.rendered = "true"; })
    .catch(function (error) { target.dataset.rendered = "error"; console.error(error); });
});
"""


def page(title: str, subtitle: str, body: str) -> str:
    """The whole document. Vega's script only when the page has a chart."""
    scripts = ""
    if 'class="chart-spec"' in body:
        scripts = f"<script>{vega_javascript()}</script><script>{EMBED_SCRIPT}</script>"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # an empty icon: the browser asks no server for /favicon.ico
        f'<style>{STYLE}</style></head>'
        f'<body><h1>{escape(title)}</h1><p class="sub">{escape(subtitle)}</p>{body}{scripts}</body></html>\n'
    )
