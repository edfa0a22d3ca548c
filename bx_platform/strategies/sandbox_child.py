"""The sandboxed side of a package strategy: `python -I -m bx_platform.strategies.sandbox_child TARGET CPU MEMORY`.

A fresh interpreter started by `sandbox.SandboxedStrategy` in an empty temporary folder with a cleared
environment. It limits its own CPU time and address space, imports only TARGET (`module:attribute`, the
entry point's value), and then answers one JSON line per observation read from stdin: `{"weights": ...}`, or
`{"error": "exception", "detail": ...}` when the strategy raised. The protocol has stdout to itself: anything the
strategy prints goes to stderr.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys

from bx_platform.strategies.base import observation_from_json


def _limit(cpu_seconds: int, memory_bytes: int) -> None:
    # soft CPU limit: SIGXCPU ends the process; the hard limit a little later is the kernel's SIGKILL backstop
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    # the budget is on top of what the interpreter and its libraries already mapped (docs/strategies.md)
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_bytes, mapped + memory_bytes))


def _confine(readable: tuple[str, ...]) -> None:
    """From here on the strategy may read only the files of the interpreter and of its installed packages, write
    no file and open no network connection: the archive, the stores and anything on the network are out of its
    reach, whatever path it guesses (docs/strategies.md, "The sandbox"). Python's audit hooks cannot be removed
    once added; the cleared environment, the empty working folder and the limits stay the first line."""

    def refuse(event: str, detail: str) -> None:
        raise PermissionError(f"sandbox: {event} {detail} is not allowed")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):  # an already open descriptor (its own pipes)
                return
            real = os.path.realpath(os.fsdecode(path))
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing or not real.startswith(readable):
                refuse("open", real)
        elif event in ("socket.connect", "socket.bind", "socket.sendto", "ctypes.dlopen"):
            refuse(event, repr(args[1] if len(args) > 1 else args))

    sys.addaudithook(hook)


def _readable_roots(strategy_module: str) -> tuple[str, ...]:
    """The interpreter's and the environment's trees, and the strategy's own package folder."""
    module = sys.modules[strategy_module]
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(module.__file__ or "."))}
    return tuple(os.path.realpath(root) + os.sep for root in roots)


def _json_number(value: object) -> float:
    """numpy scalars and the like; anything else is not part of a decision."""
    if hasattr(value, "__float__") and not isinstance(value, (str, bytes)):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not a number")


def main(target: str, cpu_seconds: int, memory_bytes: int) -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the strategy's prints must not corrupt the protocol

    def send(message: dict) -> None:
        try:
            line = json.dumps(message, default=_json_number)
        except (TypeError, ValueError) as error:
            line = json.dumps({"error": "malformed", "detail": f"answer is not JSON: {error}"})
        protocol.write(line + "\n")

    _limit(cpu_seconds, memory_bytes)
    try:
        module, _, attribute = target.partition(":")
        strategy = getattr(importlib.import_module(module), attribute)()
        _confine(_readable_roots(module))
        send({"ready": True, "lookback": int(strategy.lookback)})
    except BaseException as error:  # report why it could not start, then stop
        send({"error": "exception", "detail": f"could not load the strategy: {type(error).__name__}: {error}"})
        return
    for line in sys.stdin:
        observation = observation_from_json(json.loads(line))
        try:
            answer = strategy.decide(observation)
        except Exception as error:
            send({"error": "exception", "detail": f"{type(error).__name__}: {error}"})
            continue
        send({"weights": answer})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
