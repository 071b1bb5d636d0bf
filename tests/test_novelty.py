"""The unfamiliar-name score: the character language model is a proper distribution and equals
interpolated Kneser-Ney computed from its definition; the conformal p-value flags a share near its
level of exchangeable scores; the model saves and loads as plain data and needs only numpy."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from model_files import load_part, save_part

from nameclf import conformal, novelty
from nameclf.data import UNKNOWN, load_dataset, split_dataset
from nameclf.paths import bundled_names_dir

START, END = novelty.START, novelty.END
TOY = ["Abel", "Abbot", "Bach", "Ebel", "Bell", "Lab", "Babel", "Abe", "Cab", "Ba", "Abel", "Label", "Cabal"]


# --- the language model -------------------------------------------------------------------------


def reference_model(names, order):
    """Interpolated Kneser-Ney written from its definition, recursively and slowly: the yardstick
    the backoff tables are checked against."""
    texts = [START + name.lower() + END for name in names]
    alphabet = sorted({c for t in texts for c in t[1:]} | {END, UNKNOWN})
    counts: dict[str, int] = {}
    for t in texts:
        for end in range(2, len(t) + 1):
            for k in range(1, min(order, end) + 1):
                counts[t[end - k : end]] = counts.get(t[end - k : end], 0) + 1

    def adjusted(gram):
        if len(gram) == order or gram.startswith(START):
            return counts.get(gram, 0)
        return sum(1 for left in [START, *alphabet] if counts.get(left + gram, 0) > 0)

    grams_of = {k: {g for g in counts if len(g) == k} for k in range(1, order + 1)}
    discounts = []
    for k in range(1, order + 1):
        values = [adjusted(g) for g in grams_of[k]]
        n1, n2 = values.count(1), values.count(2)
        discounts.append(min(max(n1 / (n1 + 2 * n2), 0.05), 0.95))

    def probability(history, symbol):
        if history is None:
            return 1 / len(alphabet)
        k = len(history) + 1
        shorter = history[1:] if history else None
        followers = {v: adjusted(history + v) for v in alphabet}
        total = sum(followers.values())
        if total == 0:
            return probability(shorter, symbol)
        discount = discounts[k - 1]
        kinds = sum(1 for count in followers.values() if count > 0)
        return (max(followers[symbol] - discount, 0) + discount * kinds * probability(shorter, symbol)) / total

    return alphabet, discounts, probability


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_the_backoff_tables_equal_kneser_ney_from_its_definition(order):
    lm = novelty.fit_char_lm(TOY, order=order)
    alphabet, discounts, probability = reference_model(TOY, order)
    assert lm.alphabet == "".join(alphabet)
    assert lm.discounts == pytest.approx(discounts)
    histories = {START, START + "a", START + "ab", "be", "bel", "abe", "xyz", "zb", "", START + UNKNOWN, "lab"}
    for history, symbol in itertools.product(histories, alphabet):
        history = history[max(0, len(history) - order + 1) :]
        assert math.exp(lm.log_probability(history, symbol)) == pytest.approx(probability(history, symbol), rel=1e-12)


@pytest.fixture(scope="module")
def german_italian():
    dataset = load_dataset(bundled_names_dir(), "German,Italian")
    split = split_dataset(dataset, 0)
    return split, novelty.fit_char_lm([e.name for e in split.train], order=4)


def test_every_context_is_a_distribution_over_the_alphabet(german_italian):
    _, lm = german_italian
    contexts = [START, START + "m", START + "mü", "ell", "ini", "zzq", START + UNKNOWN, UNKNOWN * 3, "sch", " de"]
    for context in contexts:
        total = sum(math.exp(lm.log_probability(context, symbol)) for symbol in lm.alphabet)
        assert total == pytest.approx(1.0, abs=1e-9), context
    assert START not in lm.alphabet and END in lm.alphabet and UNKNOWN in lm.alphabet


def test_the_score_is_the_mean_negative_log_probability_per_symbol(german_italian):
    _, lm = german_italian
    text = lm.text("Rossi")
    expected = -np.mean([lm.log_probability(text[:i], text[i]) for i in range(1, len(text))])
    assert lm.negative_log_likelihood(["Rossi", "  rossi "])[0] == pytest.approx(expected, rel=1e-12)
    assert lm.negative_log_likelihood(["  rossi "])[0] == pytest.approx(expected, rel=1e-12)  # normalised, lowered


def test_names_of_other_languages_score_higher_than_held_out_names(german_italian):
    split, lm = german_italian
    everyone = load_dataset(bundled_names_dir(), "all")
    japanese = [e.name for e in everyone.examples if e.labels == ("Japanese",)]
    held_out = lm.negative_log_likelihood([e.name for e in split.test])
    foreign = lm.negative_log_likelihood(japanese)
    assert np.median(foreign) > np.quantile(held_out, 0.75)
    # AUROC, by counting pairs: held-out German/Italian names against Japanese ones
    assert (foreign[:, None] > held_out[None, :]).mean() > 0.8


def test_odd_names_get_finite_scores(german_italian):
    _, lm = german_italian
    odd = ["", " ", "☃", "東京", START + "x" + END, "x" * 500, UNKNOWN, "Ab\x00c"]
    scores = lm.negative_log_likelihood(odd)
    assert np.isfinite(scores).all() and (scores > 0).all()
    assert scores[2] > lm.negative_log_likelihood(["Rossi"])[0]  # an unknown character costs more than a name


# --- the conformal p-value ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("held_out_names", [19, 99, 249])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_exchangeable_scores_are_flagged_at_about_the_level(held_out_names, alpha):
    """20,000 draws, each a fresh held-out set and one new score from the same distribution: the
    share flagged is floor(alpha (n + 1)) / (n + 1), within four binomial standard deviations."""
    rng = np.random.default_rng([held_out_names, int(alpha * 100)])
    draws = 20_000
    held_out = rng.gamma(2.0, size=(draws, held_out_names))
    new = rng.gamma(2.0, size=draws)
    lm = novelty.fit_char_lm(TOY, order=2)
    flags = np.array([novelty.NoveltyModel(lm, held_out[i]).flagged(new[i : i + 1], alpha)[0] for i in range(draws)])
    expected = math.floor(alpha * (held_out_names + 1) + 1e-9) / (held_out_names + 1)
    tolerance = 4 * math.sqrt(alpha * (1 - alpha) / draws)
    assert abs(flags.mean() - expected) < tolerance
    assert flags.mean() < alpha + tolerance
    # scores from elsewhere (shifted up) are flagged far more often: the test can tell them apart
    shifted = np.array(
        [novelty.NoveltyModel(lm, held_out[i]).flagged(new[i : i + 1] + 3, alpha)[0] for i in range(2000)]
    )
    assert shifted.mean() > 3 * alpha


def test_p_values_count_held_out_scores_at_least_as_high():
    held_out = np.array([1.0, 2.0, 2.0, 3.0])
    found = conformal.p_values(held_out, np.array([0.5, 1.0, 2.0, 2.5, 3.0, 9.0]))
    assert found.tolist() == pytest.approx([5 / 5, 5 / 5, 4 / 5, 2 / 5, 2 / 5, 1 / 5])


def test_a_score_a_hair_below_a_held_out_one_ranks_as_that_one():
    """A name's score moves in its last bits with the batch it is answered in: within TIE of a held-out
    score it counts that score as at least as high, so its p-value does not move with the batch."""
    held_out = np.array([1.0, 2.0, 3.0])
    exact = conformal.p_values(held_out, np.array([2.0]))
    for nudge in (1e-12, 1e-9, conformal.TIE / 2):
        assert conformal.p_values(held_out, np.array([2.0 - nudge, 2.0 + nudge])).tolist() == [exact[0]] * 2
    assert conformal.p_values(held_out, np.array([2.0 + 10 * conformal.TIE]))[0] < exact[0]


def test_the_window_table_gives_the_same_scores_as_a_fresh_model():
    """The language model remembers each window's log-probability: a second call, and a call on a
    model that has seen other names first, score alike (to rounding) and as the direct sum does."""
    lm = novelty.fit_char_lm(TOY, order=3)
    names = ["Rossi", "Weber", "Qxzv", "Ferrari", "Rossi"]
    first = lm.negative_log_likelihood(names)
    again = lm.negative_log_likelihood(names)
    fresh = novelty.fit_char_lm(TOY, order=3)
    fresh.negative_log_likelihood(["Zzz", "Bauer"])
    assert np.allclose(first, again, rtol=0, atol=1e-12)
    assert np.allclose(fresh.negative_log_likelihood(names), first, rtol=0, atol=1e-12)
    for name, score in zip(names, first):
        text = lm.text(name)
        direct = -sum(lm.log_probability(text[:i], text[i]) for i in range(1, len(text))) / (len(text) - 1)
        assert score == pytest.approx(direct, abs=1e-12)


def test_the_level_must_be_a_share():
    model = novelty.NoveltyModel(novelty.fit_char_lm(TOY, order=2), np.array([1.0, 2.0]))
    for alpha in (0, 1, -0.1, 5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            model.flagged(np.array([1.0]), alpha)


def test_the_classifiers_surprise_is_added_at_its_weight(german_italian):
    _, lm = german_italian
    names = ["Rossi", "Smith"]
    probabilities = np.array([[0.99, 0.01], [0.6, 0.4]])
    plain = novelty.NoveltyModel(lm, np.array([1.0]))
    weighted = novelty.NoveltyModel(lm, np.array([1.0]), confidence_weight=0.5)
    expected = plain.scores(names) - 0.5 * np.log([0.99, 0.6])
    assert weighted.scores(names, probabilities) == pytest.approx(expected)
    with pytest.raises(ValueError, match="probabilities"):
        weighted.scores(names)


# --- saved as plain data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(german_italian):
    split, lm = german_italian
    held_out = lm.negative_log_likelihood([e.name for e in split.validation])
    return novelty.NoveltyModel(lm, held_out, confidence_weight=0.25, calibrated_on="validation"), split


def test_the_novelty_model_round_trips(fitted, tmp_path):
    model, split = fitted
    save_part(model, tmp_path, "novelty")
    loaded = load_part(novelty.NoveltyModel, tmp_path, "novelty")
    names = [e.name for e in split.test] + ["Smith", "Nguyen", "", "☃"]
    probabilities = np.random.default_rng(0).dirichlet([1, 1], size=len(names))
    assert loaded.lm.grams == model.lm.grams and loaded.lm.contexts == model.lm.contexts
    assert loaded.lm.alphabet == model.lm.alphabet and loaded.lm.discounts == model.lm.discounts
    assert np.array_equal(loaded.held_out, model.held_out)
    scores = model.scores(names, probabilities)
    assert np.array_equal(loaded.scores(names, probabilities), scores)
    assert np.array_equal(loaded.p_values(scores), model.p_values(scores))
    assert loaded.to_config() == model.to_config()


def test_tables_that_do_not_fit_their_config_are_refused(fitted):
    model, _ = fitted
    config, arrays = model.to_config(), model.to_arrays()
    with pytest.raises(ValueError, match="held-out scores"):
        novelty.NoveltyModel.from_arrays({**config, "held_out_names": 3}, arrays)
    unsorted = {**arrays, "novelty.held_out_scores": arrays["novelty.held_out_scores"][::-1].copy()}
    with pytest.raises(ValueError, match="not sorted"):
        novelty.NoveltyModel.from_arrays(config, unsorted)
    with pytest.raises(ValueError, match="size"):
        novelty.NoveltyModel.from_arrays({**config, "lm": {**config["lm"], "grams": 1}}, arrays)


def test_scoring_imports_neither_sklearn_nor_scipy_nor_torch(fitted, tmp_path):
    model, _ = fitted
    save_part(model, tmp_path, "novelty")
    program = f"""
import json, sys
import numpy as np
from safetensors.numpy import load_file
from nameclf.novelty import NoveltyModel
folder = {str(tmp_path)!r}
model = NoveltyModel.from_arrays(json.load(open(folder + "/novelty.json")), load_file(folder + "/novelty.safetensors"))
scores = model.scores(["Rossi", "Xqzwyk"], np.array([[0.9, 0.1], [0.5, 0.5]]))
print(model.p_values(scores).tolist())
print(sorted(m for m in ("sklearn", "scipy", "torch") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    p_values, imported = done.stdout.splitlines()
    rossi, odd = json.loads(p_values)
    assert rossi > 0.05 and odd < 0.05
    assert imported == "[]"
