"""Nothing that leaves the platform names a remote strategy's endpoint or credential: only its handle."""

from __future__ import annotations

import json

import yaml
from cryptography.fernet import Fernet

from bx_platform import cli
from bx_platform.jobs.store import JobStore
from bx_platform.strategies.session import StrategySession
from bx_platform.warehouse.store import Warehouse

from ._support import majors_daily, observation_at, remote_model

TOKEN = "tok-9f2c-never-printed"


def test_cli_output_job_record_and_stored_calls_never_carry_the_endpoint_or_token(bx_home, strategy_packages, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BX_SECRETS_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("ACME_MODEL_TOKEN", TOKEN)
    outputs = []

    def bx(*argv: str) -> int:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        outputs.append(captured.out + captured.err)
        return code

    with remote_model("--token", TOKEN) as endpoint:
        host_port = endpoint.removeprefix("http://")
        assert bx("strategy", "register", "acme/llm", "--organization", "acme", "--endpoint", endpoint, "--token-env", "ACME_MODEL_TOKEN") == 0
        assert bx("strategy", "register", "acme/llm", "--organization", "acme", "--endpoint", endpoint + "/nowhere") == 2  # refused
        assert bx("strategy", "list") == 0 and bx("strategy", "list", "--json") == 0
        assert "acme/llm" in outputs[-1]
        job = tmp_path / "job.yaml"
        job.write_text(yaml.safe_dump({
            "organization": "acme",
            "markets": [{"venue": "bitstamp", "symbol": "BTC/USD"}],
            "window": {"start": "2018-01-01", "end": "2019-01-01"},
            "timeframe": "1d",
            "strategies": ["bx/sma-trend", "acme/llm"],
        }))
        assert bx("submit", str(job)) == 0
        job_id = outputs[-1].split()[0]
        assert bx("result", job_id) == 0
        record = JobStore().get(job_id).record
        with StrategySession(record["pinned"]["strategies"]) as session:
            strategy = session.open("acme/llm")
            bars = {"bitstamp:BTC/USD": majors_daily()["bitstamp:BTC/USD"]}
            for t in range(100, 140):
                strategy.decide(observation_at(bars, t, strategy.lookback, "1d"))
            calls = session.remote_calls(job_id, "acme")
        path = Warehouse().ensure().write("verified", "remote_calls", job_id, calls)

    assert record["pinned"]["strategies"]["acme/llm"]["kind"] == "remote"
    published = [*outputs, json.dumps(record), path.read_bytes().decode("latin-1")]
    for text in published:
        for secret in (endpoint, host_port, TOKEN, "/nowhere"):
            assert secret not in text
    # no file the platform wrote under BX_HOME but the job store's database (where it is kept) holds the endpoint,
    # and not even that database holds the token in clear
    for written in bx_home.rglob("*"):
        if written.is_file():
            assert TOKEN.encode() not in written.read_bytes(), written
            if written.name != "jobs.sqlite":
                assert host_port.encode() not in written.read_bytes(), written
