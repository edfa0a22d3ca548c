"""The execution engine (docs/engine.md): one strategy's book over a job's bars, on one of two paths.

- Event path, for any `Strategy`: bar by bar, every `decision_every` bars the strategy gets an `Observation`
  (the last `lookback` closed bars, its book, the clock: read-only views of buffers the compiled loop fills
  bar by bar, so nothing after the decision time is reachable) and answers target weights or None. Each
  call is timed; an answer that breaks the contract stops the strategy at that bar (flag
  `strategy_violation: KIND at TIME`) and flattens it at the next open.
- Fast path, for trusted built-ins (`VectorizedStrategy`): one `target_frame` call for the whole window,
  audited for look-ahead at sampled cut points on every job.
Both paths run the same compiled bar loop (`kernel.run_bars`), so the same decisions give the same fills.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from numbers import Real
from types import MappingProxyType

import numpy as np
import polars as pl

from bx_platform.execution import kernel as k
from bx_platform.execution.fill_model import ExecutionParams, bar_volatility
from bx_platform.market.calendars import TIMEFRAME_SECONDS
from bx_platform.strategies.base import (
    OBSERVED_COLUMNS,
    MarketWindow,
    Observation,
    PortfolioState,
    Strategy,
    StrategyViolation,
    VectorizedStrategy,
)

UTC_TS = pl.Datetime("us", "UTC")
FILL_SCHEMA = {
    "strategy": pl.String,
    "market": pl.String,
    "decision_ts": UTC_TS,  # the close of the bar the decision was made at
    "ts": UTC_TS,  # the open of the bar it filled at
    "side": pl.String,
    "kind": pl.String,  # target | flatten (a halt or a violation)
    "requested_qty": pl.Float64,  # units the order asked for (unsigned)
    "qty": pl.Float64,  # units filled (unsigned)
    "price": pl.Float64,
    "notional": pl.Float64,
    "fee": pl.Float64,
    "spread_cost": pl.Float64,  # qty x |quote - mid|
    "slippage_cost": pl.Float64,  # qty x |price - quote|: flat slippage and impact
}
EQUITY_COLUMNS = ("equity", "cash", "gross_exposure", "net_exposure", "max_position_weight")
EVENT_REASONS = {
    k.CLIP_POSITION: "clip_max_position_per_market",
    k.CLIP_GROSS: "clip_max_gross_leverage",
    k.CLIP_NET: "clip_max_net_leverage",
    k.CLIP_BUDGET: "clip_budget",
    k.REJECT_NO_CASH: "rejected_no_cash",
    k.CARRIED_PARTIAL: "partial_fill_carried",
}
HALT_FLAGS = {k.REASON_DRAWDOWN: "halted_drawdown", k.REASON_DAILY_LOSS: "halted_daily_loss"}
AUDIT_CUTS = 5


@dataclass(frozen=True)
class MarketData:
    """A job's bars on one grid, as the arrays the kernel reads (bars x markets), plus the observed columns
    (rows x bars, market after market) that the event path copies into a strategy's view bar by bar."""

    keys: list[str]
    ts: np.ndarray  # datetime64[us] bar open times
    bar_seconds: int
    opens: np.ndarray
    closes: np.ndarray
    day_of_bar: np.ndarray  # UTC day number of each bar
    observed: dict[str, tuple[tuple[str, ...], int]]  # key -> (column names, its first row in observed_rows)
    observed_rows: np.ndarray  # one row per market and observed column, one column per bar
    frames: dict[str, pl.DataFrame]
    # the kernel's market block (kernel.M_* fields x bars x markets): open, close, the bid a sell fills at and the
    # ask a buy fills at, volume, the volatility known at the open, the funding rate charged at the close, the day
    packed: np.ndarray

    @property
    def n_bars(self) -> int:
        return self.ts.shape[0]

    def close_time(self, t: int) -> datetime:
        """The decision time of bar t: its close (= its open + one bar), UTC."""
        opened = self.ts[t].astype("datetime64[us]").astype(datetime).replace(tzinfo=timezone.utc)
        return opened + timedelta(seconds=self.bar_seconds)



