"""A model scored on a labelled table of people (`evaluate --file TABLE --column NAME --label-column LABEL
[--count-column N]`): each distinct name is answered once, and every figure is given twice, weighted by
people (a name counts as often as people bear it, each of them right when the answer is their label) and
per distinct name (each name once, right by the share of its people the answer fits).

Beside them is the **ceiling**: what answering every name with its most common label would score. No
model can beat it, since a name gets one answer whatever label its bearer has.

- accuracy: the share of people whose label is the answer;
- top-3: the share whose label is among the three likeliest;
- ECE: |accuracy − confidence| per bin of the top calibrated probability (15 bins), weighted;
- coverage at `coverage`: the share whose label is in the name's prediction set, and the sets' mean size.
A name the model cannot answer (unknown characters, too long) is wrong for all its people.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nameclf.calibration import expected_calibration_error
from nameclf.labelled import LabelledNames
from nameclf.options import PredictOptions
from nameclf.predict import Predictor

TOP = 3


def evaluate_people(predictor: Predictor, table: LabelledNames, coverage: float | None = 0.9) -> dict[str, Any]:
    """The figures of the module's docstring for `table`, by people and per name, with the ceiling."""
    known = {label: i for i, label in enumerate(predictor.labels)}
    columns = np.array([known.get(label, -1) for label in table.labels])
    counts = np.zeros((len(table.names), len(predictor.labels)))
    counts[:, columns[columns >= 0]] = table.counts[:, columns >= 0]  # people of labels the model knows
    options = PredictOptions(top_k=TOP, coverage=coverage)
    predictions, probabilities = predictor.predict_with_probabilities(table.names, options)
    answered = ~np.isnan(probabilities).any(axis=1)
    top = np.argsort(-np.nan_to_num(probabilities, nan=-1.0), axis=1, kind="stable")[:, :TOP]
    in_set = np.zeros_like(counts, dtype=bool)
    for row, prediction in enumerate(predictions):
        for label in prediction.set or []:
            in_set[row, known[label]] = True
    people = table.counts.sum(axis=1)  # every person of the name, labels the model lacks included
    figures = {}
    for basis, weights in (("by_people", np.ones(len(people))), ("by_name", 1.0 / np.maximum(people, 1e-12))):
        shares = counts * weights[:, None]  # the people of each label the model knows, weighted
        mass = people * weights  # all of the name's people, weighted: what the name counts for
        figures[basis] = _figures(shares, mass, probabilities, answered, top, in_set if coverage else None)
        figures[basis]["ceiling"] = float((table.counts * weights[:, None]).max(axis=1).sum() / mass.sum())
    unknown = sorted(set(table.labels) - set(known))
    return {
        "rows": table.rows,
        "people": int(round(table.people)),
        "names": len(table.names),
        "unanswered_names": int((~answered).sum()),
        "labels_the_model_lacks": unknown,
        "coverage": coverage,
        **figures,
    }


def _figures(
    shares: np.ndarray,
    mass: np.ndarray,
    probabilities: np.ndarray,
    answered: np.ndarray,
    top: np.ndarray,
    in_set: np.ndarray | None,
) -> dict[str, float]:
    """Accuracy, top-3, ECE and set coverage, a name weighing `mass`, of which `shares` fit each label."""
    total = float(mass.sum())
    rows = np.arange(len(shares))
    right = np.where(answered, shares[rows, top[:, 0]], 0.0)
    in_top = np.where(answered, np.take_along_axis(shares, top, axis=1).sum(axis=1), 0.0)
    given = np.nan_to_num(probabilities[answered])  # the answered names' probabilities
    share_answered = mass[answered].sum() / total  # an unanswered name: wrong, in no bin
    ece = expected_calibration_error(given, shares[answered], weights=mass[answered]) * share_answered
    result = {
        "accuracy": float(right.sum() / total),
        f"top_{TOP}": float(in_top.sum() / total),
        "ece": float(ece),
    }
    if in_set is not None:
        result["set_coverage"] = float((shares * in_set).sum() / total)
        result["mean_set_size"] = float((in_set.sum(axis=1) * mass).sum() / total)
    return result
