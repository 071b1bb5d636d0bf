"""`nameclf serve`: the HTTP API and the page (the serve extra)."""

from __future__ import annotations

from typing import Annotated

import typer

from nameclf.cli.common import handled

EPILOG = "Examples: nameclf serve  ·  nameclf serve --model de-it --model all --port 8080"


def serve(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="A model to serve: a shipped one (de-it, all), a model folder (served under its folder's name) "
            "or NAME=FOLDER. Repeat for several; requests choose one by name, the first is the default.",
            show_default="the one predict uses",
            metavar="MODEL",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="The address to listen on; 0.0.0.0 is every interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port (0: any free one).")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes answering on the one port.", metavar="N")] = 1,
    max_names: Annotated[int, typer.Option(help="Names in one request; more get 422.", metavar="N")] = 1000,
    max_concurrent: Annotated[
        int, typer.Option(help="Predict and explain requests in flight per process; more get 503.", metavar="N")
    ] = 64,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Let pages from ORIGIN (https://app.example) call the API; repeat for several.", metavar="ORIGIN"
        ),
    ] = None,
) -> None:
    """Serve the API (under /v1, docs at /docs) and a web page (at /) over HTTP, until Ctrl-C or SIGTERM.

    Needs `pip install 'nameclf\\[serve]'`. Requests in flight are answered before it exits.
    """
    with handled():
        from nameclf.server import serve as run_server  # FastAPI is imported here only

        run_server(
            model,
            host=host,
            port=port,
            workers=workers,
            cors_origins=cors_origin,
            max_names=max_names,
            max_concurrent=max_concurrent,
        )
