"""The typer app, built once: the global options, every command registered from its module, and `main`."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer
from rich.markup import escape

from nameclf.cli import compare, download, evaluate, explain, models, predict, serve, train
from nameclf.cli.common import DEBUG_ENV, EXIT_CODES, RESPONSIBLE_USE, state
from nameclf.cli.render import err
from nameclf.errors import DataError, one_line
from nameclf.version import __version__

app = typer.Typer(
    name="nameclf",
    help="Tell where a surname comes from, with a character-level RNN, GRU or LSTM.\n\n" + RESPONSIBLE_USE,
    epilog=EXIT_CODES + "  Example: nameclf predict Tribbiani",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def version_callback(value: bool) -> None:
    if value:
        print(f"nameclf {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.", envvar=DEBUG_ENV)] = False,
) -> None:
    """Tell where a surname comes from, with a character-level RNN, GRU or LSTM."""
    state["debug"] = debug


# every command, in the order `nameclf --help` lists them; each is a plain function in its own module
app.command(epilog=download.EPILOG)(download.download)
app.command(epilog=train.EPILOG)(train.train)
app.command(epilog=predict.EPILOG)(predict.predict)
app.command(epilog=explain.EPILOG)(explain.explain)
app.command(epilog=evaluate.EPILOG)(evaluate.evaluate)
app.command(epilog=models.INFO_EPILOG)(models.info)
app.command(epilog=models.MODELS_EPILOG)(models.models)
app.command(epilog=compare.EPILOG)(compare.compare)
app.command(epilog=serve.EPILOG)(serve.serve)


def main() -> None:
    if sys.stdout is None or sys.stderr is None:  # started with `>&-`: nowhere to answer
        raise SystemExit(DataError.exit_code)
    for stream in (sys.stdout, sys.stderr):  # a name that cannot be encoded must not crash the output
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = app(standalone_mode=False)
    except Exception as error:
        if not (hasattr(error, "format_message") and hasattr(error, "exit_code")):
            raise
        # click's parsing errors (a bad option value, an unknown option): one line too, not a box
        context = getattr(error, "ctx", None)
        if type(error).__name__ == "NoArgsIsHelpError":
            # typer's rich help has printed itself while the error was made; click's plain one has not
            if help_text := error.format_message().strip():
                print(help_text)
            raise SystemExit(0) from None
        message = " ".join(one_line(line) for line in error.format_message().splitlines()).strip()
        if context is not None:  # `... 'predit'. Did you mean 'predict'?` reads on as a sentence
            message = message.rstrip(".") + ("" if message.endswith("?") else ".")
            message += f" See `{context.command_path} --help`."
        err.print(f"[red]error:[/red] {escape(message)}")
        raise SystemExit(error.exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)
