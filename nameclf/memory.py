"""What a table of people says of the names it holds: the people of each label per name of the table,
kept with the model and combined with its answer (a model trained on a labelled table only). The network
and the n-gram model learn from the training names alone and α is chosen on validation people; the
memory then holds every name of the table, so that a person bearing any name the table holds is answered
with that name's people, whichever part of the split the name fell in.

A name the table holds N times, c_l of them with label l, is answered

    p_l = (c_l + α · q_l) / (N + α)

where q is the model's calibrated answer: the posterior mean of a Dirichlet prior α · q updated by the
name's people. A name held by few people keeps close to the model; one held by thousands answers its
own shares. A name the table does not hold gets q. Names are keyed case-blind (`key`).

α is chosen on the validation people (`fit_alpha`): each is scored as if its name had been held by the
table without that one person (leave one out), which is how a new person bearing a held name meets the
model; the α of the grid with the smallest log loss wins. The validation names are never training names,
so the choice sees nothing the memory was built from.

Last, the top probability of every answer is mapped to how often answers that sure were right
(`TopLabelMap`): an increasing step function fitted (isotonic regression, at training time) on the
leave-one-out answers of the validation people α was chosen on, the other labels scaled to make up the
rest. The Dirichlet answer is the best by log loss, yet on the Census 2020 table it was too timid for
names held by few people: with the map the calibration error on 100,000 other people went from 0.0146
to 0.0063 (benchmarks/census.py), and the config gives it before and after on the validation people
the map was not fitted on. The answer never changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nameclf.codec import pack_strings, unpack_strings
from nameclf.data import normalise

ARRAY_PREFIX = "memory."
ALPHA_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)
SMALLEST = 1e-12
TIE_MARGIN = 1e-6  # how far (relatively) the top label stays above the second where the map would sink
# it: beyond float32's resolution, in which predict gives probabilities


def key(name: str) -> str:
    """The memory's key for a name: normalised and case-blind (a table's SMITH is the user's Smith)."""
    return normalise(name).casefold()


@dataclass(frozen=True)
class TopLabelMap:
    """An answer's top probability `confidence[i]` becomes `accuracy[i]`, linear in between and constant
    beyond the ends; the other labels share what is left in their proportions, and the top label stays
    on top (its probability is raised where it would fall below the second's)."""

    confidence: tuple[float, ...]
    accuracy: tuple[float, ...]

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        result = np.array(probabilities, dtype=np.float64)
        if not len(result):
            return result
        rows = np.arange(len(result))
        ordered = np.sort(result, axis=1)
        top, second = ordered[:, -1], ordered[:, -2] if result.shape[1] > 1 else np.zeros(len(result))
        rest = 1.0 - top
        mapped = np.interp(top, self.confidence, self.accuracy)
        # no lower than the second label's share after the scaling, and a hair above it: still the answer
        floor = second / np.maximum(rest + second, SMALLEST) * (1.0 + TIE_MARGIN)
        mapped = np.clip(np.maximum(mapped, floor), SMALLEST, 1.0)
        movable = rest > SMALLEST  # an answer of 1 has nothing to share
        winner = result.argmax(axis=1)
        scale = np.where(movable, (1.0 - mapped) / np.maximum(rest, SMALLEST), 1.0)
        result *= scale[:, None]
        result[rows, winner] = np.where(movable, mapped, top)
        return result

    def to_config(self) -> dict[str, list[float]]:
        return {"confidence": list(self.confidence), "accuracy": list(self.accuracy)}  # exact in JSON

    @classmethod
    def of(cls, section: dict[str, Any] | None) -> TopLabelMap | None:
        if section is None:
            return None
        confidence, accuracy = tuple(map(float, section["confidence"])), tuple(map(float, section["accuracy"]))
        if len(confidence) != len(accuracy) or not confidence or list(confidence) != sorted(confidence):
            raise ValueError("the memory's top-label map is not an increasing list of points")
        return cls(confidence, accuracy)


