"""The five perturbation scenarios: transformations of the job's real path that keep its statistical character
(docs/private-evaluation.md, "Perturbations", has each formula). All markets of a job get the same random
choices (the same resampled bars, the same shift, the same factor), so their co-movement survives.

Notation: C_t the closes, r_t = ln(C_t / C_{t-1}) (t = 1..n-1), each bar's shape (ln O/C, ln H/C, ln L/C)."""

from __future__ import annotations

import numpy as np

from bx_platform.scenarios.bars import Bars, column, log_returns, log_shape, rebuild, with_prices

# bootstrap: expected block length from Politis-White on |r| of the first market, clipped to this range
MIN_BLOCK, MAX_BLOCK_SHARE = 5.0, 0.10
NOISE_SHARE = 0.25  # noise: standard deviation of the open and close moves, as a share of the bar's range
MIN_SHIFT_SHARE, MAX_SHIFT_SHARE = 0.10, 0.50  # time shift: bars rotated, as a share of the window
VOL_FACTORS = (0.70, 0.90, 1.10, 1.40)  # vol rescale: k drawn from [0.70, 0.90] or [1.10, 1.40]
DRIFT_RANGE = (-1.0, 1.0)  # drift: the mean return replaced by u times itself, u uniform in this range


def block_bootstrap(bars: Bars, rng: np.random.Generator) -> Bars:
    """Stationary block bootstrap (Politis-Romano, arch's `StationaryBootstrap`) of the bars after the first:
    each resampled bar brings its close-to-close return, its shape and its volume; prices are rebuilt from the
    first close."""
    from arch.bootstrap import StationaryBootstrap, optimal_block_length  # seconds to import: private jobs only

    first = next(iter(bars.values()))
    n = first.height
    block = float(optimal_block_length(np.abs(log_returns(first)))["stationary"].iloc[0])
    block = min(max(block, MIN_BLOCK), max(MIN_BLOCK, MAX_BLOCK_SHARE * n))
    bootstrap = StationaryBootstrap(block, np.arange(1, n), seed=rng)
    rows = next(bootstrap.bootstrap(1))[0][0]
    return {key: _resampled(frame, rows) for key, frame in bars.items()}


def _resampled(frame, rows: np.ndarray):
    """Bars 1..n-1 replaced by the bars `rows` (indices >= 1), bar 0 kept."""
    source = np.concatenate([[0], rows])
    returns = np.concatenate([[0.0], log_returns(frame)])[rows]
    return rebuild(frame, returns, log_shape(frame)[source], source_rows=source)


def bar_noise(bars: Bars, rng: np.random.Generator) -> Bars:
    """Each bar's open and close moved by Normal(0, (NOISE_SHARE x (H - L))^2) noise, clipped to [L, H]: the bar's
    range is kept, the path inside it is not."""
    out = {}
    for key, frame in bars.items():
        o, h, l, c = (column(frame, name) for name in ("open", "high", "low", "close"))
        width = NOISE_SHARE * (h - l)
        moved_open = np.clip(o + width * rng.standard_normal(frame.height), l, h)
        moved_close = np.clip(c + width * rng.standard_normal(frame.height), l, h)
        out[key] = with_prices(frame, moved_open, h, l, moved_close)
    return out


def time_shift(bars: Bars, rng: np.random.Generator) -> Bars:
    """The bars after the first rotated by s bars (s uniform in [10 %, 50 %] of the window): the same returns,
    shapes and volumes in another order of time, rebuilt from the first close."""
    n = next(iter(bars.values())).height
    shift = int(rng.integers(max(1, int(MIN_SHIFT_SHARE * n)), max(2, int(MAX_SHIFT_SHARE * n))))
    rows = np.roll(np.arange(1, n), shift)
    return {key: _resampled(frame, rows) for key, frame in bars.items()}


def volatility_rescale(bars: Bars, rng: np.random.Generator) -> Bars:
    """r'_t = mean(r) + k (r_t - mean(r)) and every shape term times k, k drawn from [0.70, 0.90] or [1.10, 1.40]:
    the same drift, a calmer or a wilder path."""
    low, high = (VOL_FACTORS[0], VOL_FACTORS[1]) if rng.random() < 0.5 else (VOL_FACTORS[2], VOL_FACTORS[3])
    k = float(rng.uniform(low, high))
    out = {}
    for key, frame in bars.items():
        r = log_returns(frame)
        out[key] = rebuild(frame, r.mean() + k * (r - r.mean()), k * log_shape(frame))
    return out


def drift_change(bars: Bars, rng: np.random.Generator) -> Bars:
    """r'_t = r_t - (1 - u) mean(r), u uniform in [-1, 1]: the same fluctuations around a different trend (from
    the window's own trend reversed, u = -1, to unchanged, u = 1)."""
    u = float(rng.uniform(*DRIFT_RANGE))
    out = {}
    for key, frame in bars.items():
        r = log_returns(frame)
        out[key] = rebuild(frame, r - (1.0 - u) * r.mean(), log_shape(frame))
    return out
