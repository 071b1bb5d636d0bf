"""The command line: parse options, call one stage's function, print. Nothing else lives here.

torch is imported only inside `train` (and `predict --backend torch`), so `--help`, `--version`,
`download`, `predict` and `evaluate` never pay for it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nameclf import __version__
from nameclf.choices import Backend, Cell, Device, Impl, SharedNames, task_default_text
from nameclf.errors import DataError, NameclfError, UsageError
from nameclf.paths import DATA_ENV, MODEL_ENV
from nameclf.reporting import Reporter

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
app = typer.Typer(
    name="nameclf",
    help="Tell where a surname comes from, with a character-level RNN, GRU or LSTM.\n\n" + RESPONSIBLE_USE,
    epilog=EXIT_CODES + "  Example: nameclf predict Tribbiani",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _without_flag_metavar() -> None:
    """typer shows `<bool>` beside every flag, which takes no value: show nothing there instead."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich


_without_flag_metavar()
# help is rich markup: `[plot]` would be read as a style tag and vanish, so the brackets are escaped
PLOT_INSTALL = escape("pip install 'nameclf[plot]'")
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
# NO_COLOR (no-color.org) means plain text: no colour, and no bold or dim either
_styles = {"color_system": None} if os.environ.get("NO_COLOR") else {}
out = Console(highlight=False, soft_wrap=True, **_styles)
err = Console(stderr=True, highlight=False, soft_wrap=True, **_styles)
state = {"debug": False}
DEBUG_ENV = "NAMECLF_DEBUG"


def debug_enabled() -> bool:
    return state["debug"] or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def one_line(message: str) -> str:
    """A message on one line, whatever a path or name inside it holds."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


SIGPIPE_EXIT = 141  # what a shell reports for a program ended by SIGPIPE, as `cat big | head` does


@contextlib.contextmanager
def handled():
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


def fail(line: str, code: int):
    """Print the traceback under --debug, then the one-line message, and exit with `code`."""
    if debug_enabled() and sys.exc_info()[0] is not None:
        err.print_exception()
    err.print(line)
    raise typer.Exit(code) from None


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


# --- download -----------------------------------------------------------------------------------


@app.command(epilog="Examples: nameclf download  ·  nameclf download --dest ~/names-data --force")
def download(
    url: Annotated[
        str | None, typer.Option(help="Archive to fetch.", show_default="the PyTorch tutorial's data.zip")
    ] = None,
    dest: Annotated[
        Path | None, typer.Option(help="Folder to put names/ in.", envvar=DATA_ENV, show_default="./data")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if the dataset is there.")] = False,
    no_fallback: Annotated[
        bool, typer.Option("--no-fallback", help="Fail instead of installing the bundled copy when offline.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Fetch the names dataset into [bold]DEST/names/[/bold] and show what it holds."""
    with handled():
        from nameclf import download as downloader

        result = downloader.download(
            url or downloader.DEFAULT_URL, dest, force=force, fallback=not no_fallback, progress=not quiet, console=err
        )
        if result.message:
            err.print(f"[yellow]{escape(result.message)}[/yellow]")
        where = {"url": "downloaded to", "bundled": "installed to", "existing": "already in"}[result.source]
        table = Table(title=f"names dataset {where} {result.names_dir}")
        table.add_column("language")
        table.add_column("names", justify="right")
        table.add_column("unique names", justify="right")
        for language, names, unique in result.summary:
            table.add_row(language, str(names), str(unique))
        table.add_row(
            "[bold]total[/bold]",
            str(sum(row[1] for row in result.summary)),
            str(sum(row[2] for row in result.summary)),
        )
        out.print(table)
        if result.source == "existing":
            err.print("use --force to download it again")


# --- train --------------------------------------------------------------------------------------


class RichReporter(Reporter):
    """A progress bar over epochs and batches, and one line per epoch, on stderr."""

    def __init__(self, console: Console):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.progress.live.is_started:
            self.progress.stop()

    def member(self, index: int, members: int) -> None:
        if members > 1:
            self.progress.console.print(f"member {index + 1} of {members}")

    def start(self, epochs: int, batches: int) -> None:
        if hasattr(self, "epochs"):  # the next member of an ensemble: the same bars, from zero
            self.progress.reset(self.epochs, total=epochs)
            self.progress.reset(self.batches, total=batches)
            return
        # drawn from the first epoch, not before, and only on a terminal: an error found while preparing
        # (a bad --out, no dataset) is then the only line, with no empty display printed above it
        if self.console.is_terminal:
            self.progress.start()
        self.epochs = self.progress.add_task("epochs", total=epochs)
        self.batches = self.progress.add_task("batches", total=batches)

    def batch(self) -> None:
        self.progress.advance(self.batches)

    def epoch(self, record: dict) -> None:
        self.progress.console.print(
            f"epoch {record['epoch']:3d}  loss {record['loss']:.4f}  "
            f"train {record['train_accuracy']:.2%}  validation {record['validation_accuracy']:.2%}"
        )
        self.progress.advance(self.epochs)
        self.progress.reset(self.batches)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@app.command(epilog="Examples: nameclf train  ·  nameclf train --languages all --plot curves.png")
