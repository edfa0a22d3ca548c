"""An example remote model for BX Platform: the 20/100-bar moving-average trend rule behind HTTP (stdlib only).

    python examples/remote_model/server.py --port 8765            # then register http://127.0.0.1:8765
    python examples/remote_model/server.py --port 0 --vary        # answers change between calls (replay demo)

It speaks the platform's contract (docs/strategies.md): `GET /version` declares the model version and lookback;
`POST /decide` takes an observation (bx_platform/strategies/observation_schema.json) and answers
`{"weights": {market: weight}, "model_version": ...}` (decision_schema.json). It also checks the platform's
promise that it never sees the future: a bar whose close (open time + bar length) is later than the decision
time is recorded as a violation, answered with HTTP 422, and listed by `GET /violations`.
`--token` (or REMOTE_MODEL_TOKEN) makes it require `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAST, SLOW = 20, 100
BAR_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def future_bars(observation: dict) -> list[str]:
    """Every bar of the observation that had not closed at its decision time."""
    decided = parse_time(observation["decision_time"])
    bar = timedelta(seconds=BAR_SECONDS[observation["timeframe"]])
    return [
        f"{market} bar {stamp} closes after {observation['decision_time']}"
        for market, window in observation["markets"].items()
        for stamp in window["ts"]
        if parse_time(stamp) + bar > decided
    ]


def sma_trend(observation: dict) -> dict[str, float]:
    """Long an equal share while the mean of the last 20 closes is above the mean of the last 100, else flat."""
    share = 1.0 / len(observation["markets"])
    weights = {}
    for market, window in observation["markets"].items():
        closes = window["close"]
        trending = len(closes) >= SLOW and math.fsum(closes[-FAST:]) / FAST > math.fsum(closes[-SLOW:]) / SLOW
        weights[market] = share if trending else 0.0
    return weights


class Model:
    """The model's state: calls answered, violations seen (shared by the server's threads)."""

    def __init__(self, vary: bool, token: str | None):
        self.vary = vary
        self.token = token
        self.calls = 0
        self.violations: list[str] = []
        self.lock = threading.Lock()

    @property
    def version(self) -> str:
        return "sma-trend-20-100-vary" if self.vary else "sma-trend-20-100"

    def decide(self, observation: dict) -> tuple[int, dict]:
        late = future_bars(observation)
        with self.lock:
            self.calls += 1
            call = self.calls
            self.violations.extend(late)
        if late:
            return 422, {"error": "observation holds bars after its decision time", "bars": late[:5]}
        weights = sma_trend(observation)
        if self.vary:  # a non-deterministic model: the same observation gets a different answer on each call
            weights = {market: weight * (0.5 + 0.5 / call) for market, weight in weights.items()}
        return 200, {"weights": weights, "model_version": self.version}


def make_handler(model: Model) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection for all of a job's calls
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

        def _send(self, status: int, document: dict) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _authorized(self) -> bool:
            if model.token and self.headers.get("authorization") != f"Bearer {model.token}":
                self._send(401, {"error": "missing or wrong bearer token"})
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path == "/version":
                self._send(200, {"model_version": model.version, "lookback": SLOW})
            elif self.path == "/violations":
                with model.lock:
                    self._send(200, {"calls": model.calls, "violations": list(model.violations)})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            if not self._authorized():
                return
            if self.path != "/decide":
                self._send(404, {"error": "not found"})
                return
            observation = json.loads(self.rfile.read(int(self.headers["content-length"])))
            self._send(*model.decide(observation))

        def log_message(self, *args) -> None:  # quiet: one line per call would swamp a job's log
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed on the first line)")
    parser.add_argument("--vary", action="store_true", help="answers change between calls (for the replay demo)")
    parser.add_argument("--token", default=os.environ.get("REMOTE_MODEL_TOKEN"), help="require this bearer token")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Model(args.vary, args.token)))
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
