"""`bx league`: the league templates, their standings, and submitting a round by hand (docs/leagues.md)."""

from __future__ import annotations

import argparse


def add_league_commands(sub: argparse._SubParsersAction) -> None:
    """Add `bx league` to `bx`'s subcommands."""
    league = sub.add_parser("league", help="recurring evaluations: league templates (data/leagues) and standings")
    league_sub = league.add_subparsers(dest="league_command", required=True, metavar="ACTION")
    listing = league_sub.add_parser("list", help="the leagues: cadence, rounds, who takes part")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=cmd_league_list)
    standings = league_sub.add_parser("standings", help="a league's standings: per round and cumulative, with tiers")
    standings.add_argument("name", metavar="NAME")
    standings.add_argument("--round", metavar="YYYY-MM-DD", help="standings after this round (default: the latest)")
    standings.add_argument("--json", action="store_true", help="print every round's rows as a JSON array")
    standings.set_defaults(func=cmd_league_standings)
    submit = league_sub.add_parser("submit", help="submit rounds' jobs by hand (once each); the sensor launches them")
    submit.add_argument("name", metavar="NAME")
    submit.add_argument("rounds", nargs="+", metavar="ROUND", help="a round's first day, YYYY-MM-DD")
    submit.set_defaults(func=cmd_league_submit)


def cmd_league_list(args) -> int:
    from bx_platform.jobs.leagues import load_leagues
    from bx_platform.terminal import Column, print_json, print_table

    rows = [
        {
            "name": league.name,
            "organization": league.organization,
            "visibility": league.visibility,
            "rounds": league.describe_rounds(),
            "participants": ", ".join(league.strategies) if league.strategies else league.participants,
        }
        for league in load_leagues()
    ]
    if args.json:
        print_json(rows)
    elif rows:
        columns = [Column("name", whole=True), Column("organization", drop=2), Column("visibility", drop=1), Column("rounds"), Column("participants")]
        print_table(rows, columns, "Leagues (data/leagues)")
    else:
        print("no leagues in data/leagues")
    return 0


def cmd_league_standings(args) -> int:
    import polars as pl

    from bx_platform.errors import InputError
    from bx_platform.jobs.leagues import find_league
    from bx_platform.pipeline.leagues import read_standings
    from bx_platform.terminal import Column, print_json, print_table
    from bx_platform.warehouse.store import Warehouse

    league = find_league(args.name)
    standings = read_standings(Warehouse(), league.name)  # a reader: creates nothing, opens no DuckDB file
    if args.json:
        print_json(standings.to_dicts())
        return 0
    if standings.is_empty():
        print(f"league {league.name}: no round scored yet ({league.describe_rounds()})")
        return 0
    played = standings["round"].cast(pl.String).unique().sort().to_list()
    day = args.round or played[-1]
    if day not in played:
        raise InputError("--round", f"league {league.name} has no scored round {day!r} (scored: {', '.join(played)})")
    rows = standings.filter(pl.col("round").cast(pl.String) == day).sort("cumulative_rank").to_dicts()
    columns = [
        Column("strategy", whole=True), Column("rank"), Column("score"), Column("tier", drop=1), Column("rounds", drop=2),
        Column("cumulative_score", "total score"), Column("cumulative_rank", "total rank"), Column("cumulative_tier", "total tier", drop=3),
    ]
    print_table(rows, columns, f"League {league.name} after round {day} ({len(played)} rounds scored; score = beta score)")
    return 0


def cmd_league_submit(args) -> int:
    from bx_platform.jobs.leagues import find_league
    from bx_platform.jobs.store import JobStore
    from bx_platform.market.archive import default_archive_dir
    from bx_platform.pipeline.leagues import submit_round
    from bx_platform.warehouse.store import Warehouse

    league = find_league(args.name)
    rounds = [league.round_starting(key) for key in args.rounds]  # every round checked before any is submitted
    store, warehouse = JobStore(), Warehouse().ensure()
    try:
        for round_ in rounds:
            submission = submit_round(league, round_, store, warehouse, default_archive_dir())
            print(f"round {round_.key}: {submission.job_id} ({'submitted' if submission.created else 'already submitted'})")
    finally:
        store.dispose()
    return 0
