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
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bx_platform.errors import InputError
from bx_platform.market.calendars import TIMEFRAME_SECONDS
from bx_platform.jobs.spec_input import load_document, read_spec_file, shortened

SCHEMA_VERSION = "1"
# Job types: a benchmark on the client's window, or the official private evaluation, which adds the eleven
# hidden scenarios (docs/private-evaluation.md) scored under a version with a private_evaluation section.
BENCHMARK, PRIVATE_EVALUATION = "benchmark", "private_evaluation"
PRIVATE_SCORING_VERSION = "bx-private-v1"
PRIVATE_SCENARIOS = 11  # 1 real sister, 5 perturbations, 5 stress
# Admission limit on the work a job may ask for, in bar-steps (one strategy x one market x one bar): what the
# engine runs in minutes and under 2 GB (docs/engine.md, "Speed"; 1 year of minute bars x 10 markets x 20
# built-ins is 105 M).
MAX_BAR_STEPS = 100_000_000


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
    # allow_inf_nan: no float field of a spec may be infinite or NaN
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def finite_number(**bounds: Any) -> Any:
    """A numeric field: an int or a float, never a bool or a numeric string, always finite."""
    return Field(strict=True, allow_inf_nan=False, **bounds)


# Sane bounds on what a spec may hold (docs/conventions.md): checked before anything is stored, so SQLite and
# PostgreSQL refuse the same specs with the same message.
MIN_CAPITAL, MAX_CAPITAL = 100.0, 1e12
MAX_MARKETS, MAX_STRATEGIES = 20, 32
WINDOW_EARLIEST, WINDOW_LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)
# printable text: no control characters (they would rewrite a terminal or a log line)
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, Field(strict=True, min_length=1, max_length=200, pattern=TEXT_PATTERN)]
Handle = Annotated[str, Field(strict=True, min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]


class Market(_Strict):
    venue: str = Field(strict=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    symbol: str = Field(strict=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_./:-]*$")

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
        if isinstance(value, (int, float)):  # pydantic would read it as Unix seconds: 20180101 is 1970-08-22
            raise ValueError("must be a date or an ISO 8601 time, not a number")
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    @field_validator("start", "end")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError("date out of range") from None
        if not WINDOW_EARLIEST <= value <= WINDOW_LATEST:
            raise ValueError(f"must lie between {WINDOW_EARLIEST.date()} and {WINDOW_LATEST.date()}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> "Window":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Capital(_Strict):
    initial: float = finite_number(default=100_000.0, ge=MIN_CAPITAL, le=MAX_CAPITAL)
    quote_currency: str = Field(default="USD", strict=True, pattern=r"^[A-Z][A-Z0-9]{1,9}$")
    max_gross_leverage: float = finite_number(default=1.0, gt=0, le=10)
    max_net_leverage: float = finite_number(default=1.0, gt=0, le=10)
    max_position_per_market: float = finite_number(default=1.0, gt=0, le=10, description="fraction of equity")


class Costs(_Strict):
    fee_bps: float = finite_number(default=10.0, ge=0, le=1000)
    slippage_bps: float = finite_number(default=0.0, ge=0, le=1000)


# -- the engine's settings (docs/engine.md): decision cadence and the fill model's overrides -------------------
class FillOverrides(_Strict):
    """Overrides of the venues' fill profiles for every market of the job; null keeps the profile's value."""

    latency_bars: int = finite_number(default=0, ge=0, le=1000, description="extra bars between a decision and its first fill")
    half_spread_bps: float | None = finite_number(default=None, ge=0, le=1000, description="where the archive has no bid/ask")
    impact_coefficient: float | None = finite_number(default=None, ge=0, le=100, description="Y of the square-root law")
    participation_cap: float | None = finite_number(default=None, gt=0, le=1, description="share of the bar's volume")
    financing_daily_rate: float | None = finite_number(default=None, ge=0, le=0.01, description="on borrowed cash and shorts")


class JobSpec(_Strict):
    schema_version: Literal["1"] = SCHEMA_VERSION
    job_type: Literal["benchmark", "private_evaluation"] = BENCHMARK
    organization: str = Field(strict=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: Text | None = None
    markets: list[Market] = Field(min_length=1, max_length=MAX_MARKETS)
    window: Window
    timeframe: Literal["1m", "5m", "15m", "1h", "4h", "1d"] = "1h"
    capital: Capital = Capital()
    costs: Costs = Costs()
    risk_profile: Literal["conservative", "balanced", "aggressive"] = "balanced"
    strategies: list[Handle] = Field(min_length=1, max_length=MAX_STRATEGIES)
    visibility: Literal["public", "private"] = "public"
    scoring_version: str = Field(default="bx-score-v3", strict=True, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    sessions: int = finite_number(default=4, ge=1, le=52, description="battle sessions = scenarios")
    contest: Annotated[Text, Field(max_length=64)] | None = None
    decision_every: int = finite_number(default=1, ge=1, le=100_000, description="bars between two decisions")
    fills: FillOverrides = FillOverrides()

    @model_validator(mode="before")
    @classmethod
    def _private_scoring_default(cls, data: Any) -> Any:
        """A private evaluation is scored, by default, under the released private score version."""
        if isinstance(data, dict) and data.get("job_type") == PRIVATE_EVALUATION and "scoring_version" not in data:
            return {**data, "scoring_version": PRIVATE_SCORING_VERSION}
        return data

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
        """Upper bound on bar-steps of one run of the window: bars in the window x markets x strategies."""
        bars = (self.window.end - self.window.start).total_seconds() // TIMEFRAME_SECONDS[self.timeframe]
        return int(bars) * len(self.markets) * len(self.strategies)

    @property
    def runs(self) -> int:
        """Runs of the room: the real window, plus the eleven hidden scenarios of a private evaluation."""
        return 1 + PRIVATE_SCENARIOS if self.job_type == PRIVATE_EVALUATION else 1

    def canonical_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))

    @property
    def job_id(self) -> str:
        return "job-" + hashlib.sha256(self.canonical_json().encode()).hexdigest()[:24]


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, floats as Python's shortest round-trip repr: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _field_path(loc: tuple) -> str:
    return shortened(".".join(str(part) for part in loc)) or "spec"


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


def parse_spec_bytes(data: bytes, source: str) -> JobSpec:
    """A job spec from untrusted bytes (a file's or a request body's), JSON or YAML, within the limits of
    docs/conventions.md; InputError names the source and the field."""
    return parse_spec(load_document(data, source), source=source)


def load_spec(path: str | Path) -> JobSpec:
    """Read a job spec file (YAML or JSON)."""
    return parse_spec_bytes(read_spec_file(path), source=str(path))
