"""Calibration: a temperature for a model's scores, fitted on validation names, and the figures that
say how well its probabilities match how often it is right. numpy only: predict, evaluate, train and
the benchmarks share it.

A model's log-probabilities divided by a temperature T and renormalised are its calibrated
probabilities: T > 1 softens an overconfident model, T < 1 sharpens a timid one, and the answer (the
most likely language) never changes. T minimises the negative log-likelihood of the validation names
it is fitted on, with a prior that keeps it near 1 where those names cannot tell (`objective`).

The validation names are split in two halves by a seeded draw (`calibration_halves`): the temperature
is fitted on the first; the second is kept apart for what must not have seen the temperature's data
(the conformal prediction sets).

A name may belong to several languages: it counts as right when the answer is any of them, its
likelihood is the probability given to all of them together, and its Brier target spreads evenly
over them, as its training target does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nameclf.cells import log_softmax_numpy

ECE_BINS = 15
TEMPERATURE_RANGE = (0.05, 20.0)
PRIOR_SD = 0.2  # of log T: see `objective` (chosen on held-out validation halves: docs/studies.md, "calibration_prior")
SMALLEST = 1e-30  # a probability of 0 (float32 underflow) is read as this, so its log stays finite


def truth_matrix(truths: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """(names, labels) booleans: which languages each name belongs to."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(truths), len(labels)), dtype=bool)
    for row, truth in enumerate(truths):
        for label in truth:
            matrix[row, index[label]] = True
    return matrix


def scaled(log_probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Log-probabilities at temperature T (T = 1 gives them back, up to rounding)."""
    return log_softmax_numpy(np.asarray(log_probabilities, dtype=np.float64) / temperature)


def negative_log_likelihood(
    log_probabilities: np.ndarray, truth: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Mean of -log P(the name's languages), each row weighing `weights` (1 without); 0 for no names."""
    if not len(truth):
        return 0.0
    probabilities = np.exp(np.asarray(log_probabilities, dtype=np.float64))
    right = np.maximum((probabilities * truth).sum(axis=1), SMALLEST)
    if weights is None:
        return float(-np.log(right).mean())
    return float(-(np.log(right) * weights).sum() / np.sum(weights))


def brier(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """Mean over names of the squared distance between the distribution and the target (summed over languages)."""
    if not len(truth):
        return 0.0
    target = truth / truth.sum(axis=1, keepdims=True)
    return float(((np.asarray(probabilities, dtype=np.float64) - target) ** 2).sum(axis=1).mean())


def expected_calibration_error(
    probabilities: np.ndarray, truth: np.ndarray, bins: int = ECE_BINS, weights: np.ndarray | None = None
) -> float:
    """|accuracy − confidence| per equal-width bin of the top probability, weighted by the bin's share.
    `truth` marks each name's true labels; or, with `weights` (a name's people), holds how many of a
    name's people each label fits, and a bin's share and accuracy count people."""
    if not len(truth):
        return 0.0
    probabilities = np.asarray(probabilities, dtype=np.float64)
    weights = np.ones(len(truth)) if weights is None else np.asarray(weights, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = truth[np.arange(len(truth)), probabilities.argmax(axis=1)]
    # bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 goes to the first
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total, error = weights.sum(), 0.0
    for b in range(bins):
        members = which == b
        mass = weights[members].sum()
        if mass > 0:
            error += (
                mass
                / total
                * abs(correct[members].sum() / mass - (confidence[members] * weights[members]).sum() / mass)
            )
    return float(error)


def reliability(probabilities: np.ndarray, truth: np.ndarray, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """The bins ECE is made of, for a reliability diagram: each non-empty bin's mean confidence,
    accuracy and number of names."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if not len(truth):
        return []
    confidence = probabilities.max(axis=1)
    correct = truth[np.arange(len(truth)), probabilities.argmax(axis=1)]
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    return [
        {
            "low": b / bins,
            "high": (b + 1) / bins,
            "confidence": float(confidence[which == b].mean()),
            "accuracy": float(correct[which == b].mean()),
            "names": int((which == b).sum()),
        }
        for b in range(bins)
        if (which == b).any()
    ]


def figures(log_probabilities: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    probabilities = np.exp(np.asarray(log_probabilities, dtype=np.float64))
    return {
        "ece": expected_calibration_error(probabilities, truth),
        "nll": negative_log_likelihood(log_probabilities, truth),
        "brier": brier(probabilities, truth),
    }


def objective(
    log_probabilities: np.ndarray, truth: np.ndarray, temperature: float, weights: np.ndarray | None = None
) -> float:
    """What the temperature minimises: the summed NLL at T plus a Gaussian prior on log T
    (standard deviation PRIOR_SD, centred on T = 1).

    Without the prior a model that is right on every name it is fitted on (70 validation names for
    German/Italian, often all right) is pushed to T → 0, absurdly sharp; the prior holds T near 1
    where a few names cannot tell, and a few hundred names outweigh it. With `weights` the rows count
    as much as they weigh (a name's labels weighing its people's shares: the name once)."""
    mass = len(truth) if weights is None else float(np.sum(weights))
    nll = negative_log_likelihood(scaled(log_probabilities, temperature), truth, weights) * mass
    return nll + 0.5 * (math.log(temperature) / PRIOR_SD) ** 2


def fit_temperature(log_probabilities: np.ndarray, truth: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The temperature in TEMPERATURE_RANGE that minimises `objective` (golden-section search on
    log T, where the objective is convex). 1.0 when there are no names to fit on."""
    if not len(truth):
        return 1.0
    low, high = (math.log(t) for t in TEMPERATURE_RANGE)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return objective(log_probabilities, truth, math.exp(log_t), weights)

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    for _ in range(80):
        if loss_a <= loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return float(math.exp((low + high) / 2))


def calibration_halves(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the validation names the temperature is fitted on, and of those kept apart from it."""
    order = np.random.default_rng([seed, 11]).permutation(count)
    half = (count + 1) // 2
    return np.sort(order[:half]), np.sort(order[half:])
