"""Several saves to one model folder at once: one wins whole, the result is never a mix.

Each writer saves weights filled with its own id and records the same id in
config["metrics"]["writer"], so a model whose weights and config come from different saves shows.

What a reader sees while saves run: writers swap a model in under an exclusive lock on
`.OUT.lock` (two renames), and `load` reads config.json and model.safetensors under a shared lock
on it, so a reader sees the old model or the new one, whole, and never a missing or mixed one.
test_load_in_the_gap_between_the_two_renames and test_load_racing_a_save_is_never_a_mix force the
two races these locks close; the stress test runs them for real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nameclf import checkpoint, registry
from nameclf.errors import ModelError
from nameclf.paths import bundled_names_dir

WRITERS, SAVES = 8, 6
SCRIPT = Path(sys.executable).with_name("nameclf")


@pytest.fixture
def parts(tiny_model_parts_factory):
    """parts(writer) -> (weights all equal to `writer`, config recording `writer`)."""

    def make(writer: int):
        weights, config = tiny_model_parts_factory()
        weights = {name: np.full(value.shape, float(writer), dtype=np.float32) for name, value in weights.items()}
        config["metrics"] = {"writer": writer}
        return weights, config

    return make


def writer_of(saved: checkpoint.SavedModel) -> int:
    """The writer a loaded model came from; fails if its weights and config are from different saves."""
    writer = saved.config["metrics"]["writer"]
    found = sorted({float(value) for array in saved.weights.values() for value in np.unique(array)})
    assert found == [float(writer)], f"config says writer {writer}, weights hold {found}: a mix"
    return writer


def leftovers(out: Path) -> list[str]:
    """Everything beside OUT but OUT and its lock file: staging (.OUT.tmp-*) or retired (.OUT.old-*) folders."""
    return sorted(path.name for path in out.parent.iterdir() if path.name not in {out.name, f".{out.name}.lock"})


class Thread(threading.Thread):
    """A thread that keeps its target's exception for the test to re-raise."""

    def __init__(self, target, *args):
        super().__init__(daemon=True)
        self.function, self.arguments, self.error, self.result = target, args, None, None

    def run(self):
        try:
            self.result = self.function(*self.arguments)
        except BaseException as error:  # noqa: B036 - handed to the test thread
            self.error = error

    def outcome(self, timeout: float = 60):
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not finish within {timeout} s"
        if self.error is not None:
            raise self.error
        return self.result


# --- API level: threads saving to one folder ----------------------------------------------------


