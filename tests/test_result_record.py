"""The result record is defined once (`nameclf.results.Prediction`): the table schema, the JSON of
`predict --json`, the server's OpenAPI schema and the schema table on docs/batch.md all follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nameclf.results import DTYPES, PROBABILITY_DIGITS, RESULT_COLUMNS, RESULT_FIELDS, Prediction, columns_for, values

BATCH_PAGE = (Path(__file__).resolve().parents[1] / "docs" / "batch.md").read_text(encoding="utf-8")
# what `to_dict` gives for a model of languages: the name as given, then every column, `language` after `label`
OUTPUT_FIELDS = ["name", *columns_for("language")]


def answer() -> Prediction:
    return Prediction(
        name="Rossi",
        label="Italian",
        probability=0.98812345,
        top=[("Italian", 0.98812345), ("German", 0.01187655)],
        set=["Italian"],
        unfamiliar=False,
        novelty_p=0.4567891,
    )


def test_json_and_table_rows_carry_the_records_fields_in_its_order():
    assert list(answer().to_dict()) == OUTPUT_FIELDS
    assert len(values(answer())) == len(columns_for("language")) == len(DTYPES) + 1
    assert [item.name for item in RESULT_FIELDS] == RESULT_COLUMNS


def test_a_model_of_other_labels_answers_label_alone_and_a_model_of_languages_label_and_language():
    countries = Prediction(name="Rossi", label="Italy", probability=0.9, top=[("Italy", 0.9)], labels_are="country")
    assert "language" not in countries.to_dict() and countries.to_dict()["top"] == [
        {"label": "Italy", "probability": 0.9}
    ]
    assert list(columns_for("country")) == RESULT_COLUMNS and values(countries)[0] == "Italy"
    languages = answer().to_dict()
    assert languages["label"] == languages["language"] == "Italian" == answer().language
    assert languages["top"][0] == {"label": "Italian", "language": "Italian", "probability": 0.988123}
    row = dict(zip(columns_for("language"), values(answer())))
    assert row["label"] == row["language"] == "Italian"


def test_probabilities_have_one_precision_everywhere():
    record = answer()
    as_json = record.to_dict()
    assert as_json["probability"] == as_json["top"][0]["probability"] == round(0.98812345, PROBABILITY_DIGITS)
    row = dict(zip(columns_for("language"), values(record)))
    assert row["top"] == "Italian:0.988123;German:0.011877"  # the same digits as the JSON's


def test_the_servers_schema_is_the_records():
    pytest.importorskip("fastapi")
    from nameclf.server.schemas import PredictionResult

    assert list(PredictionResult.model_fields) == [*OUTPUT_FIELDS, "model"]
    assert not PredictionResult.model_fields["language"].is_required()  # absent for a model of other labels
    for item in RESULT_FIELDS:
        assert PredictionResult.model_fields[item.name].description.startswith(item.metadata["meaning"])


def test_the_schema_table_on_the_batch_page_is_the_records():
    table = BATCH_PAGE[BATCH_PAGE.index("| column | dtype | meaning |") :]
    rows = re.findall(r"^\| `([a-z_<>]+)` \| ([a-z0-9]+)(?: \(nullable\))? \|", table, re.M)
    documented = {name: dtype for name, dtype in rows if not name.startswith("p_")}
    assert list(documented) == list(columns_for("language"))
    assert documented == columns_for("language")