def market_data(
    bars: Mapping[str, pl.DataFrame], params: ExecutionParams, timeframe: str = "1h",
    funding: Mapping[str, np.ndarray] | None = None,
) -> MarketData:
    """Arrays of the job's bars (one frame per market on one grid, spec order). Buys fill at the ask and sells
    at the bid where the bars carry `ask_open`/`bid_open`; elsewhere at the open ± the market's half spread."""
    keys = list(bars)
    column = lambda name: np.ascontiguousarray(np.column_stack([bars[key][name].to_numpy().astype(float) for key in keys]))
    opens, closes = column("open"), column("close")
    asks, bids = np.empty_like(opens), np.empty_like(opens)
    for m, key in enumerate(keys):
        frame, half = bars[key], params.market(key).half_spread
        quoted = "ask_open" in frame.columns and frame["ask_open"].null_count() == 0 and frame.height > 0
        asks[:, m] = frame["ask_open"].to_numpy() if quoted else opens[:, m] * (1.0 + half)
        bids[:, m] = frame["bid_open"].to_numpy() if quoted else opens[:, m] * (1.0 - half)
    ts = bars[keys[0]]["ts"].dt.replace_time_zone(None).to_numpy().astype("datetime64[us]")
    observed, rows = {}, []
    sources = {"bid": "bid_close", "ask": "ask_close"}
    for key in keys:
        frame = bars[key]
        names = tuple(
            c for c in OBSERVED_COLUMNS
            if sources.get(c, c) in frame.columns and frame[sources.get(c, c)].null_count() == 0
        )
        observed[key] = (names, len(rows))
        rows += [frame[sources.get(c, c)].to_numpy().astype(float) for c in names]
    funding_matrix = np.zeros_like(opens)
    for m, key in enumerate(keys):
        if funding and key in funding:
            funding_matrix[:, m] = funding[key]
    volumes = column("volume")
    sigmas = bar_volatility(opens, column("high"), column("low"), closes)
    day_of_bar = (ts.astype("datetime64[D]").astype(np.int64)).astype(float)
    packed = np.ascontiguousarray(
        np.stack([opens, closes, bids, asks, volumes, sigmas, funding_matrix, np.repeat(day_of_bar[:, None], len(keys), axis=1)])
    )
    return MarketData(
        keys=keys,
        ts=ts,
        bar_seconds=TIMEFRAME_SECONDS[timeframe],
        opens=opens,
        closes=closes,
        day_of_bar=day_of_bar,
        observed=observed,
        observed_rows=np.ascontiguousarray(np.vstack(rows)),
        frames=dict(bars),
        packed=packed,
    )


@dataclass
class SimulationResult:
    strategy: str
    fills: pl.DataFrame
    equity: pl.DataFrame
    events: pl.DataFrame  # clips, rejections and carried partial fills, with reasons
    flags: list[str] = field(default_factory=list)
    latencies_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))  # one per decision call (wall clock)
    path: str = "event"
    financing: float = 0.0
    funding: float = 0.0

    def latency(self, q: float) -> float:
        return float(np.quantile(self.latencies_ms, q)) if self.latencies_ms.size else 0.0

    @property
    def runtime_ms(self) -> float:
        """The p95 per-decision latency (what the eligibility gate reads)."""
        return self.latency(0.95)


