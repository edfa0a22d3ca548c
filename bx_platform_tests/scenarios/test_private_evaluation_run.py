"""A private evaluation end to end: submitted over the real HTTP API, run through the real Dagster graph on a
SQLite instance, scored under bx-private-v1. Then: the result document has each strategy's eleven scenario
scores and official score; nothing any client or analyst can read (API responses, result document, public and
operator stores, every stored file, the Dagster event log, stdout and stderr) holds a hidden scenario's bars or
seeds; each stress scenario moves the scores of real strategies in the documented direction."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import struct
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance

from bx_platform.api.app import create_app
from bx_platform.control.capabilities import Capabilities
from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.store import JobStore
from bx_platform.pipeline.admission import build_record
from bx_platform.pipeline.private_evaluation import verify_revealed_seeds
from bx_platform.pipeline.staging import bars_by_market, job_bars
from bx_platform.scenarios import SCENARIO_NAMES, build_scenarios, scenario_seeds
from bx_platform.warehouse.store import Warehouse
from bx_platform_tests.api.conftest import ALL_JOB_TYPES, LiveServer, make_platform
from bx_platform_tests.defs.helpers import materialize_submitted
from bx_platform_tests.test_result_schema import validator

SECRET = "private-evaluation-test-secret-8c1f"
PRIVATE_JOB = {
    "organization": "org-private",
    "job_type": "private_evaluation",
    "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
    "window": {"start": "2016-01-01", "end": "2017-07-01"},  # a long hold survives it (largest drawdown 33 %)
    "timeframe": "1d",
    "risk_profile": "aggressive",
    "strategies": ["bx/buy-and-hold", "bx/sma-trend", "bx/momentum", "bx/mean-reversion"],
    "visibility": "private",
    "sessions": 3,
}
COPYCAT_JOB = {**PRIVATE_JOB, "window": {"start": "2016-03-01", "end": "2017-05-01"}, "strategies": ["bx/sma-trend"]}
# prices of these scenarios exist nowhere else (the sister's and the fee shock's bars are public archive rows,
# the liquidity drought keeps the real prices)
SYNTHETIC = ("block-bootstrap", "bar-noise", "time-shift", "volatility-rescale", "drift-change", "crash", "volatility-spike", "outage")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("private")
    previous = os.environ.get("BX_SCENARIO_SECRET")
    os.environ["BX_SCENARIO_SECRET"] = SECRET
    try:
        everything = Capabilities(job_types=ALL_JOB_TYPES, finest_timeframe="1d", jobs_per_hour=None, jobs_per_day=None)
        jobs_url, control_url, keys = make_platform(root, {"client": ("org-private", everything), "copycat": ("org-copycat", everything)})
        warehouse_root = root / "warehouse"
        app = create_app(jobs_url=jobs_url, control_url=control_url, warehouse_root=warehouse_root)
        responses = []
        with LiveServer(app) as url:
            import httpx

            client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['client']}"}, timeout=120)
            submitted = client.post("/v1/jobs", json=PRIVATE_JOB)
            assert submitted.status_code == 201, submitted.text
            job_id = submitted.json()["job_id"]
            responses.append(submitted.text)
            (root / "dagster").mkdir()
            instance = DagsterInstance.local_temp(str(root / "dagster"))
            result = materialize_submitted(job_id, jobs_url, warehouse_root, instance, control_url=control_url)
            assert result.success
            for path in ("/v1/jobs", f"/v1/jobs/{job_id}", f"/v1/jobs/{job_id}/result", "/v1/leaderboards/long-term",
                         "/v1/usage?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z"):
                response = client.get(path)
                assert response.status_code == 200, (path, response.text)
                responses.append(response.text)
            logs = "\n".join(str(entry) for entry in instance.all_logs(result.run_id))
            # another organization evaluates a copy of one strategy on an overlapping window
            copycat = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['copycat']}"}, timeout=120)
            copy = copycat.post("/v1/jobs", json={**COPYCAT_JOB, "organization": "org-copycat"})
            assert copy.status_code == 201, copy.text
            assert materialize_submitted(copy.json()["job_id"], jobs_url, warehouse_root, instance, control_url=control_url).success
            instance.dispose()
        document = json.loads(responses[3])
        yield {"root": root, "job_id": job_id, "document": document, "responses": responses, "logs": logs,
               "warehouse": Warehouse(warehouse_root), "jobs_url": jobs_url}
    finally:
        if previous is None:
            os.environ.pop("BX_SCENARIO_SECRET", None)
        else:
            os.environ["BX_SCENARIO_SECRET"] = previous


def _strategy(document: dict, handle: str) -> dict:
    return next(s for s in document["strategies"] if s["strategy"] == handle)


def _scenario(document: dict, handle: str, name: str) -> dict:
    return next(s for s in _strategy(document, handle)["private_evaluation"]["scenarios"] if s["scenario"] == name)


def test_the_result_has_eleven_scenario_scores_and_the_official_score_per_strategy(evaluated):
    document = evaluated["document"]
    validator().validate(document)  # the result schema, strictly
    assert document["schema"] == "bx-result-3" and document["spec"]["scoring_version"] == "bx-private-v1"
    assert set(document["pinned"]["scenarios"]["commitments"]) == set(SCENARIO_NAMES)
    for strategy in document["strategies"]:
        private = strategy["private_evaluation"]
        assert [s["scenario"] for s in private["scenarios"]] == list(SCENARIO_NAMES)
        assert set(private["scenarios"][0]) == {"scenario", "kind", "utility", "beta_score", "bx_score", "flags"}
        assert not [f for scenario in private["scenarios"] for f in scenario["flags"] if " at " in f]  # no time of a hidden path
        official = private["official"]
        kinds = {s["scenario"]: s for s in private["scenarios"]}
        perturbations = [kinds[n]["bx_score"] for n in SCENARIO_NAMES[1:6]]
        stress = [kinds[n]["bx_score"] for n in SCENARIO_NAMES[6:]]
        expected = 0.4 * kinds["real-sister"]["bx_score"] + 0.3 * sum(perturbations) / 5 + 0.3 * min(stress)
        assert official["score"] == pytest.approx(expected, abs=1e-9)
        positive = sum(s["utility"] > 0 for s in private["scenarios"]) / 11
        assert official["positive_utility_fraction"] == pytest.approx(positive)
        assert official["eligible"] == (not official["failed_gates"])
    momentum = _strategy(document, "bx/momentum")["private_evaluation"]["scenarios"]
    assert "halted_drawdown" in {f for scenario in momentum for f in scenario["flags"]}  # halted on some scenario


def _hidden_values(evaluated) -> tuple[set[float], list[str]]:
    """Closes of the synthetic scenarios that are no real price, and the job's seeds."""
    spec = parse_spec(PRIVATE_JOB)
    real = bars_by_market(job_bars(spec, evaluated["job_id"]), spec)
    seeds = scenario_seeds(SECRET.encode(), evaluated["job_id"])
    scenarios = {s.name: s for s in build_scenarios(seeds, real, "1d")}
    real_prices = set(real["coinbase:BTC/USD"].select(pl.concat_list("open", "high", "low", "close").explode()).to_series().to_list())
    hidden = set()
    for name in SYNTHETIC:
        frame = scenarios[name].bars["coinbase:BTC/USD"]
        hidden |= {v for v in frame["close"].to_list() + frame["open"].to_list() if v not in real_prices}
    return hidden, list(seeds.values())


