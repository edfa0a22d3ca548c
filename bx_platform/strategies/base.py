"""The strategy interface. The engine sees only this: a handle and target weights per bar.

A strategy reads each market's bars and returns, for every bar t, the target weight (signed fraction of
equity) it wants once bar t has closed. The engine fills that target at bar t+1's open, so a strategy can use
bar t's close without looking ahead. Every built-in computes its weights with causal rolling windows only.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import polars as pl


class Strategy(Protocol):
    handle: str

    def target_weights(self, bars: dict[str, pl.DataFrame]) -> dict[str, np.ndarray]:
        """Per market key, one target weight per bar (decided at that bar's close)."""
        ...
