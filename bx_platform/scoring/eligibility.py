"""Eligibility gates, separate from ranking (docs/scoring.md, "Eligibility").

Gates (thresholds come from the score version file, `eligibility:` section):
  positive_utility_fraction  share of scenarios with U > 0        ≥ min_positive_utility_fraction (0.70)
  max_drawdown               whole-window max drawdown            ≤ max_drawdown (0.35)
  mean_daily_turnover        whole-window mean daily turnover     ≤ max_mean_daily_turnover (0.25)
                             (from bx-score-v3: excess turns per day, the entry excluded)
  p95_runtime_ms             p95 strategy decision runtime (ms)   ≤ max_p95_runtime_ms (10 000)
  budget_valid / config_valid  booleans passed in, with reasons
  finite_values              every value finite; names the non-finite keys
  risk_breach                the risk profile halted the strategy (from bx-score-v3: a breach ends eligibility)

A gate whose value is non-finite fails (NaN never passes a comparison), and `finite_values` names it too.
Every failing gate is reported, not just the first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class EligibilityThresholds:
    """Gate thresholds (defaults = the product's current backend gates)."""

    min_positive_utility_fraction: float = 0.70
    max_drawdown: float = 0.35
    max_mean_daily_turnover: float = 0.25
    max_p95_runtime_ms: float = 10_000.0
    # budget gate: peak gross exposure may pass the job's leverage cap by this share (drift, no rebalancing)
    budget_drift_tolerance: float = 0.10


@dataclass(frozen=True)
class GateFailure:
    """One failed gate: its name, the observed value, the threshold and a human-readable message."""

    gate: str
    value: object
    threshold: object
    message: str


@dataclass(frozen=True)
class EligibilityResult:
    """Outcome of all gates. `failed` lists every failing gate in fixed gate order."""

    eligible: bool
    failed: tuple[GateFailure, ...]

    @property
    def failed_gates(self) -> tuple[str, ...]:
        return tuple(f.gate for f in self.failed)

    def to_dict(self) -> dict:
        return {"eligible": self.eligible, "failed": [asdict(f) for f in self.failed]}


GATES: tuple[str, ...] = (
    "positive_utility_fraction",
    "max_drawdown",
    "mean_daily_turnover",
    "p95_runtime_ms",
    "budget_valid",
    "config_valid",
    "finite_values",
    "risk_breach",
)


def positive_utility_fraction(scenario_utilities: Sequence[float]) -> float:
    """Share of scenarios with strictly positive utility (NaN when there are no scenarios)."""
    if len(scenario_utilities) == 0:
        return math.nan
    return sum(1 for u in scenario_utilities if u > 0) / len(scenario_utilities)


def non_finite_keys(values: Mapping[str, float]) -> list[str]:
    """Sorted names of values that are not finite numbers (NaN, ±inf, or not a number at all)."""
    bad = []
    for key, v in values.items():
        try:
            ok = math.isfinite(float(v))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            bad.append(key)
    return sorted(bad)


def _upper_gate(gate: str, value: float, threshold: float, what: str) -> GateFailure | None:
    """Fail unless value ≤ threshold (a NaN value fails)."""
    if value <= threshold:
        return None
    return GateFailure(gate, value, threshold, f"{what} {value!r} exceeds the limit {threshold!r}")


def _flag_gate(gate: str, valid: bool, reason: str) -> GateFailure | None:
    if valid:
        return None
    return GateFailure(gate, False, True, f"{gate.replace('_', ' ')}: {reason or 'invalid (no reason given)'}")


def evaluate_eligibility(
    window_metrics: Mapping[str, float],
    scenario_utilities: Sequence[float],
    p95_runtime_ms: float,
    *,
    budget_valid: bool = True,
    budget_reason: str = "",
    config_valid: bool = True,
    config_reason: str = "",
    extra_values: Mapping[str, float] | None = None,
    thresholds: EligibilityThresholds = EligibilityThresholds(),
    turnover_key: str = "turnover",
    breached: bool = False,
) -> EligibilityResult:
    """Run every gate and collect all failures.

    window_metrics: the whole-window metric dict (reads `max_drawdown` and `turnover`, and checks every value
    is finite). scenario_utilities: U per scenario. turnover_key: the metric the turnover gate reads.
    breached: the risk profile halted the strategy (fails `risk_breach`). extra_values: further values to check for finiteness
    (e.g. per-scenario metrics flattened as "scenario_2.sharpe", the beta score, the CapitalScore).
    """
    failures: list[GateFailure | None] = []
    frac = positive_utility_fraction(scenario_utilities)
    lo = thresholds.min_positive_utility_fraction
    failures.append(
        None
        if frac >= lo
        else GateFailure(
            "positive_utility_fraction", frac, lo,
            f"positive-utility fraction {frac!r} over {len(scenario_utilities)} scenarios is below {lo!r}",
        )
    )
    failures.append(_upper_gate("max_drawdown", float(window_metrics["max_drawdown"]), thresholds.max_drawdown,
                                "max drawdown"))
    failures.append(_upper_gate("mean_daily_turnover", float(window_metrics[turnover_key]),
                                thresholds.max_mean_daily_turnover, "mean daily turnover"))
    failures.append(_upper_gate("p95_runtime_ms", float(p95_runtime_ms), thresholds.max_p95_runtime_ms,
                                "p95 strategy runtime (ms)"))
    failures.append(_flag_gate("budget_valid", budget_valid, budget_reason))
    failures.append(_flag_gate("config_valid", config_valid, config_reason))

    values: dict[str, float] = dict(window_metrics)
    values.update({f"scenario_utility[{i}]": u for i, u in enumerate(scenario_utilities)})
    values["p95_runtime_ms"] = p95_runtime_ms
    values.update(extra_values or {})
    bad = non_finite_keys(values)
    failures.append(
        None if not bad else GateFailure("finite_values", bad, "all finite", "non-finite values: " + ", ".join(bad))
    )
    failures.append(
        GateFailure("risk_breach", True, False, "the job's risk profile halted the strategy (drawdown or daily-loss limit reached)")
        if breached
        else None
    )
    failed = tuple(f for f in failures if f is not None)
    return EligibilityResult(eligible=not failed, failed=failed)