def _texts_and_numbers(path: Path) -> tuple[str, set[float]]:
    """Everything a stored file holds, as text and as numbers: Parquet decoded, SQLite and DuckDB queried."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        numbers = {v for c in frame.columns if frame.schema[c].is_float() for v in frame[c].drop_nulls().to_list()}
        return str(frame.write_csv()), numbers
    if data.startswith(b"SQLite format 3"):
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        rows = [row for table in tables for row in conn.execute(f'select * from "{table}"')]
        conn.close()
        return repr(rows), {v for row in rows for v in row if isinstance(v, float)}
    if path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as conn:
            names = [r[0] for r in conn.execute("select table_name from information_schema.tables").fetchall()]
            rows = []
            for name in names:
                try:
                    rows += conn.execute(f'select * from "{name}"').fetchall()
                except duckdb.Error:  # a view over a table with no partition yet
                    pass
        return repr(rows), {v for row in rows for v in row if isinstance(v, float)}
    return data.decode("utf-8", "replace"), set()


def test_no_artifact_holds_a_hidden_scenarios_bars_or_seeds(evaluated, capfd):
    hidden, seeds = _hidden_values(evaluated)
    assert len(hidden) > 2000  # the check is not vacuous
    captured = capfd.readouterr()
    texts = [*evaluated["responses"], evaluated["logs"], captured.out, captured.err]
    numbers: set[float] = set()
    files = [p for p in evaluated["root"].rglob("*") if p.is_file()]
    assert any(p.name == "bx-public.duckdb" for p in files) and any(p.suffix == ".parquet" for p in files)
    for path in files:
        text, found = _texts_and_numbers(path)
        texts.append(text)
        numbers |= found
    for text in texts:
        for document_number in _json_numbers(text):
            numbers.add(document_number)
    leaked = numbers & hidden
    assert not leaked, f"{len(leaked)} hidden prices found, e.g. {sorted(leaked)[:3]}"
    joined = "\n".join(texts)
    assert not [seed for seed in seeds if seed in joined]
    assert SECRET not in joined
    assert not any(struct.pack("<d", value) in path.read_bytes() for path in files for value in list(hidden)[:200])


def _json_numbers(text: str) -> set[float]:
    try:
        value = json.loads(text)
    except ValueError:
        return set()
    out, stack = set(), [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            out.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _rows(evaluated) -> pl.DataFrame:
    return evaluated["warehouse"].read("verified", "private_scenarios", evaluated["job_id"])


def test_the_crash_hurts_a_long_hold(evaluated):
    document = evaluated["document"]
    hold = _strategy(document, "bx/buy-and-hold")
    crash = _scenario(document, "bx/buy-and-hold", "crash")
    print(f"buy-and-hold utility real {hold['scores']['utility']:.4f} crash {crash['utility']:.4f}; "
          f"BX real {hold['scores']['bx_score']['score']:.2f} crash {crash['bx_score']:.2f}")
    assert crash["utility"] < hold["scores"]["utility"]
    assert crash["bx_score"] < hold["scores"]["bx_score"]["score"]


def test_the_fee_shock_hurts_the_highest_turnover_strategy_most(evaluated):
    document = evaluated["document"]
    rows = _rows(evaluated).filter(pl.col("scenario") == "fee-shock")
    turnover = {s["strategy"]: s["execution"]["turnover"] for s in document["strategies"]}
    loss = {h: _strategy(document, h)["scores"]["utility"] - _scenario(document, h, "fee-shock")["utility"] for h in turnover}
    print("turnover", turnover, "utility lost to the fee shock", loss, "fees", dict(zip(rows["strategy"], rows["fees"])))
    busiest = max(turnover, key=turnover.get)
    assert max(loss, key=loss.get) == busiest
    assert all(value >= -1e-12 for value in loss.values())


def test_the_outage_has_no_fill_during_the_gap(evaluated):
    rows = _rows(evaluated).filter(pl.col("scenario") == "outage")
    audit = evaluated["warehouse"].read("verified", "scenario_audit", evaluated["job_id"])
    bars = dict(zip(audit["scenario"], audit["bars"]))
    print("outage bars", bars["outage"], "of", bars["fee-shock"], "fills", dict(zip(rows["strategy"], rows["fills"])))
    assert bars["outage"] < bars["fee-shock"]
    assert rows["fills_in_outage"].to_list() == [0] * rows.height
    assert rows["fills"].sum() > 0


def test_the_liquidity_drought_raises_impact_costs(evaluated):
    """The same real prices with a fraction of the volume: the square-root impact of an order grows as
    1/sqrt(volume) until the participation cap binds. The trading strategies pay more per unit traded; the hold's
    one order (one fill on the real volume) hits the cap and is split over several bars, each fill of bounded
    impact, so for it the drought shows as a slower entry (docs/private-evaluation.md, "Figures")."""
    rows = _rows(evaluated)
    part = {scenario: {r["strategy"]: r for r in rows.filter(pl.col("scenario") == scenario).to_dicts()}
            for scenario in ("fee-shock", "liquidity-drought")}  # the same real prices; only the liquidity differs

    def per_notional(row: dict) -> float:
        return (row["impact_cost"] + row["spread_cost"]) / row["traded_notional"]

    for handle in ("bx/sma-trend", "bx/momentum", "bx/mean-reversion"):
        real, dry = part["fee-shock"][handle], part["liquidity-drought"][handle]
        print(f"{handle}: impact + spread per traded notional {per_notional(real):.5f} -> {per_notional(dry):.5f}")
        assert per_notional(dry) > per_notional(real), handle
    real, dry = part["fee-shock"]["bx/buy-and-hold"], part["liquidity-drought"]["bx/buy-and-hold"]
    print(f"bx/buy-and-hold: fills {real['fills']} -> {dry['fills']}")
    assert dry["fills"] > 3 * real["fills"]


def test_the_revealed_seeds_rebuild_the_bars_the_run_recorded_and_a_wrong_seed_is_refused(evaluated):
    store = JobStore(evaluated["jobs_url"])
    try:
        record = store.get(evaluated["job_id"]).record
    finally:
        store.dispose()
    warehouse, job_id = evaluated["warehouse"], evaluated["job_id"]
    spec = parse_spec(PRIVATE_JOB)
    real = bars_by_market(warehouse.read("verified", "market_bars", job_id), spec)
    audit = warehouse.read("verified", "scenario_audit", job_id)
    seeds = scenario_seeds(SECRET.encode(), job_id)
    assert verify_revealed_seeds(record, seeds, real, audit) == []
    wrong = {**seeds, "block-bootstrap": scenario_seeds(b"a guess", job_id)["block-bootstrap"]}
    assert [p.split(":")[0] for p in verify_revealed_seeds(record, wrong, real, audit)] == ["block-bootstrap"]


def test_near_duplicates_across_organizations_are_found_on_the_sister_scenarios_returns(evaluated):
    duplicates = evaluated["warehouse"].read_snapshot("private_duplicates")
    print(duplicates.select("cluster_id", "organization", "strategy", "cluster_size"))
    flagged = set(zip(duplicates["organization"], duplicates["strategy"]))
    assert {("org-private", "bx/sma-trend"), ("org-copycat", "bx/sma-trend")} <= flagged
    cluster = duplicates.filter(pl.col("strategy") == "bx/sma-trend")["cluster_id"]
    assert cluster.n_unique() == 1  # one cluster holds both copies
    assert ("org-private", "bx/mean-reversion") not in flagged and ("org-private", "bx/momentum") not in flagged


def test_each_private_evaluation_counts_as_trials_for_the_organizations_dsr(evaluated):
    """The organization's next job is deflated by the private evaluation's four strategies."""
    store = JobStore(evaluated["jobs_url"])
    try:
        submitted, known = store.trial_history("org-private")
        following = build_record(parse_spec({**PRIVATE_JOB, "strategies": ["bx/sma-trend"], "sessions": 2}), store)
    finally:
        store.dispose()
    assert submitted == len(known) == len(PRIVATE_JOB["strategies"])
    assert following["pinned"]["trials"]["earlier_trials"] == 4 and following["pinned"]["trials"]["n"] == 5


def test_the_usage_charged_counts_the_hidden_scenarios_bar_steps(evaluated):
    usage = json.loads(evaluated["responses"][-1])
    job = next(j for j in usage["jobs"] if j["job_id"] == evaluated["job_id"])
    audit = evaluated["warehouse"].read("verified", "scenario_audit", evaluated["job_id"])
    assert job["bar_steps"] == (547 + int(audit["bars"].sum())) * len(PRIVATE_JOB["strategies"])
