"""The charts of the report and of the public pages, as Vega-Lite specs built with Vega-Altair.

They show stored numbers; nothing here computes a metric. The one derived curve, drawdown, is a Vega-Lite
transform of the stored equity (equity / running peak − 1), the curve whose minimum the stored
`max_drawdown` is (docs/metrics.md)."""

from __future__ import annotations

import altair as alt
import polars as pl
import vl_convert

WIDTH = 900
EQUITY_HEIGHT, DRAWDOWN_HEIGHT = 320, 160


def equity_and_drawdown(equity: pl.DataFrame, order: list[str], width: int = WIDTH) -> alt.VConcatChart:
    """Equity (top) and drawdown (bottom) of every curve of `equity` (columns strategy, ts, equity), in the
    legend order `order`, on one shared time axis; the Benchmark Hold is one of the curves."""
    rows = equity.select(
        "strategy", pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"), "equity"
    ).sort("strategy", "ts")
    base = alt.Chart(alt.Data(values=rows.to_dicts())).encode(
        x=alt.X("ts:T", title=None),
        color=alt.Color("strategy:N", sort=order, title="strategy", legend=alt.Legend(orient="top")),
    )
    curve = base.mark_line(strokeWidth=1.4).encode(
        y=alt.Y("equity:Q", title="equity", scale=alt.Scale(zero=False)),
        tooltip=["strategy:N", "ts:T", alt.Tooltip("equity:Q", format=",.2f")],
    ).properties(width=width, height=EQUITY_HEIGHT, title="Equity")
    drawdown = base.transform_window(
        peak="max(equity)", groupby=["strategy"], sort=[alt.SortField("ts")], frame=[None, 0]
    ).transform_calculate(drawdown="datum.equity / datum.peak - 1").mark_line(strokeWidth=1.2).encode(
        y=alt.Y("drawdown:Q", title="drawdown", axis=alt.Axis(format="%")),
        tooltip=["strategy:N", "ts:T", alt.Tooltip("drawdown:Q", format=".2%")],
    ).properties(width=width, height=DRAWDOWN_HEIGHT, title="Drawdown from the running peak")
    return alt.vconcat(curve, drawdown).resolve_scale(color="shared")


def score_breakdown(rows: list[dict], order: list[str]) -> alt.Chart:
    """BX Score points by metric group (rows: strategy, group, points), stacked per strategy."""
    return alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("strategy:N", sort=order, title=None),
        x=alt.X("points:Q", title="BX Score points", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("group:N", title="group", legend=alt.Legend(orient="top")),
        tooltip=["strategy:N", "group:N", alt.Tooltip("points:Q", format=".2f")],
    ).properties(width=WIDTH - 200, height=max(60, 32 * len(order)), title="BX Score by metric group")


def ranked_bars(rows: list[dict], label: str, value: str, title: str, colour: str | None = None) -> alt.Chart:
    """One horizontal bar per row (`label` → `value`), longest first; `colour` splits rows into groups."""
    encoding = {
        "y": alt.Y(f"{label}:N", sort="-x", title=None),
        "x": alt.X(f"{value}:Q", title=value.replace("_", " ")),
        "tooltip": [f"{label}:N", alt.Tooltip(f"{value}:Q", format=".2f")],
    }
    if colour:
        encoding["color"] = alt.Color(f"{colour}:N", legend=alt.Legend(orient="top"))
    return alt.Chart(alt.Data(values=rows)).mark_bar().encode(**encoding).properties(
        width=WIDTH - 300, height=max(60, 24 * len(rows)), title=title
    )


def png(chart: alt.TopLevelMixin, scale: float = 1.0) -> bytes:
    """The chart as a PNG image, rendered in-process by vl-convert (no browser)."""
    return vl_convert.vegalite_to_png(chart.to_dict(), scale=scale)
