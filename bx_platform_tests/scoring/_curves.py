"""Strategies made from a return series, scored end to end (evaluation + scoring) for the axiom tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
import polars as pl

from bx_platform.evaluation.report import evaluate_sessions
from bx_platform.execution.simulator import FILL_SCHEMA
from bx_platform.scoring.governance import load_score_version
from bx_platform.scoring.room import StrategyInputs, StrategyScore, scenario_utility, score_strategy
from bx_platform_tests.evaluation._data import btc_daily

CAPITAL = 100_000.0
START = datetime(2020, 1, 1, tzinfo=timezone.utc)
V1, V3 = "bx-score-v1", "bx-score-v3"


@lru_cache
def version(name: str):
    return load_score_version(name)


@lru_cache
def real_daily_returns() -> np.ndarray:
    """Coinbase BTC/USD daily close-to-close returns (real archive data)."""
    close = btc_daily()["close"].to_numpy()
    return close[1:] / close[:-1] - 1.0


def strategy_inputs(
    returns, *, entry_fee: float = 0.001, trades: bool = True, sessions: int = 4, flags: tuple[str, ...] = (),
    hold_returns=None, periods_per_year: float = 365.0,
) -> StrategyInputs:
    """A strategy whose daily bars return `returns`: it buys its book (gross 1) at the first bar's open paying
    `entry_fee` of capital, or never trades (`trades=False`, then returns should be 0)."""
    r = np.asarray(returns, dtype=np.float64)
    ts = [START + timedelta(days=i) for i in range(r.shape[0] + 1)]
    paid = 1.0 - entry_fee if trades else 1.0  # the entry's fee leaves the equity, as the engine's fills do
    equity_values = CAPITAL * np.concatenate(([1.0], paid * np.cumprod(1.0 + r)))
    exposure = np.concatenate(([0.0], np.full(r.shape[0], 1.0 if trades else 0.0)))
    equity = pl.DataFrame(
        {"ts": ts, "equity": equity_values, "gross_exposure": exposure, "net_exposure": exposure,
         "max_position_weight": exposure},
        schema={"ts": pl.Datetime("us", "UTC"), "equity": pl.Float64, "gross_exposure": pl.Float64,
                "net_exposure": pl.Float64, "max_position_weight": pl.Float64},
    )
    entry = {"strategy": "s", "market": "m", "decision_ts": ts[0], "ts": ts[0], "side": "buy", "kind": "target",
             "requested_qty": 1.0, "qty": 1.0, "price": CAPITAL, "notional": CAPITAL, "fee": entry_fee * CAPITAL,
             "spread_cost": 0.0, "slippage_cost": 0.0}
    rows = [tuple(entry[name] for name in FILL_SCHEMA)] if trades else []
    fills = pl.DataFrame(rows, schema=FILL_SCHEMA, orient="row")
    bench = None
    if hold_returns is not None:
        bench = equity.with_columns(equity=CAPITAL * pl.Series(np.concatenate(([1.0], np.cumprod(1.0 + np.asarray(hold_returns))))))
    metrics = evaluate_sessions(equity, fills, bench, sessions=sessions, periods_per_year=periods_per_year,
                                max_gross_leverage=1.0, initial_capital=CAPITAL, n_trials=4, sr_variance=1.0 / periods_per_year)
    return StrategyInputs(metrics["window"], metrics["sessions"], equity, fills, 0.0, list(flags))


@dataclass(frozen=True)
class Scored:
    utility: float
    beta: float
    bx: float
    capital: float
    points: dict
    flags: dict


def score(inputs: StrategyInputs, version_name: str, hold: StrategyInputs | None = None) -> Scored:
    """Utility, beta score (against `hold`, or a hold of utility 0), BX Score and CapitalScore of one strategy."""
    v = version(version_name)
    hold_utility = scenario_utility(hold.window, v) if hold is not None else 0.0
    s: StrategyScore = score_strategy("job-axioms", "s", inputs, hold_utility, CAPITAL, 1.0, {}, v)
    return Scored(s.utility, s.beta_score, s.bx.score, s.capital_score, s.bx.normalized, s.bx.flags)
