"""The execution summary of one strategy (docs/engine.md, "Execution summary"): what its orders did and cost.

Deterministic: built from fills, clip and rejection events, and the equity curve, never from the clock."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

EXECUTION_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "job_id": pl.String,
    "organization": pl.String,
    "strategy": pl.String,
    "path": pl.String,  # fast | event
    "orders": pl.Int64,
    "fills": pl.Int64,
    "partial_fills": pl.Int64,  # fills that left part of their order for a later bar
    "clips": pl.String,  # JSON {reason: count}
    "rejections": pl.String,  # JSON {reason: count}
    "fees": pl.Float64,
    "spread_cost": pl.Float64,
    "slippage_cost": pl.Float64,
    "financing": pl.Float64,
    "funding": pl.Float64,
    "turnover": pl.Float64,  # traded notional / initial capital
    "mean_gross_exposure": pl.Float64,
    "max_gross_exposure": pl.Float64,
    "mean_net_exposure": pl.Float64,
    "round_trips": pl.Int64,
    "halted": pl.String,  # the halt or violation flag, empty when it ran to the end
}


def round_trips(fills: pl.DataFrame) -> int:
    """Times a market's position went back to flat or crossed from long to short (or back)."""
    count = 0
    for _, group in fills.sort("ts", maintain_order=True).group_by("market", maintain_order=True):
        signed = np.where(group["side"].to_numpy() == "buy", 1.0, -1.0) * group["qty"].to_numpy()
        position = np.cumsum(signed)
        previous = np.concatenate([[0.0], position[:-1]])
        scale = np.maximum(np.abs(previous), 1e-300)
        closed = (np.abs(position) <= 1e-9 * scale) | (np.sign(position) * np.sign(previous) < 0)
        count += int((closed & (previous != 0.0)).sum())
    return count


def execution_summary(
    strategy: str, path: str, fills: pl.DataFrame, events: pl.DataFrame, equity: pl.DataFrame,
    financing: float, funding: float, initial_capital: float, flags: list[str],
) -> dict:
    """One strategy's execution summary (the store's `execution_summary` row without job and organization)."""
    reasons = events["reason"].value_counts(sort=True).sort("reason") if events.height else None
    counts = dict(zip(reasons["reason"], reasons["count"])) if reasons is not None else {}
    clips = {r: int(n) for r, n in counts.items() if r.startswith("clip_")}
    rejections = {r: int(n) for r, n in counts.items() if r.startswith("rejected_")}
    orders = fills.select("market", "decision_ts", "kind").unique().height if fills.height else 0
    gross = equity["gross_exposure"]
    halted = [f for f in flags if f.startswith(("halted_", "strategy_violation"))]
    return {
        "strategy": strategy,
        "path": path,
        "orders": orders + sum(rejections.values()),
        "fills": fills.height,
        "partial_fills": int(counts.get("partial_fill_carried", 0)),
        "clips": json.dumps(clips, sort_keys=True),
        "rejections": json.dumps(rejections, sort_keys=True),
        "fees": float(fills["fee"].sum()),
        "spread_cost": float(fills["spread_cost"].sum()),
        "slippage_cost": float(fills["slippage_cost"].sum()),
        "financing": financing,
        "funding": funding,
        "turnover": float(fills["notional"].sum()) / initial_capital,
        "mean_gross_exposure": float(gross.mean()),
        "max_gross_exposure": float(gross.max()),
        "mean_net_exposure": float(equity["net_exposure"].mean()),
        "round_trips": round_trips(fills) if fills.height else 0,
        "halted": halted[0] if halted else "",
    }


def summary_document(row: dict) -> dict:
    """The result document's `execution` section of one strategy: the row with its JSON fields parsed."""
    out = {k: v for k, v in row.items() if k not in ("job_id", "organization", "strategy")}
    out["clips"] = json.loads(out["clips"])
    out["rejections"] = json.loads(out["rejections"])
    return out
