"""The `bx` command. User mistakes print one line naming the field or file and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bx_platform.control.cli import add_control_commands
from bx_platform.errors import InputError, StoredDataError
from bx_platform.jobs.store import STATES
from bx_platform.leagues_cli import add_league_commands
from bx_platform.paths import REPO_ROOT, bx_home
from bx_platform.recovery_cli import add_recovery_commands, end_lapsed_claims_now
from bx_platform.report_cli import add_report_commands
from bx_platform.room_view import print_outcome, print_room
from bx_platform.scenario_commands import add_scenario_commands
from bx_platform.strategies.cli import add_strategy_commands
from bx_platform.terminal import PERCENT_FIELDS, Column, ProgressLines, percent, print_json, print_table, say
from bx_platform.verification_cli import add_verification_commands

EXIT_FAILED, EXIT_INVALID = 1, 2
DEMO_JOBS = REPO_ROOT / "data" / "jobs"


# -- commands ------------------------------------------------------------------------------------------
def _in_file(path: str, error: InputError) -> InputError:
    """Name the spec file in an admission error, as the spec's own validation errors do."""
    return error if error.where.startswith(path) else InputError(f"{path}: {error.where}", error.problem)


def cmd_submit(args) -> int:
    from bx_platform.jobs.spec import load_spec

    spec = load_spec(args.job)  # before Dagster is imported: a bad spec costs no more than its reading
    from bx_platform.pipeline.admission import submit_job

    try:
        record, created = submit_job(spec)
    except InputError as error:
        raise _in_file(args.job, error) from None
    print(record["job_id"])
    print(
        f"{'submitted' if created else 'already submitted (unchanged)'}; the sensor launches it while the "
        "Dagster daemon runs (`bx daemon`, or `bx ui` which includes it), or a `bx worker` runs it; "
        "`bx result JOB_ID` shows it",
        file=sys.stderr,
    )
    return 0


def cmd_run(args) -> int:
    from bx_platform.jobs.spec import load_spec

    spec = load_spec(args.job)  # before Dagster is imported: a bad spec costs no more than its reading
    from bx_platform.defs.runner import run_job

    try:
        outcome = run_job(spec, progress=ProgressLines())  # on stderr: stdout stays the data (--json)
    except InputError as error:
        raise _in_file(args.job, error) from None
    return print_outcome(outcome, args.json)




def cmd_demo(args) -> int:
    from bx_platform.defs.runner import run_job
    from bx_platform.demo import OWN_STRATEGIES_JOB, PRIVATE_EVALUATION_JOB, PACKAGE_HANDLE, REMOTE_HANDLE, example_remote_model, register_own_strategies
    from bx_platform.jobs.spec import load_spec
    from bx_platform.warehouse.store import Warehouse

    if args.fresh:
        import shutil

        shutil.rmtree(bx_home(), ignore_errors=True)
    specs = sorted(DEMO_JOBS.glob("*.yaml"))
    total = len(specs) + 2
    say(f"BX Platform demo: {total} example jobs from {DEMO_JOBS.relative_to(REPO_ROOT)}/ on the real archive")
    worst = 0

    def demo_job(i: int, path: Path) -> None:
        nonlocal worst
        print(f"\nJob {i} of {total}: {path.name}")
        outcome = run_job(load_spec(path), progress=ProgressLines(indent="  "))
        if outcome.result:
            print_room(outcome.result)
        print(f"  -> {outcome.status}")
        worst = max(worst, outcome.exit_code if outcome.exit_code != 3 else 0)

    for i, path in enumerate(specs, 1):
        demo_job(i, path)
    print()
    say(f"Your own strategies: registering the example package as {PACKAGE_HANDLE} (sandboxed process) and the "
        f"example remote model as {REMOTE_HANDLE} (HTTP on 127.0.0.1), as `bx strategy register` does")
    with example_remote_model() as endpoint:
        register_own_strategies(endpoint)
        demo_job(total - 1, OWN_STRATEGIES_JOB)
    print()
    say("The official private evaluation: the same strategies on eleven hidden scenarios of the window")
    demo_job(total, PRIVATE_EVALUATION_JOB)
    warehouse = Warehouse().ensure()
    print()
    _print_leaderboard(warehouse)
    print("\nPublic analyst store (public data only; `bx sql` opens it read-only):")
    print(f"  {warehouse.public_path}")
    print("Operator store (every job, private ones too; `bx sql --operator`):")
    print(f"  {warehouse.duckdb_path}")
    print("Example query (ready-made ones: sql/queries.sql):")
    print(f"  bx sql \"{DEMO_QUERY}\"")
    return worst


