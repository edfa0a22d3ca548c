"""Strategy handles: opaque names a job spec refers to; the registry maps them to implementations."""

from __future__ import annotations

from bx_platform.errors import InputError
from bx_platform.strategies.base import Strategy
from bx_platform.strategies.builtins import BuyAndHold, SmaTrend, TimeSeriesMomentum, ZScoreMeanReversion
from bx_platform.strategies.cash import Cash

BENCHMARK_HOLD = BuyAndHold()

_REGISTRY: dict[str, Strategy] = {
    s.handle: s for s in (BENCHMARK_HOLD, SmaTrend(), TimeSeriesMomentum(), ZScoreMeanReversion(), Cash())
}


def known_handles() -> list[str]:
    return sorted(_REGISTRY)


def resolve(handle: str) -> Strategy:
    try:
        return _REGISTRY[handle]
    except KeyError:
        raise InputError("strategies", f"unknown strategy handle {handle!r}; known: {', '.join(known_handles())}") from None