def train(
    cell: Annotated[
        Cell | None,
        typer.Option(
            help="Recurrent cell (the gru_*/lstm_* variants need --impl scratch).",
            show_default=task_default_text("cell"),
        ),
    ] = None,
    impl: Annotated[Impl, typer.Option(help="torch: fused nn.* cells; scratch: the seeds' equations.")] = Impl.torch,
    hidden: Annotated[
        int | None, typer.Option(help="Hidden units per direction.", show_default=task_default_text("hidden"))
    ] = None,
    layers: Annotated[
        int | None, typer.Option(help="Stacked recurrent layers.", show_default=task_default_text("layers"))
    ] = None,
    bidirectional: Annotated[
        bool | None,
        typer.Option(
            "--bidirectional/--unidirectional",
            help="Read names both ways.",
            show_default=task_default_text("bidirectional"),
        ),
    ] = None,
    dropout: Annotated[
        float | None, typer.Option(help="Dropout between stacked layers.", show_default=task_default_text("dropout"))
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Most epochs to train.", show_default=task_default_text("epochs"))
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Stop after this many epochs without validation gain.", show_default=task_default_text("patience")
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Names per batch (each batch holds names of one length).", show_default=task_default_text("batch_size")
        ),
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.", show_default=task_default_text("lr"))] = None,
    average: Annotated[
        float | None,
        typer.Option(
            help="Validate and save a moving average of the weights with this decay; 0: off.",
            show_default=task_default_text("average"),
        ),
    ] = None,
    char_dropout: Annotated[
        float | None,
        typer.Option(
            help="Share of training characters swapped for the unknown slot.",
            show_default=task_default_text("unknown_rate"),
        ),
    ] = None,
    label_smoothing: Annotated[
        float | None,
        typer.Option(
            help="Share of each target spread over all languages.", show_default=task_default_text("label_smoothing")
        ),
    ] = None,
    fold_case: Annotated[
        bool | None,
        typer.Option(
            "--fold-case/--keep-case",
            help="Lower-case names before reading them.",
            show_default=task_default_text("fold_case"),
        ),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option(
            help="1: one network; K: an ensemble of K networks, each validated on its own fold of train+validation.",
            show_default=task_default_text("members"),
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the split, the initial weights and the shuffling.")] = 0,
    device: Annotated[Device, typer.Option(help="auto tries cuda, then mps, then cpu.")] = Device.auto,
    threads: Annotated[
        int | None,
        typer.Option(help="CPU threads for torch (see the README).", show_default="$OMP_NUM_THREADS, else 1"),
    ] = None,
    languages: Annotated[str, typer.Option(help="Comma-separated languages, or `all`.")] = "German,Italian",
    shared_names: Annotated[
        SharedNames, typer.Option(help="Names in several languages: drop them, keep them as multi-label, or auto.")
    ] = SharedNames.auto,
    data: DataOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Model folder (env var NAMECLF_MODELS: the folder that replaces ./models).",
            show_default="./models/<cell>-<languages>",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw the learning curves (loss and accuracy per epoch, the kept epoch marked) to this "
            "PNG, SVG or PDF (needs `" + PLOT_INSTALL + "`).",
            show_default="no picture",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something goes wrong.")] = False,
) -> None:
    """Train a classifier and save it as the model [bold]predict[/bold] and [bold]evaluate[/bold] use."""
    with handled():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            from nameclf import plots
            from nameclf.training import TrainConfig
            from nameclf.training import train as run_training

            plots.check(plot)

            config = TrainConfig(
                cell=cell.value if cell is not None else None,
                impl=impl.value,
                hidden=hidden,
                layers=layers,
                bidirectional=bidirectional,
                dropout=dropout,
                epochs=epochs,
                patience=patience,
                batch_size=batch_size,
                lr=lr,
                average=average,
                unknown_rate=char_dropout,
                label_smoothing=label_smoothing,
                fold_case=fold_case,
                members=members,
                seed=seed,
                device=device.value,
                threads=threads,
                languages=languages,
                shared_names=shared_names.value,
            )
            import shlex

            command = shlex.join(["nameclf", *sys.argv[1:]])
            if quiet:
                result = run_training(config, data, out_dir, command=command)
            else:
                with RichReporter(err) as reporter:
                    result = run_training(config, data, out_dir, reporter=reporter, command=command)
        finally:
            signal.signal(signal.SIGTERM, previous)
        if plot is not None:
            best = [member["best_epoch"] for member in result.config["training"]["member_epochs"]]
            plots.learning_curves(result.history, best, plot, f"{result.model_dir}")
            if not quiet:
                err.print(f"wrote {plot}")
        if quiet:
            return
        metrics, training = result.config["metrics"], result.config["training"]
        print(
            f"saved {result.model_dir}  ({training['cell']}, {len(result.config['labels'])} languages, "
            f"{_epochs_text(result.config)}, "
            f"{'out-of-fold ' if len(training['member_epochs']) > 1 else ''}"
            f"validation accuracy {metrics['validation_accuracy']:.2%}, "
            f"{result.config['training_seconds']:.1f} s on {training['device']})"
        )


def _epochs_text(config: dict) -> str:
    members = config["training"]["member_epochs"]
    if len(members) == 1:
        return f"best epoch {members[0]['best_epoch']} of {members[0]['epochs_run']}"
    return f"{len(members)} members, best epochs {', '.join(str(m['best_epoch']) for m in members)}"


# --- predict ------------------------------------------------------------------------------------


class _CsvSource:
    """A CSV file's names, each carrying its whole row (`name.cells`), and the file's header."""

    def __init__(self, header: list[str], names):
        self.header, self._names = header, names

    def __iter__(self):
        return iter(self._names)


class _RowName(str):
    cells: list[str] = []


def _names_from(file: Path | None, column: str | None, names: list[str], blank: list[int], keep_rows: bool = False):
    """The names to classify: the arguments, or a file's lines (or a CSV column) streamed.

    Blank lines of a file are skipped and counted in `blank[0]`. With `keep_rows` (CSV in, CSV out) no
    row is skipped, and each name carries its row.
    """
    if file is None:
        if column is not None:
            raise UsageError("--column needs --file")
        if not names:
            raise UsageError("give names to classify, e.g. `nameclf predict Tribbiani`, or --file FILE")
        return iter(names)
    if names:
        raise UsageError("give names as arguments or with --file, not both")
    from nameclf.data import iter_text_lines
    from nameclf.frames import is_parquet

    if Path(file).exists() and is_parquet(file):  # a binary table: its bytes are no names
        named = f"--column {column}" if column is not None else "--column NAME"
        raise UsageError(f"{file} is a Parquet table; label it with `{named} --out labelled.parquet` (or labelled.csv)")

    def not_blank(values):
        for value in values:
            if isinstance(value, Unreadable) or value.strip():
                yield value
            else:
                blank[0] += 1

    from nameclf.predict import Unreadable

    lines = iter_text_lines(file)
    if column is None:
        if Path(file).suffix.lower() == ".csv":
            _refuse_a_table(file)
        return not_blank(lines)
    csv.field_size_limit(2**31 - 1)  # an over-long field becomes that row's error, not the batch's
    reader = _csv_rows(lines)
    header = next(reader, None)
    if header is None or column not in header:
        found = ", ".join(header or []) or "nothing"
        raise DataError(f"{file} has no column {column!r} (header: {found}); pass --column with one of them")
    position = header.index(column)
    if keep_rows:

        def with_rows():
            for row in reader:
                if isinstance(row, Unreadable):
                    yield row
                    continue
                if not row:  # an empty line is no row
                    blank[0] += 1
                    continue
                name = _RowName(row[position] if position < len(row) else "")
                name.cells = row
                yield name

        return _CsvSource(header, with_rows())
    return not_blank(
        row if isinstance(row, Unreadable) else row[position] if position < len(row) else "" for row in reader if row
    )


def _refuse_a_table(file: Path) -> None:
    """A .csv file whose first line has a comma is a table, not a list of names: say that it needs
    --column, rather than classify whole rows."""
    from nameclf.data import iter_text_lines

    first = next((line for line in iter_text_lines(file) if line.strip()), "")
    if "," in first:
        header = one_line(", ".join(next(csv.reader([first]))))
        header = header if len(header) <= 80 else header[:79] + "…"
        raise UsageError(f"{file} is a CSV table (header: {header}); pass --column with the one that holds the names")


def _csv_rows(lines):
    """csv.reader's rows; a row it cannot parse becomes an Unreadable marker instead of ending the stream."""
    from nameclf.predict import Unreadable

    reader = csv.reader(lines)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Unreadable.because(f"unreadable CSV row {reader.line_num}: {error}")


@app.command(
    epilog="Examples: nameclf predict Tribbiani Müller -k 2  ·  "
    "nameclf predict -f people.csv --column surname --csv --coverage 0.9"
)
def predict(
    names: Annotated[list[str] | None, typer.Argument(help="Names to classify.", show_default=False)] = None,
    model: ModelOption = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Show the k likeliest languages.")] = 1,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Classify a file: one name per line, `-` for stdin.")
    ] = None,
    column: Annotated[str | None, typer.Option(help="With --file: a CSV file's column holding the names.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header row.")] = False,
    backend: Annotated[Backend, typer.Option(help="numpy (no torch import) or torch.")] = Backend.numpy,
    device: Annotated[
        Device | None, typer.Option(help="With --backend torch: where to run.", show_default="cpu")
    ] = None,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            help="Answer `unsure` (with the likeliest candidates) when the top calibrated probability is below P.",
            show_default="answer every name",
            metavar="P",
        ),
    ] = None,
    coverage: Annotated[
        float | None,
        typer.Option(
            help="Also give each name a set of languages that holds its true one with probability C "
            "(e.g. 0.9): on average over names like the training data's, not for each name "
            "(split conformal prediction on validation names the temperature never saw).",
            show_default="no sets",
            metavar="C",
        ),
    ] = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="With --file and --column: write the table (Parquet or CSV, by suffix) with the result columns "
            "added, read and labelled in partitions (needs `" + DASK_INSTALL + "`).",
            show_default="print to stdout",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="With --out: label on a local Dask cluster of N worker processes.", metavar="N"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --out: label on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786).",
            metavar="ADDRESS",
        ),
    ] = None,
) -> None:
    """Say which language each name comes from. Probabilities are calibrated on validation names."""
    with handled():
        from nameclf.predict import Predictor

        if top_k < 1:
            raise UsageError("--top-k must be at least 1")
        if out_file is not None or workers is not None or scheduler is not None:
            if backend != Backend.numpy or device is not None:  # every option is used or refused, none dropped
                raise UsageError("--out labels on numpy in each worker process: leave out --backend and --device")
            options = (min_confidence, top_k, coverage, as_json, as_csv)
            _label_table(file, column, out_file, names, model, workers, scheduler, *options)
            return

        if as_json and as_csv:
            raise UsageError("choose one of --json and --csv")
        device = device or Device.cpu
        if device != Device.cpu and backend != Backend.torch:
            raise UsageError(f"--device {device.value} needs --backend torch (the numpy backend runs on the CPU)")
        blank = [0]
        keep_rows = as_csv and column is not None  # CSV in, CSV out: every input column and row, results added
        source = _names_from(file, column, names or [], blank, keep_rows=keep_rows)
        predictor = Predictor.load(model, backend=backend.value, device=device.value)
        from nameclf.cards import label
        from nameclf.frames import RESULT_COLUMNS, csv_cells, free_column

        answered_by = label(predictor.saved.path)
        stdout = sys.stdout  # the real one, bound before any progress display starts
        writer = csv.writer(stdout) if as_csv else None
        if writer is not None:
            header = source.header if keep_rows else ["name"]
            writer.writerow(header + [free_column(c, header) for c in RESULT_COLUMNS])
        total = failed = 0
        stream = predictor.predict_stream(source, top_k, min_confidence=min_confidence, coverage=coverage)
        with _progress(file is not None, "names", writes_stdout=True) as update:
            for prediction in stream:
                total += 1
                if update is not None and total % PROGRESS_EVERY == 0:
                    update(total)
                failed += prediction.language is None and not prediction.abstained
                if as_json:
                    stdout.write(json.dumps({**prediction.to_dict(), "model": answered_by}, ensure_ascii=False) + "\n")
                elif writer is not None:
                    first = _input_cells(prediction.name, len(source.header)) if keep_rows else [prediction.name]
                    writer.writerow(first + csv_cells(prediction))
                else:
                    stdout.write(_text_line(prediction) + "\n")
        stdout.flush()
        if total == 0 and file is not None:
            from nameclf.frames import no_names

            raise no_names(file, column)
        if blank[0]:
            err.print(f"{blank[0]} blank line(s) skipped")
        _exit_for_answers(total, failed)


