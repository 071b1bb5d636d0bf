"""The result record, defined once: `Prediction`, one name's answer.

Its fields carry what every output needs to know of them: the table column's dtype (`predict --csv`,
`--out`, `predict_frame`, Dask's `meta`) and what the field means (docs/batch.md's schema table, the
server's OpenAPI schema, checked against these by tests/test_result_record.py). `to_dict` is what
`predict --json` prints and the server answers; `values` is a table row. Probabilities are given to
PROBABILITY_DIGITS decimals everywhere, in `top` too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PROBABILITY_DIGITS = 6
LANGUAGE = "language"
# Every output names the answer `label`, whatever the model's labels are. For a model whose labels are
# languages (the tutorial's) it is also given as `language`, the name it had before models learnt other
# labels, so that scripts written for those keep working: in `--json` and the server's answers (also in
# each `top` entry) and as a table column right after `label`. A model of other labels has no `language`.
ALIAS = "language"


def column(dtype: str, meaning: str, default: Any = None, **options: Any) -> Any:
    """A field that is also a result column: its table dtype and what it means."""
    return field(default=default, metadata={"dtype": dtype, "meaning": meaning}, **options)


@dataclass
class Prediction:
    name: str
    label: str | None = column(
        "string", "the answer, one of the model's labels; null when there is none or the model abstained"
    )
    probability: float | None = column("float32", "the top calibrated probability; NaN when there is no answer")
    top: list[tuple[str, float]] = column(
        "string",
        "the `top_k` likeliest labels (at least 3 when abstained), most likely first",
        default=dataclasses.MISSING,
        default_factory=list,
    )
    unknown_characters: int = column("int32", "characters the model never saw", default=0)
    length: int = 0  # characters of the normalised name: for the engines, not an output
    error: str | None = column("string", "why there is no answer: missing or empty name, too long, mostly unknown")
    warning: str | None = column("string", "a note on an answer that was given: `1 unknown character(s) ignored`")
    abstained: bool = column(
        "bool", "below `min_confidence`: no answer, though `probability` and `top` say what it might be", False
    )
    set: list[str] | None = column("string", "with `coverage`: the prediction set, most likely first")
    unfamiliar: bool | None = column(
        "boolean", "the name is unlike the training names (`novelty_p` at most the level); null when not scored"
    )
    novelty_p: float | None = column(
        "float32", "the share of held-out names like the training data's that score as unlike; NaN when not scored"
    )
    labels_are: str = LANGUAGE  # what the model's labels are: "language" for the tutorial's, a table's own word

    @property
    def language(self) -> str | None:
        """`label`, by the name the models of languages have always given it (`ALIAS`)."""
        return self.label

    @property
    def aliased(self) -> bool:
        """Whether the outputs repeat `label` as `language`: for a model whose labels are languages."""
        return self.labels_are == LANGUAGE

    def to_dict(self) -> dict[str, Any]:
        """What `predict --json` prints for this name (and the server answers, with `model` added)."""
        alias = self.aliased
        return {
            "name": self.name,
            "label": self.label,
            **({ALIAS: self.label} if alias else {}),
            "probability": rounded(self.probability),
            "top": [
                {"label": label, **({ALIAS: label} if alias else {}), "probability": rounded(p)}
                for label, p in self.top
            ],
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


def columns_for(labels_are: str) -> dict[str, Any]:  # pandas' dtype names, which pandas-stubs type narrowly
    """The table columns and dtypes of a model's results: `DTYPES`, with the `language` alias after
    `label` for a model whose labels are languages."""
    if labels_are != LANGUAGE:
        return dict(DTYPES)
    items = list(DTYPES.items())
    return dict([items[0], (ALIAS, DTYPES["label"]), *items[1:]])


# one prediction's cells, in `columns_for` order (`values`)
ResultRow = tuple[str | float | int | bool | None, ...]


def values(prediction: Prediction) -> ResultRow:
    """One prediction's cells in `columns_for(prediction.labels_are)` order, as plain Python values (None
    for null).

    `error` says why there is no answer, whatever the reason (a name of mostly unknown characters
    included); `warning` is kept for a note on an answer that was given. `top` and `set` are joined
    with ";" (`Italian:0.988120;German:0.011880`)."""
    no_answer = prediction.label is None and not prediction.abstained
    top = ";".join(f"{label}:{p:.{PROBABILITY_DIGITS}f}" for label, p in prediction.top)
    return (
        prediction.label,
        *((prediction.label,) if prediction.aliased else ()),
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
