"""`nameclf predict`: names in (arguments, a file, stdin, a CSV column, a table), answers out."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from nameclf.choices import Backend, Device
from nameclf.cli.common import DASK_INSTALL, ModelOption, _raise_interrupt, exit_for_answers, handled
from nameclf.cli.render import PROGRESS_EVERY, err, progress, text_line
from nameclf.errors import UsageError
from nameclf.inputs import CsvSource, input_cells, names_from
from nameclf.options import UNFAMILIAR, PredictOptions

EPILOG = (
    "Examples: nameclf predict Tribbiani Müller -k 2  ·  "
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
    unfamiliar: Annotated[
        float,
        typer.Option(
            help="Flag a name as unfamiliar (unlike the training names) when its p-value is at most ALPHA: "
            "about that share of names like the training data's are flagged. The answer is not changed.",
            metavar="ALPHA",
        ),
    ] = UNFAMILIAR,
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
        from nameclf.api import load

        options = PredictOptions(top_k, min_confidence, coverage, unfamiliar)
        if out_file is not None or workers is not None or scheduler is not None:
            if backend != Backend.numpy or device is not None:  # every option is used or refused, none dropped
                raise UsageError("--out labels on numpy in each worker process: leave out --backend and --device")
            label_table(Table(file, column, out_file, workers, scheduler), names, model, options, as_json, as_csv)
            return

        if as_json and as_csv:
            raise UsageError("choose one of --json and --csv")
        device = device or Device.cpu
        if device != Device.cpu and backend != Backend.torch:
            raise UsageError(f"--device {device.value} needs --backend torch (the numpy backend runs on the CPU)")
        blank = [0]
        keep_rows = as_csv and column is not None  # CSV in, CSV out: every input column and row, results added
        source = names_from(file, column, names or [], blank, keep_rows=keep_rows)
        predictor = load(model, backend=backend.value, device=device.value)
        predictor.cutoff(options)  # a model that cannot honour the options fails before any name
        from nameclf.cards import label
        from nameclf.results import columns_for
        from nameclf.tables import csv_cells, csv_line, free_column

        answered_by = label(predictor.saved.path)
        stdout = sys.stdout  # the real one, bound before any progress display starts
        # rows end in "\n" as every other output here (csv's own "\r\n" is kept by `cut` and `awk` in the
        # last column)
        write_row = (lambda cells: stdout.write(csv_line(cells))) if as_csv else None
        header = source.header if isinstance(source, CsvSource) else ["name"]  # a CsvSource exactly when keep_rows
        total = failed = 0
        stream = predictor.predict_stream(source, options)
        with progress(file is not None, "names", writes_stdout=True) as update:
            for prediction in stream:
                total += 1
                if write_row is not None and total == 1:  # the header once a row follows: a table with none is an error
                    write_row(header + [free_column(c, header) for c in columns_for(predictor.labels_are)])
                if update is not None and total % PROGRESS_EVERY == 0:
                    update(total)
                failed += prediction.language is None and not prediction.abstained
                if as_json:
                    stdout.write(json.dumps({**prediction.to_dict(), "model": answered_by}, ensure_ascii=False) + "\n")
                elif write_row is not None:
                    first = input_cells(prediction.name, len(header)) if keep_rows else [prediction.name]
                    write_row(first + csv_cells(prediction))
                else:
                    stdout.write(text_line(prediction) + "\n")
        stdout.flush()
        if total == 0 and file is not None:
            from nameclf.inputs import no_names

            raise no_names(file, column)
        if blank[0]:
            err.print(f"{blank[0]} blank line(s) skipped")
        exit_for_answers(total, failed)


@dataclass(frozen=True)
class Table:
    """`predict --file T --column C --out O [--workers N | --scheduler ADDRESS]`: what labels a table."""

    file: Path | None
    column: str | None
    out_file: Path | None
    workers: int | None
    scheduler: str | None


def label_table(
    table: Table,
    names: list[str] | None,
    model: str | Path | None,
    options: PredictOptions,
    as_json: bool,
    as_csv: bool,
) -> None:
    """A table in, a table out, with the result columns of `predict --csv` (`nameclf.tables`)."""
    if table.out_file is None:
        raise UsageError("--workers and --scheduler write a table: give --out labelled.parquet (or .csv)")
    if table.file is None or table.column is None or names:
        raise UsageError("--out labels a table: give --file TABLE and --column NAME (and no names as arguments)")
    if as_json or as_csv:
        raise UsageError("--out writes its own format (by its suffix): leave out --json and --csv")
    from nameclf.api import load
    from nameclf.on_dask import label_file

    predictor = load(model)
    predictor.cutoff(options)  # a model that cannot honour the options: before any work
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with progress(True, "partitions") as update:
            labelled = label_file(
                table.file,
                table.column,
                table.out_file,
                predictor,
                options,
                workers=table.workers,
                scheduler=table.scheduler,
                on_partition=update,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    err.print(f"labelled {labelled.rows:,} rows into {escape(str(table.out_file))}")
    exit_for_answers(labelled.rows, labelled.unanswered)