@dataclass
class NameMemory:
    """The training names' people per label (`counts`, names × labels, in the model's label order) and
    the weight α of the model's answer."""

    names: list[str]  # keys, sorted
    counts: np.ndarray
    alpha: float
    details: dict[str, Any] = field(default_factory=dict)  # how α was chosen, for the config
    top_label: TopLabelMap | None = None  # None in a memory saved before the map

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.float32)
        if self.counts.ndim != 2 or len(self.names) != len(self.counts):
            raise ValueError("the memory's counts do not match its names")
        if not np.isfinite(self.alpha) or self.alpha <= 0:
            raise ValueError(f"the memory's alpha must be positive, not {self.alpha}")
        self._rows = {name: row for row, name in enumerate(self.names)}

    @classmethod
    def build(
        cls, names: Sequence[str], counts: np.ndarray, alpha: float, top_label: TopLabelMap | None = None
    ) -> NameMemory:
        """The memory of `names` with their `counts`, names that differ only in case summed."""
        merged: dict[str, np.ndarray] = {}
        for name, row in zip(names, np.asarray(counts, dtype=np.float64)):
            merged[key(name)] = merged.get(key(name), 0.0) + row
        ordered = sorted(merged)
        width = np.asarray(counts).shape[1]
        counted = np.array([merged[n] for n in ordered]).reshape(len(ordered), width)
        return cls(ordered, counted, alpha, top_label=top_label)

    def apply(self, names: Sequence[str], probabilities: np.ndarray) -> np.ndarray:
        """The answers of `names` (as given to the model) combined with the people the table holds, and
        their top probabilities mapped (`TopLabelMap`)."""
        result: np.ndarray = np.array(probabilities, dtype=np.float64)  # a copy
        for position, name in enumerate(names):
            row = self._rows.get(key(name))
            if row is not None:
                held = self.counts[row].astype(np.float64)
                result[position] = (held + self.alpha * result[position]) / (held.sum() + self.alpha)
        return result if self.top_label is None else self.top_label.apply(result)

    def to_config(self) -> dict[str, Any]:
        people = int(round(float(self.counts.sum())))
        top = {"top_label": self.top_label.to_config()} if self.top_label is not None else {}
        return {"names": len(self.names), "people": people, "alpha": self.alpha, **top, **self.details}

    def to_arrays(self) -> dict[str, np.ndarray]:
        data, ends = pack_strings(self.names)
        return {
            ARRAY_PREFIX + "names_utf8": data,
            ARRAY_PREFIX + "names_ends": ends,
            ARRAY_PREFIX + "counts": self.counts,
        }

    @classmethod
    def from_arrays(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> NameMemory:
        names = unpack_strings(arrays[ARRAY_PREFIX + "names_utf8"], arrays[ARRAY_PREFIX + "names_ends"])
        if len(names) != config["names"]:
            raise ValueError("the memory holds a different number of names than its config says")
        top_label = TopLabelMap.of(config.get("top_label"))
        return cls(names, arrays[ARRAY_PREFIX + "counts"], float(config["alpha"]), top_label=top_label)


def leave_one_out(held: np.ndarray, label: np.ndarray, probabilities: np.ndarray, alpha: float) -> np.ndarray:
    """Each validation person's answer had the table held their name's people but them: `held` (people,
    labels) their name's counts, `label` their own label, `probabilities` the model's answer."""
    others = np.asarray(held, dtype=np.float64).copy()
    others[np.arange(len(label)), label] -= 1.0
    others = np.maximum(others, 0.0)
    answers: np.ndarray = (others + alpha * probabilities) / (others.sum(axis=1, keepdims=True) + alpha)
    return answers


def fit_alpha(held: np.ndarray, label: np.ndarray, probabilities: np.ndarray) -> tuple[float, list[dict[str, float]]]:
    """The α of `ALPHA_GRID` with the smallest leave-one-out log loss over the validation people, and
    the loss at each α (see the module's docstring)."""
    table = []
    rows = np.arange(len(label))
    for alpha in ALPHA_GRID:
        answer = leave_one_out(held, label, probabilities, alpha)
        loss = float(-np.log(np.maximum(answer[rows, label], SMALLEST)).mean()) if len(label) else 0.0
        table.append({"alpha": alpha, "validation_nll": round(loss, 6)})
    best = min(range(len(table)), key=lambda i: (table[i]["validation_nll"], i))
    return ALPHA_GRID[best], table
