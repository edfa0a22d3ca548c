"""Minimum evidence at admission (docs/scoring.md, "Minimum evidence")."""

from __future__ import annotations

import pytest

from bx_platform.errors import InputError
from bx_platform.jobs.spec import parse_spec
from bx_platform.pipeline.admission import admit
from bx_platform.scoring.evidence import MIN_BARS_PER_SESSION, minimum_bars, require_minimum_evidence

NINE_BARS = {
    "organization": "acme", "markets": [{"venue": "coinbase", "symbol": "BTC/USD"}], "timeframe": "1h",
    "window": {"start": "2018-01-01T00:00:00Z", "end": "2018-01-01T09:00:00Z"}, "strategies": ["bx/sma-trend"],
}


def test_a_nine_bar_window_is_refused_with_the_minimum_length_named():
    """v1 admitted it and reported Sharpe 35.7, PSR 0.85, BX 63.6."""
    with pytest.raises(InputError) as refused:
        admit(parse_spec(NINE_BARS))
    assert refused.value.where == "window"
    message = str(refused.value)
    assert "9 bars" in message and f"at least {minimum_bars(4)} bars of 1h" in message and "5.0 days" in message


def test_the_minimum_is_per_session():
    assert minimum_bars(4) == 4 * MIN_BARS_PER_SESSION + 1
    require_minimum_evidence(minimum_bars(4), 4, "1d", 365.0)
    with pytest.raises(InputError, match="too few for 52 sessions"):
        require_minimum_evidence(minimum_bars(52) - 1, 52, "1d", 365.0)


def test_a_window_just_long_enough_is_admitted():
    admit(parse_spec({**NINE_BARS, "window": {"start": "2018-01-01T00:00:00Z", "end": "2018-01-06T01:00:00Z"}}))