DEMO_QUERY = "SELECT strategy, bx_score FROM public_scores ORDER BY 2 DESC LIMIT 5"


def _leaderboard_rows(warehouse) -> list[dict]:
    """The newest published board, read from its Parquet snapshot: no DuckDB file, so no lock to wait for."""
    return warehouse.read_snapshot("leaderboard").sort("market_class", "rank").to_dicts()


LEADERBOARD_COLUMNS = [
    Column("market_class", "class"),
    Column("rank"),
    Column("tier"),
    Column("strategy", whole=True),
    Column("credible_score", "score"),
    Column("mean_bx_score", "mean BX"),
    Column("credibility", "cred.", drop=3),
    Column("evaluations", "evals"),
    Column("scored_evaluations", "scored", drop=5),
    Column("tier_jobs", "tier jobs", drop=6),
    Column("eligible_share", "eligible", drop=2),
    Column("violations", "viol.", drop=4),
]


def _print_leaderboard(warehouse) -> None:
    print_table(
        _leaderboard_rows(warehouse),
        LEADERBOARD_COLUMNS,
        "Long-term public leaderboard: score = credibility-weighted BX Score, one board per market class; "
        "tier 1 = not told apart from the best at 90 %",
    )


def cmd_result(args) -> int:
    from bx_platform.jobs.store import JobStore
    from bx_platform.warehouse.store import Warehouse

    jobs = JobStore()
    end_lapsed_claims_now(jobs)  # a job whose worker died is shown failed with the reason, not running
    stored = jobs.existing(args.job_id)
    result = Warehouse().read_result(args.job_id)
    if args.json:
        if result is None:
            raise InputError("JOB_ID", f"{args.job_id} has no result ({stored.status}, {stored.outcome or 'no outcome yet'})")
        print_json(result)
        return 0
    if result:
        print_room(result)
    print(f"{args.job_id}: {stored.state}")
    return 0


def cmd_jobs(args) -> int:
    from bx_platform.jobs.store import JobStore

    store = JobStore()
    try:
        end_lapsed_claims_now(store)  # a job whose worker died is listed failed, not running
        jobs = store.list_jobs(organization=args.organization, state=args.status, limit=args.limit, offset=args.offset)
    finally:
        store.dispose()
    rows = [
        {
            "job_id": job.job_id,
            "organization": job.record["spec"]["organization"],
            "name": job.record["spec"].get("name"),
            "status": job.state,
            "submitted_at": job.submitted_at,
            "finished_at": job.finished_at,
        }
        for job in jobs
    ]
    if args.json:
        print_json(rows)
    elif rows:
        shown = [{**row, "submitted_at": _when(row["submitted_at"]), "finished_at": _when(row["finished_at"])} for row in rows]
        print_table(shown, JOBS_COLUMNS, "Jobs, newest first (times UTC)")
    else:
        print("no jobs" + (f" in state {args.status}" if args.status else ""))
    return 0


JOBS_COLUMNS = [
    Column("job_id", whole=True),
    Column("status"),
    Column("submitted_at", "submitted"),
    Column("organization", "org", drop=2),
    Column("finished_at", "finished", drop=1),
    Column("name", drop=3),
]


def _when(stored: str | None) -> datetime | None:
    """A stored ISO timestamp, in UTC, for display."""
    return datetime.fromisoformat(stored).astimezone(timezone.utc) if stored else None


def cmd_leaderboard(args) -> int:
    from bx_platform.warehouse.store import Warehouse

    warehouse = Warehouse()  # a reader: creates nothing, opens no DuckDB file
    if args.json:
        print_json(_leaderboard_rows(warehouse))
    else:
        _print_leaderboard(warehouse)
    return 0


def cmd_data_import(args) -> int:
    from bx_platform.market.importers import default_source_dir, import_archive
    from bx_platform.market.archive import default_archive_dir

    source = Path(args.source) if args.source else default_source_dir()
    target = Path(args.archive) if args.archive else default_archive_dir()
    if not source.is_dir():
        raise InputError(str(source), "source folder not found")
    manifest = import_archive(source, target, progress=print)
    datasets = manifest.get("datasets", manifest)
    print(f"archive written to {target} ({len(datasets)} datasets); manifest: {target / 'manifest.json'}")
    return 0


def cmd_data_list(args) -> int:
    from bx_platform.market.archive import list_datasets

    rows = [
        {"venue": d.venue, "symbol": d.symbol, "timeframe": d.timeframe, "start": d.start, "end": d.end, "rows": d.rows, "calendar": d.calendar}
        for d in list_datasets()
    ]
    if args.json:
        print_json(rows)
    else:
        columns = [Column("venue"), Column("symbol"), Column("timeframe", "tf"), Column("start"), Column("end"), Column("rows"), Column("calendar", drop=1)]
        print_table(rows, columns, "Canonical archive (start and end: first and last bar, UTC)")
    return 0


