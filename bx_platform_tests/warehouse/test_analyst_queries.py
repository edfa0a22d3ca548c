"""Every analyst query under sql/ runs on a small demo store, and the README's analyst lines work as printed
(the DuckDB command line installed with the project, `bx sql`), in real subprocesses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from bx_platform.paths import REPO_ROOT
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import BX, SMALL_JOB, bx_env, materialize_job
from bx_platform_tests.defs.test_quality_gate import _archive_with_a_negative_close

DUCKDB_CLI = Path(sys.executable).parent / "duckdb"
QUERY_FILES = sorted(path for path in (REPO_ROOT / "sql").rglob("*.sql") if path.name != "schema.sql")
# a finished store has no partition waiting for its gate, and this one has no league round: these queries are
# empty here by design (the league query's rows are checked on a backfilled league, defs/test_league_schedule.py)
EMPTY_IN_THIS_STORE = {"staged_partitions_in_flight", "league_standings_latest"}


def named_queries() -> list[tuple[str, str, set[str]]]:
    """(name, SQL, stores) of every query: a block starting with `-- name: NAME`, its `-- store:` line naming
    the stores it runs on."""
    queries = []
    for path in QUERY_FILES:
        for block in re.split(r"^(?=-- name: )", path.read_text(), flags=re.MULTILINE)[1:]:
            name = re.match(r"-- name: (\S+)", block).group(1)
            stores = re.search(r"^-- store: (.+)$", block, flags=re.MULTILINE)
            assert stores, f"{path.name}: {name} has no `-- store:` line"
            queries.append((name, block, {store.strip() for store in stores.group(1).split(",")}))
    return queries


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    """A BX home at `<folder>/.bx`, as in a clone, with a public contest job that completed and a job stopped by
    its quality gate (so quarantine has rows)."""
    folder = tmp_path_factory.mktemp("analyst")
    home = folder / ".bx"
    warehouse = Warehouse(home / "warehouse").ensure()
    url = f"sqlite:///{home / 'jobs.sqlite'}"
    with DagsterInstance.ephemeral() as instance:
        public = {**SMALL_JOB, "visibility": "public", "contest": "sql-tests"}
        _, completed = materialize_job(public, url, warehouse.root, instance)
        _, stopped = materialize_job(SMALL_JOB, url, warehouse.root, instance, archive_dir=_archive_with_a_negative_close(folder))
    assert completed.success and not stopped.success
    warehouse.connect_public().close()  # the public store, as a finished job leaves it
    (folder / "sql").symlink_to(REPO_ROOT / "sql")  # README lines name sql/queries.sql from the clone's root
    return home


def test_every_query_file_has_named_queries():
    assert QUERY_FILES and len(named_queries()) >= 11


@pytest.mark.parametrize("name, sql, stores", named_queries(), ids=[query[0] for query in named_queries()])
def test_every_analyst_query_runs_on_the_stores_it_names(demo_home, name, sql, stores):
    warehouse = Warehouse(demo_home / "warehouse")
    paths = {"operator": warehouse.duckdb_path, "public": warehouse.public_path}
    assert stores <= set(paths) and stores, stores
    for store in stores:
        with duckdb.connect(str(paths[store]), read_only=True) as conn:
            rows = conn.execute(sql).fetchall()
        assert rows or name in EMPTY_IN_THIS_STORE, f"{name} on the {store} store returned no row"


def _readme_analyst_lines() -> list[str]:
    """The command lines of the README's section on querying the store that call `duckdb` or `bx sql`."""
    section = REPO_ROOT.joinpath("README.md").read_text().split("## Querying the store", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith(("duckdb ", "bx sql")):
                lines.append(command)
    return lines


def test_the_readme_shows_both_analyst_lines():
    lines = _readme_analyst_lines()
    assert any(line.startswith("duckdb -readonly .bx/warehouse/public/bx-public.duckdb ") for line in lines), lines
    assert any(line.startswith("bx sql ") for line in lines) and any(line == "bx sql" for line in lines), lines


@pytest.mark.parametrize("line", _readme_analyst_lines())
def test_readme_analyst_line_works_as_printed(demo_home, line):
    """Run from the folder holding `.bx`, as from a clone's root, with the venv's bin first on PATH (as after
    `source .venv/bin/activate`); stdin is not a terminal, so an interactive line reads nothing and exits."""
    env = bx_env(demo_home, PATH=f"{DUCKDB_CLI.parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(line, shell=True, cwd=demo_home.parent, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stdout + done.stderr
    if line != "bx sql":
        assert done.stdout.strip(), line


def test_bx_sql_opens_the_stores_read_only(demo_home):
    env = bx_env(demo_home)
    public = subprocess.run([BX, "sql", "SELECT count(*) AS n FROM public_scores"], env=env, capture_output=True, text=True, timeout=120)
    assert public.returncode == 0 and re.search(r"\b2\b", public.stdout), public.stdout + public.stderr
    # the public store has no operator view; the operator store has them all
    missing = subprocess.run([BX, "sql", "SELECT count(*) FROM fills"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "fills" in missing.stderr
    operator = subprocess.run([BX, "sql", "--operator", "SELECT count(*) FROM quarantine_market_bars"], env=env, capture_output=True, text=True, timeout=120)
    assert operator.returncode == 0, operator.stderr
    written = subprocess.run([BX, "sql", "CREATE TABLE t AS SELECT 1"], env=env, capture_output=True, text=True, timeout=120)
    assert written.returncode != 0 and "read-only" in written.stderr


def test_bx_sql_without_a_store_says_so(tmp_path):
    done = subprocess.run([BX, "sql", "SELECT 1"], env=bx_env(tmp_path / "bx"), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "no store yet" in done.stderr and "Traceback" not in done.stderr


def test_the_command_line_is_the_python_package_version():
    done = subprocess.run([str(DUCKDB_CLI), "-version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.split()[0].lstrip("v") == duckdb.__version__
