"""Speed and agreement of the execution engine against vectorbt 1.2, in one process, on the same bars and the
same decisions. Run: ``python bench/engine.py [--bars N] [--markets-bars N] [--event-bars N]``; the 105 M
bar-step case (1 year of minute bars x 10 markets x 20 built-ins) alone: ``python bench/engine.py --full-year``.

Bars: Coinbase BTC/USD hourly from the archive, tiled to size by mirroring the series at each join (forward,
then backward with open and close swapped, ...), so prices stay continuous. Markets of the multi-market case
are the same tiled series started at different offsets.

Both engines get: a target weight decided at bar t's close, filled at bar t+1's open, fee 10 bps on notional,
no other cost (the models coincide: our spread, impact, participation cap and financing set to zero), orders
only where the target changes (vectorbt: `size` NaN elsewhere), `Portfolio.from_orders` with
`size_type="targetpercent"`, `price=open`, cash shared across markets and sells first (`call_seq="auto"`).
Printed: bar-steps per second (bars x markets, best of --repeat, compile apart), the largest relative
difference between the two equity curves over the whole curve, and the peak RSS of the process. Then the event
path (one decision per bar, best of --repeat) on 1 and 10 markets: a trivial in-process strategy (the same
answer every bar, reading nothing), and bx/momentum, which reads its window of closes at every decision.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl

warnings.filterwarnings("ignore")

from bx_platform.execution.fill_model import ExecutionParams  # noqa: E402
from bx_platform.execution.simulator import market_data, simulate  # noqa: E402
from bx_platform.jobs.spec import TIMEFRAME_SECONDS  # noqa: E402
from bx_platform.market.archive import read_bars  # noqa: E402
from bx_platform.strategies.builtins import BuyAndHold, SmaTrend, TimeSeriesMomentum, ZScoreMeanReversion  # noqa: E402

FEE = 0.001
CAPITAL = 100_000.0
PARAMS = ExecutionParams(
    initial_capital=CAPITAL, fee_rate=FEE, slippage_rate=0.0, max_position_per_market=1.0,
    max_gross_leverage=1.0, max_net_leverage=1.0, halt_drawdown=float("inf"),
)


def tiled_bars(n: int, offset: int = 0, symbol: str = "BTC/USD", timeframe: str = "1h") -> pl.DataFrame:
    """n bars of a real Coinbase series, mirrored at each join, starting `offset` bars into the tiling."""
    src = read_bars("coinbase", symbol, timeframe, datetime(2017, 7, 1, tzinfo=timezone.utc), datetime(2019, 10, 18, tzinfo=timezone.utc))
    forward = src.select("open", "high", "low", "close", "volume")
    backward = forward.reverse().select(
        pl.col("close").alias("open"), "high", "low", pl.col("open").alias("close"), "volume"
    )
    pieces, total = [], 0
    while total < n + offset:
        pieces.append(forward if len(pieces) % 2 == 0 else backward)
        total += forward.height
    frame = pl.concat(pieces).slice(offset, n)
    start, step = datetime(2000, 1, 1, tzinfo=timezone.utc), timedelta(seconds=TIMEFRAME_SECONDS[timeframe])
    ts = pl.datetime_range(start, start + (n - 1) * step, step, eager=True, time_zone="UTC")
    return frame.with_columns(ts=ts.dt.cast_time_unit("us")).select("ts", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Given:
    """A fast-path strategy whose target frame is given."""

    targets: dict
    handle: str = "bench/given"
    lookback: int = 1

    def decide(self, observation):
        return {k: float(v[observation.bar_index]) for k, v in self.targets.items()}

    def target_frame(self, bars):
        return self.targets


@dataclass(frozen=True)
class Trivial:
    """The event path's trivial in-process strategy: always the same answer."""

    keys: tuple
    handle: str = "bench/trivial"
    lookback: int = 1

    def decide(self, observation):
        return {k: 0.5 / len(self.keys) for k in self.keys}


