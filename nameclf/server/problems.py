"""Errors as RFC 9457 problem details (`application/problem+json`), one shape for every status.

    {"type": "urn:nameclf:problem:too-many-names", "title": "Too many names", "status": 422,
     "detail": "1,001 names in one request; this server takes at most 1,000", "instance": "/v1/predict"}

`Problem` is raised anywhere in a request; the handlers in `install` turn it, FastAPI's validation
errors and Starlette's HTTP errors into that shape. A 500 is a bug: it is logged and answered in the
same shape, without the exception's text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from fastapi import FastAPI

MEDIA_TYPE = "application/problem+json"
SHOWN_ERRORS = 10  # field errors listed in a 422; the rest are counted

logger = logging.getLogger("nameclf.server")


class Problem(Exception):
    """An answer other than 2xx: `slug` names the kind (`urn:nameclf:problem:<slug>`), `detail` says
    what was wrong and how to mend it, in one line."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def body(status: int, slug: str | None, detail: str, instance: str | None = None, **extra: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": f"urn:nameclf:problem:{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        content["instance"] = instance
    content.update(extra)
    return content


def encoded(status: int, slug: str | None, detail: str, instance: str | None = None, **extra: Any) -> bytes:
    # ASCII: a detail may quote what a client sent, lone surrogates included, and must still encode
    return json.dumps(body(status, slug, detail, instance, **extra)).encode("ascii")


def response(
    status: int,
    slug: str | None,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    return Response(
        encoded(status, slug, detail, instance, **extra), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors without their inputs (a hostile body is not echoed back): where and what."""
    shown = []
    for error in errors[:SHOWN_ERRORS]:
        where = [str(part) for part in error.get("loc", ())]
        shown.append({"location": where, "message": str(error.get("msg", "invalid"))})
    return shown


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's 405 names only the first route's), with
    HEAD wherever GET is (nameclf.server.methods answers it): each method asked of the routes in turn."""
    from starlette.routing import Match

    routes = request.app.router.routes
    methods = {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    }
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    """The exception handlers that make every error a problem document."""
    from fastapi.exceptions import RequestValidationError

    async def on_problem(request: Request, problem: Problem) -> Response:
        return response(
            problem.status, problem.slug, problem.detail, request.url.path, problem.headers, **problem.extra
        )

    async def on_validation(request: Request, error: RequestValidationError) -> Response:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            context = next(e.get("ctx", {}) for e in errors if e.get("type") == "json_invalid")
            reason = str((context or {}).get("error", "")).rstrip(".") or "not JSON"
            return response(400, "malformed-json", f"the body is not valid JSON: {reason}", request.url.path)
        detail = "; ".join(
            f"{'.'.join(e['location'][1:] if len(e['location']) > 1 else e['location'])}: {e['message']}"
            for e in field_errors(errors)[:3]
        )
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return response(
            422,
            "invalid-request",
            f"{detail}{more}",
            request.url.path,
            errors=field_errors(errors),
            error_count=len(errors),
        )

    async def on_http(request: Request, error: StarletteHTTPException) -> Response:
        status = error.status_code
        if status == 400:  # FastAPI could not read the body: not UTF-8, or JSON nested too deep to parse
            cause = error.__cause__
            if isinstance(cause, UnicodeDecodeError):
                reason = "it is not UTF-8 text"
            elif isinstance(cause, RecursionError):
                reason = "it is nested too deeply"
            else:
                reason = "it could not be read"
            return response(400, "malformed-json", f"the body is not valid JSON: {reason}", request.url.path)
        if status == 404:
            detail = f"nothing at {request.url.path}; the API is under /v1 (see /docs)"
        elif status == 405:
            allowed = allowed_methods(request)
            choices = " or ".join([", ".join(allowed[:-1]), allowed[-1]] if len(allowed) > 1 else allowed)
            detail = f"{request.method} is not allowed on {request.url.path}; use {choices}"
            return response(status, None, detail, request.url.path, headers={"allow": ", ".join(allowed)})
        else:
            detail = str(error.detail)
        return response(status, None, detail, request.url.path, headers=getattr(error, "headers", None))

    async def on_bug(request: Request, error: Exception) -> Response:
        logger.exception("internal error on %s %s", request.method, request.url.path)
        return response(500, "internal-error", "internal error: please report it", request.url.path)

    # Starlette types every handler as taking any Exception, though it calls each only with its own class
    app.add_exception_handler(Problem, on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_bug)
