"""What a fixed list of commands prints, written to a folder, so two commits can be compared byte for byte.

    python tests/cli_outputs.py OUT_DIR            # run every command, one file each in OUT_DIR
    diff -r BEFORE_DIR AFTER_DIR                   # a refactor changes nothing a user sees

Each command runs as a new user: an empty working folder, no NAMECLF_ setting, an empty models
folder, 100 columns, no colour. Timings are the one thing that may differ between two runs, so
every figure followed by a unit of time is replaced by `<time>`. Not a test (its name does not start
with test_): the comparison is between two commits, which one test run cannot see.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("nameclf")
COMMANDS = ["download", "train", "predict", "explain", "evaluate", "compare", "info", "models"]
NAMES = ["Tribbiani", "Rossi", "Smith", "Müller", "00123", "Nguyen"]
RUNS: dict[str, list[str]] = {
    "help": ["--help"],
    **{f"help-{command}": [command, "--help"] for command in COMMANDS},
    "predict-text": ["predict", *NAMES],
    "predict-json": ["predict", *NAMES, "--json"],
    "predict-csv": ["predict", *NAMES, "--csv"],
    "predict-all-text": ["predict", "--model", "all", "-k", "3", "--coverage", "0.9", "--min-confidence", "0.6", *NAMES],
    "predict-all-json": ["predict", "--model", "all", "-k", "3", "--coverage", "0.9", "--json", *NAMES],
    "predict-all-csv": ["predict", "--model", "all", "-k", "3", "--coverage", "0.9", "--csv", *NAMES],
    "explain-text": ["explain", "Tribbiani", "Schwarzenegger"],
    "explain-json": ["explain", "Tribbiani", "Schwarzenegger", "--model", "all", "--json"],
    "evaluate-text": ["evaluate", "--coverage", "0.9"],
    "evaluate-json": ["evaluate", "--model", "all", "--json"],
    "info-text": ["info"],
    "info-all-json": ["info", "--model", "all", "--json"],
    "models-text": ["models"],
    "models-json": ["models", "--json"],
    "compare": ["compare", "--seeds", "1", "--threads", "1"],
}
TIME = re.compile(r"\d[\d,]*(\.\d+)?\s?(s|ms|seconds|min)\b")


def run_all(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "work").mkdir()
        env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
        env.update(
            HOME=str(home),
            NAMECLF_MODELS=str(home / "models"),
            COLUMNS="100",
            NO_COLOR="1",
            TERM="dumb",
            OMP_NUM_THREADS="1",
        )
        for name, arguments in RUNS.items():
            command = [str(SCRIPT), *arguments] if SCRIPT.exists() else [sys.executable, "-m", "nameclf", *arguments]
            result = subprocess.run(
                command, capture_output=True, text=True, env=env, cwd=home / "work", timeout=900, encoding="utf-8"
            )
            text = f"$ nameclf {' '.join(arguments)}\n--- exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n"
            text += result.stderr
            (out / f"{name}.txt").write_text(TIME.sub("<time>", text.replace(folder, "<tmp>")), encoding="utf-8")
            print(f"{name}: exit {result.returncode}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/cli_outputs.py OUT_DIR")
    run_all(Path(sys.argv[1]))
