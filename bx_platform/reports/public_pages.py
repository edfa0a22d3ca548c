"""The public leaderboard pages: the long-term board and the league standings with their tiers, and one page per
strategy handle with its public rooms. Assembled from rows of the public analyst store (public data only);
each numeric cell names its row and column (`data-path` = /<table>/<row index>/<column>)."""

from __future__ import annotations

from urllib.parse import quote

from bx_platform.reports import charts
from bx_platform.reports.page import COUNT, NUMBER, PERCENT, Cell, chart, escape, page, table

BOARD_COLUMNS = (
    ("rank", COUNT), ("tier", COUNT), ("credible_score", NUMBER), ("mean_bx_score", NUMBER), ("credibility", NUMBER),
    ("evaluations", COUNT), ("eligible_share", PERCENT), ("violations", COUNT),
)
LEAGUE_COLUMNS = (
    ("cumulative_rank", COUNT), ("cumulative_score", NUMBER), ("rounds", COUNT), ("rank", COUNT), ("score", NUMBER), ("tier", COUNT),
)
ROOM_COLUMNS = (("rank", COUNT), ("tier", COUNT), ("beta_score", NUMBER), ("bx_score", NUMBER), ("utility", PERCENT))


def strategy_link(handle: str, prefix: str) -> Cell:
    """A cell linking to the handle's page (`prefix` + the handle, e.g. /leaderboard/strategies/bx/momentum)."""
    return Cell(handle, href=prefix + quote(handle))


def latest_rounds(standings: list[dict]) -> list[dict]:
    """Each league's rows of its latest round, by cumulative rank (the standings' current state)."""
    latest = {}
    for row in standings:
        latest[row["league"]] = max(latest.get(row["league"], row["round"]), row["round"])
    rows = [row for row in standings if row["round"] == latest[row["league"]]]
    return sorted(rows, key=lambda r: (r["league"], r["cumulative_rank"], r["strategy"]))


def render_leaderboard_page(board: list[dict], standings: list[dict], prefix: str) -> str:
    """The long-term public leaderboard (one board per market class) and every league's current standings."""
    sections = ["<p>Public jobs only. Tier 1: cannot be told apart from the best at 90 % confidence; credible score = "
                "mean BX Score shrunk towards the class mean by credibility (docs/scoring.md).</p>"]
    if board:
        sections.append(chart("board", charts.ranked_bars(board, "strategy", "credible_score", "Credible BX Score", colour="market_class")))
    for market_class in sorted({row["market_class"] for row in board}):
        rows = [
            [strategy_link(row["strategy"], prefix)] + [Cell(row[key], unit, f"/board/{i}/{key}") for key, unit in BOARD_COLUMNS]
            for i, row in enumerate(board) if row["market_class"] == market_class
        ]
        sections.append(f"<h2>Long-term board · {escape(market_class)}</h2>")
        sections.append(table(["strategy", *(k.replace("_", " ") for k, _ in BOARD_COLUMNS)], rows, f"board-{market_class}"))
    if not board:
        sections.append("<h2>Long-term board</h2><p>No public job has finished yet.</p>")
    sections.append(_leagues(standings, prefix))
    return page("BX Platform · public leaderboard", "Long-term board and league standings", "".join(sections))


def _leagues(standings: list[dict], prefix: str) -> str:
    if not standings:
        return '<h2>Leagues</h2><p id="no-leagues">No leagues yet.</p>'
    current = latest_rounds(standings)
    parts = ["<h2>Leagues</h2>"]
    for league in sorted({row["league"] for row in current}):
        rows = [
            [strategy_link(row["strategy"], prefix)] + [Cell(row[key], unit, f"/leagues/{i}/{key}") for key, unit in LEAGUE_COLUMNS]
            for i, row in enumerate(current) if row["league"] == league
        ]
        latest = next(row["round"] for row in current if row["league"] == league)
        parts.append(f"<h3>{escape(league)} · after round {escape(latest)}</h3>")
        parts.append(table(["strategy", *(k.replace("_", " ") for k, _ in LEAGUE_COLUMNS)], rows, f"league-{league}"))
    return "".join(parts)


def render_strategy_page(handle: str, board: list[dict], rooms: list[dict], standings: list[dict], prefix: str) -> str:
    """One handle: its long-term board rows, its public rooms (job, markets, window, rank, tier, scores) and
    its league rounds."""
    sections = []
    if board:
        rows = [[row["market_class"]] + [Cell(row[key], unit, f"/board/{i}/{key}") for key, unit in BOARD_COLUMNS] for i, row in enumerate(board)]
        sections.append("<h2>Long-term board</h2>" + table(["market class", *(k.replace("_", " ") for k, _ in BOARD_COLUMNS)], rows, "strategy-board"))
    if rooms:
        # a room's label is unique: two jobs may share a name
        labelled = [{**row, "room": f"{row['name']} ({row['job_id']})" if row["name"] else row["job_id"]} for row in rooms]
        sections.append(chart("rooms", charts.ranked_bars(labelled, "room", "bx_score", "BX Score in each public room")))
        rows = [
            [row["name"] or "", row["job_id"], row["markets"], row["timeframe"], f"{row['window_start']} to {row['window_end']}",
             Cell(row["room_size"], COUNT, f"/rooms/{i}/room_size")]
            + [Cell(row[key], unit, f"/rooms/{i}/{key}") for key, unit in ROOM_COLUMNS]
            + ["yes" if row["eligible"] else f"no ({row['failed_gates'].replace(',', ', ')})"]
            for i, row in enumerate(rooms)
        ]
        headers = ["room", "job", "markets", "timeframe", "window", "strategies", *(k.replace("_", " ") for k, _ in ROOM_COLUMNS), "eligible"]
        sections.append(f"<h2>Public rooms ({len(rooms)})</h2>" + table(headers, rows, "rooms"))
    if standings:
        rows = [
            [row["league"], row["round"]] + [Cell(row[key], unit, f"/leagues/{i}/{key}") for key, unit in LEAGUE_COLUMNS]
            for i, row in enumerate(standings)
        ]
        sections.append("<h2>League rounds</h2>" + table(["league", "round", *(k.replace("_", " ") for k, _ in LEAGUE_COLUMNS)], rows, "strategy-leagues"))
    back = f'<p><a href="{escape(prefix.rsplit("/strategies/", 1)[0])}">← public leaderboard</a></p>'
    return page(f"BX Platform · {handle}", "Public rooms and standings of one strategy handle", back + "".join(sections))
