"""The BaaS HTTP API (FastAPI). Thin: every route authenticates the caller, then calls the application layer
(`bx_platform.pipeline`) or the control plane (`bx_platform.control`). docs/api.md describes it; the OpenAPI
document is committed as `bx_platform/api/openapi.json` and served at `/openapi.json`.

Visibility is enforced here, on every read: a private job, and everything derived from it, answers 404 to
any other organization (existence is not disclosed). Leaderboards are read from the public analyst store,
which physically holds public data only.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from pydantic import BaseModel, ConfigDict, Field

from bx_platform.api.problems import PROBLEM_RESPONSES, TITLES, Problem, ProblemError, not_found, problem_response
from bx_platform.control import audit, signing
from bx_platform.control.capabilities import KeyIdentity, Refusal, check_strategy_registration
from bx_platform.control.keys import authenticate
from bx_platform.control.metering import usage_statement
from bx_platform.control.store import open_engine
from bx_platform.errors import InputError
from bx_platform.jobs.leagues import find_league
from bx_platform.jobs.spec import parse_spec
from bx_platform.jobs.spec_input import MAX_SPEC_BYTES, load_document
from bx_platform.jobs.store import STATES, JobStore, StoredJob
from bx_platform.market.archive import default_archive_dir
from bx_platform.pipeline.leagues import read_standings
from bx_platform.pipeline.reports import job_report, leaderboard_page, strategy_page
from bx_platform.pipeline.submissions import submit_for
from bx_platform.strategies.handles import HandleRegistry
from bx_platform.warehouse.store import Warehouse

API_VERSION = "1.0.0"
SPEC_MEDIA_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml")
# The public pages: the leaderboard, and one page per strategy handle under this prefix.
LEADERBOARD_PAGE = "/leaderboard"
STRATEGY_PAGES = LEADERBOARD_PAGE + "/strategies/"
HTML_PAGE = {"content": {"text/html": {"schema": {"type": "string"}}}}


# How long an authenticated key is remembered by one server process: a revoked key stops working within this.
IDENTITY_TTL_SECONDS = 5.0


@dataclass
class Stores:
    jobs: JobStore
    control: sa.Engine
    warehouse: Warehouse
    archive_dir: Path
    identities: dict[str, tuple[float, KeyIdentity]] = field(default_factory=dict)

    def authenticate(self, secret: str) -> KeyIdentity | None:
        """The key's identity, remembered for IDENTITY_TTL_SECONDS (a status poll costs no key lookup)."""
        digest = hashlib.sha256(secret.encode()).hexdigest()
        now = time.monotonic()
        cached = self.identities.get(digest)
        if cached and now - cached[0] < IDENTITY_TTL_SECONDS:
            return cached[1]
        identity = authenticate(self.control, secret)
        if identity is None:
            self.identities.pop(digest, None)
            return None
        if len(self.identities) > 10_000:  # bounded: forget everything rather than grow
            self.identities.clear()
        self.identities[digest] = (now, identity)
        return identity


# -- response models (the OpenAPI document's schemas) -----------------------------------------------------
class Quote(BaseModel):
    model_config = ConfigDict(extra="allow")
    credits: float = Field(description="credits held for the job at submission")


class SubmittedJob(BaseModel):
    job_id: str
    status: str = Field(description="queued, running, complete, partial or failed")
    created: bool = Field(description="false when the same spec was already submitted: the same job is returned")
    quote: Quote
    balance: float = Field(description="the organization's balance in credits after the quote is held")


class JobStatus(BaseModel):
    job_id: str
    organization: str
    visibility: str
    name: str | None = None
    status: str = Field(description="queued, running, complete, partial or failed")
    submitted_at: str | None = None
    claimed_at: str | None = None
    finished_at: str | None = None


class JobList(BaseModel):
    jobs: list[JobStatus]
    limit: int
    offset: int
    next_offset: int | None = Field(description="the offset of the next page, or null on the last page")


class StrategyRegistration(BaseModel):
    """A handle to register: exactly one of `package` (an approved package's entry-point name) or `endpoint`
    (a remote model's base URL). The endpoint and the token are stored, never shown again."""

    model_config = ConfigDict(extra="forbid")
    handle: str = Field(min_length=3, max_length=100, description="`<your organization>/<name>`")
    package: str | None = Field(default=None, max_length=100)
    endpoint: str | None = Field(default=None, max_length=500)
    visibility: str = Field(default="private", pattern="^(private|approved)$")
    token: str | None = Field(default=None, max_length=500, description="bearer credential the model expects")


