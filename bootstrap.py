#!/usr/bin/env python3
"""One command to install BX Platform into .venv and run it. Needs only Python 3.11+.

    python3 bootstrap.py demo      install, then run the demo (`bx demo`)
    python3 bootstrap.py test      install, then run the test suite (extra arguments go to pytest)
    python3 bootstrap.py install   install only

The environment is .venv at the repo root, installed from requirements.lock (every version and hash pinned)
plus this project in editable mode and the example strategy packages of examples/. A second call skips the install when nothing it depends on changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".bx-installed"
EXAMPLES_STAMP = VENV / ".bx-examples-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def install() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"BX Platform needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("installing the pinned environment (requirements.lock); about a minute the first time", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    # the lock is the whole dependency closure, hashed: install exactly it, resolving nothing
    _run([*pip, "--no-deps", "--require-hashes", "-r", str(ROOT / "requirements.lock")])
    _run([*pip, "--no-deps", "-e", str(ROOT)])
    STAMP.write_text(fingerprint)


def install_examples() -> None:
    """The example strategy packages (examples/*/pyproject.toml), so the demo and the tests can register them.
    Not editable: a regular install keeps a RECORD of its files' hashes, which a strategy registration pins."""
    packages = sorted(path.parent for path in (ROOT / "examples").glob("*/pyproject.toml"))
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted(package.rglob("*")):
            if path.is_file() and not {"build", "__pycache__"} & set(path.parts) and ".egg-info" not in str(path):
                digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    if EXAMPLES_STAMP.exists() and EXAMPLES_STAMP.read_text() == digest.hexdigest():
        return
    _run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps", *map(str, packages)])
    EXAMPLES_STAMP.write_text(digest.hexdigest())


def _run(command: list[str]) -> None:
    if subprocess.call(command) != 0:
        sys.exit(f"install failed: {' '.join(command)}")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "demo"
    if command not in {"demo", "test", "install"}:
        print(__doc__)
        return 2
    install()
    install_examples()
    if command == "install":
        return 0
    if command == "demo":
        return subprocess.call([str(BIN / "bx"), "demo", *argv[1:]], cwd=ROOT)
    return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
