"""A job's report: one self-contained HTML page assembled from its result document (docs/result.md) and its
verified equity curves. It computes no metric: every number in it is read from the document, and each numeric
cell names the document field it shows (`data-path`, a JSON pointer).

It shows handles, never a strategy's code, parameters or endpoint: the document carries none, and of the
pinned strategy revisions only kind, revision and version are shown."""

from __future__ import annotations

from functools import partial

import polars as pl

from bx_platform.reports import charts
from bx_platform.reports.page import COUNT, MONEY, NUMBER, PERCENT, Cell, chart, escape, page, table

BENCHMARK_LABEL = "Benchmark Hold"
# Whole-window metrics shown in the metrics table (all 38 are in the document), with their units.
WINDOW_METRICS = (
    ("total_return", PERCENT), ("annual_return", PERCENT), ("max_drawdown", PERCENT), ("annual_volatility", PERCENT),
    ("sharpe", NUMBER), ("sortino", NUMBER), ("psr", NUMBER), ("dsr", NUMBER), ("trade_count", COUNT),
    ("win_rate", PERCENT), ("turnover", PERCENT), ("cost", PERCENT), ("net_pnl", MONEY),
)
SESSION_METRICS = (("total_return", PERCENT), ("max_drawdown", PERCENT), ("sharpe", NUMBER))
EXECUTION_FIELDS = (
    ("orders", COUNT), ("fills", COUNT), ("partial_fills", COUNT), ("round_trips", COUNT), ("fees", MONEY),
    ("spread_cost", MONEY), ("slippage_cost", MONEY), ("financing", MONEY), ("turnover", NUMBER),
    ("mean_gross_exposure", NUMBER), ("max_gross_exposure", NUMBER), ("mean_net_exposure", NUMBER),
)
CONTEXT_FIELDS = (
    ("asset_class", None), ("realized_vol", PERCENT), ("vol_regime", None), ("median_quote_volume", MONEY),
    ("liquidity", None), ("efficiency_ratio", NUMBER), ("trend_regime", None),
)


