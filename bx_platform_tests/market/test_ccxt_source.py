"""ccxt offline: ccxt's own request building and parsing, replayed against recorded Binance traffic."""

from __future__ import annotations

import datetime as dt

import ccxt
import polars as pl
import pytest

from bx_platform.market.archive import read_bars
from bx_platform.market.ccxt_source import CcxtSource, candles_to_frame, fetch_ohlcv_range
from bx_platform.market.replay import (
    KlinesPager,
    RecordedTransport,
    UnexpectedRequest,
    load_json,
    offline_binance,
    split_url,
)

UTC = dt.timezone.utc
SPOT_KLINES = "https://api.binance.com/api/v3/klines"
H = 3_600_000


@pytest.fixture(scope="module")
def markets(ccxt_dir):
    return load_json(ccxt_dir / "binance_markets.json")


@pytest.fixture(scope="module")
def requests_recorded(ccxt_dir):
    return load_json(ccxt_dir / "binance_requests.json")


@pytest.fixture(scope="module")
def responses_recorded(ccxt_dir):
    return load_json(ccxt_dir / "binance_fetchOHLCV_fetchTrades_responses.json")


def _request_cases(ccxt_dir):
    data = load_json(ccxt_dir / "binance_requests.json")
    return [(method, case) for method in ("fetchOHLCV", "fetchTrades") for case in data[method]]


def test_request_urls_equal_the_recorded_ones(markets, requests_recorded):
    checked = 0
    for method in ("fetchOHLCV", "fetchTrades"):
        for case in requests_recorded[method]:
            endpoint, query = split_url(case["url"])
            transport = RecordedTransport().add(endpoint, [])
            exchange = offline_binance(markets, transport)
            call = getattr(exchange, method)
            if case["input"][0] not in markets:
                # the recorded markets do not list it: ccxt refuses before any HTTP request
                with pytest.raises(ccxt.BadSymbol):
                    call(*case["input"])
                assert transport.calls == []
                continue
            call(*case["input"])
            assert len(transport.calls) == 1, case["description"]
            made = transport.calls[0]
            assert made.method == "GET"
            assert made.endpoint == endpoint, case["description"]
            assert made.query == query, case["description"]
            checked += 1
    assert checked == 18


def test_parsed_responses_equal_the_recorded_ones(markets, responses_recorded):
    endpoints = {
        "fetchOHLCV": [SPOT_KLINES, "https://dapi.binance.com/dapi/v1/indexPriceKlines",
                       "https://fapi.binance.com/fapi/v1/klines"],
        "fetchTrades": ["https://api.binance.com/api/v3/aggTrades"],
    }
    for method, cases in responses_recorded["methods"].items():
        for case in cases:
            transport = RecordedTransport()
            for ep in endpoints[method]:
                transport.add(ep, case["httpResponse"])
            exchange = offline_binance(markets, transport)
            parsed = getattr(exchange, method)(*case["input"])
            assert parsed == case["parsedResponse"], case["description"]
            assert len(transport.calls) == 1


def test_unknown_url_raises_and_no_network_is_possible(markets):
    exchange = offline_binance(markets, RecordedTransport())
    with pytest.raises(UnexpectedRequest):
        exchange.fetch_ohlcv("BTC/USDT", "1h", 1706628191000, 3)
    with pytest.raises(UnexpectedRequest):
        exchange.session.request("GET", "https://api.binance.com/api/v3/time")


def _recorded_spot(responses_recorded):
    return responses_recorded["methods"]["fetchOHLCV"][0]


def test_pagination_over_recorded_candles(markets, responses_recorded):
    case = _recorded_spot(responses_recorded)
    pager = KlinesPager(case["httpResponse"])
    transport = RecordedTransport().add(SPOT_KLINES, pager)
    exchange = offline_binance(markets, transport)
    since = case["input"][2]
    df = fetch_ohlcv_range(exchange, "BTC/USDT", "1h", since, since + 10 * H, limit=1)
    assert df.height == 3
    assert df.equals(candles_to_frame(case["parsedResponse"]))
    # page by page: startTime advances by one timeframe past the last candle, then an empty page ends it
    starts = [int(q["startTime"]) for q in pager.requests]
    opens = [c[0] for c in case["httpResponse"]]
    assert starts == [since, opens[0] + H, opens[1] + H, opens[2] + H]
    assert all(q["limit"] == "1" for q in pager.requests)


