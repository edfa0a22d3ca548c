"""The layers, read from the code: the domain core imports neither the application layer (pipeline), nor
Dagster, nor a web framework, nor the CLI; the application layer imports no Dagster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bx_platform"
CORE = ["jobs", "market", "strategies", "execution", "evaluation", "scoring", "warehouse", "reports", "scenarios"]
FORBIDDEN_IN_CORE = ("bx_platform.pipeline", "bx_platform.defs", "bx_platform.cli", "dagster", "fastapi", "starlette", "uvicorn")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offending(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for name in sorted(_imports(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


@pytest.mark.parametrize("package", CORE)
def test_domain_core_does_not_import_outer_layers(package):
    assert _offending(package, FORBIDDEN_IN_CORE) == []


def test_application_layer_does_not_import_dagster_or_the_cli():
    assert _offending("pipeline", ("bx_platform.defs", "bx_platform.cli", "dagster", "fastapi")) == []


@pytest.mark.parametrize("package", ["market", "execution", "evaluation", "scoring"])
def test_the_engine_and_the_statistics_do_not_know_about_jobs(package):
    """Market data is cut for a job, a job's spec is mapped onto the engine, and a job is evaluated, in the
    application layer: the core computes on bars, parameters and curves (this also removed the jobs <-> market
    import cycle)."""
    assert _offending(package, ("bx_platform.jobs",)) == []
