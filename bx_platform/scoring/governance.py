"""Score versions under governance (docs/scoring.md, "Governance").

A released score version is a YAML file in `bx_platform/scoring/versions/` plus an entry in `registry.json`
holding the sha256 of the file's bytes. `load_score_version` refuses a file whose bytes no longer match the
registry: a released version can't be edited, only superseded by a new version (new file + approval record +
registry entry). Old versions stay, so every released score stays recomputable.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bx_platform.evaluation.report import METRIC_KEYS
from bx_platform.scoring.eligibility import EligibilityThresholds
from bx_platform.scoring.utility import UtilityWeights

VERSIONS_DIR = Path(__file__).resolve().parent / "versions"
REGISTRY_PATH = VERSIONS_DIR / "registry.json"

#: The evaluation layer's metric dict keys (the input contract). Every version must account for each one,
#: either as a scored metric or in `unscored` with a reason.
CONTRACT_KEYS: tuple[str, ...] = METRIC_KEYS

_WEIGHT_TOLERANCE = 1e-9


class ScoreVersionError(Exception):
    """A score version is unknown, malformed, or not properly registered."""


class ScoreVersionTamperedError(ScoreVersionError):
    """A released score version file's bytes do not match the sha256 recorded in the registry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TransformSpec(_Strict):
    """How one raw metric maps to metric points in [0, 10] (bx_score.TRANSFORMS documents each name)."""

    name: Literal["sigmoid", "log_sigmoid", "linear", "decay"]
    direction: Literal["higher", "lower"] = "higher"
    scale: float | None = Field(default=None, gt=0)
    center: float = 0.0
    lo: float | None = None
    hi: float | None = None
    clamp: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _params(self) -> "TransformSpec":
        if self.name in ("sigmoid", "log_sigmoid", "decay") and self.scale is None:
            raise ValueError(f"transform {self.name} needs a positive scale")
        if self.name == "linear" and (self.lo is None or self.hi is None or not self.lo < self.hi):
            raise ValueError("transform linear needs lo < hi")
        if self.name == "decay" and self.direction != "lower":
            raise ValueError("transform decay is only defined for direction lower")
        if self.name == "log_sigmoid" and (self.clamp is None or not self.clamp[0] > 0):
            raise ValueError("transform log_sigmoid needs a clamp with a positive lower bound")
        if self.clamp is not None and not self.clamp[0] < self.clamp[1]:
            raise ValueError("clamp needs [low, high] with low < high")
        return self


class MetricSpec(_Strict):
    group: str
    weight: float = Field(ge=0)
    transform: TransformSpec
    note: str = ""


class GroupSpec(_Strict):
    weight: float = Field(ge=0)
    description: str = ""


class ApprovalRecord(_Strict):
    approved_by: str = Field(min_length=1)
    approved_at: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class UtilityWeightsSpec(_Strict):
    w_r: float
    w_dd: float
    w_tail: float
    w_to: float
    w_cost: float


class EligibilitySpec(_Strict):
    min_positive_utility_fraction: float = Field(ge=0, le=1)
    max_drawdown: float = Field(gt=0)
    max_mean_daily_turnover: float = Field(gt=0)
    max_p95_runtime_ms: float = Field(gt=0)
    budget_drift_tolerance: float = Field(ge=0)


class CapitalSpec(_Strict):
    n0_days: float = Field(gt=0)


class ContestSpec(_Strict):
    duplicate_correlation: float = Field(gt=0, le=1)
    min_overlap_days: int = Field(ge=2)


class LeaderboardSpec(_Strict):
    credibility_k: float = Field(gt=0)


