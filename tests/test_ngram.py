"""The n-gram expert: numpy's features and probabilities equal scikit-learn's, it saves as
safetensors and JSON and loads to the same answers, and prediction never imports scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from model_files import load_part, save_part

from nameclf import codec, ngram
from nameclf.data import load_dataset, split_dataset
from nameclf.paths import bundled_names_dir

ODD_NAMES = [
    "",
    " ",
    "   \t ",
    "a",
    "Zz",
    "De  luca",  # two spaces: scikit-learn's white-space rule
    "Van\tder Berg",
    "O'Brien-Smith",
    "Łukasz Ćwikliński",
    "İstanbul",  # lower-cases to one character more
    "Nguyễn",
    "東京",
    "☃☃☃",  # no known n-gram but the word boundaries
    "qxqxqxqxqxqxqxqxqxqx",
    "^$",  # the boundary marks themselves
    "x" * 300,
    "  Rossi  ",
]


@pytest.fixture(scope="module")
def many():
    """18 languages, seed 0: a seeded third of the training names (for speed), and the test names."""
    dataset = load_dataset(bundled_names_dir(), "all")
    split = split_dataset(dataset, 0)
    chosen = np.random.default_rng(0).permutation(len(split.train))[: len(split.train) // 3]
    train = [split.train[i] for i in sorted(chosen)]
    return dataset.languages, train, [example.name for example in split.test + split.validation]


def sklearn_probabilities(vectorizer, model, settings, labels, names):
    found = model.predict_proba(vectorizer.transform([settings.text(name) for name in names]))
    classes = list(model.classes_)
    return found[:, [classes.index(label) for label in labels]]


@pytest.mark.parametrize(
    "settings",
    [
        ngram.NgramSettings(analyzer="char_wb", ngram_range=(1, 4)),
        ngram.NgramSettings(analyzer="char", ngram_range=(1, 5), sublinear_tf=False),
        ngram.NgramSettings(analyzer="char_wb", ngram_range=(2, 3), lowercase=False),
    ],
    ids=["char_wb-1-4", "char-1-5-raw-tf", "char_wb-2-3-cased"],
)
@pytest.mark.slow
def test_numpy_probabilities_equal_sklearn_on_18_languages(many, settings):
    labels, train, names = many
    vectorizer, model, details = ngram.fit_estimators(
        [e.name for e in train], [e.labels for e in train], labels, settings, C=10.0
    )
    expert = ngram.expert_from_estimators(vectorizer, model, labels, settings, 10.0, details)
    names = names + ODD_NAMES
    assert len(names) > 3000
    expected = sklearn_probabilities(vectorizer, model, settings, labels, names)
    found = expert.probabilities(names)
    assert found.shape == (len(names), len(labels))
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-6)
    assert np.array_equal(found.argmax(1), expected.argmax(1))
    if not settings.marks:  # an empty name has no n-gram: the intercepts' softmax, as scikit-learn gives
        empty = expert.probabilities([""])[0]
        intercept = np.exp(expert.intercept - expert.intercept.max())
        np.testing.assert_allclose(empty, intercept / intercept.sum(), atol=1e-12)


def test_numpy_probabilities_equal_sklearn_for_two_languages():
    """scikit-learn's binary model is one coefficient row and expit; the expert stores it as two rows."""
    dataset = load_dataset(bundled_names_dir(), "German,Italian")
    split = split_dataset(dataset, 3)
    settings = ngram.NgramSettings(analyzer="char", ngram_range=(1, 4))
    vectorizer, model, details = ngram.fit_estimators(
        [e.name for e in split.train], [e.labels for e in split.train], dataset.languages, settings, C=3.0
    )
    expert = ngram.expert_from_estimators(vectorizer, model, dataset.languages, settings, 3.0, details)
    assert expert.coef.shape == (2, len(expert.vocabulary))
    names = [e.name for e in dataset.examples] + ODD_NAMES
    expected = sklearn_probabilities(vectorizer, model, settings, dataset.languages, names)
    np.testing.assert_allclose(expert.probabilities(names), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("analyzer", ngram.ANALYZERS)
@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 4), (2, 5), (3, 3), (5, 6)])
def test_the_analyzer_gives_sklearns_ngrams(analyzer, ngram_range):
    from sklearn.feature_extraction.text import TfidfVectorizer

    settings = ngram.NgramSettings(analyzer=analyzer, ngram_range=ngram_range)
    reference = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, lowercase=True).build_analyzer()
    for name in ODD_NAMES + ["Ab", "Abc", "A b c", "Schwarzenegger", "Mc Donald  Jr"]:
        text = settings.text(name)
        assert Counter(ngram.analyze(text, settings)) == Counter(reference(text)), (name, ngram_range)


