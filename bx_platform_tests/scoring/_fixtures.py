"""Shared sample inputs for the scoring tests."""

from __future__ import annotations

from bx_platform.evaluation.report import METRIC_KEYS

#: A plausible whole-window metric dict with exactly the contract keys.
SAMPLE_METRICS: dict[str, float] = {
    "net_pnl": 1234.5, "total_return": 0.1234, "profit_factor": 1.42, "win_rate": 0.54,
    "avg_trade_return": 0.0031, "trade_count": 57.0,
    "max_drawdown": 0.083, "annual_volatility": 0.31, "downside_deviation": 0.19, "alpha": 0.07, "beta": 0.4,
    "cvar_95": 0.021, "tail_cvar_95_daily": 0.034,
    "sharpe": 1.37, "sortino": 2.05, "return_to_drawdown": 1.49, "annual_return": 0.51,
    "trade_frequency": 0.6, "avg_holding_days": 2.7, "leverage_utilization": 0.45, "position_concentration": 0.5,
    "time_to_recover_days": 11.0, "time_under_water_fraction": 0.42,
    "performance_stability": 0.71, "session_return_variance": 0.0012, "regime_sensitivity": 0.22,
    "turnover": 0.12, "cost": 0.0041, "psr": 0.93, "dsr": 0.81,
    # contract 2 (bx-score-v3 on)
    "gain_stability": 0.68, "worst_session_return": -0.021, "growth_rate": 0.45, "entry_cost": 0.001,
    "excess_turnover": 0.11, "excess_cost_rate": 0.012, "years": 0.25,
    "tail_cvar_95_daily_after_entry": 0.033,
}

assert set(SAMPLE_METRICS) == set(METRIC_KEYS)

SAMPLE_CONTEXT = {"volatility_regime": "high", "trend_regime": "range", "liquidity_regime": "normal"}


def metrics(**overrides: float) -> dict[str, float]:
    m = dict(SAMPLE_METRICS)
    m.update(overrides)
    return m
