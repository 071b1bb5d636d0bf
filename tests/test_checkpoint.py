"""`nameclf.checkpoint`: save/load round trips, the LATEST pointer, and every kind of bad model file."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_files import edit_config, write_config
from safetensors.numpy import save_file

from nameclf import __version__, checkpoint, registry
from nameclf.checkpoint import CONFIG_FILE, WEIGHTS_FILE
from nameclf.errors import ModelError, UsageError
from nameclf.predict import MAX_NAME_LENGTH, Predictor


def leftovers(folder: Path) -> list[str]:
    """Temporary save folders left beside a model."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and ("tmp" in p.name or "old" in p.name))


# --- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        {"cell": "gru"},
        {"cell": "lstm", "layers": 2, "bidirectional": True},
        {"cell": "lstm_peephole", "hidden": 3},
        {"cell": "rnn", "hidden": 1},
    ],
)
def test_round_trip(tmp_path, tiny_model_parts_factory, shape):
    weights, config = tiny_model_parts_factory(**shape)
    target = checkpoint.save(tmp_path / "m", weights, config)
    assert target == tmp_path / "m"
    assert sorted(p.name for p in target.iterdir()) == sorted([CONFIG_FILE, WEIGHTS_FILE])
    saved = checkpoint.load(target)
    assert saved.path == target
    assert sorted(saved.weights) == sorted(weights)
    for name, value in weights.items():
        assert saved.weights[name].dtype == np.float32
        assert np.array_equal(saved.weights[name], value), name
    for key, value in config.items():
        assert saved.config[key] == value
    assert saved.config["format"] == "nameclf-model"
    assert saved.config["format_version"] == 5 and checkpoint.FORMAT_VERSION == 6  # no memory: format 5
    assert saved.config["nameclf_version"] == __version__
    on_disk = json.loads((target / CONFIG_FILE).read_text(encoding="utf-8"))
    assert on_disk == saved.config
    assert saved.spec.to_dict() == config["network"]
    assert saved.labels == config["labels"]
    assert saved.vocabulary.characters == config["vocabulary"]
    assert leftovers(tmp_path) == []


def test_float64_weights_are_stored_as_float32(tmp_path, tiny_model_parts_factory):
    weights, config = tiny_model_parts_factory()
    wide = {name: value.astype(np.float64) for name, value in weights.items()}
    saved = checkpoint.load(checkpoint.save(tmp_path / "m", wide, config))
    for name, value in weights.items():
        assert saved.weights[name].dtype == np.float32
        assert np.array_equal(saved.weights[name], value)


def test_save_replaces_an_existing_model_whole(tmp_path, tiny_model_parts_factory):
    first_weights, first_config = tiny_model_parts_factory(cell="gru", seed=1)
    target = checkpoint.save(tmp_path / "m", first_weights, first_config)
    second_weights, second_config = tiny_model_parts_factory(cell="lstm", hidden=6, seed=2)
    second_config["metrics"] = {"accuracy": 0.5}
    checkpoint.save(target, second_weights, second_config)
    assert sorted(p.name for p in target.iterdir()) == sorted([CONFIG_FILE, WEIGHTS_FILE])
    saved = checkpoint.load(target)
    assert saved.config["network"]["cell"] == "lstm"
    assert saved.config["metrics"] == {"accuracy": 0.5}
    assert sorted(saved.weights) == sorted(second_weights)
    assert all(np.array_equal(saved.weights[k], v) for k, v in second_weights.items())
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["m"]


def test_failed_save_keeps_the_old_model(tmp_path, tiny_model_parts_factory):
    weights, config = tiny_model_parts_factory(seed=1)
    target = checkpoint.save(tmp_path / "m", weights, config)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    bad = dict(weights, broken=np.array(["not", "numbers"]))
    with pytest.raises(ValueError):
        checkpoint.save(target, bad, config)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert leftovers(tmp_path) == []


# --- the LATEST pointer -------------------------------------------------------------------------


