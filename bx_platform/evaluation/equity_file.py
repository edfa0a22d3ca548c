"""Equity curves brought by users (``bx metrics --equity FILE``): reading, validation, metrics.

A file is Parquet (``.parquet``/``.pq``) or CSV (anything else; gzip-compressed CSV is accepted) with the
columns ``ts`` and ``equity`` (other columns are ignored). ``ts`` is a datetime or a string in ISO 8601
(a date alone is midnight); naive times are taken as UTC, zoned ones converted to UTC. Every problem is an
:class:`bx_platform.errors.InputError` naming the file: missing file, unreadable file, missing column,
unparsable ts, null values, unsorted or duplicate timestamps, non-finite or non-positive equity, fewer
than 3 rows (2 returns: the least for a standard deviation).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from bx_platform.errors import InputError
from bx_platform.evaluation import metrics as M
from bx_platform.evaluation.luck import probabilistic_sharpe_ratio

__all__ = ["MIN_ROWS", "read_equity_file", "metrics_for_equity"]

MIN_ROWS = 3
_TS = pl.Datetime("us", "UTC")


def _parse_iso_elementwise(s: pl.Series) -> pl.Series | None:
    """Fallback for columns mixing ISO 8601 forms (offsets, 'Z', naive): datetime.fromisoformat per value."""
    from datetime import datetime, timezone

    vals = []
    for v in s.to_list():
        try:
            d = datetime.fromisoformat(v)
        except ValueError:
            return None
        vals.append(d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc))
    return pl.Series(s.name, vals, dtype=_TS)


def _parse_ts(s: pl.Series, where: str) -> pl.Series:
    dtype = s.dtype
    if isinstance(dtype, pl.Datetime):
        return s.dt.replace_time_zone("UTC") if dtype.time_zone is None else s.dt.convert_time_zone("UTC")
    if dtype == pl.Date:
        return s.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    if dtype == pl.String:
        if s.null_count():
            raise InputError(where, "column 'ts' has empty values")
        for attempt in (
            lambda: s.str.to_datetime(time_zone="UTC", strict=True),
            lambda: s.str.to_datetime(strict=True),
            lambda: s.str.to_date(strict=True).cast(pl.Datetime("us")),
        ):
            try:
                out = attempt()
            except Exception:  # noqa: BLE001 - try the next format
                continue
            if out.null_count():
                continue
            return _parse_ts(out, where)
        out = _parse_iso_elementwise(s)
        if out is not None:
            return _parse_ts(out, where)
        bad = s[0]
        raise InputError(where, f"column 'ts' is not parsable as timestamps (e.g. {bad!r})")
    raise InputError(where, f"column 'ts' has type {dtype}, expected timestamps")


def read_equity_file(path) -> pl.DataFrame:
    """Read and validate an equity curve file; returns ``ts`` (Datetime us UTC), ``equity`` (Float64)."""
    p = Path(path)
    where = str(p)
    if p.is_dir():
        raise InputError(where, "is a folder, not a file")
    if not p.is_file():
        raise InputError(where, "file not found")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            df = pl.read_parquet(p)
        else:
            df = pl.read_csv(p, try_parse_dates=False, infer_schema_length=10000)
    except Exception as e:  # noqa: BLE001 - any reader failure is the file's problem
        raise InputError(where, f"cannot read as {'Parquet' if p.suffix.lower() in ('.parquet', '.pq') else 'CSV'}: "
                                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    missing = [c for c in ("ts", "equity") if c not in df.columns]
    if missing:
        raise InputError(where, f"missing column(s) {', '.join(repr(c) for c in missing)} "
                                f"(found {', '.join(repr(c) for c in df.columns) or 'none'})")
    ts = _parse_ts(df["ts"], where).cast(_TS)
    if ts.null_count():
        raise InputError(where, "column 'ts' has empty values")
    try:
        eq = df["equity"].cast(pl.Float64, strict=True)
    except Exception:  # noqa: BLE001
        raise InputError(where, "column 'equity' is not numeric") from None
    if eq.null_count():
        raise InputError(where, f"column 'equity' has {eq.null_count()} empty value(s)")
    if df.height < MIN_ROWS:
        raise InputError(where, f"too few rows: {df.height}, need at least {MIN_ROWS}")
    t = ts.dt.epoch("us").to_numpy()
    dt = np.diff(t)
    if (dt == 0).any():
        i = int(np.flatnonzero(dt == 0)[0]) + 1
        raise InputError(where, f"duplicate timestamp {ts[i]} at data row {i + 1}")
    if (dt < 0).any():
        i = int(np.flatnonzero(dt < 0)[0]) + 1
        raise InputError(where, f"timestamps not sorted ascending: {ts[i]} at data row {i + 1} follows {ts[i - 1]}")
    e = eq.to_numpy()
    bad = ~np.isfinite(e)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(where, f"non-finite equity {e[i]} at data row {i + 1}")
    if (e <= 0).any():
        i = int(np.flatnonzero(e <= 0)[0])
        raise InputError(where, f"non-positive equity {e[i]} at data row {i + 1}")
    return pl.DataFrame({"ts": ts, "equity": eq})


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def metrics_for_equity(equity_df: pl.DataFrame, periods_per_year: float, benchmark_df: pl.DataFrame | None = None
                       ) -> dict:
    """Return-based metrics of an equity curve as a JSON-ready dict.

    Keys: ``total_return, annual_return, annual_volatility, sharpe, sortino, max_drawdown, cvar_95,
    downside_deviation, return_to_drawdown, psr`` and, with a benchmark, ``alpha, beta``. Definitions are
    those of :mod:`bx_platform.evaluation.metrics` (empyrical-reloaded's, zero risk-free rate, the given
    periods per year; ``max_drawdown`` and ``cvar_95`` positive loss fractions; ``psr`` against SR* = 0).
    A value that is undefined (e.g. Sharpe of a constant curve, return-to-drawdown without drawdown) is
    ``None`` (JSON null). The benchmark must have exactly the same timestamps (InputError otherwise)."""
    if periods_per_year is None or not periods_per_year > 0:
        raise InputError("--periods-per-year", f"must be a positive number, got {periods_per_year!r}")
    r = M.simple_returns(equity_df["equity"].cast(pl.Float64).to_numpy())
    bench = None
    if benchmark_df is not None:
        if benchmark_df.height != equity_df.height or not (
            benchmark_df["ts"].cast(_TS) == equity_df["ts"].cast(_TS)
        ).all():
            raise InputError("benchmark", f"timestamps differ from the equity curve's "
                                          f"({benchmark_df.height} vs {equity_df.height} rows, must match one to one)")
        bench = M.simple_returns(benchmark_df["equity"].cast(pl.Float64).to_numpy())
    s = M.summary(r, periods_per_year, bench)
    out = {
        "total_return": s["total_return"],
        "annual_return": s["annual_return"],
        "annual_volatility": s["annual_volatility"],
        "sharpe": s["sharpe"],
        "sortino": s["sortino"],
        "max_drawdown": s["max_drawdown"],
        "cvar_95": s["cvar_95"],
        "downside_deviation": s["downside_deviation"],
        "return_to_drawdown": s["return_to_drawdown"],
        "psr": probabilistic_sharpe_ratio(r, 0.0),
    }
    if bench is not None:
        out["alpha"], out["beta"] = s["alpha"], s["beta"]
    return {k: _json_float(v) for k, v in out.items()}
