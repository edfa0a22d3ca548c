"""A strategy's BX Score does not depend on who else is in its room: the normalization is absolute and the
score reads only the strategy's own metrics. Checked end to end on real data with two real submissions of
the same organization: a room of two strategies, then the same room with a third. The second job has another
job id, more trials pinned and a non-zero Sharpe variance: none of that reaches the first two's BX Scores."""

from __future__ import annotations

from dagster import DagsterInstance

from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import materialize_job

ROOM = {
    "organization": "acme",
    "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}, {"venue": "bitstamp", "symbol": "ETH/USD"}],
    "window": {"start": "2018-01-01", "end": "2019-06-01"},
    "timeframe": "1d",
    "risk_profile": "aggressive",
}


def test_adding_a_strategy_changes_no_other_strategys_bx_score(bx_home, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        small, first = materialize_job({**ROOM, "strategies": ["bx/sma-trend", "bx/momentum"]}, store_url, warehouse.root, instance)
        large, second = materialize_job(
            {**ROOM, "strategies": ["bx/sma-trend", "bx/momentum", "bx/mean-reversion"]}, store_url, warehouse.root, instance
        )
    assert first.success and second.success
    two, three = warehouse.read_result(small), warehouse.read_result(large)
    assert two["pinned"]["trials"] != three["pinned"]["trials"]  # the rooms really differ in their pinned context
    before = {s["strategy"]: s for s in two["strategies"]}
    after = {s["strategy"]: s for s in three["strategies"]}
    for handle in before:
        assert before[handle]["scores"]["bx_score"] == after[handle]["scores"]["bx_score"]
        for key in ("utility", "beta_score", "scenario_utilities"):
            assert before[handle]["scores"][key] == after[handle]["scores"][key]
        assert before[handle]["metrics"]["all"]["psr"] == after[handle]["metrics"]["all"]["psr"]
    # what is relative is the rank, carried separately
    assert sorted(s["rank"] for s in three["strategies"]) == [1, 2, 3]
