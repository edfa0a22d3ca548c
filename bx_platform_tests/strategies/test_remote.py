"""Remote models over real HTTP on 127.0.0.1: round trip, no future bars, faults, recording and replay."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import timedelta

import httpx
import polars as pl
import pytest
from cryptography.fernet import Fernet

from bx_platform.errors import InputError
from bx_platform.jobs.spec import canonical_json
from bx_platform.strategies.base import StrategyViolation, observation_to_json
from bx_platform.strategies.remote import RemoteCallLog, RemoteStrategy, ReplayDivergence, ReplayedStrategy
from bx_platform.strategies.session import StrategySession
from bx_platform.warehouse.store import Warehouse

from ._support import builtin_sma_decisions, http_model, majors_daily, observation_at, remote_model


def _seen_by(endpoint: str) -> dict:
    return httpx.get(endpoint + "/violations").json()


def test_round_trip_gives_the_builtin_decisions_and_every_call_is_recorded(registry, tmp_path):
    bars = majors_daily()
    bar_indices = range(len(bars["bitstamp:BTC/USD"]))
    with remote_model() as endpoint:
        registry.register("beta/model", "beta", endpoint=endpoint)
        pins = registry.admit("beta", ["beta/model"])
        with StrategySession(pins, registry) as session:
            strategy = session.open("beta/model")
            observations = [observation_at(bars, t, strategy.lookback, "1d") for t in bar_indices]
            decided = [strategy.decide(observation) for observation in observations]
            calls = session.remote_calls("job-1", "beta")
        seen = _seen_by(endpoint)
    assert decided == builtin_sma_decisions(bars, "1d", bar_indices)
    assert seen == {"calls": len(bar_indices), "violations": []}  # the model never received a bar after its decision time
    assert calls["call_index"].to_list() == list(bar_indices) and calls["bar_index"].to_list() == list(bar_indices)
    assert calls["request_sha256"][7] == hashlib.sha256(canonical_json(observation_to_json(observations[7])).encode()).hexdigest()
    assert set(calls["model_version"]) == {"sma-trend-20-100"} and calls["violation"].null_count() == len(calls)
    warehouse = Warehouse(tmp_path / "warehouse").ensure()
    path = warehouse.write("verified", "remote_calls", "job-1", calls)
    assert warehouse.read("verified", "remote_calls", "job-1").equals(calls)
    assert endpoint.encode() not in path.read_bytes() and b"127.0.0.1" not in path.read_bytes()


def test_the_example_model_flags_a_bar_it_should_not_have_seen(registry):
    bars = majors_daily()
    observation = observation_at(bars, 300, 100, "1d")
    peeking = replace(observation, decision_time=observation.decision_time - timedelta(hours=1))  # last bar still open
    with remote_model() as endpoint:
        strategy = RemoteStrategy("beta/model", endpoint, 100, RemoteCallLog())
        strategy.decide(observation)
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(peeking)
        seen = _seen_by(endpoint)
        strategy.close()
    assert caught.value.kind == "exception" and "422" in caught.value.detail
    assert len(seen["violations"]) == 3 and "closes after" in seen["violations"][0]  # one late bar per market


def test_a_replay_answers_from_the_record_even_when_the_model_changes_its_answers(registry, tmp_path):
    bars = majors_daily()
    warehouse = Warehouse(tmp_path / "warehouse").ensure()
    with remote_model("--vary") as endpoint:
        registry.register("beta/llm", "beta", endpoint=endpoint)
        pins = registry.admit("beta", ["beta/llm"])

        def run(**mode) -> tuple[list, pl.DataFrame]:
            with StrategySession(pins, registry, **mode) as session:
                strategy = session.open("beta/llm")
                answers = [strategy.decide(observation_at(bars, t, strategy.lookback, "1d")) for t in range(120, 150)]  # long from bar 124
                return answers, session.remote_calls("job-1", "beta")

        recorded_answers, recorded = run()
        recorded_file = warehouse.write("verified", "remote_calls", "job-1", recorded).read_bytes()
        live_again, _ = run()
        calls_before = _seen_by(endpoint)["calls"]
        replayed_answers, replayed = run(replay=warehouse.read("verified", "remote_calls", "job-1"))
        assert _seen_by(endpoint)["calls"] == calls_before  # the replay called no model
    assert live_again != recorded_answers  # the model is not deterministic
    assert replayed_answers == recorded_answers
    assert replayed.equals(recorded)  # the replay's record is the record: the same bytes when written
    assert warehouse.write("staged", "remote_calls", "job-1", replayed).read_bytes() == recorded_file


def test_a_replay_that_asks_for_another_call_diverges(registry):
    bars = majors_daily()
    with remote_model() as endpoint:
        log = RemoteCallLog()
        RemoteStrategy("beta/model", endpoint, 100, log).decide(observation_at(bars, 200, 100, "1d"))
    replay = ReplayedStrategy("beta/model", 100, log.frame("job-1", "beta"), RemoteCallLog())
    with pytest.raises(ReplayDivergence):
        replay.decide(observation_at(bars, 201, 100, "1d"))


def _slow(request):
    time.sleep(2)
    return 200, b'{"weights": null}'


@pytest.mark.parametrize(
    ("answer", "kind", "detail"),
    [
        (_slow, "timeout", "no answer within 0.3 s"),
        (lambda r: (200, b"<html>oops</html>"), "malformed", "not JSON"),
        (lambda r: (200, b'{"targets": {}}'), "malformed", "no `weights`"),
        (lambda r: (200, b'{"weights": {"bitstamp:BTC/USD": "all in"}}'), "malformed", "not a number"),
        (lambda r: (200, b'{"weights": [0.5]}'), "malformed", "list"),
        (lambda r: (200, b'{"weights": {"bitstamp:BTC/USD": NaN}}'), "non_finite", "nan"),
        (lambda r: (200, b'{"weights": {"nyse:GME": 1.0}}'), "unknown_market", "nyse:GME"),
        (lambda r: (500, b"Internal Server Error"), "exception", "HTTP 500"),
    ],
)
def test_each_fault_of_a_model_is_a_violation_recorded_and_replayed(answer, kind, detail):
    observation = observation_at(majors_daily(), 100, 3, "1d")
    log = RemoteCallLog()
    with http_model(answer) as endpoint:
        strategy = RemoteStrategy("beta/faulty", endpoint, 3, log, decision_timeout_s=0.3)
        with pytest.raises(StrategyViolation) as live:
            strategy.decide(observation)
        strategy.close()
    assert live.value.kind == kind and detail in live.value.detail
    with pytest.raises(StrategyViolation) as replayed:
        ReplayedStrategy("beta/faulty", 3, log.frame("job-1", "beta"), RemoteCallLog()).decide(observation)
    assert (replayed.value.kind, replayed.value.detail) == (live.value.kind, live.value.detail)


def test_an_endpoint_that_is_gone_is_a_dead_process():
    with http_model(lambda r: (200, b"{}")) as endpoint:
        pass  # the server is shut down: nothing listens there any more
    with pytest.raises(StrategyViolation) as caught:
        RemoteStrategy("beta/gone", endpoint, 3, RemoteCallLog()).decide(observation_at(majors_daily(), 100, 3, "1d"))
    assert caught.value.kind == "process_died" and endpoint not in caught.value.detail


def test_a_credential_is_stored_sealed_and_sent_as_a_bearer_token(registry, monkeypatch):
    with remote_model("--token", "s3cret-token") as endpoint:
        monkeypatch.delenv("BX_SECRETS_KEY", raising=False)
        with pytest.raises(InputError) as caught:
            registry.register("beta/model", "beta", endpoint=endpoint, token="s3cret-token")
        assert caught.value.where == "token"
        monkeypatch.setenv("BX_SECRETS_KEY", Fernet.generate_key().decode())
        with pytest.raises(InputError) as refused:  # without the token the model refuses its declaration
            registry.register("beta/model", "beta", endpoint=endpoint)
        assert "401" in refused.value.problem and endpoint not in refused.value.problem
        registration = registry.register("beta/model", "beta", endpoint=endpoint, token="s3cret-token")
        assert "s3cret" not in registration.credential and "s3cret" not in repr(registration)
        with StrategySession(registry.admit("beta", ["beta/model"]), registry) as session:
            strategy = session.open("beta/model")
            assert strategy.decide(observation_at(majors_daily(), 400, 100, "1d")) is not None
