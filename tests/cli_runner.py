"""Running nameclf as a user does: the installed script in a subprocess, in an environment of their own."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("nameclf")


def command(*args: str) -> list[str]:
    return [str(SCRIPT), *args] if SCRIPT.exists() else [sys.executable, "-m", "nameclf", *args]


def run(*args: str, env: dict | None = None, stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run(
        command(*args), capture_output=True, text=True, env=env, input=stdin, cwd=cwd, timeout=300, encoding="utf-8"
    )


def train_tiny(cwd: Path, env: dict | None = None):
    """`nameclf train` of a tiny German/Italian model (one epoch, hidden 8) on the bundled data, in `cwd`:
    the models folder a user has after training."""
    from nameclf.paths import bundled_names_dir

    data = str(bundled_names_dir().parent)
    return run("train", "--hidden", "8", "--epochs", "1", "--threads", "1", "--quiet", "--data", data, env=env, cwd=cwd)


def run_with_terminal_stderr(args: list[str], out: Path, env: dict, cwd: Path) -> tuple[int, bytes]:
    """Run the CLI with stderr on a pseudo-terminal and stdout into `out`, as
    `nameclf predict -f names.txt > out.txt` typed at a terminal; returns the exit code and what the
    terminal showed."""
    leader, follower = pty.openpty()
    shown = bytearray()

    def drain() -> None:  # a terminal that nobody reads fills up and blocks the writer
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with open(out, "wb") as sink:
        process = subprocess.run(command(*args), stdout=sink, stderr=follower, env=env, cwd=cwd, timeout=300)
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    return process.returncode, bytes(shown)


def user_env(models: Path, data: Path | None = None) -> dict[str, str]:
    """This process's environment without any NAMECLF_ setting, with private model (and data) folders
    and a wide terminal, so output is not wrapped."""
    values = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    values.update(NAMECLF_MODELS=str(models), COLUMNS="200")
    if data is not None:
        values["NAMECLF_DATA"] = str(data)
    return values


def one_error_line(result) -> str:
    """The whole of stderr, which must be one line, `error: ...`, and nothing else."""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), repr(result.stderr)
    return result.stderr


def default_sigint() -> None:
    """For a child's preexec_fn: SIGINT as in a terminal, even when the tests themselves run with it
    ignored (a background job of a non-interactive shell inherits SIGINT ignored, and so would the CLI,
    which Ctrl-C would then never stop)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
