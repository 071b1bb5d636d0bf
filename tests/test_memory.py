"""A table's memory of its names: a name held by many people answers their shares, one held by few keeps
close to the model, one not held gets the model's answer; α chosen by leave-one-out on validation
people; saved and read back with the model (format 6)."""

from __future__ import annotations

import numpy as np
import pytest

from nameclf import checkpoint
from nameclf.memory import ALPHA_GRID, NameMemory, fit_alpha, leave_one_out


def test_the_answer_is_the_posterior_mean_of_the_models_answer_and_the_names_people():
    memory = NameMemory.build(["SMITH", "Smith", "Rossi"], np.array([[30.0, 10.0], [10.0, 0.0], [0.0, 1.0]]), 4.0)
    model = np.array([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]])
    answers = memory.apply(["smith", "Rossi", "Nguyen"], model)
    # Smith: SMITH and Smith are one name of 40 + 10 people; (c + α q) / (N + α)
    assert answers[0] == pytest.approx([(40 + 4 * 0.5) / 54, (10 + 4 * 0.5) / 54])
    assert answers[1] == pytest.approx([(0 + 4 * 0.2) / 5, (1 + 4 * 0.8) / 5])
    assert answers[2] == pytest.approx(model[2])  # a name the table does not hold
    assert np.allclose(answers.sum(axis=1), 1.0)


def test_leave_one_out_removes_the_person_being_scored():
    held = np.array([[3.0, 1.0]])
    answers = leave_one_out(held, np.array([1]), np.array([[0.5, 0.5]]), alpha=2.0)
    assert answers[0] == pytest.approx([(3 + 1) / 5, (0 + 1) / 5])  # the one person of label 1 left out


def test_alpha_is_small_when_names_decide_and_large_when_the_model_does():
    rng = np.random.default_rng(0)
    names = 2000
    shares = rng.dirichlet([0.3, 0.3], size=names)  # each name mostly one label, the model knows nothing
    held = rng.multinomial(200, shares).astype(float)
    label = np.array([rng.choice(2, p=row / row.sum()) for row in held])
    blind = np.full((names, 2), 0.5)
    assert fit_alpha(held, label, blind)[0] == ALPHA_GRID[0]
    # names whose people are a coin toss, and a model that knows each person's label is a coin toss too
    coin = rng.multinomial(3, [0.5, 0.5], size=names).astype(float)
    coin_label = np.array([rng.choice(2, p=row / row.sum()) if row.sum() else 0 for row in coin])
    assert fit_alpha(coin + 1, coin_label, blind)[0] >= 16


def test_a_memory_round_trips_through_a_model_folder_of_format_6(tmp_path):
    from nameclf.memory import ARRAY_PREFIX

    memory = NameMemory.build(["Rossi", "Müller"], np.array([[1.0, 4.0], [7.0, 0.0]]), 2.0)
    config = {"labels": ["a", "b"], "memory": memory.to_config(), "experts": {"names": ["ngram"]}}
    arrays = memory.to_arrays()
    assert set(arrays) == {ARRAY_PREFIX + "names_utf8", ARRAY_PREFIX + "names_ends", ARRAY_PREFIX + "counts"}
    again = NameMemory.from_arrays(config["memory"], arrays)
    assert again.names == memory.names and np.array_equal(again.counts, memory.counts) and again.alpha == 2.0
    with pytest.raises(ValueError, match="different number of names"):
        NameMemory.from_arrays({**config["memory"], "names": 3}, arrays)
    assert checkpoint.ADDED_IN["memory"] == checkpoint.FORMAT_VERSION == 6


def test_a_tables_temperature_counts_each_validation_name_once_whatever_its_people():
    """A common mixed name drawn 500 times weighs as one name: the temperature follows the many names
    held by few people, for which the model's own answer counts (experts.name_temperature)."""
    from nameclf import calibration
    from nameclf.cells import log_softmax_numpy
    from nameclf.data import Example
    from nameclf.experts import name_temperature
    from nameclf.labelled import TableSplit

    rng = np.random.default_rng(0)
    rare = [f"name{i}" for i in range(200)]
    truth = rng.integers(0, 2, size=200)
    logits = rng.normal(size=(200, 2))
    logits[np.arange(200), truth] += 2.0
    counts = np.vstack([np.eye(2)[truth], [[600.0, 400.0]]])
    parts = TableSplit([], [], [], {}, {"validation": (rare + ["Common"], counts)})
    log_probabilities = log_softmax_numpy(np.vstack([logits, [[4.0, 0.0]]]))

    def fitted(times: int) -> float:
        examples = [Example(name, ("ab"[label],)) for name, label in zip(rare, truth)]
        examples += [Example("Common", ("a",))] * times
        rows = np.r_[np.arange(200), np.full(times, 200)]
        return name_temperature(parts, examples, log_probabilities[rows], np.arange(len(examples)))

    assert fitted(1) == fitted(500)
    # fitted on the people, the common name's 500 draws (60/40, answered 0.98) soften it far more
    people = np.r_[truth, np.zeros(300, dtype=int), np.ones(200, dtype=int)]
    by_people = calibration.fit_temperature(
        log_probabilities[np.r_[np.arange(200), np.full(500, 200)]], np.eye(2, dtype=bool)[people]
    )
    assert by_people > 1.5 * fitted(500)


