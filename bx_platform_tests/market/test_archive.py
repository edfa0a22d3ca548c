"""The archive: determinism, the committed copy, reading windows, lookup errors."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from bx_platform.errors import InputError
from bx_platform.market import archive
from bx_platform.market.archive import (
    DatasetInfo,
    default_archive_dir,
    find_dataset,
    list_datasets,
    load_manifest,
    manifest_hash,
    read_bars,
    verify_archive,
)
from bx_platform.market.importers import import_archive

UTC = dt.timezone.utc


def t(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_is_deterministic(source_dir, fresh_archive, tmp_path):
    again = tmp_path / "again"
    manifest = import_archive(source_dir, again, progress=lambda _m: None)
    assert _files(again) == _files(fresh_archive)  # byte-identical Parquet files and manifest
    assert manifest_hash(again) == manifest_hash(fresh_archive) == manifest["manifest_hash"]
    assert not [p for p in again.rglob("*") if ".tmp-" in p.name]  # no temporary file left behind


def test_manifest_has_no_wall_clock_and_is_sorted(fresh_archive):
    text = (fresh_archive / "manifest.json").read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert "created" not in text and "generated_at" not in text


def test_committed_archive_matches_a_fresh_import(fresh_archive, monkeypatch):
    monkeypatch.delenv("BX_ARCHIVE_DIR", raising=False)
    committed = default_archive_dir()
    assert (committed / "manifest.json").is_file(), "run: python -m bx_platform.market.importers"
    assert manifest_hash(committed) == manifest_hash(fresh_archive)
    assert verify_archive(committed) == []


def test_default_archive_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("BX_ARCHIVE_DIR", str(tmp_path))
    assert default_archive_dir() == tmp_path
    monkeypatch.delenv("BX_ARCHIVE_DIR")
    assert default_archive_dir().parts[-2:] == ("data", "archive")


def test_list_datasets(fresh_archive):
    infos = list_datasets(fresh_archive)
    assert len(infos) == 15
    info = find_dataset("coinbase", "BTC/USD", "1h", fresh_archive)
    assert isinstance(info, DatasetInfo)
    assert (info.calendar, info.asset_class, info.rows) == ("24/7", "crypto", 20_106)
    assert info.start == t(2017, 7, 1, 11) and info.end == t(2019, 10, 17, 9)
    assert info.path == fresh_archive / "coinbase" / "BTC-USD" / "1h.parquet"
    with pytest.raises(Exception):
        info.rows = 1  # frozen


def test_find_dataset_error_lists_known_markets(fresh_archive):
    with pytest.raises(InputError) as err:
        find_dataset("coinbase", "XYZ/USD", "1h", fresh_archive)
    assert err.value.where == "markets"
    assert err.value.problem.startswith("unknown market coinbase:XYZ/USD at 1h; known: ")
    assert "coinbase:BTC/USD@1h" in err.value.problem and "oanda:EUR/USD@1h" in err.value.problem


def test_read_bars_window_is_half_open(fresh_archive):
    df = read_bars("coinbase", "BTC/USD", "1h", t(2019, 1, 1), t(2019, 1, 2), fresh_archive)
    assert df.height == 24
    assert df["ts"][0] == t(2019, 1, 1) and df["ts"][-1] == t(2019, 1, 1, 23)
    assert df.columns == ["ts", "open", "high", "low", "close", "volume"]
    # bounds in another time zone are converted, not misread
    cet = dt.timezone(dt.timedelta(hours=1))
    df2 = read_bars("coinbase", "BTC/USD", "1h", dt.datetime(2019, 1, 1, 1, tzinfo=cet),
                    dt.datetime(2019, 1, 2, 1, tzinfo=cet), fresh_archive)
    assert df2.equals(df)
    empty = read_bars("coinbase", "BTC/USD", "1h", t(2030, 1, 1), t(2030, 1, 2), fresh_archive)
    assert empty.height == 0 and empty.schema == df.schema


def test_read_bars_rejects_naive_and_reversed_windows(fresh_archive):
    with pytest.raises(InputError, match="no time zone"):
        read_bars("coinbase", "BTC/USD", "1h", dt.datetime(2019, 1, 1), t(2019, 1, 2), fresh_archive)
    with pytest.raises(InputError, match="before start"):
        read_bars("coinbase", "BTC/USD", "1h", t(2019, 1, 2), t(2019, 1, 1), fresh_archive)


def test_read_bars_adjusts_equities_only_when_asked(fresh_archive):
    raw = read_bars("us_equities", "MSFT", "1d", t(2010, 1, 1), t(2010, 2, 1), fresh_archive, adjusted=False)
    adj = read_bars("us_equities", "MSFT", "1d", t(2010, 1, 1), t(2010, 2, 1), fresh_archive)
    assert raw.height == adj.height == 19
    assert (adj["close"] - raw["close"] * raw["adj_factor"]).abs().max() < 1e-9
    # crypto and FX: adjusted=True changes nothing
    a = read_bars("oanda", "EUR/USD", "1h", t(2010, 1, 4), t(2010, 1, 5), fresh_archive)
    b = read_bars("oanda", "EUR/USD", "1h", t(2010, 1, 4), t(2010, 1, 5), fresh_archive, adjusted=False)
    assert a.equals(b) and "bid_close" in a.columns


def test_verify_archive_detects_tampering(fresh_archive, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(fresh_archive, copy)
    path = copy / "bitstamp" / "ETH-USD" / "1d.parquet"
    df = pl.read_parquet(path)
    df.with_columns(pl.col("close") * 1.01).write_parquet(path)
    problems = verify_archive(copy)
    assert len(problems) == 1 and "bitstamp:ETH/USD:1d" in problems[0]


def test_missing_manifest_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="manifest not found"):
        load_manifest(tmp_path)


def test_manifest_hash_covers_dataset_entries(fresh_archive):
    m = load_manifest(fresh_archive)
    assert archive.manifest_hash_of(m) == manifest_hash(fresh_archive)
    m["datasets"]["coinbase:BTC/USD:1h"]["rows"] += 1
    assert archive.manifest_hash_of(m) != manifest_hash(fresh_archive)


def test_dataset_sha256_rehashes_and_checks(fresh_archive, tmp_path):
    import shutil

    info = find_dataset("bitstamp", "LTC/USD", "1d", fresh_archive)
    assert archive.dataset_sha256(info, fresh_archive) == info.sha256
    copy = tmp_path / "c"
    shutil.copytree(fresh_archive, copy)
    info2 = find_dataset("bitstamp", "LTC/USD", "1d", copy)
    info2.path.write_bytes(info2.path.read_bytes() + b"x")
    with pytest.raises(InputError, match="differs from the manifest"):
        archive.dataset_sha256(info2, copy)