@pytest.mark.resolution
def test_mark_latest_then_resolve(env_dirs, tmp_path, tiny_model_parts_factory):
    weights, config = tiny_model_parts_factory()
    target = checkpoint.save(env_dirs["models"] / "first", weights, config)
    registry.mark_latest(target)
    assert (env_dirs["models"] / "LATEST").is_file()
    assert registry.resolve_model_dir(None).resolve() == target.resolve()
    # a later model elsewhere becomes the latest
    other = checkpoint.save(tmp_path / "elsewhere" / "second", weights, config)
    registry.mark_latest(other)
    assert registry.resolve_model_dir(None).resolve() == other.resolve()
    assert checkpoint.load(registry.resolve_model_dir(None)).config["labels"] == config["labels"]
    assert leftovers(env_dirs["models"]) == []
    assert not [p for p in env_dirs["models"].iterdir() if p.name.startswith(".LATEST")]
    # an explicit model wins over LATEST
    assert registry.resolve_model_dir(target) == target


@pytest.mark.resolution
def test_latest_may_name_a_folder_relative_to_the_models_folder(env_dirs, tiny_model_parts_factory):
    weights, config = tiny_model_parts_factory()
    checkpoint.save(env_dirs["models"] / "mine", weights, config)
    (env_dirs["models"] / "LATEST").write_text("mine\n", encoding="utf-8")
    assert registry.resolve_model_dir(None) == env_dirs["models"] / "mine"


@pytest.mark.resolution
def test_no_model_yet_is_the_shipped_de_it_and_nameclf_model_names_another(env_dirs, monkeypatch):
    from nameclf import shipped

    assert registry.resolve_model_dir(None) == shipped.path_of("de-it")
    monkeypatch.setenv("NAMECLF_MODEL", "all")
    assert registry.resolve_model_dir(None) == shipped.path_of("all")
    monkeypatch.setenv("NAMECLF_MODEL", str(env_dirs["models"] / "x"))
    assert registry.resolve_model_dir(None) == env_dirs["models"] / "x"


@pytest.mark.resolution
def test_latest_pointing_at_a_removed_model(env_dirs, tiny_model_parts_factory):
    weights, config = tiny_model_parts_factory()
    target = checkpoint.save(env_dirs["models"] / "gone", weights, config)
    registry.mark_latest(target)
    shutil.rmtree(target)
    with pytest.raises(ModelError, match=r"the last model trained \(.*gone, named in .*LATEST\) is gone; run") as error:
        registry.resolve_model_dir(None)
    assert "--model" in str(error.value) and "\n" not in str(error.value)


def test_latest_records_a_model_in_the_models_folder_by_name(env_dirs, tmp_path, tiny_model_parts_factory):
    """So the models folder can be moved or mounted elsewhere whole; a model outside it by full path."""
    weights, config = tiny_model_parts_factory()
    registry.mark_latest(checkpoint.save(env_dirs["models"] / "mine", weights, config))
    assert (env_dirs["models"] / "LATEST").read_text(encoding="utf-8") == "mine\n"
    outside = checkpoint.save(tmp_path / "elsewhere" / "theirs", weights, config)
    registry.mark_latest(outside)
    assert (env_dirs["models"] / "LATEST").read_text(encoding="utf-8") == f"{outside.resolve()}\n"


@pytest.mark.parametrize(
    "kind", ["folder", "file", "folder with a model and more", "someone else's config.json", "weights alone"]
)
def test_save_never_replaces_what_is_not_a_model(tmp_path, tiny_model_parts_factory, kind):
    weights, config = tiny_model_parts_factory()
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("mine\n")
    elif kind == "someone else's config.json":  # the right file name is not enough: it must be nameclf's
        target.mkdir()
        (target / CONFIG_FILE).write_text('{"mine": 1}\n')
    elif kind == "weights alone":  # a safetensors file of the user's own, with no nameclf config beside it
        target.mkdir()
        (target / WEIGHTS_FILE).write_text("mine\n")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("mine\n")
        if kind != "folder":
            checkpoint.save(tmp_path / "model", weights, config)
            for part in (tmp_path / "model").iterdir():
                shutil.copy(part, target / part.name)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(UsageError, match="saving would replace it"):
        checkpoint.save(target, weights, config)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if kind == "someone else's config.json":
        assert (target / CONFIG_FILE).read_text() == '{"mine": 1}\n'
    elif kind == "weights alone":
        assert (target / WEIGHTS_FILE).read_text() == "mine\n"
    else:
        assert (target if kind == "file" else target / "notes.txt").read_text() == "mine\n"