def test_the_top_label_map_sets_the_top_probability_and_never_changes_the_answer():
    from nameclf.memory import TopLabelMap

    timid = TopLabelMap((0.4, 0.8), (0.5, 0.95))
    answers = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [1.0, 0.0, 0.0]])
    mapped = timid.apply(answers)
    np.testing.assert_allclose(mapped.sum(axis=1), 1.0)
    assert mapped[0, 0] == pytest.approx(0.725) and mapped[1, 1] == pytest.approx(0.6125)
    assert mapped[0, 1] / mapped[0, 2] == pytest.approx(3.0)  # the others keep their proportions
    np.testing.assert_array_equal(mapped[2], answers[2])  # nothing to share
    sure = TopLabelMap((0.0, 1.0), (0.0, 0.1))  # would put the top label under the second
    flat = sure.apply(np.array([[0.5, 0.4, 0.1]]))
    assert flat[0, 0] > flat[0, 1] and flat[0, 0] == pytest.approx(flat[0, 1], rel=1e-5)
    rng = np.random.default_rng(0)
    answers = rng.dirichlet(np.ones(4), size=2000)
    answers[:500, 1] = answers[:500, 0]  # ties: the first of equals is the answer, as before the map
    mapped = sure.apply(answers).astype(np.float32)  # as predict gives them
    np.testing.assert_array_equal(np.argsort(-mapped, axis=1, kind="stable")[:, 0], answers.argmax(axis=1))
    again = TopLabelMap.of(timid.to_config())
    assert again == timid and TopLabelMap.of(None) is None
    with pytest.raises(ValueError, match="increasing"):
        TopLabelMap.of({"confidence": [0.8, 0.4], "accuracy": [0.5, 0.9]})


def test_the_fitted_map_corrects_answers_too_timid_on_people_it_was_not_fitted_on():
    from nameclf.calibration import expected_calibration_error
    from nameclf.experts import fit_top_label

    rng = np.random.default_rng(0)

    def timid_answers(count: int) -> tuple[np.ndarray, np.ndarray]:
        sure = rng.uniform(0.7, 1.0, size=count)  # right this often, answered 0.15 less sure
        label = np.where(rng.random(count) < sure, 0, rng.integers(1, 3, size=count))
        top = sure - 0.15
        return np.stack([top, (1 - top) / 2, (1 - top) / 2], axis=1), label

    fitted_on, held_out = timid_answers(4000), timid_answers(4000)
    top_label = fit_top_label(*fitted_on)
    truth = np.eye(3, dtype=bool)[held_out[1]]
    before = expected_calibration_error(held_out[0], truth)
    after = expected_calibration_error(top_label.apply(held_out[0]), truth)
    assert before > 0.1 and after < 0.03
    memory = NameMemory.build(["Rossi"], np.array([[1.0, 0.0, 0.0]]), 2.0, top_label)
    again = NameMemory.from_arrays(memory.to_config(), memory.to_arrays())
    assert again.top_label == top_label
    np.testing.assert_allclose(again.apply(["Nobody"], held_out[0][:5]), top_label.apply(held_out[0][:5]))


def test_few_validation_people_leave_the_answers_near_what_they_say():
    """Sixty people all answered right at 0.76 do not make 0.76 mean certain; sixty thousand nearly do."""
    from nameclf.experts import fit_top_label

    for people, most in ((60, 0.9), (60_000, 1.0)):
        answers = np.tile([0.76, 0.24], (people, 1))
        mapped = fit_top_label(answers, np.zeros(people, dtype=int)).apply(np.array([[0.76, 0.24]]))[0, 0]
        assert 0.76 < mapped <= most and (people < 1000 or mapped > 0.95)
