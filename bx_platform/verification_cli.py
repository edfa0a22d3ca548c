"""`bx audit`, `bx verify` and `bx keys public`: a job's audit trail in plain words, its signed manifest checked
offline, its replay compared byte for byte (docs/verification.md).

Exit codes of `bx verify`: 0 everything matches, 1 a mismatch (each one printed), 2 bad input (no such job or
file, no manifest yet, an unreadable key).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from bx_platform.errors import InputError

EXIT_OK, EXIT_MISMATCH = 0, 1


def add_verification_commands(sub: argparse._SubParsersAction) -> None:
    """Add `bx audit`, `bx verify` and `bx keys` to `bx`'s subcommands."""
    audit = sub.add_parser("audit", help="a job's audit trail in plain words (what happened, when, and what ended it)")
    audit.add_argument("job_id", metavar="JOB_ID")
    audit.add_argument("--json", action="store_true", help="print the events as stored (canonical JSON and hashes)")
    audit.set_defaults(func=cmd_audit)

    verify = sub.add_parser("verify", help="check a job's signed manifest, audit trail and files offline (read-only)")
    verify.add_argument("target", metavar="JOB_ID|MANIFEST_FILE")
    verify.add_argument("--replay", action="store_true", help="also re-run the job in a scratch home and compare the bytes")
    verify.add_argument("--public-key", type=Path, metavar="FILE", help="the trusted public key (PEM or hex; default: this platform's)")
    verify.add_argument("--seeds", metavar="SEEDS_FILE", help="a private evaluation's revealed seeds (`bx scenarios reveal`): check them too")
    verify.add_argument("--json", action="store_true", help='print {"job_id", "verified", "problems"}')
    verify.set_defaults(func=cmd_verify)

    keys = sub.add_parser("keys", help="the platform's manifest signing key")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    public = keys_sub.add_parser("public", help="print the public key that verifies manifests (PEM)")
    public.set_defaults(func=cmd_keys_public)


def cmd_audit(args) -> int:
    from bx_platform.control import audit
    from bx_platform.control.store import open_engine
    from bx_platform.jobs.store import JobStore

    jobs, control = JobStore(), open_engine()
    try:
        stored = jobs.existing(args.job_id)
        events = audit.trail(control, args.job_id)
    finally:
        jobs.dispose()
        control.dispose()
    if args.json:
        print(json.dumps([{"seq": e.seq, "kind": e.kind, "body": e.body, "hash": e.hash} for e in events], indent=2))
        return EXIT_OK
    print(f"{args.job_id}: {stored.state}, {len(events)} audit event{'' if len(events) == 1 else 's'}")
    for event in events:
        print(f"{event.seq:>3}  {audit.describe(event)}")
    ending = [e for e in events if e.kind == "finished"]
    if ending:
        print(f"What ended it: {audit.describe(ending[-1])}")
    else:
        print(f"It has not ended ({stored.state}).")
    problems = audit.verify_chain(args.job_id, events)
    print("The chain is intact (head " + audit.head_hash(events) + ")." if not problems else "The chain is BROKEN:")
    for problem in problems:
        print(f"  - {problem}")
    return EXIT_OK if not problems else EXIT_MISMATCH


def _manifest_of(target: str, warehouse) -> Path:
    """A manifest file given by path, or the manifest of a job given by id."""
    from bx_platform.pipeline.manifest import manifest_path

    path = Path(target)
    if path.is_file():
        return path
    if target.startswith("job-"):
        path = manifest_path(warehouse, target)
        if path.is_file():
            return path
        raise InputError("JOB_ID", f"no manifest for {target} in {path.parent} (a manifest is written when a job finishes)")
    raise InputError("JOB_ID|MANIFEST_FILE", f"{target!r} is neither a manifest file nor a job id")


def cmd_verify(args) -> int:
    from bx_platform.control import signing
    from bx_platform.control.store import create_control_engine, default_control_url
    from bx_platform.jobs.store import JobStore
    from bx_platform.pipeline.verify import gather, verify
    from bx_platform.warehouse.store import Warehouse

    warehouse = Warehouse()
    path = _manifest_of(args.target, warehouse)
    key = signing.load_public_key(args.public_key) if args.public_key else signing.trusted_public_key()
    if key is None:
        raise InputError("--public-key", "no public key to check signatures with: give --public-key FILE or set BX_SIGNING_KEY")
    jobs, control = JobStore(), create_control_engine(default_control_url())  # no migration: verify only reads
    try:
        evidence = gather(path, warehouse, jobs, control, key)
        problems = verify(evidence)
        job_id = evidence.manifest["job_id"] if evidence.manifest else path.stem
        if args.replay:
            problems += _replay(job_id, jobs, warehouse)
        if args.seeds:
            from bx_platform.scenario_commands import private_record, read_revealed, revealed_seed_problems

            problems += revealed_seed_problems(private_record(job_id), read_revealed(args.seeds), warehouse)[0]
    finally:
        jobs.dispose()
        control.dispose()
    if args.json:
        print(json.dumps({"job_id": job_id, "verified": not problems, "problems": problems}, indent=2))
    elif problems:
        print(f"{job_id}: MISMATCH ({len(problems)})")
        for problem in problems:
            print(f"  - {problem}")
    else:
        checked = "signature, audit chain, every artifact" + (", the revealed seeds" if args.seeds else "") + (
            " and a byte-identical replay" if args.replay else "")
        print(f"{job_id}: verified ({checked})")
    return EXIT_MISMATCH if problems else EXIT_OK


def _replay(job_id: str, jobs, warehouse) -> list[str]:
    from bx_platform.market.archive import default_archive_dir
    from bx_platform.pipeline.replay import replay_job

    jobs.existing(job_id)
    with tempfile.TemporaryDirectory(prefix="bx-replay-") as scratch:
        comparisons, problems = replay_job(job_id, jobs, warehouse, Path(scratch), default_archive_dir())
        for comparison in comparisons:
            if comparison.identical:
                print(f"replay: {comparison.artifact} identical", file=sys.stderr)
            else:
                problems.append(comparison.difference())
    return problems


def cmd_keys_public(args) -> int:
    from bx_platform.control import signing

    public = signing.signing_key().public_key()
    print(signing.public_pem(public), end="")
    print(f"key id {signing.key_id(public)}", file=sys.stderr)
    return EXIT_OK
