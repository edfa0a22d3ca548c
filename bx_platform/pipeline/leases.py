"""Who runs a claimed job, and whether it is still alive (docs/architecture.md, "Never stuck").

The process running a job holds its lease in the job store: its host, its process id, the step it is in and
a heartbeat renewed every HEARTBEAT_SECONDS by a background thread. A claim has lapsed when its process is
gone (same host: checked at once) or when it has not renewed its lease for LEASE_SECONDS (any host: a killed
machine, a stopped process, a reused process id).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import datetime

from bx_platform.jobs.store import JobStore, Lease, StoredJob

LEASE_SECONDS = 60.0
HEARTBEAT_SECONDS = 5.0
CLAIMED_STEP = "claimed"  # the step of a claimed job whose run has not started yet

# Jobs this process runs, with the step each is in: the heartbeat thread renews their leases.
_held: dict[str, tuple[JobStore, str]] = {}
_held_lock = threading.Lock()
_heartbeat: threading.Thread | None = None


class LeaseLost(RuntimeError):
    """The job this process was running was ended by someone else (its lease had lapsed): stop."""


def this_worker() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def hold_lease(jobs: JobStore, job_id: str, step: str) -> bool:
    """Take or renew the job's lease for this process; False when the job is no longer claimed."""
    host, pid = this_worker()
    return jobs.hold(job_id, host, pid, step, time.time())


def enter_step(jobs: JobStore, job_id: str, step: str) -> None:
    """Say the job's run is now in this step, in this process, and keep its lease renewed from here on.
    Raises LeaseLost when the job was ended meanwhile (a run must not write past its job's end)."""
    if not hold_lease(jobs, job_id, step):
        stored = jobs.get(job_id)
        raise LeaseLost(
            f"job {job_id} is no longer this run's ({stored.state if stored else 'unknown'}); it was ended while "
            f"this run was late, and this run stops before step {step}"
        )
    with _held_lock:
        _held[job_id] = (jobs, step)
    _start_heartbeat()


def release(job_id: str) -> None:
    """Stop renewing the job's lease (it has ended)."""
    with _held_lock:
        _held.pop(job_id, None)


def _start_heartbeat() -> None:
    global _heartbeat
    with _held_lock:
        if _heartbeat is None or not _heartbeat.is_alive():
            _heartbeat = threading.Thread(target=_renew_forever, name="bx-lease-heartbeat", daemon=True)
            _heartbeat.start()


def _renew_forever() -> None:
    """Renew every held lease each HEARTBEAT_SECONDS. A store that cannot be reached (a database restart) is
    tried again on the next beat: the lease only lapses if that lasts LEASE_SECONDS."""
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        with _held_lock:
            held = list(_held.items())
        for job_id, (jobs, step) in held:
            try:
                still_claimed = hold_lease(jobs, job_id, step)
            except Exception:  # the store is unreachable now; the next beat tries again
                continue
            if not still_claimed:
                release(job_id)


def process_gone(pid: int) -> bool:
    """True when no process has this id on this host, or only its zombie (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: it exists
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def lapse_reason(stored: StoredJob, lease: Lease | None, now: float, host: str) -> str | None:
    """Why the claim of this job has lapsed, in plain words; None while it is alive."""
    if lease is None:  # claimed by a launcher that died before it recorded its lease, or before leases existed
        claimed = datetime.fromisoformat(stored.claimed_at).timestamp() if stored.claimed_at else 0.0
        if now - claimed > LEASE_SECONDS:
            return f"claimed by {stored.claimed_by} {now - claimed:.0f} s ago and never taken by a running process"
        return None
    where = f"process {lease.pid} on {lease.host}"
    if lease.host == host and process_gone(lease.pid):
        return f"worker died ({where} is gone) during step {lease.step}"
    silent = now - lease.heartbeat_at
    if silent > LEASE_SECONDS:
        return f"worker lost (no heartbeat from {where} for {silent:.0f} s; the lease is {LEASE_SECONDS:.0f} s) during step {lease.step}"
    return None
