"""The canonical market-data archive: Parquet files plus a deterministic manifest.

Layout (docs/data.md describes it in full)::

    {archive}/manifest.json
    {archive}/{venue}/{SYMBOL-WITH-DASH}/{timeframe}.parquet      e.g. coinbase/BTC-USD/1h.parquet
    {archive}/binance/BTC-USD-PERP/funding.parquet                 a side table (ts, rate)

Every bar file has ``ts`` (Datetime us UTC, the bar's open time, ascending, unique) and ``open, high, low,
close, volume`` (Float64); FX files add bid/ask OHLC, equity files add ``adj_factor``.
This module only reads and writes; the importers (importers.py) build the files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

import bx_platform
from bx_platform.errors import InputError

MANIFEST_NAME = "manifest.json"
ARCHIVE_FORMAT = "bx-archive/1"
TS_DTYPE = pl.Datetime("us", "UTC")
OHLCV = ("open", "high", "low", "close", "volume")
FX_QUOTE_COLUMNS = (
    "bid_open", "bid_high", "bid_low", "bid_close",
    "ask_open", "ask_high", "ask_low", "ask_close",
)  # fmt: skip
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 9
PARQUET_ROW_GROUP_SIZE = 128 * 1024


@dataclass(frozen=True)
class DatasetInfo:
    """One bar dataset of the archive, as listed in the manifest.

    ``start`` and ``end`` are the open times of the first and the last bar (both inclusive, UTC);
    ``path`` is absolute (the manifest stores it relative to the archive directory).
    """

    venue: str
    symbol: str
    timeframe: str
    path: Path
    start: dt.datetime
    end: dt.datetime
    rows: int
    calendar: str
    asset_class: str
    sha256: str = ""

    @property
    def key(self) -> str:
        return dataset_key(self.venue, self.symbol, self.timeframe)


def default_archive_dir() -> Path:
    """``$BX_ARCHIVE_DIR`` if set, else ``data/archive`` at the repository root."""
    env = os.environ.get("BX_ARCHIVE_DIR")
    if env:
        return Path(env)
    return Path(bx_platform.__file__).resolve().parents[1] / "data" / "archive"


def _dir(archive_dir: Path | str | None) -> Path:
    return Path(archive_dir) if archive_dir is not None else default_archive_dir()


def dataset_key(venue: str, symbol: str, timeframe: str) -> str:
    return f"{venue}:{symbol}:{timeframe}"


def symbol_dir_name(symbol: str) -> str:
    """"BTC/USD" -> "BTC-USD" (the folder name of a symbol)."""
    return symbol.replace("/", "-").replace(":", "-")


def dataset_relpath(venue: str, symbol: str, timeframe: str) -> str:
    return f"{venue}/{symbol_dir_name(symbol)}/{timeframe}.parquet"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical_json(obj: Any) -> str:
    """The canonical JSON used for hashing: sorted keys, no whitespace, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def iso_utc(ts: dt.datetime) -> str:
    """ISO 8601 in UTC with a trailing Z: 2017-07-01T11:00:00Z."""
    return ts.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


# --------------------------------------------------------------------------------------------- writing


