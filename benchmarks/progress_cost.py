"""What the progress display costs: `nameclf predict -f names.txt > out.txt` with stderr a terminal (the
count of names is drawn; `script -qc COMMAND /dev/null`, util-linux) against stderr redirected (nothing
drawn), on the same 20,000 names. The two run in turn, A B A B ..., each pair giving a ratio, so a drifting
machine moves both alike; quote the median ratio. Each run checks that every answer reached out.txt.

    python benchmarks/progress_cost.py [--names 20000] [--runs 7] [--model de-it]   # writes results/progress_cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import common

RESULTS = common.ROOT / "benchmarks" / "results" / "progress_cost.json"


def names_file(path: Path, count: int) -> None:
    """`count` names drawn with a fixed rule from the dataset files that ship with nameclf."""
    pool = [name for file in sorted(common.NAMES_DIR.glob("*.txt")) for name in file.read_text("utf-8").split()]
    path.write_text("".join(f"{pool[(i * 7919) % len(pool)]}\n" for i in range(count)), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7, help="pairs timed, after one warm-up pair")
    parser.add_argument("--model", default="de-it")
    arguments = parser.parse_args()
    if shutil.which("script") is None:
        raise SystemExit("needs `script` (util-linux) for the terminal")
    program = shlex.quote(str(common.SCRIPT)) if common.SCRIPT.exists() else f"{shlex.quote(sys.executable)} -m nameclf"
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    with tempfile.TemporaryDirectory(prefix="nameclf-progress-") as scratch:
        folder = Path(scratch)
        names_file(folder / "names.txt", arguments.names)
        inner = f"{program} predict --model {shlex.quote(arguments.model)} -f names.txt > out.txt"
        forms = {
            "terminal": ["script", "-qec", inner, "/dev/null"],  # stderr a terminal: the count is drawn
            "piped": ["sh", "-c", f"{inner} 2> err.txt"],  # stderr a file: nothing is drawn
        }
        seconds: dict[str, list[float]] = {name: [] for name in forms}
        quiet = dict(cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
        for attempt in range(arguments.runs + 1):
            for name, command in forms.items():
                took = common.seconds(subprocess.run, command, **quiet)
                lines = (folder / "out.txt").read_text(encoding="utf-8").count("\n")
                if lines != arguments.names:
                    raise SystemExit(f"{name}: out.txt has {lines} lines, not {arguments.names}")
                if attempt:  # the first pair warms the disk cache and is not counted
                    seconds[name].append(took)
    ratios = [a / b for a, b in zip(seconds["terminal"], seconds["piped"])]
    result = {
        "names": arguments.names,
        "model": arguments.model,
        "runs": arguments.runs,
        "command": f"nameclf predict --model {arguments.model} -f names.txt > out.txt",
        "terminal_seconds_median": round(statistics.median(seconds["terminal"]), 3),
        "piped_seconds_median": round(statistics.median(seconds["piped"]), 3),
        "ratio_median": round(statistics.median(ratios), 3),
        "ratio_min": round(min(ratios), 3),
        "ratio_max": round(max(ratios), 3),
        "terminal_seconds": [round(value, 3) for value in seconds["terminal"]],
        "piped_seconds": [round(value, 3) for value in seconds["piped"]],
        "cpus": os.cpu_count(),
    }
    common.write_json(RESULTS, result, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
