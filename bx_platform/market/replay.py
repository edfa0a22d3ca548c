"""Offline replay of an exchange's HTTP layer, so ccxt's own request building and parsing run for real
without the network.

ccxt's synchronous HTTP layer is ``exchange.fetch(url, method, headers, body)``, which returns the decoded
JSON. ``RecordedTransport`` replaces it::

    exchange = ccxt.binance()
    exchange.set_markets(list(markets.values()))       # or ccxt asks the network for exchangeInfo
    transport = RecordedTransport({("GET", "https://api.binance.com/api/v3/klines"): recorded_json})
    install(exchange, transport)                        # exchange.fetch = transport, and no session

Any request to an endpoint without a route raises ``UnexpectedRequest``: a replayed exchange can never
reach the network. ``KlinesPager`` serves a list of raw Binance klines page by page, slicing it by the
``startTime``/``endTime``/``limit`` query parameters the way Binance does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

Handler = Callable[[dict[str, str]], Any]


class UnexpectedRequest(RuntimeError):
    """A replayed exchange asked for a URL no recording covers (it would have gone to the network)."""


@dataclass(frozen=True)
class RecordedCall:
    url: str
    method: str
    endpoint: str
    query: dict[str, str]
    headers: dict | None = None
    body: Any = None


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """("https://host/path", {query params}) of a URL; the query keeps the last value of each key."""
    parts = urlsplit(url)
    endpoint = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return endpoint, dict(parse_qsl(parts.query, keep_blank_values=True))


@dataclass
class RecordedTransport:
    """A callable with ccxt's ``fetch`` signature serving recorded responses by (method, endpoint).

    A route's value is either the decoded JSON to return (deep-copied on every call) or a callable
    taking the query dict and returning it.
    """

    routes: dict[tuple[str, str], Any] = field(default_factory=dict)
    calls: list[RecordedCall] = field(default_factory=list)

    def add(self, endpoint: str, response: Any, method: str = "GET") -> RecordedTransport:
        self.routes[(method.upper(), endpoint)] = response
        return self

    def __call__(self, url: str, method: str = "GET", headers: dict | None = None, body: Any = None) -> Any:
        endpoint, query = split_url(url)
        self.calls.append(RecordedCall(url, method.upper(), endpoint, query, headers, body))
        key = (method.upper(), endpoint)
        if key not in self.routes:
            known = ", ".join(f"{m} {e}" for m, e in sorted(self.routes)) or "none"
            raise UnexpectedRequest(f"no recorded response for {method.upper()} {url} (recorded: {known})")
        response = self.routes[key]
        if callable(response):
            return response(query)
        return copy.deepcopy(response)


@dataclass
class KlinesPager:
    """Serves raw Binance klines (lists whose first item is the open time in ms) like Binance's
    ``/klines`` endpoint: open time >= startTime and <= endTime, at most ``limit`` rows
    (default 500, capped at 1000), ascending."""

    klines: list[list]
    default_limit: int = 500
    max_limit: int = 1000
    requests: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, query: dict[str, str]) -> list[list]:
        self.requests.append(dict(query))
        start = int(query["startTime"]) if "startTime" in query else None
        end = int(query["endTime"]) if "endTime" in query else None
        limit = min(int(query.get("limit", self.default_limit)), self.max_limit)
        rows = sorted(self.klines, key=lambda k: k[0])
        if start is not None:
            rows = [k for k in rows if k[0] >= start]
        if end is not None:
            rows = [k for k in rows if k[0] <= end]
        if start is None:
            rows = rows[-limit:]  # Binance returns the most recent klines when no start is given
        return copy.deepcopy(rows[:limit])


class _NoNetworkSession:
    """Stands in for ccxt's requests session: any use other than close() raises."""

    def close(self) -> None:
        return None

    def __getattr__(self, name: str):
        raise UnexpectedRequest(f"network access attempted through the HTTP session ({name})")


def install(exchange: Any, transport: RecordedTransport) -> Any:
    """Route every HTTP request of ``exchange`` to ``transport`` and disable its real session."""
    exchange.fetch = transport
    exchange.session = _NoNetworkSession()
    exchange.enableRateLimit = False  # no sleeping between replayed calls
    return exchange


def load_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def offline_binance(markets: dict[str, dict], transport: RecordedTransport | None = None):
    """A ``ccxt.binance()`` with the recorded markets loaded and its HTTP layer replaced."""
    import ccxt

    exchange = ccxt.binance()
    exchange.set_markets(list(markets.values()))
    return install(exchange, transport if transport is not None else RecordedTransport())
