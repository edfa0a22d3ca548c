"""Score versions on real jobs: a job scored under v1 recomputes bit-identically from its stored metrics now
that v2 exists, v2 gives other numbers, and a job can pin v2."""

from __future__ import annotations

import json

from dagster import DagsterInstance

from bx_platform.pipeline.evaluation import WHOLE_WINDOW, metrics_by_strategy
from bx_platform.pipeline.results import json_ready
from bx_platform.scoring.bx_score import compute_bx_score
from bx_platform.scoring.governance import load_score_version, released_versions
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.defs.helpers import SMALL_JOB, materialize_job


def test_v1_job_recomputes_bit_identically_and_v2_is_distinct(bx_home, tmp_path):
    assert {"bx-score-v1", "bx-score-v2"} <= set(released_versions())
    store_url = f"sqlite:///{tmp_path / 'jobs.sqlite'}"
    warehouse = Warehouse(bx_home / "warehouse")
    with DagsterInstance.ephemeral() as instance:
        job_v1, first = materialize_job({**SMALL_JOB, "scoring_version": "bx-score-v1"}, store_url, warehouse.root, instance)
        job_v2, second = materialize_job({**SMALL_JOB, "scoring_version": "bx-score-v2"}, store_url, warehouse.root, instance)
    assert first.success and second.success

    document = warehouse.read_result(job_v1)
    assert document["pinned"]["scoring_version"] == "bx-score-v1"
    metrics = metrics_by_strategy(warehouse.read("verified", "metrics", job_v1))
    v1, v2 = load_score_version("bx-score-v1"), load_score_version("bx-score-v2")
    context = document["market_context"]["coinbase:BTC/USD"]
    for entry in document["strategies"]:
        stored = entry["scores"]["bx_score"]
        recomputed = json_ready(compute_bx_score(metrics[entry["strategy"]][WHOLE_WINDOW], context, v1).to_dict())
        assert json.dumps(recomputed, sort_keys=True) == json.dumps(stored, sort_keys=True)
        assert compute_bx_score(metrics[entry["strategy"]][WHOLE_WINDOW], context, v2).score != stored["score"]

    other = warehouse.read_result(job_v2)
    assert other["pinned"]["scoring_version"] == "bx-score-v2"
    assert {s["scores"]["bx_score"]["version"] for s in other["strategies"]} == {"bx-score-v2"}