def test_a_name_of_two_languages_is_two_rows_of_half_weight():
    names, targets, weights = ngram.training_rows(
        ["Abel", "Rossi", "Nobody"], [("French", "German"), ("Italian",), ("Greek",)], ["French", "German", "Italian"]
    )
    assert names == ["Abel", "Abel", "Rossi"]
    assert targets == ["French", "German", "Italian"]
    assert weights.tolist() == [0.5, 0.5, 1.0]
    # balanced by weight: French and German count 0.5 each, Italian 1
    weights_by_class = ngram.balanced_class_weights(targets, weights)
    assert weights_by_class == pytest.approx({"French": 2 / 1.5, "German": 2 / 1.5, "Italian": 2 / 3})


def test_fitting_needs_every_language():
    with pytest.raises(ValueError, match="no training names for Italian"):
        ngram.fit_ngram(["Abel", "Bach"], [("German",), ("German",)], ["German", "Italian"])


@pytest.fixture(scope="module")
def small_expert():
    dataset = load_dataset(bundled_names_dir(), "German,Italian")
    split = split_dataset(dataset, 0)
    return ngram.fit_ngram(
        [e.name for e in split.train],
        [e.labels for e in split.train],
        dataset.languages,
        ngram.NgramSettings(analyzer="char_wb", ngram_range=(1, 4)),
        C=10.0,
    ), [e.name for e in split.test] + ODD_NAMES


def test_the_expert_round_trips_through_safetensors_and_json(small_expert, tmp_path):
    expert, names = small_expert
    save_part(expert, tmp_path, "ngram")
    loaded = load_part(ngram.NgramExpert, tmp_path, "ngram")
    assert loaded.vocabulary == expert.vocabulary
    assert loaded.labels == expert.labels and loaded.settings == expert.settings and loaded.C == expert.C
    assert loaded.details == expert.details and loaded.details["converged"]
    for name in ("idf", "coef", "intercept"):
        assert np.array_equal(getattr(loaded, name), getattr(expert, name))
        assert getattr(loaded, name).dtype == getattr(expert, name).dtype
    assert np.array_equal(loaded.probabilities(names), expert.probabilities(names))
    assert any(" " in gram for gram in loaded.vocabulary) and any(not gram.isascii() for gram in loaded.vocabulary)


def test_arrays_that_do_not_fit_their_config_are_refused(small_expert):
    expert, _ = small_expert
    arrays, config = expert.to_arrays(), expert.to_config()
    with pytest.raises(ValueError, match="not 1"):
        ngram.NgramExpert.from_arrays({**config, "features": 1}, arrays)
    shortened = {**arrays, "ngram.coef": arrays["ngram.coef"][:, :-1]}
    with pytest.raises(ValueError, match="do not fit"):
        ngram.NgramExpert.from_arrays(config, shortened)
    broken = {**arrays, "ngram.vocabulary_ends": arrays["ngram.vocabulary_ends"] + 1}
    with pytest.raises(ValueError, match="offsets"):
        ngram.NgramExpert.from_arrays(config, broken)


def test_packed_strings_round_trip():
    strings = ["", "a", " ab ", "ü", "東京", "", "$^"]
    assert codec.unpack_strings(*codec.pack_strings(strings)) == strings


def test_prediction_imports_neither_sklearn_nor_scipy_nor_torch(small_expert, tmp_path):
    expert, _ = small_expert
    save_part(expert, tmp_path, "ngram")
    program = f"""
import json, sys
from safetensors.numpy import load_file
from nameclf.ngram import NgramExpert
folder = {str(tmp_path)!r}
expert = NgramExpert.from_arrays(json.load(open(folder + "/ngram.json")), load_file(folder + "/ngram.safetensors"))
print(expert.probabilities(["Rossi", "Schmidt", ""]).argmax(1).tolist())
print(sorted(m for m in ("sklearn", "scipy", "torch") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    answers, imported = done.stdout.splitlines()
    italian, german = expert.labels.index("Italian"), expert.labels.index("German")
    assert json.loads(answers)[:2] == [italian, german]
    assert imported == "[]"