def walk(rng, n: int, markets: int, step: float, low: float, high: float) -> np.ndarray:
    """Targets that change on every bar by small steps, reflected into [low, high]: a strategy that trades every
    bar yet keeps its equity over a million bars (full flips at 10 bps would take it to zero, and a full short
    through the 2017 rally below zero)."""
    x = np.mod(np.cumsum(rng.normal(0.0, step, size=(n, markets)), axis=0), 2.0)
    return low + (high - low) * np.where(x > 1.0, 2.0 - x, x)


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def vectorbt_equity(vbt, bars: dict, targets: np.ndarray, engine: str = "numba") -> np.ndarray:
    opens = np.column_stack([f["open"].to_numpy() for f in bars.values()])
    closes = np.column_stack([f["close"].to_numpy() for f in bars.values()])
    filled = np.vstack([np.full((1, targets.shape[1]), np.nan), targets[:-1]])  # decided at t, filled at t+1
    previous = np.vstack([np.zeros((1, targets.shape[1])), filled[:-1]])
    size = np.where(np.nan_to_num(filled) != np.nan_to_num(previous), filled, np.nan)
    size[0] = np.nan
    pf = vbt.Portfolio.from_orders(
        close=closes, size=size, size_type="targetpercent", price=opens, fees=FEE, init_cash=CAPITAL,
        cash_sharing=True, group_by=True, call_seq="auto", freq="1h", engine=engine,
    )
    return np.asarray(pf.value()).reshape(-1)


def case(vbt, name: str, bars: dict, targets: np.ndarray, repeat: int, rust: bool = False) -> None:
    keys = list(bars)
    strategy = Given({k: targets[:, m] for m, k in enumerate(keys)})
    steps = targets.shape[0] * targets.shape[1]
    prepare, data = best_of(lambda: market_data(bars, PARAMS), 1)
    ours, result = best_of(lambda: simulate(strategy, data, PARAMS, audit_seed=None, path="fast"), repeat)
    first = time.perf_counter()
    vbt_equity_first = vectorbt_equity(vbt, bars, targets)
    vbt_first = time.perf_counter() - first
    theirs, vbt_equity_curve = best_of(lambda: vectorbt_equity(vbt, bars, targets), repeat)
    equity = result.equity["equity"].to_numpy()
    diff = np.max(np.abs(equity - vbt_equity_curve) / np.abs(vbt_equity_curve))
    assert np.array_equal(vbt_equity_first, vbt_equity_curve)
    changes = int((np.diff(targets, axis=0) != 0).any(axis=1).sum())
    rust_figure = ""
    if rust:
        vectorbt_equity(vbt, bars, targets, engine="rust")  # first call apart, as for numba
        rust_seconds, rust_curve = best_of(lambda: vectorbt_equity(vbt, bars, targets, engine="rust"), repeat)
        rust_diff = np.max(np.abs(equity - rust_curve) / np.abs(rust_curve))
        rust_figure = f" | vectorbt rust {steps / rust_seconds / 1e6:6.2f} M/s ({rust_seconds:5.2f} s, equity diff {rust_diff:.1e})"
    print(
        f"{name:<34} bars x markets {targets.shape[0]:>9,} x {targets.shape[1]:<2} target changes {changes:>9,}  "
        f"| bx fast path {steps / ours / 1e6:6.2f} M bar-steps/s (simulate {ours:5.2f} s, +bar arrays {prepare:4.2f} s, "
        f"{result.fills.height:,} fills) | vectorbt numba {steps / theirs / 1e6:6.2f} M/s ({theirs:5.2f} s; first call "
        f"{vbt_first:5.2f} s) | max rel equity diff {diff:.1e}{rust_figure}"
    )


