"""A damaged, mismatched or foreign model, through the CLI as a user runs it.

`nameclf predict Rossi --model DIR` and `nameclf evaluate --model DIR` on each bad model: exit code 5
(model), exactly one line on stderr naming the offending file, no traceback, and nothing unpickled.
With `--debug` (or NAMECLF_DEBUG=1) the error propagates and its traceback is shown.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from model_files import edit_config
from safetensors.numpy import save_file

from nameclf.checkpoint import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE
from nameclf.errors import ModelError

SCRIPT = Path(sys.executable).with_name("nameclf")
MODEL_EXIT = ModelError.exit_code


class TouchOnUnpickle:
    """Unpickling this calls Path.touch(marker): proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path):
        self.marker = Path(marker)

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def run(*args: str, debug_env: str | None = None, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    env.update(NAMECLF_DATA=str(tmp_path / "no-data"), NAMECLF_MODELS=str(tmp_path / "no-models"))
    if debug_env is not None:
        env["NAMECLF_DEBUG"] = debug_env
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "nameclf"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, encoding="utf-8", errors="replace", env=env, timeout=120
    )


# --- the damage: each returns (what to pass as --model, the file the message must name) -------


Damage = Callable[[Path, Path, Callable], tuple[Path, Path]]


def missing_config(model, tmp_path, parts):
    (model / CONFIG_FILE).unlink()
    return model, model / CONFIG_FILE


def config_not_json(model, tmp_path, parts):
    (model / CONFIG_FILE).write_bytes(b'{"format": "nameclf-model",')
    return model, model / CONFIG_FILE


def config_not_utf8(model, tmp_path, parts):
    (model / CONFIG_FILE).write_bytes(b"\xff\xfe\x00garbage")
    return model, model / CONFIG_FILE


def config_of_another_program(model, tmp_path, parts):
    (model / CONFIG_FILE).write_text('{"_name_or_path": "bert-base-uncased", "hidden_size": 768}', encoding="utf-8")
    return model, model / CONFIG_FILE


def config_with_three_labels(model, tmp_path, parts):
    edit_config(model, labels=["German", "Italian", "Spanish"])
    return model, model / CONFIG_FILE


def newer_format_version(model, tmp_path, parts):
    edit_config(model, format_version=FORMAT_VERSION + 1)
    return model, model / CONFIG_FILE


def missing_weights(model, tmp_path, parts):
    (model / WEIGHTS_FILE).unlink()
    return model, model / WEIGHTS_FILE


def empty_weights(model, tmp_path, parts):
    (model / WEIGHTS_FILE).write_bytes(b"")
    return model, model / WEIGHTS_FILE


