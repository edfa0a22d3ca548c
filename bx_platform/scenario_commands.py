"""Operator commands of the private evaluation's commit and reveal: `bx scenarios reveal` and
`bx scenarios verify` (docs/private-evaluation.md, "Seeds, commit and reveal").

Revealing is an operator's act for an audit: it prints (or writes, mode 0600) a job's seeds, after checking
that the server's secret reproduces the commitments the job recorded at submission. Verifying needs no secret:
the revealed seeds are checked against the commitments and rebuild the scenario bars, whose hashes must be the
ones recorded when the job ran."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bx_platform.errors import InputError


def add_scenario_commands(sub: argparse._SubParsersAction) -> None:
    scenarios = sub.add_parser("scenarios", help="hidden scenarios of private evaluations: reveal and verify seeds (operators)")
    actions = scenarios.add_subparsers(dest="scenarios_command", required=True, metavar="ACTION")
    reveal = actions.add_parser("reveal", help="print (or write) a private evaluation's scenario seeds for an audit")
    reveal.add_argument("job_id", metavar="JOB_ID")
    reveal.add_argument("--out", help="write the seeds to this file (mode 0600) instead of printing them")
    reveal.set_defaults(func=cmd_reveal)
    verify = actions.add_parser("verify", help="check revealed seeds against the job's commitments and its scenario bars")
    verify.add_argument("job_id", metavar="JOB_ID")
    verify.add_argument("seeds_file", metavar="SEEDS_FILE", help="the JSON written by `bx scenarios reveal`")
    verify.set_defaults(func=cmd_verify)


def private_record(job_id: str) -> dict:
    from bx_platform.jobs.store import JobStore

    store = JobStore()
    try:
        stored = store.existing(job_id)
    finally:
        store.dispose()
    if "scenarios" not in stored.record["pinned"]:
        raise InputError("JOB_ID", f"{job_id} is not a private evaluation (its record holds no scenario commitments)")
    return stored.record


def cmd_reveal(args) -> int:
    from bx_platform.pipeline.private_evaluation import ScenarioSecretChanged, job_seeds

    record = private_record(args.job_id)
    try:
        seeds = job_seeds(record)
    except ScenarioSecretChanged as error:
        raise InputError("BX_SCENARIO_SECRET", str(error)) from None
    text = json.dumps({"job_id": record["job_id"], "seeds": seeds}, indent=2) + "\n"
    if not args.out:
        print(text, end="")
        return 0
    descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    print(f"wrote the {len(seeds)} scenario seeds of {record['job_id']} to {args.out}")
    return 0


def read_revealed(path: str) -> dict[str, str]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, f"not a readable JSON file of revealed seeds ({error})") from None
    seeds = document.get("seeds") if isinstance(document, dict) else None
    if not isinstance(seeds, dict):
        raise InputError(f"{path}: seeds", "expected a mapping of scenario name to seed")
    return seeds


def revealed_seed_problems(record: dict, revealed: dict[str, str], warehouse) -> tuple[list[str], bool]:
    """What does not match between revealed seeds and a private evaluation: the commitments in its record and,
    once it ran, the scenario bars they rebuild (hashed against the job's `scenario_audit`). Also says whether
    the bars could be checked (False before the job ran)."""
    from bx_platform.jobs.spec import JobSpec
    from bx_platform.market.archive import default_archive_dir
    from bx_platform.pipeline.private_evaluation import verify_revealed_seeds
    from bx_platform.pipeline.staging import bars_by_market

    job_id = record["job_id"]
    ran = warehouse.exists("verified", "scenario_audit", job_id)
    real = bars_by_market(warehouse.read("verified", "market_bars", job_id), JobSpec.model_validate(record["spec"])) if ran else None
    audit = warehouse.read("verified", "scenario_audit", job_id) if ran else None
    return verify_revealed_seeds(record, revealed, real, audit, default_archive_dir()), ran


def cmd_verify(args) -> int:
    from bx_platform.warehouse.store import Warehouse

    record = private_record(args.job_id)
    revealed = read_revealed(args.seeds_file)
    problems, ran = revealed_seed_problems(record, revealed, Warehouse())
    for problem in problems:
        print(f"REFUSED {problem}")
    if problems:
        return 1
    checked = "the commitments and the recorded scenario bars" if ran else "the commitments (the job has not run: no bars to rebuild)"
    print(f"verified: the {len(revealed)} revealed seeds of {record['job_id']} match {checked}")
    return 0


def print_private_evaluation(result: dict) -> None:
    """The eleven hidden scenarios' BX Scores of each strategy, then its official private score, CapitalScore
    and eligibility: what `bx run` and `bx demo` print of a private evaluation (kinds and scores only, as
    clients see them; utilities and flags are in `--json`)."""
    from bx_platform.terminal import Column, print_table, say

    strategies = [s for s in result.get("strategies", []) if "private_evaluation" in s]
    if not strategies:
        return
    handles = [s["strategy"] for s in strategies]
    columns = [Column("scenario", whole=True), Column("kind", drop=1), *(Column(h) for h in handles)]
    rows = [
        {"scenario": scenario["scenario"], "kind": scenario["kind"],
         **{s["strategy"]: s["private_evaluation"]["scenarios"][i]["bx_score"] for s in strategies}}
        for i, scenario in enumerate(strategies[0]["private_evaluation"]["scenarios"])
    ]
    official = {s["strategy"]: s["private_evaluation"]["official"] for s in strategies}
    rows.append({"scenario": "OFFICIAL SCORE", **{h: o["score"] for h, o in official.items()}})
    rows.append({"scenario": "CapitalScore", **{h: o["capital_score"] for h, o in official.items()}})
    rows.append({"scenario": "eligible", **{h: o["eligible"] for h, o in official.items()}})
    version = strategies[0]["private_evaluation"]["scoring_version"]
    print_table(rows, columns, f"Private evaluation {result['job_id']}: BX Score on each hidden scenario, official score under {version}")
    for handle, o in official.items():
        if not o["eligible"]:
            say(f"{handle} not eligible: {', '.join(o['failed_gates'])}", indent="  ")
