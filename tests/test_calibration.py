"""Calibration: the temperature is fitted on validation names, lowers the NLL of an overconfident
model, is saved with the model and applied to every probability; older models answer at T = 1."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nameclf import calibration, checkpoint
from nameclf.data import load_dataset, split_dataset
from nameclf.errors import ModelError
from nameclf.predict import Predictor
from nameclf.train import TrainConfig, train

TINY = dict(hidden=8, epochs=2, batch_size=64, threads=1, device="cpu")


def test_the_calibration_error_is_the_gap_between_confidence_and_accuracy_per_bin():
    # four names at confidence 0.9 of which two are right, two at 0.6 both right
    probabilities = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    truth = np.array([[True, False]] * 2 + [[False, True]] * 2 + [[True, False]] * 2)
    expected = 4 / 6 * abs(0.5 - 0.9) + 2 / 6 * abs(1.0 - 0.6)
    assert calibration.expected_calibration_error(probabilities, truth) == pytest.approx(expected)
    assert calibration.brier(probabilities, truth) == pytest.approx(np.mean([0.02, 0.02, 1.62, 1.62, 0.32, 0.32]))
    log_p = np.log(probabilities)
    assert calibration.negative_log_likelihood(log_p, truth) == pytest.approx(
        -np.mean(np.log([0.9, 0.9, 0.1, 0.1, 0.6, 0.6]))
    )


def test_a_multi_label_name_is_right_in_any_of_its_languages():
    probabilities = np.array([[0.5, 0.3, 0.2]])
    truth = np.array([[True, True, False]])
    assert calibration.negative_log_likelihood(np.log(probabilities), truth) == pytest.approx(-np.log(0.8))
    assert calibration.expected_calibration_error(probabilities, truth) == pytest.approx(0.5)


def test_the_temperature_softens_an_overconfident_model_and_sharpens_a_timid_one():
    rng = np.random.default_rng(0)
    truth_index = rng.integers(0, 3, size=400)
    logits = rng.normal(size=(400, 3))
    logits[np.arange(400), truth_index] += 1.5  # right about 70% of the time
    truth = np.eye(3, dtype=bool)[truth_index]
    honest = calibration.fit_temperature(calibration.log_softmax(logits), truth)
    loud = calibration.fit_temperature(calibration.log_softmax(logits * 6), truth)
    quiet = calibration.fit_temperature(calibration.log_softmax(logits / 6), truth)
    assert loud > 3 * honest and quiet < honest / 3
    for scale in (6, 1 / 6):
        raw = calibration.log_softmax(logits * scale)
        fitted = calibration.scaled(raw, calibration.fit_temperature(raw, truth))
        assert calibration.negative_log_likelihood(fitted, truth) < calibration.negative_log_likelihood(raw, truth)
        np.testing.assert_array_equal(fitted.argmax(1), raw.argmax(1))  # answers never change
    assert calibration.fit_temperature(np.zeros((0, 3)), np.zeros((0, 3), dtype=bool)) == 1.0


def validation_truth(saved: checkpoint.SavedModel, data_dir) -> tuple[list[str], np.ndarray]:
    dataset = load_dataset(data_dir / "names", saved.labels)
    names = split_dataset(dataset, saved.config["data"]["split_seed"]).validation
    return [e.name for e in names], calibration.truth_matrix([e.labels for e in names], saved.labels)


def test_training_fits_a_temperature_on_half_the_validation_names_and_predict_applies_it(dataset_dir, tmp_path):
    out = tmp_path / "m"
    result = train(TrainConfig(cell="gru", **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    block = saved.config["calibration"]
    sizes = saved.config["data"]["sizes"]
    assert block["fit_names"] + block["held_out_names"] == sizes["validation"]
    assert block["fit_names"] in {sizes["validation"] // 2, (sizes["validation"] + 1) // 2}
    assert saved.temperature == block["temperature"] == result.config["calibration"]["temperature"]

    names, truth = validation_truth(saved, dataset_dir)
    predictor = Predictor(saved)
    encoded = [saved.vocabulary.encode(name) for name in names]
    raw = predictor.log_probabilities(encoded, calibrated=False)
    shown = predictor.log_probabilities(encoded)
    np.testing.assert_allclose(shown, calibration.scaled(raw, saved.temperature), atol=1e-6)
    top = predictor.predict(names[:5])
    np.testing.assert_allclose([p.probability for p in top], np.exp(shown[:5]).max(axis=1), atol=1e-6)
    # the temperature is the best one for the half it was fitted on
    fit_rows, _ = calibration.calibration_halves(len(names), saved.config["data"]["split_seed"])
    best = calibration.negative_log_likelihood(calibration.scaled(raw[fit_rows], saved.temperature), truth[fit_rows])
    for other in (saved.temperature * 0.8, saved.temperature * 1.25, 1.0):
        assert best <= calibration.negative_log_likelihood(calibration.scaled(raw[fit_rows], other), truth[fit_rows])


def test_the_temperature_lowers_the_nll_of_a_model_made_overconfident(dataset_dir, tmp_path):
    out = tmp_path / "m"
    train(TrainConfig(cell="lstm", hidden=16, epochs=3, threads=1, device="cpu"), dataset_dir, out)
    saved = checkpoint.load(out)
    loud = dict(saved.weights, **{name: saved.weights[name] * 8 for name in ("head.weight", "head.bias")})
    overconfident = checkpoint.SavedModel(saved.path, saved.config, loud)
    names, truth = validation_truth(saved, dataset_dir)
    raw = Predictor(overconfident).log_probabilities([saved.vocabulary.encode(n) for n in names], calibrated=False)
    temperature = calibration.fit_temperature(raw, truth)
    assert temperature > 2
    before = calibration.negative_log_likelihood(raw, truth)
    after = calibration.negative_log_likelihood(calibration.scaled(raw, temperature), truth)
    assert after < before


def test_a_model_saved_without_a_temperature_answers_at_t_1(tiny_model_dir):
    saved = checkpoint.load(tiny_model_dir)
    assert saved.temperature is None and Predictor(saved).temperature == 1.0
    config = json.loads((tiny_model_dir / "config.json").read_text())
    config.update(format_version=2, calibration={"temperature": 5.0})  # format 2 never had one: ignored
    (tiny_model_dir / "config.json").write_text(json.dumps(config))
    assert checkpoint.load(tiny_model_dir).temperature is None


@pytest.mark.parametrize("value", [0, -1, 1000, "2", True, None])
def test_an_impossible_temperature_is_a_one_line_model_error(tiny_model_dir, value):
    config = json.loads((tiny_model_dir / "config.json").read_text())
    config["calibration"] = {"temperature": value}
    (tiny_model_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="calibration.temperature must be a number"):
        checkpoint.load(tiny_model_dir)
