"""`bx ui` (dagster dev on the project's instance) serves the asset graph an operator works with."""

from __future__ import annotations

import json
import socket
import urllib.request

from bx_platform_tests.defs.helpers import BX, bx_env, start_group, stop_group, wait_for

QUERY = """
{ shouldShowNux
  assetNodes { assetKey { path } dependencyKeys { path } partitionDefinition { name } hasAssetChecks }
  sensorsOrError(repositorySelector: {repositoryLocationName: "bx_platform", repositoryName: "__repository__"}) {
    ... on Sensors { results { name sensorState { status } } } }
  schedulesOrError(repositorySelector: {repositoryLocationName: "bx_platform", repositoryName: "__repository__"}) {
    ... on Schedules { results { name cronSchedule scheduleState { status } } } } }
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response).get("data")
    except OSError:
        return None


def test_ui_shows_the_benchmark_graph(tmp_path):
    port = _free_port()
    log = tmp_path / "ui.log"
    ui = start_group([BX, "ui", "--port", str(port)], bx_env(tmp_path / "bx"), log)
    try:
        def answered():
            assert ui.poll() is None, log.read_text()[-3000:]
            return _graphql(port, QUERY)

        data = wait_for(answered, timeout=120, interval=1, what=f"the Dagster UI on port {port}")
    finally:
        stop_group(ui)
    nodes = {n["assetKey"]["path"][0]: n for n in data["assetNodes"]}
    # the benchmark graph, and one asset per league (its rounds, for backfills)
    assert set(nodes) == {"market_data", "execution_fills", "verified_metrics", "scores", "leaderboard", "league_btc_monthly_2018"}
    assert [d["path"][0] for d in nodes["execution_fills"]["dependencyKeys"]] == ["market_data"]
    assert all(n["partitionDefinition"] for n in nodes.values())
    assert nodes["market_data"]["hasAssetChecks"] and nodes["execution_fills"]["hasAssetChecks"]
    sensors = {s["name"]: s["sensorState"]["status"] for s in data["sensorsOrError"]["results"]}
    assert sensors["submitted_jobs"] == "RUNNING"
    assert data["shouldShowNux"] is False  # no community pop-up over the UI (dagster.yaml: nux: enabled: false)
    schedules = {s["name"]: (s["cronSchedule"], s["scheduleState"]["status"]) for s in data["schedulesOrError"]["results"]}
    assert schedules == {"league_btc_monthly_2018": ("0 0 1 * *", "RUNNING")}