class _Book:
    """One strategy's state and output buffers, advanced by the kernel."""

    def __init__(self, data: MarketData, params: ExecutionParams, expected_fills: int = 0):
        n, m = data.opens.shape
        self.data, self.params = data, params
        self.book = np.zeros(k.BOOK_SIZE)
        self.book[k.CASH] = self.book[k.PEAK] = self.book[k.DAY_START] = self.book[k.LAST_EQUITY] = params.initial_capital
        self.book[k.DAY] = data.day_of_bar[0] if n else 0.0
        self.state = np.zeros((k.ORDER_FIELDS, m))
        self.qty = self.state[k.O_QTY]
        self.targets = np.full((n, m), np.nan)
        self.packed_out = np.zeros((k.OUT_FIELDS, n))
        rows = {"equity": k.OUT_EQUITY, "cash": k.OUT_CASH, "gross_exposure": k.OUT_GROSS, "net_exposure": k.OUT_NET, "max_position_weight": k.OUT_LARGEST}
        self.out = {name: self.packed_out[rows[name]] for name in EQUITY_COLUMNS}
        self.fills = np.zeros((k.FILL_COLUMNS, max(64, 4 * m, expected_fills)))
        self.events = np.zeros((max(64, 8 * m), k.EVENT_COLUMNS))
        self.market_params = np.array(
            [[params.market(key).impact_coefficient, _cap(params.market(key).participation_cap)] for key in data.keys]
        ).reshape(m, 2)
        self.scalars = np.zeros(k.SCALARS)
        self.scalars[k.S_FEE] = params.fee_rate
        self.scalars[k.S_SLIPPAGE] = params.slippage_rate
        self.scalars[k.S_FINANCING] = params.financing_daily_rate * data.bar_seconds / 86_400.0
        self.scalars[k.S_CREDIT] = max(params.max_gross_leverage - 1.0, 0.0)
        self.scalars[k.S_LATENCY] = params.latency_bars
        self.scalars[k.S_MAX_POSITION] = params.max_position_per_market
        self.scalars[k.S_MAX_GROSS] = params.max_gross_leverage
        self.scalars[k.S_MAX_NET] = params.max_net_leverage
        self.scalars[k.S_HALT_DD] = params.halt_drawdown
        self.scalars[k.S_DAILY_LOSS] = params.max_daily_loss
        self.view: _View | None = None  # the event path's point-in-time buffers

    @property
    def n_fills(self) -> int:
        return int(self.book[k.N_FILLS])

    @property
    def n_events(self) -> int:
        return int(self.book[k.N_EVENTS])

    def decision_bars(self, t_from: int, t_to: int, every: int):
        """Run bars [t_from, t_to), yielding each bar whose close a decision is due at (`every` > 0; see
        `kernel.run_bars`), and growing the record buffers whenever the kernel asks for room."""
        view = self.view or _NO_VIEW
        while t_from < t_to:
            for t in k.run_bars(
                t_from, t_to, every, self.data.packed, self.targets, self.market_params, self.scalars, self.book,
                self.state, self.packed_out, self.fills, self.events, view.source, view.values, view.source_ts, view.ts_us,
            ):
                if t < 0:  # grow both buffers fourfold (few regrowths even for a fill on every bar)
                    self.fills = np.concatenate([self.fills, np.zeros((k.FILL_COLUMNS, 3 * self.fills.shape[1]))], axis=1)
                    self.events = np.concatenate([self.events, np.zeros((3 * len(self.events), k.EVENT_COLUMNS))])
                    t_from = -t - 1
                    break
                yield t
            else:
                return

    def advance(self, t_from: int, t_to: int) -> None:
        """Run bars [t_from, t_to) on the targets already given."""
        for _ in self.decision_bars(t_from, t_to, 0):
            pass

    def stop(self, t: int) -> None:
        """A violation at bar t's decision: flatten at the next open, decide no more."""
        if self.book[k.HALT] == k.RUNNING:
            self.book[k.HALT] = k.HALT_ASKED
            self.book[k.HALT_BAR] = t
            self.book[k.HALT_REASON] = k.REASON_VIOLATION


def _cap(cap: float | None) -> float:
    return math.nan if cap is None else float(cap)


class _View:
    """What one strategy on the event path may see, filled by the kernel (`kernel.run_bars`): each market's
    observed columns and the bar times once the bar has closed, and its own book at each decision. At a
    decision the buffers hold nothing later, and what is written never changes, so windows are (read-only)
    views of them: a kept window shows the same bars forever, and nothing reachable from an observation holds
    a bar after its decision time. Zero-filled, never uninitialized memory (which could hold an earlier run's
    bars)."""

    def __init__(self, data: MarketData, lookback: int, timeframe: str):
        self.keys = data.keys
        self.layout = {key: (names, first, first + names.index("close")) for key, (names, first) in data.observed.items()}
        self.lookback, self.timeframe = max(lookback, 1), timeframe
        self.bar = timedelta(seconds=data.bar_seconds)
        self.source, self.source_ts = data.observed_rows, data.ts.view(np.int64)
        self.book_row = len(self.source)  # the book's rows follow the observed ones
        self.values = np.zeros((self.book_row + k.SEEN_FIELDS + len(self.keys), data.n_bars))
        self.ts_us = np.zeros_like(self.source_ts)
        self.readable = self.values.view()
        self.readable.flags.writeable = False
        self.ts = self.ts_us.view("datetime64[us]")
        self.ts.flags.writeable = False

    def windows(self, t: int) -> dict[str, MarketWindow]:
        lo = max(0, t - self.lookback + 1)
        ts = self.ts[lo : t + 1]
        return {
            key: MarketWindow(ts, _Columns(names, self.readable[first : first + len(names), lo : t + 1]))
            for key, (names, first, _) in self.layout.items()
        }

    def portfolio(self, t: int) -> PortfolioState:
        """The book at decision bar t's close (written by the kernel at that decision)."""
        cash, equity, gross, net, *units = self.values[self.book_row :, t].tolist()
        closes = [self.values.item(close, t) for _, _, close in self.layout.values()]
        return PortfolioState(
            cash,
            equity,
            dict(zip(self.keys, units)),
            {key: u * c / equity for key, u, c in zip(self.keys, units, closes)},
            gross,
            net,
        )


