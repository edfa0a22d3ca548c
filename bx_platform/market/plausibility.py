"""Plausibility of market bars: the price levels and bar-to-bar moves a real market of each class can show.

The quality gate (bx_platform/quality.py) turns these bounds into expectations, so a bar no market could print
(a price of 1e300 or infinity, a decimal point shifted, a price quoted in the wrong unit) is quarantined
instead of being traded, scored and published. The rule, its figures and their reasons: docs/data.md,
"Plausibility".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

PRICE_COLUMNS = ("open", "high", "low", "close")
# The column the gate checks: the largest |ln(price / previous close)| over the bar's open and close.
MOVE = "log_move_from_previous_close"


@dataclass(frozen=True)
class Bounds:
    """What a bar of one asset class may show. Prices in the quote currency; moves as |natural log| ratios."""

    min_price: float
    max_price: float
    max_move: float  # of open and close against the previous bar's close
    max_volume: float = 1e18  # any finite volume a market reports is below this


BOUNDS: dict[str, Bounds] = {
    # a tenfold rise or a 90 % fall in one bar; prices from a fraction of a millionth of a dollar (tokens)
    # to ten million (100x bitcoin's high)
    "crypto": Bounds(min_price=1e-9, max_price=1e7, max_move=math.log(10)),
    # a fivefold rise or an 80 % fall in one bar (the archive's largest: AAPL -52 %, 2000-09-29); back-
    # adjusted prices of early years are small, a Berkshire A share is under a million
    "equity": Bounds(min_price=1e-4, max_price=1e7, max_move=math.log(5)),
    # a doubling or halving in one bar (the largest recent major move: EUR/CHF -30 % on 2015-01-15);
    # exchange rates from a millionth to a million units of the quote currency
    "fx": Bounds(min_price=1e-6, max_price=1e6, max_move=math.log(2)),
}


def bounds_for(asset_class: str) -> Bounds:
    try:
        return BOUNDS[asset_class]
    except KeyError:
        raise ValueError(f"no plausibility bounds for asset class {asset_class!r}; known: {', '.join(BOUNDS)}") from None


def with_moves(bars: pl.DataFrame) -> pl.DataFrame:
    """The bars with their move from the previous row's close (0 for a market's first bar), per market when
    the frame holds several (a `market` column). The move is in natural-log units and never negative. Rows
    keep their order: bars out of time order are the gate's to find, not to hide."""
    previous = pl.col("close").shift(1)
    if "market" in bars.columns:
        previous = previous.over("market")
    return bars.with_columns(
        pl.max_horizontal(*[(pl.col(c) / previous).log().abs() for c in ("open", "close")]).fill_null(0.0).alias(MOVE)
    )