def test_a_full_or_read_only_folder_is_a_model_error_and_keeps_the_old_model(
    tmp_path, tiny_model_parts_factory, monkeypatch
):
    """Any OSError while writing (here: the weights file cannot be written) leaves the old model whole."""
    weights, config = tiny_model_parts_factory()
    target = checkpoint.save(tmp_path / "m", weights, config)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    import safetensors.numpy

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", disk_full)
    with pytest.raises(ModelError, match=r"cannot save the model to .*m \(No space left on device\); .* as it was"):
        checkpoint.save(target, weights, {**config, "labels": config["labels"]})
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) in (["m"], [".m.lock", "m"])


# --- bad model files ----------------------------------------------------------------------------


class TouchOnUnpickle:
    """Unpickling this calls Path.touch(marker): proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path):
        self.marker = Path(marker)

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def rewrite_weights(model: Path, change) -> None:
    """Rewrite model.safetensors with change(weights) applied (bypassing checkpoint.save)."""
    weights = checkpoint.load(model).weights
    change(weights)
    save_file(weights, str(model / WEIGHTS_FILE))


def load_error(path: Path) -> str:
    with pytest.raises(ModelError) as caught:
        checkpoint.load(path)
    message = str(caught.value)
    assert "\n" not in message, message
    assert isinstance(caught.value.exit_code, int) and caught.value.exit_code == ModelError.exit_code
    return message


def test_missing_model_dir(tmp_path):
    path = tmp_path / "nowhere"
    message = load_error(path)
    assert str(path) in message
    assert "nameclf train" in message


def test_file_instead_of_a_model_dir(tiny_model_dir):
    message = load_error(tiny_model_dir / WEIGHTS_FILE)
    assert str(tiny_model_dir / WEIGHTS_FILE) in message
    assert "not a model directory" in message


def test_dir_without_config(tiny_model_dir):
    (tiny_model_dir / CONFIG_FILE).unlink()
    assert str(tiny_model_dir / CONFIG_FILE) in load_error(tiny_model_dir)


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"format": "nameclf-model",', b"\xff\xfe\x00garbage"])
def test_config_not_json(tiny_model_dir, content):
    (tiny_model_dir / CONFIG_FILE).write_bytes(content)
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / CONFIG_FILE) in message
    assert "JSON" in message


@pytest.mark.parametrize(
    "config",
    [{"hello": "world"}, [1, 2, 3], "nameclf-model", None, {"format": "other-model", "format_version": 1}],
    ids=["dict", "list", "string", "null", "other-format"],
)
def test_config_not_a_nameclf_config(tiny_model_dir, config):
    write_config(tiny_model_dir, config)
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / CONFIG_FILE) in message
    assert "not a nameclf model config" in message


@pytest.mark.parametrize("version", [None, "1", 1.0])
def test_config_without_a_usable_format_version(tiny_model_dir, version):
    edit_config(tiny_model_dir, format_version=version)
    assert str(tiny_model_dir / CONFIG_FILE) in load_error(tiny_model_dir)


@pytest.mark.parametrize(
    ("labels", "reason"),
    [(["German", "German"], "labels must be distinct"), ([1, 2], "labels must be distinct"), (["", "x"], "labels")],
)
def test_labels_that_are_not_distinct_names(tiny_model_dir, labels, reason):
    """A hand-edited label list would make every answer the same language, or crash evaluation."""
    edit_config(tiny_model_dir, labels=labels)
    assert reason in load_error(tiny_model_dir)


def test_a_vocabulary_that_repeats_a_character(tiny_model_dir):
    config = json.loads((tiny_model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    edit_config(tiny_model_dir, vocabulary="a" * len(config["vocabulary"]))
    assert "the vocabulary repeats a character" in load_error(tiny_model_dir)


def test_config_from_a_newer_format(tiny_model_dir):
    edit_config(tiny_model_dir, format_version=checkpoint.FORMAT_VERSION + 1)
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / CONFIG_FILE) in message
    assert "upgrade nameclf (update your checkout, then `make install`)" in message
    assert str(checkpoint.FORMAT_VERSION + 1) in message


@pytest.mark.parametrize(
    "changes",
    [
        {"labels": ["German", "Italian", "Spanish"]},
        {"labels": "German,Italian"},
        {"vocabulary": "abc"},
        {"vocabulary": None},
        {"network": {"cell": "gru"}},
        {"network": {"cell": "transformer", "vocab_size": 5, "hidden": 4, "layers": 1,
                     "bidirectional": False, "num_labels": 2}},
        {"network": None},
    ],
    ids=["labels-count", "labels-type", "vocab-size", "vocab-type", "network-keys", "network-cell", "network-null"],
)  # fmt: skip
def test_config_inconsistent(tiny_model_dir, changes):
    edit_config(tiny_model_dir, **changes)
    assert str(tiny_model_dir / CONFIG_FILE) in load_error(tiny_model_dir)


def test_config_missing_a_key(tiny_model_dir):
    config = json.loads((tiny_model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    del config["labels"]
    write_config(tiny_model_dir, config)
    assert str(tiny_model_dir / CONFIG_FILE) in load_error(tiny_model_dir)


def test_missing_weights(tiny_model_dir):
    (tiny_model_dir / WEIGHTS_FILE).unlink()
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / WEIGHTS_FILE) in message
    assert "missing" in message


@pytest.mark.parametrize("keep", [0.5, 0.0, 0.9])
def test_truncated_weights(tiny_model_dir, keep):
    path = tiny_model_dir / WEIGHTS_FILE
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])
    assert str(path) in load_error(tiny_model_dir)


def test_weights_directory_instead_of_file(tiny_model_dir):
    path = tiny_model_dir / WEIGHTS_FILE
    path.unlink()
    path.mkdir()
    assert str(path) in load_error(tiny_model_dir)


def test_weights_of_the_wrong_shape(tiny_model_dir, tiny_model_parts_factory):
    bigger, _ = tiny_model_parts_factory(hidden=5)
    save_file(bigger, str(tiny_model_dir / WEIGHTS_FILE))
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / WEIGHTS_FILE) in message
    assert "shape" in message


def test_weights_of_another_cell(tiny_model_dir, tiny_model_parts_factory):
    lstm, _ = tiny_model_parts_factory(cell="lstm")
    save_file(lstm, str(tiny_model_dir / WEIGHTS_FILE))
    assert str(tiny_model_dir / WEIGHTS_FILE) in load_error(tiny_model_dir)


def test_extra_weight(tiny_model_dir):
    rewrite_weights(tiny_model_dir, lambda w: w.update({"rnn.weight_ih_l1": np.zeros((12, 4), np.float32)}))
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / WEIGHTS_FILE) in message
    assert "rnn.weight_ih_l1" in message


def test_missing_weight(tiny_model_dir):
    rewrite_weights(tiny_model_dir, lambda w: w.pop("head.bias"))
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / WEIGHTS_FILE) in message
    assert "head.bias" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tiny_model_dir, bad):
    def poison(weights):
        weights["rnn.weight_hh_l0"][1, 2] = bad

    rewrite_weights(tiny_model_dir, poison)
    message = load_error(tiny_model_dir)
    assert str(tiny_model_dir / WEIGHTS_FILE) in message
    assert "rnn.weight_hh_l0" in message


def test_pickle_is_never_unpickled(tmp_path, tiny_model_dir):
    # the payload is live: unpickling it really does create its marker file
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(TouchOnUnpickle(probe)))
    assert probe.exists()

    marker = tmp_path / "marker"
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        (tiny_model_dir / WEIGHTS_FILE).write_bytes(pickle.dumps(TouchOnUnpickle(marker), protocol=protocol))
        assert str(tiny_model_dir / WEIGHTS_FILE) in load_error(tiny_model_dir)
        assert not marker.exists()


def test_unchanged_tiny_model_loads(tiny_model_dir):
    """The fixture itself is good, so the failures above come from the damage alone."""
    saved = checkpoint.load(tiny_model_dir)
    assert saved.labels == ["German", "Italian"]
    assert saved.spec.vocab_size == saved.vocabulary.size


# --- a predictor on the tiny model --------------------------------------------------------------


def test_predictor_answers_and_reports_per_name_errors(tiny_model_dir):
    predictor = Predictor(checkpoint.load(tiny_model_dir))
    long_name = "a" * 300
    results = predictor.predict(["Rossi", "", long_name, "   ", "Müller"], top_k=2)
    assert [r.name for r in results] == ["Rossi", "", long_name, "   ", "Müller"]
    for answer in (results[0], results[4]):
        assert answer.error is None
        assert answer.language in ("German", "Italian")
        assert 0.5 <= answer.probability <= 1.0
        assert [language for language, _ in answer.top][0] == answer.language
        assert sorted(language for language, _ in answer.top) == ["German", "Italian"]
        assert sum(p for _, p in answer.top) == pytest.approx(1.0, abs=1e-5)
    assert results[1].error == "empty name" and results[1].language is None
    assert results[3].error == "empty name"
    assert results[2].language is None
    assert "300" in results[2].error and str(MAX_NAME_LENGTH) in results[2].error
    # the same names give the same answers, alone or in a batch
    alone = predictor.predict(["Rossi"], top_k=2)[0]
    assert alone.language == results[0].language
    assert alone.probability == pytest.approx(results[0].probability, abs=1e-6)


def test_predictor_flags_unknown_characters(tiny_model_dir):
    predictor = Predictor(checkpoint.load(tiny_model_dir))
    mostly_unknown, one_unknown = predictor.predict(["ЖЖЖb", "RossЖ"])
    assert mostly_unknown.language is None and mostly_unknown.error is None
    assert mostly_unknown.unknown_characters == 3 and mostly_unknown.warning
    assert one_unknown.language in ("German", "Italian")
    assert one_unknown.unknown_characters == 1


def test_predictor_rejects_bad_arguments(tiny_model_dir):
    saved = checkpoint.load(tiny_model_dir)
    with pytest.raises(UsageError):
        Predictor(saved, backend="tpu")
    with pytest.raises(UsageError):
        Predictor(saved).predict(["Rossi"], top_k=0)


@pytest.mark.resolution
def test_predictor_load_uses_latest(env_dirs, tiny_model_dir):
    registry.mark_latest(tiny_model_dir)
    predictor = Predictor.load()
    assert predictor.labels == ["German", "Italian"]
    assert predictor.predict(["Rossi"])[0].language in ("German", "Italian")


def test_numpy_prediction_does_not_import_torch(tiny_model_dir):
    code = (
        "import sys; from nameclf.predict import Predictor; from pathlib import Path; "
        f"r = Predictor.load(Path({str(tiny_model_dir)!r})).predict(['Rossi'])[0]; "
        "assert r.language in ('German', 'Italian'), r; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_listing_models_reads_their_configs_not_their_weights(tiny_model_dir):
    """`nameclf models` lists a folder from its checked config alone: weights that would fail to load
    are not read (loading the model still refuses them), and a bad config is still listed with its error."""
    from nameclf.cards import listing
    from nameclf.checkpoint import WEIGHTS_FILE, load, load_config

    (tiny_model_dir / WEIGHTS_FILE).write_bytes(b"not safetensors")
    rows = {row["path"]: row for row in listing(tiny_model_dir.parent)}
    row = rows[str(tiny_model_dir)]
    assert "error" not in row and row["languages"] == ["German", "Italian"] and row["cell"] == "gru"
    assert load_config(tiny_model_dir)["labels"] == ["German", "Italian"]
    with pytest.raises(ModelError, match="not a readable safetensors file"):
        load(tiny_model_dir)
    (tiny_model_dir / "config.json").write_text("{", encoding="utf-8")
    assert "is not valid JSON" in {r["path"]: r for r in listing(tiny_model_dir.parent)}[str(tiny_model_dir)]["error"]