def full_year() -> None:
    """1 year of 1-minute bars x 10 markets x 20 built-in strategies (105 M bar-steps), as a job runs them:
    one shared set of bar arrays, each strategy on the fast path with its look-ahead audit."""
    n = 525_600
    started = time.perf_counter()
    symbols = ("BTC/USD", "ETH/USD", "LTC/USD")
    bars = {f"m{i}": tiled_bars(n, offset=97 * i, symbol=symbols[i % 3], timeframe="1m") for i in range(10)}
    data = market_data(bars, PARAMS, "1m")
    prepared = time.perf_counter() - started
    strategies = (
        [BuyAndHold()]
        + [SmaTrend(fast=f, slow=s) for f, s in ((5, 20), (10, 50), (20, 100), (50, 200), (10, 30))]
        + [TimeSeriesMomentum(period=p) for p in (10, 30, 60, 120, 240, 480, 1440)]
        + [ZScoreMeanReversion(window=w, entry=e) for w, e in ((20, 1.5), (20, 2.0), (60, 1.5), (60, 2.0), (120, 1.5), (120, 2.5), (240, 2.0))]
    )
    assert len(strategies) == 20
    for i, strategy in enumerate(strategies):
        result = simulate(strategy, data, PARAMS, timeframe="1m", audit_seed=i)
        assert result.path == "fast", result.flags
    seconds = time.perf_counter() - started
    steps = n * 10 * len(strategies)
    print(
        f"1 year of 1m bars x 10 markets x 20 built-ins: {steps / 1e6:.0f} M bar-steps in {seconds:.0f} s "
        f"({prepared:.0f} s bars), {steps / seconds / 1e6:.2f} M bar-steps/s with the look-ahead audit; peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bars", type=int, default=1_000_000)
    ap.add_argument("--markets-bars", type=int, default=100_000)
    ap.add_argument("--event-bars", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full-year", action="store_true", help="only the 105 M bar-step case")
    args = ap.parse_args()
    if args.full_year:
        return full_year()

    started = time.perf_counter()
    import vectorbt as vbt

    print(f"vectorbt {vbt.__version__} imported in {time.perf_counter() - started:.1f} s; Rust engine: ", end="")
    try:
        import vectorbt_rust  # noqa: F401

        rust = True
        print("installed (timed beside numba)")
    except ImportError:
        rust = False
        print("not installed (pip install vectorbt-rust)")

    tiny = {"m": tiled_bars(300)}
    started = time.perf_counter()
    simulate(Given({"m": np.ones(300)}), tiny, PARAMS, audit_seed=None)
    print(f"bx kernel first call (numba compile or cache load): {time.perf_counter() - started:.2f} s")

    rng = np.random.default_rng(7)
    one = {"coinbase:BTC/USD": tiled_bars(args.bars)}
    rare = np.repeat(np.where(np.arange(args.bars // 1000 + 1) % 2 == 0, 1.0, 0.0), 1000)[: args.bars, None]
    often = walk(rng, args.bars, 1, 0.003, 0.0, 1.0)
    case(vbt, "1 market, target rarely changes", one, rare, args.repeat, rust)
    case(vbt, "1 market, target changes each bar", one, often, args.repeat, rust)
    ten = {f"m{i}": tiled_bars(args.markets_bars, offset=1_777 * i) for i in range(10)}
    weights = walk(rng, args.markets_bars, 10, 0.003, -0.1, 0.1)
    case(vbt, "10 markets, targets change each bar", ten, weights, args.repeat, rust)

    for name, markets, make in (
        ("event path, trivial strategy", 1, Trivial),
        ("event path, trivial strategy", 10, Trivial),
        ("event path, bx/momentum (reads)", 1, lambda keys: TimeSeriesMomentum()),
        ("event path, bx/momentum (reads)", 10, lambda keys: TimeSeriesMomentum()),
    ):
        bars = {f"m{i}": tiled_bars(args.event_bars // markets, offset=1_777 * i) for i in range(markets)}
        data = market_data(bars, PARAMS)
        seconds, result = best_of(lambda: simulate(make(tuple(bars)), data, PARAMS, audit_seed=None, path="event"), args.repeat)
        steps = data.n_bars * markets
        print(
            f"{name:<34} bars x markets {data.n_bars:>9,} x {markets:<2} decisions "
            f"{result.latencies_ms.size:,} | {steps / seconds / 1e3:6.1f} k bar-steps/s ({seconds:.2f} s; decide p50 "
            f"{result.latency(0.5) * 1e3:.1f} us, p95 {result.latency(0.95) * 1e3:.1f} us)"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