def _exit_for_answers(total: int, failed: int) -> None:
    """The one exit rule for names, whichever way they came (arguments, --file, stdin, --out; and
    `explain`): names without an answer are marked in the output and counted on stderr, and the exit
    is 3 only when no name got an answer. (No names at all is a DataError, exit 3, before this.)"""
    if not failed:
        return
    err.print(f"[yellow]{failed} of {total} name(s) got no answer (marked in the output)[/yellow]")
    if failed == total:
        raise typer.Exit(DataError.exit_code)


def _label_table(
    file, column, out_file, names, model, workers, scheduler, min_confidence, top_k, coverage, as_json, as_csv
) -> None:
    """`predict --file T --column C --out O [--workers N | --scheduler ADDRESS]`: a table in, a table out,
    with the result columns of `predict --csv` (`nameclf.frames`)."""
    if out_file is None:
        raise UsageError("--workers and --scheduler write a table: give --out labelled.parquet (or .csv)")
    if file is None or column is None or names:
        raise UsageError("--out labels a table: give --file TABLE and --column NAME (and no names as arguments)")
    if as_json or as_csv:
        raise UsageError("--out writes its own format (by its suffix): leave out --json and --csv")
    from nameclf.dask import label_file
    from nameclf.predict import Predictor

    predictor = Predictor.load(model)
    predictor.predict([], top_k, min_confidence, coverage)  # a bad --min-confidence or --coverage: before any work
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with _progress(True, "partitions") as update:
            options = {"min_confidence": min_confidence, "top_k": top_k, "coverage": coverage}
            labelled = label_file(file, column, out_file, predictor, workers, scheduler, on_partition=update, **options)
    finally:
        signal.signal(signal.SIGTERM, previous)
    err.print(f"labelled {labelled.rows:,} rows into {escape(str(out_file))}")
    _exit_for_answers(labelled.rows, labelled.unanswered)