def pointer(*parts) -> str:
    """A JSON pointer (RFC 6901) into the result document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def render_job_report(document: dict, equity: pl.DataFrame | None) -> str:
    """The report of a job from its result document and its verified equity (None for a failed job)."""
    spec = document["spec"]
    title = f"BX report · {spec.get('name') or document['job_id']}"
    subtitle = (
        f"{document['job_id']} · {document['organization']} · {document['visibility']} · status {document['status']} · "
        f"{', '.join(m['venue'] + ':' + m['symbol'] for m in spec['markets'])} {spec['timeframe']} · "
        f"{spec['window']['start']} to {spec['window']['end']} · submitted {document['submitted_at']}"
    )
    if document["status"] == "failed":
        sections = [_failure(document), _job_spec(document), _pinned(document)]
    else:
        sections = [
            _room(document), _equity(document, equity), _window_metrics(document), _sessions(document),
            _breakdown(document), _eligibility(document), _execution(document), _market_context(document),
            _job_spec(document), _pinned(document),
        ]
    return page(title, subtitle, "".join(sections))


def _section(anchor: str, heading: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>{"".join(parts)}</section>'


def _legend_order(document: dict) -> list[str]:
    return [s["strategy"] for s in document["strategies"]] + [document["benchmark_hold"]["strategy"]]


def _room(document: dict) -> str:
    rows = []
    for i, s in enumerate(document["strategies"]):
        scores = s["scores"]
        at = partial(pointer, "strategies", i)  # the row's own fields
        rows.append([
            Cell(s["rank"], COUNT, at("rank")), Cell(s["tier"], COUNT, at("tier")), s["strategy"],
            Cell(scores["beta_score"], NUMBER, at("scores", "beta_score")),
            Cell(scores["bx_score"]["score"], NUMBER, at("scores", "bx_score", "score")),
            Cell(scores["utility"], PERCENT, at("scores", "utility")),
            Cell(scores["utility_ci_95"][0], PERCENT, at("scores", "utility_ci_95", 0)),
            Cell(scores["utility_ci_95"][1], PERCENT, at("scores", "utility_ci_95", 1)),
            Cell(scores["capital_score"], NUMBER, at("scores", "capital_score")),
            Cell(scores["contest_score"], NUMBER, at("scores", "contest_score")),
            "yes" if s["eligibility"]["eligible"] else "no", "; ".join(s["flags"]),
        ])
    hold = document["benchmark_hold"]
    rows.append(["", "", BENCHMARK_LABEL, "", "", Cell(hold["utility"], PERCENT, pointer("benchmark_hold", "utility")), "", "", "", "", "", ""])
    headers = ["rank", "tier", "strategy", "beta score", "BX Score", "utility", "utility 95 % low", "utility 95 % high",
               "CapitalScore", "ContestScore", "eligible", "flags"]
    note = ("<p>Ranked by beta score (utility points over the Benchmark Hold). Tier 1: cannot be told apart from the best "
            "at 90 % confidence (docs/scoring.md).</p>")
    return _section("room", "Room, ranks and tiers", note, table(headers, rows, "room-table"))


def _equity(document: dict, equity: pl.DataFrame) -> str:
    spec = equity_chart(document, equity)
    return _section("equity", "Equity and drawdown against the Benchmark Hold", chart("equity", spec))


def equity_chart(document: dict, equity: pl.DataFrame, width: int = charts.WIDTH):
    """The equity and drawdown chart of the room's strategies and its Benchmark Hold (also Dagster's image)."""
    return charts.equity_and_drawdown(equity, _legend_order(document), width)


def _entries(document: dict) -> list[tuple[str, str, dict]]:
    """(label, JSON pointer, entry) of each strategy in rank order, then the Benchmark Hold."""
    entries = [(s["strategy"], pointer("strategies", i), s) for i, s in enumerate(document["strategies"])]
    return entries + [(BENCHMARK_LABEL, pointer("benchmark_hold"), document["benchmark_hold"])]


def _window_metrics(document: dict) -> str:
    rows = [
        [label] + [Cell(entry["metrics"]["all"][key], unit, f"{at}/metrics/all/{key}") for key, unit in WINDOW_METRICS]
        for label, at, entry in _entries(document)
    ]
    headers = ["strategy"] + [key.replace("_", " ") for key, _ in WINDOW_METRICS]
    return _section("metrics", "Whole window", table(headers, rows, "metrics-table"),
                    "<p>All 38 metrics of every session are in the result document (<code>bx result JOB_ID --json</code>).</p>")


def _sessions(document: dict) -> str:
    rows = []
    for n in range(document["spec"]["sessions"]):
        for label, at, entry in _entries(document):
            utilities = entry["scores"]["scenario_utilities"] if "scores" in entry else entry["scenario_utilities"]
            utility_at = f"{at}/scores/scenario_utilities/{n}" if "scores" in entry else f"{at}/scenario_utilities/{n}"
            rows.append(
                [Cell(n + 1, COUNT), label]
                + [Cell(entry["metrics"]["sessions"][n][key], unit, f"{at}/metrics/sessions/{n}/{key}") for key, unit in SESSION_METRICS]
                + [Cell(utilities[n], PERCENT, utility_at)]
            )
    headers = ["session", "strategy"] + [key.replace("_", " ") for key, _ in SESSION_METRICS] + ["utility"]
    return _section("sessions", "Battle sessions", table(headers, rows, "sessions-table"))


def _breakdown(document: dict) -> str:
    groups = sorted({g for s in document["strategies"] for g in s["scores"]["bx_score"]["group_contributions"]})
    rows, points = [], []
    for i, s in enumerate(document["strategies"]):
        contributions = s["scores"]["bx_score"]["group_contributions"]
        rows.append([s["strategy"]] + [
            Cell(contributions.get(g), NUMBER, pointer("strategies", i, "scores", "bx_score", "group_contributions", g)) for g in groups
        ] + [Cell(s["scores"]["bx_score"]["score"], NUMBER, pointer("strategies", i, "scores", "bx_score", "score"))])
        points += [{"strategy": s["strategy"], "group": g, "points": contributions[g]} for g in groups if contributions.get(g) is not None]
    order = [s["strategy"] for s in document["strategies"]]
    version = document["pinned"]["scoring_version"]
    return _section(
        "breakdown", f"BX Score by metric group ({version})",
        chart("breakdown", charts.score_breakdown(points, order)), table(["strategy", *groups, "BX Score"], rows, "breakdown-table"),
    )


def _eligibility(document: dict) -> str:
    rows = []
    for i, s in enumerate(document["strategies"]):
        failed = s["eligibility"]["failed"]
        if not failed:
            rows.append([s["strategy"], "eligible", "", "", "", ""])
        for j, gate in enumerate(failed):
            at = pointer("strategies", i, "eligibility", "failed", j)
            rows.append([
                s["strategy"], "not eligible", gate["gate"], _gate_cell(gate["value"], f"{at}/value"),
                _gate_cell(gate["threshold"], f"{at}/threshold"), gate["message"],
            ])
    headers = ["strategy", "eligibility", "failing gate", "value", "threshold", "why"]
    return _section("eligibility", "Eligibility", table(headers, rows, "eligibility-table"))


def _gate_cell(value, path: str) -> Cell | str:
    """A gate's value or threshold: a number, a boolean, text, or the list of non-finite metric keys."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Cell(value, NUMBER, path)
    return _plain(value)


