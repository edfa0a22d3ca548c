"""read_equity_file errors (each names the file and the problem) and metrics_for_equity on real curves."""

from __future__ import annotations

import gzip
import json
import math

import empyrical as ep
import polars as pl
import pytest

from bx_platform.errors import InputError
from bx_platform.evaluation.equity_file import metrics_for_equity, read_equity_file
from bx_platform.evaluation.luck import probabilistic_sharpe_ratio
from bx_platform.evaluation.metrics import simple_returns

from ._data import stock


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture
def aapl_csv(tmp_path):
    df = stock("AAPL").select(pl.col("Date").cast(pl.String).alias("ts"), pl.col("px").alias("equity"))
    p = tmp_path / "aapl.csv"
    df.write_csv(p)
    return p


@pytest.fixture
def msft_parquet(tmp_path):
    df = stock("MSFT").select(pl.col("Date").alias("ts"), pl.col("px").alias("equity"))
    p = tmp_path / "msft.parquet"
    df.write_parquet(p)
    return p


def test_reads_csv_and_parquet(aapl_csv, msft_parquet):
    a = read_equity_file(aapl_csv)
    m = read_equity_file(msft_parquet)
    assert a.schema == {"ts": pl.Datetime("us", "UTC"), "equity": pl.Float64}
    assert a.height == m.height == 3270
    assert (a["ts"] == m["ts"]).all()


def test_metrics_for_equity_match_empyrical(aapl_csv, msft_parquet):
    a = read_equity_file(aapl_csv)
    b = read_equity_file(msft_parquet)
    out = metrics_for_equity(a, 252, b)
    json.dumps(out, allow_nan=False)
    assert set(out) == {"total_return", "annual_return", "annual_volatility", "sharpe", "sortino", "max_drawdown",
                        "cvar_95", "downside_deviation", "return_to_drawdown", "psr", "alpha", "beta"}
    r = simple_returns(a["equity"].to_numpy())
    br = simple_returns(b["equity"].to_numpy())
    expected = {
        "total_return": ep.cum_returns_final(r),
        "annual_return": ep.annual_return(r, annualization=252),
        "annual_volatility": ep.annual_volatility(r, annualization=252),
        "sharpe": ep.sharpe_ratio(r, annualization=252),
        "sortino": ep.sortino_ratio(r, annualization=252),
        "max_drawdown": -ep.max_drawdown(r),
        "cvar_95": -ep.conditional_value_at_risk(r),
        "downside_deviation": ep.downside_risk(r, annualization=252),
        "return_to_drawdown": ep.calmar_ratio(r, annualization=252),
        "psr": probabilistic_sharpe_ratio(r),
        "alpha": ep.alpha_beta(r, br, annualization=252)[0],
        "beta": ep.alpha_beta(r, br, annualization=252)[1],
    }
    for k, v in expected.items():
        assert out[k] == pytest.approx(v, rel=1e-9), k
    assert "alpha" not in metrics_for_equity(a, 252)


def test_undefined_values_are_json_null(tmp_path):
    p = write(tmp_path, "up.csv", "ts,equity\n2024-01-01,100\n2024-01-02,101\n2024-01-03,102.01\n")
    out = metrics_for_equity(read_equity_file(p), 365)
    assert out["return_to_drawdown"] is None and out["max_drawdown"] == 0.0
    json.dumps(out, allow_nan=False)


def test_accepts_iso_timestamps_with_zone_and_gzip(tmp_path):
    p = tmp_path / "e.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("ts,equity,extra\n2024-01-01T00:00:00+02:00,1,x\n2024-01-01T01:00:00Z,2,y\n"
                 "2024-01-01 02:00:00,3,z\n")
    df = read_equity_file(p)
    assert df["ts"].dt.hour().to_list() == [22, 1, 2]  # +02:00 converted to UTC (previous day 22:00)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("time,equity\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n", "missing column(s) 'ts'"),
        ("ts,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n", "missing column(s) 'equity'"),
        ("ts,equity\nyesterday,1\n2024-01-02,2\n2024-01-03,3\n", "not parsable as timestamps"),
        ("ts,equity\n2024-01-02,1\n2024-01-01,2\n2024-01-03,3\n", "not sorted ascending"),
        ("ts,equity\n2024-01-01,1\n2024-01-01,2\n2024-01-03,3\n", "duplicate timestamp"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,0\n2024-01-03,3\n", "non-positive equity"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,-5\n2024-01-03,3\n", "non-positive equity"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,inf\n2024-01-03,3\n", "non-finite equity"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,NaN\n2024-01-03,3\n", "non-finite equity"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,\n2024-01-03,3\n", "empty value"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,abc\n2024-01-03,3\n", "not numeric"),
        ("ts,equity\n2024-01-01,1\n2024-01-02,2\n", "too few rows"),
    ],
)
def test_bad_files_raise_input_error_naming_file_and_problem(tmp_path, text, problem):
    p = write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError) as e:
        read_equity_file(p)
    assert e.value.where == str(p)
    assert problem in e.value.problem


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_equity_file(tmp_path / "nope.csv")
    p = tmp_path / "x.parquet"
    p.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read as Parquet"):
        read_equity_file(p)


def test_benchmark_must_share_timestamps(aapl_csv, tmp_path):
    a = read_equity_file(aapl_csv)
    with pytest.raises(InputError, match="timestamps differ"):
        metrics_for_equity(a, 252, a.slice(1))
    with pytest.raises(InputError):
        metrics_for_equity(a, 0, None)
    assert math.isfinite(metrics_for_equity(a, 252, a)["beta"])
