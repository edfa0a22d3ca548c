"""Statistical tiers (docs/scoring.md, "Statistical tiers"): the Model Confidence Set of arch, block bootstrap
seeded from the job id, on the room table, the result document, the views and `bx leaderboard`."""

from __future__ import annotations

import duckdb
import numpy as np
from dagster import DagsterInstance

from bx_platform import cli
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.room import room_tiers, score_room
from bx_platform.scoring.tiers import mcs_tiers
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job

from ._curves import CAPITAL, V3, real_daily_returns, strategy_inputs


def _room():
    real = real_daily_returns()[1000:1365]
    best = strategy_inputs(real)
    return {"a": best, "b": strategy_inputs(real), "dominated": strategy_inputs(real - 0.01)}


def test_identical_strategies_share_a_tier_and_a_dominated_one_is_not_in_tier_1():
    room = _room()
    tiers = room_tiers("job-tiers", {name: inputs.equity for name, inputs in room.items()})
    assert tiers["a"] == tiers["b"] == 1
    assert tiers["dominated"] > 1


def test_tiers_are_deterministic_from_the_job_id_and_shown_next_to_the_rank():
    room = _room()
    hold = strategy_inputs(real_daily_returns()[1000:1365])
    first = score_room("job-tiers", "acme", room, hold, CAPITAL, 1.0, {}, load_score_version(V3))
    again = score_room("job-tiers", "acme", room, hold, CAPITAL, 1.0, {}, load_score_version(V3))
    assert [(s.strategy, s.rank, s.tier) for s in first.strategies] == [(s.strategy, s.rank, s.tier) for s in again.strategies]
    assert {s.strategy: s.tier for s in first.strategies}["dominated"] > 1


def test_too_few_observations_tell_nothing_apart():
    rng = np.random.default_rng(0)
    assert set(mcs_tiers({"x": rng.normal(0, 1, 5), "y": rng.normal(5, 1, 5)}, seed=1).values()) == {1}


def test_tier_columns_in_the_document_the_views_and_bx_leaderboard(bx_home, tmp_path, capsys):
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_id, result = materialize_job({**SMALL_JOB, "strategies": ["bx/sma-trend", "bx/cash"]}, store_url,
                                         warehouse.root, instance)
    assert result.success
    document = warehouse.read_result(job_id)
    assert all(s["tier"] >= 1 for s in document["strategies"])
    with duckdb.connect(str(warehouse.ensure().duckdb_path), read_only=True) as conn:
        rows = conn.execute("SELECT strategy, rank, tier, market_class FROM public_room_leaderboard").fetchall()
        board = conn.execute("SELECT market_class, rank, tier, tier_jobs FROM public_leaderboard").fetchall()
    assert {r[0] for r in rows} == {"bx/sma-trend", "bx/cash"} and all(r[2] >= 1 and r[3] == "crypto" for r in rows)
    assert board and all(r[0] == "crypto" and r[2] == 1 for r in board)
    assert cli.main(["leaderboard"]) == 0
    assert "tier" in capsys.readouterr().out


def test_a_long_term_board_compares_one_market_class_and_tiers_it():
    """Each market class is its own board (rank from 1 in each); tiers come from the jobs all its strategies share."""
    from bx_platform.scoring.leaderboard import long_term_leaderboard

    rng = np.random.default_rng(4)
    rows = []
    for job in range(12):
        noise = rng.normal(0, 1)
        for handle, beta in (("good", 10 + noise), ("twin", 10 + noise), ("poor", -30 + rng.normal(0, 1))):
            rows.append({"strategy_handle": handle, "job_id": f"c{job}", "bx_score": 50.0 + beta / 10, "beta_score": beta,
                         "eligible": True, "visibility": "public", "market_class": "crypto"})
    rows.append({"strategy_handle": "poor", "job_id": "fx0", "bx_score": 90.0, "beta_score": 5.0, "eligible": True,
                 "visibility": "public", "market_class": "fx"})
    board = long_term_leaderboard(rows)
    crypto = {r["strategy_handle"]: r for r in board.filter(board["market_class"] == "crypto").to_dicts()}
    fx = board.filter(board["market_class"] == "fx").to_dicts()
    assert crypto["good"]["tier"] == crypto["twin"]["tier"] == 1 and crypto["poor"]["tier"] == 2
    assert crypto["poor"]["tier_jobs"] == 12
    assert [(r["strategy_handle"], r["rank"], r["tier"]) for r in fx] == [("poor", 1, 1)]  # never ranked against crypto