class _NoView:
    """The fast path's empty point-in-time buffers."""

    source = values = np.zeros((0, 0))
    source_ts = ts_us = np.zeros(0, dtype=np.int64)


_NO_VIEW = _NoView()


class _Columns(Mapping):
    """A window's columns by name: rows of its block (views cut when a strategy reads a column)."""

    __slots__ = ("_names", "_block")

    def __init__(self, names: tuple[str, ...], block: np.ndarray):
        self._names, self._block = names, block

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        return self._block[self._names.index(name)]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _PointInTimeObservation(Observation):
    """The engine's observation at bar t's close: the clock, the windows and the portfolio are made from the
    strategy's `_View` on first use (a strategy that reads only the closes pays for nothing else). Its fields
    are read-only properties (they shadow the dataclass's slots, which stay empty)."""

    __slots__ = ("_view", "_t", "_time", "_windows", "_state")
    __setattr__ = object.__setattr__  # for the private slots; the public fields have no setter

    def __init__(self, view: _View, t: int):
        self._view, self._t = view, t

    bar_index = property(lambda self: self._t)
    timeframe = property(lambda self: self._view.timeframe)
    extra = property(lambda self: _NO_EXTRA)

    @property
    def decision_time(self) -> datetime:
        try:
            return self._time
        except AttributeError:  # first use
            self._time = self._view.ts[self._t].item().replace(tzinfo=timezone.utc) + self._view.bar
            return self._time

    @property
    def markets(self) -> Mapping[str, MarketWindow]:
        try:
            return self._windows
        except AttributeError:
            self._windows = self._view.windows(self._t)
            return self._windows

    @property
    def portfolio(self) -> PortfolioState:
        try:
            return self._state
        except AttributeError:
            self._state = self._view.portfolio(self._t)
            return self._state


_NO_EXTRA = MappingProxyType({})


def validate_decision(answer: object, columns: Mapping[str, int]) -> dict[int, float] | None:
    """The engine's check of an answer: None, or a mapping of known market keys to finite numbers. Returns
    the weights by market column (`columns`: market key -> column)."""
    if answer is None:
        return None
    if type(answer) is not dict and not isinstance(answer, Mapping):
        raise StrategyViolation("malformed", f"expected a mapping of market to weight, got {type(answer).__name__}")
    out = {}
    for key, weight in answer.items():
        if type(weight) is not float and (not isinstance(weight, Real) or isinstance(weight, bool)) or not isinstance(key, str):
            raise StrategyViolation("malformed", "weights must map market keys (text) to numbers")
        column = columns.get(key)
        if column is None:
            raise StrategyViolation("unknown_market", f"{key!r} is not a market of this job")
        if not math.isfinite(weight):
            raise StrategyViolation("non_finite", f"{key}: {weight!r}")
        out[column] = float(weight)
    return out


def violation_flag(kind: str, when: datetime) -> str:
    return f"strategy_violation: {kind} at {when.strftime('%Y-%m-%dT%H:%MZ')}"


