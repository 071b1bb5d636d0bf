"""The accuracy levers: k-fold ensembles, case folding, label smoothing, per-task defaults, and
`nameclf compare`. New model shapes round-trip through save and load, and numpy agrees with torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from cli_runner import run, user_env
from model_files import edit_config, read_config, write_config

from nameclf import checkpoint
from nameclf.choices import TASK_DEFAULTS, Cell, Task, task_default_text
from nameclf.data import Example, Vocabulary, read_names
from nameclf.errors import ModelError, UsageError
from nameclf.fitting import member_folds, weighted_loss
from nameclf.model import NameClassifier
from nameclf.paths import bundled_names_dir
from nameclf.predict import Predictor
from nameclf.training import TrainConfig, train

# the network alone: these tests are about it
TINY = dict(hidden=8, epochs=1, batch_size=64, threads=1, device="cpu", experts="rnn")
PROBE_NAMES = ["Tribbiani", "Schmidt", "Rossi", "Müller", "Abbing", "Zimmermann", "Ab", "MCDONALD", "de la Cruz"]


def torch_member_probabilities(saved: checkpoint.SavedModel, names: list[str]) -> np.ndarray:
    """Reference: each member as a torch module, name by name; the ensemble's answer is their mean."""
    members = []
    for weights in saved.member_weights():
        model = NameClassifier(saved.spec, impl=saved.config["training"]["impl"])
        model.load_state_dict({name: torch.from_numpy(value) for name, value in weights.items()})
        model.eval()
        with torch.no_grad():
            rows = [
                torch.softmax(model(torch.from_numpy(saved.vocabulary.encode(name))[None]), dim=-1)[0].numpy()
                for name in names
            ]
        members.append(np.stack(rows))
    return np.stack(members)


