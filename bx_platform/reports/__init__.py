"""Reports people look at: a job's self-contained HTML report and the public leaderboard pages (docs/reports.md).

Rendering only: it turns a result document, stored curves and public rows into HTML with Vega-Altair charts.
It reads no store and imports no Dagster or web framework; the application layer (`pipeline/reports.py`)
reads the stores and calls it."""
