"""Errors as RFC 9457 problem details (`application/problem+json`) with a machine-readable `reason`."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

PROBLEM_TYPE = "https://bx-platform.dev/problems/"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
}


class Problem(BaseModel):
    """RFC 9457 problem details; `reason` is the machine-readable cause, `field` the input it concerns."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    reason: str
    instance: str | None = None
    field: str | None = None
    capability: str | None = None
    retry_after: int | None = None


class ProblemError(Exception):
    """Raised anywhere in a request; the app turns it into a problem response."""

    def __init__(self, status: int, reason: str, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail
        self.headers = headers or {}
        self.extra = {k: v for k, v in extra.items() if v is not None}


def problem_response(error: ProblemError, instance: str) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE + error.reason,
        "title": TITLES.get(error.status, "Error"),
        "status": error.status,
        "detail": error.detail,
        "reason": error.reason,
        "instance": instance,
        **error.extra,
    }
    return JSONResponse(body, status_code=error.status, headers=error.headers, media_type="application/problem+json")


def not_found(what: str) -> ProblemError:
    """The same answer whether the thing does not exist or belongs to someone else: existence is not disclosed."""
    return ProblemError(404, "not_found", f"no {what}")


# The problem responses every authenticated route may give, for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": TITLES[status]} for status in (401, 404, 422)
}
