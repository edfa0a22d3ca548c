"""Decisions per second of a strategy in process, in its sandboxed child over a pipe, and behind HTTP on loopback.

Run: ``.venv/bin/python bench/strategies.py [--decisions N]``  (about half a minute on 2 cores; needs the example
package installed, as ``python3 bootstrap.py install`` does)

The same rule (examples/bx-example-strategy's 20/100 SMA trend; the remote example server runs it too) decides on
observations built from real archive bars (coinbase BTC/USD hourly 2018, one market; bitstamp BTC/ETH/LTC daily,
three markets), each observation holding the last `lookback` bars of every market. Side by side:
- in process: `SmaTrend().decide(observation)`, the floor every other path adds to;
- JSON only: `remote.request_body(observation)`, the encoding both other paths pay;
- pipe: `SandboxedStrategy` (a fresh interpreter, JSON lines over stdin/stdout, limits set);
- loopback HTTP: `RemoteStrategy` POSTing to examples/remote_model/server.py (stdlib ThreadingHTTPServer, keep-alive)
  on 127.0.0.1, each call recorded as a job would record it.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bx_platform.strategies.remote import RemoteCallLog, RemoteStrategy, request_body  # noqa: E402
from bx_platform.strategies.sandbox import SandboxedStrategy  # noqa: E402
from bx_platform_tests.strategies._support import archive_bars, observation_at, remote_model  # noqa: E402

CASES = {
    "1 market x 100 bars": ((("coinbase", "BTC/USD"),), "1h", "2018-01-01", "2019-01-01", 100),
    "1 market x 1,000 bars": ((("coinbase", "BTC/USD"),), "1h", "2018-01-01", "2019-01-01", 1000),
    "3 markets x 100 bars": ((("bitstamp", "BTC/USD"), ("bitstamp", "ETH/USD"), ("bitstamp", "LTC/USD")), "1d", "2018-01-01", "2020-01-01", 100),
}


def rate(decide, observations) -> float:
    started = time.perf_counter()
    for observation in observations:
        decide(observation)
    return len(observations) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=500, help="decisions per path and case")
    args = parser.parse_args()
    (entry_point,) = entry_points(group="bx_platform.strategies", name="sma-trend")
    example = entry_point.load()()
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.decisions} decisions per path and case")
    print(f"{'case':<24}{'obs bytes':>10}{'in process':>14}{'JSON only':>14}{'pipe':>14}{'loopback HTTP':>16}   (decisions/s)")
    with remote_model() as endpoint:
        for name, (markets, timeframe, start, end, lookback) in CASES.items():
            bars = archive_bars(markets, timeframe, start, end)
            last = len(next(iter(bars.values())))
            first = max(lookback, last - args.decisions)
            observations = [observation_at(bars, t, lookback, timeframe) for t in range(first, last)]
            with SandboxedStrategy("bench/pipe", entry_point.value) as piped:
                piped.decide(observations[0])  # warm: the child's first decision imports nothing more
                pipe = rate(piped.decide, observations)
            remote = RemoteStrategy("bench/http", endpoint, lookback, RemoteCallLog())
            remote.decide(observations[0])
            http = rate(remote.decide, observations)
            remote.close()
            print(
                f"{name:<24}{len(request_body(observations[-1])):>10,}{rate(example.decide, observations):>14,.0f}"
                f"{rate(request_body, observations):>14,.0f}{pipe:>14,.0f}{http:>16,.0f}"
            )


if __name__ == "__main__":
    main()
