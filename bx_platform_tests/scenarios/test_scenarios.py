"""The hidden scenarios (docs/private-evaluation.md): real-sister bars are the archive's own rows, every scenario
is a consistent set of bars on the job's keys and timestamps, the same job and secret give the same bars in
two processes, another secret other bars, and revealed seeds verify against the commitments or are refused."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from bx_platform.jobs.spec import parse_spec
from bx_platform.market import archive
from bx_platform.pipeline.private_evaluation import verify_revealed_seeds
from bx_platform.pipeline.staging import bars_by_market, job_bars
from bx_platform.scenarios import SCENARIO_NAMES, build_scenario, build_scenarios, scenario_seeds, seed_commitments
from bx_platform.scenarios.bars import bars_sha256
from bx_platform.scenarios.sister import sister_bars

JOB_ID = "job-0123456789abcdef01234567"
SECRET, OTHER_SECRET = b"test-secret-one", b"test-secret-two"
DAILY = {
    "organization": "acme",
    "job_type": "private_evaluation",
    "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}],
    "window": {"start": "2018-01-01", "end": "2019-01-01"},
    "timeframe": "1d",
    "strategies": ["bx/buy-and-hold"],
}
# the scenarios whose bars are real (public) whatever the secret: the sister's rows, the fee shock's real window
REAL_BARS = ("real-sister", "fee-shock")


def real_bars(spec_data: dict = DAILY) -> dict[str, pl.DataFrame]:
    spec = parse_spec(spec_data)
    return bars_by_market(job_bars(spec, JOB_ID), spec)


def scenario_hashes(secret: bytes) -> dict[str, str]:
    """Run in a spawned process: the hash of every scenario's bars."""
    bars = real_bars()
    return {s.name: s.bars_sha256 for s in build_scenarios(scenario_seeds(secret, JOB_ID), bars, "1d")}


def test_the_sister_scenario_is_the_sister_venues_archive_rows():
    bars = real_bars()
    sister, source = sister_bars(bars, "1d")
    assert source == "sister venue"
    # the archive's Parquet file of the sister market, read directly
    path = archive.default_archive_dir() / "bitstamp" / "BTC-USD" / "1d.parquet"
    stored = pl.read_parquet(path).filter(
        (pl.col("ts") >= datetime(2018, 1, 1, tzinfo=timezone.utc)) & (pl.col("ts") < datetime(2019, 1, 1, tzinfo=timezone.utc))
    )
    got = sister["coinbase:BTC/USD"]  # under the job's own market key
    assert got.height == stored.height == 365
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert got[name].to_list() == stored[name].to_list(), name
    assert got["close"].to_list() != bars["coinbase:BTC/USD"]["close"].to_list()  # another venue's prices


def test_hourly_coinbase_has_the_2018_2022_file_as_sister_and_equities_the_adjacent_window():
    hourly = {**DAILY, "timeframe": "1h", "window": {"start": "2018-06-01", "end": "2018-07-01"}}
    sister, source = sister_bars(real_bars(hourly), "1h")
    stored = pl.read_parquet(archive.default_archive_dir() / "cryptodatadownload" / "BTC-USD" / "1h.parquet")
    rows = stored.join(sister["coinbase:BTC/USD"].select("ts"), on="ts", how="semi")
    assert source == "sister venue" and rows["close"].to_list() == sister["coinbase:BTC/USD"]["close"].to_list()

    equities = {**DAILY, "markets": [{"venue": "us_equities", "symbol": "IBM"}], "window": {"start": "2010-01-01", "end": "2011-01-01"}}
    bars = real_bars(equities)
    adjacent, source = sister_bars(bars, "1d")
    frame, real = adjacent["us_equities:IBM"], bars["us_equities:IBM"]
    assert source == "adjacent window"
    assert frame["ts"].to_list() == real["ts"].to_list()  # relabelled onto the job's calendar
    before = archive.read_bars("us_equities", "IBM", "1d", datetime(2000, 1, 1, tzinfo=timezone.utc),
                               datetime(2010, 1, 1, tzinfo=timezone.utc)).tail(real.height)
    assert frame["close"].to_list() == before["close"].to_list()  # the real bars just before the window


def test_every_scenario_is_consistent_bars_on_the_jobs_keys_and_timestamps():
    bars = real_bars()
    grid = bars["coinbase:BTC/USD"]["ts"]
    scenarios = build_scenarios(scenario_seeds(SECRET, JOB_ID), bars, "1d")
    assert [s.name for s in scenarios] == list(SCENARIO_NAMES)
    assert [s.kind for s in scenarios].count("perturbation") == 5 and [s.kind for s in scenarios].count("stress") == 5
    for scenario in scenarios:
        assert list(scenario.bars) == ["coinbase:BTC/USD"], scenario.name
        frame = scenario.bars["coinbase:BTC/USD"]
        assert frame.columns == bars["coinbase:BTC/USD"].columns
        o, h, l, c = (frame[x].to_numpy() for x in ("open", "high", "low", "close"))
        assert np.all(l > 0) and np.all(l <= np.minimum(o, c) + 1e-9) and np.all(h >= np.maximum(o, c) - 1e-9), scenario.name
        if scenario.name == "outage":
            assert frame.height < grid.len() and set(frame["ts"].to_list()) < set(grid.to_list())
        else:
            assert frame["ts"].to_list() == grid.to_list(), scenario.name


