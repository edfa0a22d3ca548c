"""League standings (docs/leagues.md): per round and cumulative, with tiers. A pure function of frames.

Per round, a strategy's `rank`, `tier` and `score` are its room's (the round is one job): rank by beta score,
the room's MCS tier, and `score` = its beta score. Cumulative after round r, over the rounds it played up to r:
    cumulative_score = mean of its finite round scores (beta scores)
    cumulative_rank  = rank by cumulative_score, descending, ties by handle (no finite score: last)
    cumulative_tier  = the MCS tier over minus the beta scores of the rounds up to r that every strategy played,
                       as on a long-term board (scoring/leaderboard.py `board_tiers`; under 10 such rounds: tier 1)
"""

from __future__ import annotations

import polars as pl

from bx_platform.scoring.leaderboard import board_tiers

ROUNDS_SCHEMA = {
    "league": pl.String, "round": pl.Date, "job_id": pl.String, "organization": pl.String, "visibility": pl.String,
}
SCORES_SCHEMA = {"job_id": pl.String, "strategy": pl.String, "rank": pl.Int64, "tier": pl.Int64, "beta_score": pl.Float64}
STANDINGS_COLUMNS = (
    "league", "round", "job_id", "organization", "visibility", "strategy", "rank", "score", "tier", "rounds", "cumulative_score", "cumulative_rank",
    "cumulative_tier",
)


def league_standings(rounds: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
    """Standings of every league: one row per (league, round, strategy of that round), by league, round, rank.

    `rounds`: league, round (its window's first day), job_id, organization, visibility; `scores`: job_id, strategy, rank, tier,
    beta_score (the room's rows). A round without scores (not finished, or failed) is not in the standings."""
    played = (
        rounds.select(list(ROUNDS_SCHEMA))
        .join(scores.select(list(SCORES_SCHEMA)), on="job_id", how="inner")
        .with_columns(pl.when(pl.col("beta_score").is_finite()).then(pl.col("beta_score")).alias("score"))
    )
    frames = [
        _round_standings(played.filter(pl.col("league") == league), day)
        for league, day in played.select("league", "round").unique().sort("league", "round").iter_rows()
    ]
    if not frames:
        return pl.DataFrame(schema={**ROUNDS_SCHEMA, **_standings_schema()}).select(list(STANDINGS_COLUMNS))
    return pl.concat(frames).select(list(STANDINGS_COLUMNS)).sort("league", "round", "rank")


def _round_standings(league_rows: pl.DataFrame, day) -> pl.DataFrame:
    """The rows of one round: its room's ranks, with each strategy's standing over the rounds up to it."""
    so_far = league_rows.filter(pl.col("round") <= day)
    cumulative = (
        so_far.group_by("strategy")
        .agg(pl.len().cast(pl.Int64).alias("rounds"), pl.col("score").mean().alias("cumulative_score"))
        .sort(["cumulative_score", "strategy"], descending=[True, False], nulls_last=True)
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("cumulative_rank"))
    )
    tiers, _ = board_tiers(so_far.select(pl.col("strategy").alias("strategy_handle"), "job_id", "beta_score"))
    cumulative = cumulative.with_columns(
        pl.col("strategy").replace_strict(tiers, return_dtype=pl.Int64).alias("cumulative_tier")
    )
    return league_rows.filter(pl.col("round") == day).join(cumulative, on="strategy", how="left")


def _standings_schema() -> dict:
    return {
        "strategy": pl.String, "rank": pl.Int64, "score": pl.Float64, "tier": pl.Int64, "rounds": pl.Int64,
        "cumulative_score": pl.Float64, "cumulative_rank": pl.Int64, "cumulative_tier": pl.Int64,
    }
