"""Fixtures of the strategy tests: the strategy packages installed, a registry, archive observations."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

from bx_platform.paths import REPO_ROOT
from bx_platform.strategies.handles import HandleRegistry

PACKAGES = {
    "bx-example-strategy": REPO_ROOT / "examples" / "bx-example-strategy",
    "bx-fault-strategies": Path(__file__).parent / "fault_package",
}


def _installed_matches(name: str, source: Path) -> bool:
    """The installed distribution has the source's version, entry points and modules (else stale or absent)."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return False
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    declared = {(group, ep_name, value) for group, eps in project["entry-points"].items() for ep_name, value in eps.items()}
    if dist.version != project["version"] or {(ep.group, ep.name, ep.value) for ep in dist.entry_points} != declared:
        return False
    for module in source.glob("*/*.py"):
        installed = Path(dist.locate_file(module.relative_to(source)))
        if not installed.is_file() or installed.read_bytes() != module.read_bytes():
            return False
    return True


@pytest.fixture(scope="session")
def strategy_packages() -> None:
    """The example package and the fault package, installed (not editable: a RECORD pins their files)."""
    for name, source in PACKAGES.items():
        if not _installed_matches(name, source):
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", str(source)],
                check=True,
            )
    import importlib

    importlib.invalidate_caches()


@pytest.fixture
def registry(tmp_path, strategy_packages) -> HandleRegistry:
    return HandleRegistry(f"sqlite:///{tmp_path / 'jobs.sqlite'}")
