"""`nameclf explain`: how much each character moved the answer."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from nameclf.cli.common import ModelOption, exit_for_answers, handled
from nameclf.cli.render import print_explanation

EPILOG = "Examples: nameclf explain Tribbiani  ·  nameclf explain Schwarzenegger --model all --json"


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
        from nameclf.api import load
        from nameclf.cards import label
        from nameclf.explain import explain as explain_names

        predictor = load(model)
        answered_by = label(predictor.saved.path)
        failed = 0
        for explanation in explain_names(predictor, names):
            failed += explanation.language is None
            if as_json:
                print(json.dumps({**explanation.to_dict(), "model": answered_by}, ensure_ascii=False))
            else:
                print_explanation(explanation)
        exit_for_answers(len(names), failed)
