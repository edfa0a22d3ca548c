"""Registration and admission: who may name which handle, what a job pins, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import yaml

from bx_platform import cli
from bx_platform.errors import InputError
from bx_platform.jobs.spec import JobSpec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import build_record
from bx_platform.strategies.handles import HandleRegistry

from ._support import remote_model


def _refusal(registry: HandleRegistry, organization: str, handle: str) -> str:
    with pytest.raises(InputError) as caught:
        registry.admit(organization, ["bx/sma-trend", handle])
    assert caught.value.where == "strategies" and repr(handle) in caught.value.problem
    return caught.value.problem


def _admission_rules(registry: HandleRegistry, endpoint: str) -> None:
    registry.register("acme/sma-trend", "acme", package="sma-trend")  # private by default
    registry.register("acme/shared", "acme", package="sma-trend", visibility="approved")
    registry.register("beta/model", "beta", endpoint=endpoint)

    pins = registry.admit("acme", ["bx/sma-trend", "acme/sma-trend", "acme/shared"])
    assert pins["bx/sma-trend"] == {"kind": "builtin"}
    assert pins["acme/sma-trend"]["kind"] == "package" and len(pins["acme/sma-trend"]["sha256"]) == 64
    assert pins["acme/sma-trend"]["version"] == "0.1.0" and pins["acme/sma-trend"]["revision"] == 1
    assert registry.admit("beta", ["acme/shared", "beta/model"])["beta/model"] == {
        "kind": "remote", "revision": 1, "version": "sma-trend-20-100", "lookback": 100,
    }
    # another organization's private handle, an unregistered handle, an unknown built-in: refused, handle named
    assert "private to another organization" in _refusal(registry, "beta", "acme/sma-trend")
    assert "private to another organization" in _refusal(registry, "acme", "beta/model")
    assert "not registered" in _refusal(registry, "acme", "acme/never-registered")
    assert "unknown strategy handle" in _refusal(registry, "acme", "bx/not-a-builtin")
    # what each organization may list
    assert [r.handle for r in registry.listing("beta")] == ["acme/shared", "beta/model"]
    assert [r.handle for r in registry.listing()] == ["acme/shared", "acme/sma-trend", "beta/model"]


def test_admission_rules_on_sqlite(registry):
    with remote_model() as endpoint:
        _admission_rules(registry, endpoint)


def test_admission_rules_on_postgresql(pg_database, strategy_packages):
    registry = HandleRegistry(pg_database)
    with remote_model() as endpoint:
        _admission_rules(registry, endpoint)
    registry.engine.dispose()


def test_registering_again_adds_a_revision_and_jobs_keep_theirs(registry):
    first = registry.register("acme/sma-trend", "acme", package="sma-trend")
    pinned = registry.admit("acme", ["acme/sma-trend"])["acme/sma-trend"]
    second = registry.register("acme/sma-trend", "acme", package="sma-trend", visibility="approved")
    assert (first.revision, second.revision) == (1, 2)
    assert registry.current("acme/sma-trend").visibility == "approved"
    assert registry.at("acme/sma-trend", pinned["revision"]) == first


@pytest.mark.parametrize(
    ("handle", "organization", "where", "says"),
    [
        ("trend", "acme", "handle", "owner/name"),
        ("bx/my-trend", "bx", "handle", "reserved"),
        ("beta/trend", "acme", "handle", "must start with its owner"),
        ("acme/Trend", "acme", "handle", "owner/name"),
    ],
)
def test_bad_handles_are_refused_at_registration(registry, handle, organization, where, says):
    with pytest.raises(InputError) as caught:
        registry.register(handle, organization, package="sma-trend")
    assert caught.value.where == where and says in caught.value.problem


def test_registration_refusals_name_the_field(registry):
    registry.register("acme/sma-trend", "acme", package="sma-trend")
    cases = [
        (dict(package="sma-trend", visibility="public"), "visibility"),
        (dict(), "kind"),
        (dict(package="no-such-entry-point"), "package"),
        (dict(endpoint="ftp://example.org"), "endpoint"),
        (dict(endpoint="http://127.0.0.1:9"), "endpoint"),  # nothing listens on the discard port
    ]
    for options, where in cases:
        with pytest.raises(InputError) as caught:
            registry.register("acme/other", "acme", **options)
        assert caught.value.where == where, options
    with pytest.raises(InputError) as caught:  # another organization cannot add a revision of acme's handle
        HandleRegistry(registry.engine).register("acme/sma-trend", "acme-two", package="sma-trend")
    assert caught.value.where == "handle" and registry.current("acme/sma-trend").organization == "acme"


def test_a_job_record_pins_each_handle(registry, bx_home):
    store = JobStore()
    HandleRegistry(store.engine).register("acme/sma-trend", "acme", package="sma-trend")
    spec = JobSpec.model_validate(
        {
            "organization": "acme",
            "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
            "window": {"start": "2018-01-01", "end": "2018-03-01"},
            "strategies": ["bx/momentum", "acme/sma-trend"],
        }
    )
    pinned = build_record(spec, store)["pinned"]["strategies"]
    assert pinned["bx/momentum"] == {"kind": "builtin"}
    assert pinned["acme/sma-trend"]["revision"] == 1 and pinned["acme/sma-trend"]["distribution"] == "bx-example-strategy"


def test_the_cli_registers_lists_and_refuses_at_submission_with_exit_2(bx_home, strategy_packages, tmp_path, capsys):
    assert cli.main(["strategy", "register", "acme/sma-trend", "--organization", "acme", "--package", "sma-trend"]) == 0
    assert "registered acme/sma-trend revision 1: package" in capsys.readouterr().out
    assert cli.main(["strategy", "list", "--organization", "beta"]) == 0
    assert "acme/sma-trend" not in capsys.readouterr().out
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({
        "organization": "beta",
        "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
        "window": {"start": "2018-01-01", "end": "2018-03-01"},
        "strategies": ["bx/momentum", "acme/sma-trend"],
    }))
    assert cli.main(["submit", str(job)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'acme/sma-trend'" in err and "Traceback" not in err
    # a user's mistake at registration: one line, exit 2
    assert cli.main(["strategy", "register", "acme/x", "--organization", "acme", "--package", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: package: ")
