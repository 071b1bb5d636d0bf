"""`nameclf compare`: train each cell over seeds and compare them on validation data."""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from nameclf.cli.common import DataOption, ExpertsOption, _raise_interrupt, handled
from nameclf.cli.render import err, out

if TYPE_CHECKING:
    from nameclf.compare import CellSummary, Run

EPILOG = "Examples: nameclf compare --seeds 3  ·  nameclf compare --cells gru,lstm --languages all --json"


def compare(
    cells: Annotated[str, typer.Option(help="Comma-separated cells to compare.")] = "rnn,gru,lstm",
    languages: Annotated[str, typer.Option(help="Comma-separated languages, or `all`.")] = "German,Italian",
    seeds: Annotated[int, typer.Option(help="Train each cell with seeds 0 to N-1 (each its own split).")] = 3,
    data: DataOption = None,
    threads: Annotated[
        int | None,
        typer.Option(help="CPU threads for torch.", show_default="the OMP_NUM_THREADS variable, else 1"),
    ] = None,
    save: Annotated[
        Path | None, typer.Option(help="Also save every model here, as <cell>-seed<k>.", show_default="save nothing")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as one JSON object.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per run on stderr.")] = False,
    experts: ExpertsOption = None,
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

            def said(run: Run) -> None:
                if not quiet:
                    err.print(
                        f"{run.cell} seed {run.seed}: validation accuracy {run.validation_accuracy:.2%}, "
                        f"macro-F1 {run.validation_macro_f1:.3f}, {run.seconds:.1f} s"
                    )

            summaries = run_comparison(
                parse_cells(cells),
                seeds,
                languages,
                data,
                save_dir=save,
                threads=threads,
                on_run=said,
                **({"experts": experts.value} if experts is not None else {}),
            )
        finally:
            signal.signal(signal.SIGTERM, previous)
        if as_json:
            print(json.dumps({"languages": languages, "seeds": seeds, "cells": [s.to_dict() for s in summaries]}))
            return
        print_comparison(summaries, seeds, languages)


def print_comparison(summaries: Sequence[CellSummary], seeds: int, languages: str) -> None:
    """The validation figures as a table: for each cell, its network alone and combined with the n-gram
    model where both were trained, then the n-gram model alone; each row with its own parameters."""
    which = f"seeds 0-{seeds - 1}" if seeds > 1 else "seed 0"
    table = Table(title=f"validation figures, {which}, languages {languages}")
    for column in ("cell", "accuracy", "macro-F1", "train s", "parameters"):
        table.add_column(column, justify="left" if column == "cell" else "right")

    def figure(summary: CellSummary, name: str) -> str:  # one seed has no spread to show
        mean = f"{summary.mean(name):.3f}"
        return f"{mean} ± {summary.spread(name):.3f}" if seeds > 1 else mean

    def expert(summary: CellSummary, name: str, figure_name: str) -> str:
        mean, spread = summary.expert_figures(name, figure_name)
        return f"{mean:.3f} ± {spread:.3f}" if seeds > 1 else f"{mean:.3f}"

    both = bool(summaries) and {"rnn", "ngram"} <= set(summaries[0].experts())
    for summary in summaries:
        if both:  # the network alone, then the combination that is saved, side by side
            table.add_row(
                f"{summary.cell} alone",
                expert(summary, "rnn", "accuracy"),
                expert(summary, "rnn", "macro_f1"),
                "",
                f"{summary.runs[0].parameters:,}",
            )
        table.add_row(
            f"{summary.cell} + n-grams" if both else summary.cell,
            figure(summary, "validation_accuracy"),
            figure(summary, "validation_macro_f1"),
            f"{summary.mean('seconds'):.1f}",
            f"{summary.runs[0].parameters + round(summary.mean('ngram_parameters')):,}",
        )
    if both:  # the same n-gram model for every cell: fitted on each seed's training names
        first = summaries[0]
        table.add_row(
            "n-grams alone",
            expert(first, "ngram", "accuracy"),
            expert(first, "ngram", "macro_f1"),
            "",
            f"{round(first.mean('ngram_parameters')):,}",
        )
    out.print(table)
