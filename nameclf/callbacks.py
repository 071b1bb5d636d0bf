"""What `train` tells as it goes, kept free of torch and numpy imports so the CLI can subclass it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from nameclf.data import Example


class TrainingCallback:
    """Called by `train`: `member` and `start` once per network trained (one, or each member of an
    ensemble), `batch` per batch, `validated` and `epoch` per epoch.

    Every method does nothing here; subclasses keep what they need.
    """

    def member(self, index: int, members: int) -> None:
        """Network `index` (from 0) of `members` starts training."""

    def start(self, epochs: int, batches: int) -> None:
        pass

    def batch(self) -> None:
        pass

    def validated(self, examples: list[Example], probabilities: np.ndarray) -> None:
        """The validation names and, row for row, the distribution the kept weights predict."""

    def epoch(self, record: dict[str, float]) -> None:
        pass


class ValidationLog(TrainingCallback):
    """Keeps every epoch's validation predictions (the recipes study, docs/studies.md, compared
    selection rules with them).

    For an ensemble it holds the network being trained: each member starts a new log.
    """

    def __init__(self) -> None:
        self.examples: list[Example] = []
        self.probabilities: list[np.ndarray] = []

    def member(self, index: int, members: int) -> None:
        self.examples, self.probabilities = [], []

    def validated(self, examples: list[Example], probabilities: np.ndarray) -> None:
        self.examples = examples
        self.probabilities.append(probabilities.copy())
