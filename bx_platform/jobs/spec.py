"""The benchmark job spec: what a client submits, validated, resolved and hashed.

The job id is the hash of the canonical JSON of the fully resolved spec (defaults filled in, numbers
normalized, schema version included), so the same spec always gets the same id and any change to it is a
different job. See docs/conventions.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bx_platform.errors import InputError

SCHEMA_VERSION = "1"
TIMEFRAME_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
# Admission limit on the work a job may ask for, in bar-steps (one strategy x one market x one bar).
MAX_BAR_STEPS = 5_000_000


class RiskProfile(BaseModel):
    """Limits a named risk profile imposes; the engine halts a strategy at `halt_drawdown`."""

    model_config = ConfigDict(frozen=True)
    halt_drawdown: float
    max_daily_loss: float
    max_gross_leverage: float


RISK_PROFILES: dict[str, RiskProfile] = {
    "conservative": RiskProfile(halt_drawdown=0.15, max_daily_loss=0.05, max_gross_leverage=1.0),
    "balanced": RiskProfile(halt_drawdown=0.25, max_daily_loss=0.10, max_gross_leverage=2.0),
    "aggressive": RiskProfile(halt_drawdown=0.40, max_daily_loss=0.20, max_gross_leverage=3.0),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Market(_Strict):
    venue: str = Field(min_length=1)
    symbol: str = Field(min_length=1)

    @property
    def key(self) -> str:
        return f"{self.venue}:{self.symbol}"


class Window(_Strict):
    """Half-open [start, end) in UTC. A bare date means midnight UTC."""

    start: datetime
    end: datetime

    @field_validator("start", "end", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    @field_validator("start", "end")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Capital(_Strict):
    initial: float = Field(default=100_000.0, gt=0)
    quote_currency: str = "USD"
    max_gross_leverage: float = Field(default=1.0, gt=0, le=10)
    max_net_leverage: float = Field(default=1.0, gt=0, le=10)
    max_position_per_market: float = Field(default=1.0, gt=0, le=10, description="fraction of equity")


class Costs(_Strict):
    fee_bps: float = Field(default=10.0, ge=0, le=1000)
    slippage_bps: float = Field(default=0.0, ge=0, le=1000)


class JobSpec(_Strict):
    schema_version: Literal["1"] = SCHEMA_VERSION
    organization: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str | None = None
    markets: list[Market] = Field(min_length=1)
    window: Window
    timeframe: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1h"
    capital: Capital = Capital()
    costs: Costs = Costs()
    risk_profile: Literal["conservative", "balanced", "aggressive"] = "balanced"
    strategies: list[str] = Field(min_length=1)
    visibility: Literal["public", "private"] = "public"
    scoring_version: str = "bx-score-v3"
    sessions: int = Field(default=4, ge=1, le=52, description="battle sessions = scenarios")
    contest: str | None = None

    @field_validator("strategies")
    @classmethod
    def _unique_handles(cls, handles: list[str]) -> list[str]:
        if len(set(handles)) != len(handles):
            raise ValueError("a handle is listed twice")
        return handles

    @field_validator("markets")
    @classmethod
    def _unique_markets(cls, markets: list[Market]) -> list[Market]:
        if len({m.key for m in markets}) != len(markets):
            raise ValueError("a market is listed twice")
        return markets

    @property
    def risk_limits(self) -> RiskProfile:
        return RISK_PROFILES[self.risk_profile]

    def bar_steps(self) -> int:
        """Upper bound on bar-steps: bars in the window x markets x strategies."""
        bars = (self.window.end - self.window.start).total_seconds() // TIMEFRAME_SECONDS[self.timeframe]
        return int(bars) * len(self.markets) * len(self.strategies)

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    @property
    def job_id(self) -> str:
        return "job-" + hashlib.sha256(self.canonical_json().encode()).hexdigest()[:24]


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, floats as Python's shortest round-trip repr: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _field_path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "spec"


def parse_spec(data: Any, source: str = "spec") -> JobSpec:
    """Validate a mapping into a JobSpec; the error names the first offending field."""
    if not isinstance(data, dict):
        raise InputError(source, "a job spec must be a mapping of fields")
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(f"{source}: {_field_path(first['loc'])}", message) from None


def load_spec(path: str | Path) -> JobSpec:
    """Read a YAML job spec file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"malformed YAML: {exc}".replace("\n", " ")) from None
    return parse_spec(data, source=str(path))