def test_same_job_and_secret_give_the_same_bars_in_two_processes_and_another_secret_other_bars():
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        first, second, other = pool.map(scenario_hashes, [SECRET, SECRET, OTHER_SECRET])
    assert first == second
    for name in SCENARIO_NAMES:
        if name in REAL_BARS:
            assert first[name] == other[name]  # real bars: the same under any secret
        else:
            assert first[name] != other[name], name
    bars = real_bars()
    shocks = [build_scenario("fee-shock", scenario_seeds(s, JOB_ID)["fee-shock"], bars, "1d").shock for s in (SECRET, OTHER_SECRET)]
    assert shocks[0] != shocks[1]  # the fee shock's size is what its seed draws


def _record(seeds: dict[str, str]) -> dict:
    spec = parse_spec(DAILY)
    return {"job_id": JOB_ID, "spec": spec.model_dump(mode="json"),
            "pinned": {"scenarios": {"format": "bx-scenario-commitment/1", "commitments": seed_commitments(JOB_ID, seeds)}}}


def test_revealed_seeds_verify_against_the_commitments_and_rebuild_the_bars_a_wrong_seed_is_refused():
    seeds = scenario_seeds(SECRET, JOB_ID)
    record = _record(seeds)
    bars = real_bars()
    audit = pl.DataFrame({"scenario": list(SCENARIO_NAMES),
                          "bars_sha256": [bars_sha256(build_scenario(n, seeds[n], bars, "1d").bars) for n in SCENARIO_NAMES]})
    assert verify_revealed_seeds(record, seeds, bars, audit) == []

    wrong = {**seeds, "crash": scenario_seeds(OTHER_SECRET, JOB_ID)["crash"]}
    problems = verify_revealed_seeds(record, wrong, bars, audit)
    assert len(problems) == 1 and problems[0].startswith("crash: the revealed seed does not match the commitment")
    missing = {k: v for k, v in seeds.items() if k != "outage"}
    assert verify_revealed_seeds(record, missing) == ["outage: no seed revealed"]
    # seeds that match the commitments but bars recorded otherwise (the run used other bars): refused
    tampered = audit.with_columns(bars_sha256=pl.when(pl.col("scenario") == "bar-noise").then(pl.lit("0" * 64)).otherwise("bars_sha256"))
    problems = verify_revealed_seeds(record, seeds, bars, tampered)
    assert len(problems) == 1 and problems[0].startswith("bar-noise: the seed rebuilds bars")
    assert verify_revealed_seeds({"job_id": JOB_ID, "pinned": {}}, seeds) == [f"{JOB_ID} is not a private evaluation: its record holds no scenario commitments"]


def test_a_commitment_reveals_nothing_and_binds_job_and_scenario():
    seeds = scenario_seeds(SECRET, JOB_ID)
    commitments = seed_commitments(JOB_ID, seeds)
    assert len(set(commitments.values())) == 11 and not set(commitments.values()) & set(seeds.values())
    assert seed_commitments("job-ffffffffffffffffffffffff", seeds) != commitments


def scenario_scores(store_path: str) -> list[tuple]:
    """Run in a spawned process: a private evaluation's record and the scores of its strategies on every scenario."""
    from bx_platform.jobs.store import JobStore
    from bx_platform.pipeline.admission import build_record
    from bx_platform.pipeline.private_evaluation import run_private_scenarios

    spec = parse_spec({**DAILY, "strategies": ["bx/buy-and-hold", "bx/momentum"]})
    store = JobStore(f"sqlite:///{store_path}")
    try:
        record = build_record(spec, store)
        run = run_private_scenarios(record, spec, bars_by_market(job_bars(spec, spec.job_id), spec), store)
    finally:
        store.dispose()
    return [tuple(row) for row in run.private_scenarios.drop("job_id").rows()] + [tuple(row) for row in run.scenario_audit.rows()]


def test_same_job_and_secret_give_the_same_scores_in_two_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("BX_SCENARIO_SECRET", SECRET.decode())  # inherited by the spawned processes
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        first, second = pool.map(scenario_scores, [str(tmp_path / "one.sqlite"), str(tmp_path / "two.sqlite")])
    assert len(first) == 3 * 11 + 11 and first == second
