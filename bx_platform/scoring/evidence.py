"""Minimum evidence: a window too short for the statistics a result reports is refused at admission
(docs/scoring.md, "Minimum evidence").

Every battle session must hold at least MIN_BARS_PER_SESSION return observations. 30 is the usual floor for
the normal approximation the PSR and the DSR rest on (the Sharpe ratio estimator's sampling distribution,
Bailey and López de Prado 2012); below it a handful of bars gives a Sharpe ratio of 35 and a PSR of 0.85 that
mean nothing. The whole window then needs MIN_BARS_PER_SESSION · sessions bars plus the first bar (whose open
is the starting point).
"""

from __future__ import annotations

from bx_platform.errors import InputError

MIN_BARS_PER_SESSION = 30


def minimum_bars(sessions: int) -> int:
    """Bars the job's grid must hold for `sessions` battle sessions."""
    return MIN_BARS_PER_SESSION * sessions + 1


def require_minimum_evidence(bars: int, sessions: int, timeframe: str, periods_per_year: float) -> None:
    """Raise InputError("window", ...) when `bars` bars are too few for `sessions` sessions, saying how long the
    window must be: the bar count, and about how many days that is on the market's calendar."""
    needed = minimum_bars(sessions)
    if bars >= needed:
        return
    days = needed / periods_per_year * 365.25
    raise InputError(
        "window",
        f"{bars} bar{'' if bars == 1 else 's'} on the job's grid are too few for {sessions} sessions: the window must "
        f"hold at least {needed} bars of {timeframe} ({MIN_BARS_PER_SESSION} per session, the minimum for the Sharpe "
        f"statistics to mean anything, plus the first bar), about {days:.1f} days on this market's calendar; widen "
        "the window or lower `sessions`",
    )