def _input_cells(name, width: int) -> list[str]:
    """The input row a name came from, padded to the header's width (an unreadable row: empty cells)."""
    cells = list(getattr(name, "cells", []))
    return cells + [""] * (width - len(cells))


PROGRESS_EVERY = 4096  # names between two updates of the count: one predict_stream batch


@contextlib.contextmanager
def _progress(wanted: bool, what: str, writes_stdout: bool = False):
    """On stderr, when it is a terminal: a count of `what` done, and a bar once the total is known.
    Yields `update(done, total=None)`, or None when nothing is shown.

    The display never touches stdout (rich's Progress would redirect it to its own console, stderr,
    by default), and it redraws four times a second from its own thread, so the caller only updates
    a count. When the results go to stdout and stdout is a terminal too, the answers themselves show
    the progress, and nothing is drawn over them."""
    if not (wanted and err.is_terminal) or (writes_stdout and sys.stdout.isatty()):
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn(f"{{task.completed:,}} {what}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        refresh_per_second=4,
    ) as progress:
        task = progress.add_task(what, total=None)
        yield lambda done, total=None: progress.update(task, completed=done, total=total)


def _text_line(prediction) -> str:
    shown = prediction.name.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    shown = "".join(ch if ch.isprintable() else "\ufffd" for ch in shown)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    in_set = f"  set: {', '.join(prediction.set)}" if prediction.set is not None else ""
    if prediction.abstained:
        candidates = "  ".join(f"{language} {p:.1%}" for language, p in prediction.top)
        return f"{shown:<20}  unsure  ({candidates}){in_set}"
    if prediction.language is None:
        reason = prediction.error or prediction.warning or "no answer"
        return f"{shown:<20}  -  ({reason})"
    answer = "  ".join(f"{language} {p:.1%}" for language, p in prediction.top)
    line = f"{shown:<20}  {answer}{in_set}"
    if prediction.warning:
        line += f"  ({prediction.warning})"
    return line