def run_event_path(strategy: Strategy, data: MarketData, params: ExecutionParams, timeframe: str) -> tuple[_Book, list[str], np.ndarray]:
    """Bar by bar: a decision every `decision_every` bars at the bar's close, the kernel in between (one
    resumed generator per decision, not a compiled call)."""
    book = _Book(data, params)
    view = book.view = _View(data, int(getattr(strategy, "lookback", 1)), timeframe)
    columns = {key: m for m, key in enumerate(data.keys)}
    flags: list[str] = []
    elapsed_ns: list[int] = []
    decide, clock = strategy.decide, time.perf_counter_ns
    targets, width = book.targets.reshape(-1), len(columns)  # a flat view: one index per write
    for t in book.decision_bars(0, data.n_bars, max(1, params.decision_every)):
        obs = _PointInTimeObservation(view, t)
        started = clock()
        failure = None
        try:
            answer = decide(obs)
        except Exception as error:  # an adapter's StrategyViolation, or any failure of the strategy's code
            failure = error.kind if isinstance(error, StrategyViolation) else "exception"
        elapsed_ns.append(clock() - started)
        if failure is None:
            try:
                decision = validate_decision(answer, columns)
            except StrategyViolation as violation:
                failure = violation.kind
        if failure is not None:
            flags.append(violation_flag(failure, obs.decision_time))
            book.stop(t)  # the kernel runs on to the end, flattening at the next open, asking nothing more
        elif decision:
            for m, weight in decision.items():
                targets[t * width + m] = weight
    return book, flags, np.array(elapsed_ns, dtype=float) / 1e6


def target_matrix(strategy: VectorizedStrategy, frames: Mapping[str, pl.DataFrame], keys: list[str]) -> np.ndarray:
    frame = strategy.target_frame(dict(frames))
    return np.ascontiguousarray(np.column_stack([np.asarray(frame[key], dtype=float) for key in keys]).reshape(-1, len(keys)))


def lookahead_cut(full: np.ndarray, strategy: VectorizedStrategy, data: MarketData, seed: int) -> int | None:
    """The first sampled cut point where targets recomputed on bars up to the cut differ from the full-window
    targets up to it (NaN = NaN), or None. Cuts are drawn from a generator seeded by the job and strategy."""
    n = data.n_bars
    if n < 3:
        return None
    rng = np.random.default_rng(seed)
    cuts = sorted({int(c) for c in rng.integers(1, n - 1, size=AUDIT_CUTS)})
    for cut in cuts:
        truncated = {key: frame.head(cut + 1) for key, frame in data.frames.items()}
        part = target_matrix(strategy, truncated, data.keys)
        reference = full[: cut + 1]
        if part.shape != reference.shape or not np.array_equal(part, reference, equal_nan=True):
            return cut
    return None


