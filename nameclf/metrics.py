"""The figures every stage scores with: accuracy, macro-F1, per-language precision/recall/F1 and the
confusion matrix, for predictions against true label sets. Training, evaluation and calibration use
the same function.

A name may belong to several languages (multi-label examples): a prediction is right when it is
one of them, and for the per-language figures such a name counts under the predicted language when
the prediction is right and under its first language otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NO_ANSWER = "(no answer)"


@dataclass
class Report:
    labels: list[str]
    count: int
    accuracy: float
    macro_f1: float
    per_language: dict[str, dict[str, float]]
    confusion: list[list[int]]  # rows: true language, columns: predicted (labels, then NO_ANSWER)
    unanswered: int
    source: str
    calibration: dict[str, Any] | None = None
    abstention: dict[str, Any] | None = None
    sets: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calibration": self.calibration,
            "abstention": self.abstention,
            "sets": self.sets,
            "source": self.source,
            "count": self.count,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "unanswered": self.unanswered,
            "per_language": self.per_language,
            "confusion": {"labels": self.labels, "columns": [*self.labels, NO_ANSWER], "matrix": self.confusion},
        }


def score(
    labels: Sequence[str], truths: Sequence[Sequence[str]], predicted: Sequence[str | None], source: str
) -> Report:
    """The figures for predictions against true label sets."""
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels) + 1), dtype=np.int64)
    correct = 0
    for truth, guess in zip(truths, predicted):
        if guess is not None and guess in truth:
            correct += 1
            row = index[guess]
        else:
            row = index[truth[0]]
        confusion[row, index[guess] if guess is not None else len(labels)] += 1
    per_language: dict[str, dict[str, float]] = {}
    f1s = []
    for i, label in enumerate(labels):
        true_positive = confusion[i, i]
        predicted_count = confusion[:, i].sum()
        support = confusion[i].sum()
        precision = true_positive / predicted_count if predicted_count else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_language[label] = {
            "precision": float(precision),
            "recall": float(recall),
            "f1": float(f1),
            "support": int(support),
        }
        if support:
            f1s.append(f1)
    count = len(truths)
    return Report(
        labels=list(labels),
        count=count,
        accuracy=correct / count if count else 0.0,
        macro_f1=float(np.mean(f1s)) if f1s else 0.0,
        per_language=per_language,
        confusion=confusion.tolist(),
        unanswered=sum(guess is None for guess in predicted),
        source=source,
    )
