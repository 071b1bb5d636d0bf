"""Ctrl-C (SIGINT) and SIGTERM stop `nameclf train`, in an epoch or in the middle of saving.

Every case runs the CLI in a real subprocess and sends it a real signal. Afterwards the model that
was at `--out` before is there byte for byte and loads, the interrupted run has left no staging or
retired folder behind, and the last line on stderr is one line saying what was kept (exit 130).

To land the signal inside the save, the child is a small driver (`python -c DRIVER`) that wraps one
step of the save so that it touches a marker file and then sleeps; the test waits for the marker
and signals the child while it sleeps there. Nothing else in the package is changed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_runner import default_sigint

from nameclf import checkpoint, registry
from nameclf.paths import bundled_names_dir

SCRIPT = Path(sys.executable).with_name("nameclf")
TINY = ["--hidden", "8", "--threads", "1"]
LONG_RUN = ["--epochs", "200", "--patience", "200", *TINY, "--seed", "5"]  # far longer than any test waits
SHORT_RUN = ["--epochs", "1", *TINY, "--seed", "7", "--quiet"]  # reaches the save within seconds
WAIT = 90  # seconds: the most any one step may take before the test gives up (never reached normally)
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]

# The child: wraps the step of the save named by argv[1] so that it touches the marker argv[2] and
# sleeps PAUSE seconds there, then runs `nameclf train --out argv[3] argv[4:]` as the CLI does.
DRIVER = r"""
import os, sys, time
from pathlib import Path

phase, marker, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
PAUSE = 3.0


def pause():
    marker.touch()
    time.sleep(PAUSE)


if phase == "weights":  # model.safetensors written in the staging folder, config.json not yet
    import safetensors.numpy

    real_save_file = safetensors.numpy.save_file

    def save_file(*args, **kwargs):
        real_save_file(*args, **kwargs)
        pause()

    safetensors.numpy.save_file = save_file
elif phase == "fsync":  # both files written in the staging folder, not yet flushed to disk
    real_fsync = os.fsync

    def fsync(fd):
        if not marker.exists():
            pause()
        real_fsync(fd)

    os.fsync = fsync
elif phase in ("swap", "latest"):
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if phase == "latest" and Path(dst).name == "LATEST":  # the model is in place; LATEST not yet
            pause()
        real_replace(src, dst, *args, **kwargs)
        if phase == "swap" and Path(src) == out:  # old model moved aside, the new one not yet in
            pause()

    os.replace = replace
else:
    raise SystemExit(f"unknown phase {phase}")

sys.argv = ["nameclf", "train", "--out", str(out), *sys.argv[4:]]
from nameclf.cli import main

