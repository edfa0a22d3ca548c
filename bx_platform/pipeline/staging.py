"""Cut a job's market data out of the archive: its markets, its window, on one shared timestamp grid."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from bx_platform.jobs.spec import JobSpec
from bx_platform.market import archive

BAR_COLUMNS = ["ts", "open", "high", "low", "close", "volume"]
# quotes where the archive has them (OANDA FX), null elsewhere: buys fill at the ask, sells at the bid
QUOTE_COLUMNS = ["bid_open", "ask_open", "bid_close", "ask_close"]


class PinnedDataChanged(Exception):
    """A dataset's bytes at run time differ from what the job pinned at submission."""

    def __init__(self, market: str, path: Path, pinned: str, actual: str):
        super().__init__(
            f"the data of {market} changed after the job was submitted: {path} has sha256 {actual}, "
            f"the job pinned {pinned}"
        )
        self.market, self.path, self.pinned, self.actual = market, path, pinned, actual


def check_pinned_data(record: dict, spec: JobSpec, archive_dir: Path | None = None) -> dict[str, str]:
    """Re-hash every dataset of the job from disk and compare with the hash pinned in its record; raise
    PinnedDataChanged naming both hashes on the first difference. A job runs on the bytes it was admitted on
    or not at all. Returns the hashes checked, per market."""
    checked = {}
    for market in spec.markets:
        info = archive.find_dataset(market.venue, market.symbol, spec.timeframe, archive_dir)
        actual = archive.sha256_file(info.path)
        pinned = record["pinned"]["datasets"][market.key]
        if actual != pinned:
            raise PinnedDataChanged(market.key, info.path, pinned, actual)
        checked[market.key] = actual
    return checked


def job_bars(spec: JobSpec, job_id: str, archive_dir: Path | None = None) -> pl.DataFrame:
    """Long frame (job_id, organization, market, ts, OHLCV) of every market of the job.

    Markets are aligned on the timestamps they all have (bars missing in one market are dropped from all),
    so every strategy sees one grid and the Benchmark Hold buys all markets at the same fill.
    """
    frames = {
        m.key: _with_quotes(
            archive.read_bars(m.venue, m.symbol, spec.timeframe, spec.window.start, spec.window.end, archive_dir)
        )
        for m in spec.markets
    }
    common = None
    for frame in frames.values():
        common = frame.select("ts") if common is None else common.join(frame.select("ts"), on="ts", how="inner")
    return pl.concat(
        [
            frame.join(common, on="ts", how="semi").with_columns(
                job_id=pl.lit(job_id), organization=pl.lit(spec.organization), market=pl.lit(key)
            )
            for key, frame in frames.items()
        ]
    ).select(["job_id", "organization", "market", *BAR_COLUMNS, *QUOTE_COLUMNS])


def _with_quotes(bars: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.Float64).alias(c) for c in QUOTE_COLUMNS if c not in bars.columns]
    return bars.with_columns(missing).select([*BAR_COLUMNS, *QUOTE_COLUMNS])


def bars_by_market(long: pl.DataFrame, spec: JobSpec) -> dict[str, pl.DataFrame]:
    """Split a job's long bar frame back into one frame per market, in the spec's market order."""
    return {m.key: long.filter(pl.col("market") == m.key).sort("ts").select(*BAR_COLUMNS, *QUOTE_COLUMNS) for m in spec.markets}
