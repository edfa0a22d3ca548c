"""The report and the public leaderboard pages in a real headless Chromium (the Debian package, driven by
Playwright): no console error, every chart rendered at its size with marks drawn, the numbers read from the
rendered DOM equal to the data the page was built from; a full-page screenshot of each in var/screenshots/
($BX_SCREENSHOT_DIR)."""

from __future__ import annotations

import shutil
from datetime import date

import polars as pl
import pytest
from playwright.sync_api import sync_playwright

from bx_platform.api.app import STRATEGY_PAGES, create_app
from bx_platform.pipeline.reports import LEAGUE_TABLE, ROOMS_OF_STRATEGY
from bx_platform.reports import charts
from bx_platform.reports.public_pages import latest_rounds
from bx_platform.warehouse.schema import TABLES
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.api.conftest import LiveServer
from bx_platform_tests.reports.numbers import mismatches

# Two rounds of one league: the page shows the latest round, by cumulative rank.
LEAGUE_COLUMNS = ("league", "round", "strategy", "rank", "score", "tier", "rounds", "cumulative_score", "cumulative_rank")
LEAGUE_ROWS = [
    ("btc-monthly", date(2018, 1, 1), "bx/momentum", 1, 61.0, 1, 1, 61.0, 1),
    ("btc-monthly", date(2018, 1, 1), "bx/sma-trend", 2, 55.5, 1, 1, 55.5, 2),
    ("btc-monthly", date(2018, 2, 1), "bx/momentum", 2, 40.25, 1, 2, 50.625, 2),
    ("btc-monthly", date(2018, 2, 1), "bx/sma-trend", 1, 58.75, 1, 2, 57.125, 1),
]
CHARTS_DONE = "() => [...document.querySelectorAll('div.chart')].every(e => e.dataset.rendered)"
# Each chart's root SVG size and the number of marks (lines, bars) it drew, as the browser laid it out.
CHART_FACTS = """() => [...document.querySelectorAll('div.chart')].map(e => {
  const svg = e.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const marks = svg ? [...svg.querySelectorAll('g.mark-line path, g.mark-rect path')].filter(p => (p.getAttribute('d') || '').length > 8).length : 0;
  return {name: e.dataset.chart, rendered: e.dataset.rendered, width: box.width, height: box.height, marks: marks};
})"""
NUMBERS = "els => els.map(e => [e.dataset.path, e.dataset.unit, e.innerText])"


@pytest.fixture(scope="module")
def browser(chromium):
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        launched.close()


def _visit(browser, url: str, screenshot):
    """Open a page, wait until every chart is embedded, screenshot it; return the page and its console errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: errors.append(f"network request {request.url}") if not request.url.startswith(("file:", "http://127.0.0.1")) else None)
    page.goto(url, wait_until="load")
    page.wait_for_function(CHARTS_DONE, timeout=60_000)
    page.screenshot(path=str(screenshot), full_page=True)
    return page, errors


def test_report_renders_in_chromium_with_the_documents_numbers(browser, finished_job, screenshots):
    path = finished_job.warehouse.report_path(finished_job.job_id)
    page, errors = _visit(browser, path.as_uri(), screenshots / "report.png")
    facts = {chart["name"]: chart for chart in page.evaluate(CHART_FACTS)}
    assert errors == []
    assert set(facts) == {"equity", "breakdown"} and all(c["rendered"] == "true" for c in facts.values())
    document = finished_job.warehouse.read_result(finished_job.job_id)
    curves = len(document["strategies"]) + 1  # and the Benchmark Hold
    equity = facts["equity"]
    assert equity["width"] >= charts.WIDTH and equity["height"] >= charts.EQUITY_HEIGHT + charts.DRAWDOWN_HEIGHT
    assert equity["marks"] == 2 * curves  # one equity and one drawdown line per curve
    assert facts["breakdown"]["width"] >= charts.WIDTH - 200 and facts["breakdown"]["marks"] > len(document["strategies"])
    cells = page.eval_on_selector_all("td[data-path]", NUMBERS)
    assert len(cells) > 100 and mismatches(document, cells) == []
    assert (screenshots / "report.png").stat().st_size > 50_000


@pytest.fixture(scope="module")
def public_site(finished_job, tmp_path_factory):
    """The API over a copy of the finished job's stores, whose public store also holds league standings."""
    root = tmp_path_factory.mktemp("site")
    warehouse = Warehouse(root / "warehouse")
    shutil.copytree(finished_job.warehouse.root, warehouse.root)
    standings = [
        {**dict(zip(LEAGUE_COLUMNS, row)), "job_id": f"job-round-{row[1]:%m}", "organization": "bx-leagues",
         "visibility": "public", "cumulative_tier": 1}
        for row in LEAGUE_ROWS
    ]
    warehouse.write_snapshot("league_standings", pl.DataFrame(standings, schema=TABLES["league_standings"]))
    warehouse.publish_public_store()  # as a finished league round leaves it
    app = create_app(jobs_url=finished_job.jobs_url, control_url=f"sqlite:///{root / 'control.sqlite'}", warehouse_root=warehouse.root)
    with LiveServer(app) as url:
        yield url, warehouse


