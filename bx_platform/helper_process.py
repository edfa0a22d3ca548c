"""A helper process for a one-off command (`bx run`, `bx demo`): started first, it imports the slow libraries
(great_expectations, arch, Vega-Altair: seconds each) on the machine's other core while the command imports
and prepares its own work, then computes the pure functions it is handed (a quality gate, the statistical
tiers, a report) and hands their values back.

`offload(function, *args)` is `function(*args)`: in this process when no helper serves it (the daemon, the
API and tests pay the imports once), in the helper when one does. The function goes by its module and name
(pickle), its arguments and value by value; the same code computes the same value, so a job's bytes are the
same either way. When a helper is gone, this process computes the call it was making, and every later one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

_link: tuple[Connection, Connection] | None = None  # (requests, answers) while a helper serves this process
_lock = threading.Lock()


def offload(function: Callable[..., T], *args) -> T:
    """`function(*args)`, computed by this process's helper if it has one (`function` must be a module-level
    function and its arguments picklable); an exception raised there is raised here."""
    global _link
    with _lock:
        if _link is not None:
            requests, answers = _link
            try:
                requests.send((function, args))
                succeeded, value = answers.recv()
            except (EOFError, OSError):  # the helper is gone: this process computes from now on
                _link = None
            else:
                if succeeded:
                    return value
                raise value
    return function(*args)


@contextmanager
def helper_process(first: tuple[str, ...], later: tuple[str, ...] = ()) -> Iterator[subprocess.Popen]:
    """Serve `offload` calls from a helper started now, which prepares `first` before it takes its first call and
    `later` once it has answered it (in a thread, while it waits for the next one; before, they would share the
    core with the first call). Each entry is a module to import or a "module:function" to call once imported.
    Killed on exit: it holds nothing but what it is sent, and its own teardown of those libraries would take a
    second."""
    global _link
    requests_read, requests_write = os.pipe()
    answers_read, answers_write = os.pipe()
    code = f"from bx_platform.helper_process import serve; serve({requests_read}, {answers_write}, {first!r}, {later!r})"
    child = subprocess.Popen([sys.executable, "-c", code], pass_fds=(requests_read, answers_write))
    os.close(requests_read)
    os.close(answers_write)
    requests, answers = Connection(requests_write, readable=False), Connection(answers_read, writable=False)
    _link = (requests, answers)
    try:
        yield child
    finally:
        with _lock:
            _link = None
        requests.close()
        answers.close()
        child.kill()
        child.wait()


def serve(requests_fd: int, answers_fd: int, first: tuple[str, ...], later: tuple[str, ...]) -> None:
    """The helper (`helper_process`): compute each call it is sent until its parent closes the pipe."""
    os.dup2(2, 1)  # a library's prints go to stderr: the answers have their own pipe
    requests, answers = Connection(requests_fd, writable=False), Connection(answers_fd, readable=False)
    _prepare(first)
    preparing = threading.Thread(target=_prepare, args=(later,), daemon=True)
    while True:
        try:
            function, args = requests.recv()
        except EOFError:
            return
        try:
            answer = (True, function(*args))
        except Exception as error:  # noqa: BLE001 - raised again in the parent, whatever it is
            answer = (False, error)
        try:
            answers.send(answer)
        except Exception as error:  # noqa: BLE001 - the value or the exception would not pickle
            answers.send((False, RuntimeError(f"{function.__qualname__}: {error!r}")))
        if preparing.ident is None:
            preparing.start()


def _prepare(entries: tuple[str, ...]) -> None:
    import importlib

    for entry in entries:
        module, _, function = entry.partition(":")
        imported = importlib.import_module(module)
        if function:
            getattr(imported, function)()
