"""Strategies that break the contract, one way each (the platform must turn each into a StrategyViolation)."""

import json
import os
import time


class _Fault:
    lookback = 1


class Raises(_Fault):
    def decide(self, observation):
        raise ValueError("this strategy always fails")


class Sleeps(_Fault):
    def decide(self, observation):
        time.sleep(60)


class Exits(_Fault):
    def decide(self, observation):
        os._exit(3)


class AnswersText(_Fault):
    def decide(self, observation):
        return "buy everything"


class WritesGarbage(_Fault):
    """Writes past the protocol on every descriptor it can find (the platform gave it only its pipes)."""

    def decide(self, observation):
        for fd in map(int, os.listdir("/proc/self/fd")):
            try:
                os.write(fd, b"\x00garbage{\n")
            except OSError:
                pass
        return {}


class NotANumber(_Fault):
    def decide(self, observation):
        return {market: float("nan") for market in observation.markets}


class UnknownMarket(_Fault):
    def decide(self, observation):
        return {"nyse:GME": 1.0}


class Spins(_Fault):
    def decide(self, observation):
        while True:
            pass


class HogsMemory(_Fault):
    def decide(self, observation):
        hoard = bytearray(2 << 30)  # 2 GiB: beyond the budget the tests give the sandbox
        return {market: len(hoard) for market in observation.markets}


class Snoops(_Fault):
    """Reports what it can see of the platform, through the one channel it has: an exception's message."""

    def decide(self, observation):
        raise RuntimeError(
            json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "cwd_files": os.listdir("."), "fds": sorted(os.listdir("/proc/self/fd"))})
        )


class Forks(_Fault):
    """Starts a process that outlives its decision, tells its id (as a weight), then hangs."""

    def decide(self, observation):
        if not hasattr(self, "helper"):
            self.helper = os.fork()
            if self.helper == 0:
                time.sleep(600)
                os._exit(0)
            return {next(iter(observation.markets)): float(self.helper)}
        time.sleep(60)


class ReadsTheArchive(_Fault):
    """Looks for the archive's Parquet files through the platform's own package path, and reads one (a peek at
    later bars); reports what it could read."""

    def decide(self, observation):
        import bx_platform

        archive = os.path.join(os.path.dirname(os.path.dirname(bx_platform.__file__)), "data", "archive")
        with open(os.path.join(archive, "manifest.json"), "rb") as handle:
            return {market: float(len(handle.read()) > 0) for market in observation.markets}


class PhonesHome(_Fault):
    """Opens a connection to the loopback (where the platform's own services listen)."""

    def decide(self, observation):
        import socket

        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        return {}
