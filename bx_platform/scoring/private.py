"""The official private score of one strategy over the eleven hidden scenarios (docs/private-evaluation.md,
"The official score"). Pure: scenario scores in, the official score out.

    combine(x) = w_sister · x_sister + w_pert · mean(x_perturbations) + w_stress · min(x_stress)
    official score   = combine(BX Score)      official utility = combine(utility)      official beta = combine(beta)
    CapitalScore     = capital_score(the eleven utilities, official utility, DSR of the real window, its days)
    eligible         = positive-utility fraction over the eleven >= min_positive_utility_fraction
                       and the worst max drawdown over the stress scenarios <= max_worst_stress_drawdown
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from bx_platform.scoring.capital_score import capital_score
from bx_platform.scoring.governance import PrivateEvaluationSpec

REAL_SISTER, PERTURBATION, STRESS = "real-sister", "perturbation", "stress"


@dataclass(frozen=True)
class OfficialScore:
    score: float
    utility: float
    beta_score: float
    capital_score: float
    positive_utility_fraction: float
    worst_stress_drawdown: float
    eligible: bool
    failed_gates: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def combine(values: Mapping[str, Sequence[float]], spec: PrivateEvaluationSpec) -> float:
    """The weighted combination of one score over the scenario kinds: `values` maps each kind to its scores."""
    return (
        spec.real_sister_weight * values[REAL_SISTER][0]
        + spec.perturbation_weight * sum(values[PERTURBATION]) / len(values[PERTURBATION])
        + spec.stress_weight * min(values[STRESS])
    )


def official_score(
    scenarios: Sequence[Mapping], spec: PrivateEvaluationSpec, dsr: float, n_days: int, n0_days: float
) -> OfficialScore:
    """`scenarios`: one mapping per hidden scenario with `kind`, `utility`, `bx_score`, `beta_score`, `max_drawdown`."""

    def by_kind(field: str) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {REAL_SISTER: [], PERTURBATION: [], STRESS: []}
        for s in scenarios:
            out[s["kind"]].append(float(s[field]))
        return out

    utilities = [float(s["utility"]) for s in scenarios]
    utility = combine(by_kind("utility"), spec)
    positive = sum(u > 0 for u in utilities) / len(utilities)
    worst_drawdown = max(by_kind("max_drawdown")[STRESS])
    failed = []
    if positive < spec.min_positive_utility_fraction:
        failed.append("positive_utility_fraction")
    if worst_drawdown > spec.max_worst_stress_drawdown:
        failed.append("worst_stress_drawdown")
    return OfficialScore(
        score=combine(by_kind("bx_score"), spec),
        utility=utility,
        beta_score=combine(by_kind("beta_score"), spec),
        capital_score=capital_score(utilities, utility, dsr, n_days, n0=n0_days),
        positive_utility_fraction=positive,
        worst_stress_drawdown=worst_drawdown,
        eligible=not failed,
        failed_gates=failed,
    )
