"""Operator commands of the control plane: `bx org`, `bx key`, `bx usage`, `bx webhook`.

Secrets (API keys, webhook signing secrets) are printed once, on stdout, and never again. Mistakes raise
`InputError`, which `bx` prints in one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta, timezone

from bx_platform.errors import InputError
from bx_platform.terminal import Column, print_json, print_table

PERIOD_HELP = "YYYY-MM (a month, default: this month), YYYY-MM-DD (a day), START..END (dates, END excluded) or all"


def add_control_commands(sub: argparse._SubParsersAction) -> None:
    """Add the control-plane commands to `bx`'s subcommands."""
    org = sub.add_parser("org", help="organizations (operators)")
    org_sub = org.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    create = org_sub.add_parser("create", help="register an organization")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--credits", type=float, default=0.0, help="initial budget in compute credits")
    create.add_argument("--jobs-per-hour", type=int, help="organization-wide frequency limit")
    create.add_argument("--jobs-per-day", type=int, help="organization-wide frequency limit")
    create.set_defaults(func=cmd_org_create)
    listing = org_sub.add_parser("list", help="organizations and their balances")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(func=cmd_org_list)
    grant = org_sub.add_parser("grant", help="add compute credits to an organization's budget")
    grant.add_argument("name", metavar="ORG")
    grant.add_argument("credits", type=float, metavar="CREDITS")
    grant.add_argument("--note", default="", help="why (kept in the ledger)")
    grant.set_defaults(func=cmd_org_grant)

    key = sub.add_parser("key", help="API keys (operators)")
    key_sub = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    key_create = key_sub.add_parser("create", help="create a key for an organization; prints its secret once")
    key_create.add_argument("organization", metavar="ORG")
    key_create.add_argument(
        "--capability",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="job_type, market, finest_timeframe, jobs_per_hour, jobs_per_day, use_strategy, register_strategy, "
        "admin (repeatable; see docs/api.md); a name given replaces its default",
    )
    key_create.set_defaults(func=cmd_key_create)
    key_list = key_sub.add_parser("list", help="keys with their capabilities (never their secrets)")
    key_list.add_argument("organization", nargs="?", metavar="ORG", help="one organization's keys (default: all)")
    key_list.add_argument("--json", action="store_true", help="print a JSON array")
    key_list.set_defaults(func=cmd_key_list)
    revoke = key_sub.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(func=cmd_key_revoke)

    usage = sub.add_parser("usage", help="usage statement in compute credits, per organization and period")
    usage.add_argument("--org", help="one organization (default: all)")
    usage.add_argument("--period", default=None, help=PERIOD_HELP)
    usage.add_argument("--json", action="store_true", help="print JSON")
    usage.set_defaults(func=cmd_usage)

    webhook = sub.add_parser("webhook", help="signed webhooks")
    webhook_sub = webhook.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    add = webhook_sub.add_parser("add", help="register an endpoint; prints its signing secret once")
    add.add_argument("organization", metavar="ORG")
    add.add_argument("url", metavar="URL")
    add.set_defaults(func=cmd_webhook_add)
    deliver = webhook_sub.add_parser("deliver", help="attempt every due webhook message once")
    deliver.set_defaults(func=cmd_webhook_deliver)


def cmd_org_create(args) -> int:
    from bx_platform.control import create_organization, grant_credits, open_engine

    engine = open_engine()
    create_organization(engine, args.name, jobs_per_hour=args.jobs_per_hour, jobs_per_day=args.jobs_per_day)
    if args.credits:
        grant_credits(engine, args.name, args.credits, note="initial budget")
    print(args.name)
    return 0


def cmd_org_list(args) -> int:
    from bx_platform.control import balance, open_engine
    from bx_platform.control.keys import list_organizations

    engine = open_engine()
    rows = [{"organization": name, "balance": balance(engine, name) / 1000} for name in list_organizations(engine)]
    if args.json:
        print_json(rows)
    elif rows:
        print_table(rows, [Column("organization"), Column("balance", "balance (credits)")], "Organizations")
    else:
        print("no organizations (`bx org create NAME`)")
    return 0


def cmd_org_grant(args) -> int:
    from bx_platform.control import grant_credits, open_engine

    balance = grant_credits(open_engine(), args.name, args.credits, note=args.note)
    print(f"{args.name}: balance {balance / 1000:g} credits")
    return 0


