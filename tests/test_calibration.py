"""Calibration: the temperature is fitted on validation names, lowers the NLL of an overconfident
model, is saved with the model and applied to every probability; older models answer at T = 1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run, user_env
from model_files import edit_config, validation_truth

from nameclf import calibration, checkpoint
from nameclf.cells import log_softmax_numpy
from nameclf.errors import ModelError
from nameclf.predict import Predictor
from nameclf.training import TrainConfig, train

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
    honest = calibration.fit_temperature(log_softmax_numpy(logits), truth)
    loud = calibration.fit_temperature(log_softmax_numpy(logits * 6), truth)
    quiet = calibration.fit_temperature(log_softmax_numpy(logits / 6), truth)
    assert loud > 3 * honest and quiet < honest / 3
    for scale in (6, 1 / 6):
        raw = log_softmax_numpy(logits * scale)
        fitted = calibration.scaled(raw, calibration.fit_temperature(raw, truth))
        assert calibration.negative_log_likelihood(fitted, truth) < calibration.negative_log_likelihood(raw, truth)
        np.testing.assert_array_equal(fitted.argmax(1), raw.argmax(1))  # answers never change
    assert calibration.fit_temperature(np.zeros((0, 3)), np.zeros((0, 3), dtype=bool)) == 1.0


def test_a_model_right_on_every_fitted_name_is_not_sharpened_without_end():
    """Likelihood alone pushes T to 0 when no fitted name is wrong; the prior keeps it near 1."""
    logits = np.array([[4.0, 0.0]] * 70)
    truth = np.array([[True, False]] * 70)
    temperature = calibration.fit_temperature(log_softmax_numpy(logits), truth)
    assert 0.3 < temperature <= 1.0


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
    best = calibration.objective(raw[fit_rows], truth[fit_rows], saved.temperature)
    for other in (saved.temperature * 0.8, saved.temperature * 1.25, 1.0):
        assert best <= calibration.objective(raw[fit_rows], truth[fit_rows], other) + 1e-9


def test_the_temperature_lowers_the_nll_of_a_model_made_overconfident(dataset_dir, tmp_path):
    out = tmp_path / "m"
    train(TrainConfig(cell="lstm", hidden=16, epochs=3, threads=1, device="cpu", experts="rnn"), dataset_dir, out)
    saved = checkpoint.load(out)
    loud = dict(saved.weights, **{name: saved.weights[name] * 8 for name in ("head.weight", "head.bias")})
    overconfident = checkpoint.SavedModel(saved.path, saved.config, loud)
    names, truth = validation_truth(saved, dataset_dir)
    raw = Predictor(overconfident).log_probabilities([saved.vocabulary.encode(n) for n in names], calibrated=False)
    temperature = calibration.fit_temperature(raw, truth)
    assert temperature > 1.5  # softened
    before = calibration.negative_log_likelihood(raw, truth)
    after = calibration.negative_log_likelihood(calibration.scaled(raw, temperature), truth)
    assert after < before


def test_a_model_saved_without_a_temperature_answers_at_t_1(tiny_model_dir):
    saved = checkpoint.load(tiny_model_dir)
    assert saved.temperature is None and Predictor(saved).combination.temperature == 1.0
    edit_config(tiny_model_dir, format_version=2, calibration={"temperature": 5.0})  # format 2 never had one
    assert checkpoint.load(tiny_model_dir).temperature is None


@pytest.mark.parametrize("value", [0, -1, 1000, "2", True, None])
def test_an_impossible_temperature_is_a_one_line_model_error(tiny_model_dir, value):
    edit_config(tiny_model_dir, calibration={"temperature": value})
    with pytest.raises(ModelError, match="calibration.temperature must be a number"):
        checkpoint.load(tiny_model_dir)


def test_abstention_marks_exactly_the_names_below_the_threshold(tiny_model_dir):
    predictor = Predictor.load(tiny_model_dir)
    names = ["Abel", "Rossi", "Müller", "Schmidt", "Bianchi", "Zzyzx", ""]
    plain = predictor.predict(names, top_k=2)
    threshold = float(np.median([p.probability for p in plain if p.probability is not None]))
    unsure = predictor.predict(names, top_k=1, min_confidence=threshold)
    for before, after in zip(plain, unsure):
        if before.probability is None:  # no answer at all (empty): not an abstention
            assert not after.abstained and after.error == before.error
            continue
        assert after.abstained == (before.probability < threshold)
        if after.abstained:
            assert after.language is None and len(after.top) == 2  # its candidates, at least three or all
            assert after.top[0] == before.top[0]
            assert after.to_dict()["abstained"] is True and after.to_dict()["language"] is None
        else:
            assert after.language == before.language and len(after.top) == 1
    assert any(p.abstained for p in unsure) and any(p.language for p in unsure)
    with pytest.raises(Exception, match="--min-confidence must be a probability"):
        predictor.predict(names, min_confidence=1.5)


def run_cli(*args: str, cwd: Path):
    return run(*args, env=user_env(cwd / "models", cwd / "data"), cwd=cwd)


@pytest.mark.slow
def test_predict_min_confidence_through_the_cli(tiny_model_dir, tmp_path):
    model = str(tiny_model_dir)
    names = ["Abel", "Rossi", "Müller", "Schmidt", "Bianchi"]
    plain = [
        json.loads(line)
        for line in run_cli("predict", *names, "--model", model, "--json", cwd=tmp_path).stdout.splitlines()
    ]
    threshold = float(np.median([row["probability"] for row in plain]))
    low = [row["name"] for row in plain if row["probability"] < threshold]
    assert low

    text = run_cli("predict", *names, "--model", model, "--min-confidence", str(threshold), cwd=tmp_path)
    assert text.returncode == 0, text.stderr  # an abstention is an answer, not a failure
    for line in text.stdout.splitlines():
        assert ("unsure" in line) == (line.split()[0] in low)

    rows = [
        json.loads(line)
        for line in run_cli(
            "predict", *names, "--model", model, "--min-confidence", str(threshold), "--json", cwd=tmp_path
        ).stdout.splitlines()
    ]
    for row in rows:
        assert row["abstained"] == (row["name"] in low)
        assert (row["language"] is None) == row["abstained"] and row["top"]

    table = run_cli("predict", *names, "--model", model, "--min-confidence", str(threshold), "--csv", cwd=tmp_path)
    records = list(csv.DictReader(io.StringIO(table.stdout)))
    for record in records:
        assert (record["language"] == "") == (record["name"] in low)
        assert record["abstained"] == ("true" if record["name"] in low else "false")

    bad = run_cli("predict", "Abel", "--model", model, "--min-confidence", "2", cwd=tmp_path)
    assert bad.returncode == 2 and "--min-confidence must be a probability" in bad.stderr


def test_evaluate_reports_calibration_and_coverage(tiny_model_dir, tmp_path):
    labelled = tmp_path / "labelled.tsv"
    labelled.write_text("Abel\tGerman\nRossi\tItalian\nSchmidt\tGerman\nBianchi\tItalian\nMüller\tGerman\n")
    model = str(tiny_model_dir)
    result = run_cli(
        "evaluate", "--model", model, "--file", str(labelled), "--json", "--min-confidence", "0.5", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["calibration"]["calibrated"] is False and report["calibration"]["after"] is None
    assert set(report["calibration"]["before"]) == {"ece", "nll", "brier"}
    assert 0 <= report["abstention"]["coverage"] <= 1
    text = run_cli("evaluate", "--model", model, "--file", str(labelled), "--min-confidence", "0.5", cwd=tmp_path)
    assert "uncalibrated (saved without a temperature" in text.stdout
    assert "at --min-confidence 0.5: answered" in text.stdout


def test_evaluate_shows_before_and_after_for_a_calibrated_model(dataset_dir, tmp_path):
    out = tmp_path / "m"
    train(TrainConfig(cell="gru", **TINY), dataset_dir, out)
    labelled = tmp_path / "labelled.tsv"
    labelled.write_text("Abel\tGerman\nRossi\tItalian\nSchmidt\tGerman\nBianchi\tItalian\n")
    report = json.loads(
        run_cli("evaluate", "--model", str(out), "--file", str(labelled), "--json", cwd=tmp_path).stdout
    )
    assert report["calibration"]["calibrated"] is True
    assert report["calibration"]["temperature"] == checkpoint.load(out).temperature
    assert set(report["calibration"]["after"]) == {"ece", "nll", "brier"}


def test_evaluate_measures_calibration_on_the_probabilities_it_answered_with():
    """The calibration figures of `evaluate` describe the answers given: the same inputs, unknown
    characters and all (the n-gram expert reads "Ärmel" as typed, not with a stand-in for "Ä")."""
    from nameclf import shipped
    from nameclf.data import Example
    from nameclf.evaluate import evaluate_examples

    predictor = Predictor.load(shipped.path_of("all"))
    examples = [Example("Ärmel", ("German",)), Example("Öhler", ("German",)), Example("Rossi", ("Italian",))]
    report = evaluate_examples(predictor, examples, "test")
    answers = predictor.predict([e.name for e in examples], top_k=len(predictor.labels))
    truth_probabilities = [dict(a.top)[e.labels[0]] for a, e in zip(answers, examples)]
    nll = -float(np.mean(np.log(truth_probabilities)))
    assert report.calibration["after"]["nll"] == pytest.approx(nll, rel=1e-5)


def test_a_weighted_row_counts_as_that_many_copies_of_it():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(60, 3)) * 3
    truth = np.eye(3, dtype=bool)[rng.integers(0, 3, size=60)]
    copies = rng.integers(1, 4, size=60)
    raw = log_softmax_numpy(logits)
    weighted = calibration.fit_temperature(raw, truth, copies.astype(float))
    repeated = calibration.fit_temperature(np.repeat(raw, copies, axis=0), np.repeat(truth, copies, axis=0))
    assert weighted == pytest.approx(repeated, rel=1e-6) and weighted != calibration.fit_temperature(raw, truth)
