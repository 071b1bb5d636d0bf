"""Measure the accuracy levers for a task on VALIDATION and OUT-OF-SOURCE names only (never the test split).

Each recipe is the task's defaults plus a few changed options. Every (task, recipe, seed) run is
scored on the seed's validation split and on the out-of-source names (Faker's surnames, minus every
dataset name: benchmarks/oos.py), and the n-gram yardstick is fitted on the same split; each result
is cached as one JSON line, so a rerun only trains what is missing. The defaults in
`nameclf.choices.TASK_DEFAULTS` were chosen from this table.

For an ensemble (`members` > 1) the validation figure is out-of-fold: each train and validation name
scored by the one member that never trained on it, so it estimates one member, not the ensemble; the
out-of-source figure is the ensemble's own.

    .venv/bin/python benchmarks/levers.py --task pair --seeds 0-9                       # all pair recipes
    .venv/bin/python benchmarks/levers.py --task many --seeds 0 --recipes default,h128
    .venv/bin/python benchmarks/levers.py --task pair --seeds 0-9 --report              # reprint the cache
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import common  # noqa: E402

RECIPES: dict[str, dict[str, dict]] = {
    "pair": {
        "default": {},
        "gru": dict(cell="gru"),
        "bidirectional": dict(bidirectional=True),
        "char dropout 0.05": dict(char_dropout=0.05),
        "char dropout 0.1": dict(char_dropout=0.1),
        "label smoothing 0.1": dict(label_smoothing=0.1),
        "fold case": dict(fold_case=True),
        "patience 20": dict(patience=20),
        "hidden 128": dict(hidden=128),
        "3 members": dict(members=3),
        "5 members": dict(members=5),
        "5 members + gru": dict(members=5, cell="gru"),
    },
    "many": {
        "default": {},
        "hidden 256": dict(hidden=256),
        "hidden 256 + char dropout 0.05": dict(hidden=256, char_dropout=0.05),
        "lstm": dict(cell="lstm"),
        "patience 10 + 40 epochs": dict(patience=10, epochs=40),
        "unidirectional + patience 10 + 40 epochs": dict(bidirectional=False, patience=10, epochs=40),
        "hidden 64 + patience 10 + 40 epochs": dict(hidden=64, patience=10, epochs=40),
        "hidden 64 + lr 0.01 + patience 10 + 40 epochs": dict(hidden=64, lr=0.01, patience=10, epochs=40),
    },
}
YARDSTICK = "n-gram yardstick"
CACHE = Path(__file__).parent / "results" / "levers_results.jsonl"
PARTS = ("validation", "oos")
# The yardstick's C is chosen by what the task is judged on: accuracy for two languages, macro-F1 for many.


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return [int(seed) for seed in text.split(",")]


def cached() -> dict[tuple[str, str, int], dict]:
    rows = {}
    if CACHE.exists():
        for line in CACHE.read_text().splitlines():
            row = json.loads(line)
            rows[(row["task"], row["recipe"], row["seed"])] = row
    return rows


def measure(task: str, recipe: str, seed: int) -> dict:
    languages = common.TASKS[task]
    if recipe == YARDSTICK:
        row = common.yardstick_run(languages, seed, PARTS)
    else:
        row = common.nameclf_run(languages, seed, PARTS, **RECIPES[task][recipe])
    return {"task": task, "recipe": recipe, "options": RECIPES[task].get(recipe, {}), **row}


def report(task: str, recipes: list[str], seeds: list[int], rows: dict) -> None:
    print(f"task {task} ({common.TASKS[task]}), seeds {seeds[0]}-{seeds[-1]}; validation and out-of-source only")
    header = (
        f"{'recipe':24s} {'val acc':>8s} {'val F1':>7s} {'oos acc':>8s} {'oos F1':>7s} {'oos vs ngram':>13s} {'s':>6s}"
    )
    print(header)
    base = [rows[(task, YARDSTICK, seed)] for seed in seeds if (task, YARDSTICK, seed) in rows]
    for recipe in [YARDSTICK, *recipes]:
        found = [rows[(task, recipe, seed)] for seed in seeds if (task, recipe, seed) in rows]
        if not found:
            continue
        figures = {
            key: common.mean_spread([row[key] for row in found])[0]
            for key in ("validation_accuracy", "validation_macro_f1", "oos_accuracy", "oos_macro_f1")
        }
        versus = ""
        if recipe != YARDSTICK and len(base) == len(found):
            pair = common.paired([row["oos_accuracy"] for row in found], [row["oos_accuracy"] for row in base])
            versus = f"{pair['mean_difference']:+.3f} {pair['wins']}/{pair['losses']}"
        seconds = common.mean_spread([row.get("train_seconds", row.get("fit_seconds", 0)) for row in found])[0]
        members = found[0].get("members", 1)
        mark = "*" if members > 1 else " "
        print(
            f"{recipe:24s} {figures['validation_accuracy']:7.4f}{mark} {figures['validation_macro_f1']:7.4f} "
            f"{figures['oos_accuracy']:8.4f} {figures['oos_macro_f1']:7.4f} {versus:>13s} {seconds:6.1f}"
        )
    print("* out-of-fold validation (one member's estimate); 'oos vs ngram': mean difference, wins/losses")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(common.TASKS), default="pair")
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--recipes", default=None, help="comma-separated names; default: all of the task's")
    parser.add_argument("--report", action="store_true", help="print the cached results only")
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    recipes = args.recipes.split(",") if args.recipes else list(RECIPES[args.task])
    rows = cached()
    if not args.report:
        for seed in seeds:
            for recipe in [YARDSTICK, *recipes]:
                if (args.task, recipe, seed) in rows:
                    continue
                row = measure(args.task, recipe, seed)
                rows[(args.task, recipe, seed)] = row
                with CACHE.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(json.dumps({k: v for k, v in row.items() if k != "options"}), flush=True)
    report(args.task, recipes, seeds, rows)


if __name__ == "__main__":
    main()
