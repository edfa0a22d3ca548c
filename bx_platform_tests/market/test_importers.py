"""The importers on the real upstream files: counts, order, defects, equity sessions and adjustment."""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile

import polars as pl
import pytest

from bx_platform.errors import InputError
from bx_platform.market import importers
from bx_platform.market.archive import FX_QUOTE_COLUMNS, OHLCV, list_datasets, read_bars
from bx_platform.market.calendars import xnys_sessions

UTC = dt.timezone.utc

EXPECTED_ROWS = {
    "coinbase:BTC/USD:1h": 20_106,  # 20,111 upstream rows - the 5 repeated rows
    "coinbase:BTC/USD:1d": 1_770,
    "cryptodatadownload:BTC/USD:1h": 33_259,
    "bitstamp:BTC/USD:1d": 1_865,
    "bitstamp:ETH/USD:1d": 788,
    "bitstamp:LTC/USD:1d": 925,
    "coinbase:BTC/USD:1m": 1_440,
    "coinbase:ETH/USD:1m": 1_440,
    "coinbase:LTC/USD:1m": 1_439,
    "us_equities:AAPL:1d": 3_270,
    "us_equities:IBM:1d": 3_270,
    "us_equities:MSFT:1d": 3_270,
    "us_equities:GOOG:1d": 2_148,
    "us_equities:FB:1d": 196,
    "oanda:EUR/USD:1h": 74_439,
}