main()
"""


class Child:
    """A subprocess whose stderr is read line by line as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
            preexec_fn=default_sigint,
        )
        self.lines: list[str] = []
        self.first_epoch = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.lstrip().startswith("epoch"):
                self.first_epoch.set()

    def wait_for(self, ready, what: str) -> None:
        """Wait until ready() (bounded); fail with the child's stderr if it ends or never gets there."""
        deadline = time.monotonic() + WAIT
        while not ready():
            if self.proc.poll() is not None:
                self.reader.join(5)
                pytest.fail(f"the child ended (exit {self.proc.returncode}) before {what}:\n{''.join(self.lines)}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"no {what} within {WAIT} s:\n{''.join(self.lines)}")
            time.sleep(0.02)

    def finish(self) -> tuple[int, str, str]:
        try:
            code = self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the child did not exit within {WAIT} s of the signal:\n{''.join(self.lines)}")
        stdout = self.proc.stdout.read()
        self.proc.stdout.close()
        self.reader.join(10)
        self.proc.stderr.close()
        return code, stdout, "".join(self.lines)


def cli(*args: str) -> list[str]:
    return [str(SCRIPT), *args] if SCRIPT.exists() else [sys.executable, "-m", "nameclf", *args]


def user_env(data: Path, models: Path) -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    values.update(NAMECLF_DATA=str(data), NAMECLF_MODELS=str(models), COLUMNS="200")
    return values


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def leftovers(out: Path) -> list[str]:
    """Anything a save leaves beside OUT other than its lock file: staging or retired folders, a
    half-made LATEST pointer (OUT's parent is also the models folder in these tests)."""
    if not out.parent.exists():
        return []
    allowed = {out.name, f".{out.name}.lock", registry.LATEST_FILE}
    return sorted(path.name for path in out.parent.iterdir() if path.name not in allowed)


def last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    return lines[-1]


@pytest.fixture(scope="module")
def first_model(tmp_path_factory) -> Path:
    """A first model, trained once by the CLI (tiny, quiet); each test gets a byte-identical copy."""
    root = tmp_path_factory.mktemp("first")
    shutil.copytree(bundled_names_dir(), root / "data" / "names")
    out = root / "models" / "out"
    result = subprocess.run(
        cli("train", "--out", str(out), "--epochs", "1", *TINY, "--quiet"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=user_env(root / "data", root / "models"),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    checkpoint.load(out)
    return out


@pytest.fixture
def previous(tmp_path, first_model) -> tuple[Path, dict[str, bytes], dict[str, str]]:
    """OUT holding the first model (as trained, byte for byte), its files' bytes, and the user's env."""
    out = tmp_path / "models" / "out"
    shutil.copytree(first_model, out)
    before = files(out)
    assert before == files(first_model) and set(before) == {checkpoint.CONFIG_FILE, checkpoint.WEIGHTS_FILE}
    return out, before, user_env(first_model.parent.parent / "data", out.parent)


def assert_as_it_was(out: Path, before: dict[str, bytes]) -> None:
    assert out.is_dir(), f"{out} is gone"
    assert files(out) == before, f"{out} changed"
    saved = checkpoint.load(out)
    assert saved.config["training"]["seed"] == 0  # the first model's, not the interrupted run's
    assert leftovers(out) == []
    assert not (out.parent / registry.LATEST_FILE).exists()  # the interrupted run did not mark a model


# --- interrupted in an epoch --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS)
def test_signal_in_an_epoch_keeps_the_previous_model(previous, signum):
    out, before, env = previous
    child = Child(cli("train", "--out", str(out), *LONG_RUN), env)
    child.wait_for(child.first_epoch.is_set, "epoch line on stderr")
    child.proc.send_signal(signum)
    code, stdout, stderr = child.finish()

    assert code == 130, stderr
    assert "Traceback" not in stderr
    line = last_line(stderr)
    assert line.startswith("error: training interrupted in epoch"), line
    assert "nothing was saved" in line and f"{out} is as it was" in line, line
    assert stdout == ""  # no "saved ..." line
    assert_as_it_was(out, before)


@pytest.mark.slow
def test_first_training_interrupted_leaves_nothing(tmp_path, first_model):
    out = tmp_path / "models" / "out"  # neither it nor its parent exists yet
    child = Child(cli("train", "--out", str(out), *LONG_RUN), user_env(first_model.parent.parent / "data", out.parent))
    child.wait_for(child.first_epoch.is_set, "epoch line on stderr")
    child.proc.send_signal(signal.SIGINT)
    code, stdout, stderr = child.finish()

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "nothing was saved" in last_line(stderr)
    assert stdout == ""
    assert not out.exists()
    assert leftovers(out) == []
    assert not (out.parent / registry.LATEST_FILE).exists()


# --- interrupted while saving -------------------------------------------------------------------


def interrupt_in(phase: str, signum: int, out: Path, env: dict[str, str], tmp_path: Path) -> tuple[int, str, str]:
    """Run the driver, wait until the save is paused at `phase`, signal it, and return its outcome."""
    marker = tmp_path / f"paused-{phase}"
    child = Child([sys.executable, "-c", DRIVER, phase, str(marker), str(out), *SHORT_RUN], env)
    child.wait_for(marker.exists, f"pause at {phase}")
    child.proc.send_signal(signum)
    return child.finish()


@pytest.mark.parametrize(
    "phase, signum",
    [
        pytest.param("weights", signal.SIGINT, id="weights-written-SIGINT"),
        pytest.param("fsync", signal.SIGTERM, id="config-written-before-fsync-SIGTERM"),
    ],
)
@pytest.mark.slow
def test_signal_while_writing_the_new_model_keeps_the_previous_one(previous, tmp_path, phase, signum):
    out, before, env = previous
    code, stdout, stderr = interrupt_in(phase, signum, out, env, tmp_path)

    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert last_line(stderr) == f"error: interrupted while saving; {out} is as it was before this run"
    assert stdout == ""
    assert_as_it_was(out, before)


def assert_exit_line_tells_what_was_kept(out: Path, before: dict[str, bytes], line: str) -> None:
    """OUT holds one whole model, the old or the new, and the exit line says which."""
    assert out.is_dir(), f"{out} is gone, yet the exit line says: {line}"
    saved = checkpoint.load(out)  # whole and loadable
    if files(out) == before:
        assert "as it was" in line, line
    else:
        assert saved.config["training"]["seed"] == 7  # the interrupted run's model, whole
        assert "as it was" not in line and "nothing was saved" not in line, f"{out} holds the new model: {line}"


@pytest.mark.slow
def test_signal_between_the_two_renames(previous, tmp_path):
    # SIGINT only: SIGTERM reaches the same handler path (the CLI turns it into KeyboardInterrupt),
    # and each case costs a torch start-up on a shared machine.
    out, before, env = previous
    code, stdout, stderr = interrupt_in("swap", signal.SIGINT, out, env, tmp_path)

    assert code in (0, 130), stderr
    assert "Traceback" not in stderr
    assert_exit_line_tells_what_was_kept(out, before, last_line(stderr) if code else stdout)
    assert leftovers(out) == []


@pytest.mark.slow
def test_signal_after_the_model_is_in_place(previous, tmp_path):
    out, before, env = previous
    code, stdout, stderr = interrupt_in("latest", signal.SIGINT, out, env, tmp_path)

    assert code in (0, 130), stderr
    assert "Traceback" not in stderr
    assert_exit_line_tells_what_was_kept(out, before, last_line(stderr) if code else stdout)
    assert leftovers(out) == []
