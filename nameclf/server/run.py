"""`nameclf serve`: check the settings, load the models, run uvicorn until SIGTERM or Ctrl-C.

Shutting down, uvicorn stops accepting connections, lets the requests in flight finish, then
returns; this process then exits 0. With `workers` > 1 uvicorn's supervisor starts that many
processes on one socket, each building its own app from the settings in the environment.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import logging
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any, Literal, TypedDict

from nameclf.errors import UsageError
from nameclf.server.settings import SETTINGS_ENV, Settings

logger = logging.getLogger("nameclf.server")


class _Options(TypedDict):
    """What `run` gives uvicorn.Config whatever the number of workers."""

    host: str
    port: int
    log_config: dict[str, Any]  # logging.config.dictConfig's schema, as uvicorn types it
    server_header: bool
    http: Literal["h11"]
    timeout_graceful_shutdown: int | None


def run(settings: Settings) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from nameclf.server.app import create_app

    if not 1 <= settings.workers <= 64:
        raise UsageError("--workers must be between 1 and 64")
    if not 0 <= settings.port <= 65535:
        raise UsageError("--port must be between 0 and 65535 (0: any free port)")
    app = create_app(settings)  # every model loads here, before the port opens: a bad folder fails now
    check_port(settings.host, settings.port)
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["nameclf.server"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    options = _Options(
        host=settings.host,
        port=settings.port,
        log_config=log_config,
        server_header=False,
        # h11 even where httptools is installed: h11 refuses a request head over 16 KB, httptools
        # read a 1 MB header line whole (tests/test_server_hostile.py); single names lose ~20%
        http="h11",
        timeout_graceful_shutdown=None,  # in-flight requests always finish
    )
    if settings.workers == 1:
        config = uvicorn.Config(app, **options)
    else:
        os.environ[SETTINGS_ENV] = settings.to_environment()
        config = uvicorn.Config(
            "nameclf.server.app:from_environment", factory=True, workers=settings.workers, **options
        )
    if settings.every_interface:
        logger.warning(
            "listening on every interface (%s): anyone who can reach this machine can use this server; "
            "bind 127.0.0.1 behind a reverse proxy instead (docs/serving.md, 'Behind a reverse proxy')",
            settings.host or "''",
        )
    described = ", ".join(m.name + (" (default)" if m.name == settings.default_model else "") for m in settings.models)
    logger.info("serving %s; the page at /, the API under /v1, its docs at /docs", described)
    if settings.workers == 1:
        with _quiet_after_shutdown():
            uvicorn.Server(config).run()
    else:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[config.bind_socket()]).run()


def check_port(host: str, port: int) -> None:
    """A one-line error, before uvicorn logs its own, when the address cannot be had: the port is taken
    or the host is not this machine's. Bound as uvicorn binds it (SO_REUSEADDR), then let go."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"port {port} on {host} is taken by another program; choose another with --port (0: any free one)"
                ) from None
            reason = error.strerror or str(error)
            raise UsageError(f"cannot listen on {host}:{port}: {reason}; check --host and --port") from None


@contextlib.contextmanager
def _quiet_after_shutdown() -> Iterator[None]:
    """uvicorn raises the signal it shut down on again, for the handler that was there before it; a
    handler that does nothing lets this process exit 0 once the requests in flight are answered."""
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, frame: None) for sig in handled}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
