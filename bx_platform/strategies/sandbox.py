"""Package strategies in their own process: the `Strategy` protocol on the platform side of a pipe.

`SandboxedStrategy` starts `sandbox_child` in a fresh interpreter (`python -I`: no user site, no PYTHON*
variables, no current folder on the path) with an environment holding nothing of the platform (no BX_*,
DAGSTER*, database URL or credential), in an empty temporary folder, with CPU-time and address-space limits.
The child receives only observations, as JSON lines, and never a path, a store or a connection: its pipes are
its only link to the platform (`close_fds`). Each decision has a wall-clock deadline. What goes wrong is a
`StrategyViolation`: `timeout` (the child is killed), `process_died`, `malformed`, `exception`, `non_finite`,
`unknown_market`. See docs/strategies.md.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from bx_platform.strategies.answers import check_decision
from bx_platform.strategies.base import Decision, Observation, StrategyViolation, observation_to_json

DECISION_TIMEOUT_S = 10.0  # the eligibility gate's p95 runtime limit is 10,000 ms: one decision may not exceed it
START_TIMEOUT_S = 60.0  # a fresh interpreter importing numpy on a busy machine
CPU_SECONDS = 3600  # CPU time for the whole job
MEMORY_BYTES = 1 << 30  # address space the strategy may add to the interpreter's own
MAX_MESSAGE_BYTES = 1 << 20  # an answer longer than this is garbage, not weights
# one thread per numeric library: the child must not take every core of the host
CHILD_ENV = {"LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class SandboxedStrategy:
    """A package strategy (`target` = its entry point's `module:attribute`) run in a limited child process."""

    def __init__(
        self,
        handle: str,
        target: str,
        *,
        decision_timeout_s: float = DECISION_TIMEOUT_S,
        start_timeout_s: float = START_TIMEOUT_S,
        cpu_seconds: int = CPU_SECONDS,
        memory_bytes: int = MEMORY_BYTES,
    ):
        self.handle = handle
        self.decision_timeout_s = decision_timeout_s
        self._workdir = tempfile.mkdtemp(prefix="bx-sandbox-")
        self._buffer = b""
        self._stopped: str | None = None  # why the child is gone, once it is
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-m", "bx_platform.strategies.sandbox_child", target, str(cpu_seconds), str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self._workdir,
            env=dict(CHILD_ENV),
            close_fds=True,
            start_new_session=True,  # its own process group: stopped as a whole; a terminal's Ctrl-C reaches only the platform
        )
        try:
            hello = self._receive(time.monotonic() + start_timeout_s, start_timeout_s)
            if "error" in hello or not isinstance(hello.get("lookback"), int):
                raise StrategyViolation(hello.get("error", "malformed"), str(hello.get("detail", "no lookback declared")))
        except StrategyViolation:
            self.close()  # a strategy that did not start leaves no process behind
            raise
        self.lookback: int = hello["lookback"]

    @property
    def pid(self) -> int:
        return self._process.pid

    def decide(self, observation: Observation) -> Decision:
        if self._stopped:
            raise StrategyViolation("process_died", f"the strategy process is gone ({self._stopped})")
        line = json.dumps(observation_to_json(observation), separators=(",", ":")) + "\n"
        try:
            self._process.stdin.write(line.encode())
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise StrategyViolation("process_died", self._death()) from None
        answer = self._receive(time.monotonic() + self.decision_timeout_s, self.decision_timeout_s)
        if "error" in answer:
            raise StrategyViolation(answer["error"] if answer["error"] in ("exception", "malformed") else "malformed", str(answer.get("detail", "")))
        if set(answer) != {"weights"}:
            raise StrategyViolation("malformed", f"unexpected answer fields {sorted(answer)}")
        return check_decision(answer["weights"], observation.markets)

    def close(self) -> None:
        """Stop the child (if it still runs) and remove its folder. Safe to call twice."""
        self._stop_group()
        for stream in (self._process.stdin, self._process.stdout):
            stream.close()
        self._stopped = self._stopped or "closed"
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "SandboxedStrategy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the pipe --------------------------------------------------------------------------------------
    def _receive(self, deadline: float, allowed_s: float) -> dict:
        """The child's next message, or the violation that stands in for it."""
        stream = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill("killed after a timeout")
                raise StrategyViolation("timeout", f"no answer within {allowed_s:g} s; the process was stopped")
            if not select.select([stream], [], [], remaining)[0]:
                continue
            chunk = os.read(stream, 65536)
            if not chunk:
                raise StrategyViolation("process_died", self._death())
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE_BYTES:
                self._kill("killed after an oversized answer")
                raise StrategyViolation("malformed", f"answer longer than {MAX_MESSAGE_BYTES} bytes")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise StrategyViolation("malformed", f"not a JSON object: {line[:80]!r}")
        return message

    def _kill(self, why: str) -> None:
        self._stop_group()
        self._stopped = why

    def _stop_group(self) -> None:
        """SIGKILL the child's whole process group (it leads one: `start_new_session`), so whatever it started
        goes with it, then reap it. Only while it is not reaped: after that its id may name someone else."""
        if self._process.returncode is None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._process.wait()

    def _death(self) -> str:
        """Why the child ended, in words (it closed its end of the pipe)."""
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # it closed the pipe but lingers: stop it
            self._stop_group()
            code = self._process.returncode
        self._stopped = _exit_description(code)
        return self._stopped


def _exit_description(code: int) -> str:
    if code >= 0:
        return f"exited with status {code}"
    name = signal.Signals(-code).name
    reason = {"SIGXCPU": "CPU-time limit reached", "SIGKILL": "killed", "SIGSEGV": "crashed"}.get(name, "stopped by a signal")
    return f"{reason} ({name})"
