"""The prediction options, defined once: `PredictOptions`, what every way of predicting takes (the
CLI's flags, `Predictor.predict`, the result tables, Dask and the server's parameters), with each
option's bounds in `BOUNDS`. An options object checks itself when it is made and is passed whole.

Errors name the option as the command line spells it (`--top-k`); the server's request models take
their bounds from `BOUNDS` (`Bound.schema`), so a bad parameter is refused before it gets here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, TypedDict

from nameclf.errors import UsageError

UNFAMILIAR = 0.05  # flag a name whose unfamiliar-name p-value is at most this: about 5% of names like training names
MAX_TOP_K = 1000  # a longer list than any model has labels; bounds the answer's size


class BoundSchema(TypedDict, total=False):
    """A bound as pydantic's and FastAPI's keywords: `ge` or `gt`, and `le` or `lt` when there is a high end."""

    ge: float
    gt: float
    le: float
    lt: float


@dataclass(frozen=True)
class Bound:
    """The values an option takes: from `low` to `high`, each end included unless `strict`."""

    low: float
    high: float | None
    strict: bool
    problem: str  # the error's words after the option's flag

    def holds(self, value: object) -> bool:
        """Whether `value` is a number (not a bool, not NaN) within the bound: any value may be asked about."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        if self.strict:
            return self.low < value and (self.high is None or value < self.high)
        return self.low <= value and (self.high is None or value <= self.high)

    def schema(self) -> BoundSchema:
        """The bound as pydantic's and FastAPI's keywords (`ge`/`gt`, `le`/`lt`)."""
        schema: BoundSchema = {"gt": self.low} if self.strict else {"ge": self.low}
        if self.high is not None:
            if self.strict:
                schema["lt"] = self.high
            else:
                schema["le"] = self.high
        return schema


BOUNDS = {
    "top_k": Bound(1, MAX_TOP_K, False, f"must be a whole number from 1 to {MAX_TOP_K}"),
    "min_confidence": Bound(0, 1, False, "must be a probability in [0, 1], e.g. 0.9"),
    "coverage": Bound(0, 1, True, "must be a share strictly between 0 and 1, e.g. 0.9"),
    "unfamiliar": Bound(0, 1, True, "must be a level strictly between 0 and 1, e.g. 0.05"),
}


def flag(option: str) -> str:
    return "--" + option.replace("_", "-")


@dataclass(frozen=True)
class PredictOptions:
    """How names are answered.

    - `top_k`: list the k likeliest labels in `top` (at least 3 for a name the model is unsure of).
    - `min_confidence`: a name whose top calibrated probability is below it is `abstained`: no answer.
    - `coverage` (e.g. 0.9): each answered name also gets `set`, the labels that hold its true one with
      that probability on average over names like the training data's (split conformal prediction).
    - `unfamiliar`: flag a name whose unfamiliar-name p-value is at most this (None: not scored).
    """

    top_k: int = 1
    min_confidence: float | None = None
    coverage: float | None = None
    unfamiliar: float | None = UNFAMILIAR

    def __post_init__(self) -> None:
        top_k: object = self.top_k  # as the caller gave it: a float such as 3.0 is the whole number it is
        if isinstance(top_k, float) and top_k.is_integer():
            object.__setattr__(self, "top_k", int(top_k))
        if not isinstance(self.top_k, int):
            raise UsageError(f"--top-k {BOUNDS['top_k'].problem}, not {self.top_k!r}")
        for option, bound in BOUNDS.items():
            value = getattr(self, option)
            if value is not None and not bound.holds(value):
                raise UsageError(f"{flag(option)} {bound.problem}, not {value!r}")

    @classmethod
    def of(cls, options: PredictOptions | None = None, **changes: Any) -> PredictOptions:
        """`options` (the defaults when None) with `changes` made: `PredictOptions.of(top_k=3)`. A
        keyword that is no option is a one-line error naming the options there are."""
        unknown = sorted(set(changes) - set(BOUNDS))
        if unknown:
            raise UsageError(f"no prediction option {unknown[0]!r}; the options are {', '.join(BOUNDS)}")
        if options is not None and not isinstance(options, PredictOptions):
            raise UsageError(f"options must be a PredictOptions, not {type(options).__name__}")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **changes) if changes else base
