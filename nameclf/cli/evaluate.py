"""`nameclf evaluate`: score a model on its test split or a labelled list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nameclf.cli.common import PLOT_INSTALL, DataOption, ModelOption, handled
from nameclf.cli.render import err, out, print_report

if TYPE_CHECKING:
    from nameclf.predict import Predictor

EPILOG = "Examples: nameclf evaluate --coverage 0.9  ·  nameclf evaluate --model all --plot evaluation.png"


def evaluate(
    model: ModelOption = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Your own labelled list: name<TAB>label per line (a label the model knows); or, with --column "
            "and --label-column, a table of people (CSV, TSV or Parquet), scored by people "
            "and by name beside the ceiling.",
        ),
    ] = None,
    column: Annotated[str | None, typer.Option(help="With a table: the column holding the names.")] = None,
    label_column: Annotated[str | None, typer.Option(help="With a table: the column holding the labels.")] = None,
    count_column: Annotated[
        str | None, typer.Option(help="With a table: how many people a row is.", show_default="one per row")
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
            "label, and their mean size.",
            metavar="C",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw the confusion matrix (by row) and the reliability diagram to this PNG, SVG or PDF "
            "(needs " + PLOT_INSTALL + " )",
            show_default="no picture",
        ),
    ] = None,
) -> None:
    """Score a model on its own test split, or on your labelled list, with its calibration."""
    with handled():
        from nameclf import plots
        from nameclf.api import load
        from nameclf.cards import label
        from nameclf.evaluate import evaluate_examples, read_labelled, test_examples
        from nameclf.paths import bundled_names_dir, default_data_dir

        plots.check(plot)
        predictor = load(model)
        saved = predictor.saved
        if column is not None or label_column is not None or count_column is not None:
            people_report(predictor, file, column, label_column, count_column, coverage, as_json)
            return
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
        print_report(report, label(saved.path), skipped, predictor.labels_are)


def people_report(
    predictor: Predictor,
    file: Path | None,
    column: str | None,
    label_column: str | None,
    count_column: str | None,
    coverage: float | None,
    as_json: bool,
) -> None:
    """`evaluate --file TABLE --column NAME --label-column LABEL [--count-column N]`: by people and by name."""
    from nameclf.cards import label
    from nameclf.errors import UsageError
    from nameclf.labelled import Columns, read_table
    from nameclf.options import PredictOptions
    from nameclf.people import evaluate_people

    if file is None or column is None or label_column is None:
        raise UsageError("a table needs --file TABLE, --column (the names) and --label-column (the labels)")
    coverage = PredictOptions(coverage=coverage if coverage is not None else 0.9).coverage
    table = read_table(file, Columns(column, label_column, count_column))
    figures = {**evaluate_people(predictor, table, coverage), "model": label(predictor.saved.path), "file": str(file)}
    if as_json:
        print(json.dumps(figures, ensure_ascii=False))
        return
    print_people(figures)


def print_people(figures: dict[str, Any]) -> None:
    """`evaluate` on a table of people: the figures by people and by name, each beside the ceiling."""
    table = Table(
        title=f"{escape(figures['model'])} on {escape(figures['file'])}: {figures['people']:,} people, "
        f"{figures['names']:,} names",
        title_justify="left",
    )
    columns = ["", "accuracy", "ceiling", "top-3", "ECE"]
    if figures["coverage"] is not None:
        columns += [f"in set at {figures['coverage']:g}", "labels per name"]
    for name in columns:
        table.add_column(name, justify="left" if not name else "right")
    for basis, shown in (("by_people", "by people"), ("by_name", "by name")):
        row = figures[basis]
        cells = [shown, f"{row['accuracy']:.3f}", f"{row['ceiling']:.3f}", f"{row['top_3']:.3f}"]
        cells.append(f"{row['ece']:.3f}")
        if figures["coverage"] is not None:
            cells += [f"{row['set_coverage']:.3f}", f"{row['mean_set_size']:.2f}"]
        table.add_row(*cells)
    out.print(table)
    if figures["unanswered_names"]:
        out.print(f"{figures['unanswered_names']:,} name(s) got no answer and count as wrong")
    if figures["labels_the_model_lacks"]:
        out.print(
            f"labels the model lacks (their people count as wrong): {', '.join(figures['labels_the_model_lacks'])}"
        )
