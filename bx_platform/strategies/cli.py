"""`bx strategy register` and `bx strategy list`: the registry of strategy handles from the command line.

Output names handles, kinds, owners, visibility and pinned versions, never an endpoint or a credential. A
credential is read from an environment variable (`--token-env`), so it appears in no command line or history.
"""

from __future__ import annotations

import os

from bx_platform.errors import InputError
from bx_platform.strategies.handles import VISIBILITIES, HandleRegistry, PRIVATE
from bx_platform.terminal import Column, print_json, print_table


def cmd_register(args) -> int:
    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise InputError("--token-env", f"the environment variable {args.token_env} is not set")
    registration = HandleRegistry().register(
        args.handle, args.organization, package=args.package, endpoint=args.endpoint, visibility=args.visibility, token=token
    )
    print(
        f"registered {registration.handle} revision {registration.revision}: {registration.kind}, version "
        f"{registration.version}, lookback {registration.lookback} bars, {registration.visibility} "
        f"(owner {registration.organization})"
    )
    return 0


def cmd_list(args) -> int:
    registrations = HandleRegistry().listing(args.organization)
    if args.json:
        print_json([registration.public() for registration in registrations])
        return 0
    scope = f"usable by {args.organization}" if args.organization else "registered"
    rows = [
        {
            **r.public(),
            "pinned": f"{r.distribution} {r.version} sha256 {r.sha256[:12]}" if r.sha256 else f"model {r.version}",
        }
        for r in registrations
    ]
    title = f"{len(registrations)} strategy handle{'' if len(registrations) == 1 else 's'} {scope} (built-ins bx/* are usable by everyone)"
    print_table(rows, LIST_COLUMNS, title)
    return 0


LIST_COLUMNS = [
    Column("handle", whole=True),
    Column("revision", "rev"),
    Column("kind"),
    Column("visibility"),
    Column("organization", "owner", drop=2),
    Column("lookback", drop=1),
    Column("pinned", drop=3),
]


def add_strategy_commands(subparsers) -> None:
    strategy = subparsers.add_parser("strategy", help="register and list strategy handles (packages, remote models)")
    actions = strategy.add_subparsers(dest="strategy_command", required=True, metavar="ACTION")

    register = actions.add_parser("register", help="register a package or remote strategy handle (again: a new revision)")
    register.add_argument("handle", help="owner/name, e.g. acme-fund/trend-v2 (the prefix is the owner organization)")
    register.add_argument("--organization", required=True, help="the owner organization")
    kind = register.add_mutually_exclusive_group(required=True)
    kind.add_argument("--package", metavar="ENTRY_POINT", help="an installed entry point of group bx_platform.strategies")
    kind.add_argument("--endpoint", metavar="URL", help="a remote model's base URL (GET /version, POST /decide)")
    register.add_argument("--visibility", choices=VISIBILITIES, default=PRIVATE, help="private (default): the owner's jobs only; approved: anyone's")
    register.add_argument("--token-env", metavar="VAR", help="environment variable holding the endpoint's bearer token")
    register.set_defaults(func=cmd_register)

    listing = actions.add_parser("list", help="list registered handles (never their endpoints)")
    listing.add_argument("--organization", help="only the handles this organization's jobs may name")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
