"""Leaderboards: pure functions on lists of dicts or Polars frames (docs/scoring.md, "Leaderboards").

room_leaderboard: one Battle Room (job): rank by beta score desc, ties by strategy handle; non-finite last.
long_term_leaderboard: across jobs, credibility-weighted (Bühlmann, with a pessimistic prior): with n finite
BX Scores of a strategy,
    Z = n / (n + k),  credible_score = Z · mean_bx + (1 − Z) · min(mean_bx, population_mean)
where population_mean is the mean of all finite BX Scores on the board (after the visibility filter). A short
record above the board's mean is pulled down towards it, so one lucky session can't top the board; a short
record below the mean keeps its own mean, so few evaluations never lift a strategy; each row carries the strategy's track record (evaluations, eligible share,
violations) as its reputation. public_only drops every row whose visibility is not "public".

A long-term board compares rooms of one market class only (crypto, equities, fx): a Sharpe ratio or a beta
score on a 24/7 crypto market and on a 5 %-volatility FX pair are not the same evidence. With a `market_class`
column, every class is its own board (rank and tier within the class); `tier` is the Model Confidence Set tier
(scoring/tiers.py) over minus the beta scores of the jobs where every strategy of the class was evaluated,
and `tier_jobs` is how many such jobs there are (below tiers.MIN_TIER_OBSERVATIONS all are tier 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from bx_platform.evaluation.luck import seed_from_job_id
from bx_platform.helper_process import offload
from bx_platform.scoring.tiers import mcs_tiers

DEFAULT_CREDIBILITY_K = 5.0

Rows = pl.DataFrame | Sequence[Mapping]


ROOM_SCHEMA = {"job_id": pl.String, "strategy_handle": pl.String, "beta_score": pl.Float64, "visibility": pl.String}
EVALUATION_SCHEMA = {
    "strategy_handle": pl.String, "job_id": pl.String, "bx_score": pl.Float64, "eligible": pl.Boolean,
    "visibility": pl.String,
}


def _frame(rows: Rows, empty_schema: dict) -> pl.DataFrame:
    """A frame of the rows; an empty input gets the minimal schema so the boards still have their columns."""
    if isinstance(rows, pl.DataFrame):
        return rows if rows.width else pl.DataFrame(schema=empty_schema)
    rows = list(rows)
    if not rows:
        return pl.DataFrame(schema=empty_schema)
    return pl.DataFrame(rows, infer_schema_length=None)


def _public(df: pl.DataFrame, public_only: bool) -> pl.DataFrame:
    if not public_only:
        return df
    if "visibility" not in df.columns:
        raise KeyError("public_only needs a 'visibility' column")
    return df.filter(pl.col("visibility") == "public")


def _finite_or_null(col: str) -> pl.Expr:
    c = pl.col(col).cast(pl.Float64)
    return pl.when(c.is_finite()).then(c).otherwise(None)


def room_leaderboard(rows: Rows, *, public_only: bool = False) -> pl.DataFrame:
    """Per job: sort by beta_score desc (NaN/inf last), ties by strategy_handle; add `rank` (1..n per job).

    Needs columns job_id, strategy_handle, beta_score; every other column is passed through.
    """
    df = _public(_frame(rows, ROOM_SCHEMA), public_only)
    return (
        df.with_columns(_finite_or_null("beta_score").alias("_key"))
        .sort(["job_id", "_key", "strategy_handle"], descending=[False, True, False], nulls_last=True)
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("job_id").alias("rank"))
        .drop("_key")
    )


def credibility(n: int, k: float = DEFAULT_CREDIBILITY_K) -> float:
    """Bühlmann credibility Z = n / (n + k)."""
    return n / (n + k)


def long_term_leaderboard(
    evaluations: Rows, *, k: float = DEFAULT_CREDIBILITY_K, public_only: bool = True
) -> pl.DataFrame:
    """Credibility-weighted board across jobs, one row per strategy_handle, ranked.

    Needs columns strategy_handle, job_id, bx_score, eligible (bool), visibility; optional violations (int,
    default 0), market_class and beta_score. Output columns: [market_class,] rank, strategy_handle, tier, tier_jobs,
    evaluations, scored_evaluations, mean_bx_score, credibility, credible_score, eligible_share, violations.
    Sorted by credible_score desc, then handle, within each market class (classes in name order).
    """
    df = _public(_frame(evaluations, EVALUATION_SCHEMA), public_only)
    if "violations" not in df.columns:
        df = df.with_columns(pl.lit(0, dtype=pl.Int64).alias("violations"))
    if "market_class" not in df.columns:
        return _class_board(df, k).select(BOARD_COLUMNS)
    df = df.with_columns(pl.col("market_class").cast(pl.String).fill_null("unknown"))
    classes = sorted(df["market_class"].unique().to_list()) or ["unknown"]
    return pl.concat(
        [
            _class_board(df.filter(pl.col("market_class") == cls), k)
            .with_columns(pl.lit(cls, dtype=pl.String).alias("market_class"))
            .select("market_class", *BOARD_COLUMNS)
            for cls in classes
        ]
    )


BOARD_COLUMNS = (
    "rank", "strategy_handle", "tier", "tier_jobs", "evaluations", "scored_evaluations", "mean_bx_score", "credibility",
    "credible_score", "eligible_share", "violations",
)


def board_tiers(df: pl.DataFrame) -> tuple[dict[str, int], int]:
    """MCS tier of each strategy over minus its beta scores on the jobs every strategy shares, and that count."""
    handles = sorted(df["strategy_handle"].unique().to_list())
    if "beta_score" not in df.columns:
        return dict.fromkeys(handles, 1), 0
    wide = df.filter(pl.col("beta_score").is_finite()).pivot(on="strategy_handle", index="job_id", values="beta_score",
                                                               aggregate_function="first")
    shared = wide.drop_nulls().sort("job_id") if all(h in wide.columns for h in handles) else wide.clear()
    losses = {h: -shared[h].to_numpy().astype(np.float64) for h in handles} if shared.height else {}
    if not losses:
        return dict.fromkeys(handles, 1), 0
    return offload(mcs_tiers, losses, seed_from_job_id("leaderboard/" + ",".join(handles))), shared.height


def _class_board(df: pl.DataFrame, k: float) -> pl.DataFrame:
    """The credibility-weighted board of one set of evaluations, with tiers (see long_term_leaderboard)."""
    df = df.with_columns(_finite_or_null("bx_score").alias("_bx"))
    population_mean = df.select(pl.col("_bx").mean()).item() if df.height else None
    board = df.group_by("strategy_handle").agg(
        pl.len().cast(pl.Int64).alias("evaluations"),
        pl.col("_bx").count().cast(pl.Int64).alias("scored_evaluations"),
        pl.col("_bx").mean().alias("mean_bx_score"),
        pl.col("eligible").cast(pl.Float64).mean().alias("eligible_share"),
        pl.col("violations").cast(pl.Int64).sum().alias("violations"),
    )
    z = pl.col("scored_evaluations") / (pl.col("scored_evaluations") + float(k))
    board = board.with_columns(z.alias("credibility")).with_columns(
        (pl.col("credibility") * pl.col("mean_bx_score").fill_null(0.0)
         + (1.0 - pl.col("credibility"))
         * pl.min_horizontal(pl.col("mean_bx_score"), pl.lit(population_mean, dtype=pl.Float64))).alias("credible_score")
    )
    board = board.sort(["credible_score", "strategy_handle"], descending=[True, False], nulls_last=True)
    board = board.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"))
    if not df.height:
        return board.with_columns(pl.lit(None, dtype=pl.Int64).alias("tier"), pl.lit(0, dtype=pl.Int64).alias("tier_jobs"))
    tiers, shared_jobs = board_tiers(df)
    return board.with_columns(
        pl.col("strategy_handle").replace_strict(tiers, return_dtype=pl.Int64).alias("tier"),
        pl.lit(shared_jobs, dtype=pl.Int64).alias("tier_jobs"),
    )
