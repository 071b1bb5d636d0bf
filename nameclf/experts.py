"""The experts beside the network, fitted at training time: the character n-gram model
(`fit_ngrams`), their combination with the network (`fit_combination`: the weight and the
temperature, `nameclf.combination.Combination`) and the unfamiliar-name score (`fit_novelty`).

The n-gram model is fitted once per set of training names, so that every validation name is scored
by a model that never saw it. The combination is a weighted geometric mean, p ∝ p_rnn^w ·
p_ngram^(1−w), then a temperature. Both are chosen on validation names only, on the half the
temperature is fitted on (`calibration.calibration_halves`): for each w of the grid 0, 0.1, …, 1 the
temperature is fitted and the validation NLL after it measured; the smallest wins (the first of
equals). The other half is left to the prediction sets' scores. The study that chose this rule over
a fixed w = 0.3 (which came from test figures) is in docs/studies.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nameclf import calibration, conformal, novelty
from nameclf.combination import Combination, combined
from nameclf.data import Example
from nameclf.labelled import TableSplit
from nameclf.memory import NameMemory, TopLabelMap, fit_alpha, leave_one_out
from nameclf.ngram import NgramExpert, NgramSettings, fit_ngram
from nameclf.train_config import TrainConfig, decided

WEIGHT_GRID = tuple(round(0.1 * step, 1) for step in range(11))
ANALYZER = "char"  # with ^name$ marks: ahead of "char_wb" on validation for both tasks (docs/studies.md)
NOVELTY_ORDER = 4  # order 6 adds 0.005 AUROC and triples the file
CONFIDENCE_WEIGHT = 1.0  # the weight of −log max p beside the language model's NLL per character


def ngram_settings(config: TrainConfig) -> NgramSettings:
    ngram_range, min_df = decided(config.ngram_range, "ngram_range"), decided(config.ngram_min_df, "ngram_min_df")
    return NgramSettings(ANALYZER, ngram_range, min_df=min_df)


def fit_ngrams(
    config: TrainConfig,
    labels: list[str],
    parts: Sequence[tuple[list[Example], list[Example]]],
    pool: list[Example],
    balanced: bool = True,
) -> tuple[NgramExpert, np.ndarray]:
    """The n-gram model to save (fitted on `pool`, every training name), and the (validation names,
    labels) log-probabilities of each part's validation names from a model fitted on that part's
    training names only (one fit when there is one part and its training names are the pool). Each
    name weighs its `Example.weight`; `balanced` weighs the labels against their frequencies."""
    settings = ngram_settings(config)
    c = decided(config.ngram_c, "ngram_c")

    def fitted(examples: list[Example]) -> NgramExpert:
        weights = [e.weight for e in examples] if any(e.weight != 1.0 for e in examples) else None
        return fit_ngram(
            [e.name for e in examples],
            [e.labels for e in examples],
            labels,
            settings,
            C=c,
            class_weight="balanced" if balanced else None,
            name_weights=weights,
        )

    rows = []
    saved = None
    for training_names, validation_names in parts:
        expert = fitted(training_names)
        if len(parts) == 1 and len(training_names) == len(pool):
            saved = expert
        rows.append(expert.log_probabilities([e.name for e in validation_names]))
    return (saved if saved is not None else fitted(pool)), np.concatenate(rows)


def fit_combination(
    rnn: np.ndarray | None, ngram: np.ndarray | None, truth: np.ndarray, fit_rows: np.ndarray
) -> tuple[Combination, list[dict[str, float]] | None]:
    """The combination of the experts' validation log-probabilities, fitted on `fit_rows` (validation
    names only; see the module's docstring): the weight of the grid whose combination, after its own
    temperature, has the smallest NLL on those rows (the first of equals), and that temperature. With
    one expert the weight is fixed (1: the network, 0: the n-gram model) and the temperature alone is
    fitted. The table (per weight of the grid: its NLL and temperature) is None with one expert."""
    if rnn is None or ngram is None:
        only = rnn if rnn is not None else ngram
        if only is None:
            raise ValueError("a combination needs at least one expert's answers")
        weight = 1.0 if rnn is not None else 0.0
        log_probabilities = combined(only, only, weight)
        return Combination(weight, calibration.fit_temperature(log_probabilities[fit_rows], truth[fit_rows])), None
    table = []
    temperatures = []
    for weight in WEIGHT_GRID:
        log_probabilities = combined(rnn[fit_rows], ngram[fit_rows], weight)
        temperature = calibration.fit_temperature(log_probabilities, truth[fit_rows])
        nll = calibration.negative_log_likelihood(calibration.scaled(log_probabilities, temperature), truth[fit_rows])
        table.append({"weight": weight, "validation_nll": round(float(nll), 6), "temperature": round(temperature, 6)})
        temperatures.append(temperature)
    best = min(range(len(table)), key=lambda i: (table[i]["validation_nll"], i))
    return Combination(WEIGHT_GRID[best], temperatures[best]), table


def name_temperature(
    parts: TableSplit, examples: Sequence[Example], log_probabilities: np.ndarray, rows: np.ndarray
) -> float:
    """A table's temperature: fitted on the validation names of `rows` (people, as `examples`), each name
    once with its people's label shares as the target, rather than on the people. A name held by many
    people answers with those people (nameclf/memory.py); the model's own answer counts for the names
    held by few, and for new names, and those are the names it must be calibrated on. Fitted on the
    people, it followed the common names, and the Census 2020 table's new surnames were answered
    timidly (benchmarks/census.py: their ECE 0.032 with it, 0.013 fitted on names)."""
    validation_names, validation_counts = parts.held["validation"]
    row_of = {name: row for row, name in enumerate(validation_names)}
    first: dict[str, int] = {}
    for row in rows.tolist():
        first.setdefault(examples[row].name, row)
    picked = np.array(list(first.values()), dtype=np.int64)
    held = validation_counts[[row_of[examples[row].name] for row in picked.tolist()]]
    shares = held / np.maximum(held.sum(axis=1, keepdims=True), 1e-12)
    names, labels = np.nonzero(shares)  # a row per label a name's people have, weighing its share
    truth = np.zeros((len(names), shares.shape[1]), dtype=bool)
    truth[np.arange(len(names)), labels] = True
    return calibration.fit_temperature(log_probabilities[picked[names]], truth, shares[names, labels])


def fit_novelty(
    training_names: Sequence[str], held_out_names: Sequence[str], held_out_probabilities: np.ndarray
) -> novelty.NoveltyModel:
    """The unfamiliar-name score: a character language model of the training names plus the
    calibrated answer's −log max p, and the scores of held-out names no part of it was fitted on
    (validation names), for the conformal p-value."""
    lm = novelty.fit_char_lm(training_names, order=NOVELTY_ORDER)
    held_out = novelty.novelty_scores(lm, held_out_names, held_out_probabilities, CONFIDENCE_WEIGHT)
    return novelty.NoveltyModel(lm, held_out, CONFIDENCE_WEIGHT, calibrated_on="validation names")


def fit_memory(
    parts: TableSplit,
    examples: Sequence[Example],
    truth: np.ndarray,
    log_probabilities: np.ndarray,
    combination: Combination,
) -> tuple[NameMemory, dict[str, Any]]:
    """A table's memory of its training names (nameclf/memory.py) with α chosen on the validation people
    (`examples`, `truth`: one label each) of the temperature's half, and the prediction sets' scores (the
    config's conformal section) of the other half, each answered as a person bearing a name the table
    holds is answered (leave one out)."""
    validation_names, validation_counts = parts.held["validation"]
    row_of = {name: row for row, name in enumerate(validation_names)}
    held = validation_counts[[row_of[example.name] for example in examples]]
    label = truth.argmax(axis=1)
    model = np.exp(calibration.scaled(log_probabilities, combination.temperature))
    fit_rows, held_rows = calibration.calibration_halves(len(examples), parts.seed)
    alpha, grid = fit_alpha(held[fit_rows], label[fit_rows], model[fit_rows])
    top_label = fit_top_label(leave_one_out(held[fit_rows], label[fit_rows], model[fit_rows], alpha), label[fit_rows])
    raw = leave_one_out(held[held_rows], label[held_rows], model[held_rows], alpha)
    answers = top_label.apply(raw)
    # what the saved model answers with: every name of the table, whichever part it fell in (the network
    # and the n-gram model learnt from the training names alone, α was chosen on validation people)
    memory = NameMemory.build(*parts.held["all"], alpha, top_label)
    memory.details = {
        "alpha_grid": grid,
        "fitted_on": "validation people, each as if the table held its name",
        "held_out_top_label_ece": {  # the validation people the map was not fitted on
            "before": round(calibration.expected_calibration_error(raw, truth[held_rows]), 6),
            "after": round(calibration.expected_calibration_error(answers, truth[held_rows]), 6),
        },
    }
    conformal_section = {
        "score": "1 - calibrated probability of the true label, with the table's people of the name",
        "fitted_on": "validation people the temperature was not fitted on, each as if the table held its name",
        "scores": [round(float(s), 7) for s in conformal.scores(answers, truth[held_rows])],
    }
    return memory, conformal_section


TOP_LABEL_PRIOR = 500.0  # people's worth of answers that are already right as often as they say


def fit_top_label(answers: np.ndarray, label: np.ndarray) -> TopLabelMap:
    """The map of an answer's top probability to how often answers that sure were right: isotonic
    regression of being right on the top probability, over `answers` (rows) whose true label is `label`
    (nameclf/memory.py, `TopLabelMap`), beside a prior of TOP_LABEL_PRIOR answers spread evenly over
    the top probabilities a model of these labels can give, each right as often as it says. Where few
    validation people are there to tell, the map stays near the answers as they are: fitted on a small
    table's few and mostly unmixed validation people alone, it would call every answer certain."""
    from sklearn.isotonic import IsotonicRegression

    grid = np.linspace(1.0 / answers.shape[1], 1.0, 50)
    confidence = np.concatenate([answers.max(axis=1), grid])
    right = np.concatenate([(answers.argmax(axis=1) == label).astype(np.float64), grid])
    weights = np.concatenate([np.ones(len(label)), np.full(len(grid), TOP_LABEL_PRIOR / len(grid))])
    fitted = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
        confidence, right, sample_weight=weights
    )
    return TopLabelMap(tuple(map(float, fitted.X_thresholds_)), tuple(map(float, fitted.y_thresholds_)))


def fit_unfamiliar(
    training: Sequence[Example], examples: Sequence[Example], log_probabilities: np.ndarray, temperature: float
) -> novelty.NoveltyModel | None:
    """The unfamiliar-name score (`fit_novelty`) from the training names and the validation names among
    `examples` (the rows `log_probabilities` answers: all of them for one network, the split's for an
    ensemble); without any validation name there is no p-value to give (None)."""
    seen = {id(example) for example in training}
    unseen = np.array([i for i, example in enumerate(examples) if id(example) not in seen], dtype=np.int64)
    if not len(unseen):
        return None
    return fit_novelty(
        list(dict.fromkeys(e.name for e in training)),  # a table's name is an example per label it has
        [examples[i].name for i in unseen],
        np.exp(calibration.scaled(log_probabilities[unseen], temperature)),
    )