def _atomic_write_bytes(target: Path, data: bytes, tmp_dir: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix=".tmp-", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_parquet_atomic(df: pl.DataFrame, target: Path, archive_dir: Path) -> str:
    """Write ``df`` deterministically (same frame, same bytes) and atomically; return its sha256.

    The temporary file lives in the archive root (never inside the dataset's folder, and never named
    *.parquet), so a reader globbing ``**/*.parquet`` can never see a half-written file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    archive_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=archive_dir, prefix=".tmp-", suffix=".partial")
    os.close(fd)
    try:
        df.write_parquet(
            tmp,
            compression=PARQUET_COMPRESSION,
            compression_level=PARQUET_COMPRESSION_LEVEL,
            statistics=True,
            row_group_size=PARQUET_ROW_GROUP_SIZE,
        )
        digest = sha256_file(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return digest


def write_manifest(manifest: dict, archive_dir: Path) -> Path:
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=True, allow_nan=False) + "\n"
    target = archive_dir / MANIFEST_NAME
    _atomic_write_bytes(target, text.encode("ascii"), archive_dir)
    return target


# --------------------------------------------------------------------------------------------- reading


def load_manifest(archive_dir: Path | str | None = None) -> dict:
    """The parsed manifest.json of the archive."""
    path = _dir(archive_dir) / MANIFEST_NAME
    if not path.is_file():
        raise InputError(str(path), "archive manifest not found (run the importer: bx_platform.market.importers)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"archive manifest is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("datasets"), dict):
        raise InputError(str(path), "archive manifest has no 'datasets' object")
    return manifest


def hashed_content(manifest: dict) -> dict:
    """The part of the manifest that ``manifest_hash`` covers: the dataset and side-table entries."""
    return {"datasets": manifest.get("datasets", {}), "tables": manifest.get("tables", {})}


def manifest_hash_of(manifest: dict) -> str:
    return hashlib.sha256(canonical_json(hashed_content(manifest)).encode("ascii")).hexdigest()


def manifest_hash(archive_dir: Path | str | None = None) -> str:
    """sha256 of the canonical JSON of the manifest's dataset entries (and side tables).

    The entries carry each Parquet file's sha256, so equal hashes mean byte-identical data.
    """
    return manifest_hash_of(load_manifest(archive_dir))


def _info(entry: dict, archive_dir: Path) -> DatasetInfo:
    return DatasetInfo(
        venue=entry["venue"],
        symbol=entry["symbol"],
        timeframe=entry["timeframe"],
        path=archive_dir / entry["path"],
        start=parse_iso_utc(entry["start"]),
        end=parse_iso_utc(entry["end"]),
        rows=int(entry["rows"]),
        calendar=entry["calendar"],
        asset_class=entry["asset_class"],
        sha256=entry.get("sha256", ""),
    )


def list_datasets(archive_dir: Path | str | None = None) -> list[DatasetInfo]:
    """Every bar dataset of the archive, sorted by venue, symbol, timeframe."""
    root = _dir(archive_dir)
    manifest = load_manifest(root)
    infos = [_info(e, root) for e in manifest["datasets"].values()]
    return sorted(infos, key=lambda i: (i.venue, i.symbol, i.timeframe))


def find_dataset(venue: str, symbol: str, timeframe: str, archive_dir: Path | str | None = None) -> DatasetInfo:
    """The dataset for venue/symbol/timeframe, or InputError("markets", ...) listing the known ones."""
    infos = list_datasets(archive_dir)
    for info in infos:
        if (info.venue, info.symbol, info.timeframe) == (venue, symbol, timeframe):
            return info
    known = ", ".join(f"{i.venue}:{i.symbol}@{i.timeframe}" for i in infos)
    raise InputError("markets", f"unknown market {venue}:{symbol} at {timeframe}; known: {known}")


def dataset_sha256(info: DatasetInfo, archive_dir: Path | str | None = None) -> str:
    """sha256 of the dataset's Parquet file, re-hashed from disk and checked against the manifest.

    Raises InputError if the file is missing or its bytes differ from what the manifest records.
    """
    if not info.path.is_file():
        raise InputError(str(info.path), "dataset listed in the manifest but its Parquet file is missing")
    digest = sha256_file(info.path)
    if info.sha256 and digest != info.sha256:
        raise InputError(str(info.path), f"file sha256 {digest} differs from the manifest's {info.sha256}")
    return digest


def dataset_entry(venue: str, symbol: str, timeframe: str, archive_dir: Path | str | None = None) -> dict:
    """The full manifest entry (with defects, source and licence) of one dataset."""
    info = find_dataset(venue, symbol, timeframe, archive_dir)
    return load_manifest(archive_dir)["datasets"][info.key]


def _window_bound(value: dt.datetime, where: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise InputError(where, f"expected a timezone-aware datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InputError(where, f"{value.isoformat()} has no time zone (give the window in UTC)")
    return value.astimezone(dt.timezone.utc)


def read_bars(
    venue: str,
    symbol: str,
    timeframe: str,
    start: dt.datetime,
    end: dt.datetime,
    archive_dir: Path | str | None = None,
    adjusted: bool = True,
) -> pl.DataFrame:
    """Bars with ``start <= ts < end`` (tz-aware bounds), ascending by ts.

    Equities with ``adjusted=True`` (the default, and what strategies trade on): open/high/low/close are
    multiplied by ``adj_factor`` and volume divided by it, and the ``adj_factor`` column is dropped (so the
    frame can never be adjusted twice). With ``adjusted=False`` the stored unadjusted prices and the
    ``adj_factor`` column are returned. Other asset classes are returned as stored.
    """
    lo = _window_bound(start, "start")
    hi = _window_bound(end, "end")
    if hi < lo:
        raise InputError("window", f"end {iso_utc(hi)} is before start {iso_utc(lo)}")
    info = find_dataset(venue, symbol, timeframe, archive_dir)
    if not info.path.is_file():
        raise InputError(str(info.path), "dataset listed in the manifest but its Parquet file is missing")
    df = (
        pl.scan_parquet(info.path)
        .filter((pl.col("ts") >= lo) & (pl.col("ts") < hi))
        .sort("ts")
        .collect()
    )
    if adjusted and "adj_factor" in df.columns:
        f = pl.col("adj_factor")
        df = df.with_columns(
            pl.col("open") * f,
            pl.col("high") * f,
            pl.col("low") * f,
            pl.col("close") * f,
            pl.col("volume") / f,
        ).drop("adj_factor")
    return df


def read_dataset(info: DatasetInfo) -> pl.DataFrame:
    """The whole stored (unadjusted) file of a dataset."""
    return pl.read_parquet(info.path)


def read_funding(
    venue: str = "binance", symbol: str = "BTC/USD:PERP", archive_dir: Path | str | None = None
) -> pl.DataFrame:
    """A funding-rate side table (ts, rate)."""
    root = _dir(archive_dir)
    tables = load_manifest(root).get("tables", {})
    for entry in tables.values():
        if entry.get("venue") == venue and entry.get("symbol") == symbol and entry.get("kind") == "funding":
            return pl.read_parquet(root / entry["path"])
    known = ", ".join(f"{e.get('venue')}:{e.get('symbol')}" for e in tables.values()) or "none"
    raise InputError("markets", f"no funding table for {venue}:{symbol}; known: {known}")


def verify_archive(archive_dir: Path | str | None = None) -> list[str]:
    """Problems found re-hashing every file against the manifest (an empty list means all good)."""
    root = _dir(archive_dir)
    manifest = load_manifest(root)
    problems: list[str] = []
    entries = list(manifest["datasets"].items()) + list(manifest.get("tables", {}).items())
    for key, entry in entries:
        path = root / entry["path"]
        if not path.is_file():
            problems.append(f"{key}: file {entry['path']} is missing")
            continue
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            problems.append(f"{key}: sha256 {digest} differs from the manifest's {entry['sha256']}")
    return problems
