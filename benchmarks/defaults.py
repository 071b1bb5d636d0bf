"""The trainer's defaults (the network and the n-gram model combined, model format 5) against issue
20's targets: accuracy, macro-F1 and out-of-source accuracy over seeds, calibration, coverage, the
unfamiliar-name flag, training time and numpy prediction speed.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/defaults.py [--task pair|many|both] [--pair-seeds 10] [--many-seeds 3]

Each seed trains `nameclf.train` at the task's defaults (its own split), then scores the saved model
through the numpy Predictor on its test split and on out-of-source names (benchmarks/oos.py), and
writes benchmarks/results/defaults.json. The yardstick's figures on the same splits are read from
benchmarks/results/experts.json (benchmarks/experts.py fitted them).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import experts as phase_one  # noqa: E402
import numpy as np  # noqa: E402
import oos  # noqa: E402

from nameclf import calibration  # noqa: E402
from nameclf.data import load_dataset, split_dataset  # noqa: E402
from nameclf.metrics import score  # noqa: E402
from nameclf.predict import Predictor  # noqa: E402
from nameclf.training import TrainConfig, train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASKS = {"pair": "German,Italian", "many": "all"}


def figures(predictor: Predictor, examples, labels) -> dict:
    names = [e.name for e in examples]
    answers, matrix = predictor.predict_with_probabilities(names, coverage=0.9)
    report = score(labels, [e.labels for e in examples], [a.language for a in answers], "test")
    truth = calibration.truth_matrix([e.labels for e in examples], labels)
    answered = ~np.isnan(matrix).any(axis=1)
    ece = calibration.figures(np.log(np.maximum(matrix[answered], 1e-30)), truth[answered])["ece"]
    covered = np.mean([a.set is not None and bool(set(a.set) & set(e.labels)) for a, e in zip(answers, examples)])
    return {
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "ece": ece,
        "coverage_at_0.9": float(covered),
        "flagged": float(np.mean([bool(a.unfamiliar) for a in answers])),
    }


def run_seed(task: str, seed: int, folder: Path) -> dict:
    languages = TASKS[task]
    started = time.perf_counter()
    result = train(
        TrainConfig(languages=languages, seed=seed, threads=1, device="cpu"), common.DATA_DIR, folder, mark_latest=False
    )
    seconds = time.perf_counter() - started
    predictor = Predictor.load(folder)
    labels = predictor.labels
    dataset = load_dataset(common.NAMES_DIR, languages)
    split = split_dataset(dataset, seed)
    test = figures(predictor, split.test, labels)
    out_of_source = oos.out_of_source(labels, oos.corpus_names(common.NAMES_DIR), common.NAMES_DIR)
    oos_answers = predictor.predict([e.name for e in out_of_source])
    oos_accuracy = float(np.mean([a.language in e.labels for a, e in zip(oos_answers, out_of_source)]))
    others = phase_one.other_language_names() if task == "pair" else phase_one.foreign_names(False)
    other_names = [e.name for e in others]
    own = common.novelty_scores(predictor, [e.name for e in split.test])
    unlike = common.novelty_scores(predictor, other_names)
    return {
        "seed": seed,
        "train_seconds": round(seconds, 2),
        "weight": result.config["experts"]["weight"],
        "validation": result.config["experts"]["validation"],
        "test": test,
        "oos_accuracy": oos_accuracy,
        "unfamiliar": {
            "auroc_own_test_vs_others": common.auroc(own, unlike),
            "own_test_flagged": test["flagged"],
            "others_flagged": float(np.mean([bool(a.unfamiliar) for a in predictor.predict(other_names)])),
            "others": len(other_names),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["pair", "many", "both"], default="both")
    parser.add_argument("--pair-seeds", type=int, default=10)
    parser.add_argument("--many-seeds", type=int, default=3)
    args = parser.parse_args()
    yardstick = json.loads((RESULTS / "experts.json").read_text(encoding="utf-8"))
    target = RESULTS / "defaults.json"
    out = json.loads(target.read_text(encoding="utf-8")) if target.is_file() else {}
    for task in ("pair", "many") if args.task == "both" else (args.task,):
        seeds = args.pair_seeds if task == "pair" else args.many_seeds
        runs = []
        with tempfile.TemporaryDirectory() as scratch:
            for seed in range(seeds):
                runs.append(run_seed(task, seed, Path(scratch) / f"seed{seed}"))
                print(json.dumps(runs[-1]), flush=True)
        sticks = [y for y in yardstick[task]["yardstick"] if y["seed"] < seeds]

        def mean(values):
            return round(statistics.fmean(values), 4)

        out[task] = {
            "command": "OMP_NUM_THREADS=1 .venv/bin/python " + " ".join(sys.argv),
            "machine": common.machine(),
            "runs": runs,
            "mean": {
                "test_accuracy": mean(r["test"]["accuracy"] for r in runs),
                "test_macro_f1": mean(r["test"]["macro_f1"] for r in runs),
                "oos_accuracy": mean(r["oos_accuracy"] for r in runs),
                "test_ece": mean(r["test"]["ece"] for r in runs),
                "coverage_at_0.9": mean(r["test"]["coverage_at_0.9"] for r in runs),
                "auroc": mean(r["unfamiliar"]["auroc_own_test_vs_others"] for r in runs),
                "own_test_flagged": mean(r["unfamiliar"]["own_test_flagged"] for r in runs),
                "others_flagged": mean(r["unfamiliar"]["others_flagged"] for r in runs),
                "train_seconds": mean(r["train_seconds"] for r in runs),
            },
            "yardstick_same_splits": {
                "test_accuracy": mean(y["test_accuracy"] for y in sticks),
                "test_macro_f1": mean(y["test_macro_f1"] for y in sticks),
                "oos_accuracy": mean(y["oos_accuracy"] for y in sticks),
            },
        }
        print(task, json.dumps(out[task]["mean"]), json.dumps(out[task]["yardstick_same_splits"]), flush=True)
        target.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
