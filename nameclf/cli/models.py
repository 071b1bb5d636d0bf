"""`nameclf info` and `nameclf models`: a model's card, and the list of models."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nameclf.cli.common import ModelOption, handled
from nameclf.cli.render import labels_word, out, print_card

INFO_EPILOG = "Examples: nameclf info  ·  nameclf info --model all --json"


def info(
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the card as one JSON object.")] = False,
) -> None:
    """Show a model's card: network, languages, vocabulary, data, validation figures, calibration, and what made it."""
    with handled():
        from nameclf.api import load
        from nameclf.cards import card

        figures = card(load(model).saved)
        if as_json:
            print(json.dumps(figures, ensure_ascii=False))
            return
        print_card(figures)


MODELS_EPILOG = "Examples: nameclf models  ·  nameclf models --json"


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
        for column in ("cell", "labels", "validation acc", "macro-F1"):
            right = column in ("validation acc", "macro-F1")
            table.add_column(column, justify="right" if right else "left", no_wrap=column != "labels")
        for row in rows:
            mark = "*" if row["latest"] else ""
            if "error" in row:
                table.add_row(mark, escape(row["model"]), "-", escape(row["error"]), "-", "-")
                continue
            languages = row["languages"]
            shown = (
                ", ".join(languages) if len(languages) <= 3 else f"{len(languages)} {labels_word(row['label_name'])}"
            )
            table.add_row(
                mark,
                escape(row["model"]),
                row["cell"] + (f" ×{row['members']}" if row["members"] > 1 else ""),
                escape(shown),
                f"{row['validation_accuracy']:.2%}" if row["validation_accuracy"] is not None else "-",
                f"{row['validation_macro_f1']:.3f}" if row["validation_macro_f1"] is not None else "-",
            )
        out.print(table, soft_wrap=False)
