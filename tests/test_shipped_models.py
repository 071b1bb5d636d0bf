"""The shipped models: small, calibrated, answering right after installation with no data and no models
folder; `make models` rebuilds them byte for byte on one machine and within a tolerance on another; and
a fresh install of the wheel answers from an empty folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from cli_runner import run
from reproduce import safe_open_metadata, shipped_differences
from safetensors.numpy import load_file, save_file

from nameclf import checkpoint, rebuild, shipped

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", list(shipped.SHIPPED))
def test_the_shipped_models_load_and_are_small(name):
    saved = checkpoint.load(shipped.path_of(name))
    size = sum(f.stat().st_size for f in shipped.path_of(name).iterdir())
    assert size < 3_000_000
    assert saved.temperature is not None and saved.conformal_scores  # calibrated, with prediction sets
    assert len(saved.labels) == (2 if name == "de-it" else 18)


@pytest.mark.resolution
def test_predict_answers_with_no_data_and_no_models_folder(tmp_path, env):
    result = run("predict", "Tribbiani", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["language"] == "Italian" and answer["model"] == "de-it (shipped)"
    assert not (tmp_path / "models").exists() and not (tmp_path / "data").exists()  # nothing made
    everything = run("predict", "Tribbiani", "Nguyen", "--model", "all", "--json", env=env, cwd=tmp_path)
    rows = [json.loads(line) for line in everything.stdout.splitlines()]
    assert rows[0]["model"] == "all (shipped)" and rows[1]["language"] == "Vietnamese"


@pytest.mark.slow
def test_make_models_rebuilds_de_it_byte_for_byte_on_one_machine(tmp_path):
    """On one machine the same seed and data give the same bytes: two rebuilds are identical files."""
    first = rebuild.build("de-it", tmp_path / "first")
    second = rebuild.build("de-it", tmp_path / "second")
    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()
    configs = [
        without_timings(json.loads((folder / "config.json").read_text(encoding="utf-8"))) for folder in (first, second)
    ]
    assert configs[0] == configs[1]


def without_timings(value):
    """A config without what a rebuild may change: how many seconds each step took."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items() if not str(key).endswith("seconds")}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


@pytest.mark.slow
@pytest.mark.cross_machine
def test_make_models_rebuilds_the_shipped_de_it_within_tolerance(tmp_path):
    """The shipped files were built on another machine, whose CPU kernels may round differently in the
    last bits: a rebuild here gives the same answers and probabilities within a tolerance (reproduce.py)."""
    rebuilt = rebuild.build("de-it", tmp_path / "de-it")
    assert shipped_differences(shipped.path_of("de-it"), rebuilt) == []


@pytest.mark.cross_machine
def test_the_tolerance_catches_a_bias_moved_by_1e_2(tmp_path):
    copy = tmp_path / "de-it"
    shutil.copytree(shipped.path_of("de-it"), copy)
    weights = load_file(copy / "model.safetensors")
    changed = weights["head.bias"].copy()
    changed[0] += 1e-2
    save_file({**weights, "head.bias": changed}, copy / "model.safetensors", metadata=safe_open_metadata(copy))
    problems = shipped_differences(shipped.path_of("de-it"), copy)
    assert len(problems) == 1 and problems[0].startswith("probabilities differ by up to 1.6e-03")
    assert shipped_differences(shipped.path_of("de-it"), shipped.path_of("de-it")) == []  # and not otherwise


@pytest.mark.slow
def test_a_fresh_install_answers_from_an_empty_folder(tmp_path):
    """The wheel `pip install .` builds, installed into a new virtualenv (its dependencies taken from
    this one), answers `nameclf predict Tribbiani` in an empty folder with no data and no models."""
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    # from a copy of the sources: a build folder left in the checkout can hold modules since removed
    leftovers = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "models", "data")
    shutil.copytree(ROOT, source, ignore=leftovers)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("nameclf-*.whl")
    assert wheel.stat().st_size < 5_000_000  # the shipped models and the dataset copy are small
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    empty = tmp_path / "empty"
    empty.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NAMECLF_")}
    result = subprocess.run(
        [str(fresh / "bin" / "nameclf"), "predict", "Tribbiani"],
        capture_output=True,
        text=True,
        cwd=empty,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "Italian"
    assert list(empty.iterdir()) == []  # nothing downloaded, nothing trained
    located = subprocess.run(
        [str(python), "-c", "import nameclf; print(nameclf.__file__)"], capture_output=True, text=True, cwd=empty
    )
    assert located.stdout.strip().startswith(site)  # the installed copy answered, not this checkout