class ScoreVersion(_Strict):
    """A parsed, validated, hash-verified score version. `sha256` is the verified hash of the file's bytes."""

    version: str
    description: str
    supersedes: str | None = None
    output_range: tuple[float, float]
    non_finite_points: float = Field(ge=0, le=10)
    groups: dict[str, GroupSpec]
    metrics: dict[str, MetricSpec]
    unscored: dict[str, str]
    utility_weights: UtilityWeightsSpec
    eligibility: EligibilitySpec
    capital: CapitalSpec
    contest: ContestSpec
    leaderboard: LeaderboardSpec
    approval: ApprovalRecord
    sha256: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> "ScoreVersion":
        if tuple(self.output_range) != (0.0, 100.0):
            raise ValueError("output_range must be [0, 100]")
        _check_sum("group weights", [g.weight for g in self.groups.values()])
        for gname in self.groups:
            members = [m.weight for m in self.metrics.values() if m.group == gname]
            if not members:
                raise ValueError(f"group {gname!r} has no metrics")
            _check_sum(f"metric weights of group {gname!r}", members)
        for mname, m in self.metrics.items():
            if m.group not in self.groups:
                raise ValueError(f"metric {mname!r} names unknown group {m.group!r}")
        both = set(self.metrics) & set(self.unscored)
        if both:
            raise ValueError(f"metrics both scored and unscored: {sorted(both)}")
        accounted = set(self.metrics) | set(self.unscored)
        if accounted != set(CONTRACT_KEYS):
            raise ValueError(
                f"metrics + unscored must be exactly the contract keys; missing {sorted(set(CONTRACT_KEYS) - accounted)}, "
                f"unknown {sorted(accounted - set(CONTRACT_KEYS))}"
            )
        return self

    def utility_weights_obj(self) -> UtilityWeights:
        return UtilityWeights(**self.utility_weights.model_dump())

    def eligibility_thresholds(self) -> EligibilityThresholds:
        return EligibilityThresholds(**self.eligibility.model_dump())


def _check_sum(what: str, weights: list[float]) -> None:
    total = sum(weights)
    if abs(total - 1.0) > _WEIGHT_TOLERANCE:
        raise ValueError(f"{what} must sum to 1 (got {total!r})")


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file's bytes (no newline or encoding normalization)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_registry(registry_path: Path | None = None) -> dict:
    """The registry JSON: {"current": id, "versions": [{version, file, sha256, released_at, approved_by}]}."""
    path = Path(registry_path) if registry_path is not None else REGISTRY_PATH
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScoreVersionError(f"score version registry {path}: {exc}") from exc


def _registry_entry(version: str, registry: dict) -> dict:
    for entry in registry.get("versions", []):
        if entry.get("version") == version:
            return entry
    known = ", ".join(e.get("version", "?") for e in registry.get("versions", []))
    raise ScoreVersionError(f"score version {version!r} is not released (released: {known})")


def released_versions(registry_path: Path | None = None) -> list[str]:
    """Ids of all released versions, in release order."""
    return [e["version"] for e in load_registry(registry_path).get("versions", [])]


def current_version(registry_path: Path | None = None) -> str:
    """Id of the version new jobs are scored with (the registry's `current`)."""
    reg = load_registry(registry_path)
    current = reg.get("current")
    _registry_entry(current, reg)
    return current


def load_score_version(
    version: str, *, versions_dir: Path | None = None, registry_path: Path | None = None
) -> ScoreVersion:
    """Load a released version, verifying the file's sha256 against the registry.

    versions_dir only redirects where the YAML file is read from; the registry (the trusted hashes) stays the
    packaged one unless registry_path is given. Raises ScoreVersionTamperedError on a hash mismatch and
    ScoreVersionError when the version is unknown or the file is malformed.
    """
    entry = _registry_entry(version, load_registry(registry_path))
    path = Path(versions_dir if versions_dir is not None else VERSIONS_DIR) / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScoreVersionError(f"score version {version!r}: cannot read {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise ScoreVersionTamperedError(
            f"score version {version!r}: {path} has sha256 {digest} but the registry records {entry['sha256']}. "
            "A released score version can't be edited: restore the file, or release a new version "
            "(new file + approval + registry entry), see docs/scoring.md."
        )
    return _parse(version, data, digest, path)


def _parse(version: str, data: bytes, digest: str, path: Path) -> ScoreVersion:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScoreVersionError(f"score version {version!r}: {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or "sha256" in raw:
        raise ScoreVersionError(f"score version {version!r}: {path} must be a mapping without a sha256 key")
    try:
        parsed = ScoreVersion.model_validate({**raw, "sha256": digest})
    except ValidationError as exc:
        raise ScoreVersionError(f"score version {version!r}: {path} is invalid: {exc}") from exc
    if parsed.version != version:
        raise ScoreVersionError(f"score version {version!r}: {path} declares version {parsed.version!r}")
    return parsed
