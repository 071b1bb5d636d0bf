"""The experts' combination, one fitted object: how the network's and the n-gram model's answers
become the model's calibrated answer. Training fits it (`experts.fit_combination`) and saves its two
numbers (`experts.weight`, `calibration.temperature` in the config); prediction applies it.

    p ∝ (p_rnn^w · p_ngram^(1 − w))^(1/T)

a weighted geometric mean of the two experts' probabilities, renormalised, then scaled by the
temperature T (nameclf/calibration.py). w = 1 is the network alone, w = 0 the n-gram model alone;
T = 1 leaves the probabilities as they are (a model saved without a temperature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nameclf import calibration
from nameclf.model_config import temperature_of, weight_of


def combined(rnn: np.ndarray, ngram: np.ndarray, weight: float) -> np.ndarray:
    """log of the weighted geometric mean p ∝ p_rnn^weight · p_ngram^(1 − weight), renormalised:
    (names, labels) float64 log-probabilities from the two experts' log-probabilities."""
    if weight >= 1.0:
        mixed = np.asarray(rnn, dtype=np.float64)
    elif weight <= 0.0:
        mixed = np.asarray(ngram, dtype=np.float64)
    else:
        mixed = weight * np.asarray(rnn, dtype=np.float64) + (1.0 - weight) * np.asarray(ngram, dtype=np.float64)
    mixed = mixed - mixed.max(axis=1, keepdims=True)
    return np.asarray(mixed - np.log(np.exp(mixed).sum(axis=1, keepdims=True)))


@dataclass(frozen=True)
class Combination:
    """The weight on the network (1 − weight on the n-gram model) and the temperature after it."""

    weight: float
    temperature: float = 1.0

    @classmethod
    def of(cls, config: dict[str, object]) -> Combination:
        """A saved model's combination, read from its config (`model_config` checks both numbers)."""
        temperature = temperature_of(config)
        return cls(weight_of(config), temperature if temperature is not None else 1.0)

    def log_probabilities(
        self, rnn: np.ndarray | None, ngram: np.ndarray | None, calibrated: bool = True
    ) -> np.ndarray:
        """(names, labels) float64 log-probabilities from the experts' own (None for an expert the
        model does not have); `calibrated=False` stops before the temperature."""
        if ngram is None:
            if rnn is None:
                raise ValueError("a combination needs at least one expert's answers")
            result = rnn  # the network alone: its log-softmax as it is
        else:
            result = combined(rnn if rnn is not None else ngram, ngram, self.weight if rnn is not None else 0.0)
        if calibrated and self.temperature != 1.0:
            result = calibration.scaled(result, self.temperature)
        return result
