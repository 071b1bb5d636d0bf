"""Why a model answered as it did: occlusion, on numpy (torch is never imported).

Each character of a name in turn is replaced by the model's unknown slot (what it reads for a
character it never saw), and the name is scored again. A character's contribution is how much the
calibrated log-probability of the answer (the language predicted for the whole name) drops when it is
hidden: positive when it pointed to the answer, negative when it pointed away. The most telling
substring is the run of two to four characters whose hiding drops it most, found the same way.

Contributions are in nats (natural-log units): 0.69 halves the answer's probability when hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from nameclf.data import UNKNOWN, normalise
from nameclf.predict import Predictor
from nameclf.results import ALIAS, LANGUAGE

UNKNOWN_CODE = 0  # the vocabulary's index for a character it does not know
SUBSTRING_LENGTHS = (2, 3, 4)


class Substring(TypedDict):
    """The most telling run of characters: its text, where it starts in the name, and its contribution."""

    text: str
    start: int
    contribution: float


@dataclass
class Explanation:
    name: str
    language: str | None = None
    probability: float | None = None
    characters: list[tuple[str, float]] = field(default_factory=list)
    substring: Substring | None = None  # None for a one-letter name
    error: str | None = None
    warning: str | None = None
    labels_are: str = LANGUAGE  # as `Prediction`'s: the answer is `label`, and `language` too for languages

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.language,
            **({ALIAS: self.language} if self.labels_are == LANGUAGE else {}),
            "probability": None if self.probability is None else round(self.probability, 6),
            "characters": [
                {"character": character, "contribution": significant(value)} for character, value in self.characters
            ],
            "substring": None
            if self.substring is None
            else {**self.substring, "contribution": significant(self.substring["contribution"])},
            "error": self.error,
            "warning": self.warning,
        }


def significant(value: float, digits: int = 6) -> float:
    """`value` to `digits` significant digits: a sure answer's contributions are often near 1e-7,
    which six decimals would turn into 0."""
    return float(f"{value:.{digits}g}")


def occluded(codes: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The name's variants, one per row: as it is, each character hidden, then each run of 2-4
    characters hidden; and the (start, end) hidden in each row after the first."""
    spans = [(i, i + 1) for i in range(len(codes))]
    spans += [(i, i + n) for n in SUBSTRING_LENGTHS for i in range(len(codes) - n + 1)]
    variants = np.repeat(codes[None, :], len(spans) + 1, axis=0)
    for row, (start, end) in enumerate(spans, start=1):
        variants[row, start:end] = UNKNOWN_CODE
    return variants, spans


def explain(predictor: Predictor, names: Iterable[str]) -> list[Explanation]:
    """One Explanation per name, in order; a name the model cannot answer gets its error or warning."""
    explanations = []
    for raw in names:
        prediction, codes = predictor.checked(raw)
        warning, labels_are = prediction.warning, predictor.labels_are
        explanation = Explanation(raw, error=prediction.error, warning=warning, labels_are=labels_are)
        explanations.append(explanation)
        if codes is None:
            continue
        variants, spans = occluded(codes)
        name = normalise(raw)
        # the n-gram expert reads the name as the answer does (its unknown characters as typed), with
        # only the hidden span replaced
        texts = [name] + [name[:start] + UNKNOWN * (end - start) + name[end:] for start, end in spans]
        log_probabilities = predictor.log_probabilities(list(variants), names=texts).astype(np.float64)
        answer = int(log_probabilities[0].argmax())
        drops = log_probabilities[0, answer] - log_probabilities[1:, answer]
        explanation.language = predictor.labels[answer]
        explanation.probability = float(np.exp(log_probabilities[0, answer]))
        explanation.characters = [(name[i], float(drops[i])) for i in range(len(name))]
        runs = range(len(name), len(spans))
        if len(runs):
            best = max(runs, key=lambda row: drops[row])  # the first of equals: shorter, then earlier
            start, end = spans[best]
            explanation.substring = {"text": name[start:end], "start": start, "contribution": float(drops[best])}
    return explanations
