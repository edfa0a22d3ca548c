import hashlib
import json
import shutil
from pathlib import Path

import pytest

from bx_platform.scoring import governance
from bx_platform.scoring.bx_score import compute_bx_score
from bx_platform.scoring.governance import (
    CONTRACTS,
    VERSIONS_DIR,
    ScoreVersionError,
    ScoreVersionTamperedError,
    current_version,
    load_registry,
    load_score_version,
    released_versions,
)

from ._fixtures import SAMPLE_CONTEXT, metrics

GOLDEN = Path(__file__).with_name("golden_bx_score_v1.json")


def test_registry_hashes_match_the_committed_files():
    """An edit of a committed, released version file fails the suite."""
    for entry in load_registry()["versions"]:
        data = (VERSIONS_DIR / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]


def test_every_version_file_is_registered():
    files = {p.name for p in VERSIONS_DIR.glob("*.yaml")}
    assert files == {e["file"] for e in load_registry()["versions"]}


def test_released_and_current():
    assert released_versions() == ["bx-score-v1", "bx-score-v2", "bx-score-v3", "bx-private-v1"]
    assert current_version() == "bx-score-v3"
    assert governance.private_versions() == ["bx-private-v1"]


def test_the_private_version_scores_each_scenario_as_v3_does():
    """bx-private-v1 = bx-score-v3 + the official private score (docs/private-evaluation.md)."""
    v3, private = load_score_version("bx-score-v3"), load_score_version("bx-private-v1")
    assert private.supersedes == "bx-score-v3" and v3.private_evaluation is None
    same = ("groups", "metrics", "unscored", "utility_weights", "eligibility", "capital", "contest", "leaderboard", "rules", "contract")
    assert all(getattr(private, name) == getattr(v3, name) for name in same)
    spec = private.private_evaluation
    assert (spec.real_sister_weight, spec.perturbation_weight, spec.stress_weight) == (0.4, 0.3, 0.3)


@pytest.mark.parametrize("version", ["bx-score-v1", "bx-score-v2", "bx-score-v3", "bx-private-v1"])
def test_released_versions_load_and_cover_the_contract(version):
    v = load_score_version(version)
    assert v.version == version
    assert set(v.metrics) | set(v.unscored) == set(CONTRACTS[v.contract])
    assert v.approval.approved_by and v.approval.approved_at and v.approval.reason
    assert v.sha256 == governance.file_sha256(VERSIONS_DIR / f"{version}.yaml")


def test_v2_differs_from_v1_and_names_its_predecessor():
    v1, v2 = load_score_version("bx-score-v1"), load_score_version("bx-score-v2")
    assert v2.supersedes == "bx-score-v1"
    assert v1.groups != v2.groups
    r1 = compute_bx_score(metrics(), None, v1)
    r2 = compute_bx_score(metrics(), None, v2)
    assert r1.score != r2.score


def test_risk_adjusted_and_stability_outweigh_core():
    for version in released_versions():
        g = load_score_version(version).groups
        assert g["risk_adjusted"].weight > g["core"].weight
        assert g["stability"].weight > g["core"].weight


def test_edited_copy_of_a_released_version_fails_the_hash_check(tmp_path):
    src = VERSIONS_DIR / "bx-score-v1.yaml"
    shutil.copy(src, tmp_path / src.name)
    assert load_score_version("bx-score-v1", versions_dir=tmp_path).sha256 == governance.file_sha256(src)
    text = src.read_text(encoding="utf-8")
    edited = text.replace("core:          {weight: 0.15,", "core:          {weight: 0.25,")
    edited = edited.replace("risk:          {weight: 0.20,", "risk:          {weight: 0.10,")
    assert edited != text
    (tmp_path / src.name).write_text(edited, encoding="utf-8")
    with pytest.raises(ScoreVersionTamperedError, match="can't be edited"):
        load_score_version("bx-score-v1", versions_dir=tmp_path)


def test_unknown_version_is_a_clear_error():
    with pytest.raises(ScoreVersionError, match="not released"):
        load_score_version("bx-score-v99")


def _write_registered(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    reg = {
        "current": name,
        "versions": [{"version": name, "file": f"{name}.yaml",
                      "sha256": governance.file_sha256(tmp_path / f"{name}.yaml")}],
    }
    path = tmp_path / "registry.json"
    path.write_text(json.dumps(reg), encoding="utf-8")
    return path


def test_malformed_version_is_rejected_even_when_registered(tmp_path):
    text = (VERSIONS_DIR / "bx-score-v1.yaml").read_text(encoding="utf-8")
    bad = text.replace("version: bx-score-v1", "version: bx-score-x").replace(
        "stability:     {weight: 0.25,", "stability:     {weight: 0.35,")
    reg = _write_registered(tmp_path, "bx-score-x", bad)
    with pytest.raises(ScoreVersionError, match="sum to 1"):
        load_score_version("bx-score-x", versions_dir=tmp_path, registry_path=reg)


def test_a_new_version_is_released_by_file_plus_registry_entry(tmp_path):
    text = (VERSIONS_DIR / "bx-score-v2.yaml").read_text(encoding="utf-8")
    new = text.replace("version: bx-score-v2", "version: bx-score-v3")
    reg = _write_registered(tmp_path, "bx-score-v3", new)
    assert current_version(reg) == "bx-score-v3"
    assert load_score_version("bx-score-v3", versions_dir=tmp_path, registry_path=reg).version == "bx-score-v3"


def test_v1_result_recomputes_bit_identically_after_v2_exists():
    """Golden results computed under v1 recompute to the same JSON bytes and the same float bits."""
    assert "bx-score-v2" in released_versions()
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    v1 = load_score_version("bx-score-v1")
    assert golden["version_sha256"] == v1.sha256
    for case in golden["cases"]:
        before = compute_bx_score(case["metrics"], case["context"], v1)
        compute_bx_score(case["metrics"], case["context"], load_score_version("bx-score-v2"))
        after = compute_bx_score(case["metrics"], case["context"], load_score_version("bx-score-v1"))
        assert after.to_json() == before.to_json() == case["result_json"]
        assert after.score.hex() == case["score_hex"]


def _make_golden() -> None:  # pragma: no cover - run by hand once, when a version is released
    v1 = load_score_version("bx-score-v1")
    cases = []
    for name, m in [("sample", metrics()), ("nan_profit_factor", metrics(profit_factor=float("nan"))),
                    ("extreme", metrics(sharpe=1e9, max_drawdown=0.99, regime_sensitivity=float("inf")))]:
        r = compute_bx_score(m, SAMPLE_CONTEXT, v1)
        cases.append({"name": name, "metrics": m, "context": SAMPLE_CONTEXT, "result_json": r.to_json(),
                      "score_hex": r.score.hex()})
    GOLDEN.write_text(json.dumps({"version": "bx-score-v1", "version_sha256": v1.sha256, "cases": cases},
                                 indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    _make_golden()