def _plain(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def _execution(document: dict) -> str:
    rows = []
    for label, at, entry in _entries(document)[:-1]:
        execution = entry["execution"]
        rows.append(
            [label, execution["path"]]
            + [Cell(execution[key], unit, f"{at}/execution/{key}") for key, unit in EXECUTION_FIELDS]
            + [_counts(execution["clips"]), _counts(execution["rejections"]), execution["halted"] or ""]
        )
    headers = ["strategy", "path", *(key.replace("_", " ") for key, _ in EXECUTION_FIELDS), "clips", "rejections", "halted"]
    return _section("execution", "Execution summary", table(headers, rows, "execution-table"),
                    f"<p>Money in {escape(document['spec']['capital']['quote_currency'])}; turnover in multiples of the initial capital.</p>")


def _counts(counts: dict) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(counts.items()))


def _market_context(document: dict) -> str:
    rows = [
        [market] + [Cell(context[key], unit, pointer("market_context", market, key)) if unit else context[key] for key, unit in CONTEXT_FIELDS]
        for market, context in document["market_context"].items()
    ]
    headers = ["market", *(key.replace("_", " ") for key, _ in CONTEXT_FIELDS)]
    return _section("market", "Market context", table(headers, rows, "market-table"))


def _job_spec(document: dict) -> str:
    spec = document["spec"]
    capital, costs = spec["capital"], spec["costs"]
    rows = [
        ["strategies", ", ".join(spec["strategies"])],
        ["capital", f"{capital['initial']:,.2f} {capital['quote_currency']}, gross leverage ≤ {capital['max_gross_leverage']}, "
                    f"net ≤ {capital['max_net_leverage']}, per market ≤ {capital['max_position_per_market']}"],
        ["costs", f"fee {costs['fee_bps']} bps, slippage {costs['slippage_bps']} bps"],
        ["risk profile", spec["risk_profile"]], ["sessions", spec["sessions"]], ["contest", spec.get("contest") or ""],
    ]
    return _section("spec", "Job", table(["", ""], rows, "spec-table"))


def _pinned(document: dict) -> str:
    pinned = document["pinned"]
    rows = [
        ["engine", pinned["engine_version"]],
        ["score version", f"{pinned['scoring_version']} (sha256 {pinned['scoring_version_sha256']})"],
        ["data manifest", pinned["data_manifest_hash"]],
        *[[f"dataset {market}", digest] for market, digest in sorted(pinned["datasets"].items())],
        *[[f"strategy {handle}", _strategy_pin(pin)] for handle, pin in sorted(pinned.get("strategies", {}).items())],
        *[[name, version] for name, version in sorted(pinned["libraries"].items())],
        ["trials (DSR)", f"{pinned['trials']['n']} evaluations of {document['organization']}"],
    ]
    return _section("pinned", "Pinned versions", table(["", ""], rows, "pinned-table"))


def _strategy_pin(pin: dict) -> str:
    """Which revision of a handle ran: kind, revision, version and package hash; never an endpoint or code."""
    shown = [pin["kind"]] + [f"{key} {pin[key]}" for key in ("revision", "version", "distribution", "sha256") if pin.get(key) is not None]
    return ", ".join(shown)


def _failure(document: dict) -> str:
    failure = document["failure"]
    rows = [[e.get("expectation", ""), e.get("column", ""), e.get("group", ""), e.get("unexpected_count", "")] for e in failure["failed_expectations"]]
    parts = [f'<p class="fail">Failed at <code>{escape(failure["stage"])}</code>: {escape(failure["reason"])}</p>']
    if rows:
        parts.append(table(["expectation", "column", "group", "unexpected"], rows, "failure-table"))
    return _section("failure", "Failure", *parts)
