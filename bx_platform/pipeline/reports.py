"""Reports and public pages in the application layer: read the stores, render with `bx_platform.reports`.

A job's report is written with its result document: by `publish_scores` for a scored job, by `finish_job` when
the job fails (its document then says where it stopped), so the report always shows the current document.
Vega-Altair is imported by the rendering functions, not here (half a second a one-off `bx run` leaves to its
helper process, which renders)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bx_platform.helper_process import offload
from bx_platform.warehouse.store import Warehouse

LEAGUE_TABLE = "public_league_standings"  # present once leagues have run (docs/reports.md)
# Dagster shows the equity chart in the `scores` asset's metadata as an image this wide (pixels).
METADATA_CHART_WIDTH = 640


def render_report(job_id: str, warehouse: Warehouse) -> str | None:
    """The job's report from its current result document and verified equity; None before it has a document."""
    document = warehouse.read_result(job_id)
    if document is None:
        return None
    equity = None if document["status"] == "failed" else warehouse.read("verified", "equity", job_id)
    return offload(render_html, document, equity)


def render_html(document: dict, equity) -> str:
    """`render_job_report`, importing Vega-Altair in whichever process renders."""
    from bx_platform.reports.job_report import render_job_report

    return render_job_report(document, equity)


def write_job_report(job_id: str, warehouse: Warehouse) -> Path | None:
    """Render the job's report and store it as warehouse/reports/<job_id>.html (atomically)."""
    html = render_report(job_id, warehouse)
    return warehouse.write_report(job_id, html) if html is not None else None


def job_report(job_id: str, warehouse: Warehouse) -> str | None:
    """The stored report, rendered and stored first if the job finished before reports existed."""
    path = warehouse.report_path(job_id)
    if not path.exists() and write_job_report(job_id, warehouse) is None:
        return None
    return path.read_text(encoding="utf-8")


def equity_chart_png(job_id: str, warehouse: Warehouse) -> bytes:
    """The report's equity and drawdown chart as a small PNG (the Dagster `scores` asset shows it), drawn from
    the curves thinned to the image's width."""
    return offload(render_equity_png, warehouse.read_result(job_id), warehouse.read("verified", "equity", job_id))


def render_equity_png(document: dict, equity) -> bytes:
    """`equity_chart_png` from the document and the verified equity, in whichever process renders."""
    from bx_platform.reports.charts import png, thin_curves
    from bx_platform.reports.job_report import equity_chart

    return png(equity_chart(document, thin_curves(equity, METADATA_CHART_WIDTH), METADATA_CHART_WIDTH))


# -- the public pages ---------------------------------------------------------------------------------------
def _rows(conn: duckdb.DuckDBPyConnection, query: str, parameters: list | None = None) -> list[dict]:
    cursor = conn.execute(query, parameters or [])
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _league_rows(conn: duckdb.DuckDBPyConnection, where: str = "", parameters: list | None = None) -> list[dict]:
    """League standings, or none before any league has run (the table is absent)."""
    present = conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [LEAGUE_TABLE]).fetchone()[0]
    if not present:
        return []
    return _rows(conn, f"SELECT * FROM {LEAGUE_TABLE} {where} ORDER BY league, round, cumulative_rank, strategy", parameters)


def leaderboard_page(warehouse: Warehouse, prefix: str) -> str:
    """The public leaderboard page; `prefix` + a handle is the URL of that handle's page."""
    with warehouse.connect_public() as conn:
        board = _rows(conn, "SELECT * FROM public_leaderboard ORDER BY market_class, rank")
        standings = _league_rows(conn)
    from bx_platform.reports.public_pages import render_leaderboard_page

    return render_leaderboard_page(board, standings, prefix)


ROOMS_OF_STRATEGY = """
SELECT r.job_id, j.name, j.markets, j.timeframe, strftime(j.window_start, '%Y-%m-%d') AS window_start,
       strftime(j.window_end, '%Y-%m-%d') AS window_end, r.rank, r.tier, r.beta_score, r.bx_score, r.utility,
       r.eligible, r.failed_gates, (SELECT count(*) FROM public_room_leaderboard s WHERE s.job_id = r.job_id) AS room_size
FROM public_room_leaderboard r JOIN public_jobs j USING (job_id)
WHERE r.strategy = ?
ORDER BY j.window_start, r.job_id
"""


def strategy_page(warehouse: Warehouse, handle: str, prefix: str) -> str | None:
    """A handle's public page, or None when it has no public room, board row or league round."""
    with warehouse.connect_public() as conn:
        board = _rows(conn, "SELECT * FROM public_leaderboard WHERE strategy = ? ORDER BY market_class", [handle])
        rooms = _rows(conn, ROOMS_OF_STRATEGY, [handle])
        standings = _league_rows(conn, "WHERE strategy = ?", [handle])
    if not (board or rooms or standings):
        return None
    from bx_platform.reports.public_pages import render_strategy_page

    return render_strategy_page(handle, board, rooms, standings, prefix)