def cmd_metrics(args) -> int:
    from bx_platform.evaluation.equity_file import metrics_for_equity, read_equity_file

    if not math.isfinite(args.periods_per_year) or args.periods_per_year <= 0:
        raise InputError("--periods-per-year", f"must be a finite positive number, got {args.periods_per_year}")
    equity = read_equity_file(args.equity)
    benchmark = read_equity_file(args.benchmark) if args.benchmark else None
    result = metrics_for_equity(equity, args.periods_per_year, benchmark)
    result = {key: value + 0.0 if isinstance(value, float) else value for key, value in result.items()}  # no -0.0
    if args.json:
        print(json.dumps(result, sort_keys=True, allow_nan=False))
    else:
        rows = [{"metric": name, "value": percent(value) if name in PERCENT_FIELDS and value is not None else value} for name, value in result.items()]
        print_table(rows, [Column("metric"), Column("value")])
    return 0


def cmd_warehouse_init(args) -> int:
    from bx_platform.warehouse.store import Warehouse

    warehouse = Warehouse().ensure()
    if args.recreate_views:
        warehouse.create_views()
    print(warehouse.duckdb_path)
    return 0


def cmd_sql(args) -> int:
    from bx_platform.warehouse.store import Warehouse

    warehouse = Warehouse()  # a reader: creates nothing
    store = warehouse.duckdb_path if args.operator else warehouse.public_path
    if not store.is_file():
        raise InputError(str(store), "no store yet: run a job first (`bx run JOB.yaml` or `bx demo`)")
    duckdb_cli = Path(sys.executable).parent / "duckdb"  # installed with the project (duckdb-cli)
    if not duckdb_cli.is_file():
        raise InputError(str(duckdb_cli), "the DuckDB command line is missing: reinstall with `python3 bootstrap.py install`")
    sys.stdout.flush()
    # the CLI takes over this process: Ctrl-C then interrupts a query inside it instead of ending `bx`
    os.execv(duckdb_cli, [str(duckdb_cli), "-readonly", str(store), *([args.query] if args.query else [])])


def _dagster_command(what: str, command: list[str]) -> int:
    from bx_platform.defs.instance import ensure_dagster_home

    home = ensure_dagster_home()
    print(f"DAGSTER_HOME={home}; starting {what} (Ctrl-C stops)", file=sys.stderr)
    executable = str(Path(sys.executable).parent / command[0])
    return subprocess.call([executable, *command[1:], "-w", str(REPO_ROOT / "workspace.yaml")], cwd=REPO_ROOT, env=os.environ.copy())


