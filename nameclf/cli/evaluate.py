"""`nameclf evaluate`: score a model on its test split or a labelled list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nameclf.cli.common import PLOT_INSTALL, DataOption, ModelOption, handled
from nameclf.cli.render import err, print_report

EPILOG = "Examples: nameclf evaluate --coverage 0.9  ·  nameclf evaluate --model all --plot evaluation.png"


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
        print_report(report, label(saved.path), skipped)