class RegisteredStrategy(BaseModel):
    """A registered handle as anyone may see it: no endpoint, no credential."""

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


class AuditEventOut(BaseModel):
    seq: int
    kind: str
    description: str = Field(description="the event in plain words, starting with its time")
    event: str = Field(description="the stored event: its canonical JSON, the bytes `hash` is the sha256 of")
    hash: str


class AuditTrail(BaseModel):
    """A job's audit trail (docs/verification.md): every event, chained by hashes."""

    job_id: str
    events: list[AuditEventOut]
    head_hash: str = Field(description="the hash of the last event")
    intact: bool = Field(description="true when every event matches its hash and links to the one before")


class SigningKey(BaseModel):
    key_id: str = Field(description="the first 16 hex digits of the sha256 of the raw public key")
    algorithm: str
    public_key: str = Field(description="the raw 32-byte public key, hex")
    public_key_pem: str


class SigningKeys(BaseModel):
    """The public keys that verify result manifests (`bx verify --public-key`)."""

    keys: list[SigningKey]


class Rows(BaseModel):
    """Rows of a public table, each an object of its columns."""

    rows: list[dict[str, Any]]


# -- the app ------------------------------------------------------------------------------------------------
def build_app() -> FastAPI:
    """The routes and error handlers, without stores: what the OpenAPI document is generated from."""
    app = FastAPI(
        title="BX Platform API",
        version=API_VERSION,
        description="Benchmark-as-a-Service for trading strategies: submit benchmark jobs, read their results, "
        "the public leaderboards and your usage. Authenticate with `Authorization: Bearer <API key>`.",
    )

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, error: ProblemError):
        return problem_response(error, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException):
        reason = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return problem_response(ProblemError(error.status_code, reason, str(error.detail), headers=error.headers), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return problem_response(ProblemError(422, "invalid_request", f"{where}: {first['msg']}", field=where), request.url.path)

    _routes(app)
    app.openapi = lambda: _openapi_with_problem_media_type(app)
    return app


def _openapi_with_problem_media_type(app: FastAPI) -> dict:
    """FastAPI documents every response model in the route's media type (application/json, or text/html for
    the pages); errors are application/problem+json."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    for media in ("application/json", "text/html"):
                        if status[0] in "45" and media in content:
                            content["application/problem+json"] = content.pop(media)
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(
    jobs_url: str | None = None,
    control_url: str | None = None,
    warehouse_root: Path | str | None = None,
    archive_dir: Path | str | None = None,
) -> FastAPI:
    """The API over the given stores (defaults: the environment's, as `bx` uses them)."""
    app = build_app()
    app.state.stores = Stores(
        jobs=JobStore(jobs_url),
        control=open_engine(control_url),
        warehouse=Warehouse(warehouse_root).ensure(),
        archive_dir=Path(archive_dir) if archive_dir else default_archive_dir(),
    )
    return app


def _stores(request: Request) -> Stores:
    return request.app.state.stores


# What a 401 asks for (RFC 6750).
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="bx"'}


async def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> KeyIdentity:
    """The authenticated key; 401 when missing, malformed, unknown or revoked."""
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise ProblemError(401, "unauthenticated", "send an API key as `Authorization: Bearer <key>`", headers=CHALLENGE)
    identity = _stores(request).authenticate(secret.strip())
    if identity is None:
        raise ProblemError(401, "invalid_key", "this API key is unknown or revoked", headers=CHALLENGE)
    return identity


Caller = Annotated[KeyIdentity, Depends(caller)]


def _refused(refusal: Refusal) -> ProblemError:
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    return ProblemError(
        refusal.status, refusal.reason, refusal.detail, headers=headers,
        capability=refusal.capability, retry_after=refusal.retry_after, **refusal.context,
    )


def _visible(stored: StoredJob | None, identity: KeyIdentity) -> StoredJob:
    """The job if the caller may see it: its own organization's, or public. Otherwise 404, as for no job."""
    if stored is None:
        raise not_found("such job")
    spec = stored.record["spec"]
    if spec["organization"] != identity.organization and spec["visibility"] != "public":
        raise not_found("such job")
    return stored


def _own(stored: StoredJob | None, identity: KeyIdentity) -> StoredJob:
    """The job if it is the caller's own organization's; 404 for anyone else, even for a public job."""
    if stored is None or stored.record["spec"]["organization"] != identity.organization:
        raise not_found("such job")
    return stored


def _status(stored: StoredJob) -> JobStatus:
    spec = stored.record["spec"]
    return JobStatus(
        job_id=stored.job_id, organization=spec["organization"], visibility=spec["visibility"], name=spec.get("name"),
        status=stored.state, submitted_at=stored.submitted_at, claimed_at=stored.claimed_at, finished_at=stored.finished_at,
    )


async def _spec_body(request: Request) -> Any:
    """The request body as plain values, JSON or YAML, never read past MAX_SPEC_BYTES (413), parsed by the same
    strict reader as spec files (duplicated keys, anchors, non-finite numbers refused: 400)."""
    media = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if media not in SPEC_MEDIA_TYPES:
        raise ProblemError(415, "unsupported_media_type", f"send the job spec as one of {', '.join(SPEC_MEDIA_TYPES)}, not {media}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_SPEC_BYTES:
        raise ProblemError(413, "spec_too_large", f"a job spec is at most {MAX_SPEC_BYTES} bytes; this one is {declared}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SPEC_BYTES:
            raise ProblemError(413, "spec_too_large", f"a job spec is at most {MAX_SPEC_BYTES} bytes")
    try:
        return load_document(bytes(body), "body")
    except InputError as error:
        raise ProblemError(400, "malformed_body", error.problem, field=error.where) from None


def _routes(app: FastAPI) -> None:
    @app.post(
        "/v1/jobs",
        status_code=201,
        response_model=SubmittedJob,
        responses={200: {"model": SubmittedJob, "description": "already submitted: the same job"},
                   **PROBLEM_RESPONSES, **{s: {"model": Problem} for s in (400, 403, 413, 415, 429)}},
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        }}},
        summary="Submit a benchmark job",
    )
    async def submit_job(request: Request, response: Response, identity: Caller) -> SubmittedJob:
        """Validate, quote and store a job for the caller's organization. The organization comes from the key;
        a body naming another one is refused. Idempotent: the same spec returns the same job (200)."""
        data = await _spec_body(request)
        if isinstance(data, dict):
            data.setdefault("organization", identity.organization)
        stores = _stores(request)
        try:
            spec = parse_spec(data)
            # admission reads the archive and writes the stores: off the event loop, so status reads go on
            outcome = await run_in_threadpool(submit_for, identity, spec, stores.jobs, stores.control, stores.archive_dir)
        except InputError as error:
            raise ProblemError(422, "invalid_spec", error.problem, field=error.where.removeprefix("spec: ")) from None
        if isinstance(outcome, Refusal):
            raise _refused(outcome)
        if not outcome.created:
            response.status_code = 200
        stored = stores.jobs.get(outcome.record["job_id"])
        return SubmittedJob(
            job_id=stored.job_id, status=stored.state, created=outcome.created,
            quote=Quote(**outcome.admission.quote.to_dict()), balance=outcome.admission.balance_millicredits / 1000,
        )

    @app.get("/v1/jobs", response_model=JobList, responses=PROBLEM_RESPONSES, summary="The caller's jobs")
    async def list_jobs(
        request: Request,
        identity: Caller,
        status: Annotated[str | None, Query(description="queued, running, complete, partial or failed", pattern="^(" + "|".join(STATES) + ")$")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> JobList:
        """The caller's organization's jobs, newest first, a page at a time."""
        page = _stores(request).jobs.list_jobs(organization=identity.organization, state=status, limit=limit + 1, offset=offset)
        return JobList(
            jobs=[_status(job) for job in page[:limit]], limit=limit, offset=offset,
            next_offset=offset + limit if len(page) > limit else None,
        )

    @app.get("/v1/jobs/{job_id}", response_model=JobStatus, responses=PROBLEM_RESPONSES, summary="A job's status")
    async def get_job(request: Request, job_id: str, identity: Caller) -> JobStatus:
        """Status and timestamps of one of the caller's jobs, or of a public job."""
        return _status(_visible(_stores(request).jobs.get(job_id), identity))

    @app.get(
        "/v1/jobs/{job_id}/result",
        responses={**PROBLEM_RESPONSES, 304: {"description": "not modified (If-None-Match)"},
                   409: {"model": Problem, "description": "the job has not finished"},
                   200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "the result document (docs/result.md)"}},
        summary="A job's result document",
    )
    async def get_result(
        request: Request, job_id: str, identity: Caller, if_none_match: Annotated[str | None, Header()] = None
    ) -> Response:
        """The versioned result document, with a strong ETag over its bytes."""
        stores = _stores(request)
        stored = _visible(stores.jobs.get(job_id), identity)
        document = stores.warehouse.read_result(job_id)
        if document is None:
            raise ProblemError(409, "not_finished", f"job {job_id} is {stored.state}: it has no result yet")
        body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        if if_none_match and etag in [tag.strip() for tag in if_none_match.split(",")]:
            return Response(status_code=304, headers={"ETag": etag})
        return Response(body, media_type="application/json", headers={"ETag": etag})

    @app.get(
        "/v1/jobs/{job_id}/audit", response_model=AuditTrail, responses=PROBLEM_RESPONSES, summary="A job's audit trail"
    )
    def get_audit(request: Request, job_id: str, identity: Caller) -> AuditTrail:
        """Every event of one of the caller's own jobs, in order, with its hash chain. Owner only: another
        organization gets 404, even for a public job."""
        stores = _stores(request)
        _own(stores.jobs.get(job_id), identity)
        events = audit.trail(stores.control, job_id)
        return AuditTrail(
            job_id=job_id,
            events=[AuditEventOut(seq=e.seq, kind=e.kind, description=audit.describe(e), event=e.body, hash=e.hash) for e in events],
            head_hash=audit.head_hash(events),
            intact=not audit.verify_chain(job_id, events),
        )

    @app.get("/v1/keys", response_model=SigningKeys, summary="The public keys that verify result manifests")
    def signing_keys() -> SigningKeys:
        """Public and unauthenticated: anyone holding a manifest must be able to check it."""
        public = signing.signing_key().public_key()
        return SigningKeys(keys=[SigningKey(
            key_id=signing.key_id(public), algorithm="Ed25519", public_key=signing.raw_public(public).hex(),
            public_key_pem=signing.public_pem(public),
        )])

    @app.get(
        "/v1/jobs/{job_id}/report",
        response_class=HTMLResponse,
        responses={**PROBLEM_RESPONSES, 409: {"model": Problem, "description": "the job has not finished"},
                   200: {**HTML_PAGE, "description": "the self-contained HTML report (docs/reports.md)"}},
        summary="A job's HTML report",
    )
    def get_report(request: Request, job_id: str, identity: Caller) -> HTMLResponse:
        """The job's self-contained HTML report, for its own organization only (any other caller: 404, even for
        a public job; the public pages are under /leaderboard)."""
        stores = _stores(request)
        stored = _own(stores.jobs.get(job_id), identity)
        html = job_report(job_id, stores.warehouse)
        if html is None:
            raise ProblemError(409, "not_finished", f"job {job_id} is {stored.state}: it has no report yet")
        return HTMLResponse(html)

    @app.get(
        LEADERBOARD_PAGE, response_class=HTMLResponse, summary="The public leaderboard page",
        responses={200: {**HTML_PAGE, "description": "the long-term board and the league standings (HTML)"}},
    )
    def public_leaderboard_page(request: Request) -> HTMLResponse:
        """Public data only, so no key is needed: the long-term board per market class and every league's
        standings, with tiers; each handle links to its page."""
        return HTMLResponse(leaderboard_page(_stores(request).warehouse, STRATEGY_PAGES))

    @app.get(
        STRATEGY_PAGES + "{owner}/{name}", response_class=HTMLResponse, summary="A strategy handle's public page",
        responses={404: {"model": Problem, "description": TITLES[404]}, 422: {"model": Problem, "description": TITLES[422]},
                   200: {**HTML_PAGE, "description": "the handle's board rows, public rooms and league rounds (HTML)"}},
    )
    def public_strategy_page(request: Request, owner: str, name: str) -> HTMLResponse:
        """The handle `owner/name`: its long-term board rows, its public rooms and its league rounds; 404 when it
        has none. No key needed."""
        html = strategy_page(_stores(request).warehouse, f"{owner}/{name}", STRATEGY_PAGES)
        if html is None:
            raise not_found("public strategy with this handle")
        return HTMLResponse(html)

    @app.get("/v1/leaderboards/long-term", response_model=Rows, responses=PROBLEM_RESPONSES, summary="The long-term public leaderboard")
    def long_term_board(request: Request, identity: Caller) -> Rows:
        """The credibility-weighted long-term board over public jobs."""
        return Rows(rows=_public_rows(request, "SELECT * FROM public_leaderboard ORDER BY rank"))

    @app.get("/v1/leaderboards/rooms/{job_id}", response_model=Rows, responses=PROBLEM_RESPONSES, summary="A public room's table")
    def room_board(request: Request, job_id: str, identity: Caller) -> Rows:
        """The ranked room of one public job."""
        query = "SELECT * FROM public_room_leaderboard WHERE job_id = ? ORDER BY rank"
        return Rows(rows=_public_rows(request, query, [job_id], missing="public room with this job id"))

    @app.get("/v1/leaderboards/contests/{contest}", response_model=Rows, responses=PROBLEM_RESPONSES, summary="A contest's standings")
    def contest_board(request: Request, contest: str, identity: Caller) -> Rows:
        """Duplicate-aware ContestScore standings of a public contest."""
        query = "SELECT * FROM public_contest_standings WHERE contest = ? ORDER BY cluster_rank, strategy"
        return Rows(rows=_public_rows(request, query, [contest], missing="public contest with this name"))

    @app.get("/v1/leagues/{name}/standings", response_model=Rows, responses=PROBLEM_RESPONSES, summary="A league's standings")
    def league_board(request: Request, name: str, identity: Caller) -> Rows:
        """Per round and cumulative standings of a league, with tiers (docs/leagues.md). A public league's are
        read by any key, from the public analyst store; a private league's only by its organization."""
        try:
            league = find_league(name)
        except InputError:
            raise not_found("league with this name") from None
        if league.visibility == "public":
            query = "SELECT * FROM public_league_standings WHERE league = ? ORDER BY round, rank"
            return Rows(rows=_public_rows(request, query, [league.name]))
        if league.organization != identity.organization:
            raise not_found("league with this name")
        standings = read_standings(_stores(request).warehouse, league.name)
        return Rows(rows=json.loads(json.dumps(standings.to_dicts(), default=str)))

    @app.post(
        "/v1/strategies", status_code=201, response_model=RegisteredStrategy,
        responses={**PROBLEM_RESPONSES, 400: {"model": Problem}, 403: {"model": Problem}}, summary="Register a strategy handle",
    )
    def register_strategy(request: Request, registration: StrategyRegistration, identity: Caller) -> RegisteredStrategy:
        """Register (or add a revision of) one of the caller's organization's handles; needs the key's
        `register_strategy` capability for the handle. The version is pinned: the package's distribution hash, or
        the model version the endpoint declares."""
        refusal = check_strategy_registration(identity, registration.handle)
        if refusal:
            raise _refused(refusal)
        try:
            registered = HandleRegistry(_stores(request).jobs.engine).register(
                registration.handle, identity.organization, package=registration.package,
                endpoint=registration.endpoint, visibility=registration.visibility, token=registration.token,
            )
        except InputError as error:
            raise ProblemError(422, "invalid_registration", error.problem, field=error.where) from None
        return RegisteredStrategy(**registered.public())

    @app.get("/v1/usage", responses=PROBLEM_RESPONSES, summary="The caller's usage statement")
    def usage(
        request: Request,
        identity: Caller,
        start: Annotated[datetime, Query(description="period start (ISO 8601, UTC)")],
        end: Annotated[datetime, Query(description="period end, exclusive")],
    ) -> dict[str, Any]:
        """Balances, credits granted and charged, and per-job usage of the caller's organization over [start, end)."""
        if start.tzinfo is None or end.tzinfo is None or end <= start:
            raise ProblemError(422, "invalid_period", "start and end must be timezone-aware and end after start", field="start")
        return usage_statement(_stores(request).control, identity.organization, start, end).to_dict()


def _public_rows(request: Request, query: str, parameters: list | None = None, missing: str | None = None) -> list[dict[str, Any]]:
    """Rows of the public analyst store as JSON values; 404 naming `missing` when there are none and it is given."""
    with _stores(request).warehouse.connect_public() as conn:
        cursor = conn.execute(query, parameters or [])
        columns = [c[0] for c in cursor.description]
        rows = [json.loads(json.dumps(dict(zip(columns, row)), default=str)) for row in cursor.fetchall()]
    if missing and not rows:
        raise not_found(missing)
    return rows
