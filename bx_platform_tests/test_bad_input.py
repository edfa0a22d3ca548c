"""Bad input never costs a traceback, memory or a slot (issue 9, item 5): every failed probe of the issue,
re-run through the `bx` command. A spec is refused with exit code 2 and one line naming the field or file,
before anything is stored and within bounded memory and time; an absurd market bar is quarantined; a
corrupt stored partition fails the job that reads it, naming the file; `bx leaderboard` needs no lock."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
from datetime import datetime, timezone

import polars as pl
import pytest
import sqlalchemy as sa

from bx_platform.cli import main
from bx_platform.jobs.spec_input import MAX_SPEC_BYTES, read_at_most
from bx_platform.jobs.store import JobStore
from bx_platform.paths import REPO_ROOT
from bx_platform.pipeline.results import publish_leaderboard
from bx_platform.warehouse.store import Warehouse
from bx_platform.market.plausibility import MOVE
from bx_platform_tests.defs.helpers import BX, COINBASE_BTC_1H, SMALL_JOB, bx_env, doctored_archive, materialize_job

GOOD_YAML = """\
organization: acme
markets: [{venue: coinbase, symbol: BTC/USD}]
window: {start: 2018-01-01, end: 2018-03-01}
strategies: [bx/sma-trend]
"""
# A child `bx` process with its address space capped: reading a 200 MB spec, or /dev/zero, into memory would
# fail it with a MemoryError. It prints its peak resident memory last (VmHWM: ru_maxrss would include the
# parent's, as Linux keeps it across fork and exec).
MEMORY_CAP = 512 * 2**20
BOUNDED_CHILD = """\
import re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
from bx_platform.cli import main
code = main(sys.argv[1:])
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024)
sys.exit(code)
"""


def _nothing_stored(home) -> None:
    """A refused spec leaves no trace: no job store, no warehouse, no Dagster home."""
    assert not home.exists() or list(home.iterdir()) == []


@pytest.mark.parametrize(
    "text, named",
    [
        (GOOD_YAML + "organization: other\n", "job.yaml: organization: key given twice (lines 1 and 5)"),
        (GOOD_YAML + "capital: {initial: true}\n", "job.yaml: capital.initial: Input should be a valid number"),
        (GOOD_YAML + "capital: true\n", "job.yaml: capital: Input should be a valid dictionary"),
        (GOOD_YAML + "capital: .inf\n", "job.yaml: capital: Input should be a valid dictionary"),  # the spelling
        (GOOD_YAML + "capital: 1e-300\n", "job.yaml: capital: Input should be a valid dictionary"),
        (GOOD_YAML + "capital: {initial: '100000'}\n", "job.yaml: capital.initial: Input should be a valid number"),
        (GOOD_YAML + "capital: {initial: .inf}\n", "job.yaml: capital.initial: Input should be a finite number"),
        (GOOD_YAML + "capital: {initial: .nan}\n", "job.yaml: capital.initial: Input should be a finite number"),
        (GOOD_YAML + "capital: {initial: 1e-300}\n", "job.yaml: capital.initial: Input should be greater than or equal to 100"),
        (GOOD_YAML + "capital: {initial: 1e13}\n", "job.yaml: capital.initial: Input should be less than or equal to 1000000000000"),
        (GOOD_YAML + "costs: {fee_bps: '10'}\n", "job.yaml: costs.fee_bps: Input should be a valid number"),
        (GOOD_YAML + "sessions: 4.5\n", "job.yaml: sessions: Input should be a valid integer"),
        (GOOD_YAML.replace("acme", "a" * 10_000), "job.yaml: organization: String should have at most 64 characters"),
        (GOOD_YAML + f"name: {'n' * 10_000}\n", "job.yaml: name: String should have at most 200 characters"),
        (GOOD_YAML + 'name: "red \\e[31m text"\n', "job.yaml: name: String should match pattern"),
        (GOOD_YAML.replace("BTC/USD", "B" * 500), "job.yaml: markets.0.symbol: String should have at most 40 characters"),
        (GOOD_YAML.replace("[bx/sma-trend]", "[" + ", ".join(f"x/{i}" for i in range(40)) + "]"), "job.yaml: strategies: List should have at most 32 items"),
        (json.dumps({**SMALL_JOB, "k" * 60_000: 1}), f"job.yaml: {'k' * 79}…: Extra inputs are not permitted\n"),
        (GOOD_YAML + "name: &label a\ncontest: *label\n", "anchors and aliases (&label, *label) are not allowed"),
        ("[" * 10_000 + "]" * 10_000, "job.yaml: nested deeper than 32 levels"),
        ("{" + '"a": {' * 5_000 + "}" * 5_001, "job.yaml: nested deeper than"),
        ('{"organization": "acme", "capital": {"initial": Infinity}}', "job.yaml: Infinity is not a number a spec may hold"),
        (GOOD_YAML.replace("start: 2018-01-01", "start: '0001-01-01T00:00:00+05:00'"), "job.yaml: window.start: date out of range"),
        (GOOD_YAML.replace("start: 2018-01-01", "start: 20180101"), "job.yaml: window.start: must be a date or an ISO 8601 time, not a number"),
        (GOOD_YAML.replace("start: 2018-01-01", "start: 2018-13-45"), "job.yaml: a value cannot be read (month must be in 1..12)"),
        (GOOD_YAML + f"capital: {{initial: {'9' * 5000}}}\n", "job.yaml: a value cannot be read (Exceeds the limit (4300 digits)"),
        ('{"capital": {"initial": ' + "9" * 5000 + "}}", "job.yaml: a value cannot be read (Exceeds the limit (4300 digits)"),
    ],
)
@pytest.mark.parametrize("command", ["submit", "run"])
def test_a_bad_spec_exits_2_naming_the_field_and_stores_nothing(bx_home, tmp_path, capsys, command, text, named):
    spec = tmp_path / "job.yaml"
    spec.write_text(text)
    assert main([command, str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and named.replace("job.yaml", str(spec)) in err
    assert "Traceback" not in err and err.count("\n") == 1
    _nothing_stored(bx_home)


def test_numbers_are_read_as_json_and_yaml_1_2_read_them(bx_home, tmp_path, capsys):
    """`1e6` is a number in JSON and YAML 1.2 (PyYAML's YAML 1.1 would make it a string); a JSON spec is read
    exactly as its YAML spelling."""
    as_yaml = tmp_path / "job.yaml"
    as_yaml.write_text(GOOD_YAML + "capital: {initial: 1e6}\n")
    as_json = tmp_path / "job.json"
    as_json.write_text(json.dumps({**SMALL_JOB, "capital": {"initial": 1e6}}, separators=(",", ":")))
    assert main(["submit", str(as_yaml)]) == 0 and main(["submit", str(as_json)]) == 0
    ids = capsys.readouterr().out.split()
    assert len(set(ids)) == 2
    stored = JobStore().get(ids[1]).record["spec"]
    assert stored["capital"]["initial"] == 1e6 and stored["name"] == SMALL_JOB["name"]


@pytest.mark.parametrize("what", ["dev-zero", "fifo", "directory", "huge", "not-utf8"])
def test_a_file_that_is_no_spec_is_refused_in_bounded_memory_and_time(tmp_path, what):
    home = tmp_path / "bx"
    if what == "dev-zero":
        path, named = "/dev/zero", "/dev/zero: not a regular file (a character device)"
    elif what == "fifo":  # nobody ever writes to it: opening it for reading must not wait
        path = tmp_path / "spec.fifo"
        os.mkfifo(path)
        named = f"{path}: not a regular file (a FIFO)"
    elif what == "directory":
        path, named = tmp_path, f"{tmp_path}: not a regular file (a directory)"
    elif what == "huge":  # 200 MB, as in the probe (sparse: no disk used)
        path = tmp_path / "huge.yaml"
        with path.open("wb") as handle:
            handle.write(GOOD_YAML.encode())
            handle.truncate(200 * 2**20)
        named = f"{path}: too large (209,715,200 bytes); a job spec is at most 65,536 bytes"
    else:
        path = tmp_path / "latin1.yaml"
        path.write_bytes(GOOD_YAML.encode() + b"name: caf\xe9\n")
        named = f"{path}: not UTF-8 text"
    for command in ("submit", "run"):
        done = subprocess.run(
            [sys.executable, "-c", BOUNDED_CHILD.format(cap=MEMORY_CAP), command, str(path)],
            env=bx_env(home), capture_output=True, text=True, cwd=REPO_ROOT, timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith(f"error: {named}")
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        peak = int(done.stdout.split()[-1])
        assert peak < 120 * 2**20, f"{peak / 2**20:.0f} MB resident to refuse {what}"
    _nothing_stored(home)


def test_reading_stops_at_the_limit_whatever_the_source_holds():
    """A source that never ends (as a file that grows after its size was read) is read up to the limit + 1."""
    read_end, write_end = os.pipe()
    writer = threading.Thread(target=lambda: _write_until_closed(write_end), daemon=True)
    writer.start()
    try:
        data = read_at_most(read_end, MAX_SPEC_BYTES + 1)
    finally:
        os.close(read_end)
    writer.join(timeout=10)
    assert len(data) == MAX_SPEC_BYTES + 1


def _write_until_closed(fd: int) -> None:
    try:
        while True:
            os.write(fd, b"a: 1\n" * 4096)
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    return request.getfixturevalue("pg_database")


def test_names_are_bounded_alike_on_sqlite_and_postgresql(bx_home, tmp_path, monkeypatch, capsys, store_url):
    """The 10 KB organization name is refused before any store call, with the same message on both stores;
    the longest name allowed fits both."""
    monkeypatch.setenv("BX_JOBSTORE_URL", store_url)
    spec = tmp_path / "job.yaml"
    spec.write_text(GOOD_YAML.replace("acme", "a" * 10_000))
    assert main(["submit", str(spec)]) == 2
    assert capsys.readouterr().err == f"error: {spec}: organization: String should have at most 64 characters\n"
    engine = sa.create_engine(store_url)
    assert not sa.inspect(engine).has_table("bx_jobs")  # the store was never opened
    spec.write_text(GOOD_YAML.replace("acme", "a" * 64))
    assert main(["submit", str(spec)]) == 0
    job_id = capsys.readouterr().out.strip()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT organization FROM bx_jobs")).scalars().all() == ["a" * 64]
    engine.dispose()
    assert job_id.startswith("job-")


def _bx_run(spec, env: dict) -> tuple[int, str, str]:
    """`bx run` in its own process (the Dagster definitions read the environment when first imported)."""
    done = subprocess.run([BX, "run", str(spec)], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert "Traceback" not in done.stdout + done.stderr
    return done.returncode, done.stdout, done.stdout.strip().splitlines()[-1].split(":")[0]


def test_an_absurd_price_is_quarantined_and_never_reaches_the_boards(bx_home, tmp_path):
    from dagster import DagsterInstance

    first, second = datetime(2018, 2, 1, 12, tzinfo=timezone.utc), datetime(2018, 2, 2, 12, tzinfo=timezone.utc)
    archive = doctored_archive(tmp_path, COINBASE_BTC_1H, {first: 1e300, second: math.inf})
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_id, result = materialize_job(SMALL_JOB, f"sqlite:///{tmp_path / 'jobs.sqlite'}", warehouse.root, instance, archive)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    failed = evaluation.metadata["failed_expectations"].value
    for column, count in [("close", 2), (MOVE, 4)]:  # the two bars, and their moves to and from the next bars
        assert {"expectation": "expect_column_values_to_be_between", "column": column, "group": "coinbase:BTC/USD", "unexpected_count": count} in failed
    assert warehouse.exists("quarantine", "market_bars", job_id) and not warehouse.exists("verified", "market_bars", job_id)
    assert warehouse.read_verified("scores").height == 0 and warehouse.read_snapshot("leaderboard").height == 0


def test_a_corrupt_partition_fails_the_job_that_reads_it_naming_the_file(tmp_path):
    """An earlier job of the same contest whose equity partition was torn: the next job's leaderboard step
    reads it for the contest standings, so that job fails, naming the file (it was reported `partial`)."""
    from bx_platform.warehouse.schema import TABLES

    warehouse = Warehouse(tmp_path / "bx" / "warehouse").ensure()
    earlier = {column: None for column in TABLES["scores"]} | {
        "job_id": "job-earlier", "organization": "acme", "visibility": "public", "contest": "league",
        "strategy": "bx/sma-trend", "scoring_version": "bx-score-v1", "rank": 1, "beta_score": 1.0,
    }
    warehouse.write("verified", "scores", "job-earlier", pl.DataFrame([earlier], schema=TABLES["scores"]))
    corrupt = warehouse.partition_path("verified", "equity", "job-earlier")
    corrupt.write_bytes(b"PAR1" + b"\0" * 100)  # a torn write, or a disk that lost the tail
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps({**SMALL_JOB, "contest": "league"}))

    done = subprocess.run([BX, "run", str(spec)], env=bx_env(tmp_path / "bx"), capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert f"failed at leaderboard: step leaderboard failed: {corrupt}: not a readable Parquet file" in done.stdout
    job_id = done.stdout.strip().splitlines()[-1].split(":")[0]
    assert JobStore(f"sqlite:///{tmp_path / 'bx' / 'jobs.sqlite'}").get(job_id).outcome == "failed"
    document = warehouse.read_result(job_id)
    assert document["status"] == "failed" and str(corrupt) in document["failure"]["reason"]
    assert warehouse.read_snapshot("contest_standings").height == 0

    # once the torn file is repaired (here: the earlier job removed), the failed job is on no board
    corrupt.unlink()
    warehouse.partition_path("verified", "scores", "job-earlier").unlink()
    assert publish_leaderboard(warehouse).height == 0 and warehouse.read_verified("scores")["job_id"].to_list() == [job_id] * 2
    assert warehouse.read_snapshot("contest_standings").height == 0
    with warehouse.connect_public() as public:  # nor in the public scores analysts read
        assert public.execute("SELECT count(*) FROM public_scores").fetchall() == [(0,)]


def test_a_corrupt_board_snapshot_is_named_to_its_reader(bx_home, capsys):
    warehouse = Warehouse().ensure()
    from bx_platform.warehouse.schema import TABLES

    snapshot = warehouse.write_snapshot("leaderboard", pl.DataFrame(schema=TABLES["leaderboard"]))
    snapshot.write_bytes(b"PAR1 not really")
    assert main(["leaderboard"]) == 1
    assert capsys.readouterr().err == f"error: a stored file cannot be read: {snapshot}: not a readable Parquet file (parquet: File out of specification: The file must end with PAR1 or PARE)\n"


def test_the_leaderboard_needs_no_lock_while_an_analyst_holds_the_duckdb_file(tmp_path):
    home = tmp_path / "bx"
    env = bx_env(home)
    warehouse = Warehouse(home / "warehouse").ensure()
    from bx_platform.warehouse.schema import TABLES

    board = pl.DataFrame(
        [{"rank": 1, "strategy": "bx/sma-trend", "evaluations": 3, "scored_evaluations": 3, "mean_bx_score": 61.5,
          "credibility": 0.5, "credible_score": 55.0, "eligible_share": 1.0, "violations": 0}],
        schema=TABLES["leaderboard"],
    )
    warehouse.write_snapshot("leaderboard", board)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()",
         str(warehouse.duckdb_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run([sys.executable, "-m", "bx_platform.cli", "leaderboard"], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    finally:
        holder.communicate("", timeout=30)
    assert done.returncode == 0, done.stderr
    assert "bx/sma-trend" in done.stdout and "55.00" in done.stdout


def test_a_fresh_home_has_an_empty_leaderboard_and_creates_nothing(bx_home, capsys):
    assert main(["leaderboard"]) == 0
    assert "Long-term public leaderboard" in capsys.readouterr().out
    assert not bx_home.exists()
