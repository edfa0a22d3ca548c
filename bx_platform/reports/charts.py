"""The charts of the report and of the public pages, as Vega-Lite specs built with Vega-Altair.

They show stored numbers; nothing here computes a metric. The one derived curve, drawdown, is a Vega-Lite
transform of the stored equity (equity / running peak − 1), the curve whose minimum the stored
`max_drawdown` is (docs/metrics.md)."""

from __future__ import annotations

import math

import altair as alt
import polars as pl
import vl_convert

WIDTH = 900
EQUITY_HEIGHT, DRAWDOWN_HEIGHT = 320, 160


def equity_and_drawdown(equity: pl.DataFrame, order: list[str], width: int = WIDTH) -> dict:
    """Equity (top) and drawdown (bottom) of every curve of `equity` (columns strategy, ts, equity), in the
    legend order `order`, on one shared time axis; the Benchmark Hold is one of the curves."""
    base = alt.Chart(alt.NamedData(name="equity")).encode(
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
    return with_data(alt.vconcat(curve, drawdown).resolve_scale(color="shared"), equity=curve_rows(equity))


def curve_rows(equity: pl.DataFrame) -> list[dict]:
    """The curves as chart rows: time in epoch milliseconds, equity to the cent (what the chart can show)."""
    return equity.select(
        "strategy", pl.col("ts").dt.epoch("ms").alias("ts"), pl.col("equity").round(2)
    ).sort("strategy", "ts").to_dicts()


def thin_curves(equity: pl.DataFrame, buckets: int) -> pl.DataFrame:
    """At most four rows of each curve per time bucket (its first, last, lowest and highest equity), `buckets`
    buckets per curve: drawn `buckets` pixels wide, the lines look the same (the M4 reduction), from far fewer
    points. For small images only; the report itself draws every bar."""
    longest = equity.group_by("strategy").len()["len"].max() or 0
    step = max(1, -(-longest // buckets))
    bucket = ["strategy", "_bucket"]
    place = pl.int_range(pl.len()).over(bucket)  # by position, so a flat stretch keeps 2 rows, not all of them
    return (
        equity.sort("strategy", "ts")
        .with_columns((pl.int_range(pl.len()).over("strategy") // step).alias("_bucket"))
        .filter(
            (place == 0)
            | (place == pl.len().over(bucket) - 1)
            | (place == pl.col("equity").arg_min().over(bucket))
            | (place == pl.col("equity").arg_max().over(bucket))
        )
        .drop("_bucket")
    )


def with_data(chart: alt.TopLevelMixin, **datasets: list[dict]) -> dict:
    """The chart's Vega-Lite spec with its rows added as named datasets after Altair has validated the spec:
    validating tens of thousands of rows through Altair's schema took 30 s for a year of hourly bars."""
    spec = chart.to_dict()
    spec["datasets"] = {name: [{k: _finite(v) for k, v in row.items()} for row in rows] for name, rows in datasets.items()}
    return spec


def _finite(value):
    """A non-finite number becomes null: undefined, as in the result document (and strict JSON)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def score_breakdown(rows: list[dict], order: list[str]) -> dict:
    """BX Score points by metric group (rows: strategy, group, points), stacked per strategy."""
    chart = alt.Chart(alt.NamedData(name="points")).mark_bar().encode(
        y=alt.Y("strategy:N", sort=order, title=None),
        x=alt.X("points:Q", title="BX Score points", scale=alt.Scale(domain=[0, 100])),
        color=alt.Color("group:N", title="group", legend=alt.Legend(orient="top")),
        tooltip=["strategy:N", "group:N", alt.Tooltip("points:Q", format=".2f")],
    ).properties(width=WIDTH - 200, height=max(60, 32 * len(order)), title="BX Score by metric group")
    return with_data(chart, points=rows)


def ranked_bars(rows: list[dict], label: str, value: str, title: str, colour: str | None = None) -> dict:
    """One horizontal bar per row (`label` → `value`), longest first; `colour` splits rows into groups."""
    encoding = {
        "y": alt.Y(f"{label}:N", sort="-x", title=None),
        "x": alt.X(f"{value}:Q", title=value.replace("_", " ")),
        "tooltip": [f"{label}:N", alt.Tooltip(f"{value}:Q", format=".2f")],
    }
    if colour:
        encoding["color"] = alt.Color(f"{colour}:N", legend=alt.Legend(orient="top"))
    columns = [label, value] + ([colour] if colour else [])
    chart = alt.Chart(alt.NamedData(name="rows")).mark_bar().encode(**encoding).properties(
        width=WIDTH - 300, height=max(60, 24 * len(rows)), title=title
    )
    return with_data(chart, rows=[{c: row[c] for c in columns} for row in rows])


def png(spec: dict, scale: float = 1.0) -> bytes:
    """A chart as a PNG image, rendered in-process by vl-convert (no browser)."""
    return vl_convert.vegalite_to_png(spec, scale=scale)


def start_renderer() -> None:
    """Start vl-convert's JavaScript engine, which its first render does (half a second), by rendering an
    empty chart: what a helper process does before it is asked for an image."""
    png(alt.Chart(alt.Data(values=[])).mark_point().to_dict())
