"""Package strategies in their own process: the same decisions as the built-in, every fault a violation."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from bx_platform.strategies.base import StrategyViolation
from bx_platform.strategies.handles import installed_package
from bx_platform.strategies.sandbox import SandboxedStrategy
from bx_platform.strategies.session import StrategySession

from ._support import builtin_sma_decisions, majors_daily, observation_at


def _fault(name: str, **limits) -> SandboxedStrategy:
    from importlib.metadata import entry_points

    (entry_point,) = entry_points(group="bx_platform.strategies", name=name)
    return SandboxedStrategy(f"test/{name}", entry_point.value, **limits)


def _one_observation():
    return observation_at(majors_daily(), 150, 1, "1d")


def test_the_package_rule_in_its_process_decides_as_the_builtin_on_real_bars(registry):
    bars = majors_daily()
    assert len({tuple(frame["ts"]) for frame in bars.values()}) == 1  # one grid
    registration = registry.register("acme/sma-trend", "acme", package="sma-trend")
    assert (registration.kind, registration.version, registration.lookback) == ("package", "0.1.0", 100)
    pins = registry.admit("acme", ["acme/sma-trend"])
    bar_indices = range(0, len(bars["bitstamp:BTC/USD"]))
    with StrategySession(pins, registry) as session:
        strategy = session.open("acme/sma-trend")
        assert isinstance(strategy, SandboxedStrategy) and strategy.pid != os.getpid()
        decided = [strategy.decide(observation_at(bars, t, strategy.lookback, "1d")) for t in bar_indices]
    expected = builtin_sma_decisions(bars, "1d", bar_indices)
    assert decided == expected
    # the rule does trade: both long and flat decisions occur in the window
    assert {w for d in decided for w in d.values()} == {0.0, 1 / 3}


def test_the_child_sees_no_platform_environment_no_files_and_no_descriptors(strategy_packages, monkeypatch):
    monkeypatch.setenv("BX_JOBSTORE_URL", "postgresql://secret@db/bx")
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://secret@db/dagster")
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret@db/app")
    with _fault("fault-snoops") as strategy:
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
    assert caught.value.kind == "exception"
    seen = json.loads(caught.value.detail.removeprefix("RuntimeError: "))
    assert "secret" not in json.dumps(seen["env"])
    assert not [name for name in seen["env"] if name.startswith(("BX_", "DAGSTER")) or "DATABASE" in name]
    assert seen["cwd_files"] == [] and "bx-sandbox-" in seen["cwd"]
    # stdin, stdout, stderr, the protocol's copy of stdout, and the descriptor listing /proc/self/fd itself
    assert len(seen["fds"]) <= 5


@pytest.mark.parametrize(
    ("name", "kind", "detail"),
    [
        ("fault-raises", "exception", "ValueError: this strategy always fails"),
        ("fault-exits", "process_died", "exited with status 3"),
        ("fault-answers-text", "malformed", "str"),
        ("fault-writes-garbage", "malformed", "not a JSON object"),
        ("fault-nan", "non_finite", "nan"),
        ("fault-unknown-market", "unknown_market", "nyse:GME"),
    ],
)
def test_each_fault_is_the_violation_of_its_kind(strategy_packages, name, kind, detail):
    with _fault(name) as strategy:
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
    assert caught.value.kind == kind and detail in caught.value.detail


def test_a_decision_past_its_deadline_is_a_timeout_and_the_child_is_killed(strategy_packages):
    with _fault("fault-sleeps", decision_timeout_s=0.5) as strategy:
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
        assert caught.value.kind == "timeout"
        assert strategy._process.poll() is not None  # killed, not left sleeping
        with pytest.raises(StrategyViolation) as after:
            strategy.decide(_one_observation())
        assert after.value.kind == "process_died"


def test_a_timeout_stops_what_the_child_started_too(strategy_packages):
    with _fault("fault-forks", decision_timeout_s=0.5) as strategy:
        (helper,) = map(int, strategy.decide(_one_observation()).values())
        assert _running(helper)
        with pytest.raises(StrategyViolation):
            strategy.decide(_one_observation())
    deadline = time.monotonic() + 5  # SIGKILL reaches the group at once; the kernel takes a moment to end it
    while _running(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(helper)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\tZ" not in next(line for line in status if line.startswith("State:"))  # a zombie is not running
    except FileNotFoundError:
        return False


def test_a_child_killed_from_outside_is_a_dead_process(strategy_packages):
    with _fault("fault-raises") as strategy:
        os.kill(strategy.pid, signal.SIGKILL)
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
    assert caught.value.kind == "process_died" and "SIGKILL" in caught.value.detail


def test_the_cpu_time_limit_stops_a_spinning_strategy(strategy_packages):
    # the wall-clock deadline is far away: what stops it is RLIMIT_CPU (SIGXCPU after 1 s of CPU)
    with _fault("fault-spins", cpu_seconds=1, decision_timeout_s=60) as strategy:
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
    assert caught.value.kind == "process_died" and "CPU-time limit" in caught.value.detail


def test_the_memory_limit_refuses_an_allocation_beyond_the_budget(strategy_packages):
    with _fault("fault-hogs-memory", memory_bytes=256 << 20) as strategy:
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
    assert caught.value.kind == "exception" and "MemoryError" in caught.value.detail


def test_a_strategy_that_cannot_load_is_refused_at_registration(registry):
    from bx_platform.errors import InputError

    with pytest.raises(InputError) as caught:
        registry.register("acme/broken", "acme", package="fault-broken-import")
    assert caught.value.where == "package" and "did not start in its sandbox" in caught.value.problem


def test_a_package_changed_since_registration_is_not_run(registry):
    from bx_platform.errors import InputError
    from bx_platform.strategies.handles import handles_table

    registry.register("acme/sma-trend", "acme", package="sma-trend")
    with registry.engine.begin() as conn:  # what a reinstall of other files under the same version looks like
        conn.execute(handles_table.update().values(sha256="0" * 64))
    with pytest.raises(InputError) as caught:
        registry.admit("acme", ["acme/sma-trend"])
    assert "acme/sma-trend" in caught.value.problem and "not the one registered" in caught.value.problem
    with pytest.raises(InputError):
        installed_package(registry.current("acme/sma-trend"))
    with registry.engine.begin() as conn:  # an entry point that is gone (the package was uninstalled)
        conn.execute(handles_table.update().values(entry_point="uninstalled"))
    with pytest.raises(InputError) as gone:
        registry.admit("acme", ["acme/sma-trend"])
    assert gone.value.where == "strategies" and "'acme/sma-trend'" in gone.value.problem and "not installed" in gone.value.problem


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("fault-reads-archive", "sandbox: open"),  # the archive, found through the platform's own package path
        ("fault-phones-home", "sandbox: socket.connect"),  # a service of the platform's on the loopback
    ],
)
def test_the_child_can_read_no_data_and_reach_no_network(strategy_packages, name, detail):
    """A package strategy that looks for later bars in the archive files, or calls out, is stopped: it gains
    nothing from guessing where the platform keeps its data."""
    with _fault(name) as strategy:
        with pytest.raises(StrategyViolation) as caught:
            strategy.decide(_one_observation())
    assert caught.value.kind == "exception" and detail in caught.value.detail and "PermissionError" in caught.value.detail
