"""Opening a job's strategies from the pins in its record: live, or replaying its recorded remote calls.

    with StrategySession(record["pinned"]["strategies"]) as session:                  # live
        strategy = session.open(handle)        # a Strategy: the engine calls strategy.decide(observation)
        ...
    warehouse.write("verified", "remote_calls", job_id, session.remote_calls(job_id, organization))

    StrategySession(pins, replay=warehouse.read("verified", "remote_calls", job_id))  # replay: no model is called

Built-ins run in process, packages in their sandbox (they are pinned by file hashes, so running them again is
replaying them), remote models over HTTP or from the record. Closing the session stops every child process.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from bx_platform.strategies import registry as builtins_registry
from bx_platform.strategies.base import Strategy
from bx_platform.strategies.handles import BUILTIN, PACKAGE, HandleRegistry, installed_package, unseal
from bx_platform.strategies.remote import RemoteCallLog, RemoteStrategy, ReplayedStrategy
from bx_platform.strategies.sandbox import DECISION_TIMEOUT_S, SandboxedStrategy


class StrategySession:
    def __init__(
        self,
        pins: Mapping[str, Mapping],
        registry: HandleRegistry | None = None,
        *,
        replay: pl.DataFrame | None = None,
        decision_timeout_s: float = DECISION_TIMEOUT_S,
    ):
        """`pins`: the job record's `pinned.strategies`; `replay`: the job's recorded `remote_calls` rows, to
        answer remote strategies from instead of calling them (None: live)."""
        self.pins = pins
        self._registry = registry
        self.replay = replay
        self.decision_timeout_s = decision_timeout_s
        self.log = RemoteCallLog()
        self._opened: list = []

    @property
    def registry(self) -> HandleRegistry:
        if self._registry is None:
            self._registry = HandleRegistry()
        return self._registry

    def open(self, handle: str) -> Strategy:
        """The strategy behind a pinned handle, at the pinned revision."""
        pin = self.pins[handle]
        if pin["kind"] == BUILTIN:
            return builtins_registry.resolve(handle)
        registration = self.registry.at(handle, pin["revision"])
        if registration is None:
            raise LookupError(f"{handle} revision {pin['revision']} is not in the registry")
        if pin["kind"] == PACKAGE:
            target = installed_package(registration).value
            strategy = SandboxedStrategy(handle, target, decision_timeout_s=self.decision_timeout_s)
        elif self.replay is not None:
            strategy = ReplayedStrategy(handle, registration.lookback, self.replay, self.log)
        else:
            token = unseal(registration.credential) if registration.credential else None
            strategy = RemoteStrategy(
                handle, registration.endpoint, registration.lookback, self.log, token=token, decision_timeout_s=self.decision_timeout_s
            )
        self._opened.append(strategy)
        return strategy

    def remote_calls(self, job_id: str, organization: str) -> pl.DataFrame:
        """The `remote_calls` partition of this run (in a replay: the recorded rows it answered from)."""
        return self.log.frame(job_id, organization)

    def close(self) -> None:
        for strategy in self._opened:
            strategy.close()
        self._opened.clear()

    def __enter__(self) -> "StrategySession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
