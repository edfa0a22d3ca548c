"""Governance that catches edits: the CI check reads the git history, so a released version's file changed after
its release commit fails it even when the registry's hash was updated in the same commit (docs/scoring.md,
"Governance"). Tested on a temporary clone of this repository."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from bx_platform.scoring.governance import REGISTRY_REPO_PATH, history_violations

REPO = Path(__file__).resolve().parents[2]
V3_FILE = "bx_platform/scoring/versions/bx-score-v3.yaml"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
                   check=True, capture_output=True)


@pytest.fixture
def clone(tmp_path) -> Path:
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True, capture_output=True)
    return target


def test_the_repository_history_is_clean():
    """The check CI runs: no released version file changed after its release commit (a shallow clone can't
    tell, so CI checks out the full history)."""
    assert history_violations(REPO) == []


def test_editing_a_released_file_fails_even_with_the_registry_hash_updated(clone):
    assert history_violations(clone) == []
    version_file = clone / V3_FILE
    version_file.write_text(version_file.read_text(encoding="utf-8").replace("inactive_score: 20.0", "inactive_score: 25.0"),
                            encoding="utf-8")
    assert any("uncommitted" in v for v in history_violations(clone))

    # the same-commit hash check would pass: the registry gets the edited file's hash
    registry_path = clone / REGISTRY_REPO_PATH
    registry = json.loads(registry_path.read_text(encoding="utf-8"))
    for entry in registry["versions"]:
        if entry["version"] == "bx-score-v3":
            entry["sha256"] = hashlib.sha256(version_file.read_bytes()).hexdigest()
    registry_path.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    _git(clone, "commit", "--quiet", "-am", "tune the inactive score")

    violations = history_violations(clone)
    assert any(v.startswith("bx-score-v3:") and "changed in commit" in v for v in violations)
    assert any(v.startswith("bx-score-v3:") and "registry entry changed" in v for v in violations)
    assert not any(v.startswith(("bx-score-v1", "bx-score-v2")) for v in violations)


def test_the_list_of_pre_governance_edits_is_frozen(clone):
    """Adding one's own commit to the exceptions is itself a violation."""
    registry_path = clone / REGISTRY_REPO_PATH
    registry = json.loads(registry_path.read_text(encoding="utf-8"))
    registry["pre_governance_edits"].append({"version": "bx-score-v3", "commit": "0" * 40, "reason": "because"})
    registry_path.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    _git(clone, "commit", "--quiet", "-am", "grandfather an edit")
    assert "registry: pre_governance_edits changed after it was written (it is frozen)" in history_violations(clone)


def test_releasing_a_new_version_is_not_a_violation(clone):
    new = clone / "bx_platform/scoring/versions/bx-score-v4.yaml"
    new.write_text((clone / V3_FILE).read_text(encoding="utf-8").replace("version: bx-score-v3", "version: bx-score-v4"),
                   encoding="utf-8")
    registry_path = clone / REGISTRY_REPO_PATH
    registry = json.loads(registry_path.read_text(encoding="utf-8"))
    registry["versions"].append({"version": "bx-score-v4", "file": "bx-score-v4.yaml",
                                 "sha256": hashlib.sha256(new.read_bytes()).hexdigest(),
                                 "released_at": "2027-01-01T00:00:00Z", "approved_by": "test"})
    registry_path.write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
    _git(clone, "add", "-A")
    _git(clone, "commit", "--quiet", "-m", "release v4")
    assert history_violations(clone) == []
