"""Data-quality gates on great-expectations 1.x: the suites and the code that runs them on Polars frames.

A gate passes only if every expectation of its suite passes. Its result names each failing expectation with
the column and the count of offending rows, so a quarantined partition says why it was quarantined.

great_expectations is imported inside the functions that use it: the import takes seconds (2–4 s), and
loading the Dagster definitions (`bx submit`, the webserver, the daemon's sensor) needs none of it; a
long-running process pays it once, at its first gate. A one-off `bx run` validates in its helper process
instead (bx_platform/helper_process.py), which imported great_expectations on the other core meanwhile.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import polars as pl

from bx_platform.helper_process import offload
from bx_platform.market.plausibility import MOVE, PRICE_COLUMNS, bounds_for, with_moves


@dataclass(frozen=True)
class GateResult:
    gate: str
    success: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)
    expectations: list[str] = field(default_factory=list)  # each distinct expectation checked, `type(column)`

    @property
    def failed_expectations(self) -> list[str]:
        return [f["expectation"] for f in self.failures]

    def summary(self) -> str:
        if self.success:
            return f"{self.gate}: all {self.evaluated} expectations passed"
        parts = [f"{f['expectation']}({f['column']}): {f['unexpected_count']} rows" for f in self.failures]
        return f"{self.gate}: failed " + "; ".join(parts)


def market_bars_suite(asset_class: str) -> list:
    """Expectations on staged market bars of one asset class, per market (the frame holds one market and its
    moves, `with_moves`): complete, ordered, consistent, and plausible for the class (market/plausibility.py:
    finite prices in the class's range, bounded moves from the previous close, finite volume)."""
    import great_expectations as gx

    bounds = bounds_for(asset_class)
    e = gx.expectations
    suite = [e.ExpectTableRowCountToBeBetween(min_value=2)]
    for column in ("ts", *PRICE_COLUMNS, "volume"):
        suite.append(e.ExpectColumnValuesToNotBeNull(column=column))
    for column in PRICE_COLUMNS:
        suite.append(e.ExpectColumnValuesToBeBetween(column=column, min_value=bounds.min_price, max_value=bounds.max_price))
    suite += [
        e.ExpectColumnValuesToBeBetween(column="volume", min_value=0, max_value=bounds.max_volume),
        e.ExpectColumnValuesToBeBetween(column=MOVE, min_value=0, max_value=bounds.max_move),
        e.ExpectColumnValuesToBeUnique(column="ts"),
        e.ExpectColumnValuesToBeIncreasing(column="ts", strictly=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="low", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="close", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="close", column_B="low", or_equal=True),
    ]
    return suite


def market_gate(bars: pl.DataFrame, asset_classes: dict[str, str]) -> GateResult:
    """The market gate on a job's staged bars: each market against the suite of its asset class
    (`asset_classes`: market key -> class)."""
    moved = with_moves(bars)
    results = [
        run_gate("market_bars", moved.filter(pl.col("market").is_in(markets)), (asset_class,), group_by="market")
        for asset_class, markets in _markets_by_class(asset_classes).items()
    ]
    return GateResult(
        gate="market_bars",
        success=all(r.success for r in results),
        evaluated=sum(r.evaluated for r in results),
        failures=[f for r in results for f in r.failures],
        expectations=[e for r in results for e in r.expectations],
    )


def _markets_by_class(asset_classes: dict[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for market, asset_class in asset_classes.items():
        grouped.setdefault(asset_class, []).append(market)
    return grouped


def execution_suite() -> list:
    """Expectations on a job's simulated equity curves."""
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToNotBeNull(column="equity"),
        e.ExpectColumnValuesToBeBetween(column="equity", min_value=0, strict_min=True),
        e.ExpectColumnValuesToNotBeNull(column="gross_exposure"),
        e.ExpectColumnValuesToBeBetween(column="gross_exposure", min_value=0),
        e.ExpectColumnValuesToNotBeNull(column="cash"),
    ]


def fills_suite() -> list:
    """Expectations on a job's fills: positive sizes and prices, non-negative costs, a fill never larger than
    its order and never before its decision (docs/engine.md)."""
    import great_expectations as gx

    e = gx.expectations
    return [
        e.ExpectColumnValuesToBeBetween(column="qty", min_value=0, strict_min=True),
        e.ExpectColumnValuesToBeBetween(column="price", min_value=0, strict_min=True),
        e.ExpectColumnValuesToBeBetween(column="fee", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="spread_cost", min_value=0),
        e.ExpectColumnValuesToBeBetween(column="slippage_cost", min_value=0),
        e.ExpectColumnValuesToBeInSet(column="side", value_set=["buy", "sell"]),
        e.ExpectColumnValuesToBeInSet(column="kind", value_set=["target", "flatten"]),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="requested_qty", column_B="qty", or_equal=True),
        e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ts", column_B="decision_ts", or_equal=True),
    ]


@functools.cache
def _context():
    """One in-memory GX context per process (each new one creates a temporary docs folder)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# gate -> its suite: a gate names its suite and arguments rather than passing expectation objects, so that a
# helper process builds the same suite on its side
SUITES = {"market_bars": market_bars_suite, "equity": execution_suite, "fills": fills_suite}
# suites whose every expectation is about one row at a time: the whole frame passes exactly when each of its
# groups does, so it is validated once and split by group only to name a failing group
ROW_WISE = {"equity", "fills"}


def run_gate(gate: str, frame: pl.DataFrame, suite_args: tuple = (), group_by: str | None = None) -> GateResult:
    """Validate `frame` against the gate's suite (`SUITES[gate](*suite_args)`), each `group_by` group
    separately (e.g. one market at a time); in the helper process if one serves this process."""
    return offload(validate, gate, frame, suite_args, group_by)


def validate(gate: str, frame: pl.DataFrame, suite_args: tuple = (), group_by: str | None = None) -> GateResult:
    """`run_gate` in the calling process."""
    expectations = SUITES[gate](*suite_args)
    groups = frame.partition_by(group_by, maintain_order=True, as_dict=True) if group_by else {(): frame}
    if gate in ROW_WISE and len(groups) > 1:
        whole = _validate_groups(gate, expectations, {(): frame})
        if whole.success:
            return GateResult(gate, True, whole.evaluated * len(groups), expectations=whole.expectations)
    return _validate_groups(gate, expectations, groups)


def _validate_groups(gate: str, expectations: list, groups: dict) -> GateResult:
    import great_expectations as gx

    batch_definition = (
        _context().data_sources.add_or_update_pandas(gate).add_dataframe_asset(gate).add_batch_definition_whole_dataframe("all")
    )
    suite = gx.ExpectationSuite(name=gate, expectations=list(expectations))
    failures, evaluated = [], 0
    names = [_name(e.configuration) for e in expectations]
    for key, group in groups.items():
        batch = batch_definition.get_batch(batch_parameters={"dataframe": group.to_pandas()})
        outcome = batch.validate(suite)
        for result in outcome.results:
            evaluated += 1
            if not result.success:
                config = result.expectation_config
                failures.append(
                    {
                        "expectation": config.type,
                        "column": _column(config),
                        "group": "/".join(str(k) for k in key) if key else None,
                        "unexpected_count": int(result.result.get("unexpected_count") or 0),
                    }
                )
    return GateResult(gate=gate, success=not failures, evaluated=evaluated, failures=failures, expectations=list(dict.fromkeys(names)))


def _column(config) -> str | None:
    """The column (or `A>=B` pair) an expectation is about; None for a table-level one."""
    return config.kwargs.get("column") or _pair(config.kwargs)


def _name(config) -> str:
    return f"{config.type}({_column(config) or 'table'})"


def _pair(kwargs: dict) -> str | None:
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}>={kwargs['column_B']}"
    return None
