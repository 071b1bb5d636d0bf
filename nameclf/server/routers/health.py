"""/healthz (the process answers) and /readyz (every served model is loaded and answers a name)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from nameclf.server import schemas

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=schemas.Health, summary="Alive")
async def healthz() -> dict[str, str]:
    """200 while the process is up: for a supervisor's liveness check."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=schemas.Readiness,
    responses={503: {"model": schemas.Readiness, "description": "A model does not answer"}},
    summary="Ready",
)
async def readyz(request: Request) -> JSONResponse:
    """200 when every served model is loaded and answers a name, else 503: for a load balancer."""
    answers = await anyio.to_thread.run_sync(request.app.state.catalogue.ready)
    ready = all(answers.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "models": answers}, status_code=200 if ready else 503
    )