def cmd_key_create(args) -> int:
    from bx_platform.control import create_key, open_engine, parse_capabilities

    key_id, secret = create_key(open_engine(), args.organization, parse_capabilities(args.capability))
    print(secret)
    print(f"key {key_id} for {args.organization}: the secret above is shown once; store it now", file=sys.stderr)
    return 0


def cmd_key_list(args) -> int:
    from bx_platform.control import open_engine
    from bx_platform.control.keys import list_keys

    keys = list_keys(open_engine(), args.organization)
    if args.json:
        print_json(keys)
    elif keys:
        shown = [
            {
                **key,
                "status": "revoked" if key["revoked_at"] else "active",
                "capabilities": ", ".join(f"{name}={value}" for name, value in key["capabilities"]),
            }
            for key in keys
        ]
        columns = [Column("key_id", "key", whole=True), Column("organization", "org"), Column("status"),
                   Column("created_at", "created", drop=1), Column("capabilities")]
        print_table(shown, columns, "API keys (--json has when each was created and revoked)")
    else:
        print("no keys (`bx key create ORG`)")
    return 0


def cmd_key_revoke(args) -> int:
    from bx_platform.control import open_engine, revoke_key

    revoked = revoke_key(open_engine(), args.key_id)
    print(f"{args.key_id}: {'revoked' if revoked else 'already revoked'}")
    return 0


def cmd_usage(args) -> int:
    from bx_platform.control import open_engine, usage_statement
    from bx_platform.control.keys import list_organizations

    start, end = parse_period(args.period)
    engine = open_engine()
    names = [args.org] if args.org else list_organizations(engine)
    statements = [usage_statement(engine, name, start, end).to_dict() for name in names]
    if args.json:
        print_json(statements)
        return 0
    period = f"{start:%Y-%m-%d} .. {end:%Y-%m-%d} (end excluded)"
    print_table([{**s, "job_count": len(s["jobs"])} for s in statements], USAGE_COLUMNS, f"Usage in compute credits, {period}")
    for s in statements:
        if s["jobs"]:
            print_table(s["jobs"], JOB_USAGE_COLUMNS, f"Jobs of {s['organization']}")
    return 0


USAGE_COLUMNS = [
    Column("organization", "org"),
    Column("opening_balance", "opening"),
    Column("granted"),
    Column("charged"),
    Column("held"),
    Column("closing_balance", "closing"),
    Column("job_count", "jobs"),
    Column("cpu_seconds", "CPU s", drop=1),
    Column("bar_steps", "bar-steps", drop=2),
]
JOB_USAGE_COLUMNS = [
    Column("job_id", whole=True),
    Column("quoted_credits", "quoted"),
    Column("charged_credits", "charged"),
    Column("cpu_seconds", "CPU s", drop=1),
    Column("bar_steps", "bar-steps", drop=2),
]


def cmd_webhook_add(args) -> int:
    from bx_platform.control import add_endpoint, open_engine

    endpoint, secret = add_endpoint(open_engine(), args.organization, args.url)
    print(secret)
    print(
        f"endpoint {endpoint.endpoint_id} for {args.organization}: the signing secret above is shown once",
        file=sys.stderr,
    )
    return 0


def cmd_webhook_deliver(args) -> int:
    from bx_platform.control import deliver_due, open_engine

    report = deliver_due(open_engine())
    print(f"delivered {report.delivered}, retrying later {report.retrying}, given up {report.failed}")
    return 0


def parse_period(text: str | None, today: date | None = None) -> tuple[datetime, datetime]:
    """[start, end) in UTC for a period written as in PERIOD_HELP."""
    today = today or datetime.now(timezone.utc).date()
    text = (text or today.strftime("%Y-%m")).strip()
    try:
        if text == "all":
            return _midnight(date(1970, 1, 1)), _midnight(today + timedelta(days=1))
        if ".." in text:
            first, _, last = text.partition("..")
            start, end = date.fromisoformat(first), date.fromisoformat(last)
        elif len(text) == 7:
            start = date.fromisoformat(text + "-01")
            end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        else:
            start = date.fromisoformat(text)
            end = start + timedelta(days=1)
    except ValueError:
        raise InputError("--period", f"{text!r}: expected {PERIOD_HELP}") from None
    if end <= start:
        raise InputError("--period", f"{text!r}: the end must be after the start")
    return _midnight(start), _midnight(end)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
