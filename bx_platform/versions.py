"""Versions recorded with every job: the engine's, the result schema's and the key libraries'."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

# Bump when a change to execution could change any fill or equity value of an existing job.
ENGINE_VERSION = "bx-engine-2"
RESULT_SCHEMA_VERSION = "bx-result-3"
KEY_LIBRARIES = ("bx-platform", "dagster", "duckdb", "polars", "pyarrow", "numpy", "scipy", "great-expectations", "ccxt", "pydantic")


def library_versions() -> dict[str, str]:
    found = {}
    for name in KEY_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
