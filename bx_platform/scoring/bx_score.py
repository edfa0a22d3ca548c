"""BX Score: a versioned, bounded, deterministic composite of normalized metrics (docs/scoring.md, "BX Score").

Each scored metric x maps to metric points p ∈ [0, 10] through a fixed transform named in the score version
file. Nothing is relative to other strategies: a strategy's score does not change when others join its room.

    group score g   = Σ_{m in group} w_m · p_m                 (metric weights sum to 1 within a group)
    contribution_g  = 10 · W_g · g                             (group weights W sum to 1)
    BX Score        = Σ_g contribution_g  ∈ [0, 100]

A non-finite metric (NaN, ±inf) contributes the version's `non_finite_points` (neutral 5) and is flagged.

From bx-score-v3 (rule `inactive_score`): a strategy that never trades (no turnover) took no risk and showed no
skill; its BX Score is the version's documented neutral score, each group contributing its weight's share, and
it is flagged `activity: inactive`. Degenerate inputs are flagged too (`degenerate_flags`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from bx_platform.scoring.governance import ScoreVersion, TransformSpec

POINTS_MAX = 10.0
_SQRT10 = math.sqrt(10.0)


def sigmoid_points(z: float) -> float:
    """5 + 5·z/√(10 + z²): maps ℝ onto (0, 10), 5 at z = 0, monotone increasing.

    √(10 + z²) is computed as hypot(√10, z) so a huge z can't overflow; z = ±inf gives the limits 10 / 0.
    """
    if math.isinf(z):
        return POINTS_MAX if z > 0 else 0.0
    return 5.0 + 5.0 * (z / math.hypot(_SQRT10, z))


def _clamp(x: float, bounds: tuple[float, float] | None) -> float:
    if bounds is None:
        return x
    return min(max(x, bounds[0]), bounds[1])


def transform_points(x: float, spec: TransformSpec) -> float:
    """Metric points in [0, 10] of a finite raw value x under a transform spec."""
    sign = 1.0 if spec.direction == "higher" else -1.0
    x = _clamp(x, spec.clamp)
    if spec.name == "sigmoid":
        return sigmoid_points(sign * (x - spec.center) / spec.scale)
    if spec.name == "log_sigmoid":
        return sigmoid_points(sign * math.log(x) / spec.scale)
    if spec.name == "linear":
        x = _clamp(x, (spec.lo, spec.hi))
        frac = (x - spec.lo) / (spec.hi - spec.lo)
        return POINTS_MAX * (frac if sign > 0 else 1.0 - frac)
    if spec.name == "decay":
        return POINTS_MAX * math.exp(-max(x - spec.center, 0.0) / spec.scale)
    raise ValueError(f"unknown transform {spec.name!r}")


def _non_finite_label(x: float) -> str | None:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return None


@dataclass(frozen=True)
class BXScoreResult:
    """One BX Score.

    score: in [0, 100]; version: the score version id; version_sha256: hash of the version file used;
    group_contributions: group → points of the 100 (they sum to `score`); normalized: metric → points in
    [0, 10]; flags: metric → "nan" | "inf" | "-inf" for non-finite inputs (scored as neutral);
    context: the market context recorded with the score (volatility/trend/liquidity regime, ...).
    """

    score: float
    version: str
    version_sha256: str
    group_contributions: dict[str, float]
    normalized: dict[str, float]
    flags: dict[str, str] = field(default_factory=dict)
    context: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "version": self.version,
            "version_sha256": self.version_sha256,
            "group_contributions": dict(self.group_contributions),
            "normalized": dict(self.normalized),
            "flags": dict(self.flags),
            "context": dict(self.context),
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, shortest round-trip float repr): equal results give equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=True)


def normalize_metrics(metrics: Mapping[str, float], version: ScoreVersion) -> tuple[dict[str, float], dict[str, str]]:
    """Metric points for every scored metric (file order) and the flags of non-finite inputs.

    Raises KeyError naming the scored metrics missing from `metrics` (the input contract is exact).
    """
    missing = [m for m in version.metrics if m not in metrics]
    if missing:
        raise KeyError(f"metrics missing for score version {version.version}: {missing}")
    points: dict[str, float] = {}
    flags: dict[str, str] = {}
    for name, spec in version.metrics.items():
        x = float(metrics[name])
        label = _non_finite_label(x)
        if label is not None:
            flags[name] = label
            points[name] = float(version.non_finite_points)
        else:
            points[name] = transform_points(x, spec.transform)
    return points, flags


def group_contributions(points: Mapping[str, float], version: ScoreVersion) -> dict[str, float]:
    """Contribution of each group to the 0..100 score: 10 · W_g · Σ w_m · p_m (file order, fsum)."""
    out: dict[str, float] = {}
    for gname, group in version.groups.items():
        inner = math.fsum(spec.weight * points[m] for m, spec in version.metrics.items() if spec.group == gname)
        out[gname] = 10.0 * group.weight * inner
    return out


def is_inactive(metrics: Mapping[str, float]) -> bool:
    """The strategy never traded: nothing was bought or sold in the scenario."""
    return float(metrics["turnover"]) == 0.0


def degenerate_flags(metrics: Mapping[str, float]) -> dict[str, str]:
    """Inputs on which the statistics say little, named so a reader knows (bx-score-v3 on): a scenario whose
    returns never vary (`zero_variance`) or whose equity was wiped out (`wiped_out`)."""
    flags = {}
    if float(metrics["annual_volatility"]) == 0.0:
        flags["degenerate"] = "zero_variance"
    if float(metrics["total_return"]) <= -1.0:
        flags["degenerate"] = "wiped_out"
    return flags


def compute_bx_score(metrics: Mapping[str, float], context: Mapping | None, version: ScoreVersion) -> BXScoreResult:
    """BX Score of one metric dict (a scenario or the whole window) under a loaded score version."""
    points, flags = normalize_metrics(metrics, version)
    contributions = group_contributions(points, version)
    inactive_score = version.rules.inactive_score
    if inactive_score is not None:
        flags.update(degenerate_flags(metrics))
        if is_inactive(metrics):
            flags["activity"] = "inactive"
            contributions = {g: inactive_score * group.weight for g, group in version.groups.items()}
    return BXScoreResult(
        score=math.fsum(contributions.values()),
        version=version.version,
        version_sha256=version.sha256,
        group_contributions=contributions,
        normalized=points,
        flags=flags,
        context=_canonical_context(context),
    )


def _canonical_context(context: Mapping | None) -> dict:
    """A JSON-safe copy of the market context with sorted keys (recorded, never used to rescale)."""
    if not context:
        return {}
    return json.loads(json.dumps(dict(context), sort_keys=True, default=str))
