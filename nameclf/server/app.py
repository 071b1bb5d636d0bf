"""The app, assembled in one place: the served models, the routers, the error shape and the limits.

    app = create_app(settings)      # loads every model first: a bad folder fails here, not on a request

`from_environment` is the factory each worker process of `serve --workers N` calls.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from nameclf.server import problems
from nameclf.server.catalogue import Catalogue
from nameclf.server.limits import LimitsMiddleware
from nameclf.server.methods import HeadAsGet
from nameclf.server.routers import health, models, pages, predict
from nameclf.server.settings import Settings
from nameclf.version import __version__

DESCRIPTION = """Which language a surname comes from, with calibrated probabilities, abstention,
prediction sets and per-character explanations, from nameclf's numpy predictor. Every error is an
RFC 9457 problem document (`application/problem+json`).

A surname's language of origin says little about a person's nationality, ethnicity or identity: do
not use it to make decisions about individuals."""


def create_app(settings: Settings) -> FastAPI:
    settings.limits.check()
    app = FastAPI(
        title="nameclf",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,  # served by routers/pages.py from the package, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.catalogue = Catalogue(settings.models)
    problems.install(app)
    for router in (predict.router, models.router, health.router, pages.router):
        app.include_router(router)
    pages.mount_static(app)
    app.add_middleware(LimitsMiddleware, limits=settings.limits)
    app.add_middleware(HeadAsGet)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST"],
            allow_headers=["content-type"],
            expose_headers=["retry-after"],
            max_age=600,
        )
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:  # FastAPI's own type for the schema
    """FastAPI's schema, with the problem document every error refers to."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        from nameclf.server.schemas import Problem

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema()
        app.openapi_schema = schema
    return app.openapi_schema


def from_environment() -> FastAPI:
    return create_app(Settings.from_environment())
