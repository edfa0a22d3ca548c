"""The thinning behind the Dagster image keeps each curve's ends and every bucket's extremes, at most four rows
a bucket, and two for a flat stretch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

from bx_platform.reports.charts import thin_curves


def test_thin_curves_keeps_ends_and_extremes_in_at_most_four_rows_a_bucket():
    bars = 8_760
    ts = pl.datetime_range(datetime(2018, 1, 1, tzinfo=timezone.utc), datetime(2018, 1, 1, tzinfo=timezone.utc) + timedelta(hours=bars - 1), "1h", eager=True)
    walk = 1e5 * np.cumprod(1 + np.random.default_rng(7).normal(0, 0.01, bars))
    equity = pl.concat([
        pl.DataFrame({"strategy": "walk", "ts": ts, "equity": walk}),
        pl.DataFrame({"strategy": "cash", "ts": ts, "equity": np.full(bars, 1e5)}),
    ])
    thinned = thin_curves(equity, 500)
    walk_rows = thinned.filter(pl.col("strategy") == "walk")
    assert walk_rows.height <= 4 * 500 and thinned.filter(pl.col("strategy") == "cash").height <= 2 * 500
    assert walk_rows["equity"].min() == walk.min() and walk_rows["equity"].max() == walk.max()
    assert walk_rows["ts"].to_list()[0] == ts[0] and walk_rows["ts"].to_list()[-1] == ts[-1]
    assert walk_rows["ts"].is_sorted()
    assert thin_curves(equity, 100_000).height == equity.height  # fewer bars than buckets: every bar
