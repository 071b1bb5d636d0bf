"""The typer app: the global options, every command registered from its module, and `main`.

`main` builds only the command it is asked for (`nameclf predict ...` imports and converts the
predict module alone, not all nine): the other modules' imports and typer's conversion of their
options cost about a third of a cold `nameclf predict`. `nameclf --help`, a mistyped command and
shell completion get the whole app, `full_app()`, which is also `nameclf.cli.app` (for tests and
`typer.testing`).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from nameclf.cli.common import DEBUG_ENV, EXIT_CODES, RESPONSIBLE_USE, state
from nameclf.cli.render import err
from nameclf.errors import DataError, one_line
from nameclf.version import __version__

# every command, in the order `nameclf --help` lists them: name -> (module, function, epilog);
# each is a plain function in its own module under nameclf.cli
COMMANDS = {
    "download": ("download", "download", "EPILOG"),
    "train": ("train", "train", "EPILOG"),
    "predict": ("predict", "predict", "EPILOG"),
    "explain": ("explain", "explain", "EPILOG"),
    "evaluate": ("evaluate", "evaluate", "EPILOG"),
    "info": ("models", "info", "INFO_EPILOG"),
    "models": ("models", "models", "MODELS_EPILOG"),
    "compare": ("compare", "compare", "EPILOG"),
    "serve": ("serve", "serve", "EPILOG"),
}
# options that come before the command and take no value (so the next word is the command)
GLOBAL_FLAGS = {"--debug", "--version"}


@functools.cache
def fold_help_tables() -> None:
    """typer's options table with every column folding a word too long for it onto the next line, where
    rich's default cuts it with "…" (`--unidirectional` or a long default in an 80-column terminal):
    help may wrap, never lose words. Done only when help is drawn: importing typer's rich helpers costs
    a cold `nameclf predict` tens of milliseconds."""
    import typer.rich_utils
    from rich.table import Table

    class FoldingTable(Table):
        def add_row(self, *renderables: Any, **options: Any) -> None:
            while len(self.columns) < len(renderables):
                self.add_column(overflow="fold")
            super().add_row(*renderables, **options)

    # typer's help draws with the Table it imported from rich, a name typer does not export
    typer.rich_utils.Table = FoldingTable  # type: ignore[attr-defined]


def build(only: str | None = None) -> typer.Typer:
    """The app with every command, or with `only` that one (what `main` runs when argv names it)."""
    app = typer.Typer(
        name="nameclf",
        help="Tell where a surname comes from, with a character-level RNN, GRU or LSTM.\n\n" + RESPONSIBLE_USE,
        epilog=EXIT_CODES + "  Example: nameclf predict Tribbiani",
        rich_markup_mode="rich",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    app.callback()(main_options)
    for name, (module_name, function, epilog) in COMMANDS.items():
        if only is None or name == only:
            module = importlib.import_module(f"nameclf.cli.{module_name}")
            app.command(epilog=getattr(module, epilog))(getattr(module, function))
    return app


@functools.cache
def full_app() -> typer.Typer:
    fold_help_tables()  # the whole app is built for help, a mistyped command and completion
    return build()


def requested_command(argv: list[str]) -> str | None:
    """The command named on the command line, when it is one of ours and completion is not asking."""
    if any(key.endswith("_COMPLETE") for key in os.environ):
        return None
    for word in argv:
        if word in GLOBAL_FLAGS:
            continue
        return word if word in COMMANDS else None
    return None


def debug_first(argv: list[str]) -> list[str]:
    """`--debug` where a user puts it (`nameclf predict Rossi --debug`) moved before the command, where
    it is declared; after `--` it is a name like any other."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" not in argv[:end]:
        return argv
    return ["--debug", *(word for i, word in enumerate(argv) if not (word == "--debug" and i < end))]


def version_callback(value: bool) -> None:
    if value:
        print(f"nameclf {__version__}")
        raise typer.Exit()


def main_options(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.", envvar=DEBUG_ENV)] = False,
) -> None:
    """Tell where a surname comes from, with a character-level RNN, GRU or LSTM."""
    state["debug"] = debug


def main() -> None:
    if sys.stdout is None or sys.stderr is None:  # started with `>&-`: nowhere to answer
        raise SystemExit(DataError.exit_code)
    for stream in (sys.stdout, sys.stderr):  # a name that cannot be encoded must not crash the output
        with contextlib.suppress(AttributeError, ValueError):
            # TextIO has no reconfigure; the streams usually are TextIOWrappers, others are left as they are
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        arguments = debug_first(sys.argv[1:])
        if "--help" in arguments:
            fold_help_tables()
        only = requested_command(arguments)
        code = (build(only) if only else full_app())(args=arguments, standalone_mode=False)
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