def test_pagination_stops_at_until_and_filters(markets, responses_recorded):
    case = _recorded_spot(responses_recorded)
    pager = KlinesPager(case["httpResponse"])
    exchange = offline_binance(markets, RecordedTransport().add(SPOT_KLINES, pager))
    opens = [c[0] for c in case["httpResponse"]]
    df = fetch_ohlcv_range(exchange, "BTC/USDT", "1h", opens[0], opens[2], limit=1)
    assert df["ts"].dt.epoch("ms").to_list() == opens[:2]
    assert len(pager.requests) == 2  # no request beyond until


def _as_binance_klines(df: pl.DataFrame) -> list[list]:
    out = []
    for r in df.iter_rows(named=True):
        ms = int(r["ts"].timestamp() * 1000)
        out.append([ms, repr(r["open"]), repr(r["high"]), repr(r["low"]), repr(r["close"]), repr(r["volume"]),
                    ms + H - 1, "0", 0, "0", "0", "0"])
    return out


def test_pagination_over_many_real_candles_with_overlap_and_gap(markets, fresh_archive):
    """2,500 real Coinbase hours (including the 2017-11-12 gap) served 1,000 at a time."""
    start = dt.datetime(2017, 10, 1, tzinfo=UTC)
    end = dt.datetime(2017, 10, 1, tzinfo=UTC) + dt.timedelta(hours=2500)
    truth = read_bars("coinbase", "BTC/USD", "1h", start, end, fresh_archive)
    pager = KlinesPager(_as_binance_klines(truth))

    def overlapping(query):  # a server that also re-sends the previous candle: must be de-duplicated
        q = dict(query)
        q["startTime"] = str(int(q["startTime"]) - H)
        return pager(q)

    assert truth.height == 2495  # 2,500 hours minus the 5 dropped repeated hours
    for handler in (pager, overlapping):
        pager.requests.clear()
        exchange = offline_binance(markets, RecordedTransport().add(SPOT_KLINES, handler))
        source = CcxtSource(exchange, limit=1000)
        df = source.fetch_bars("BTC/USDT", "1h", start, end)
        assert df.equals(truth)
        # 3 pages of <= 1000; the last page reaches `end`, so no further request is made
        assert len(pager.requests) == 3


def test_pagination_stops_when_no_progress(markets, responses_recorded):
    case = _recorded_spot(responses_recorded)
    same_page = case["httpResponse"]
    transport = RecordedTransport().add(SPOT_KLINES, lambda q: same_page)  # ignores startTime
    exchange = offline_binance(markets, transport)
    first = same_page[0][0]
    df = fetch_ohlcv_range(exchange, "BTC/USDT", "1h", first, first + 100 * H, limit=3)
    assert df.height == 3
    assert len(transport.calls) == 2  # second page made no progress: stop


def test_incomplete_last_candle_is_dropped(markets, responses_recorded):
    case = _recorded_spot(responses_recorded)
    exchange = offline_binance(markets, RecordedTransport().add(SPOT_KLINES, KlinesPager(case["httpResponse"])))
    last_open = case["httpResponse"][-1][0]
    exchange.milliseconds = lambda: last_open + 10 * 60_000  # the clock is 10 minutes into the last hour
    df = fetch_ohlcv_range(exchange, "BTC/USDT", "1h", case["input"][2], last_open + H)
    assert df.height == 2


def test_canonical_frame_schema():
    df = candles_to_frame([[2000, 1, 2, 0.5, 1.5, 3], [1000, 1, 1, 1, 1, 0], [2000, 9, 9, 9, 9, 9]])
    assert df.schema["ts"] == pl.Datetime("us", "UTC")
    assert df["ts"].dt.epoch("ms").to_list() == [1000, 2000]
    assert df["open"].to_list() == [1.0, 1.0]  # first seen wins
    assert candles_to_frame([]).height == 0
