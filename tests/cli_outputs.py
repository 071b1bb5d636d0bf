"""What a fixed list of commands prints, written to a folder, so two commits can be compared byte for byte.

    python tests/cli_outputs.py run OUT_DIR        # at each commit: every command, one file each in OUT_DIR
    python tests/cli_outputs.py diff BEFORE AFTER  # a refactor changes nothing a user sees: exit 0

Each command runs as a new user: an empty working folder, no NAMECLF_ setting, an empty models
folder, 100 columns, no colour. What may differ between two runs is masked before comparing: every
figure followed by a unit of time, compare's `train s` column, and the folder the package is
installed in. Not a test (its name does not start with test_): the comparison is between two
commits, which one test run cannot see.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from nameclf.paths import bundled_names_dir

SCRIPT = Path(sys.executable).with_name("nameclf")
COMMANDS = ["download", "train", "predict", "explain", "evaluate", "compare", "info", "models"]
NAMES = ["Tribbiani", "Rossi", "Smith", "Müller", "00123", "Nguyen"]
RUNS: dict[str, list[str]] = {
    "help": ["--help"],
    **{f"help-{command}": [command, "--help"] for command in COMMANDS},
    "predict-text": ["predict", *NAMES],
    "predict-json": ["predict", *NAMES, "--json"],
    "predict-csv": ["predict", *NAMES, "--csv"],
    "predict-all-text": [
        "predict",
        "--model",
        "all",
        "-k",
        "3",
        "--coverage",
        "0.9",
        "--min-confidence",
        "0.6",
        *NAMES,
    ],
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
PACKAGE = str(Path(bundled_names_dir()).parent)


def run_all(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        (home / "work").mkdir()
        shutil.copytree(bundled_names_dir(), home / "data" / "names")  # for compare, which trains
        env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
        env.update(
            HOME=str(home),
            NAMECLF_MODELS=str(home / "models"),
            NAMECLF_DATA=str(home / "data"),
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
            text = f"$ nameclf {' '.join(arguments)}\n--- exit {result.returncode}\n"
            text += f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
            text = text.replace(folder, "<tmp>").replace(PACKAGE, "<package>")
            (out / f"{name}.txt").write_text(text, encoding="utf-8")
            print(f"{name}: exit {result.returncode}", flush=True)


def masked(text: str) -> str:
    """The output without what may differ between two runs of the same code."""
    lines = TIME.sub("<time>", text).splitlines()
    header = next((line for line in lines if "train s" in [cell.strip() for cell in re.split("[│┃]", line)]), None)
    if header is not None:  # compare's table: mask the cells under "train s"
        column = [cell.strip() for cell in re.split("[│┃]", header)].index("train s")
        for i, line in enumerate(lines):
            cells = line.split("│")
            if len(cells) > column and re.fullmatch(r"\s*[\d.,]+\s*", cells[column]):
                cells[column] = "<time>"
                lines[i] = "│".join(cells)
    return "\n".join(lines)


def differences(before: Path, after: Path) -> list[str]:
    names = sorted({path.name for path in before.glob("*.txt")} | {path.name for path in after.glob("*.txt")})
    found = []
    for name in names:
        texts = [
            masked(folder.joinpath(name).read_text(encoding="utf-8")) if folder.joinpath(name).is_file() else None
            for folder in (before, after)
        ]
        if texts[0] != texts[1]:
            found.append(name)
    return found


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run_all(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        changed = differences(Path(sys.argv[2]), Path(sys.argv[3]))
        print(f"{len(changed)} output(s) differ" + (f": {', '.join(changed)}" if changed else ""))
        sys.exit(1 if changed else 0)
    else:
        sys.exit("usage: python tests/cli_outputs.py run OUT_DIR | diff BEFORE_DIR AFTER_DIR")