def test_concurrent_saves_leave_one_whole_model(tmp_path, parts):
    out = tmp_path / "models" / "out"
    start = threading.Barrier(WRITERS)

    def writer(writer_id: int) -> list[Path]:
        weights, config = parts(writer_id)
        start.wait()
        return [checkpoint.save(out, weights, config) for _ in range(SAVES)]

    threads = [Thread(writer, writer_id) for writer_id in range(1, WRITERS + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        assert thread.outcome() == [out] * SAVES

    saved = checkpoint.load(out)
    assert writer_of(saved) in range(1, WRITERS + 1)
    assert sorted(p.name for p in out.iterdir()) == sorted([checkpoint.CONFIG_FILE, checkpoint.WEIGHTS_FILE])
    assert leftovers(out) == []


@pytest.mark.slow
def test_reader_during_concurrent_saves_sees_only_whole_models(tmp_path, parts):
    out = tmp_path / "models" / "out"
    checkpoint.save(out, *parts(0))
    done, trouble = threading.Event(), threading.Event()
    seen = {"whole": 0, "mixed": [], "missing": [], "other": []}
    deadline = time.monotonic() + 5

    def writer(writer_id: int) -> int:
        weights, config = parts(writer_id)
        saves = 0
        # SAVES each, and on until a reader has seen a problem or 5 s have passed, so that a race
        # that happens shows up (a loaded shared machine may schedule the threads unluckily).
        while saves < SAVES or (not trouble.is_set() and time.monotonic() < deadline):
            checkpoint.save(out, weights, config)
            saves += 1
        return saves

    def reader() -> None:
        while not done.is_set():
            try:
                saved = checkpoint.load(out)
            except ModelError as error:
                seen["missing"].append(str(error).replace(str(out), "OUT"))
                trouble.set()
                continue
            except Exception as error:  # anything but a ModelError breaks load's promise
                seen["other"].append(f"{type(error).__name__}: {error}")
                trouble.set()
                continue
            try:
                writer_of(saved)
            except AssertionError as error:
                seen["mixed"].append(str(error).splitlines()[0])
                trouble.set()
            else:
                seen["whole"] += 1

    watcher = Thread(reader)
    watcher.start()
    writers = [Thread(writer, writer_id) for writer_id in range(1, WRITERS + 1)]
    for thread in writers:
        thread.start()
    try:
        for thread in writers:
            assert thread.outcome() >= SAVES
    finally:
        done.set()
        watcher.outcome()

    assert seen["whole"] > 0
    assert seen["mixed"] == [], f"{len(seen['mixed'])} mixed load(s), e.g. {seen['mixed'][0]}"
    assert seen["missing"] == [], f"{len(seen['missing'])} failed load(s), e.g. {seen['missing'][0]}"
    assert seen["other"] == [], f"{len(seen['other'])} load(s) failed outside ModelError, e.g. {seen['other'][0]}"
    assert all(
        message.startswith(
            (
                "no model at OUT",
                "OUT is not a model directory",
                "OUT/config.json is missing",
                "OUT/model.safetensors is",
            )
        )
        for message in seen["missing"]
    ), seen["missing"][:3]
    assert writer_of(checkpoint.load(out)) in range(1, WRITERS + 1)
    assert leftovers(out) == []


def test_load_in_the_gap_between_the_two_renames(tmp_path, parts, monkeypatch):
    out = tmp_path / "models" / "out"
    checkpoint.save(out, *parts(1))
    real_replace = os.replace
    in_gap, resume = threading.Event(), threading.Event()

    def replace(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        if threading.current_thread() is saver and Path(src) == out:  # OUT moved aside, new one not yet in
            in_gap.set()
            resume.wait(2)  # bounded: a fixed load that waits for the swap still finishes

    monkeypatch.setattr(os, "replace", replace)
    saver = Thread(checkpoint.save, out, *parts(2))
    saver.start()
    if not in_gap.wait(30):
        raise RuntimeError("the save never moved OUT aside; this test no longer targets checkpoint.save's swap")
    loader = Thread(checkpoint.load, out)
    loader.start()
    loader.join(0.5)
    resume.set()
    assert saver.outcome() == out
    try:
        loaded = loader.outcome()
    except ModelError as error:
        loaded = error
    assert isinstance(loaded, checkpoint.SavedModel), f"a load during the save got: {loaded}"
    assert writer_of(loaded) in (1, 2)
    assert writer_of(checkpoint.load(out)) == 2
    assert leftovers(out) == []


@pytest.mark.slow
def test_load_racing_a_save_is_never_a_mix(tmp_path, parts, monkeypatch):
    out = tmp_path / "models" / "out"
    checkpoint.save(out, *parts(1))
    real_loads = json.loads
    saver = Thread(checkpoint.save, out, *parts(2))

    def loads(text, *args, **kwargs):
        value = real_loads(text, *args, **kwargs)
        if threading.current_thread() is threading.main_thread() and saver.ident is None:
            # load has just read config.json; a whole save by another writer runs now (bounded wait,
            # so a load that holds a lock the save needs still goes on after 2 s).
            saver.start()
            saver.join(2)
        return value

    monkeypatch.setattr(json, "loads", loads)
    loaded = checkpoint.load(out)
    monkeypatch.undo()
    if saver.ident is None:
        raise RuntimeError("load no longer parses config.json with json.loads; this test needs a new hook")
    assert saver.outcome() == out
    assert writer_of(loaded) in (1, 2)
    assert writer_of(checkpoint.load(out)) == 2
    assert leftovers(out) == []


# --- process level: two `nameclf train` at once -------------------------------------------------


def train_command(out: Path, seed: int) -> list[str]:
    args = ["train", "--out", str(out), "--epochs", "2", "--hidden", "8", "--threads", "1", "--quiet"]
    args += ["--seed", str(seed)]
    return [str(SCRIPT), *args] if SCRIPT.exists() else [sys.executable, "-m", "nameclf", *args]


@pytest.mark.slow
def test_two_trainings_at_once_one_wins_whole(tmp_path):
    shutil.copytree(bundled_names_dir(), tmp_path / "data" / "names")
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    env.update(NAMECLF_DATA=str(tmp_path / "data"), NAMECLF_MODELS=str(tmp_path / "models"), COLUMNS="200")
    out = tmp_path / "shared" / "out"
    seeds = (11, 12)

    runs = [
        subprocess.Popen(train_command(out, seed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for seed in seeds
    ]
    results = []
    for run in runs:
        try:
            stdout, stderr = run.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            run.kill()
            run.communicate()
            raise
        results.append((run.returncode, stdout, stderr))
    for code, stdout, stderr in results:
        assert code == 0, stderr
        assert stdout == ""  # --quiet

    winner = checkpoint.load(out)
    seed = winner.config["training"]["seed"]
    assert seed in seeds
    assert sorted(p.name for p in out.iterdir()) == sorted([checkpoint.CONFIG_FILE, checkpoint.WEIGHTS_FILE])
    assert leftovers(out) == []
    assert (tmp_path / "models" / registry.LATEST_FILE).read_text(encoding="utf-8").strip() == str(out.resolve())

    # Training is deterministic on CPU: the same seed retrained alone gives the same weights, so the
    # winner's weights are exactly its own run's, not the other run's, nor a blend.
    again = tmp_path / "again"
    alone = subprocess.run(train_command(again, seed), capture_output=True, text=True, env=env, timeout=300)
    assert alone.returncode == 0, alone.stderr
    reference = checkpoint.load(again)
    assert sorted(winner.weights) == sorted(reference.weights)
    for name, value in reference.weights.items():
        assert np.array_equal(winner.weights[name], value), name

    def kept(config: dict) -> dict:  # without the timings (every `..._seconds`) and the --out each was given
        return {k: v for k, v in config.items() if k != "command" and not k.endswith("seconds")}

    assert kept(winner.config) == kept(reference.config)
    assert {"training_seconds", "calibration_seconds", "experts_seconds"} <= set(winner.config)
