"""`bx strategy register` and `bx strategy list`: the registry of strategy handles from the command line.

Output names handles, kinds, owners, visibility and pinned versions, never an endpoint or a credential. A
credential is read from an environment variable (`--token-env`), so it appears in no command line or history.
"""

from __future__ import annotations

import json
import os

from bx_platform.errors import InputError
from bx_platform.strategies.handles import VISIBILITIES, HandleRegistry, PRIVATE


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
        print(json.dumps([registration.public() for registration in registrations], sort_keys=True, indent=2))
        return 0
    scope = f"usable by {args.organization}" if args.organization else "registered"
    print(f"{len(registrations)} strategy handle{'' if len(registrations) == 1 else 's'} {scope} (built-ins bx/* are usable by everyone)")
    for r in registrations:
        pinned = f"{r.distribution} {r.version} sha256 {r.sha256[:12]}" if r.sha256 else f"model {r.version}"
        print(f"  {r.handle}  rev {r.revision}  {r.kind}  {r.visibility} (owner {r.organization})  lookback {r.lookback}  {pinned}")
    return 0


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
