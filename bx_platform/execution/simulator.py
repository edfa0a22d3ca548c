"""The first execution engine: bar-by-bar portfolio simulation of target weights.

Rules (docs/conventions.md, "Execution"):
- a target decided at bar t's close fills at bar t+1's open, at open x (1 +/- slippage), paying the fee on
  the filled notional;
- the portfolio trades only when a target changes (no rebalancing on drift);
- a buy is sized so that notional plus fee equals the value to add, so a fully invested long never borrows;
- targets are clipped to the job's capital constraints (per-market cap, then gross and net leverage);
- when the drawdown from the equity peak reaches the risk profile's halt level, the strategy is liquidated at
  the next open and trades no more (flagged `halted_drawdown`);
- a target that is not a finite number counts as flat (flagged `non_finite_targets`);
- equity is marked at each bar's close: cash + sum(quantity x close).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from bx_platform.strategies.base import Strategy

FILL_SCHEMA = {
    "strategy": pl.String,
    "market": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "side": pl.String,
    "qty": pl.Float64,
    "price": pl.Float64,
    "notional": pl.Float64,
    "fee": pl.Float64,
    "slippage_cost": pl.Float64,
}


@dataclass(frozen=True)
class ExecutionParams:
    initial_capital: float
    fee_rate: float
    slippage_rate: float
    max_position_per_market: float
    max_gross_leverage: float
    max_net_leverage: float
    halt_drawdown: float


@dataclass
class SimulationResult:
    strategy: str
    fills: pl.DataFrame
    equity: pl.DataFrame
    flags: list[str] = field(default_factory=list)
    runtime_ms: float = 0.0


def clip_targets(weights: np.ndarray, params: ExecutionParams) -> np.ndarray:
    """Clip a (bars x markets) weight matrix to the per-market cap, then scale to the gross and net caps."""
    clipped = np.clip(np.nan_to_num(weights, nan=0.0), -params.max_position_per_market, params.max_position_per_market)
    gross = np.abs(clipped).sum(axis=1, keepdims=True)
    clipped = clipped * np.minimum(1.0, params.max_gross_leverage / np.where(gross > 0, gross, 1.0))
    net = np.abs(clipped.sum(axis=1, keepdims=True))
    return clipped * np.minimum(1.0, params.max_net_leverage / np.where(net > 0, net, 1.0))


def simulate(strategy: Strategy, bars: dict[str, pl.DataFrame], params: ExecutionParams) -> SimulationResult:
    """Run one strategy over bars that share one timestamp grid (dict order = market order)."""
    keys = list(bars)
    ts = bars[keys[0]]["ts"]
    opens = np.column_stack([bars[k]["open"].to_numpy() for k in keys])
    closes = np.column_stack([bars[k]["close"].to_numpy() for k in keys])

    started = time.perf_counter()
    decided = strategy.target_weights(bars)
    runtime_ms = (time.perf_counter() - started) * 1000.0
    decided_matrix = np.column_stack([np.asarray(decided[k], dtype=float) for k in keys])
    # a target that is not a number is treated as flat, and the strategy is flagged for it
    flags = [] if np.isfinite(decided_matrix).all() else ["non_finite_targets"]
    targets = clip_targets(decided_matrix, params)

    n_bars, n_markets = closes.shape
    qty = np.zeros(n_markets)
    cash = params.initial_capital
    held = np.zeros(n_markets)  # the target currently held, to trade only on changes
    peak = params.initial_capital
    halted = False
    fills: list[tuple] = []
    equity = np.empty(n_bars)
    gross = np.empty(n_bars)
    net = np.empty(n_bars)
    largest = np.empty(n_bars)

    for t in range(n_bars):
        if t > 0:
            wanted = np.zeros(n_markets) if halted else targets[t - 1]
            if not np.array_equal(wanted, held):
                cash = _rebalance(t, wanted, qty, cash, opens[t], params, keys, ts, strategy.handle, fills)
                held = wanted.copy()
        values = qty * closes[t]
        equity[t] = cash + values.sum()
        gross[t] = np.abs(values).sum() / equity[t]
        net[t] = values.sum() / equity[t]
        largest[t] = np.abs(values).max() / equity[t]
        peak = max(peak, equity[t])
        if not halted and 1.0 - equity[t] / peak >= params.halt_drawdown:
            halted = True

    fills_frame = pl.DataFrame(fills, schema=FILL_SCHEMA, orient="row")
    equity_frame = pl.DataFrame(
        {"ts": ts, "equity": equity, "gross_exposure": gross, "net_exposure": net, "max_position_weight": largest}
    )
    return SimulationResult(
        strategy=strategy.handle,
        fills=fills_frame,
        equity=equity_frame,
        flags=flags + (["halted_drawdown"] if halted else []),
        runtime_ms=runtime_ms,
    )


def _rebalance(t, wanted, qty, cash, opens, params, keys, ts, handle, fills) -> float:
    """Trade every market towards `wanted` at bar t's open; mutates `qty`, returns the new cash."""
    equity_at_open = cash + float((qty * opens).sum())
    for m, key in enumerate(keys):
        if wanted[m] == 0.0:  # close exactly, leaving no rounding residue
            delta_units = -qty[m]
        else:
            delta_units = (wanted[m] * equity_at_open - qty[m] * opens[m]) / opens[m]
        if abs(delta_units * opens[m]) < 1e-9 * max(equity_at_open, 1.0):
            continue
        side = "buy" if delta_units > 0 else "sell"
        price = opens[m] * (1.0 + params.slippage_rate if side == "buy" else 1.0 - params.slippage_rate)
        if side == "buy":
            # covering a short buys back exactly the units owed; the part that opens or adds to a long is
            # sized so that notional + fee equals the value to add, so a fully invested long never borrows
            cover = min(delta_units, max(-qty[m], 0.0))
            long_notional = (delta_units - cover) * opens[m] / (1.0 + params.fee_rate)
            traded = cover + long_notional / price
        else:
            traded = -delta_units
        notional = traded * price
        fee = notional * params.fee_rate
        slippage_cost = traded * abs(price - opens[m])
        qty[m] += traded if side == "buy" else -traded
        cash += -notional - fee if side == "buy" else notional - fee
        fills.append((handle, key, ts[t], side, traded, price, notional, fee, slippage_cost))
    return cash
