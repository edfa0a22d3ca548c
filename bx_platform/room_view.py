"""A job's room as `bx run`, `bx demo`, `bx result` and `bx rerun --now` print it: the table of its strategies,
the lists under it, or where and why the job failed."""

from __future__ import annotations

from bx_platform.scenario_commands import print_private_evaluation
from bx_platform.terminal import Column, percent, print_json, print_table, say


def print_outcome(outcome, as_json: bool = False) -> int:
    """Print a run's room (or where and why it failed) and its status line, or its result document as JSON;
    return `bx run`'s exit code."""
    if as_json:
        print_json(outcome.result or {"job_id": outcome.job_id, "status": outcome.status})
    else:
        if outcome.result:
            print_room(outcome.result)
        print(f"{outcome.job_id}: {outcome.status}")
    return outcome.exit_code


def print_room(result: dict) -> None:
    """The room of a result document as a table with its lists under it, or where and why the job failed."""
    name = f" ({result['spec']['name']})" if result["spec"].get("name") else ""
    if result["status"] == "failed":
        failure = result["failure"]
        print(f"Job {result['job_id']}{name} failed at {failure['stage']}: {failure['reason']}")
        for expectation in failure["failed_expectations"]:
            print(
                f"  {expectation['expectation']} on {expectation['column']} ({expectation['group']}): "
                f"{expectation['unexpected_count']} rows"
            )
        return
    rows = [
        {
            "rank": s["rank"],
            "tier": s["tier"],
            "strategy": s["strategy"],
            "beta_score": s["scores"]["beta_score"],
            "bx_score": s["scores"]["bx_score"]["score"],
            "utility": s["scores"]["utility"],
            "total_return": s["metrics"]["all"]["total_return"],
            "max_drawdown": s["metrics"]["all"]["max_drawdown"],
            "sharpe": s["metrics"]["all"]["sharpe"],
            "flags": ", ".join(s["flags"]),
            "eligible": s["eligibility"]["eligible"],
        }
        for s in result["strategies"]
    ]
    hold = result["benchmark_hold"]
    title = (
        f"Battle Room {result['job_id']}{name}: Benchmark Hold utility {percent(hold['utility'])}, "
        f"return {percent(hold['metrics']['all']['total_return'])}"
    )
    print_table(rows, ROOM_COLUMNS, title)
    # lists under the table, wrapped at spaces: flags and gate names are too long for a narrow column
    if result["status"] == "partial":
        flagged = [f"{s['strategy']} ({', '.join(s['flags'])})" for s in result["strategies"] if s["flags"]]
        say(f"partial: flagged {'; '.join(flagged)} (halted_* = stopped by the job's risk profile)", "  ")
    for s in result["strategies"]:
        if not s["eligibility"]["eligible"]:
            say(f"not eligible: {s['strategy']} fails {', '.join(g['gate'] for g in s['eligibility']['failed'])}", "  ")
    for market, context in result["market_context"].items():
        say(
            f"market context {market}: volatility {context['vol_regime']} ({percent(context['realized_vol'])} "
            f"annualized), {context['trend_regime']} (efficiency {context['efficiency_ratio']:.2f}), liquidity "
            f"{context['liquidity']}",
            "  ",
        )
    print_private_evaluation(result)


# A room as a table. Utility is in percent of capital, so beta score = utility - Benchmark Hold utility in the
# same units (docs/scoring.md). In a narrow terminal utility goes first (the beta score carries it), then the
# flags (named again under the table), then sharpe.
ROOM_COLUMNS = [
    Column("rank"),
    Column("tier"),
    Column("strategy", whole=True),
    Column("beta_score", "beta"),
    Column("bx_score", "BX"),
    Column("utility", drop=4),
    Column("total_return", "return"),
    Column("max_drawdown", "max DD"),
    Column("sharpe", drop=2),
    Column("flags", drop=3),
    Column("eligible", drop=1),
]
