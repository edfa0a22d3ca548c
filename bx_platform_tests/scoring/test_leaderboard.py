import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bx_platform.scoring.bx_score import compute_bx_score
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.leaderboard import credibility, long_term_leaderboard, room_leaderboard

from ._fixtures import SAMPLE_CONTEXT, metrics

V1 = load_score_version("bx-score-v1")
NAN = float("nan")


def _row(job, handle, beta, visibility="public", **extra):
    return {"job_id": job, "strategy_handle": handle, "beta_score": beta, "visibility": visibility, **extra}


def test_room_sorted_by_beta_desc_ties_by_handle_nan_last():
    rows = [_row("j1", "zeta", 1.0), _row("j1", "alpha", 1.0), _row("j1", "mid", NAN), _row("j1", "top", 5.0),
            _row("j2", "solo", -3.0)]
    board = room_leaderboard(rows)
    assert board.select("job_id", "strategy_handle", "rank").rows() == [
        ("j1", "top", 1), ("j1", "alpha", 2), ("j1", "zeta", 3), ("j1", "mid", 4), ("j2", "solo", 1)]


def test_room_accepts_a_polars_frame_and_is_order_independent():
    rows = [_row("j1", h, b) for h, b in [("a", 2.0), ("b", 3.0), ("c", 2.0)]]
    a = room_leaderboard(pl.DataFrame(rows))
    b = room_leaderboard(list(reversed(rows)))
    assert a.equals(b)


def test_room_public_only_drops_private_rows():
    rows = [_row("j1", "a", 1.0), _row("j2", "b", 9.0, visibility="private")]
    assert room_leaderboard(rows, public_only=True)["strategy_handle"].to_list() == ["a"]


def test_bx_score_unchanged_when_another_strategy_joins_the_room():
    def room(members):
        rows = []
        for handle, m in members:
            r = compute_bx_score(m, SAMPLE_CONTEXT, V1)
            rows.append(_row("j1", handle, m["total_return"] * 100, bx_score=r.score, bx_json=r.to_json()))
        return room_leaderboard(rows)

    before = room([("mine", metrics())])
    after = room([("mine", metrics()), ("newcomer", metrics(sharpe=4.0, total_return=0.9))])
    mine_before = before.filter(pl.col("strategy_handle") == "mine").row(0, named=True)
    mine_after = after.filter(pl.col("strategy_handle") == "mine").row(0, named=True)
    assert mine_before["bx_score"].hex() == mine_after["bx_score"].hex()
    assert mine_before["bx_json"] == mine_after["bx_json"]
    assert (mine_before["rank"], mine_after["rank"]) == (1, 2)  # the rank carries the relative reading


def _eval(handle, job, bx, eligible=True, visibility="public", violations=0):
    return {"strategy_handle": handle, "job_id": job, "bx_score": bx, "eligible": eligible,
            "visibility": visibility, "violations": violations}


def test_credibility_weighting_prefers_consistency():
    evals = [_eval("steady", f"j{i}", 70.0) for i in range(20)]
    evals += [_eval("lucky", "j0", 80.0)] + [_eval("avg", f"j{i}", 50.0) for i in range(20)]
    board = long_term_leaderboard(evals, k=5)
    assert board["strategy_handle"].to_list() == ["steady", "lucky", "avg"]
    row = board.filter(pl.col("strategy_handle") == "lucky").row(0, named=True)
    mu = (20 * 70 + 80 + 20 * 50) / 41
    assert row["credibility"] == pytest.approx(credibility(1, 5)) == pytest.approx(1 / 6)
    assert row["credible_score"] == pytest.approx(80 / 6 + 5 / 6 * mu)
    # with a single session the lucky one no longer beats a long steady record at the same mean
    assert row["credible_score"] < 80.0


def test_a_short_record_is_never_lifted_above_its_own_mean():
    evals = [_eval("strong", f"j{i}", 70.0) for i in range(5)] + [_eval("weak-once", "j0", 30.0)]
    evals += [_eval("middling", f"j{i}", 40.0) for i in range(5)]
    board = long_term_leaderboard(evals, k=5)
    row = board.filter(pl.col("strategy_handle") == "weak-once").row(0, named=True)
    assert row["credible_score"] == pytest.approx(30.0)
    assert board["strategy_handle"].to_list() == ["strong", "middling", "weak-once"]


def test_track_record_and_visibility():
    evals = [_eval("a", "j1", 60.0, eligible=True), _eval("a", "j2", 40.0, eligible=False, violations=2),
             _eval("a", "j3", NAN, eligible=False, violations=1), _eval("b", "j9", 99.0, visibility="private")]
    board = long_term_leaderboard(evals)
    assert board["strategy_handle"].to_list() == ["a"]  # private job never on the public board
    row = board.row(0, named=True)
    assert (row["evaluations"], row["scored_evaluations"], row["violations"]) == (3, 2, 3)
    assert row["eligible_share"] == pytest.approx(1 / 3)
    assert row["mean_bx_score"] == 50.0
    assert math.isclose(row["credible_score"], 50.0)  # a lone strategy shrinks toward its own mean
    assert long_term_leaderboard(evals, public_only=False).height == 2


def test_long_term_without_violations_column():
    evals = [{k: v for k, v in _eval("a", "j1", 60.0).items() if k != "violations"}]
    assert long_term_leaderboard(evals)["violations"].to_list() == [0]


def test_empty_inputs_give_empty_boards_with_columns():
    assert room_leaderboard([], public_only=True).columns[-1] == "rank"
    assert long_term_leaderboard([]).height == 0


scores = st.one_of(st.floats(0, 100), st.just(NAN))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["j1", "j2"]), st.sampled_from("abcdef"), scores), max_size=12,
                unique_by=lambda t: (t[0], t[1])))
def test_room_ranks_are_a_permutation_per_job(items):
    board = room_leaderboard([_row(j, h, b) for j, h, b in items])
    for job in {j for j, _, _ in items}:
        part = board.filter(pl.col("job_id") == job)
        assert sorted(part["rank"].to_list()) == list(range(1, part.height + 1))
        finite = [b for b in part["beta_score"].to_list() if math.isfinite(b)]
        assert finite == sorted(finite, reverse=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.floats(0, 100)), min_size=1, max_size=20))
def test_credible_score_lies_between_own_mean_and_population_mean(items):
    board = long_term_leaderboard([_eval(h, f"j{i}", b) for i, (h, b) in enumerate(items)])
    mu = sum(b for _, b in items) / len(items)
    for row in board.iter_rows(named=True):
        lo, hi = sorted([row["mean_bx_score"], mu])
        assert lo - 1e-9 <= row["credible_score"] <= hi + 1e-9
