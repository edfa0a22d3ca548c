"""Remote models over HTTP, every call recorded, and the replay that answers from the record.

The contract (docs/strategies.md, `observation_schema.json`, `decision_schema.json`): the platform POSTs the
observation document to `{endpoint}/decide` and reads back `{"weights": {market: number} | null,
"model_version": "..."}`; `GET {endpoint}/version` declares `{"model_version": ..., "lookback": ...}`.

A remote model need not be deterministic, so a job stays reproducible only through its record: every call of
a live run (request hash, the answer's status and body, or the transport failure) is appended to a
`RemoteCallLog`, written to the warehouse table `remote_calls` with the job. `ReplayedStrategy` answers from
those rows, through the same interpretation, and never calls the model. No row and no message carries the
endpoint URL or a credential.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection

import httpx
import polars as pl

from bx_platform.jobs.spec import canonical_json
from bx_platform.strategies.answers import check_decision
from bx_platform.strategies.base import Decision, Observation, StrategyViolation, observation_to_json
from bx_platform.strategies.sandbox import DECISION_TIMEOUT_S, MAX_MESSAGE_BYTES

# One row per call (warehouse table `remote_calls`, with job_id and organization): never the endpoint URL or a
# credential. latency_ms is wall-clock, outside the determinism comparison.
REMOTE_CALL_SCHEMA = {
    "strategy": pl.String,
    "call_index": pl.Int64,
    "bar_index": pl.Int64,
    "decision_time": pl.Datetime("us", "UTC"),
    "request_sha256": pl.String,
    "http_status": pl.Int64,
    "response_json": pl.String,
    "model_version": pl.String,
    "violation": pl.String,
    "detail": pl.String,
    "latency_ms": pl.Float64,
}
DECIDE_PATH = "/decide"
VERSION_PATH = "/version"


class ReplayDivergence(RuntimeError):
    """A replay asked for a call the record does not hold: the run is not the recorded one."""


class RemoteCallLog:
    """The remote calls of one job run, in call order per strategy (the `remote_calls` table's rows)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def append(self, row: dict) -> None:
        self.rows.append(row)

    def frame(self, job_id: str, organization: str) -> pl.DataFrame:
        schema = {"job_id": pl.String, "organization": pl.String, **REMOTE_CALL_SCHEMA}
        rows = [{**row, "job_id": job_id, "organization": organization} for row in self.rows]
        return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def request_body(observation: Observation) -> bytes:
    """The bytes POSTed for an observation: its canonical JSON, so equal observations hash equally."""
    return canonical_json(observation_to_json(observation)).encode()


def interpret(status: int | None, body: str | None, violation: str | None, detail: str, markets: Collection[str]) -> Decision:
    """What one recorded (or just received) call means: the weights, or the violation it stands for."""
    if violation:
        raise StrategyViolation(violation, detail)
    if status != 200:
        raise StrategyViolation("exception", f"the model answered HTTP {status}")
    try:
        document = json.loads(body)
    except ValueError:
        raise StrategyViolation("malformed", "the answer is not JSON") from None
    if not isinstance(document, dict) or "weights" not in document:
        raise StrategyViolation("malformed", "the answer has no `weights` field")
    version = document.get("model_version")
    if version is not None and not isinstance(version, str):
        raise StrategyViolation("malformed", "`model_version` is not a string")
    return check_decision(document["weights"], markets)


def _call_row(strategy: str, call_index: int, observation: Observation, body: bytes) -> dict:
    return {
        "strategy": strategy,
        "call_index": call_index,
        "bar_index": observation.bar_index,
        "decision_time": observation.decision_time,
        "request_sha256": hashlib.sha256(body).hexdigest(),
    }


class RemoteStrategy:
    """A registered HTTP endpoint behind the `Strategy` protocol; each call is timed out and recorded."""

    def __init__(
        self,
        handle: str,
        endpoint: str,
        lookback: int,
        log: RemoteCallLog,
        *,
        token: str | None = None,
        decision_timeout_s: float = DECISION_TIMEOUT_S,
    ):
        self.handle = handle
        self.lookback = lookback
        self._log = log
        self._calls = 0
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._client = httpx.Client(base_url=endpoint.rstrip("/"), headers=headers, timeout=decision_timeout_s, follow_redirects=False)

    def decide(self, observation: Observation) -> Decision:
        body = request_body(observation)
        row = _call_row(self.handle, self._calls, observation, body)
        self._calls += 1
        outcome = {"http_status": None, "response_json": None, "model_version": None, "violation": None, "detail": ""}
        started = time.perf_counter()
        try:
            response = self._client.post(DECIDE_PATH, content=body)
            outcome["http_status"] = response.status_code
            if len(response.content) > MAX_MESSAGE_BYTES:
                outcome.update(violation="malformed", detail=f"answer longer than {MAX_MESSAGE_BYTES} bytes")
            else:
                outcome["response_json"] = response.text
                outcome["model_version"] = _declared_version(response.text)
        except httpx.TimeoutException:
            outcome.update(violation="timeout", detail=f"no answer within {self._client.timeout.read:g} s")
        except httpx.TransportError as error:  # the endpoint is gone: the remote form of a dead process
            outcome.update(violation="process_died", detail=f"the endpoint is unreachable ({type(error).__name__})")
        outcome["latency_ms"] = (time.perf_counter() - started) * 1000.0
        self._log.append({**row, **outcome})
        return interpret(outcome["http_status"], outcome["response_json"], outcome["violation"], outcome["detail"], observation.markets)

    def close(self) -> None:
        self._client.close()


class ReplayedStrategy:
    """Answers a remote strategy's decisions from the recorded calls of its job, never calling the model.

    The n-th decision must be the n-th recorded call, for the same bar and the same request bytes: anything
    else raises ReplayDivergence (the replay is not re-running the recorded job)."""

    def __init__(self, handle: str, lookback: int, recorded: pl.DataFrame, log: RemoteCallLog):
        self.handle = handle
        self.lookback = lookback
        self._rows = recorded.filter(pl.col("strategy") == handle).sort("call_index").to_dicts()
        self._log = log
        self._calls = 0

    def decide(self, observation: Observation) -> Decision:
        body = request_body(observation)
        expected = _call_row(self.handle, self._calls, observation, body)
        if self._calls >= len(self._rows):
            raise ReplayDivergence(f"{self.handle}: call {self._calls} (bar {observation.bar_index}) was never recorded")
        recorded = self._rows[self._calls]
        if (recorded["bar_index"], recorded["request_sha256"]) != (expected["bar_index"], expected["request_sha256"]):
            raise ReplayDivergence(
                f"{self.handle}: call {self._calls} asks for bar {observation.bar_index} with request "
                f"{expected['request_sha256'][:12]}, the record has bar {recorded['bar_index']} with {recorded['request_sha256'][:12]}"
            )
        self._calls += 1
        self._log.append({name: value for name, value in recorded.items() if name not in ("job_id", "organization")})
        return interpret(recorded["http_status"], recorded["response_json"], recorded["violation"], recorded["detail"], observation.markets)

    def close(self) -> None:
        pass


def _declared_version(text: str) -> str | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    version = document.get("model_version") if isinstance(document, dict) else None
    return version if isinstance(version, str) else None


def fetch_declaration(endpoint: str, token: str | None = None, timeout_s: float = 10.0) -> dict:
    """`GET {endpoint}/version`: the model version and lookback the endpoint declares (at registration)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(endpoint.rstrip("/") + VERSION_PATH, headers=headers, timeout=timeout_s, follow_redirects=False)
    if response.status_code != 200:
        raise ValueError(f"GET {VERSION_PATH} answered HTTP {response.status_code}")
    document = response.json()
    if not isinstance(document.get("model_version"), str) or not isinstance(document.get("lookback"), int) or document["lookback"] < 1:
        raise ValueError(f"GET {VERSION_PATH} must answer {{\"model_version\": string, \"lookback\": positive integer}}")
    return document
