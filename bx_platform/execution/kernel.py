"""The compiled bar loop both execution paths share (docs/engine.md).

`run_bars` advances one strategy's book over bars [t_from, t_to): at each bar's open it turns the decision
due then into orders (clipped to the risk caps), fills pending orders under the fill model (spread, impact,
participation cap, the cash budget), then at the close it charges financing and funding, marks equity and
checks the daily-loss and drawdown halts. It is a generator: the fast path runs it through the whole window
with a full target matrix; the event path resumes it from one decision to the next, writing each decision
into the same matrix. The same compiled code fills both, so the same decisions give the same fills.

Everything is float64/int64 arrays so numba compiles one signature; `cache=True` keeps the machine code
between processes (IEEE arithmetic without fastmath, so cached or not, the results are the same bits).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# book: one float64 array of scalars per strategy
# (N_FILLS, N_EVENTS: record rows used; HELD_CLIPPED: 1 when the held targets came out of a clip that changed them)
(CASH, PEAK, DAY_START, DAY, HALT, HALT_BAR, HALT_REASON, FINANCING, FUNDING, LAST_EQUITY, N_FILLS, N_EVENTS,
 HELD_CLIPPED) = range(13)
BOOK_SIZE = 13
# HALT states: running, halt asked (flatten at the next open), halted (flattened, no more decisions)
RUNNING, HALT_ASKED, HALTED = 0.0, 1.0, 2.0
# HALT_REASON codes
REASON_NONE, REASON_DRAWDOWN, REASON_DAILY_LOSS, REASON_VIOLATION = 0.0, 1.0, 2.0, 3.0

# fill record fields (one row per field, one column per fill, float64: each field is contiguous for the frame)
(F_DECIDED, F_BAR, F_MARKET, F_REQUESTED, F_QTY, F_PRICE, F_FEE, F_SPREAD, F_SLIPPAGE, F_KIND) = range(10)
FILL_COLUMNS = 10
KIND_TARGET, KIND_FLATTEN = 0.0, 1.0
# event record columns (clips and rejections)
(E_BAR, E_MARKET, E_REASON, E_WANTED, E_ALLOWED) = range(5)
EVENT_COLUMNS = 5
# event reasons
(CLIP_POSITION, CLIP_GROSS, CLIP_NET, CLIP_BUDGET, REJECT_NO_CASH, CARRIED_PARTIAL) = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)

# market parameter columns (per market)
P_IMPACT, P_CAP = range(2)
# scalar parameters
(S_FEE, S_SLIPPAGE, S_FINANCING, S_CREDIT, S_LATENCY, S_MAX_POSITION, S_MAX_GROSS, S_MAX_NET, S_HALT_DD,
 S_DAILY_LOSS) = range(10)
SCALARS = 10


@njit(cache=True)
def _clip(wanted, out, events, n_events, t, params):
    """Clip a target vector to the per-market cap, then scale it to the gross and net caps; record each clip."""
    n = wanted.shape[0]
    cap = params[S_MAX_POSITION]
    for m in range(n):
        w = wanted[m]
        if w > cap:
            w = cap
        elif w < -cap:
            w = -cap
        if w != wanted[m]:
            n_events = _event(events, n_events, t, m, CLIP_POSITION, wanted[m], w)
        out[m] = w
    gross = 0.0
    net = 0.0
    for m in range(n):
        gross += abs(out[m])
    if gross > params[S_MAX_GROSS]:
        scale = params[S_MAX_GROSS] / gross
        for m in range(n):
            if out[m] != 0.0:
                n_events = _event(events, n_events, t, m, CLIP_GROSS, out[m], out[m] * scale)
                out[m] = out[m] * scale
    for m in range(n):
        net += out[m]
    if abs(net) > params[S_MAX_NET]:
        scale = params[S_MAX_NET] / abs(net)
        for m in range(n):
            if out[m] != 0.0:
                n_events = _event(events, n_events, t, m, CLIP_NET, out[m], out[m] * scale)
                out[m] = out[m] * scale
    return n_events


@njit(cache=True)
def _event(events, n_events, t, m, reason, wanted, allowed):
    if n_events < events.shape[0]:
        events[n_events, E_BAR] = t
        events[n_events, E_MARKET] = m
        events[n_events, E_REASON] = reason
        events[n_events, E_WANTED] = wanted
        events[n_events, E_ALLOWED] = allowed
    return n_events + 1


# rows of the market block (fields x bars x markets) and of the order state (fields x markets)
M_OPEN, M_CLOSE, M_BID, M_ASK, M_VOLUME, M_SIGMA, M_FUNDING, M_DAY = range(8)
MARKET_FIELDS = 8
O_QTY, O_HELD, O_PENDING, O_REQUESTED, O_DECIDED, O_KIND = range(6)
ORDER_FIELDS = 6
# rows of the per-bar output (fields x bars)
OUT_EQUITY, OUT_CASH, OUT_GROSS, OUT_NET, OUT_LARGEST = range(5)
OUT_FIELDS = 5


# the book at a decision, in the event path's point-in-time buffer (rows after the observed ones; then units)
SEEN_CASH, SEEN_EQUITY, SEEN_GROSS, SEEN_NET = range(4)
SEEN_FIELDS = 4
# why `_bars` stopped
DONE, DECISION, OVERFLOW = 0, 1, 2


@njit(cache=True)
def run_bars(
    t_from, t_to, every, market, targets, market_params, params, book, state, out, fills, events, observed, seen, observed_ts, seen_ts
):
    """A generator that advances the book over bars [t_from, t_to).

    `every` > 0 (the event path): after the close of each bar where a decision is due (a multiple of `every`,
    not the window's last bar, the strategy still running) it yields that bar t and waits; the caller writes
    the decision into `targets[t]` (or stops the book) before asking for the next bar. `every` = 0 (the fast
    path): the targets are all given and it yields no decision. Resuming a generator costs a fraction of a
    call with a dozen array arguments, which the event path would otherwise pay at every decision.

    When the fill or event buffer may overflow in the next bar t, it yields -(t + 1) and ends; the caller
    grows the buffers and starts a new generator at t. The rows used are kept in book[N_FILLS], book[N_EVENTS].

    The event path's point-in-time buffers (the fast path passes empty ones): each bar's column of `observed`
    (rows x bars, the markets' observed columns) is copied into the same rows of `seen` and its open time
    into `seen_ts` once the bar has closed, and at a decision bar t the rows after those of `seen` get the
    book at that close (SEEN_* rows, then the units held per market). So at a decision they hold no later
    bar, and a column once written never changes."""
    t = t_from
    order = np.empty(market.shape[2], dtype=np.int64)
    scratch = np.empty((3, market.shape[2]))  # allocated once: an allocation per decision would cost more than the bar
    while t < t_to:
        t, why = _bars(
            t, t_to, every, market, targets, market_params, params, book, state, out, fills, events, observed, seen,
            observed_ts, seen_ts, order, scratch,
        )
        if why == OVERFLOW:
            yield -(t + 1)
            return
        if why == DECISION:
            yield t
            t += 1


@njit(cache=True)
def _bars(
    t_from, t_to, every, market, targets, market_params, params, book, state, out, fills, events, observed, seen, observed_ts,
    seen_ts, order, scratch,
):
    """Bars from t_from until the close of the next decision bar (returns it, DECISION), the bar before which
    a record buffer may overflow (returns it, OVERFLOW), or t_to (DONE). A plain function, not the generator
    itself, so that the compiler keeps its loop variables in registers."""
    opens, closes, bids, asks = market[M_OPEN], market[M_CLOSE], market[M_BID], market[M_ASK]
    volumes, sigmas, funding, day_of_bar = market[M_VOLUME], market[M_SIGMA], market[M_FUNDING], market[M_DAY, :, 0]
    qty, held, pending, requested = state[O_QTY], state[O_HELD], state[O_PENDING], state[O_REQUESTED]
    decided_at, order_kind = state[O_DECIDED], state[O_KIND]
    equity, cash_out, gross_out, net_out, largest_out = out[OUT_EQUITY], out[OUT_CASH], out[OUT_GROSS], out[OUT_NET], out[OUT_LARGEST]
    n_markets = opens.shape[1]
    last_decision = opens.shape[0] - 2  # a decision at the window's last close could never fill
    value, clipped, wanted = scratch[0], scratch[1], scratch[2]
    latency = int(params[S_LATENCY])
    fee = params[S_FEE]
    next_decision = -1
    if every > 0:
        next_decision = (t_from + every - 1) // every * every
    # the book's scalars live in locals in the loop (the compiler cannot keep array elements in registers
    # across stores to other arrays) and go back to `book` whenever the caller may look
    cash, peak, day_start, day, last_equity = book[CASH], book[PEAK], book[DAY_START], book[DAY], book[LAST_EQUITY]
    financing, funding_paid = book[FINANCING], book[FUNDING]
    n_fills, n_events = int(book[N_FILLS]), int(book[N_EVENTS])
    # True when the held targets are what the clip returns for them unchanged (no clip event): a decision
    # equal to them then orders nothing and records nothing, and the clip can be skipped
    settled = book[HELD_CLIPPED] == 0.0
    for t in range(t_from, t_to):
        if n_fills + n_markets > fills.shape[1] or n_events + 4 * n_markets > events.shape[0]:
            _store(book, cash, peak, day_start, day, last_equity, financing, funding_paid, n_fills, n_events, settled)
            _reveal(observed, seen, observed_ts, seen_ts, t_from, t)
            return t, OVERFLOW
        if t > 0:
            # 1. the decision due at this open becomes orders (a halt flattens instead)
            equity_open = 0.0
            valued = False  # equity_open is computed when an order needs it
            if book[HALT] == HALT_ASKED:
                for m in range(n_markets):
                    held[m] = 0.0
                    pending[m] = -qty[m]
                    requested[m] = -qty[m]
                    decided_at[m] = t - 1
                    order_kind[m] = KIND_FLATTEN
                book[HALT] = HALTED
            elif book[HALT] == RUNNING and t - 1 - latency >= 0:
                d = t - 1 - latency
                any_decision = False
                changed = False
                for m in range(n_markets):
                    w = targets[d, m]
                    if w == w:  # not NaN: a decision for this market
                        any_decision = True
                        wanted[m] = w
                        if w != held[m]:
                            changed = True
                    else:
                        wanted[m] = held[m]
                if any_decision and (changed or not settled):
                    before = n_events
                    n_events = _clip(wanted, clipped, events, n_events, t, params)
                    settled = n_events == before
                    equity_open = _equity_at(cash, qty, opens, t)
                    valued = True
                    for m in range(n_markets):
                        if clipped[m] != held[m]:
                            held[m] = clipped[m]
                            # units to trade at this open, valued at the open (vectorbt's target percent)
                            units = -qty[m] if clipped[m] == 0.0 else clipped[m] * equity_open / opens[t, m] - qty[m]
                            pending[m] = units
                            requested[m] = units
                            decided_at[m] = d
                            order_kind[m] = KIND_TARGET
            # 2. fill pending orders, sells first (they release cash), in ascending order value
            any_pending = False
            for m in range(n_markets):
                if pending[m] != 0.0:
                    any_pending = True
            if any_pending:
                if not valued:
                    equity_open = _equity_at(cash, qty, opens, t)
                for m in range(n_markets):
                    order[m] = m
                    value[m] = pending[m] * opens[t, m]
                for i in range(1, n_markets):  # insertion sort: stable, tiny n
                    j = i
                    while j > 0 and value[order[j - 1]] > value[order[j]]:
                        order[j - 1], order[j] = order[j], order[j - 1]
                        j -= 1
                for i in range(n_markets):
                    m = order[i]
                    units = pending[m]
                    if units == 0.0:
                        continue
                    size = abs(units)
                    volume = volumes[t, m]
                    cap = market_params[m, P_CAP]
                    if cap == cap:  # a participation cap: at most cap x this bar's volume
                        limit = cap * volume if volume > 0.0 else 0.0
                        if size > limit:
                            size = limit
                    if size <= 0.0:
                        continue  # nothing trades in this bar: the order waits for the next
                    share = size / volume if volume > 0.0 else 1.0
                    impact = market_params[m, P_IMPACT] * sigmas[t, m] * np.sqrt(share)
                    if units > 0.0:
                        base = asks[t, m]
                        price = base * (1.0 + params[S_SLIPPAGE] + impact)
                        limit_cash = cash + params[S_CREDIT] * equity_open
                        req_cash = size * price
                        req_fee = req_cash * fee
                        if req_cash + req_fee <= limit_cash:
                            paid_fee = req_fee
                            cash -= req_cash + req_fee
                        else:  # the budget: buy what cash (and the credit line) pays for, fee included; cancel the rest
                            if limit_cash <= 0.0:
                                n_events = _event(events, n_events, t, m, REJECT_NO_CASH, units, 0.0)
                                pending[m] = 0.0
                                continue
                            max_req = limit_cash / (1.0 + fee)
                            n_events = _event(events, n_events, t, m, CLIP_BUDGET, size, max_req / price)
                            size = max_req / price
                            paid_fee = limit_cash - max_req
                            cash -= limit_cash
                            units = size  # nothing left to carry
                        qty[m] += size
                        filled = size
                    else:
                        base = bids[t, m]
                        price = base * (1.0 - params[S_SLIPPAGE] - impact)
                        acquired = size * price
                        paid_fee = acquired * fee
                        cash += acquired - paid_fee
                        qty[m] -= size
                        filled = -size
                    pending[m] = units - filled
                    if pending[m] != 0.0:
                        n_events = _event(events, n_events, t, m, CARRIED_PARTIAL, units, filled)
                    fills[F_DECIDED, n_fills] = decided_at[m]
                    fills[F_BAR, n_fills] = t
                    fills[F_MARKET, n_fills] = m
                    fills[F_REQUESTED, n_fills] = requested[m]
                    fills[F_QTY, n_fills] = filled
                    fills[F_PRICE, n_fills] = price
                    fills[F_FEE, n_fills] = paid_fee
                    fills[F_SPREAD, n_fills] = size * abs(base - opens[t, m])
                    fills[F_SLIPPAGE, n_fills] = size * abs(price - base)
                    fills[F_KIND, n_fills] = order_kind[m]
                    n_fills += 1
        # 3. the close: funding on perpetuals, financing on borrowed cash and short notional, then the mark
        short_notional = 0.0
        marked = 0.0
        gross = 0.0
        largest = 0.0
        for m in range(n_markets):
            if qty[m] != 0.0:
                position_value = qty[m] * closes[t, m]
                marked += position_value
                if qty[m] < 0.0:
                    short_notional -= position_value
                if funding[t, m] != 0.0:
                    paid = position_value * funding[t, m]  # longs pay a positive rate, shorts receive it
                    cash -= paid
                    funding_paid += paid
                gross += abs(position_value)
                if abs(position_value) > largest:
                    largest = abs(position_value)
        if t > 0 and params[S_FINANCING] != 0.0:
            borrowed = -cash if cash < 0.0 else 0.0
            charge = params[S_FINANCING] * (borrowed + short_notional)
            cash -= charge
            financing += charge
        value_now = cash + marked
        equity[t] = value_now
        cash_out[t] = cash
        gross_out[t] = gross / value_now
        net_out[t] = marked / value_now
        largest_out[t] = largest / value_now
        # 4. risk: the day's loss against the previous day's last close, and the drawdown from the peak
        if day_of_bar[t] != day:
            day = day_of_bar[t]
            day_start = last_equity
        last_equity = value_now
        if value_now > peak:
            peak = value_now
        if book[HALT] == RUNNING:
            if value_now <= day_start * (1.0 - params[S_DAILY_LOSS]):
                book[HALT] = HALT_ASKED
                book[HALT_BAR] = t
                book[HALT_REASON] = REASON_DAILY_LOSS
            elif 1.0 - value_now / peak >= params[S_HALT_DD]:
                book[HALT] = HALT_ASKED
                book[HALT_BAR] = t
                book[HALT_REASON] = REASON_DRAWDOWN
        # 5. a decision due at this close: hand the bar to the caller
        if t == next_decision:
            next_decision += every
            if t <= last_decision and book[HALT] == RUNNING:
                _store(book, cash, peak, day_start, day, last_equity, financing, funding_paid, n_fills, n_events, settled)
                _reveal(observed, seen, observed_ts, seen_ts, t_from, t + 1)
                if seen_ts.shape[0]:
                    first = observed.shape[0]
                    seen[first + SEEN_CASH, t] = cash
                    seen[first + SEEN_EQUITY, t] = value_now
                    seen[first + SEEN_GROSS, t] = gross_out[t]
                    seen[first + SEEN_NET, t] = net_out[t]
                    for m in range(n_markets):
                        seen[first + SEEN_FIELDS + m, t] = qty[m]
                return t, DECISION
    _store(book, cash, peak, day_start, day, last_equity, financing, funding_paid, n_fills, n_events, settled)
    _reveal(observed, seen, observed_ts, seen_ts, t_from, t_to)
    return t_to, DONE


@njit(cache=True)
def _reveal(observed, seen, observed_ts, seen_ts, t_from, t_to):
    """Bars [t_from, t_to) become visible: copied into the event path's point-in-time buffers."""
    if seen_ts.shape[0]:
        for r in range(observed.shape[0]):
            for t in range(t_from, t_to):
                seen[r, t] = observed[r, t]
        for t in range(t_from, t_to):
            seen_ts[t] = observed_ts[t]


@njit(cache=True)
def _equity_at(cash, qty, opens, t):
    """Equity valued at bar t's open."""
    value = cash
    for m in range(qty.shape[0]):
        if qty[m] != 0.0:
            value += qty[m] * opens[t, m]
    return value


@njit(cache=True)
def _store(book, cash, peak, day_start, day, last_equity, financing, funding_paid, n_fills, n_events, settled):
    book[CASH] = cash
    book[PEAK] = peak
    book[DAY_START] = day_start
    book[DAY] = day
    book[LAST_EQUITY] = last_equity
    book[FINANCING] = financing
    book[FUNDING] = funding_paid
    book[N_FILLS] = n_fills
    book[N_EVENTS] = n_events
    book[HELD_CLIPPED] = 0.0 if settled else 1.0
