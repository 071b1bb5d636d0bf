"""`nameclf serve`: an HTTP API (/v1) and a web page (/) over the numpy predictor, on FastAPI under
uvicorn. An optional extra, `pip install 'nameclf[serve]'`; nothing else in nameclf imports it.

    from nameclf.server import serve
    serve(["de-it", "all"], port=8000)          # what `nameclf serve --model de-it --model all` runs

The modules: settings (what the operator chose), app (assembly), catalogue (models by name),
schemas (request and response models), problems (RFC 9457 errors), limits (the middleware that
protects the server), routers/ (one per area) and static/ (the page).
"""

from __future__ import annotations

from nameclf.errors import UsageError

INSTALL = "pip install 'nameclf[serve]'"


def require_serve() -> None:
    """A one-line error naming the install when the extra is missing."""
    try:
        import fastapi  # noqa: F401
        import fastapi_offline  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise UsageError(
            f"nameclf serve needs {error.name or 'FastAPI'}, which is not installed; install it with `{INSTALL}`"
        ) from None


def serve(
    models: list[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    cors_origins: list[str] | None = None,
    **limits: int | float,
) -> None:
    """Serve `models` (shipped names, folders or NAME=FOLDER; the first is the default) until SIGTERM
    or Ctrl-C; returns once the requests in flight are answered. `limits` are `Limits` fields
    (`max_names=1000`, `max_concurrent=64`, `body_seconds=10`, ...)."""
    require_serve()
    from nameclf.server.run import run
    from nameclf.server.settings import Limits, Settings, served_models

    checked = Limits(**limits)  # type: ignore[arg-type]
    checked.check()
    settings = Settings(
        models=served_models(models),
        host=host,
        port=port,
        workers=workers,
        cors_origins=tuple(cors_origins or ()),
        limits=checked,
    )
    run(settings)
