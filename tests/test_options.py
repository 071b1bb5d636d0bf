"""The prediction options: one frozen object that checks itself once, with its bounds in one place,
taken whole by every way of predicting, and the server's parameters bounded by the same numbers."""

from __future__ import annotations

import dataclasses

import pytest

import nameclf
from nameclf.errors import UsageError
from nameclf.options import BOUNDS, UNFAMILIAR, PredictOptions


@pytest.mark.parametrize(
    ("option", "bad", "good"),
    [
        ("top_k", 0, 1),
        ("top_k", 1001, 1000),
        ("min_confidence", -0.01, 0.0),
        ("min_confidence", 1.01, 1.0),
        ("coverage", 0.0, 0.01),
        ("coverage", 1.0, 0.99),
        ("unfamiliar", 0.0, 0.01),
        ("unfamiliar", 1.0, 0.99),
        ("min_confidence", float("nan"), 0.5),
    ],
)
def test_each_bound_refuses_the_value_just_outside_it_and_takes_the_one_inside(option, bad, good):
    with pytest.raises(UsageError, match=f"^--{option.replace('_', '-')} must be"):
        PredictOptions(**{option: bad})
    assert getattr(PredictOptions(**{option: good}), option) == good


def test_the_defaults_answer_every_name_with_one_label_and_flag_unfamiliar_ones_at_5_percent():
    options = PredictOptions()
    assert (options.top_k, options.min_confidence, options.coverage, options.unfamiliar) == (1, None, None, 0.05)
    assert UNFAMILIAR == 0.05


def test_the_options_are_frozen_and_changed_by_a_copy():
    options = PredictOptions(top_k=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.top_k = 3  # type: ignore[misc]
    changed = PredictOptions.of(options, coverage=0.9)
    assert (changed.top_k, changed.coverage, options.coverage) == (2, 0.9, None)


def test_a_keyword_that_is_no_option_and_a_top_k_that_is_no_whole_number_are_one_line_errors():
    with pytest.raises(UsageError, match="no prediction option 'top'; the options are top_k"):
        PredictOptions.of(top=3)
    with pytest.raises(UsageError, match="--top-k must be a whole number"):
        PredictOptions(top_k=2.5)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="options must be a PredictOptions, not int"):
        nameclf.load("de-it").predict(["Rossi"], 3)  # type: ignore[arg-type]


def test_an_options_object_and_keywords_give_the_same_answers():
    clf = nameclf.load("all")
    names = ["Tribbiani", "Nguyen", "Smith"]
    options = PredictOptions(top_k=3, min_confidence=0.8, coverage=0.9, unfamiliar=0.2)
    by_object = [p.to_dict() for p in clf.predict(names, options)]
    by_keywords = [p.to_dict() for p in clf.predict(names, top_k=3, min_confidence=0.8, coverage=0.9, unfamiliar=0.2)]
    assert by_object == by_keywords
    assert all(len(p["top"]) == 3 and p["set"] for p in by_object)
    assert by_object != [p.to_dict() for p in clf.predict(names)]


def test_the_servers_parameters_have_the_options_bounds_and_defaults():
    pytest.importorskip("fastapi")
    from nameclf.server.schemas import PredictRequest

    schema = PredictRequest.model_json_schema()["properties"]
    words = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}
    for option, bound in BOUNDS.items():
        field = schema[option]
        limits = field if "anyOf" not in field else next(part for part in field["anyOf"] if part["type"] != "null")
        assert {words[key]: value for key, value in bound.schema().items()} == {
            key: limits[key] for key in words.values() if key in limits
        }, option
        assert field.get("default") == getattr(PredictOptions(), option), option