def t(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def defects_of(manifest: dict, key: str, kind: str) -> list[dict]:
    return [d for d in manifest["datasets"][key]["defects"] if d["kind"] == kind]


def test_every_dataset_present_with_expected_rows(manifest):
    assert {k: v["rows"] for k, v in manifest["datasets"].items()} == EXPECTED_ROWS


def test_every_file_is_canonical(fresh_archive):
    for info in list_datasets(fresh_archive):
        df = pl.read_parquet(info.path)
        assert df.height == info.rows
        assert df.schema["ts"] == pl.Datetime("us", "UTC"), info.key
        for c in OHLCV:
            assert df.schema[c] == pl.Float64, (info.key, c)
        assert df["ts"].is_sorted() and df["ts"].n_unique() == df.height, info.key
        assert df.null_count().sum_horizontal().item() == 0, info.key
        assert df["ts"][0] == info.start and df["ts"][-1] == info.end
        for d in importers.canonicalize(df, timeframe=info.timeframe, calendar=info.calendar,
                                        value_cols=[c for c in df.columns if c != "ts"])[1]:
            assert d["kind"] not in ("out_of_order", "duplicate_timestamps", "repeated_rows", "invalid_values"), (info.key, d)


def test_daily_crypto_bars_open_at_midnight_utc(fresh_archive):
    for info in list_datasets(fresh_archive):
        if info.asset_class == "crypto" and info.timeframe == "1d":
            ts = pl.read_parquet(info.path)["ts"]
            assert (ts.dt.hour() == 0).all() and (ts.dt.minute() == 0).all()


def test_coinbase_repeated_rows_detected_dropped_and_left_as_gap(manifest, fresh_archive):
    key = "coinbase:BTC/USD:1h"
    [rep] = defects_of(manifest, key, "repeated_rows")
    assert rep["rows"] == 5
    assert rep["examples"] == [f"2017-11-12T0{h}:00:00Z" for h in range(4, 9)]
    assert "dropped" in rep["action"]
    [ooo] = defects_of(manifest, key, "out_of_order")
    assert ooo["rows"] == 5 and "sorted" in ooo["action"]
    [gap] = defects_of(manifest, key, "gap")
    assert gap["runs"] == [{"from": "2017-11-12T04:00:00Z", "to": "2017-11-12T08:00:00Z", "bars": 5}]
    df = read_bars("coinbase", "BTC/USD", "1h", t(2017, 11, 11, 22), t(2017, 11, 12, 11), fresh_archive)
    assert df["ts"].dt.hour().to_list() == [22, 23, 0, 1, 2, 3, 9, 10]
    # the kept 03:00 bar is the original, which the next kept bar continues
    assert df.filter(pl.col("ts") == t(2017, 11, 12, 3))["close"].item() == 6201.0


def test_repeated_run_detection_is_generic():
    base = t(2020, 1, 1)
    rows = []
    for i in range(12):
        rows.append({"ts": base + dt.timedelta(hours=i), "open": 100.0 + i, "high": 101.0 + i,
                     "low": 99.0 + i, "close": 100.5 + i, "volume": 10.0 + i})
    for j, i in enumerate(range(6, 9)):  # hours 6..8 repeat hours 2..4
        rows[i] = {**rows[2 + j], "ts": rows[i]["ts"]}
    df = pl.DataFrame(rows).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    out, defects = importers.canonicalize(df, timeframe="1h", calendar="24/7", value_cols=list(OHLCV))
    [rep] = [d for d in defects if d["kind"] == "repeated_rows"]
    assert rep["rows"] == 3 and rep["examples"][0] == "2020-01-01T06:00:00Z"
    assert out.height == 9
    # two equal bars are not a run: kept
    df2 = pl.DataFrame(rows[:8]).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    df2 = df2.filter(pl.col("ts") != base + dt.timedelta(hours=8))
    _, d2 = importers.canonicalize(df2.head(8), timeframe="1h", calendar="24/7", value_cols=list(OHLCV))
    assert [d for d in d2 if d["kind"] == "repeated_rows"] == []


def test_duplicate_timestamps_keep_first_in_file_order():
    ts = [t(2020, 1, 1, 2), t(2020, 1, 1, 1), t(2020, 1, 1, 1), t(2020, 1, 1, 0)]
    df = pl.DataFrame({"ts": ts, "open": [3.0, 2.0, 9.0, 1.0], "high": [3.0, 2.0, 9.0, 1.0],
                       "low": [3.0, 2.0, 9.0, 1.0], "close": [3.0, 2.0, 9.0, 1.0], "volume": [1.0] * 4})
    out, defects = importers.canonicalize(df, timeframe="1h", calendar="24/7", value_cols=list(OHLCV))
    assert out["open"].to_list() == [1.0, 2.0, 3.0]
    [dup] = [d for d in defects if d["kind"] == "duplicate_timestamps"]
    assert dup["rows"] == 1 and dup["examples"] == ["2020-01-01T01:00:00Z"]


def test_swapped_volume_detected_and_swapped_back(manifest, fresh_archive):
    key = "cryptodatadownload:BTC/USD:1h"
    [sw] = defects_of(manifest, key, "swapped_volume")
    assert 19_000 < sw["rows"] < 21_000
    assert sw["action"].startswith("swapped back")
    # upstream row 2018-05-15 06:00: volume=4906603.14 (USD), Volume USD=559.93 (BTC)
    row = read_bars("cryptodatadownload", "BTC/USD", "1h", t(2018, 5, 15, 6), t(2018, 5, 15, 7), fresh_archive)
    assert row["volume"].item() == pytest.approx(559.93)
    # after the fix, base volume x close is a plausible USD amount everywhere (not BTC-sized or squared)
    df = pl.read_parquet(fresh_archive / manifest["datasets"][key]["path"]).filter(pl.col("volume") > 0)
    assert df.select((pl.col("volume") < 20_000).all()).item()


def test_swap_detection_on_a_small_file(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text(
        "unix,date,symbol,open,high,low,close,volume,Volume USD\n"
        "1600005600,2020-09-13 14:00:00,BTC/USD,100,110,90,100,5,500\n"
        "1600002000,2020-09-13 13:00:00,BTC/USD,100,110,90,100,300,3\n"
        "1599998400,2020-09-13 12:00:00,BTC/USD,100,110,90,100,2,200\n"
    )
    df, defects = importers.read_cryptodatadownload_csv(p, "1h")
    assert df["volume"].to_list() == [2.0, 3.0, 5.0]
    assert [d["kind"] for d in defects] == ["swapped_volume"]
    assert defects[0]["examples"] == ["2020-09-13T13:00:00Z"]


def test_daily_hole_listed_as_gap_and_kept(manifest):
    for key in ("coinbase:BTC/USD:1d", "bitstamp:BTC/USD:1d"):
        [gap] = defects_of(manifest, key, "gap")
        assert gap["runs"] == [{"from": "2019-03-20T00:00:00Z", "to": "2019-03-31T00:00:00Z", "bars": 12}]
        assert "kept" in gap["action"]


def test_no_ohlc_inconsistency_in_upstream_files(manifest):
    for key, entry in manifest["datasets"].items():
        assert not [d for d in entry["defects"] if d["kind"] == "ohlc_inconsistent"], key


def test_equity_ts_is_the_xnys_session_open(fresh_archive):
    sessions = xnys_sessions()
    for ticker in ("AAPL", "IBM", "MSFT", "GOOG", "FB"):
        df = read_bars("us_equities", ticker, "1d", t(2000, 1, 1), t(2014, 1, 1), fresh_archive, adjusted=False)
        assert df.join(sessions, left_on="ts", right_on="open", how="anti").height == 0, ticker
    aapl = read_bars("us_equities", "AAPL", "1d", t(2005, 1, 1), t(2005, 12, 31), fresh_archive, adjusted=False)
    winter = aapl.filter(pl.col("ts").dt.date() == dt.date(2005, 2, 28))["ts"].item()
    summer = aapl.filter(pl.col("ts").dt.date() == dt.date(2005, 7, 1))["ts"].item()
    assert (winter.hour, winter.minute) == (14, 30)
    assert (summer.hour, summer.minute) == (13, 30)
    assert aapl.filter(pl.col("ts").dt.date() == dt.date(2005, 7, 4)).height == 0  # Independence Day


def test_adj_factor_around_aapl_split(fresh_archive):
    raw = read_bars("us_equities", "AAPL", "1d", t(2005, 2, 25), t(2005, 3, 1), fresh_archive, adjusted=False)
    adj = read_bars("us_equities", "AAPL", "1d", t(2005, 2, 25), t(2005, 3, 1), fresh_archive)
    assert raw.height == 2 and "adj_factor" in raw.columns and "adj_factor" not in adj.columns
    before, after = raw.row(0, named=True), raw.row(1, named=True)
    assert after["adj_factor"] / before["adj_factor"] == pytest.approx(2.0, rel=1e-3)
    assert after["close"] / before["close"] == pytest.approx(0.504, abs=0.01)  # the raw 2:1 split drop
    adj_return = adj["close"][1] / adj["close"][0] - 1
    assert abs(adj_return) < 0.02  # no fake -50 % loss on the adjusted series
    assert adj["volume"][1] == pytest.approx(raw["volume"][1] / after["adj_factor"])
    full = pl.read_parquet(list(p for p in fresh_archive.glob("us_equities/*/1d.parquet")))
    assert full.select(((pl.col("adj_factor") > 0) & (pl.col("adj_factor") <= 1.0 + 1e-9)).all()).item()


def test_fx_mid_bid_ask_and_calendar(manifest, fresh_archive):
    entry = manifest["datasets"]["oanda:EUR/USD:1h"]
    assert entry["calendar"] == "24x5" and entry["asset_class"] == "fx"
    df = pl.read_parquet(fresh_archive / entry["path"])
    for c in FX_QUOTE_COLUMNS:
        assert c in df.columns
    for x in ("open", "high", "low", "close"):
        assert (df[x] - (df[f"bid_{x}"] + df[f"ask_{x}"]) / 2).abs().max() < 1e-12
    assert (df["volume"] == 0.0).all()
    kinds = {d["kind"] for d in entry["defects"]}
    assert "off_calendar" not in kinds  # every bar lies in the Sun 17:00 - Fri 17:00 New York week
    assert "gap" in kinds  # holidays


def test_lean_minute_one_utc_day(manifest, fresh_archive):
    for sym in ("BTC/USD", "ETH/USD", "LTC/USD"):
        info = [i for i in list_datasets(fresh_archive) if i.symbol == sym and i.timeframe == "1m"][0]
        assert info.start == t(2018, 4, 5) and info.end == t(2018, 4, 5, 23, 59)
    [gap] = defects_of(manifest, "coinbase:LTC/USD:1m", "gap")
    assert gap["rows"] == 1


def test_funding_table(manifest, fresh_archive):
    from bx_platform.market.archive import read_funding

    df = read_funding("binance", "BTC/USD:PERP", fresh_archive)
    assert df.height == 12 and df.columns == ["ts", "rate"]
    assert df["ts"][0] == t(2020, 12, 29) and df["rate"][0] == pytest.approx(0.0002003)


def test_manifest_records_sources_and_licences(manifest):
    for key, entry in manifest["datasets"].items():
        src = entry["source"]
        assert len(src["sha256"]) == 64 and src["licence"] != "unknown" and src["upstream"], key
        assert entry["calendar"] in ("24/7", "XNYS", "24x5")
        assert entry["asset_class"] in ("crypto", "equity", "fx")


# ----------------------------------------------------------------------------------- malformed input


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(InputError) as err:
        importers.read_cryptodatadownload_csv(tmp_path / "nope.csv", "1h")
    assert "nope.csv" in str(err.value)


def test_non_numeric_price_names_the_file(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("date,symbol,open,high,low,close,volume_btc,volume\n2019-10-17,BTCUSD,abc,2,1,1,1,1\n")
    with pytest.raises(InputError) as err:
        importers.read_cryptodatadownload_csv(p, "1d")
    assert "bad.csv" in err.value.where and "open" in err.value.problem


def test_bad_timestamps_name_the_file(tmp_path):
    p = tmp_path / "bad_ts.csv"
    p.write_text("date,symbol,open,high,low,close,volume_btc,volume\n17/10/2019,BTCUSD,1,2,1,1,1,1\n")
    with pytest.raises(InputError, match="bad_ts.csv"):
        importers.read_cryptodatadownload_csv(p, "1d")


def test_not_a_zip(tmp_path):
    p = tmp_path / "x.zip"
    p.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="x.zip"):
        importers.read_lean_quote_bar_zip(p)


def test_zip_with_wrong_columns(tmp_path):
    p = tmp_path / "20180405_btcusd_minute_trade.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("20180405_btcusd_minute_trade.csv", "0,1,2,3\n")
    with pytest.raises(InputError, match="expected 6 columns"):
        importers.read_lean_minute_zip(p)


def test_equity_file_missing_columns(tmp_path):
    p = tmp_path / "s.csv.gz"
    p.write_bytes(gzip.compress(b"Ticker,Date,Open\nAAPL,2000-03-01,1\n"))
    with pytest.raises(InputError, match="missing column"):
        importers.read_us_stocks_long(p)


def test_wide_file_unexpected_column(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text(",BTC:open,BTC:foo\n2019-01-01,1,2\n")
    with pytest.raises(InputError, match="BTC:foo"):
        importers.read_bitstamp_wide_daily(p)
