"""Market-data fixtures: the real upstream files, and one fresh import of them per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bx_platform.market.importers import default_source_dir, import_archive


@pytest.fixture(scope="session")
def source_dir() -> Path:
    src = default_source_dir()
    if not (src / "SOURCES.md").is_file():
        message = f"upstream market data not found at {src} (set BX_MARKET_SOURCE_DIR)"
        if os.environ.get("CI", "").lower() == "true":  # CI has shared/ beside the clone: never pass by skipping
            pytest.fail(message)
        pytest.skip(message)
    return src


@pytest.fixture(scope="session")
def fresh_archive(source_dir, tmp_path_factory) -> Path:
    """A fresh import of every upstream file into a temporary archive (shared by the session)."""
    target = tmp_path_factory.mktemp("archive_fresh")
    import_archive(source_dir, target, progress=lambda _msg: None)
    return target


@pytest.fixture(scope="session")
def manifest(fresh_archive) -> dict:
    from bx_platform.market.archive import load_manifest

    return load_manifest(fresh_archive)


@pytest.fixture(scope="session")
def ccxt_dir(source_dir) -> Path:
    return source_dir / "ccxt"
