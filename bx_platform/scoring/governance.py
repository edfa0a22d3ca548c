"""Score versions under governance (docs/scoring.md, "Governance").

A released score version is a YAML file in `bx_platform/scoring/versions/` plus an entry in `registry.json`
holding the sha256 of the file's bytes. `load_score_version` refuses a file whose bytes no longer match the
registry: a released version can't be edited, only superseded by a new version (new file + approval record +
registry entry). Old versions stay, so every released score stays recomputable.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bx_platform.evaluation.report import CONTRACT_V1_KEYS, METRIC_KEYS
from bx_platform.scoring.eligibility import EligibilityThresholds
from bx_platform.scoring.utility import UtilityWeights

VERSIONS_DIR = Path(__file__).resolve().parent / "versions"
REGISTRY_PATH = VERSIONS_DIR / "registry.json"

#: The evaluation layer's metric dict keys (the input contract) a version accounts for, by the contract it
#: declares: every one either as a scored metric or in `unscored` with a reason. Contract 1 is what bx-score-v1
#: and v2 were released against; keys added later are reported but unknown to them.
CONTRACTS: dict[int, tuple[str, ...]] = {1: CONTRACT_V1_KEYS, 2: METRIC_KEYS}
CONTRACT_KEYS: tuple[str, ...] = CONTRACTS[1]

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


class RulesSpec(_Strict):
    """Scoring rules introduced after v1; the defaults are v1's behaviour, so v1 and v2 (which have no `rules`
    section) recompute exactly as released. docs/scoring.md explains each rule."""

    # window_totals: v1's terms (total return, mean daily turnover, total cost); rates: window-invariant terms
    utility: Literal["window_totals", "rates"] = "window_totals"
    growth_rate_cap: float = Field(default=5.0, gt=0)  # bound of the log growth per year in the rates utility
    inactive_score: float | None = Field(default=None, ge=0, le=100)  # BX Score of a strategy that never trades
    halt_ends_eligibility: bool = False  # a risk-profile halt is a risk event that ends eligibility


class PrivateEvaluationSpec(_Strict):
    """The official private score (docs/private-evaluation.md, "The official score"): the weight of each scenario
    kind (the real sister as is, the perturbations by their mean, the stress scenarios by their worst case) and
    the eligibility across the eleven scenarios."""

    real_sister_weight: float = Field(ge=0)
    perturbation_weight: float = Field(ge=0)
    stress_weight: float = Field(ge=0)
    min_positive_utility_fraction: float = Field(ge=0, le=1)
    max_worst_stress_drawdown: float = Field(gt=0)

    @model_validator(mode="after")
    def _weights(self) -> "PrivateEvaluationSpec":
        _check_sum("private evaluation weights", [self.real_sister_weight, self.perturbation_weight, self.stress_weight])
        return self


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
    contract: Literal[1, 2] = 1
    rules: RulesSpec = RulesSpec()
    private_evaluation: PrivateEvaluationSpec | None = None  # the official private score (bx-private-v1 on)
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
        contract = set(CONTRACTS[self.contract])
        if accounted != contract:
            raise ValueError(
                f"metrics + unscored must be exactly the keys of contract {self.contract}; missing "
                f"{sorted(contract - accounted)}, unknown {sorted(accounted - contract)}"
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


def private_versions(registry_path: Path | None = None) -> list[str]:
    """Released versions that define the official private score (a `private_evaluation` section)."""
    return [v for v in released_versions(registry_path) if load_score_version(v, registry_path=registry_path).private_evaluation]


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


# ---------------------------------------------------------------------------------------------------------
# The history check (CI): a released version's file never changes after its release commit.

REGISTRY_REPO_PATH = "bx_platform/scoring/versions/registry.json"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def _registry_at(repo: Path, commit: str) -> dict:
    return json.loads(_git(repo, "show", f"{commit}:{REGISTRY_REPO_PATH}"))


def _entries(registry: dict) -> dict[str, dict]:
    return {e["version"]: e for e in registry.get("versions", [])}


def history_violations(repo: Path) -> list[str]:
    """Every change the git history of `repo` shows to a released version after its release commit.

    The release commit of a version is the first commit whose registry lists it. After it, none of these may
    happen: a commit touching the version's file, a commit changing its registry entry, or an uncommitted edit
    of the file in the work tree. Edits made before governance was enforced by history are listed, with the
    reason, in the registry's `pre_governance_edits`; that list is itself frozen once written. Returns one
    message per violation (empty: the history is clean)."""
    repo = Path(repo)
    history = _git(repo, "log", "--reverse", "--format=%H", "--", REGISTRY_REPO_PATH).split()
    releases: dict[str, tuple[str, dict]] = {}
    exceptions_first: list | None = None
    for commit in history:
        registry = _registry_at(repo, commit)
        for version, entry in _entries(registry).items():
            releases.setdefault(version, (commit, entry))
        if exceptions_first is None and "pre_governance_edits" in registry:
            exceptions_first = registry["pre_governance_edits"]
    head = _registry_at(repo, "HEAD")
    exceptions = head.get("pre_governance_edits", [])
    violations = []
    if exceptions_first is not None and exceptions != exceptions_first:
        violations.append("registry: pre_governance_edits changed after it was written (it is frozen)")
    allowed = {(e["version"], e["commit"]) for e in exceptions}
    versions_dir = Path(REGISTRY_REPO_PATH).parent
    for version, (release, entry) in releases.items():  # entry: as released
        path = str(versions_dir / entry["file"])
        for commit in _git(repo, "log", "--format=%H", f"{release}..HEAD", "--", path).split():
            if (version, commit) not in allowed:
                violations.append(f"{version}: {path} changed in commit {commit[:12]}, after its release commit {release[:12]}")
        for commit in _git(repo, "log", "--format=%H", f"{release}..HEAD", "--", REGISTRY_REPO_PATH).split():
            changed = _entries(_registry_at(repo, commit)).get(version) != _entries(_registry_at(repo, f"{commit}^")).get(version)
            if changed and (version, commit) not in allowed:
                violations.append(f"{version}: its registry entry changed in commit {commit[:12]}, after its release commit {release[:12]}")
        if _git(repo, "status", "--porcelain", "--", path).strip():
            violations.append(f"{version}: {path} has uncommitted changes")
    return violations
