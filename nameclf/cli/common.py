"""What every command shares: the help's texts, the options declared once, and how an error becomes
one line on stderr and an exit code."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from nameclf.choices import Experts, task_default_text
from nameclf.cli.render import err
from nameclf.errors import DataError, NameclfError, one_line
from nameclf.paths import DATA_ENV, MODEL_ENV

RESPONSIBLE_USE = (
    "A surname's language of origin says little about a person's nationality, ethnicity or identity: "
    "do not use nameclf to make decisions about individuals."
)
EXIT_CODES = (
    "Exit codes: 0 done (names that got no answer are marked in the output, and counted on stderr); "
    "1 internal error; 2 usage (a bad option); 3 data (a missing or unreadable file, no names at all, or "
    "no name answered); 4 network; 5 model (missing, damaged or too new); 130 interrupted; "
    "141 the reader of the output went away."
)


def _without_flag_metavar() -> None:
    """typer shows `<bool>` beside every flag, which takes no value: show nothing there instead."""
    from typer.core import TyperOption

    shown: Callable[[TyperOption, typer.Context], str | None] | None = getattr(TyperOption, "display_type_rich", None)
    if shown is None:
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    # a method only some typer versions have (0.28 has none: the getattr above returned), so not in every one's types
    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010


_without_flag_metavar()


# help is rich markup: `[plot]` would be read as a style tag and vanish, so the brackets are escaped
PLOT_INSTALL = escape("pip install 'nameclf[plot]'")  # in help, after a space: the line may break there
DASK_INSTALL = escape("pip install 'nameclf[dask]'")


ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="A shipped model (de-it, all) or a model folder.",
        envvar=MODEL_ENV,
        show_default="the last one trained, else de-it",
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option(help="Folder holding names/.", envvar=DATA_ENV, show_default="./data"),
]
ExpertsOption = Annotated[
    Experts | None,
    typer.Option(
        help="What the model is made of: the recurrent network and the character n-gram model combined "
        "(their weight chosen on validation names), or either alone.",
        show_default=task_default_text("experts"),
    ),
]
state = {"debug": False}
DEBUG_ENV = "NAMECLF_DEBUG"


def debug_enabled() -> bool:
    return state["debug"] or os.environ.get(DEBUG_ENV, "") not in ("", "0")


SIGPIPE_EXIT = 141  # what a shell reports for a program ended by SIGPIPE, as `cat big | head` does


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Turn errors into one red line and an exit code; with --debug, the traceback first."""
    try:
        yield
    except NameclfError as error:
        fail(f"[red]error:[/red] {escape(one_line(str(error)))}", error.exit_code)
    except KeyboardInterrupt:
        fail("[red]interrupted[/red]", 130)
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:  # the reader went away (`nameclf predict -f big.txt | head`): stop quietly
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        raise typer.Exit(SIGPIPE_EXIT) from None
    except OSError as error:  # the system refused (a name too long, a full disk...): not a bug of ours
        where = f" ({one_line(str(error.filename))})" if error.filename else ""
        reason = one_line(error.strerror or str(error))
        fail(
            f"[red]error:[/red] {escape(reason)}{escape(where)}; check that path, its permissions and the free space",
            DataError.exit_code,
        )
    except Exception as error:  # a bug: still one line, with the way to see more
        message = one_line(str(error))[:300]
        fail(
            f"[red]internal error:[/red] {escape(type(error).__name__)}: {escape(message)} "
            "(rerun with --debug for the traceback, and please report it)",
            1,
        )


def fail(line: str, code: int) -> NoReturn:
    """Print the traceback under --debug, then the one-line message, and exit with `code`."""
    if debug_enabled() and sys.exc_info()[0] is not None:
        err.print_exception()
    err.print(line)
    raise typer.Exit(code) from None


def _raise_interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def exit_for_answers(total: int, failed: int) -> None:
    """The one exit rule for names, whichever way they came (arguments, --file, stdin, --out; and
    `explain`): names without an answer are marked in the output and counted on stderr, and the exit
    is 3 only when no name got an answer. (No names at all is a DataError, exit 3, before this.)"""
    if not failed:
        return
    err.print(f"[yellow]{failed} of {total} name(s) got no answer (marked in the output)[/yellow]")
    if failed == total:
        raise typer.Exit(DataError.exit_code)
