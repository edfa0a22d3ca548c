"""`bx/cash`: holds cash and never trades. The room's "did nothing" reference for the inactivity axiom
(docs/scoring.md): its utility is 0, so its beta score is −100·U_hold, and its BX Score is the version's
documented neutral score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from bx_platform.strategies.base import Observation


@dataclass(frozen=True)
class Cash:
    """Weight 0 in every market, always."""

    handle: str = "bx/cash"
    lookback: int = 1

    def target_frame(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        """The whole-window form (the engine's fast path)."""
        return {key: np.zeros(frame.height) for key, frame in bars.items()}

    def decide(self, observation: Observation) -> dict[str, float]:
        """The point-in-time form."""
        return {key: 0.0 for key in observation.markets}
