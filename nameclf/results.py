"""The result record, defined once: `Prediction`, one name's answer.

Its fields carry what every output needs to know of them: the table column's dtype (`predict --csv`,
`--out`, `predict_frame`, Dask's `meta`) and what the field means (the README's schema table, the
server's OpenAPI schema, checked against these by tests/test_result_record.py). `to_dict` is what
`predict --json` prints and the server answers; `values` is a table row. Probabilities are given to
PROBABILITY_DIGITS decimals everywhere, in `top` too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PROBABILITY_DIGITS = 6


def column(dtype: str, meaning: str, default: Any = None, **options: Any) -> Any:
    """A field that is also a result column: its table dtype and what it means."""
    return field(default=default, metadata={"dtype": dtype, "meaning": meaning}, **options)


@dataclass
class Prediction:
    name: str
    language: str | None = column("string", "the answer; null when there is none or the model abstained")
    probability: float | None = column("float32", "the top calibrated probability; NaN when there is no answer")
    top: list[tuple[str, float]] = column(
        "string",
        "the `top_k` likeliest languages (at least 3 when abstained), most likely first",
        default=dataclasses.MISSING,
        default_factory=list,
    )
    unknown_characters: int = column("int32", "characters the model never saw", default=0)
    length: int = 0  # characters of the normalised name: for the engines, not an output
    error: str | None = column("string", "why there is no answer: missing or empty name, too long, mostly unknown")
    warning: str | None = column("string", "a note on an answer that was given: `1 unknown character(s) ignored`")
    abstained: bool = column(
        "bool", "below `min_confidence`: no language, though `probability` and `top` say what it might be", False
    )
    set: list[str] | None = column("string", "with `coverage`: the prediction set, most likely first")
    unfamiliar: bool | None = column(
        "boolean", "the name is unlike the training names (`novelty_p` at most the level); null when not scored"
    )
    novelty_p: float | None = column(
        "float32", "the share of held-out names like the training data's that score as unlike; NaN when not scored"
    )

    def to_dict(self) -> dict[str, Any]:
        """What `predict --json` prints for this name (and the server answers, with `model` added)."""
        return {
            "name": self.name,
            "language": self.language,
            "probability": rounded(self.probability),
            "top": [{"language": language, "probability": rounded(p)} for language, p in self.top],
            "unknown_characters": self.unknown_characters,
            "error": self.error,
            "warning": self.warning,
            "abstained": self.abstained,
            "set": self.set,
            "unfamiliar": self.unfamiliar,
            "novelty_p": rounded(self.novelty_p),
        }


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, PROBABILITY_DIGITS)


RESULT_FIELDS = [item for item in dataclasses.fields(Prediction) if "dtype" in item.metadata]
DTYPES = {item.name: item.metadata["dtype"] for item in RESULT_FIELDS}  # the table columns, in order
RESULT_COLUMNS = list(DTYPES)


# one prediction's cells, in RESULT_COLUMNS order (`values`)
ResultRow = tuple[
    str | None, float | None, str | None, int, str | None, str | None, bool, str | None, bool | None, float | None
]


def values(prediction: Prediction) -> ResultRow:
    """One prediction's cells in `RESULT_COLUMNS` order, as plain Python values (None for null).

    `error` says why there is no answer, whatever the reason (a name of mostly unknown characters
    included); `warning` is kept for a note on an answer that was given. `top` and `set` are joined
    with ";" (`Italian:0.988120;German:0.011880`)."""
    no_answer = prediction.language is None and not prediction.abstained
    top = ";".join(f"{language}:{p:.{PROBABILITY_DIGITS}f}" for language, p in prediction.top)
    return (
        prediction.language,
        prediction.probability,
        top or None,
        prediction.unknown_characters,
        prediction.error or (prediction.warning if no_answer else None),
        None if no_answer else prediction.warning,
        prediction.abstained,
        None if prediction.set is None else ";".join(prediction.set),
        prediction.unfamiliar,
        prediction.novelty_p,
    )
