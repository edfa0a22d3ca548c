"""The helper process of a one-off command (bx_platform/helper_process.py), a real child process: what it
computes is what this process computes, its errors are raised here, and a helper that dies leaves this
process computing by itself."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from bx_platform.defs.quality import execution_suite, market_gate, run_gate, validate
from bx_platform.helper_process import helper_process, offload
from bx_platform.market.archive import read_bars
from bx_platform.scoring.tiers import mcs_tiers

FIRST = ("great_expectations", "bx_platform.defs.quality")


def _doctored_bars() -> pl.DataFrame:
    """A month of real Coinbase BTC/USD hourly bars in which one bar's high is below its low."""
    bars = read_bars("coinbase", "BTC/USD", "1h", datetime(2018, 1, 1, tzinfo=timezone.utc), datetime(2018, 2, 1, tzinfo=timezone.utc))
    return bars.with_columns(market=pl.lit("m"), high=pl.when(pl.int_range(pl.len()) == 100).then(1.0).otherwise(pl.col("high")))


def _equity(broken: str | None = None) -> pl.DataFrame:
    rows = 50
    frames = [
        pl.DataFrame({"strategy": name, "equity": np.linspace(100.0, 120.0, rows), "gross_exposure": 1.0, "cash": 0.0})
        for name in ("a", "b", "c")
    ]
    frame = pl.concat(frames)
    if broken:
        frame = frame.with_columns(equity=pl.when((pl.col("strategy") == broken) & (pl.int_range(pl.len()).over("strategy") == 20)).then(-1.0).otherwise(pl.col("equity")))
    return frame


def test_a_gate_validated_in_the_helper_is_the_gate_validated_here():
    bars = _doctored_bars()
    here = market_gate(bars, {"m": "crypto"})
    assert not here.success and here.failed_expectations
    with helper_process(FIRST):
        there = market_gate(bars, {"m": "crypto"})
        losses = {"a": np.sin(np.arange(60.0)), "b": np.cos(np.arange(60.0)), "c": np.zeros(60)}
        assert offload(mcs_tiers, losses, 7) == mcs_tiers(losses, 7)
    assert there == here


def test_a_row_wise_suite_is_validated_once_and_split_by_group_only_to_name_a_failure():
    passing = validate("equity", _equity(), group_by="strategy")
    assert passing.success and passing.evaluated == 3 * len(execution_suite())
    failing = validate("equity", _equity(broken="c"), group_by="strategy")
    assert [(f["column"], f["group"], f["unexpected_count"]) for f in failing.failures] == [("equity", "c", 1)]
    assert failing.evaluated == 3 * len(execution_suite())


def test_an_error_raised_in_the_helper_is_raised_here():
    with helper_process(FIRST):
        with pytest.raises(KeyError, match="no-such-gate"):
            run_gate("no-such-gate", _equity())


def test_when_the_helper_dies_this_process_computes_by_itself():
    with helper_process(FIRST) as child:
        child.kill()
        child.wait()
        gate = run_gate("equity", _equity(broken="b"), group_by="strategy")
    assert [f["group"] for f in gate.failures] == ["b"]
