"""What an API key may do, and the pure checks of a submission against it.

A key's capabilities are scoped, not blanket (docs/api.md, "Capabilities"): the job types it may submit, the
markets it covers (glob patterns on `venue:symbol`), the finest bar timeframe it may ask for, its frequency
limits, the strategy handles it may use and register, and whether it is an operator (admin) key. Every
check returns None (allowed) or a `Refusal` that the HTTP layer maps to an RFC 9457 problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Iterable

from bx_platform.errors import InputError
from bx_platform.jobs.spec import TIMEFRAME_SECONDS

PUBLIC_BENCHMARK, PRIVATE_EVALUATION, CONTEST = "public_benchmark", "private_evaluation", "contest"
JOB_TYPES = (PUBLIC_BENCHMARK, PRIVATE_EVALUATION, CONTEST)

# The capability names, as stored (one row per value) and as written on the command line (`name=value`).
JOB_TYPE, MARKET, FINEST_TIMEFRAME = "job_type", "market", "finest_timeframe"
KEY_JOBS_PER_HOUR, KEY_JOBS_PER_DAY = "jobs_per_hour", "jobs_per_day"
USE_STRATEGY, REGISTER_STRATEGY, ADMIN = "use_strategy", "register_strategy", "admin"
MULTI_VALUED = (JOB_TYPE, MARKET, USE_STRATEGY, REGISTER_STRATEGY)
SINGLE_VALUED = (FINEST_TIMEFRAME, KEY_JOBS_PER_HOUR, KEY_JOBS_PER_DAY, ADMIN)


@dataclass(frozen=True)
class Capabilities:
    """Empty pattern lists allow nothing; None limits are unlimited."""

    job_types: frozenset[str] = frozenset({PUBLIC_BENCHMARK})
    markets: tuple[str, ...] = ("*",)
    finest_timeframe: str = "1h"
    jobs_per_hour: int | None = 60
    jobs_per_day: int | None = 500
    use_strategies: tuple[str, ...] = ("bx/*",)
    register_strategies: tuple[str, ...] = ()
    admin: bool = False

    def to_rows(self) -> list[tuple[str, str]]:
        """(capability, value) pairs, the stored form."""
        rows = [(JOB_TYPE, t) for t in sorted(self.job_types)]
        rows += [(MARKET, m) for m in self.markets]
        rows += [(USE_STRATEGY, s) for s in self.use_strategies]
        rows += [(REGISTER_STRATEGY, s) for s in self.register_strategies]
        rows.append((FINEST_TIMEFRAME, self.finest_timeframe))
        for name, limit in ((KEY_JOBS_PER_HOUR, self.jobs_per_hour), (KEY_JOBS_PER_DAY, self.jobs_per_day)):
            if limit is not None:
                rows.append((name, str(limit)))
        if self.admin:
            rows.append((ADMIN, "true"))
        return rows

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> "Capabilities":
        values: dict[str, list[str]] = {}
        for name, value in rows:
            values.setdefault(name, []).append(value)
        single = {name: values[name][0] for name in SINGLE_VALUED if name in values}
        return cls(
            job_types=frozenset(values.get(JOB_TYPE, ())),
            markets=tuple(sorted(values.get(MARKET, ()))),
            finest_timeframe=single.get(FINEST_TIMEFRAME, "1d"),
            jobs_per_hour=int(single[KEY_JOBS_PER_HOUR]) if KEY_JOBS_PER_HOUR in single else None,
            jobs_per_day=int(single[KEY_JOBS_PER_DAY]) if KEY_JOBS_PER_DAY in single else None,
            use_strategies=tuple(sorted(values.get(USE_STRATEGY, ()))),
            register_strategies=tuple(sorted(values.get(REGISTER_STRATEGY, ()))),
            admin=single.get(ADMIN) == "true",
        )


def parse_capabilities(items: Iterable[str]) -> Capabilities:
    """Capabilities from `name=value` strings (the CLI's `--capability`); a name given replaces its default.

    Multi-valued names may repeat or take a comma list: `market=binance:*,coinbase:BTC/USD`.
    """
    given: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in MULTI_VALUED + SINGLE_VALUED:
            raise InputError(
                "--capability", f"{item!r}: expected NAME=VALUE with NAME one of {', '.join(MULTI_VALUED + SINGLE_VALUED)}"
            )
        parts = [v.strip() for v in value.split(",") if v.strip()] if name in MULTI_VALUED else [value.strip()]
        given.setdefault(name, []).extend(parts)
    defaults = Capabilities()
    single = {name: values[-1] for name, values in given.items() if name in SINGLE_VALUED}
    unknown_types = set(given.get(JOB_TYPE, ())) - set(JOB_TYPES)
    if unknown_types:
        raise InputError("--capability job_type", f"unknown {sorted(unknown_types)}; known: {', '.join(JOB_TYPES)}")
    timeframe = single.get(FINEST_TIMEFRAME, defaults.finest_timeframe)
    if timeframe not in TIMEFRAME_SECONDS:
        raise InputError("--capability finest_timeframe", f"{timeframe!r}; known: {', '.join(TIMEFRAME_SECONDS)}")
    return Capabilities(
        job_types=frozenset(given.get(JOB_TYPE, defaults.job_types)),
        markets=tuple(given.get(MARKET, defaults.markets)),
        finest_timeframe=timeframe,
        jobs_per_hour=_limit(single, KEY_JOBS_PER_HOUR, defaults.jobs_per_hour),
        jobs_per_day=_limit(single, KEY_JOBS_PER_DAY, defaults.jobs_per_day),
        use_strategies=tuple(given.get(USE_STRATEGY, defaults.use_strategies)),
        register_strategies=tuple(given.get(REGISTER_STRATEGY, defaults.register_strategies)),
        admin=_flag(single.get(ADMIN, "false")),
    )


def _limit(single: dict[str, str], name: str, default: int | None) -> int | None:
    if name not in single:
        return default
    if single[name] in ("none", "unlimited"):
        return None
    try:
        value = int(single[name])
    except ValueError:
        value = -1
    if value < 0:
        raise InputError(f"--capability {name}", f"{single[name]!r} is not a non-negative integer or 'unlimited'")
    return value


def _flag(value: str) -> bool:
    if value not in ("true", "false"):
        raise InputError("--capability admin", f"{value!r}: expected true or false")
    return value == "true"


@dataclass(frozen=True)
class KeyIdentity:
    """Who is calling: the key, its organization (never taken from a request body) and its capabilities."""

    key_id: str
    organization: str
    capabilities: Capabilities


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: an HTTP status, a machine-readable reason and a human sentence.

    `capability` names the capability that is missing (403); `retry_after` is in whole seconds (429);
    `context` carries the figures of the refusal (for a budget: the quote and the balance, in credits).
    """

    status: int
    reason: str
    detail: str
    capability: str | None = None
    retry_after: int | None = None
    context: dict[str, Any] = field(default_factory=dict)


def job_type(spec: Any) -> str:
    """A contest entry, a private evaluation or a public benchmark (in that order of precedence)."""
    if getattr(spec, "contest", None):
        return CONTEST
    private = spec.visibility == "private" or getattr(spec, "job_type", None) == PRIVATE_EVALUATION
    return PRIVATE_EVALUATION if private else PUBLIC_BENCHMARK


def check_submission(identity: KeyIdentity, spec: Any) -> Refusal | None:
    """The capability checks a submission must pass before anything else happens (pure, no store)."""
    caps = identity.capabilities
    if spec.organization != identity.organization:
        return Refusal(
            403,
            "organization_mismatch",
            f"the job names organization {spec.organization!r}, but this key belongs to {identity.organization!r}",
        )
    kind = job_type(spec)
    if kind not in caps.job_types:
        return _missing(JOB_TYPE, "job_type_not_allowed", f"this key may not submit {kind} jobs")
    for market in spec.markets:
        if not any(fnmatchcase(market.key, pattern) for pattern in caps.markets):
            return _missing(MARKET, "market_not_allowed", f"this key's market coverage excludes {market.key}")
    if TIMEFRAME_SECONDS[spec.timeframe] < TIMEFRAME_SECONDS[caps.finest_timeframe]:
        return _missing(
            FINEST_TIMEFRAME,
            "granularity_not_allowed",
            f"timeframe {spec.timeframe} is finer than this key's finest granularity {caps.finest_timeframe}",
        )
    for handle in spec.strategies:
        refusal = check_strategy_use(identity, handle)
        if refusal:
            return refusal
    return None


def check_strategy_use(identity: KeyIdentity, handle: str) -> Refusal | None:
    if any(fnmatchcase(handle, pattern) for pattern in identity.capabilities.use_strategies):
        return None
    return _missing(USE_STRATEGY, "strategy_not_allowed", f"this key may not use strategy handle {handle!r}")


def check_strategy_registration(identity: KeyIdentity, handle: str) -> Refusal | None:
    if any(fnmatchcase(handle, pattern) for pattern in identity.capabilities.register_strategies):
        return None
    return _missing(
        REGISTER_STRATEGY, "strategy_registration_not_allowed", f"this key may not register strategy handle {handle!r}"
    )


def check_admin(identity: KeyIdentity) -> Refusal | None:
    if identity.capabilities.admin:
        return None
    return _missing(ADMIN, "admin_required", "this operation needs an operator (admin) key")


def _missing(capability: str, reason: str, detail: str) -> Refusal:
    return Refusal(403, reason, f"{detail} (capability {capability!r})", capability=capability)
