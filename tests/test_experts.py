"""The network and the n-gram model in one folder (model format 5): the combination's weight, chosen on
validation names only, its round trip, the unfamiliar-name flag in every output form, and old formats."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from cli_runner import run
from model_files import edit_config
from served import Served

from nameclf import calibration, checkpoint
from nameclf.cli.render import text_line
from nameclf.combination import Combination
from nameclf.data import load_dataset, split_dataset
from nameclf.errors import ModelError, UsageError
from nameclf.experts import WEIGHT_GRID, fit_combination
from nameclf.predict import Prediction, Predictor
from nameclf.results import columns_for
from nameclf.tables import csv_cells
from nameclf.training import TrainConfig, train

TINY = dict(hidden=8, epochs=2, batch_size=64, threads=1, device="cpu")
PROBES = ["Tribbiani", "Schmidt", "Rossi", "Müller", "Smith", "Nguyen", "Zimmermann", "Ab"]


@pytest.fixture(scope="module")
def combined_model(tmp_path_factory):
    from nameclf import paths

    folder = tmp_path_factory.mktemp("experts")
    data = folder / "data"
    import shutil

    shutil.copytree(paths.bundled_names_dir(), data / "names")
    result = train(TrainConfig(**TINY), data, folder / "model", mark_latest=False)
    return folder / "model", data, result


def test_a_format_5_folder_round_trips(combined_model, tmp_path):
    out, _, result = combined_model
    saved = checkpoint.load(out)
    assert saved.config["format_version"] == 5 and checkpoint.FORMAT_VERSION == 6  # no memory: format 5
    assert saved.experts == ["rnn", "ngram"] and 0 <= saved.weight <= 1
    assert saved.config["experts"]["weight"] == result.config["experts"]["weight"]
    assert saved.novelty is not None and saved.ngram is not None
    # saved again and loaded: the same arrays, in their own dtypes, and the same answers
    copy = checkpoint.save(
        tmp_path / "copy", saved.weights, {k: v for k, v in saved.config.items() if "format" not in k}
    )
    again = checkpoint.load(copy)
    assert sorted(again.weights) == sorted(saved.weights)
    for name, value in saved.weights.items():
        assert again.weights[name].dtype == value.dtype, name
        assert np.array_equal(again.weights[name], value), name
    assert again.weights["ngram.vocabulary_utf8"].dtype == np.uint8
    assert again.weights["ngram.idf"].dtype == np.float64
    first, second = Predictor(saved).predict(PROBES), Predictor(again).predict(PROBES)
    assert [p.to_dict() for p in first] == [p.to_dict() for p in second]


def test_the_predictor_combines_the_experts_with_the_saved_weight(combined_model):
    """The combination written out by hand from its definition, p ∝ (p_rnn^w · p_ngram^(1 − w))^(1/T),
    in probabilities (not the log-space code it checks), with w and T as the config saves them."""
    out, _, _ = combined_model
    predictor = Predictor.load(out)
    saved = predictor.saved
    saved_weight, t = saved.config["experts"]["weight"], saved.config["calibration"]["temperature"]
    assert predictor.combination == Combination(saved_weight, t) and t != 1
    w = 0.4  # both experts in play, whichever weight the tiny model chose
    predictor.combination = Combination(w, t)
    encoded = [saved.vocabulary.encode(name) for name in PROBES]
    p_rnn = np.exp(predictor._network_log_probabilities(encoded).astype(np.float64))
    p_ngram = saved.ngram.probabilities(PROBES)
    mixed = p_rnn**w * p_ngram ** (1 - w)
    mixed /= mixed.sum(axis=1, keepdims=True)
    tempered = mixed ** (1 / t)
    expected = np.log(tempered / tempered.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(predictor.log_probabilities(encoded, names=PROBES), expected, atol=1e-5)
    # the text the encodings spell reads the same n-grams as the names themselves
    np.testing.assert_allclose(predictor.log_probabilities(encoded), expected, atol=1e-5)


def test_the_weight_is_chosen_on_validation_names_only(combined_model):
    """Recomputed from the validation names alone (the n-gram model refitted on the training names, the
    network's validation answers from the saved weights), the grid gives the saved weight; the test
    names play no part."""
    out, data, result = combined_model
    saved = checkpoint.load(out)
    dataset = load_dataset(data / "names", saved.config["data"]["languages"])
    split = split_dataset(dataset, saved.config["data"]["split_seed"])
    predictor = Predictor(saved)
    names = [e.name for e in split.validation]
    encoded = [saved.vocabulary.encode(n) for n in names]
    rnn = predictor._network_log_probabilities(encoded).astype(np.float64)
    ngram = saved.ngram.log_probabilities(names)
    truth = calibration.truth_matrix([e.labels for e in split.validation], saved.labels)
    fit_rows, _ = calibration.calibration_halves(len(names), saved.config["data"]["split_seed"])
    combination, _ = fit_combination(rnn, ngram, truth, fit_rows)
    assert combination.weight == saved.weight
    assert [row["weight"] for row in result.config["experts"]["weight_grid"]] == list(WEIGHT_GRID)


def test_the_combination_weighs_the_better_expert_alone():
    rng = np.random.default_rng(0)
    truth = np.zeros((200, 2), dtype=bool)
    truth[np.arange(200), rng.integers(0, 2, 200)] = True
    good = np.log(np.where(truth, 0.9, 0.1))
    noise = np.log(np.full((200, 2), 0.5))
    rows = np.arange(200)
    assert fit_combination(good, noise, truth, rows)[0].weight == 1.0
    assert fit_combination(noise, good, truth, rows)[0].weight == 0.0
    alone, table = fit_combination(good, None, truth, rows)
    assert alone.weight == 1.0 and table is None and alone.temperature != 1.0


def test_the_ngram_model_alone_trains_and_answers_without_a_network(tmp_path, dataset_dir):
    out = tmp_path / "ngram"
    result = train(TrainConfig(experts="ngram", threads=1, device="cpu"), dataset_dir, out, mark_latest=False)
    assert "network" not in result.config and result.config["experts"]["names"] == ["ngram"]
    saved = checkpoint.load(out)
    assert saved.spec is None and saved.weight == 0.0
    answers = Predictor(saved).predict(["Tribbiani", "Müller"])
    assert [a.language for a in answers] == ["Italian", "German"]
    assert all(a.novelty_p is not None for a in answers)


def test_a_bad_experts_option_is_a_usage_error():
    with pytest.raises(UsageError, match="--experts must be one of"):
        TrainConfig(experts="cnn")


def test_the_unfamiliar_rate_on_held_out_like_names_is_near_its_setting(combined_model):
    """Held-out scores and new names drawn alike: the share flagged at level a is at most about a."""
    out, _, _ = combined_model
    saved = checkpoint.load(out)
    model = saved.novelty
    rng = np.random.default_rng(1)
    for alpha in (0.05, 0.2):
        shares = []
        for _ in range(200):
            scores = rng.normal(size=400)
            model.held_out = np.sort(scores[:200])
            shares.append(model.flagged(scores[200:], alpha).mean())
        assert abs(np.mean(shares) - alpha) < 0.02


def test_the_predictor_flags_names_unlike_the_training_names(combined_model):
    predictor = Predictor.load(combined_model[0])
    names = [e for e in PROBES]
    at_5, at_off = predictor.predict(names), predictor.predict(names, unfamiliar=None)
    assert all(isinstance(p.unfamiliar, bool) and 0 < p.novelty_p <= 1 for p in at_5)
    assert all(p.unfamiliar is None and p.novelty_p is None for p in at_off)
    assert [p.language for p in at_5] == [p.language for p in at_off]  # the flag never changes the answer
    looser = predictor.predict(names, unfamiliar=0.5)
    assert sum(p.unfamiliar for p in looser) >= sum(p.unfamiliar for p in at_5)
    assert all(p.unfamiliar == (p.novelty_p <= 0.5) for p in looser)
    with pytest.raises(UsageError, match="--unfamiliar"):
        predictor.predict(names, unfamiliar=1.5)


def test_each_distinct_name_is_answered_once_and_duplicates_are_their_own_objects(combined_model):
    predictor = Predictor.load(combined_model[0])
    answers = predictor.predict(["Rossi", "Smith", "Rossi", ""], top_k=2)
    assert answers[0].to_dict() == answers[2].to_dict() and answers[0] is not answers[2]
    answers[0].top.append(("x", 0.0))
    assert answers[2].top != answers[0].top


def test_every_output_form_carries_the_flag():
    flagged = Prediction(name="Smith", label="German", probability=1.0, top=[("German", 1.0)])
    flagged.unfamiliar, flagged.novelty_p = True, 0.003
    assert text_line(flagged).endswith("German 100.0%  unfamiliar")
    assert json.loads(json.dumps(flagged.to_dict()))["unfamiliar"] is True
    assert flagged.to_dict()["novelty_p"] == 0.003
    assert list(columns_for("language"))[-2:] == ["unfamiliar", "novelty_p"]
    row = dict(zip(columns_for("language"), csv_cells(flagged)))
    assert row["unfamiliar"] == "true" and row["novelty_p"] == "0.003000"
    unscored = Prediction(name="Rossi", label="Italian", probability=1.0, top=[("Italian", 1.0)])
    assert "unfamiliar" not in text_line(unscored)
    assert dict(zip(columns_for("language"), csv_cells(unscored)))["unfamiliar"] == ""


@pytest.mark.slow
def test_the_cli_predict_prints_the_flag_in_text_json_and_csv(combined_model):
    out = str(combined_model[0])
    text = run("predict", "Tribbiani", "Nguyen", "--model", out, "--unfamiliar", "0.999")
    assert text.returncode == 0 and text.stdout.count("unfamiliar") == 2, text.stderr
    lines = run("predict", "Tribbiani", "--model", out, "--json").stdout.splitlines()
    record = json.loads(lines[0])
    assert isinstance(record["unfamiliar"], bool) and 0 < record["novelty_p"] <= 1
    table = list(csv.DictReader(io.StringIO(run("predict", "Tribbiani", "--model", out, "--csv").stdout)))
    assert table[0]["unfamiliar"] in ("true", "false") and float(table[0]["novelty_p"]) > 0
    refused = run("predict", "Tribbiani", "--model", out, "--unfamiliar", "0")
    assert refused.returncode != 0 and "--unfamiliar" in refused.stderr


def test_predict_frame_carries_the_flag(combined_model):
    pd = pytest.importorskip("pandas")
    import nameclf

    frame = nameclf.load(combined_model[0]).predict_frame(pd.Series(["Tribbiani", "Nguyen", None]))
    assert list(frame.columns[-2:]) == ["unfamiliar", "novelty_p"]
    assert str(frame["unfamiliar"].dtype) == "boolean" and frame["unfamiliar"].isna().tolist() == [False, False, True]
    assert np.isnan(frame["novelty_p"].iloc[2]) and 0 < frame["novelty_p"].iloc[0] <= 1


@pytest.mark.slow
def test_the_server_answers_with_the_flag(combined_model, tmp_path):
    pytest.importorskip("fastapi")
    with Served(["--model", str(combined_model[0])], tmp_path) as running, running.client() as http:
        answer = http.get("/v1/predict", params={"name": "Tribbiani"}).json()
    result = answer["results"][0]
    assert isinstance(result["unfamiliar"], bool) and 0 < result["novelty_p"] <= 1


def test_formats_1_to_4_answer_as_one_network_without_the_flag(combined_model, tmp_path):
    """A format-4 folder read by this nameclf: the experts and novelty sections never applied to it."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(combined_model[0], old)
    edit_config(old, format_version=4)
    saved = checkpoint.load(old)
    assert saved.experts == ["rnn"] and saved.ngram is None and saved.novelty is None
    predictor = Predictor(saved)
    encoded = [saved.vocabulary.encode(n) for n in PROBES]
    expected = calibration.scaled(predictor._network_log_probabilities(encoded), saved.temperature)
    np.testing.assert_allclose(predictor.log_probabilities(encoded), expected, atol=1e-6)
    assert all(p.unfamiliar is None and p.novelty_p is None for p in predictor.predict(PROBES))


def test_a_damaged_experts_section_is_a_one_line_model_error(combined_model, tmp_path):
    import shutil

    for damage in (
        {"experts": {"names": ["rnn", "ngram"], "weight": 0.5, "ngram": {"labels": []}}},
        {"experts": {"names": ["svm"]}},
        {"novelty": {"held_out_names": 3}},
    ):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        shutil.copytree(combined_model[0], folder)
        edit_config(folder, **damage)
        with pytest.raises(ModelError, match="retrain with `nameclf train`") as caught:
            checkpoint.load(folder)
        assert "\n" not in str(caught.value)


def test_compare_lists_the_network_the_ngrams_and_their_combination(dataset_dir):
    from nameclf.compare import compare

    summaries = compare(["gru"], seeds=1, data_dir=dataset_dir, threads=1, hidden=8, epochs=1, device="cpu")
    summary = summaries[0]
    assert set(summary.experts()) == {"rnn", "ngram", "combination"}
    figures = summary.to_dict()["experts"]
    assert 0 <= figures["ngram"]["validation_accuracy_mean"] <= 1
    assert figures["combination"]["validation_accuracy_mean"] == pytest.approx(summary.mean("validation_accuracy"))


@pytest.mark.slow
def test_the_compare_command_shows_the_experts_side_by_side(dataset_dir, tmp_path):
    saved = tmp_path / "saved"
    result = run("compare", "--cells", "gru", "--seeds", "1", "--data", str(dataset_dir), "-q", "--save", str(saved))
    assert result.returncode == 0, result.stderr
    # each row counts its own parameters: the network's weights, the n-gram model's, and both
    model = checkpoint.load(saved / "gru-seed0")
    network = sum(a.size for name, a in model.weights.items() if name.startswith(("rnn.", "head.")))
    ngram = model.weights["ngram.coef"].size + model.weights["ngram.intercept"].size
    rows = {
        line.split("│")[1].strip(): line.split("│")[-2].strip() for line in result.stdout.splitlines() if "│" in line
    }
    assert rows["gru alone"] == f"{network:,}"
    assert rows["gru + n-grams"] == f"{network + ngram:,}"
    assert rows["n-grams alone"] == f"{ngram:,}"


def test_the_card_counts_the_network_apart_from_the_ngram_model():
    """`all`'s network holds 172,050 numbers; its n-gram model's coefficients are counted on their own."""
    from nameclf import shipped
    from nameclf.cards import card

    model = checkpoint.load(shipped.path_of("all"))
    figures = card(model)
    network = sum(a.size for name, a in model.weights.items() if name.startswith(("rnn.", "head.")))
    assert figures["network"]["parameters"] == network == 172_050
    assert figures["experts"]["ngram_parameters"] == model.weights["ngram.coef"].size + 18
