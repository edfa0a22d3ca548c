"""A job's report: written when the job is scored, self-contained, every number equal to the result document's,
nothing of a strategy's internals; `bx report` writes it; the Dagster `scores` asset links it and shows its chart."""

from __future__ import annotations

import base64
import os
import re
import subprocess

from bx_platform.pipeline.reports import render_report
from bx_platform.pipeline.results import failure_document
from bx_platform.reports.job_report import render_job_report
from bx_platform_tests.defs.helpers import BX
from bx_platform_tests.reports.numbers import mismatches, numeric_cells

SECTIONS = ("room", "equity", "metrics", "sessions", "breakdown", "eligibility", "execution", "market", "spec", "pinned")


def test_report_is_written_when_the_job_is_scored_and_shows_the_document(finished_job):
    path = finished_job.warehouse.report_path(finished_job.job_id)
    html = path.read_text(encoding="utf-8")
    document = finished_job.warehouse.read_result(finished_job.job_id)
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    cells = numeric_cells(html)
    assert mismatches(document, cells) == []
    shown = {pointer for pointer, _, _ in cells}
    for i, strategy in enumerate(document["strategies"]):  # the headline numbers of every strategy are there
        assert {f"/strategies/{i}/scores/beta_score", f"/strategies/{i}/scores/bx_score/score", f"/strategies/{i}/tier"} <= shown
        assert all(f"/strategies/{i}/metrics/sessions/{n}/total_return" in shown for n in range(document["spec"]["sessions"]))
        for group in strategy["scores"]["bx_score"]["group_contributions"]:
            assert f"/strategies/{i}/scores/bx_score/group_contributions/{group}" in shown
    assert "/benchmark_hold/metrics/all/max_drawdown" in shown
    assert html == render_report(finished_job.job_id, finished_job.warehouse)  # the stored file is the current one


def test_report_loads_nothing_from_the_network(finished_job):
    """Self-contained: no script, style, image or frame from anywhere; the Vega libraries are inlined."""
    html = finished_job.warehouse.report_path(finished_job.job_id).read_text(encoding="utf-8")
    markup = re.sub(r"(<script[^>]*>).*?</script>", r"\1", html, flags=re.DOTALL)  # tags, not the inlined code
    assert markup.count("<script") == 4  # the Vega bundle, the embedding code and the two charts' specs
    assert not re.search(r"<(script|img|link|iframe|object|embed)[^>]+(src|href|data)=[\"'](?!data:)", markup, re.IGNORECASE)
    assert "vegaEmbed" in html and "cdn.jsdelivr" not in html


def test_failed_job_report_names_where_it_stopped(finished_job):
    document = finished_job.warehouse.read_result(finished_job.job_id)
    record = {"job_id": document["job_id"], "spec": document["spec"], "pinned": document["pinned"], "submitted_at": document["submitted_at"]}
    failure = {"stage": "execution_quality_gate", "reason": "2 expectations failed", "failed_expectations": [
        {"expectation": "expect_column_values_to_be_between", "column": "equity", "group": "bx/momentum", "unexpected_count": 3}]}
    html = render_job_report(failure_document(record, failure), None)
    assert "execution_quality_gate" in html and "2 expectations failed" in html and "expect_column_values_to_be_between" in html
    assert 'class="chart-spec"' not in html and "vegaEmbed" not in html  # no chart, so no Vega script either


def test_scores_asset_links_the_report_and_shows_the_equity_chart(finished_job):
    [scores] = [m for m in finished_job.run.get_asset_materialization_events() if m.asset_key.path == ["scores"]]
    metadata = scores.materialization.metadata
    assert metadata["report"].path == str(finished_job.warehouse.report_path(finished_job.job_id))
    image = re.fullmatch(r"!\[[^\]]+\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", metadata["equity_chart"].md_str)
    assert image and base64.b64decode(image.group(1)).startswith(b"\x89PNG\r\n\x1a\n")


def test_bx_report_writes_the_report(finished_job, tmp_path):
    env = {"BX_JOBSTORE_URL": finished_job.jobs_url, "BX_WAREHOUSE_DIR": str(finished_job.warehouse.root)}
    target = tmp_path / "report.html"
    done = subprocess.run([BX, "report", finished_job.job_id, "--output", str(target)], capture_output=True, text=True, env=_env(env))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    assert target.read_text(encoding="utf-8") == finished_job.warehouse.report_path(finished_job.job_id).read_text(encoding="utf-8")
    missing = subprocess.run([BX, "report", "job-000000000000000000000000"], capture_output=True, text=True, env=_env(env))
    assert missing.returncode == 2 and "JOB_ID" in missing.stderr and "Traceback" not in missing.stderr
    nowhere = subprocess.run([BX, "report", finished_job.job_id, "--output", str(tmp_path / "no" / "r.html")], capture_output=True, text=True, env=_env(env))
    assert nowhere.returncode == 2 and "--output" in nowhere.stderr


def _env(extra: dict) -> dict:
    return {**os.environ, **extra}
