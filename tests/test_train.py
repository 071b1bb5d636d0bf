"""Training really trains (tiny configurations), saves, reloads and predicts identically."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nameclf import checkpoint, registry
from nameclf.callbacks import TrainingCallback, ValidationLog
from nameclf.cells import Cell
from nameclf.devices import resolve_device
from nameclf.errors import DataError, Interrupted, ModelError, UsageError
from nameclf.fitting import EarlyStopping, class_weights, weighted_loss
from nameclf.model import NameClassifier
from nameclf.predict import Predictor
from nameclf.train_config import default_threads
from nameclf.training import TrainConfig, train

# the network alone (experts="rnn"): these tests are about it; tests/test_experts.py tests the combination
TINY = dict(hidden=8, epochs=1, batch_size=64, threads=1, device="cpu", experts="rnn")
PROBE_NAMES = ["Tribbiani", "Schmidt", "Rossi", "Müller", "Abbing", "Zimmermann", "Ab", "Paternosterio"]


def torch_log_probabilities(saved: checkpoint.SavedModel, names: list[str]) -> np.ndarray:
    """Reference outputs: the torch module (fused or scratch) run name by name."""
    model = NameClassifier(saved.spec, impl=saved.config["training"]["impl"])
    model.load_state_dict({name: torch.from_numpy(value) for name, value in saved.member_weights()[0].items()})
    model.eval()
    rows = []
    with torch.no_grad():
        for name in names:
            indices = torch.from_numpy(saved.vocabulary.encode(name))[None]
            rows.append(torch.log_softmax(model(indices), dim=-1)[0].numpy())
    return np.stack(rows)


CELL_CASES = [(cell, "torch") for cell in ("rnn", "gru", "lstm")] + [(cell.value, "scratch") for cell in Cell]


@pytest.mark.slow
@pytest.mark.parametrize(("cell", "impl"), CELL_CASES)
def test_every_cell_trains_one_epoch_and_round_trips(dataset_dir, tmp_path, cell, impl):
    out = tmp_path / "models" / f"{cell}-{impl}"
    log = ValidationLog()
    result = train(TrainConfig(cell=cell, impl=impl, **TINY), data_dir=dataset_dir, out=out, callback=log)

    assert result.model_dir == out
    assert len(result.history) == 1
    assert 0.0 < result.history[0]["loss"] < 10
    saved = checkpoint.load(out)
    assert saved.config["training"]["impl"] == impl
    assert saved.config["network"]["cell"] == cell
    assert saved.labels == ["German", "Italian"]

    # the file holds exactly the weights the run validated: the loaded model gives the validation
    # names the distributions training reported before it saved
    names = [example.name for example in log.examples]
    reloaded = np.exp(Predictor(saved).log_probabilities([saved.vocabulary.encode(n) for n in names], calibrated=False))
    np.testing.assert_allclose(reloaded, log.probabilities[0], atol=1e-5)
    # and numpy predicts what the torch module does
    reference = torch_log_probabilities(saved, PROBE_NAMES)
    numpy_answers = Predictor(saved).log_probabilities(
        [saved.vocabulary.encode(n) for n in PROBE_NAMES], calibrated=False
    )
    np.testing.assert_allclose(numpy_answers, reference, atol=1e-5)


def test_bidirectional_stacked_models_round_trip(dataset_dir, tmp_path):
    out = tmp_path / "m"
    config = TrainConfig(cell="gru", layers=2, bidirectional=True, dropout=0.2, **TINY)
    train(config, data_dir=dataset_dir, out=out)
    saved = checkpoint.load(out)
    assert "rnn.weight_ih_l1_reverse" in saved.weights
    reference = torch_log_probabilities(saved, PROBE_NAMES)
    answers = Predictor(saved).log_probabilities([saved.vocabulary.encode(n) for n in PROBE_NAMES], calibrated=False)
    np.testing.assert_allclose(answers, reference, atol=1e-5)


def test_same_seed_gives_identical_weights_and_metrics(dataset_dir, tmp_path):
    config = dict(cell="lstm", hidden=16, epochs=2, batch_size=32, threads=1, seed=7, device="cpu")
    first = train(TrainConfig(**config), data_dir=dataset_dir, out=tmp_path / "a")
    second = train(TrainConfig(**config), data_dir=dataset_dir, out=tmp_path / "b")
    a, b = checkpoint.load(tmp_path / "a"), checkpoint.load(tmp_path / "b")
    assert a.weights.keys() == b.weights.keys()
    for name in a.weights:
        assert np.array_equal(a.weights[name], b.weights[name]), name
    assert first.config["metrics"] == second.config["metrics"]
    assert first.history == second.history
    assert a.config["data"]["fingerprint"] == b.config["data"]["fingerprint"]

    third = train(TrainConfig(**{**config, "seed": 8}), data_dir=dataset_dir, out=tmp_path / "c")
    c = checkpoint.load(tmp_path / "c")
    assert not np.array_equal(a.weights["head.weight"], c.weights["head.weight"])
    assert third.config["data"]["split_seed"] == 8


def test_training_learns_and_keeps_the_best_epoch(dataset_dir, tmp_path):
    result = train(
        TrainConfig(cell="gru", hidden=32, epochs=6, patience=2, threads=1, experts="rnn"), dataset_dir, tmp_path / "m"
    )
    history = result.history
    best = max(history, key=lambda r: (r["validation_accuracy"], -r["validation_loss"]))
    saved = checkpoint.load(tmp_path / "m")
    assert saved.config["training"]["best_epoch"] == best["epoch"]
    assert saved.config["metrics"]["validation_accuracy"] == pytest.approx(best["validation_accuracy"])
    assert best["validation_accuracy"] > 0.85  # two clearly different languages: far above chance
    assert history[-1]["loss"] < history[0]["loss"]


@pytest.mark.parametrize("average", [0.99, 0.0])
def test_the_saved_weights_are_the_validated_ones(dataset_dir, tmp_path, average):
    """With weight averaging the averaged weights, without it the trained ones, from the best epoch."""
    log = ValidationLog()
    config = TrainConfig(
        cell="lstm", hidden=16, epochs=4, patience=4, average=average, threads=1, seed=3, device="cpu", experts="rnn"
    )
    result = train(config, dataset_dir, tmp_path / "m", callback=log)
    saved = checkpoint.load(tmp_path / "m")
    assert saved.config["training"]["average"] == average
    assert len(log.probabilities) == len(result.history) == 4
    best = saved.config["training"]["best_epoch"]
    names = [example.name for example in log.examples]
    answers = np.exp(Predictor(saved).log_probabilities([saved.vocabulary.encode(n) for n in names], calibrated=False))
    np.testing.assert_allclose(answers, log.probabilities[best - 1], atol=1e-5)
    others = [epoch for epoch in range(4) if epoch != best - 1]
    assert all(not np.allclose(answers, log.probabilities[epoch], atol=1e-5) for epoch in others)


def test_weight_averaging_changes_what_is_kept(dataset_dir, tmp_path):
    plain = dict(cell="gru", hidden=8, epochs=2, patience=2, threads=1, seed=1)
    train(TrainConfig(**plain, average=0.0), dataset_dir, tmp_path / "plain")
    train(TrainConfig(**plain, average=0.9), dataset_dir, tmp_path / "averaged")
    a, b = checkpoint.load(tmp_path / "plain"), checkpoint.load(tmp_path / "averaged")
    assert a.weights.keys() == b.weights.keys()
    assert not np.allclose(a.weights["head.weight"], b.weights["head.weight"])


@pytest.mark.parametrize("average", [1.0, -0.1, 2.0])
def test_average_out_of_range_is_a_usage_error(average):
    with pytest.raises(UsageError, match="--average"):
        TrainConfig(average=average)


def test_early_stopping_keeps_best_accuracy_then_lowest_loss():
    stopping = EarlyStopping(patience=2)
    figures = [(0.90, 0.30), (0.95, 0.20), (0.95, 0.10), (0.95, 0.15), (0.94, 0.05), (0.99, 0.01)]
    kept = []
    for epoch, (accuracy, loss) in enumerate(figures, start=1):
        kept.append(stopping.update(epoch, accuracy, loss))
        if stopping.should_stop:
            break
    assert kept == [True, True, True, False, False]  # a tie in accuracy goes to the lower loss
    assert stopping.best_epoch == 3 and epoch == 5  # two stale epochs stop it before the sixth


@pytest.mark.slow
def test_all_languages_train_with_multilabel_names(dataset_dir, tmp_path):
    result = train(TrainConfig(languages="all", **TINY), data_dir=dataset_dir, out=tmp_path / "all")
    saved = checkpoint.load(tmp_path / "all")
    assert len(saved.labels) == 18
    assert saved.config["data"]["shared_names"] == "multi"
    assert result.config["data"]["sizes"]["train"] > 13000


def test_interrupt_keeps_the_previous_model(dataset_dir, tmp_path):
    out = tmp_path / "m"
    train(TrainConfig(**TINY), data_dir=dataset_dir, out=out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    class StopInSecondBatch(TrainingCallback):
        batches = 0

        def batch(self):
            self.batches += 1
            if self.batches == 2:
                raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="nothing was saved"):
        train(TrainConfig(**{**TINY, "seed": 3}), data_dir=dataset_dir, out=out, callback=StopInSecondBatch())
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".m.")] in ([], [".m.lock"])


def test_weighted_loss_is_cross_entropy_for_one_label():
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(6, 3, generator=generator)
    labels = torch.tensor([0, 1, 2, 2, 2, 1])
    weights = torch.tensor([0.5, 1.0, 2.0])
    ours = weighted_loss(scores, F.one_hot(labels, 3).float(), weights)
    assert torch.allclose(ours, F.cross_entropy(scores, labels, weight=weights))


def test_class_weights_balance_rare_classes():
    targets = np.array([[1, 0]] * 90 + [[0, 1]] * 10, dtype=np.float32)
    weights = class_weights(targets)
    assert weights[1] / weights[0] == pytest.approx(9.0)
    assert np.allclose(class_weights(np.eye(2, dtype=np.float32).repeat(5, axis=0)), 1.0)


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError, match="--impl scratch"):
        TrainConfig(cell="lstm_peephole", impl="torch")
    with pytest.raises(UsageError, match="--hidden"):
        TrainConfig(hidden=0)
    with pytest.raises(UsageError, match="unknown device"):
        resolve_device("tpu")
    with pytest.raises(UsageError, match="--patience must be at least 1"):
        TrainConfig(patience=0)
    with pytest.raises(UsageError, match="--seed must be between 0 and 4294967295"):
        TrainConfig(seed=-1)
    with pytest.raises(UsageError, match="--seed"):
        TrainConfig(seed=2**32)
    # typos that would allocate for minutes or hang (a 100,000-layer network) are refused
    for option, value in (("layers", 17), ("hidden", 10**9), ("batch_size", 10**6), ("threads", 3 * 10**9)):
        with pytest.raises(UsageError, match=f"--{option.replace('_', '-')} must be between 1 and"):
            TrainConfig(**{option: value})
    for lr in (float("inf"), float("nan"), 2.0, 0.0):
        with pytest.raises(UsageError, match=r"--lr must be in \(0, 1\]"):
            TrainConfig(lr=lr)
    with pytest.raises(UsageError, match="--dropout acts between stacked layers"):
        TrainConfig(dropout=0.5)
    assert TrainConfig(dropout=0.5, layers=2).dropout == 0.5


@pytest.mark.parametrize("value", ["abc", "0", "-1", "99999999999999999999"])
def test_a_bad_omp_num_threads_is_a_usage_error(monkeypatch, value):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    with pytest.raises(UsageError, match="OMP_NUM_THREADS must be a whole number from 1 to 1024"):
        default_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert default_threads() == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == 1


def test_a_diverging_run_saves_nothing_and_says_to_lower_the_learning_rate(dataset_dir, tmp_path, monkeypatch):
    """A loss gone NaN would save a model that cannot answer; the run stops and the old model stays.

    No learning rate within the allowed range diverges reliably on this data, so the loss itself is
    made infinite from the third batch on (the real loss, times infinity).
    """
    out = tmp_path / "models" / "m"
    train(TrainConfig(**TINY), data_dir=dataset_dir, out=out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    latest = (tmp_path / "models" / registry.LATEST_FILE).read_text()
    calls = []

    def diverging(scores, target, weights, smoothing=0.0, sample_weights=None):
        calls.append(1)
        loss = weighted_loss(scores, target, weights, smoothing, sample_weights)
        return loss * float("inf") if len(calls) >= 3 else loss

    monkeypatch.setattr("nameclf.fitting.weighted_loss", diverging)
    diverged = r"training diverged in epoch 1: the loss became (inf|nan); lower --lr"
    with pytest.raises(UsageError, match=diverged) as caught:
        train(TrainConfig(**{**TINY, "seed": 4}), data_dir=dataset_dir, out=out)
    assert f"{out} is as it was" in str(caught.value)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert (tmp_path / "models" / registry.LATEST_FILE).read_text() == latest
    assert len(calls) == 3  # it stopped at once


def test_a_latest_that_is_a_folder_is_refused_before_training(dataset_dir, tmp_path):
    (tmp_path / "models" / registry.LATEST_FILE).mkdir(parents=True)
    with pytest.raises(UsageError, match="LATEST is a folder"):
        train(TrainConfig(**TINY), data_dir=dataset_dir, out=tmp_path / "m", callback=NoTraining())


class NoTraining(TrainingCallback):
    """Fails the test if training ever starts."""

    def start(self, epochs, batches):
        raise AssertionError("training started; the bad output folder should have been refused first")


@pytest.mark.parametrize("kind", ["folder", "file"])
def test_an_out_that_is_not_a_model_is_refused_before_training(dataset_dir, tmp_path, kind):
    """Saving replaces the target whole, so a folder of other files (or a file) must never be the target."""
    out = tmp_path / "thesis"
    if kind == "folder":
        out.mkdir()
        (out / "chapter1.tex").write_text("precious\n")
    else:
        out.write_text("precious\n")
    with pytest.raises(UsageError, match=r"thesis is a (folder holding other files|file).*--out") as caught:
        train(TrainConfig(**TINY), data_dir=dataset_dir, out=out, callback=NoTraining())
    assert "\n" not in str(caught.value)
    assert (out / "chapter1.tex" if kind == "folder" else out).read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["data", "thesis"])  # nothing written


def test_an_empty_folder_or_an_old_model_may_be_replaced(dataset_dir, tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    train(TrainConfig(**TINY), data_dir=dataset_dir, out=out)
    first = checkpoint.load(out).weights["head.weight"]
    train(TrainConfig(**{**TINY, "seed": 5}), data_dir=dataset_dir, out=out)
    assert not np.array_equal(checkpoint.load(out).weights["head.weight"], first)


def test_an_unwritable_out_is_refused_before_training(dataset_dir, tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x\n")
    with pytest.raises(UsageError, match=r"cannot write a model to .*plain-file/m .*--out"):
        train(TrainConfig(**TINY), data_dir=dataset_dir, out=blocker / "m", callback=NoTraining())


def test_an_unusable_models_folder_is_refused_before_training(dataset_dir, tmp_path, monkeypatch):
    """The model would be saved, but could not be marked latest: say so before training, not after."""
    blocker = tmp_path / "plain-file"
    blocker.write_text("x\n")
    monkeypatch.setenv("NAMECLF_MODELS", str(blocker))
    with pytest.raises(UsageError, match="cannot record the latest model in .*NAMECLF_MODELS"):
        train(TrainConfig(**TINY), data_dir=dataset_dir, out=tmp_path / "m", callback=NoTraining())
    assert not (tmp_path / "m").exists()
    # a run that does not mark its model latest needs no models folder
    train(TrainConfig(**TINY), data_dir=dataset_dir, out=tmp_path / "m", mark_latest=False)
    assert checkpoint.load(tmp_path / "m").labels == ["German", "Italian"]


@pytest.mark.resolution
def test_mark_latest_false_leaves_the_latest_model_alone(dataset_dir, tmp_path):
    train(TrainConfig(**TINY), data_dir=dataset_dir)  # into the models folder, marked latest
    latest = registry.resolve_model_dir(None)
    pointer = (tmp_path / "models" / registry.LATEST_FILE).read_text()
    assert pointer == "lstm-german-italian\n"  # by its name in the models folder
    train(TrainConfig(**TINY), data_dir=dataset_dir, out=tmp_path / "scratch", mark_latest=False)
    assert registry.resolve_model_dir(None) == latest
    assert (tmp_path / "models" / registry.LATEST_FILE).read_text() == pointer


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_explicit_cuda_without_a_gpu_is_a_usage_error():
    with pytest.raises(UsageError, match="no CUDA GPU"):
        resolve_device("cuda")
    assert resolve_device("auto").type in ("cpu", "mps")


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("cell", "impl"), [("lstm", "torch"), ("gru", "torch"), ("lstm_peephole", "scratch")])
def test_cuda_training_predicts_like_numpy(dataset_dir, tmp_path, cell, impl):
    result = train(
        TrainConfig(cell=cell, impl=impl, hidden=16, epochs=2, device="cuda"), data_dir=dataset_dir, out=tmp_path / "m"
    )
    assert result.config["training"]["device"].startswith("cuda")
    saved = checkpoint.load(tmp_path / "m")
    encoded = [saved.vocabulary.encode(n) for n in PROBE_NAMES]
    on_gpu = Predictor(saved, backend="torch", device="cuda").log_probabilities(encoded)
    on_numpy = Predictor(saved).log_probabilities(encoded)
    np.testing.assert_allclose(on_gpu, on_numpy, atol=1e-4)


# --- evaluation rebuilds the model's own test split ---------------------------------------------


def test_evaluation_rebuilds_the_very_split_the_model_was_trained_on(dataset_dir, tmp_path):
    from nameclf.data import load_dataset, split_dataset
    from nameclf.evaluate import test_examples

    out = tmp_path / "m"
    train(TrainConfig(**{**TINY, "seed": 6}), data_dir=dataset_dir, out=out)
    expected = split_dataset(load_dataset(dataset_dir / "names"), 6).test
    assert test_examples(checkpoint.load(out), dataset_dir) == expected

    # a config.json whose split seed was edited would test on names the model trained on: refused
    config = json.loads((out / checkpoint.CONFIG_FILE).read_text(encoding="utf-8"))
    config["data"]["split_seed"] = 7
    (out / checkpoint.CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelError, match="its split seed does not give the split this model was trained on"):
        test_examples(checkpoint.load(out), dataset_dir)


def test_evaluation_names_a_language_file_that_is_gone(dataset_dir, tmp_path):
    from nameclf.evaluate import test_examples

    train(TrainConfig(**TINY), data_dir=dataset_dir, out=tmp_path / "m")
    (dataset_dir / "names" / "Italian.txt").unlink()
    with pytest.raises(
        DataError,
        match=r"has no Italian, which .*m was trained on; evaluate with --data DIR",
    ):
        test_examples(checkpoint.load(tmp_path / "m"), dataset_dir)


def test_save_false_trains_and_writes_nothing(dataset_dir, tmp_path):
    before = sorted(tmp_path.rglob("*"))
    result = train(TrainConfig(cell="gru", **TINY), dataset_dir, save=False)
    assert result.model_dir is None
    assert 0 <= result.config["metrics"]["validation_macro_f1"] <= 1
    assert sorted(tmp_path.rglob("*")) == before


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