def run_fast_path(
    strategy: VectorizedStrategy, data: MarketData, params: ExecutionParams, audit_seed: int | None
) -> tuple[_Book, list[str], np.ndarray] | None:
    """The whole window's targets in one call, then the kernel over every bar; None when the look-ahead audit
    fails (the caller then runs the strategy on the event path, which cannot see the future)."""
    started = time.perf_counter_ns()
    targets = target_matrix(strategy, data.frames, data.keys)
    elapsed_ms = (time.perf_counter_ns() - started) / 1e6
    if audit_seed is not None and lookahead_cut(targets, strategy, data, audit_seed) is not None:
        return None
    every = max(1, params.decision_every)
    for first in range(1, every):  # rows off the decision cadence: no decision
        targets[first::every] = np.nan
    targets[-1:] = np.nan  # a decision at the last close could never fill
    n_decisions = max((data.n_bars - 2) // every + 1, 1)
    # room for a fill per change of target (an upper bound: NaN rows count as changes; more room is added if
    # partial fills need it)
    changes = int(np.count_nonzero(targets[1:] != targets[:-1])) + targets.shape[1]
    book = _Book(data, params, expected_fills=changes)
    flags: list[str] = []
    book.targets = targets
    if np.isinf(targets).any():  # a non-finite answer stops the strategy there, as on the event path
        t = int(np.flatnonzero(np.isinf(targets).any(axis=1))[0])
        targets[t:] = np.nan
        book.advance(0, t + 1)
        flags.append(violation_flag("non_finite", data.close_time(t)))
        book.stop(t)
        book.advance(t + 1, data.n_bars)
    else:
        book.advance(0, data.n_bars)
    return book, flags, np.full(n_decisions, elapsed_ms / n_decisions)  # one vectorized call, amortized per decision


def simulate(
    strategy: Strategy,
    bars: Mapping[str, pl.DataFrame] | MarketData,
    params: ExecutionParams,
    *,
    timeframe: str = "1h",
    audit_seed: int | None = 0,
    path: str = "auto",
) -> SimulationResult:
    """Run one strategy over a job's bars. `path`: "auto" (fast for a VectorizedStrategy, else event),
    "event" or "fast". `audit_seed` seeds the look-ahead audit's cut points (None: no audit)."""
    data = bars if isinstance(bars, MarketData) else market_data(bars, params, timeframe)
    flags: list[str] = []
    used = "event"
    if path in ("auto", "fast") and isinstance(strategy, VectorizedStrategy):
        fast = run_fast_path(strategy, data, params, audit_seed)
        if fast is None:
            flags.append("lookahead_detected")
        else:
            used = "fast"
            book, more, latencies = fast
    if used == "event":
        book, more, latencies = run_event_path(strategy, data, params, timeframe)
    flags += more
    if book.book[k.HALT_REASON] in HALT_FLAGS:
        flags.append(f"{HALT_FLAGS[book.book[k.HALT_REASON]]} at {data.close_time(int(book.book[k.HALT_BAR])).strftime('%Y-%m-%dT%H:%MZ')}")
    return SimulationResult(
        strategy=strategy.handle,
        fills=_fills_frame(book, data, strategy.handle),
        equity=pl.DataFrame({"ts": data.frames[data.keys[0]]["ts"], **book.out}),
        events=_events_frame(book, data),
        flags=flags,
        latencies_ms=np.asarray(latencies, dtype=float),
        path=used,
        financing=float(book.book[k.FINANCING]),
        funding=float(book.book[k.FUNDING]),
    )


def _keys(data: MarketData, index: np.ndarray) -> pl.Series:
    return pl.Series(data.keys, dtype=pl.String).gather(index.astype(np.int64))


def _fills_frame(book: _Book, data: MarketData, handle: str) -> pl.DataFrame:
    rows = book.fills[:, : book.n_fills]  # one contiguous row per field
    bar = rows[k.F_BAR].astype(np.int64)
    decided = rows[k.F_DECIDED].astype(np.int64)
    qty = np.abs(rows[k.F_QTY])
    step = np.timedelta64(data.bar_seconds, "s")
    return pl.DataFrame(
        {
            "strategy": pl.repeat(handle, rows.shape[1], eager=True, dtype=pl.String),
            "market": _keys(data, rows[k.F_MARKET]),
            "decision_ts": (data.ts[decided] + step).astype("datetime64[us]"),
            "ts": data.ts[bar],
            "side": pl.Series(["sell", "buy"], dtype=pl.String).gather((rows[k.F_QTY] > 0).astype(np.int64)),
            "kind": pl.Series(["target", "flatten"], dtype=pl.String).gather(rows[k.F_KIND].astype(np.int64)),
            "requested_qty": np.abs(rows[k.F_REQUESTED]),
            "qty": qty,
            "price": rows[k.F_PRICE],
            "notional": qty * rows[k.F_PRICE],
            "fee": rows[k.F_FEE],
            "spread_cost": rows[k.F_SPREAD],
            "slippage_cost": rows[k.F_SLIPPAGE],
        }
    ).with_columns(pl.col("decision_ts", "ts").dt.replace_time_zone("UTC")).cast(FILL_SCHEMA)


def _events_frame(book: _Book, data: MarketData) -> pl.DataFrame:
    rows = book.events[: book.n_events]
    reasons = pl.Series([EVENT_REASONS[r] for r in sorted(EVENT_REASONS)], dtype=pl.String)
    return pl.DataFrame(
        {
            "ts": pl.Series(data.ts[rows[:, k.E_BAR].astype(np.int64)], dtype=pl.Datetime("us")),
            "market": _keys(data, rows[:, k.E_MARKET]),
            "reason": reasons.gather(rows[:, k.E_REASON].astype(np.int64)),
            "wanted": rows[:, k.E_WANTED],
            "allowed": rows[:, k.E_ALLOWED],
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
