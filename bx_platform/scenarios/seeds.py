"""Scenario seeds and their commitments (docs/private-evaluation.md, "Seeds, commit and reveal").

    seed_s       = HMAC-SHA256(secret, "bx-scenario/1|" + job_id + "|" + s)        (hex)
    commitment_s = SHA-256("bx-scenario-commitment/1|" + job_id + "|" + s + "|" + seed_s)   (hex)

The secret comes from the environment (`BX_SCENARIO_SECRET`); without it, a development secret is generated
once into `$BX_HOME/keys/scenario-secret` (mode 0600) and the platform says so. Nothing else ever stores a
seed: a job record holds the commitments only, which reveal nothing of a 256-bit seed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

import numpy as np

from bx_platform.paths import bx_home

SECRET_ENV = "BX_SCENARIO_SECRET"
DEV_SECRET_FILE = Path("keys") / "scenario-secret"
_log = logging.getLogger("bx_platform.scenarios")
_warned: set[Path] = set()
SEED_FORMAT, COMMITMENT_FORMAT = "bx-scenario/1", "bx-scenario-commitment/1"


def dev_secret_path() -> Path:
    return bx_home() / DEV_SECRET_FILE


def scenario_secret() -> tuple[bytes, str]:
    """The server's scenario secret and where it came from: (`BX_SCENARIO_SECRET`, "environment") or the
    development secret file (created on first use), ("…", "development secret file PATH")."""
    value = os.environ.get(SECRET_ENV)
    if value:
        return value.encode("utf-8"), "environment"
    path = dev_secret_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    if path not in _warned:  # once per process and file (on stderr when logging is not configured)
        _warned.add(path)
        _log.warning(f"{SECRET_ENV} is unset: scenario seeds use the development secret in\n{path}\n(set {SECRET_ENV} in production)")
    return path.read_text().strip().encode("utf-8"), f"development secret file {path} (set {SECRET_ENV} in production)"


def scenario_seed(secret: bytes, job_id: str, scenario: str) -> str:
    """The seed of one scenario of one job: an HMAC of the job id and the scenario name under the secret."""
    return hmac.new(secret, f"{SEED_FORMAT}|{job_id}|{scenario}".encode("utf-8"), hashlib.sha256).hexdigest()


def commitment(job_id: str, scenario: str, seed: str) -> str:
    """The public commitment to a seed, bound to its job and scenario."""
    return hashlib.sha256(f"{COMMITMENT_FORMAT}|{job_id}|{scenario}|{seed}".encode("utf-8")).hexdigest()


def generator(seed: str) -> np.random.Generator:
    """The numpy generator every random choice of a scenario draws from (PCG64 of the seed's 256 bits)."""
    return np.random.Generator(np.random.PCG64(int(seed, 16)))