# --- explain ------------------------------------------------------------------------------------


@app.command(epilog="Examples: nameclf explain Tribbiani  ·  nameclf explain Schwarzenegger --model all --json")
def explain(
    names: Annotated[list[str], typer.Argument(help="Names to explain.", show_default=False)],
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show how much each character moved the answer, and the most telling run of 2-4 characters.

    Each character in turn is hidden (read as one the model never saw) and the name scored again: its
    contribution is the drop in the answer's calibrated log-probability, in nats (0.69 halves it).
    Green characters point to the answer, red ones away from it.
    """
    with handled():
        from nameclf.cards import label
        from nameclf.explain import explain as explain_names
        from nameclf.predict import Predictor

        predictor = Predictor.load(model)
        answered_by = label(predictor.saved.path)
        failed = 0
        for explanation in explain_names(predictor, names):
            failed += explanation.language is None
            if as_json:
                print(json.dumps({**explanation.to_dict(), "model": answered_by}, ensure_ascii=False))
            else:
                _print_explanation(explanation)
        _exit_for_answers(len(names), failed)


def _contribution_style(value: float, scale: float) -> str:
    share = value / scale if scale > 0 else 0.0
    if share >= 0.5:
        return "bold green"
    if share >= 0.15:
        return "green"
    if share <= -0.5:
        return "bold red"
    if share <= -0.15:
        return "red"
    return "dim"


def _print_explanation(explanation) -> None:
    from rich.text import Text

    shown = one_line(explanation.name)
    if explanation.language is None:
        out.print(Text(f"{shown}  -  ({explanation.error or explanation.warning or 'no answer'})"))
        return
    scale = max(abs(value) for _, value in explanation.characters)
    line = Text()
    for character, value in explanation.characters:
        line.append(one_line(character), style=_contribution_style(value, scale))
    line.append(f"  {explanation.language} {explanation.probability:.1%}")
    if explanation.substring is not None:
        telling = explanation.substring
        line.append(f"  most telling: {one_line(telling['text'])!r} {_nats(telling['contribution'])}")
    if explanation.warning:
        line.append(f"  ({explanation.warning})")
    out.print(line)
    out.print(Text("  " + "  ".join(f"{one_line(c)} {_nats(v)}" for c, v in explanation.characters)))


def _nats(value: float) -> str:
    """A contribution: two decimals, or two digits in scientific form for a small one (a sure answer's
    characters each move its log-probability by little)."""
    return f"{value:+.2f}" if abs(value) >= 0.005 or value == 0 else f"{value:+.1e}"


# --- evaluate -----------------------------------------------------------------------------------


@app.command(epilog="Examples: nameclf evaluate --coverage 0.9  ·  nameclf evaluate --model all --plot evaluation.png")
def evaluate(
    model: ModelOption = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Your own labelled list: name<TAB>language per line.")
    ] = None,
    data: DataOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object.")] = False,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            help="Also report the share of names answered at this top calibrated probability, and their accuracy.",
            metavar="P",
        ),
    ] = None,
    coverage: Annotated[
        float | None,
        typer.Option(
            help="Also report how often the prediction sets at this coverage (e.g. 0.9) hold the true "
            "language, and their mean size.",
            metavar="C",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw the confusion matrix (by row) and the reliability diagram to this PNG, SVG or PDF "
            "(needs `" + PLOT_INSTALL + "`).",
            show_default="no picture",
        ),
    ] = None,
) -> None:
    """Score a model on its own test split, or on your labelled list, with its calibration."""
    with handled():
        from nameclf import plots
        from nameclf.cards import label
        from nameclf.checkpoint import load, resolve_model_dir
        from nameclf.evaluate import evaluate_examples, read_labelled, test_examples
        from nameclf.paths import bundled_names_dir, default_data_dir
        from nameclf.predict import Predictor

        plots.check(plot)
        saved = load(resolve_model_dir(model))
        predictor = Predictor(saved)
        skipped = 0
        if file is not None:
            examples, skipped = read_labelled(file, saved.labels)
            source = str(file)
        else:
            data_dir = data if data is not None else default_data_dir()
            if data is None and not (data_dir / "names").is_dir():
                data_dir = bundled_names_dir().parent  # no dataset downloaded: the copy that ships with nameclf
            examples = test_examples(saved, data_dir)
            source = "test split"
        report = evaluate_examples(predictor, examples, source, min_confidence, coverage)
        if plot is not None:
            plots.evaluation(report.to_dict(), plot, f"{label(saved.path)} on {source} ({report.count} names)")
            err.print(f"wrote {plot}")
        if as_json:
            print(json.dumps({**report.to_dict(), "model": label(saved.path), "skipped_lines": skipped}))
            return
        _print_report(report, label(saved.path), skipped)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _print_report(report, model: str, skipped: int) -> None:
    out.print(
        f"[bold]{escape(model)}[/bold] on {escape(report.source)}: {_count(report.count, 'name')}, "
        f"accuracy [bold]{report.accuracy:.2%}[/bold], macro-F1 {report.macro_f1:.3f}"
    )
    if skipped:
        out.print(f"{skipped} line(s) skipped (not name<TAB>language, or a language the model does not know)")
    _print_calibration(report.calibration)
    if report.abstention is not None:
        figures = report.abstention
        accuracy = figures["accuracy_answered"]
        out.print(
            f"at --min-confidence {figures['min_confidence']:g}: answered {figures['coverage']:.1%} "
            f"({figures['answered']} names), accuracy on those "
            + (f"[bold]{accuracy:.2%}[/bold]" if accuracy is not None else "- (none answered)")
        )
    if report.sets is not None:
        figures = report.sets
        out.print(
            f"at --coverage {figures['coverage']:g}: the set held the true language for "
            f"[bold]{figures['empirical_coverage']:.1%}[/bold] of names, mean set size {figures['mean_set_size']:.2f} "
            f"of {len(report.labels)} languages"
        )
    per = Table(title="per language")
    for column in ("language", "precision", "recall", "F1", "names"):
        per.add_column(column, justify="left" if column == "language" else "right")
    left_out = []
    for index, (language, figures) in enumerate(report.per_language.items()):
        predicted = sum(row[index] for row in report.confusion)
        if not figures["support"] and not predicted:  # in no name and no answer: nothing to score
            left_out.append(language)
            continue
        scored = figures["support"] > 0  # recall and F1 need names of the language (macro-F1 skips it too)
        per.add_row(
            language,
            f"{figures['precision']:.3f}" if predicted else "-",
            f"{figures['recall']:.3f}" if scored else "-",
            f"{figures['f1']:.3f}" if scored else "-",
            str(figures["support"]),
        )
    out.print(per)
    if left_out:
        out.print(f"not shown, with no names and no answers: {', '.join(left_out)}")
    out.print(_confusion_table(report))


MATRIX_LANGUAGES = 6  # up to this many a full matrix fits 80 columns; beyond, each language's top confusions


def _confusion_table(report) -> Table:
    """The full matrix for a few languages; for more, per true language the share answered right and
    the three languages it is most often taken for, which stays readable at 80 columns."""
    columns = report.labels + (["none"] if report.unanswered else [])
    if len(report.labels) <= MATRIX_LANGUAGES:
        confusion = Table(title="confusion (rows: true, columns: predicted)")
        confusion.add_column("")
        for label in columns:
            confusion.add_column(label, justify="right")
        for label, row in zip(report.labels, report.confusion):
            confusion.add_row(label, *[str(value) for value in row[: len(columns)]])
        return confusion
    confusion = Table(title="confusions (per true language: right, and most often taken for)")
    confusion.add_column("language")
    confusion.add_column("names", justify="right")
    confusion.add_column("right", justify="right")
    confusion.add_column("most often taken for")
    for index, (label, row) in enumerate(zip(report.labels, report.confusion)):
        total = sum(row)
        if not total:
            continue
        wrong = sorted(
            ((count, columns[j]) for j, count in enumerate(row[: len(columns)]) if j != index and count),
            key=lambda item: -item[0],
        )[:3]
        taken = ", ".join(f"{name} {count / total:.0%}" for count, name in wrong) or "-"
        confusion.add_row(label, str(total), f"{row[index] / total:.0%}", taken)
    return confusion


def _print_calibration(figures: dict) -> None:
    before = figures["before"]
    line = "ECE {ece:.3f}, NLL {nll:.3f}, Brier {brier:.3f}"
    if not figures["calibrated"]:
        out.print(f"uncalibrated (saved without a temperature; retrain to calibrate): {line.format(**before)}")
        return
    after = figures["after"]
    out.print(
        f"calibration, temperature {figures['temperature']:.2f}: before {line.format(**before)}; "
        f"after {line.format(**after)}"
    )


# --- info and models -----------------------------------------------------------------------------


@app.command(epilog="Examples: nameclf info  ·  nameclf info --model all --json")
def info(
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the card as one JSON object.")] = False,
) -> None:
    """Show a model's card: network, languages, vocabulary, data, validation figures, calibration, and what made it."""
    with handled():
        from nameclf.cards import card
        from nameclf.checkpoint import load, resolve_model_dir

        figures = card(load(resolve_model_dir(model)))
        if as_json:
            print(json.dumps(figures, ensure_ascii=False))
            return
        _print_card(figures)


def _print_card(figures: dict) -> None:
    """The card as a panel on a terminal, its values wrapped to the width and never cut; piped, as plain
    `field  value` lines of any length, for grep and for reading in a file."""
    network, data, metrics = figures["network"], figures["data"], figures["metrics"]
    calibration, training, made = figures["calibration"], figures["training"], figures["made_by"]
    members = f", {network['members']} members" if network["members"] > 1 else ""
    direction = "bidirectional" if network["bidirectional"] else "unidirectional"
    parameters = f"{network['parameters']:,}" if isinstance(network["parameters"], int) else "?"

    def share(value) -> str:
        return f"{value:.2%}" if isinstance(value, (int, float)) else "-"

    sizes = data.get("sizes") or {}
    macro_f1 = metrics.get("validation_macro_f1")
    fields = [
        (
            "network",
            f"{network['cell']}, {network['layers']} layer(s) of {network['hidden']}, {direction}{members}; "
            f"{parameters} parameters",
        ),
        ("languages", f"{len(figures['languages'])}: {', '.join(figures['languages'])}"),
        (
            "vocabulary",
            f"{figures['vocabulary']['size']} slots (one for unknown characters)"
            + (", names lower-cased" if figures["vocabulary"]["fold_case"] else ""),
        ),
        (
            "data",
            f"fingerprint {str(data.get('fingerprint'))[:16]}, split seed {data.get('split_seed')}, "
            + ", ".join(f"{k} {v:,}" for k, v in sizes.items()),
        ),
        (
            "validation",
            f"accuracy {share(metrics.get('validation_accuracy'))}, macro-F1 "
            + (f"{macro_f1:.3f}" if isinstance(macro_f1, float) else "-"),
        ),
        (
            "calibration",
            f"temperature {calibration['temperature']:.2f}, prediction sets from "
            f"{calibration['prediction_set_names']} held-out names"
            if calibration["temperature"] is not None
            else "none (answers at T = 1)",
        ),
        (
            "training",
            f"{training.get('seconds') or '?'} s on {training.get('device')}, best epoch "
            f"{training.get('best_epoch')} of {training.get('epochs_run')}, seed {training.get('seed')}",
        ),
        ("made by", f"{made.get('command') or '-'} ({made.get('nameclf')})"),
    ]
    if not out.is_terminal:
        print(figures["model"])
        for name, value in fields:
            print(f"  {name:<12} {value}")
        return
    from rich.panel import Panel
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in fields:
        grid.add_row(name, Text(value))
    out.print(Panel(grid, title=escape(figures["model"]), expand=False), soft_wrap=False)


@app.command(epilog="Examples: nameclf models  ·  nameclf models --json")
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the shipped models and those trained in the models folder ($NAMECLF_MODELS, else ./models)."""
    with handled():
        from nameclf.cards import listing

        rows = listing()
        if as_json:
            print(json.dumps(rows, ensure_ascii=False))
            return
        table = Table(title="models (* answers without --model)")
        table.add_column("", width=1, no_wrap=True)  # the mark, in a column of its own: it never wraps alone
        table.add_column("model", overflow="fold")  # a path is folded if it must be, never cut short
        for column in ("cell", "languages", "validation acc", "macro-F1"):
            right = column in ("validation acc", "macro-F1")
            table.add_column(column, justify="right" if right else "left", no_wrap=column != "languages")
        for row in rows:
            mark = "*" if row["latest"] else ""
            if "error" in row:
                table.add_row(mark, escape(row["model"]), "-", escape(row["error"]), "-", "-")
                continue
            languages = row["languages"]
            shown = ", ".join(languages) if len(languages) <= 3 else f"{len(languages)} languages"
            table.add_row(
                mark,
                escape(row["model"]),
                row["cell"] + (f" ×{row['members']}" if row["members"] > 1 else ""),
                escape(shown),
                f"{row['validation_accuracy']:.2%}" if row["validation_accuracy"] is not None else "-",
                f"{row['validation_macro_f1']:.3f}" if row["validation_macro_f1"] is not None else "-",
            )
        out.print(table, soft_wrap=False)


# --- compare ------------------------------------------------------------------------------------


@app.command(epilog="Examples: nameclf compare --seeds 3  ·  nameclf compare --cells gru,lstm --languages all --json")
def compare(
    cells: Annotated[str, typer.Option(help="Comma-separated cells to compare.")] = "rnn,gru,lstm",
    languages: Annotated[str, typer.Option(help="Comma-separated languages, or `all`.")] = "German,Italian",
    seeds: Annotated[int, typer.Option(help="Train each cell with seeds 0 to N-1 (each its own split).")] = 3,
    data: DataOption = None,
    threads: Annotated[
        int | None,
        typer.Option(help="CPU threads for torch.", show_default="$OMP_NUM_THREADS, else 1"),
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="Also save every model here, as <cell>-seed<k>.", show_default="save nothing")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per run on stderr.")] = False,
) -> None:
    """Train each cell over several seeds at the task's defaults and compare them on validation data.

    Every figure is a validation figure (the test split is never read), so the result can be used to
    choose a cell. Mean ± spread (standard deviation over seeds).
    """
    with handled():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            from nameclf.compare import compare as run_comparison
            from nameclf.compare import parse_cells

            def said(run) -> None:
                if not quiet:
                    err.print(
                        f"{run.cell} seed {run.seed}: validation accuracy {run.validation_accuracy:.2%}, "
                        f"macro-F1 {run.validation_macro_f1:.3f}, {run.seconds:.1f} s"
                    )

            summaries = run_comparison(
                parse_cells(cells), seeds, languages, data, save_dir=save, threads=threads, on_run=said
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
        if as_json:
            print(json.dumps({"languages": languages, "seeds": seeds, "cells": [s.to_dict() for s in summaries]}))
            return
        which = f"seeds 0-{seeds - 1}" if seeds > 1 else "seed 0"
        table = Table(title=f"validation figures, {which}, languages {languages}")
        for column in ("cell", "accuracy", "macro-F1", "train s", "parameters"):
            table.add_column(column, justify="left" if column == "cell" else "right")

        def figure(summary, name: str) -> str:  # one seed has no spread to show
            mean = f"{summary.mean(name):.3f}"
            return f"{mean} ± {summary.spread(name):.3f}" if seeds > 1 else mean

        for summary in summaries:
            table.add_row(
                summary.cell,
                figure(summary, "validation_accuracy"),
                figure(summary, "validation_macro_f1"),
                f"{summary.mean('seconds'):.1f}",
                f"{summary.runs[0].parameters:,}",
            )
        out.print(table)


# --- serve --------------------------------------------------------------------------------------


@app.command(epilog="Examples: nameclf serve  ·  nameclf serve --model de-it --model all --port 8080")
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
        typer.Option(help="Let pages from ORIGIN (https://app.example) call the API; repeat for several.", metavar="ORIGIN"),
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


if __name__ == "__main__":
    main()