def _public_rows(warehouse: Warehouse, query: str, parameters=None) -> list[dict]:
    with warehouse.connect_public() as conn:
        cursor = conn.execute(query, parameters or [])
        return [dict(zip([c[0] for c in cursor.description], row)) for row in cursor.fetchall()]


def test_leaderboard_page_renders_board_and_league_standings(browser, public_site, screenshots):
    url, warehouse = public_site
    page, errors = _visit(browser, url + "/leaderboard", screenshots / "leaderboard.png")
    [board_chart] = page.evaluate(CHART_FACTS)
    assert errors == []
    assert board_chart["rendered"] == "true" and board_chart["width"] >= charts.WIDTH - 300 and board_chart["marks"] >= 3
    data = {
        "board": _public_rows(warehouse, "SELECT * FROM public_leaderboard ORDER BY market_class, rank"),
        "leagues": latest_rounds(_public_rows(warehouse, f"SELECT * FROM {LEAGUE_TABLE}")),
    }
    cells = page.eval_on_selector_all("td[data-path]", NUMBERS)
    assert mismatches(data, cells) == [] and any(p.startswith("/leagues/") for p, _, _ in cells)
    assert [row["strategy"] for row in data["leagues"]] == ["bx/sma-trend", "bx/momentum"]  # round 2018-02, by cumulative rank
    assert "after round 2018-02" in page.inner_text("body")
    page.click("table a:text-is(\"bx/momentum\") >> nth=0")  # a handle links to its page
    page.wait_for_function(CHARTS_DONE, timeout=60_000)
    assert page.url == url + STRATEGY_PAGES + "bx/momentum"


def test_strategy_page_renders_its_public_rooms(browser, public_site, finished_job, screenshots):
    url, warehouse = public_site
    page, errors = _visit(browser, url + STRATEGY_PAGES + "bx/sma-trend", screenshots / "strategy.png")
    [rooms_chart] = page.evaluate(CHART_FACTS)
    assert errors == [] and rooms_chart["rendered"] == "true" and rooms_chart["marks"] == 1
    data = {
        "board": _public_rows(warehouse, "SELECT * FROM public_leaderboard WHERE strategy = ? ORDER BY market_class", ["bx/sma-trend"]),
        "rooms": _public_rows(warehouse, ROOMS_OF_STRATEGY, ["bx/sma-trend"]),
        "leagues": _public_rows(warehouse, f"SELECT * FROM {LEAGUE_TABLE} WHERE strategy = ? ORDER BY league, round, cumulative_rank, strategy", ["bx/sma-trend"]),
    }
    cells = page.eval_on_selector_all("td[data-path]", NUMBERS)
    assert mismatches(data, cells) == [] and {p.split("/")[1] for p, _, _ in cells} == {"board", "rooms", "leagues"}
    assert finished_job.job_id in page.inner_text("#rooms")