def numpy_probabilities(saved: checkpoint.SavedModel, names: list[str]) -> np.ndarray:
    return np.exp(
        Predictor(saved).log_probabilities([saved.vocabulary.encode(name) for name in names], calibrated=False)
    )


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_an_ensemble_round_trips_and_numpy_averages_its_members_as_torch_does(dataset_dir, tmp_path, cell):
    out = tmp_path / "ensemble"
    result = train(TrainConfig(cell=cell, members=3, bidirectional=True, **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    assert saved.members == 3 and saved.config["ensemble"]["members"] == 3
    assert {name.split(".")[1] for name in saved.weights if name.startswith("members.")} == {"0", "1", "2"}
    members = saved.member_weights()
    assert len(members) == 3
    assert not np.array_equal(members[0]["head.weight"], members[1]["head.weight"])  # really different networks
    per_member = torch_member_probabilities(saved, PROBE_NAMES)
    np.testing.assert_allclose(numpy_probabilities(saved, PROBE_NAMES), per_member.mean(axis=0), atol=1e-5)
    # the out-of-fold validation covers every train and validation name once
    sizes = saved.config["data"]["sizes"]
    assert result.config["metrics"]["validation_names"] == sizes["train"] + sizes["validation"]
    assert len(saved.config["training"]["member_epochs"]) == 3
    assert saved.config["parameters"] == 3 * sum(value.size for value in members[0].values())


def test_the_torch_backend_answers_an_ensemble_as_numpy_does(dataset_dir, tmp_path):
    out = tmp_path / "ensemble"
    train(TrainConfig(cell="gru", members=2, **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    encoded = [saved.vocabulary.encode(name) for name in PROBE_NAMES]
    np.testing.assert_allclose(
        Predictor(saved, backend="torch").log_probabilities(encoded),
        Predictor(saved).log_probabilities(encoded),
        atol=1e-5,
    )


def test_member_folds_are_disjoint_stratified_and_cover_every_name():
    examples = [Example(f"Name{i}", ("German" if i % 3 else "Italian",)) for i in range(60)]
    folds = member_folds(examples, 4, seed=1)
    validations = [validation for _, validation in folds]
    assert sorted(e.name for fold in validations for e in fold) == sorted(e.name for e in examples)
    for training, validation in folds:
        assert not {e.name for e in training} & {e.name for e in validation}
        assert len(training) + len(validation) == len(examples)
        italian = sum(e.labels == ("Italian",) for e in validation)
        assert italian == 5  # 20 Italian names dealt evenly over 4 folds
    assert member_folds(examples, 4, seed=1) == folds
    assert member_folds(examples, 4, seed=2) != folds


def test_case_folding_reads_any_case_alike_and_round_trips(dataset_dir, tmp_path):
    out = tmp_path / "folded"
    train(TrainConfig(cell="lstm", fold_case=True, **TINY), dataset_dir, out)
    saved = checkpoint.load(out)
    assert saved.config["text"]["fold_case"] is True
    assert saved.vocabulary.fold_case
    assert not any(char.isupper() for char in saved.vocabulary.characters)
    variants = numpy_probabilities(saved, ["Tribbiani", "TRIBBIANI", "tribbiani"])
    np.testing.assert_array_equal(variants[0], variants[1])
    np.testing.assert_array_equal(variants[0], variants[2])
    np.testing.assert_allclose(
        numpy_probabilities(saved, PROBE_NAMES), torch_member_probabilities(saved, PROBE_NAMES)[0], atol=1e-5
    )
    prediction = Predictor(saved).predict(["MÜLLER"])[0]
    assert prediction.unknown_characters == 0 and prediction.language is not None


def test_folding_keeps_a_names_length():
    vocabulary = Vocabulary.build(["Abel", "İnce"], fold_case=True)
    assert len(vocabulary.encode("İnce")) == 4  # "İ".lower() is two characters: kept as it is
    assert vocabulary.encode("ABEL").tolist() == vocabulary.encode("abel").tolist()


def test_a_format_1_model_folder_still_loads_and_predicts_the_same(dataset_dir, tmp_path):
    out = tmp_path / "model"
    train(TrainConfig(cell="gru", **TINY), dataset_dir, out)
    before = numpy_probabilities(checkpoint.load(out), PROBE_NAMES)
    config = read_config(out)
    config["format_version"] = 1
    for added in ("ensemble", "text", "parameters", "calibration"):
        del config[added]
    write_config(out, config)
    old = checkpoint.load(out)
    assert old.members == 1 and not old.vocabulary.fold_case
    np.testing.assert_array_equal(numpy_probabilities(old, PROBE_NAMES), before)


@pytest.mark.parametrize("members", [0, 65, "3", True])
def test_an_impossible_member_count_is_a_one_line_model_error(tiny_model_dir, members):
    edit_config(tiny_model_dir, ensemble={"members": members})
    with pytest.raises(ModelError, match="ensemble members must be a whole number"):
        checkpoint.load(tiny_model_dir)


@pytest.mark.parametrize("section", ["ensemble", "text", "calibration"])
def test_a_config_section_that_is_not_an_object_is_a_one_line_model_error(tiny_model_dir, section):
    edit_config(tiny_model_dir, **{section: [2]})
    with pytest.raises(ModelError, match=f"{section} must be an object"):
        checkpoint.load(tiny_model_dir)


def test_member_weights_that_do_not_match_the_member_count_are_refused(dataset_dir, tmp_path):
    out = tmp_path / "ensemble"
    train(TrainConfig(cell="gru", members=2, **TINY), dataset_dir, out)
    edit_config(out, ensemble={**read_config(out)["ensemble"], "members": 3})
    with pytest.raises(ModelError, match=r"lacks weight members\.2\."):
        checkpoint.load(out)


def test_label_smoothing_moves_mass_onto_every_language():
    scores = torch.tensor([[4.0, -4.0]])
    target = torch.tensor([[1.0, 0.0]])
    weights = torch.ones(2)
    plain = weighted_loss(scores, target, weights)
    smoothed = weighted_loss(scores, target, weights, smoothing=0.2)
    log_p = torch.log_softmax(scores, dim=-1)[0]
    assert smoothed.item() == pytest.approx(-(0.9 * log_p[0] + 0.1 * log_p[1]).item(), rel=1e-6)
    assert smoothed > plain  # the confident wrong-side score is now paid for


def test_a_smoothed_run_trains_and_records_its_setting(dataset_dir, tmp_path):
    result = train(TrainConfig(cell="rnn", label_smoothing=0.1, char_dropout=0.05, **TINY), dataset_dir, tmp_path / "m")
    assert result.config["training"]["label_smoothing"] == 0.1
    assert result.config["training"]["char_dropout"] == 0.05


def test_each_task_gets_its_own_defaults_and_explicit_options_win():
    pair = TrainConfig().resolved(2)
    many = TrainConfig().resolved(18)
    for name, value in TASK_DEFAULTS[Task.pair].items():
        assert getattr(pair, name) == value, name
    for name, value in TASK_DEFAULTS[Task.many].items():
        assert getattr(many, name) == value, name
    assert TrainConfig(hidden=12).resolved(18).hidden == 12
    assert Task.of(2) is Task.pair and Task.of(3) is Task.many


def test_the_help_shows_what_each_task_defaults_to():
    pair, many = TASK_DEFAULTS[Task.pair]["hidden"], TASK_DEFAULTS[Task.many]["hidden"]
    expected = str(pair) if pair == many else f"{pair} for two languages, {many} for more"
    assert task_default_text("hidden") == expected
    assert task_default_text("cell") in {c.value for c in Cell} or "for two languages" in task_default_text("cell")


def test_a_run_records_its_task_and_the_resolved_settings(dataset_dir, tmp_path):
    result = train(TrainConfig(languages="German,Italian,French", **TINY), dataset_dir, tmp_path / "m")
    training = result.config["training"]
    assert training["task"] == "many"
    assert training["cell"] == TASK_DEFAULTS[Task.many]["cell"].value
    assert training["hidden"] == 8  # given explicitly


@pytest.mark.parametrize(("option", "value"), [("members", 0), ("members", 65), ("label_smoothing", 1.0)])
def test_impossible_lever_values_are_usage_errors(option, value):
    with pytest.raises(UsageError):
        TrainConfig(**{option: value})


def test_save_false_trains_and_writes_nothing(dataset_dir, tmp_path):
    before = sorted(tmp_path.rglob("*"))
    result = train(TrainConfig(cell="gru", **TINY), dataset_dir, save=False)
    assert result.model_dir is None
    assert 0 <= result.config["metrics"]["validation_macro_f1"] <= 1
    assert sorted(tmp_path.rglob("*")) == before


@pytest.fixture
def tiny_three_languages(tmp_path):
    """A small dataset a user might bring: 40 names in each of three languages."""
    names = tmp_path / "data" / "names"
    names.mkdir(parents=True)
    for language in ("German", "Italian", "Japanese"):
        chosen = read_names(bundled_names_dir() / f"{language}.txt")[:40]
        (names / f"{language}.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return tmp_path / "data"


@pytest.fixture
def env(tmp_path):
    return user_env(tmp_path / "models")


@pytest.mark.slow
def test_compare_runs_through_the_cli_on_a_users_tiny_dataset(tiny_three_languages, env, tmp_path):
    data = str(tiny_three_languages)
    result = run("compare", "--cells", "rnn,gru", "--seeds", "2", "--data", data, "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [cell["cell"] for cell in report["cells"]] == ["rnn", "gru"]
    for cell in report["cells"]:
        assert [run["seed"] for run in cell["runs"]] == [0, 1]
        assert 0 <= cell["validation_accuracy_mean"] <= 1 and cell["parameters"] > 0
        assert all(run["model_dir"] is None for run in cell["runs"])
    assert "rnn seed 1: validation accuracy" in result.stderr
    assert not (tmp_path / "models").exists()  # nothing saved, LATEST untouched

    table = run("compare", "--cells", "lstm", "--seeds", "1", "--data", data, "--quiet", env=env)
    assert table.returncode == 0, table.stderr
    assert "lstm" in table.stdout and "seed 0," in table.stdout and table.stderr == ""  # one seed: no ± 0.000


@pytest.mark.slow
def test_compare_can_save_its_models(tiny_three_languages, env, tmp_path):
    saved = tmp_path / "saved"
    result = run(
        "compare",
        "--cells",
        "gru",
        "--seeds",
        "1",
        "--languages",
        "all",
        "--data",
        str(tiny_three_languages),
        "--save",
        str(saved),
        "--quiet",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert checkpoint.load(saved / "gru-seed0").labels == ["German", "Italian", "Japanese"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--cells", "rnn,transformer"], "unknown cell 'transformer'"), (["--seeds", "0"], "--seeds must be between")],
)
@pytest.mark.slow
def test_compare_refuses_bad_options_in_one_line(tiny_three_languages, env, args, message):
    result = run("compare", "--data", str(tiny_three_languages), *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_dataset_too_small_for_a_validation_split_still_trains(tmp_path, monkeypatch):
    """Four names a language leave no validation names (round(0.4) = 0): training must not crash."""
    monkeypatch.setenv("NAMECLF_MODELS", str(tmp_path / "models"))
    names = tmp_path / "data" / "names"
    names.mkdir(parents=True)
    (names / "German.txt").write_text("Abel\nBauer\nKlein\nMuller\n", encoding="utf-8")
    (names / "Italian.txt").write_text("Rossi\nBianchi\nVerdi\nRusso\n", encoding="utf-8")
    result = train(TrainConfig(**TINY), tmp_path / "data", tmp_path / "m")
    assert result.config["metrics"]["validation_names"] == 0
    assert checkpoint.load(tmp_path / "m").labels == ["German", "Italian"]
    with pytest.raises(UsageError, match="only 8 training and validation names"):
        train(TrainConfig(members=9, **TINY), tmp_path / "data", tmp_path / "e")


def test_case_folding_never_puts_two_spellings_of_a_name_in_two_parts(tmp_path):
    """Vietnamese holds both "An" and "an": folded, they are one example, in one part of the split."""
    from nameclf.data import load_dataset, split_dataset

    dataset = load_dataset(bundled_names_dir(), "all", fold_case=True)
    assert sum(example.name == "an" for example in dataset.examples) == 1
    assert not any(example.name != example.name.lower() for example in dataset.examples if example.name.isascii())
    for seed in (0, 2, 3, 7):
        parts = split_dataset(dataset, seed)
        seen = [{e.name for e in part} for part in (parts.train, parts.validation, parts.test)]
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_a_format_1_folder_ignores_keys_format_1_never_had(tiny_model_dir):
    edit_config(tiny_model_dir, format_version=1, ensemble={"members": 2}, text={"fold_case": True})
    saved = checkpoint.load(tiny_model_dir)
    assert saved.members == 1 and not saved.vocabulary.fold_case


def test_an_ensembles_validation_log_holds_the_member_being_trained(dataset_dir, tmp_path):
    from nameclf.callbacks import ValidationLog

    log = ValidationLog()
    train(
        TrainConfig(cell="gru", members=2, epochs=2, **{k: v for k, v in TINY.items() if k != "epochs"}),
        dataset_dir,
        tmp_path / "m",
        callback=log,
    )
    assert len(log.probabilities) == 2  # the second member's two epochs, not four
    assert all(p.shape == (len(log.examples), 2) for p in log.probabilities)


@pytest.mark.slow
def test_compare_checks_every_save_folder_before_training(tiny_three_languages, env, tmp_path):
    saved = tmp_path / "saved"
    (saved / "gru-seed1").mkdir(parents=True)
    (saved / "gru-seed1" / "thesis.txt").write_text("mine")
    result = run(
        "compare",
        "--cells",
        "rnn,gru",
        "--seeds",
        "2",
        "--data",
        str(tiny_three_languages),
        "--save",
        str(saved),
        env=env,
    )
    assert result.returncode == 2 and "gru-seed1" in result.stderr
    assert "rnn seed 0" not in result.stderr  # refused before any training
    assert (saved / "gru-seed1" / "thesis.txt").read_text() == "mine"
