"""League standings from rounds and room scores, computed by hand: per-round rows are the room's, the
cumulative score is the mean beta score over the rounds played so far, ranked; unscored rounds are left out."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from bx_platform.scoring.league_standings import STANDINGS_COLUMNS, league_standings


def rounds(*entries) -> pl.DataFrame:
    return pl.DataFrame(
        [{"league": lg, "round": day, "job_id": job, "organization": "org", "visibility": "public"} for lg, day, job in entries],
        schema={"league": pl.String, "round": pl.Date, "job_id": pl.String, "organization": pl.String, "visibility": pl.String},
    )


def scores(*entries) -> pl.DataFrame:
    return pl.DataFrame(
        [{"job_id": job, "strategy": s, "rank": r, "tier": t, "beta_score": b} for job, s, r, t, b in entries],
        schema={"job_id": pl.String, "strategy": pl.String, "rank": pl.Int64, "tier": pl.Int64, "beta_score": pl.Float64},
    )


JAN, FEB, MAR = date(2018, 1, 1), date(2018, 2, 1), date(2018, 3, 1)


def test_per_round_and_cumulative_standings():
    table = league_standings(
        rounds(("l", JAN, "j1"), ("l", FEB, "j2"), ("l", MAR, "j3"), ("other", JAN, "k1")),
        scores(
            ("j1", "a", 1, 1, 3.0), ("j1", "b", 2, 1, 1.0),
            ("j2", "b", 1, 1, 5.0), ("j2", "a", 2, 2, -1.0),
            ("k1", "c", 1, 1, 0.5),
            # j3 has no scores (not finished or failed): no March rows
        ),
    )
    assert table.columns == list(STANDINGS_COLUMNS)
    league = table.filter(pl.col("league") == "l")
    assert league["round"].unique().sort().to_list() == [JAN, FEB]
    feb = {row["strategy"]: row for row in league.filter(pl.col("round") == FEB).to_dicts()}
    assert (feb["b"]["rank"], feb["b"]["score"], feb["b"]["tier"]) == (1, 5.0, 1)
    assert (feb["a"]["rank"], feb["a"]["score"], feb["a"]["tier"]) == (2, -1.0, 2)
    # cumulative after February: b (1 + 5) / 2 = 3.0 ahead of a (3 - 1) / 2 = 1.0
    assert feb["b"]["rounds"] == feb["a"]["rounds"] == 2
    assert feb["b"]["cumulative_score"] == pytest.approx(3.0) and feb["a"]["cumulative_score"] == pytest.approx(1.0)
    assert (feb["b"]["cumulative_rank"], feb["a"]["cumulative_rank"]) == (1, 2)
    jan = {row["strategy"]: row for row in league.filter(pl.col("round") == JAN).to_dicts()}
    assert (jan["a"]["cumulative_rank"], jan["a"]["rounds"], jan["a"]["cumulative_score"]) == (1, 1, 3.0)
    # under 10 shared rounds nothing can be told apart: every cumulative tier is 1
    assert set(league["cumulative_tier"]) == {1}
    assert table.filter(pl.col("league") == "other")["strategy"].to_list() == ["c"]


def test_a_non_finite_round_score_counts_as_played_but_not_in_the_mean():
    table = league_standings(
        rounds(("l", JAN, "j1"), ("l", FEB, "j2")),
        scores(("j1", "a", 1, 1, 2.0), ("j1", "b", 2, 1, 1.0), ("j2", "a", 2, 1, float("nan")), ("j2", "b", 1, 1, 4.0)),
    )
    feb = {row["strategy"]: row for row in table.filter(pl.col("round") == FEB).to_dicts()}
    assert feb["a"]["score"] is None and feb["a"]["rounds"] == 2 and feb["a"]["cumulative_score"] == 2.0
    assert feb["b"]["cumulative_score"] == 2.5 and feb["b"]["cumulative_rank"] == 1


def test_no_rounds_gives_an_empty_table_with_the_columns():
    table = league_standings(rounds(), scores())
    assert table.is_empty() and table.columns == list(STANDINGS_COLUMNS)
