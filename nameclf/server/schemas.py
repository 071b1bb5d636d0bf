"""Request and response models: the OpenAPI schema's single source.

Answers are built by the same `to_dict` methods that `predict --json` and `explain --json` print
(nameclf/predict.py, nameclf/explain.py), with the served model's name added; these models describe
them and are not run on every answer (a batch of 1,000 names would pay for it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nameclf.options import BOUNDS, UNFAMILIAR, PredictOptions
from nameclf.results import RESULT_FIELDS

MEANING = {item.name: item.metadata["meaning"] for item in RESULT_FIELDS}

ModelName = Field(
    None,
    description="A served model's name (see GET /v1/models); the server's default when left out. Never a path.",
    examples=["de-it"],
    max_length=64,
)
# the options' defaults and bounds are PredictOptions's (nameclf/options.py)
TopK = Field(1, **BOUNDS["top_k"].schema(), description="List the k likeliest languages in `top`.")
MinConfidence = Field(
    None,
    **BOUNDS["min_confidence"].schema(),
    description="Answer no language (`abstained`) when the top calibrated probability is below this.",
)
Coverage = Field(
    None,
    **BOUNDS["coverage"].schema(),
    description="Also give `set`: the languages that hold the true one with this probability, on average "
    "over names like the training data's (split conformal prediction).",
)

Unfamiliar = Field(
    UNFAMILIAR,
    **BOUNDS["unfamiliar"].schema(),
    description="Flag a name as `unfamiliar` when its `novelty_p` is at most this: about this share of "
    "names like the training data's get flagged.",
)


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"names": ["Tribbiani", "Müller"], "top_k": 2, "coverage": 0.9}]},
    )

    names: list[str] = Field(description="The names, answered in this order; at most the server's `max_names`.")
    model: str | None = ModelName
    top_k: int = TopK
    min_confidence: float | None = MinConfidence
    coverage: float | None = Coverage
    unfamiliar: float = Unfamiliar

    def options(self) -> PredictOptions:
        return PredictOptions(self.top_k, self.min_confidence, self.coverage, self.unfamiliar)


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"names": ["Tribbiani"]}]})

    names: list[str] = Field(description="The names to explain; at most the server's `explain_names`.")
    model: str | None = ModelName


ALIAS_NOTE = "The same as `label`, for a model whose labels are languages; absent for a model of other labels."


class Candidate(BaseModel):
    label: str
    language: str | None = Field(None, description=ALIAS_NOTE)
    probability: float = Field(description="Calibrated probability.")


class PredictionResult(BaseModel):
    """One name's answer: the fields of `nameclf predict --json` (`nameclf.results.Prediction`, whose
    fields say what each one means)."""

    name: str = Field(description="The name as sent.")
    label: str | None = Field(description=MEANING["label"])
    language: str | None = Field(None, description=ALIAS_NOTE)
    probability: float | None = Field(description=MEANING["probability"])
    top: list[Candidate] = Field(description=MEANING["top"])
    unknown_characters: int = Field(description=MEANING["unknown_characters"])
    error: str | None = Field(description=MEANING["error"])
    warning: str | None = Field(description=MEANING["warning"])
    abstained: bool = Field(description=MEANING["abstained"])
    set: list[str] | None = Field(description=MEANING["set"])
    unfamiliar: bool | None = Field(description=MEANING["unfamiliar"] + "; it does not change the answer")
    novelty_p: float | None = Field(description=MEANING["novelty_p"])
    model: str = Field(description="The served model that answered.")


class PredictResponse(BaseModel):
    model: str
    results: list[PredictionResult]


class CharacterContribution(BaseModel):
    character: str
    contribution: float = Field(description="Drop in the answer's log-probability when hidden, in nats.")


class Substring(BaseModel):
    text: str
    start: int
    contribution: float


class ExplanationResult(BaseModel):
    """One name's explanation: the fields of `nameclf explain --json`."""

    name: str
    label: str | None = Field(description="The answer, one of the model's labels.")
    language: str | None = Field(None, description=ALIAS_NOTE)
    probability: float | None
    characters: list[CharacterContribution]
    substring: Substring | None = Field(description="The most telling run of 2-4 characters.")
    error: str | None
    warning: str | None
    model: str


class ExplainResponse(BaseModel):
    model: str
    results: list[ExplanationResult]


class ServedModelCard(BaseModel):
    name: str = Field(description="What requests put in `model`.")
    default: bool
    languages: list[str]
    card: dict[str, Any] = Field(description="The model card, as `nameclf info --json` prints it (no server path).")


class LimitsOut(BaseModel):
    max_names: int
    name_characters: int
    model_name_characters: int = Field(description="Longer names get their own error (the model's limit).")
    explain_names: int
    explain_characters: int
    max_body_bytes: int
    max_concurrent: int


class ModelsResponse(BaseModel):
    default: str
    models: list[ServedModelCard]
    limits: LimitsOut


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    models: dict[str, bool]


class Problem(BaseModel):
    """RFC 9457 problem details: every error's body (`application/problem+json`)."""

    type: str = Field(
        description="`urn:nameclf:problem:<kind>`, or `about:blank`.", examples=["urn:nameclf:problem:too-many-names"]
    )
    title: str = Field(description="The status's name.")
    status: int
    detail: str = Field(description="What was wrong and how to mend it, in one line.")
    instance: str | None = Field(None, description="The path asked for.")
    limit: int | None = Field(None, description="The limit a request went over, where there is one.")
    errors: list[dict[str, Any]] | None = Field(None, description="422: the fields at fault (at most 10).")


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}  # app.py adds `Problem` to the schema's components
