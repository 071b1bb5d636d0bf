"""Prediction sets (split conformal): the threshold comes from validation names the temperature never
saw, the sets hold the true language as often as promised on exchangeable data, and predict and
evaluate give them through the CLI (text, JSON, CSV) and the Python API."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run, user_env
from model_files import edit_config, read_config, validation_truth

import nameclf
from nameclf import calibration, checkpoint, conformal, paths
from nameclf.callbacks import ValidationLog
from nameclf.errors import ModelError
from nameclf.predict import Predictor
from nameclf.training import TrainConfig, train

DATA_DIR = paths.bundled_names_dir().parent  # the folder holding names/


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, ValidationLog]:
    """A small German/Italian GRU trained once for this module, with its validation predictions."""
    out = tmp_path_factory.mktemp("sets") / "model"
    log = ValidationLog()
    train(
        TrainConfig(cell="gru", hidden=8, epochs=2, threads=1, device="cpu", experts="rnn"), DATA_DIR, out, log, False
    )
    return out, log


def test_the_threshold_is_the_rank_ceil_n_plus_1_times_coverage_score():
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]  # n = 9
    assert conformal.threshold(scores, 0.9) == 0.9  # rank ceil(10 * 0.9) = 9
    assert conformal.threshold(scores, 0.5) == 0.5  # rank 5
    assert conformal.threshold(scores, 0.81) == 0.9  # rank ceil(8.1) = 9
    assert conformal.threshold(scores, 0.95) == 1.0  # rank 10 > 9: too few names, every language
    for bad in (0, 1, -0.5, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            conformal.threshold(scores, bad)  # worded for the command line by the predictor, not here


def test_a_set_holds_the_languages_above_one_minus_the_threshold_most_likely_first_never_empty():
    probabilities = np.array([[0.5, 0.3, 0.2], [0.1, 0.15, 0.75], [0.4, 0.35, 0.25]])
    sets = conformal.prediction_sets(probabilities, 0.75)  # keep p >= 0.25
    assert [list(s) for s in sets] == [[0, 1], [2], [0, 1, 2]]
    assert [list(s) for s in conformal.prediction_sets(probabilities, 0.1)] == [[0], [2], [0]]  # the answer stays


def test_a_multi_label_name_scores_by_its_likeliest_true_language():
    probabilities = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    truth = np.array([[False, True, True], [True, False, False]])
    np.testing.assert_allclose(conformal.scores(probabilities, truth), [0.7, 0.8])


def test_sets_hold_the_truth_as_often_as_promised_on_exchangeable_names():
    rng = np.random.default_rng(3)
    labels = 5

    def draw(count):
        probabilities = rng.dirichlet(np.full(labels, 0.7), size=count)
        truth_index = np.array([rng.choice(labels, p=p) for p in probabilities])  # the model is calibrated
        return probabilities, np.eye(labels, dtype=bool)[truth_index]

    held_probabilities, held_truth = draw(500)
    scores = conformal.scores(held_probabilities, held_truth)
    new_probabilities, new_truth = draw(20_000)
    for coverage in (0.8, 0.9, 0.95):
        sets = conformal.prediction_sets(new_probabilities, conformal.threshold(scores, coverage))
        covered = np.mean([new_truth[row, s].any() for row, s in enumerate(sets)])
        assert coverage - 0.02 <= covered <= coverage + 0.04, (coverage, covered)


def test_the_saved_scores_come_from_the_validation_half_the_temperature_never_saw(trained):
    out, log = trained
    saved = checkpoint.load(out)
    names, truth = validation_truth(saved, DATA_DIR)
    assert [e.name for e in log.examples] == names
    fit_rows, held_rows = calibration.calibration_halves(len(names), saved.config["data"]["split_seed"])
    assert not set(fit_rows) & set(held_rows) and len(fit_rows) + len(held_rows) == len(names)
    kept = log.probabilities[saved.config["training"]["best_epoch"] - 1]
    raw = np.log(np.maximum(kept.astype(np.float64), calibration.SMALLEST))
    # the temperature is fitted on the first half alone (refitted here, it may differ in the last bits:
    # the log's probabilities went through other kernels than training's own)...
    assert saved.temperature == pytest.approx(calibration.fit_temperature(raw[fit_rows], truth[fit_rows]), rel=1e-6)
    # ...and the scores are the second half's, at that temperature (saved to 7 decimals)
    held = np.exp(calibration.scaled(raw[held_rows], saved.temperature))
    expected = conformal.scores(held, truth[held_rows])
    np.testing.assert_allclose(saved.conformal_scores, expected, rtol=0, atol=2e-7)
    assert len(saved.conformal_scores) == saved.config["calibration"]["held_out_names"]
    # the fitted half's scores are another list: they are not what was saved
    fitted = np.exp(calibration.scaled(raw[fit_rows], saved.temperature))
    assert np.round(conformal.scores(fitted, truth[fit_rows]), 7).tolist() != saved.conformal_scores


def test_predict_gives_each_answer_its_set_at_the_saved_threshold(trained):
    out, _ = trained
    predictor = Predictor.load(out)
    names = ["Rossi", "Schmidt", "Smith", "Tribbiani", "Nguyen", ""]
    for coverage in (0.5, 0.9, 0.97):
        cutoff = conformal.threshold(predictor.saved.conformal_scores, coverage)
        for prediction in predictor.predict(names, top_k=2, coverage=coverage):
            if prediction.error:
                assert prediction.set is None
                continue
            assert prediction.set[0] == prediction.top[0][0]
            probabilities = dict(prediction.top)
            for language, p in probabilities.items():
                assert (language in prediction.set) == (
                    p >= 1 - cutoff - conformal.TOLERANCE or p == prediction.top[0][1]
                )
    assert all(p.set is None for p in predictor.predict(names))
    assert nameclf.load(out).predict(["Rossi"], coverage=0.9)[0].set is not None  # the top-level API too


def test_a_model_saved_without_scores_answers_but_refuses_coverage(trained, tmp_path):
    out, _ = trained
    old = tmp_path / "old"
    shutil.copytree(out, old)
    edit_config(old, format_version=3)
    predictor = Predictor.load(old)
    assert predictor.saved.conformal_scores is None  # format 3 never had them, whatever the file says
    assert predictor.predict(["Rossi"])[0].language in ("German", "Italian")
    with pytest.raises(ModelError, match="retrain"):
        predictor.predict(["Rossi"], coverage=0.9)
    result = run("predict", "Rossi", "--model", str(old), "--coverage", "0.9", env=user_env(tmp_path / "m"))
    assert result.returncode != 0 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "nameclf train" in result.stderr


@pytest.mark.parametrize("value", [[0.1, "x"], [0.5, 0.2], [1.5], [], "0.1", None])
def test_damaged_scores_are_a_one_line_model_error(trained, tmp_path, value):
    copy = tmp_path / "copy"
    shutil.copytree(trained[0], copy)
    config = read_config(copy)
    edit_config(copy, conformal={**config["conformal"], "scores": value})
    with pytest.raises(ModelError, match="conformal.scores"):
        checkpoint.load(copy)


@pytest.mark.slow
def test_predict_coverage_through_the_cli_in_text_json_and_csv(trained, tmp_path):
    out, _ = trained
    env = user_env(tmp_path / "models")
    model = ["--model", str(out), "--coverage", "0.95"]
    expected = {p.name: p.set for p in Predictor.load(out).predict(["Rossi", "Smith"], coverage=0.95)}
    text = run("predict", "Rossi", "Smith", *model, env=env)
    assert text.returncode == 0, text.stderr
    for line in text.stdout.splitlines():
        name = line.split()[0]
        assert line.endswith("set: " + ", ".join(expected[name]))
    rows = [
        json.loads(line) for line in run("predict", "Rossi", "Smith", *model, "--json", env=env).stdout.splitlines()
    ]
    assert {row["name"]: row["set"] for row in rows} == expected
    table = list(csv.DictReader(io.StringIO(run("predict", "Rossi", "Smith", *model, "--csv", env=env).stdout)))
    assert {row["name"]: row["set"].split(";") for row in table} == expected
    plain = list(csv.DictReader(io.StringIO(run("predict", "Rossi", "--model", str(out), "--csv", env=env).stdout)))
    assert plain[0]["set"] == ""
    bad = run("predict", "Rossi", "--model", str(out), "--coverage", "1.2", env=env)
    assert bad.returncode != 0 and "--coverage must be" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_evaluate_coverage_reports_the_share_covered_and_the_mean_set_size(trained, tmp_path):
    out, _ = trained
    labelled = tmp_path / "labelled.tsv"
    rows = [
        ("Rossi", "Italian"),
        ("Schmidt", "German"),
        ("Bianchi", "Italian"),
        ("Abel", "German"),
        ("Smith", "German"),
    ]
    labelled.write_text("".join(f"{name}\t{language}\n" for name, language in rows))
    env = user_env(tmp_path / "models")
    result = run("evaluate", "--model", str(out), "--file", str(labelled), "--coverage", "0.9", "--json", env=env)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["sets"]
    sets = [p.set for p in Predictor.load(out).predict([name for name, _ in rows], coverage=0.9)]
    assert figures["empirical_coverage"] == pytest.approx(
        np.mean([language in s for s, (_, language) in zip(sets, rows)])
    )
    assert figures["mean_set_size"] == pytest.approx(np.mean([len(s) for s in sets]))
    text = run("evaluate", "--model", str(out), "--file", str(labelled), "--coverage", "0.9", env=env)
    assert "at --coverage 0.9: the set held the true language for" in text.stdout
