"""Market context of a job (recorded with every score) and per-bar market regimes.

Bars frame columns: ``ts`` (Datetime UTC), ``open, high, low, close, volume`` (volume in base units), and
optionally ``market``. When several markets are present, pass ``market=`` to choose one; otherwise the
first market in sort order (the principal market should be passed by the caller) is used.

Context (whole window, one market):
- volatility: annualized realized volatility = std(log close-to-close returns, ddof=1)·√ppy, labelled
  with fixed thresholds per asset class (VOL_THRESHOLDS): below ``low`` → "low", above ``high`` → "high",
  otherwise "normal".
- liquidity: median quote volume per bar = median(volume·close); labelled on the daily equivalent
  (median per bar × bars per day, bars per day = ppy / trading days per year of the asset class) with
  LIQUIDITY_THRESHOLDS_USD: below 1e6 → "low", at or above 1e8 → "high", else "normal"; "unknown" when the
  venue publishes no volume (all zero, as OANDA FX quotes).
- trend vs range: mean over the window of the rolling efficiency ratio ER = |C_t − C_{t−w}| / Σ|ΔC| over
  w = 20 bars; ER ≥ 0.3 → "trend", else "range" (a random walk gives about 0.18).
- funding: mean funding rate per funding interval when a funding frame (``ts, rate``) is given, else None.

Per-bar regimes (:func:`label_regimes`), used by the regime-sensitivity metric:
- ``vol_regime``: "high" when the rolling realized volatility over w bars is above its median over the
  window, else "low" (a relative split, so both labels occur in any window);
- ``trend_regime``: "trend" when the rolling ER over w bars is ≥ 0.3, else "range".
The first bars, before a full window, use the expanding window (at least 2 returns); the very first bar
(no return yet) takes the label of the second.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

__all__ = [
    "VOL_THRESHOLDS",
    "LIQUIDITY_THRESHOLDS_USD",
    "TRADING_DAYS",
    "TREND_ER_THRESHOLD",
    "REGIME_WINDOW",
    "market_context",
    "label_regimes",
]

# annualized realized volatility: (low below, high above)
VOL_THRESHOLDS: dict[str, tuple[float, float]] = {
    "crypto": (0.40, 0.80),
    "equity": (0.15, 0.35),
    "fx": (0.06, 0.12),
}
TRADING_DAYS: dict[str, float] = {"crypto": 365.0, "equity": 252.0, "fx": 260.0}
LIQUIDITY_THRESHOLDS_USD: tuple[float, float] = (1.0e6, 1.0e8)
TREND_ER_THRESHOLD = 0.3
REGIME_WINDOW = 20


def _one_market(bars: pl.DataFrame, market: str | None) -> pl.DataFrame:
    if "market" in bars.columns:
        if market is None:
            markets = bars["market"].unique().sort()
            if markets.len() == 0:
                return bars
            market = markets[0]
        bars = bars.filter(pl.col("market") == market)
    return bars.sort("ts")


def _efficiency_ratio(close: pl.Expr, window: int) -> pl.Expr:
    move = (close - close.shift(window)).abs()
    path = close.diff().abs().rolling_sum(window, min_samples=1)
    # expanding ER before a full window: distance from the first close
    move = pl.when(move.is_null()).then((close - close.first()).abs()).otherwise(move)
    return pl.when(path > 0).then(move / path).otherwise(0.0)


def market_context(
    bars: pl.DataFrame,
    periods_per_year: float,
    asset_class: str = "crypto",
    funding: pl.DataFrame | None = None,
    market: str | None = None,
) -> dict:
    """Market context of one market over the window; see the module docstring for definitions.

    Returns ``{"market", "asset_class", "realized_vol", "vol_regime", "median_quote_volume",
    "liquidity", "efficiency_ratio", "trend_regime", "funding_rate_mean", "funding_observations"}``
    (funding values None without a funding frame)."""
    if asset_class not in VOL_THRESHOLDS:
        raise ValueError(f"unknown asset_class {asset_class!r}; expected one of {sorted(VOL_THRESHOLDS)}")
    b = _one_market(bars, market)
    close = b["close"].cast(pl.Float64).to_numpy()
    if close.shape[0] >= 3:
        lr = np.diff(np.log(close))
        vol = float(np.std(lr, ddof=1) * math.sqrt(periods_per_year))
    else:
        vol = math.nan
    lo, hi = VOL_THRESHOLDS[asset_class]
    vol_label = "unknown" if not math.isfinite(vol) else ("low" if vol < lo else "high" if vol > hi else "normal")

    if "volume" in b.columns and b.height:
        qv = (b["volume"].cast(pl.Float64) * b["close"].cast(pl.Float64)).fill_null(0.0)
        median_qv = float(qv.median())
        if float(qv.abs().sum()) == 0.0:
            liq = "unknown"
        else:
            per_day = median_qv * periods_per_year / TRADING_DAYS[asset_class]
            liq = "low" if per_day < LIQUIDITY_THRESHOLDS_USD[0] else (
                "high" if per_day >= LIQUIDITY_THRESHOLDS_USD[1] else "normal")
    else:
        median_qv, liq = math.nan, "unknown"

    if b.height >= 2:
        er = float(b.select(_efficiency_ratio(pl.col("close").cast(pl.Float64), REGIME_WINDOW).slice(1).mean()).item())
    else:
        er = math.nan
    trend = "unknown" if not math.isfinite(er) else ("trend" if er >= TREND_ER_THRESHOLD else "range")

    if funding is not None and funding.height:
        rate_col = "rate" if "rate" in funding.columns else funding.columns[-1]
        f_mean, f_n = float(funding[rate_col].cast(pl.Float64).mean()), int(funding.height)
    else:
        f_mean, f_n = None, None if funding is None else 0

    return {
        "market": (b["market"][0] if "market" in b.columns and b.height else market),
        "asset_class": asset_class,
        "realized_vol": vol,
        "vol_regime": vol_label,
        "median_quote_volume": median_qv,
        "liquidity": liq,
        "efficiency_ratio": er,
        "trend_regime": trend,
        "funding_rate_mean": f_mean,
        "funding_observations": f_n,
    }


def label_regimes(bars: pl.DataFrame, window: int = REGIME_WINDOW, market: str | None = None) -> pl.DataFrame:
    """Per-bar regime labels ``ts, vol_regime ("high"/"low"), trend_regime ("trend"/"range")`` of one
    market; see the module docstring."""
    b = _one_market(bars, market).select(pl.col("ts"), pl.col("close").cast(pl.Float64))
    if b.height == 0:
        return pl.DataFrame(schema={"ts": b.schema["ts"], "vol_regime": pl.String, "trend_regime": pl.String})
    lr = pl.col("close").log().diff()
    idx = pl.int_range(pl.len())
    out = b.with_columns(
        lr.rolling_std(window, min_samples=2).alias("_vol"),
        pl.when(idx == 0).then(None).otherwise(_efficiency_ratio(pl.col("close"), window)).alias("_er"),
    ).with_columns(
        pl.col("_vol").backward_fill().fill_null(0.0),
        pl.col("_er").backward_fill().fill_null(0.0),
    )
    med = out["_vol"].median()
    med = 0.0 if med is None else float(med)
    return out.select(
        "ts",
        pl.when(pl.col("_vol") > med).then(pl.lit("high")).otherwise(pl.lit("low")).alias("vol_regime"),
        pl.when(pl.col("_er") >= TREND_ER_THRESHOLD).then(pl.lit("trend")).otherwise(pl.lit("range"))
        .alias("trend_regime"),
    )
