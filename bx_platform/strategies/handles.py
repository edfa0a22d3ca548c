"""The registry of strategy handles: who may name which strategy, and what exactly a job pins.

A handle is an opaque name a job spec lists. Three kinds (docs/strategies.md):
- `builtin`: `bx/...`, the platform's own strategies (`registry.py`), usable by everyone, never registered;
- `package`: an installed Python distribution exposing a strategy class through the entry-point group
  `bx_platform.strategies`, run in a sandboxed child process (`sandbox.py`);
- `remote`: an HTTP endpoint speaking the JSON contract (`remote.py`).
Package and remote handles are registered by their owner organization, `private` (only the owner's jobs may name
them) or `approved` (any organization's jobs may). A handle is `owner/name`: its prefix is its owner, so no
organization can take another's names. Registering an existing handle again adds a revision; a job pins the
revision current at its submission, with the package version and distribution hash or the model version, and
always runs that revision. The registry lives in the job-store database (SQLite by default, PostgreSQL by URL).
Endpoint URLs and credentials are stored (the credential sealed with BX_SECRETS_KEY) and never leave it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import EntryPoint, entry_points

import sqlalchemy as sa

from bx_platform.errors import InputError
from bx_platform.jobs.store import JobStore, create_tables

# Strategies themselves (numpy, polars) are imported where they are used, not here: every `bx` command loads this
# module to build its parser.

BUILTIN, PACKAGE, REMOTE = "builtin", "package", "remote"
PRIVATE, APPROVED = "private", "approved"
VISIBILITIES = (PRIVATE, APPROVED)
ENTRY_POINT_GROUP = "bx_platform.strategies"
BUILTIN_OWNER = "bx"
HANDLE_PATTERN = re.compile(r"^([a-z0-9][a-z0-9_.-]*)/([a-z0-9][a-z0-9_.-]*)$")
SECRETS_KEY_ENV = "BX_SECRETS_KEY"

_metadata = sa.MetaData()

handles_table = sa.Table(
    "bx_strategy_handles",
    _metadata,
    sa.Column("handle", sa.String(200), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("organization", sa.String(200), nullable=False, index=True),
    sa.Column("visibility", sa.String(20), nullable=False),
    sa.Column("version", sa.String(200), nullable=False),  # the package's version, or the model version declared
    sa.Column("lookback", sa.Integer, nullable=False),
    sa.Column("distribution", sa.String(200)),  # package: the installed distribution
    sa.Column("sha256", sa.String(64)),  # package: sha256 of the distribution's RECORD (which hashes every file)
    sa.Column("entry_point", sa.String(200)),  # package: its name in ENTRY_POINT_GROUP
    sa.Column("endpoint", sa.Text),  # remote: base URL; never printed
    sa.Column("credential", sa.Text),  # remote: bearer token sealed with BX_SECRETS_KEY; never printed
    sa.Column("registered_at", sa.String(40), nullable=False),
)


@dataclass(frozen=True)
class Registration:
    handle: str
    revision: int
    kind: str
    organization: str
    visibility: str
    version: str
    lookback: int
    registered_at: str
    distribution: str | None = None
    sha256: str | None = None
    entry_point: str | None = None
    endpoint: str | None = field(default=None, repr=False)
    credential: str | None = field(default=None, repr=False)

    def pin(self) -> dict:
        """What a job record pins for this handle: enough to run exactly this revision, nothing secret."""
        pin = {"kind": self.kind, "revision": self.revision, "version": self.version, "lookback": self.lookback}
        if self.kind == PACKAGE:
            pin.update(distribution=self.distribution, sha256=self.sha256)
        return pin

    def public(self) -> dict:
        """The registration as it may be shown (`bx strategy list`, the API): no endpoint, no credential."""
        return {k: v for k, v in asdict(self).items() if k not in ("endpoint", "credential", "entry_point")}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class HandleRegistry:
    """Registered package and remote handles, in the job store's database."""

    def __init__(self, engine: sa.Engine | str | None = None):
        if engine is None or isinstance(engine, str):
            engine = JobStore(engine).engine
        self.engine = engine
        create_tables(_metadata, self.engine)

    # -- registration ----------------------------------------------------------------------------------
    def register(
        self,
        handle: str,
        organization: str,
        *,
        package: str | None = None,
        endpoint: str | None = None,
        visibility: str = PRIVATE,
        token: str | None = None,
    ) -> Registration:
        """Register (or add a revision of) a package handle (`package` = entry-point name) or a remote handle
        (`endpoint` = base URL; `token` an optional bearer credential). Raises InputError naming the field."""
        _check_handle(handle, organization)
        if visibility not in VISIBILITIES:
            raise InputError("visibility", f"must be one of {', '.join(VISIBILITIES)}, got {visibility!r}")
        if (package is None) == (endpoint is None):
            raise InputError("kind", "give exactly one of a package entry point or a remote endpoint")
        current = self.current(handle)  # the handle's prefix is its owner: a current registration is the owner's
        if package is not None:
            if token:
                raise InputError("token", "a package strategy takes no credential")
            details = _package_details(handle, package)
        else:
            details = _remote_details(endpoint, token)
        registration = Registration(
            handle=handle,
            revision=(current.revision + 1) if current else 1,
            organization=organization,
            visibility=visibility,
            registered_at=_now(),
            **details,
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(handles_table.insert().values(**asdict(registration)))
        except sa.exc.IntegrityError:  # another registration of the handle took this revision first
            raise InputError("handle", f"{handle!r} was registered by another call at the same time; register again") from None
        return registration

    # -- reading ---------------------------------------------------------------------------------------
    def current(self, handle: str) -> Registration | None:
        query = sa.select(handles_table).where(handles_table.c.handle == handle).order_by(handles_table.c.revision.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return Registration(**row) if row else None

    def at(self, handle: str, revision: int) -> Registration | None:
        query = sa.select(handles_table).where(handles_table.c.handle == handle, handles_table.c.revision == revision)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return Registration(**row) if row else None

    def listing(self, organization: str | None = None) -> list[Registration]:
        """Current revision of every handle, by name; with `organization`, only those its jobs may name."""
        latest = (
            sa.select(handles_table.c.handle, sa.func.max(handles_table.c.revision).label("revision"))
            .group_by(handles_table.c.handle)
            .subquery()
        )
        query = (
            sa.select(handles_table)
            .join(latest, sa.and_(handles_table.c.handle == latest.c.handle, handles_table.c.revision == latest.c.revision))
            .order_by(handles_table.c.handle)
        )
        with self.engine.connect() as conn:
            found = [Registration(**row) for row in conn.execute(query).mappings()]
        return [r for r in found if organization is None or _usable_by(r, organization)]

    # -- admission -------------------------------------------------------------------------------------
    def admit(self, organization: str, handles: list[str]) -> dict[str, dict]:
        """The pin of every handle a job of `organization` names, or InputError("strategies", ...) naming the
        first handle it may not use: only built-ins, approved handles and the organization's own."""
        from bx_platform.strategies import registry as builtins_registry

        pins = {}
        for handle in handles:
            if handle.startswith(BUILTIN_OWNER + "/"):
                builtins_registry.resolve(handle)
                pins[handle] = {"kind": BUILTIN}
                continue
            registration = self.current(handle)
            if registration is None:
                raise InputError("strategies", f"unknown strategy handle {handle!r}: not registered (`bx strategy list` shows the handles you may use)")
            if not _usable_by(registration, organization):
                raise InputError(
                    "strategies",
                    f"strategy handle {handle!r} is private to another organization and not approved for use by {organization!r}",
                )
            if registration.kind == PACKAGE:
                installed_package(registration)
            pins[handle] = registration.pin()
        return pins


def _usable_by(registration: Registration, organization: str) -> bool:
    return registration.visibility == APPROVED or registration.organization == organization


def _check_handle(handle: str, organization: str) -> None:
    match = HANDLE_PATTERN.match(handle)
    if not match:
        raise InputError("handle", f"{handle!r} is not `owner/name` (lower-case letters, digits, '.', '_', '-')")
    if match.group(1) == BUILTIN_OWNER:
        raise InputError("handle", f"the `{BUILTIN_OWNER}/` prefix is reserved for built-in strategies")
    if match.group(1) != organization:
        raise InputError("handle", f"{handle!r} must start with its owner organization: `{organization}/...`")


# -- packages --------------------------------------------------------------------------------------------
def _entry_point(name: str) -> EntryPoint:
    matches = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not matches:
        raise InputError("package", f"no installed package exposes {name!r} in the entry-point group {ENTRY_POINT_GROUP!r}")
    return next(iter(matches))


def _distribution_sha256(entry_point: EntryPoint) -> str:
    record = entry_point.dist.read_text("RECORD") if entry_point.dist else None
    if record is None:
        raise InputError("package", f"{entry_point.name!r} comes from a distribution without a RECORD; install it with pip (not editable)")
    return hashlib.sha256(record.encode()).hexdigest()


def _package_details(handle: str, name: str) -> dict:
    from bx_platform.strategies.base import StrategyViolation
    from bx_platform.strategies.sandbox import SandboxedStrategy

    entry_point = _entry_point(name)
    try:  # the lookback is read from the strategy in its sandbox: untrusted code never runs in this process
        with SandboxedStrategy(handle, entry_point.value) as probe:
            lookback = probe.lookback
    except StrategyViolation as violation:
        raise InputError("package", f"the strategy {name!r} did not start in its sandbox: {violation}") from None
    return {
        "kind": PACKAGE,
        "version": entry_point.dist.version,
        "lookback": lookback,
        "distribution": entry_point.dist.name,
        "sha256": _distribution_sha256(entry_point),
        "entry_point": name,
    }


def installed_package(registration: Registration) -> EntryPoint:
    """The registered entry point, checked to be the very distribution registered (version and file hashes)."""
    try:
        entry_point = _entry_point(registration.entry_point)
    except InputError:
        raise InputError(
            "strategies", f"{registration.handle!r}: its package ({registration.distribution} {registration.version}) is not installed"
        ) from None
    if (entry_point.dist.version, _distribution_sha256(entry_point)) != (registration.version, registration.sha256):
        raise InputError(
            "strategies",
            f"{registration.handle!r}: the installed package is not the one registered "
            f"({registration.distribution} {registration.version}); register it again",
        )
    return entry_point


# -- remote models ---------------------------------------------------------------------------------------
def _remote_details(endpoint: str, token: str | None) -> dict:
    from bx_platform.strategies.remote import fetch_declaration

    if not re.match(r"^https?://[^\s/]+", endpoint):
        raise InputError("endpoint", "must be an http:// or https:// URL")
    try:
        declared = fetch_declaration(endpoint, token)
    except Exception as error:  # any failure to read the declaration: say which, without the URL
        raise InputError("endpoint", f"could not read the model's declaration (GET /version): {type(error).__name__}: {_without(str(error), endpoint)}") from None
    return {
        "kind": REMOTE,
        "version": declared["model_version"],
        "lookback": declared["lookback"],
        "endpoint": endpoint,
        "credential": seal(token) if token else None,
    }


def _without(message: str, endpoint: str) -> str:
    return message.replace(endpoint.rstrip("/"), "<endpoint>")


def seal(token: str) -> str:
    return _fernet().encrypt(token.encode()).decode()


def unseal(sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()


def _fernet():
    from cryptography.fernet import Fernet

    key = os.environ.get(SECRETS_KEY_ENV)
    if not key:
        raise InputError("token", f"set {SECRETS_KEY_ENV} (a Fernet key) to store or use a strategy credential")
    return Fernet(key.encode())
