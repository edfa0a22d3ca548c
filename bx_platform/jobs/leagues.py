"""Leagues: recurring evaluations from a YAML template (docs/leagues.md).

A league template (`data/leagues/*.yaml`) names the job fields every round shares (markets, timeframe, costs,
sessions, ...), who takes part, the organization running it, its visibility and contest, a cadence (daily,
weekly, monthly) and a window length in cadence periods. Round `k` is the window starting at the cadence
boundary `k`; at a tick `t` the round to run is the latest complete window: it ends at the last cadence boundary
at or before `t`. A round's job spec is a pure function of the template, the round and the participants, so its
job id (the hash of the resolved spec, jobs/spec.py) is the same at every evaluation of the same tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bx_platform.errors import InputError
from bx_platform.jobs.spec import MAX_STRATEGIES, Handle, JobSpec, Text, parse_spec
from bx_platform.jobs.spec_input import load_document, read_spec_file
from bx_platform.paths import leagues_dir

# The cron schedule of each cadence (UTC): a tick at each period's first instant.
CADENCE_CRON = {"daily": "0 0 * * *", "weekly": "0 0 * * 1", "monthly": "0 0 1 * *"}
# Who takes part: the handles the template lists, or every built-in and every approved handle at the tick.
LISTED, ALL_APPROVED = "listed", "all-approved"
# Job fields a league sets for each round itself: a template may not set them.
ROUND_FIELDS = ("window", "name", "schema_version")


class LeagueTemplate(BaseModel):
    """A validated league template. Fields not declared here are the rounds' shared job fields (JobSpec's)."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    name: str = Field(strict=True, min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: Text | None = None
    organization: str = Field(strict=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    visibility: Literal["public", "private"] = "public"
    contest: Text | None = None
    cadence: Literal["daily", "weekly", "monthly"]
    window_periods: int = Field(default=1, strict=True, ge=1, le=24, description="a round's window, in cadence periods")
    start: date = Field(description="the first round's window start: a cadence boundary")
    end: date | None = Field(default=None, description="no round's window ends after this day")
    participants: Literal["listed", "all-approved"] = LISTED
    strategies: list[Handle] | None = Field(default=None, min_length=1, max_length=MAX_STRATEGIES)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _a_day(cls, value: Any) -> Any:
        if isinstance(value, datetime) or not isinstance(value, (date, str)):
            raise ValueError("must be a day (YYYY-MM-DD)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "LeagueTemplate":
        for name in ROUND_FIELDS:
            if name in (self.model_extra or {}):
                raise ValueError(f"`{name}` is set by the league for each round; remove it")
        if self.participants == LISTED and not self.strategies:
            raise ValueError("`strategies` must list the handles taking part (or set `participants: all-approved`)")
        if self.participants == ALL_APPROVED and self.strategies:
            raise ValueError("`participants: all-approved` takes no `strategies` list")
        start = _utc(self.start)
        if floor_to_boundary(start, self.cadence) != start:
            raise ValueError(f"`start` {self.start} is not the start of a {self.cadence} period (weeks start on Monday)")
        if self.end is not None and self.first_round_end > _utc(self.end):
            raise ValueError(f"`end` {self.end} is before the first round's window ends ({self.first_round_end.date()})")
        return self

    # -- rounds -------------------------------------------------------------------------------------------
    @property
    def first_round_end(self) -> datetime:
        return add_periods(_utc(self.start), self.cadence, self.window_periods)

    @property
    def scoring_version(self) -> str:
        return (self.model_extra or {}).get("scoring_version", JobSpec.model_fields["scoring_version"].default)

    @property
    def cron_schedule(self) -> str:
        return CADENCE_CRON[self.cadence]

    @property
    def last_round_start(self) -> datetime | None:
        """The start of the last round whose window ends by `end` (None: the league has no end)."""
        if self.end is None:
            return None
        return add_periods(floor_to_boundary(_utc(self.end), self.cadence), self.cadence, -self.window_periods)

    def round_at(self, tick: datetime) -> "Round | None":
        """The latest round complete at `tick`: None before the first round ends or once the league has ended
        (the tick is after its last round's next boundary)."""
        end = floor_to_boundary(tick.astimezone(timezone.utc), self.cadence)
        start = add_periods(end, self.cadence, -self.window_periods)
        if start < _utc(self.start):
            return None
        if self.last_round_start is not None and start > self.last_round_start:
            return None
        return Round(self.name, start, end)

    def round_starting(self, key: str) -> "Round":
        """The round whose window starts on day `key` (YYYY-MM-DD); InputError("round") if there is none."""
        try:
            start = _utc(date.fromisoformat(key))
        except ValueError:
            raise InputError("round", f"{key!r} is not a day (YYYY-MM-DD)") from None
        if floor_to_boundary(start, self.cadence) != start or start < _utc(self.start) or (
            self.last_round_start is not None and start > self.last_round_start
        ):
            raise InputError("round", f"league {self.name} has no round starting {key} (rounds: {self.describe_rounds()})")
        return Round(self.name, start, add_periods(start, self.cadence, self.window_periods))

    def rounds_until(self, tick: datetime) -> list["Round"]:
        """Every round complete at `tick`, oldest first."""
        rounds, start = [], _utc(self.start)
        while self.last_round_start is None or start <= self.last_round_start:
            end = add_periods(start, self.cadence, self.window_periods)
            if end > tick:
                break
            rounds.append(Round(self.name, start, end))
            start = add_periods(start, self.cadence, 1)
        return rounds

    def describe_rounds(self) -> str:
        """E.g. `monthly, 2018-01-01 to 2018-12-01` (the first and last rounds), `weekly from 2024-01-01, windows of 4`."""
        span = f" to {self.last_round_start.date().isoformat()}" if self.last_round_start else " onwards"
        windows = f", windows of {self.window_periods}" if self.window_periods > 1 else ""
        return f"{self.cadence}, {self.start.isoformat()}{span}{windows}"

    # -- a round's job --------------------------------------------------------------------------------------
    def round_spec(self, round_: "Round", strategies: list[str] | None = None) -> JobSpec:
        """The job spec of a round: the template's shared job fields, the round's window and the participants
        (`strategies`, needed when the league takes all approved handles). Pure: same inputs, same job id."""
        handles = self.strategies if self.participants == LISTED else strategies
        if not handles:
            raise InputError("strategies", f"league {self.name}: no strategy takes part in round {round_.key}")
        data = {
            **(self.model_extra or {}),
            "organization": self.organization,
            "name": f"league {self.name} round {round_.key}",
            "visibility": self.visibility,
            "contest": self.contest or self.name,
            "window": {"start": round_.start.isoformat(), "end": round_.end.isoformat()},
            "strategies": list(handles),
        }
        return parse_spec(data, source=f"league {self.name}")


@dataclass(frozen=True)
class Round:
    league: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The round's name: its window's first day."""
        return self.start.date().isoformat()


# -- cadence arithmetic (UTC) ------------------------------------------------------------------------------
def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def floor_to_boundary(moment: datetime, cadence: str) -> datetime:
    """The last cadence boundary at or before `moment`: midnight, Monday midnight, or the 1st of the month."""
    midnight = _utc(moment.astimezone(timezone.utc).date())
    if cadence == "daily":
        return midnight
    if cadence == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    return midnight.replace(day=1)


def add_periods(boundary: datetime, cadence: str, periods: int) -> datetime:
    """`boundary` moved by `periods` cadence periods (negative: back)."""
    if cadence == "daily":
        return boundary + timedelta(days=periods)
    if cadence == "weekly":
        return boundary + timedelta(weeks=periods)
    months = boundary.year * 12 + boundary.month - 1 + periods
    return boundary.replace(year=months // 12, month=months % 12 + 1)


# -- reading templates -------------------------------------------------------------------------------------
def parse_league(data: Any, source: str) -> LeagueTemplate:
    """Validate a template; InputError names the file and the field. The first round's job spec is built, so
    a wrong job field (a market, a timeframe) is refused here, not at the first tick."""
    if not isinstance(data, dict):
        raise InputError(source, "a league template must be a mapping of fields")
    try:
        league = LeagueTemplate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "template"
        raise InputError(f"{source}: {field}", first["msg"].removeprefix("Value error, ")) from None
    sample = league.strategies or ["bx/cash"]  # an all-approved league's first round needs some participant
    first_round = Round(league.name, _utc(league.start), league.first_round_end)
    try:
        league.round_spec(first_round, sample)
    except InputError as exc:
        raise InputError(f"{source}: {exc.where.removeprefix(f'league {league.name}: ')}", exc.problem) from None
    return league


def load_league(path: str | Path) -> LeagueTemplate:
    """Read a league template file (YAML or JSON, the same limits as a job spec)."""
    return parse_league(load_document(read_spec_file(path), str(path)), str(path))


def load_leagues(folder: Path | None = None) -> list[LeagueTemplate]:
    """Every template under `folder` (default: BX_LEAGUES_DIR or data/leagues), by file name; two with one name
    are refused."""
    leagues: dict[str, LeagueTemplate] = {}
    for path in sorted(Path(folder or leagues_dir()).glob("*.y*ml")):
        league = load_league(path)
        if league.name in leagues:
            raise InputError(f"{path}: name", f"league name {league.name!r} is used by another template")
        leagues[league.name] = league
    return list(leagues.values())


def find_league(name: str, folder: Path | None = None) -> LeagueTemplate:
    for league in load_leagues(folder):
        if league.name == name:
            return league
    known = ", ".join(league.name for league in load_leagues(folder)) or "none"
    raise InputError("NAME", f"no league {name!r} (leagues: {known})")