def cmd_api(args) -> int:
    from bx_platform.api.openapi import write_openapi

    if args.write_openapi:
        print(write_openapi())
        return 0
    import uvicorn

    from bx_platform.api.app import create_app

    print(f"BX Platform API on http://{args.host}:{args.port} (OpenAPI: /openapi.json, docs: /docs)", file=sys.stderr)
    if args.workers > 1:  # worker processes each build the app from the environment
        uvicorn.run("bx_platform.api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers, log_level="warning")
    else:
        uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_ui(args) -> int:
    return _dagster_command("the Dagster UI and daemon", ["dagster", "dev", "-p", str(args.port)])


def cmd_worker(args) -> int:
    import signal
    import threading

    from bx_platform.defs.runner import run_worker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop: the job in hand finishes first
    until = "until none waits" if args.once else "until SIGTERM, which stops it after the job in hand"
    print(f"bx worker: running submitted jobs in this process, oldest first, {until}", file=sys.stderr)
    for outcome in run_worker(progress=ProgressLines(), once=args.once, stop=stop):
        if args.json:  # one object per line (JSON Lines): a reader follows the stream job by job
            print(json.dumps({"job_id": outcome.job_id, "status": outcome.status}, sort_keys=True), flush=True)
        else:
            print(f"{outcome.job_id}: {outcome.status}", flush=True)
    return 0


def cmd_daemon(args) -> int:
    return _dagster_command("the Dagster daemon (sensors launch submitted jobs)", ["dagster-daemon", "run"])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bx", description="BX Platform: Benchmark-as-a-Service for trading strategies")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the shipped example jobs end to end and print the leaderboard")
    demo.add_argument("--fresh", action="store_true", help="delete the local state ($BX_HOME) first")
    demo.set_defaults(func=cmd_demo)

    submit = sub.add_parser("submit", help="register a job spec (YAML); the sensor launches it")
    submit.add_argument("job", help="job spec YAML file")
    submit.set_defaults(func=cmd_submit)

    run = sub.add_parser("run", help="register a job and run it now through Dagster; print the result")
    run.add_argument("job", help="job spec YAML file")
    run.add_argument("--json", action="store_true", help="print the result document (progress stays on stderr)")
    run.set_defaults(func=cmd_run)

    result = sub.add_parser("result", help="a job's status and result (the room, or the result document with --json)")
    result.add_argument("job_id", metavar="JOB_ID")
    result.add_argument("--json", action="store_true", help="print the result document")
    result.set_defaults(func=cmd_result)

    jobs = sub.add_parser("jobs", help="list jobs, newest first (status: queued, running, complete, partial, failed)")
    jobs.add_argument("--status", choices=STATES, help="only jobs in this state")
    jobs.add_argument("--organization", help="only this organization's jobs")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.add_argument("--offset", type=int, default=0)
    jobs.add_argument("--json", action="store_true", help="print a JSON array")
    jobs.set_defaults(func=cmd_jobs)

    board = sub.add_parser("leaderboard", help="print the long-term public leaderboard")
    board.add_argument("--json", action="store_true", help="print a JSON array")
    board.set_defaults(func=cmd_leaderboard)

    metrics = sub.add_parser("metrics", help="return-based metrics of an equity curve (ts,equity)")
    metrics.add_argument("--equity", required=True, help="Parquet or CSV file with columns ts,equity")
    metrics.add_argument("--benchmark", help="benchmark equity file with the same columns (for alpha and beta)")
    metrics.add_argument("--periods-per-year", type=float, required=True, help="e.g. 365 for daily crypto, 252 for daily equities")
    metrics.add_argument("--json", action="store_true", help="print one JSON object")
    metrics.set_defaults(func=cmd_metrics)

    data = sub.add_parser("data", help="the market-data archive")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    data_import = data_sub.add_parser("import", help="convert the real upstream files into the canonical archive")
    data_import.add_argument("--source", help="folder of upstream files (default: ../shared/data/market)")
    data_import.add_argument("--archive", help="archive folder to write (default: data/archive or $BX_ARCHIVE_DIR)")
    data_import.set_defaults(func=cmd_data_import)
    data_list = data_sub.add_parser("list", help="list the archive's datasets")
    data_list.add_argument("--json", action="store_true", help="print a JSON array")
    data_list.set_defaults(func=cmd_data_list)

    sql = sub.add_parser("sql", help="open the analyst store read-only in the DuckDB command line, or run one query")
    sql.add_argument("query", nargs="?", metavar="QUERY", help="SQL to run and print (default: an interactive session)")
    sql.add_argument("--operator", action="store_true", help="the operator store (every job, private ones too) instead of the public one")
    sql.set_defaults(func=cmd_sql)

    warehouse = sub.add_parser("warehouse", help="the DuckDB analytical store")
    warehouse_sub = warehouse.add_subparsers(dest="warehouse_command", required=True, metavar="ACTION")
    init = warehouse_sub.add_parser("init", help="create the store and its DuckDB views; print the file's path")
    init.add_argument("--recreate-views", action="store_true", help="rebuild the DuckDB file of views")
    init.set_defaults(func=cmd_warehouse_init)

    api = sub.add_parser("api", help="serve the HTTP API (default 127.0.0.1:8000)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    api.add_argument("--write-openapi", action="store_true", help="write bx_platform/api/openapi.json and exit")
    api.set_defaults(func=cmd_api)

    ui = sub.add_parser("ui", help="start the Dagster UI and daemon on this project's instance")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    worker = sub.add_parser("worker", help="run submitted jobs one after another in this long-running process (imports paid once)")
    worker.add_argument("--once", action="store_true", help="stop when no submitted job waits")
    worker.add_argument("--json", action="store_true", help="print each finished job as a JSON line")
    worker.set_defaults(func=cmd_worker)

    daemon = sub.add_parser("daemon", help="run only the Dagster daemon (the sensor that launches submitted jobs)")
    daemon.set_defaults(func=cmd_daemon)
    add_control_commands(sub)
    add_strategy_commands(sub)
    add_verification_commands(sub)
    add_report_commands(sub)
    add_scenario_commands(sub)
    add_league_commands(sub)
    add_recovery_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except StoredDataError as exc:
        print(f"error: a stored file cannot be read: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`bx jobs --json | head`): not an error of ours
        sys.stdout = open(os.devnull, "w")
        return 0


if __name__ == "__main__":
    sys.exit(main())