def truncated_weights(model, tmp_path, parts):
    raw = (model / WEIGHTS_FILE).read_bytes()
    (model / WEIGHTS_FILE).write_bytes(raw[: len(raw) // 2])
    return model, model / WEIGHTS_FILE


def weights_cut_inside_the_header(model, tmp_path, parts):
    raw = (model / WEIGHTS_FILE).read_bytes()
    (model / WEIGHTS_FILE).write_bytes(raw[:20])
    return model, model / WEIGHTS_FILE


def weights_header_claims_exabytes(model, tmp_path, parts):
    (model / WEIGHTS_FILE).write_bytes(struct.pack("<Q", 2**62) + b"{}")
    return model, model / WEIGHTS_FILE


def weights_of_noise(model, tmp_path, parts):
    (model / WEIGHTS_FILE).write_bytes(np.random.default_rng(0).bytes(4096))
    return model, model / WEIGHTS_FILE


def weights_of_the_wrong_shape(model, tmp_path, parts):
    bigger, _ = parts(hidden=5)
    save_file(bigger, str(model / WEIGHTS_FILE))
    return model, model / WEIGHTS_FILE


def weights_of_another_cell(model, tmp_path, parts):
    lstm, _ = parts(cell="lstm")
    save_file(lstm, str(model / WEIGHTS_FILE))
    return model, model / WEIGHTS_FILE


def weights_with_nan(model, tmp_path, parts):
    weights, _ = parts()
    weights["rnn.weight_hh_l0"][0, 0] = np.nan
    save_file(weights, str(model / WEIGHTS_FILE))
    return model, model / WEIGHTS_FILE


def weights_folder_instead_of_file(model, tmp_path, parts):
    (model / WEIGHTS_FILE).unlink()
    (model / WEIGHTS_FILE).mkdir()
    return model, model / WEIGHTS_FILE


def pickle_renamed(model, tmp_path, parts):
    (model / WEIGHTS_FILE).write_bytes(pickle.dumps(TouchOnUnpickle(tmp_path / "marker"), protocol=2))
    return model, model / WEIGHTS_FILE


def pickle_renamed_latest_protocol(model, tmp_path, parts):
    payload = pickle.dumps(TouchOnUnpickle(tmp_path / "marker"), protocol=pickle.HIGHEST_PROTOCOL)
    (model / WEIGHTS_FILE).write_bytes(payload)
    return model, model / WEIGHTS_FILE


def torch_style_zip_renamed(model, tmp_path, parts):
    """A torch.save() archive (a zip holding data.pkl) renamed to model.safetensors."""
    with zipfile.ZipFile(model / WEIGHTS_FILE, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(TouchOnUnpickle(tmp_path / "marker"), protocol=2))
        archive.writestr("archive/version", "3\n")
    return model, model / WEIGHTS_FILE


def folder_that_is_not_a_model(model, tmp_path, parts):
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "beach.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    return folder, folder / CONFIG_FILE


def plain_file_as_model(model, tmp_path, parts):
    return model / WEIGHTS_FILE, model / WEIGHTS_FILE


def config_file_as_model(model, tmp_path, parts):
    return model / CONFIG_FILE, model / CONFIG_FILE


def nowhere(model, tmp_path, parts):
    return tmp_path / "nowhere", tmp_path / "nowhere"


# the cases, run through predict and evaluate; the others through predict
CORE: list[Damage] = [
    missing_config,
    missing_weights,
    empty_weights,
    truncated_weights,
    weights_of_the_wrong_shape,
    newer_format_version,
    folder_that_is_not_a_model,
    plain_file_as_model,
    pickle_renamed,
]
MORE: list[Damage] = [
    config_not_json,
    config_not_utf8,
    config_of_another_program,
    config_with_three_labels,
    weights_cut_inside_the_header,
    weights_header_claims_exabytes,
    weights_of_noise,
    weights_of_another_cell,
    weights_with_nan,
    weights_folder_instead_of_file,
    pickle_renamed_latest_protocol,
    torch_style_zip_renamed,
    config_file_as_model,
    nowhere,
]
PREDICT = ("predict", "Rossi")
EVALUATE = ("evaluate",)
CASES = [
    *(
        pytest.param(damage, command, id=f"{command[0]}-{damage.__name__}")
        for damage in CORE
        for command in (PREDICT, EVALUATE)
    ),
    *(pytest.param(damage, PREDICT, id=f"predict-{damage.__name__}") for damage in MORE),
]


def assert_one_model_error(result: subprocess.CompletedProcess, offending: Path) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == MODEL_EXIT, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(offending) in lines[0], (str(offending), lines[0])
    assert "internal error" not in lines[0]
    assert result.stdout == ""
    return lines[0]


def test_the_untouched_model_answers(tiny_model_dir, tmp_path):
    """The fixture is good, so each failure below comes from its damage alone."""
    result = run(*PREDICT, "--model", str(tiny_model_dir), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] in ("German", "Italian")


def test_the_pickle_payload_is_live(tmp_path):
    """Unpickling the payload really does create its marker, so its absence below means something."""
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(TouchOnUnpickle(probe), protocol=2))
    assert probe.exists()


@pytest.mark.slow
@pytest.mark.parametrize(("damage", "command"), CASES)
def test_a_bad_model_is_one_line_naming_the_file(tiny_model_dir, tiny_model_parts_factory, tmp_path, damage, command):
    model, offending = damage(tiny_model_dir, tmp_path, tiny_model_parts_factory)
    result = run(*command, "--model", str(model), tmp_path=tmp_path)
    line = assert_one_model_error(result, offending)
    assert not (tmp_path / "marker").exists(), "a pickle was unpickled"
    if damage is newer_format_version:
        assert "upgrade" in line and str(FORMAT_VERSION + 1) in line
    if damage is weights_of_the_wrong_shape:
        assert "shape" in line


@pytest.mark.slow
@pytest.mark.parametrize("command", [PREDICT, EVALUATE], ids=["predict", "evaluate"])
@pytest.mark.parametrize("how", ["--debug", "NAMECLF_DEBUG=1"])
def test_debug_shows_the_traceback(tiny_model_dir, tmp_path, command, how):
    (tiny_model_dir / CONFIG_FILE).unlink()
    if how == "--debug":  # a global option, before the command
        result = run("--debug", *command, "--model", str(tiny_model_dir), tmp_path=tmp_path)
    else:
        result = run(*command, "--model", str(tiny_model_dir), debug_env="1", tmp_path=tmp_path)
    assert result.returncode == 5  # the same exit code as without --debug
    assert "Traceback" in result.stderr
    assert "ModelError" in result.stderr and str(tiny_model_dir / CONFIG_FILE) in result.stderr


def test_debug_off_when_the_variable_is_0(tiny_model_dir, tmp_path):
    (tiny_model_dir / CONFIG_FILE).unlink()
    result = run(*PREDICT, "--model", str(tiny_model_dir), debug_env="0", tmp_path=tmp_path)
    assert_one_model_error(result, tiny_model_dir / CONFIG_FILE)


def test_debug_shows_that_the_pickle_was_still_not_unpickled(tiny_model_dir, tiny_model_parts_factory, tmp_path):
    model, _ = pickle_renamed(tiny_model_dir, tmp_path, tiny_model_parts_factory)
    result = run("--debug", *PREDICT, "--model", str(model), tmp_path=tmp_path)
    assert "Traceback" in result.stderr and "ModelError" in result.stderr
    assert not (tmp_path / "marker").exists()


# --- bugs found ---------------------------------------------------------------------------------


def test_a_deeply_nested_config_is_a_model_error(tiny_model_dir, tmp_path):
    (tiny_model_dir / CONFIG_FILE).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert_one_model_error(
        run(*PREDICT, "--model", str(tiny_model_dir), tmp_path=tmp_path), tiny_model_dir / CONFIG_FILE
    )


def test_a_config_with_zero_layers_is_a_model_error(tiny_model_dir, tiny_model_parts_factory, tmp_path):
    from nameclf.cells import NetworkSpec, parameter_shapes

    config = json.loads((tiny_model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    # a zero-layer network has only its head: the weights match the config, the config is nonsense
    shapes = {n: s for n, s in parameter_shapes(NetworkSpec(**config["network"])).items() if n.startswith("head.")}
    config["network"]["layers"] = 0
    save_file({name: np.zeros(shape, np.float32) for name, shape in shapes.items()}, str(tiny_model_dir / WEIGHTS_FILE))
    (tiny_model_dir / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    assert_one_model_error(
        run(*PREDICT, "--model", str(tiny_model_dir), tmp_path=tmp_path), tiny_model_dir / CONFIG_FILE
    )


@pytest.mark.parametrize("command", [PREDICT, EVALUATE], ids=["predict", "evaluate"])
def test_a_model_path_with_a_newline_is_still_one_line(tmp_path, command):
    folder = tmp_path / "my\nmodels"
    folder.mkdir()
    result = run(*command, "--model", str(folder), tmp_path=tmp_path)
    assert result.returncode == MODEL_EXIT and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
