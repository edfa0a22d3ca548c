"""Checking a strategy's answer against the contract: the one place a decision from outside becomes weights.

Both adapters (the sandboxed package and the remote model) pass what they received through `check_decision`,
so a malformed, non-finite or unknown-market answer is the same `StrategyViolation` whichever side sent it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from numbers import Real

from bx_platform.strategies.base import StrategyViolation


def check_decision(answer: object, markets: Collection[str]) -> dict[str, float] | None:
    """`answer` as target weights per market (None: no change), or StrategyViolation naming what is wrong."""
    if answer is None:
        return None
    if not isinstance(answer, Mapping):
        raise StrategyViolation("malformed", f"weights must be an object of market -> number or null, got {type(answer).__name__}")
    weights = {}
    for market, value in answer.items():
        if not isinstance(market, str) or isinstance(value, bool) or not isinstance(value, Real):
            raise StrategyViolation("malformed", f"weight for {market!r} is not a number: {type(value).__name__}")
        if market not in markets:
            raise StrategyViolation("unknown_market", f"{market!r} is not a market of the job")
        if not math.isfinite(value):
            raise StrategyViolation("non_finite", f"weight for {market!r} is {value}")
        weights[market] = float(value)
    return weights
