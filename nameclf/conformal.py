"""Split conformal prediction, numpy only: prediction sets with a coverage guarantee, and p-values
that say how unusual a new name's score is among held-out names' (`p_values`, the unfamiliar-name
flag's, nameclf/novelty.py).

At training time every name of the validation half that the temperature was *not* fitted on
(`calibration.calibration_halves`) gets a score: one minus the calibrated probability the model gives
its true language (for a name of several languages, the likeliest of them). Those scores are saved,
sorted, in the model's config.

For a coverage 1 − α the threshold is the ⌈(n + 1)(1 − α)⌉-th smallest of the n scores, and a name's
set holds every language whose calibrated probability is at least one minus the threshold (this
score gives the smallest sets on average: Sadinle, Lei and Wasserman 2019). If the held-out names
and a new name are drawn alike (exchangeable), the set holds the true language with probability at
least 1 − α: on average over such names, not for each name, and not for names unlike the training
data (another source's spellings, another alphabet). Too few held-out names for the coverage asked
((n + 1)(1 − α) > n) gives every language.

A set always holds the answer (the likeliest language), even where the rule alone would leave it
empty; that only adds coverage. For an ensemble the scores come from each member's out-of-fold
predictions, as its temperature does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nameclf.options import BOUNDS

TOLERANCE = 1e-6  # the scores are saved to 7 decimals, and float32 and float64 differ below this


def check_coverage(coverage: float) -> None:
    """A ValueError for a coverage that is not in `BOUNDS["coverage"]` (nameclf/options.py, where
    `PredictOptions` words it for its users)."""
    if not BOUNDS["coverage"].holds(coverage):
        raise ValueError(f"coverage {BOUNDS['coverage'].problem}, not {coverage}")


def scores(probabilities: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Sorted nonconformity scores: 1 − the probability of the name's likeliest true language."""
    if not len(truth):
        return np.zeros(0)
    best_true = np.where(truth, np.asarray(probabilities, dtype=np.float64), -np.inf).max(axis=1)
    return np.sort(np.clip(1.0 - best_true, 0.0, 1.0))


def threshold(sorted_scores: Sequence[float], coverage: float) -> float:
    """The score a language may have and still be in the set; 1.0 (every language) when the held-out
    names are too few for this coverage."""
    check_coverage(coverage)
    n = len(sorted_scores)
    rank = math.ceil((n + 1) * coverage - 1e-9)  # the 1e-9: (n + 1) * 0.9 is 9.000000000000002 for n = 9
    if rank > n:
        return 1.0
    return float(sorted_scores[rank - 1])


def prediction_sets(probabilities: np.ndarray, cutoff: float) -> list[np.ndarray]:
    """Each row's set at a threshold: label indices, most likely first, never empty."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(-probabilities, axis=1, kind="stable")
    keep = probabilities >= 1.0 - cutoff - TOLERANCE
    sets = []
    for row in range(len(probabilities)):
        ranked = order[row]
        chosen = ranked[keep[row, ranked]]
        sets.append(chosen if len(chosen) else ranked[:1])
    return sets


# --- conformal p-values: how unusual a new score is among held-out ones (the unfamiliar-name flag) ---

# scores this close count as equal when ranked: a name's score moves in its last bits with the
# batch it is answered in (the network's products), and must not move its p-value across a held-out score
TIE = 1e-5


def p_values(held_out: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(1 + #{held-out scores ≥ s − TIE}) / (n + 1) for each score s; `held_out` sorted ascending."""
    held_out = np.asarray(held_out, dtype=np.float64)
    at_least = len(held_out) - np.searchsorted(held_out, np.asarray(scores, dtype=np.float64) - TIE, side="left")
    return (1.0 + at_least) / (len(held_out) + 1.0)
