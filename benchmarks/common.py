"""What the benchmarks share: the task's data and split, the out-of-source names, one function each to
train-and-score nameclf and the n-gram yardstick on the same split (so every comparison is paired split by
split, both scored by `nameclf.metrics.score`), and the small helpers of every script: drawn names,
timing, progress lines and JSON output.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nameclf import calibration
from nameclf.data import Dataset, Example, Split, load_dataset, normalise, read_names, split_dataset
from nameclf.evaluate import evaluate_examples
from nameclf.metrics import score
from nameclf.paths import bundled_names_dir

NAMES_DIR = bundled_names_dir()
DATA_DIR = NAMES_DIR.parent  # train() takes the folder that holds names/
TASKS = {"pair": "German,Italian", "many": "all"}
ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("nameclf")  # the venv's `nameclf` command


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def dataset_names() -> list[str]:
    """Every name of the 18 dataset files, repeats included, file by file."""
    return [name for path in sorted(NAMES_DIR.glob("*.txt")) for name in read_names(path)]


def draw_names(count: int, seed: int = 0) -> list[str]:
    """`count` names drawn at random, with repeats, from the 18 dataset files."""
    pool = dataset_names()
    return [pool[i] for i in np.random.default_rng(seed).integers(0, len(pool), size=count)]


def seconds(function: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Wall-clock seconds of one call (of `subprocess.run`, for a command)."""
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def best_seconds(repeats: int, function: Callable[..., Any], *args: Any) -> float:
    return min(seconds(function, *args) for _ in range(repeats))


def cold_predict(model: Path, repeats: int, module: str = "numpy", env: dict | None = None) -> dict[str, float]:
    """A cold `nameclf predict Tribbiani`, alternated with `python -c "import <module>"` (the machine's
    speed in the same moments): the medians of each and of their ratio, run by run."""
    if env is None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    commands = {
        "predict": [str(SCRIPT), "predict", "Tribbiani", "--model", str(model)],
        module: [sys.executable, "-c", f"import {module}"],
    }
    times: dict[str, list[float]] = {"predict": [], module: []}
    for _ in range(repeats + 1):  # the first round warms the file cache and is not counted
        for kind, command in commands.items():
            times[kind].append(seconds(subprocess.run, command, check=True, capture_output=True, env=env))
    predict, imported = times["predict"][1:], times[module][1:]
    return {
        "median_seconds": statistics.median(predict),
        "min_seconds": min(predict),
        f"{module}_import_seconds": statistics.median(imported),
        f"ratio_to_{module}_import": statistics.median(a / b for a, b in zip(predict, imported)),
        "runs": repeats,
    }


def write_json(path: Path, data: Any, indent: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=indent) + "\n", encoding="utf-8")


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return found.stdout.strip() or "unknown"


@functools.cache
def dataset(languages: str) -> Dataset:
    return load_dataset(NAMES_DIR, languages)


@functools.cache
def split(languages: str, seed: int) -> Split:
    return split_dataset(dataset(languages), seed)


@functools.cache
def out_of_source(languages: str, library: str = "faker") -> tuple[Example, ...]:
    """Faker's (or mimesis's) surnames for these languages, minus every name of the 18 dataset files
    and every name either library's lists give two languages (benchmarks/oos.py)."""
    import oos

    return tuple(oos.out_of_source(dataset(languages).languages, oos.corpus_names(NAMES_DIR), NAMES_DIR, library))


@functools.cache
def other_language_names() -> tuple[Example, ...]:
    """Every dataset name that is neither German nor Italian: what the German/Italian model never learnt."""
    return tuple(e for e in dataset("all").examples if not {"German", "Italian"} & set(e.labels))


@functools.cache
def foreign_names() -> tuple[Example, ...]:
    """Faker's surnames of five languages outside the 18, none a dataset name (benchmarks/oos.py)."""
    import oos

    return tuple(oos.foreign_names(oos.corpus_names(NAMES_DIR)))


def figures_of(report, prefix: str) -> dict[str, float]:
    return {f"{prefix}_accuracy": report.accuracy, f"{prefix}_macro_f1": report.macro_f1}


OUT_OF_SOURCE = {"oos": "faker", "mimesis": "mimesis"}  # a part's name -> whose surname lists


def part_examples(languages: str, seed: int, part: str) -> list[Example]:
    """A scored part: the split's "validation" or "test", or the out-of-source "oos" (Faker) or "mimesis"."""
    if part in OUT_OF_SOURCE:
        return list(out_of_source(languages, OUT_OF_SOURCE[part]))
    return list(getattr(split(languages, seed), part))


def per_language(report) -> dict[str, dict[str, Any]]:
    """Out of source, language by language: how many names, the share right, and what the wrong ones
    were taken for most often (with its share of that language's names)."""
    figures = {}
    for row, language in enumerate(report.labels):
        counts = report.confusion[row]
        total = sum(counts)
        if not total:
            continue
        columns = [*report.labels, "no answer"]
        wrong = max((c for c in range(len(counts)) if c != row), key=lambda c: counts[c])
        figures[language] = {
            "names": total,
            "accuracy": counts[row] / total,
            "taken_for": columns[wrong] if counts[wrong] else None,
            "taken_for_share": counts[wrong] / total,
        }
    return figures


def nameclf_run(
    languages: str,
    seed: int,
    parts: Sequence[str],
    keep: Path | None = None,
    others: Sequence[Example] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Train nameclf (task defaults plus `options`, one thread) on the seed's split and score it on `parts`
    ("validation" from the run's own record, "test", "oos", "mimesis"); with `others` (names unlike the
    training names), the unfamiliar-name flag too. The model is saved to `keep`, or thrown away."""
    from nameclf.predict import Predictor
    from nameclf.training import TrainConfig, train

    with tempfile.TemporaryDirectory(prefix="nameclf-bench-") as scratch:
        out = Path(keep) if keep is not None else Path(scratch) / "model"
        started = time.perf_counter()
        result = train(
            TrainConfig(languages=languages, seed=seed, threads=1, **options), DATA_DIR, out, mark_latest=False
        )
        took = time.perf_counter() - started
        predictor = Predictor.load(out)
        config = result.config
        row: dict[str, Any] = {
            "seed": seed,
            "train_seconds": round(took, 2),
            "parameters": config["parameters"],
            "members": config["ensemble"]["members"],
            "best_epoch": config["training"]["best_epoch"],
            "validation_kind": config["ensemble"]["validation"],
            "validation_accuracy": config["metrics"]["validation_accuracy"],
            "validation_macro_f1": config["metrics"]["validation_macro_f1"],
            "calibration_seconds": config["calibration_seconds"],
            "temperature": config["calibration"]["temperature"],
            "experts": config["experts"]["names"],
            "weight": config["experts"]["weight"],
        }
        for part in parts:
            if part == "validation":
                continue
            examples = part_examples(languages, seed, part)
            report = evaluate_examples(predictor, examples, part)
            row.update(figures_of(report, part))
            if part in OUT_OF_SOURCE:
                row[f"{part}_per_language"] = per_language(report)
            if part == "test":
                row.update(trust_figures(predictor, examples, report))
                if others is not None:
                    row["unfamiliar"] = unfamiliar_figures(predictor, examples, others)
    return row


def novelty_scores(predictor, names: Sequence[str]):
    """The unfamiliar-name score of each name, as the predictor ranks it."""
    names = [normalise(name) for name in names]
    encoded = [predictor.vocabulary.encode(name) for name in names]
    probabilities = np.exp(predictor.log_probabilities(encoded, names=names))
    return predictor.novelty.scores(names, probabilities)


def unfamiliar_figures(predictor, own: Sequence[Example], others: Sequence[Example]) -> dict[str, Any]:
    """How the unfamiliar flag (its default level, 0.05) tells the model's own test names from
    `others`: AUROC of the score (scikit-learn's), and the share of each flagged."""
    from sklearn.metrics import roc_auc_score

    own_names, other_names = [e.name for e in own], [e.name for e in others]
    own_scores, other_scores = novelty_scores(predictor, own_names), novelty_scores(predictor, other_names)

    def flagged(names: list[str]) -> float:
        return statistics.fmean(bool(answer.unfamiliar) for answer in predictor.predict(names))

    return {
        "auroc": float(roc_auc_score([0] * len(own) + [1] * len(others), np.r_[own_scores, other_scores])),
        "own_flagged": flagged(own_names),
        "others_flagged": flagged(other_names),
        "others": len(other_names),
    }


COVERAGES = (0.8, 0.9, 0.95)


def trust_figures(predictor, examples: Sequence[Example], report) -> dict[str, Any]:
    """Calibration before and after the temperature, prediction sets at each of COVERAGES, and the
    raw points (`_points`: uncalibrated log-probabilities and truth) for figures pooled over seeds."""
    row: dict[str, Any] = {
        f"test_{k}_{w}": report.calibration[w][k] for k in ("ece", "nll") for w in ("before", "after")
    }
    for coverage in COVERAGES:
        sets = evaluate_examples(predictor, examples, "test", coverage=coverage).sets
        row[f"test_coverage_{coverage}"] = sets["empirical_coverage"]
        row[f"test_set_size_{coverage}"] = sets["mean_set_size"]
    answered = [e for e, p in zip(examples, predictor.predict([e.name for e in examples])) if p.language]
    encoded = [predictor.vocabulary.encode(normalise(e.name)) for e in answered]
    row["_points"] = {
        "raw": predictor.log_probabilities(encoded, calibrated=False).astype(np.float64),
        "truth": calibration.truth_matrix([e.labels for e in answered], predictor.labels),
        "temperature": predictor.combination.temperature,
    }
    return row


def pooled_calibration(rows: list[dict]) -> dict[str, float]:
    """ECE, NLL and Brier over every seed's test names together, before and after each seed's own
    temperature; removes the rows' `_points`."""
    points = [row.pop("_points") for row in rows]
    truth = np.concatenate([p["truth"] for p in points])
    before = np.concatenate([p["raw"] for p in points])
    after = np.concatenate([calibration.scaled(p["raw"], p["temperature"]) for p in points])
    return {
        "names": len(truth),
        "before": calibration.figures(before, truth),
        "after": calibration.figures(after, truth),
    }


YARDSTICK_C = 10.0
YARDSTICK_GRID = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)
VALIDATION_GUARD = 0.01  # a C (or a default) is chosen only among those this close to the best validation accuracy


def yardstick_run(languages: str, seed: int, parts: Sequence[str], c: float = YARDSTICK_C) -> dict[str, Any]:
    """The n-gram yardstick, `nameclf.ngram` at its own settings (TF-IDF `char_wb` 1-4-grams, sublinear,
    lower-cased; class-weighted logistic regression) with regularisation C (10 by default, fixed: it is
    not tuned to win), fitted on the seed's training names and scored on `parts`."""
    from nameclf.ngram import NgramSettings, fit_ngram

    started = time.perf_counter()
    train, labels = split(languages, seed).train, dataset(languages).languages
    fitted = fit_ngram([e.name for e in train], [e.labels for e in train], labels, NgramSettings(), C=c)
    row: dict[str, Any] = {"seed": seed, "C": c, "fit_seconds": round(time.perf_counter() - started, 2)}
    for part in parts:
        examples = part_examples(languages, seed, part)
        predicted = [fitted.labels[i] for i in fitted.probabilities([e.name for e in examples]).argmax(1)]
        row.update(figures_of(score(fitted.labels, [e.labels for e in examples], predicted, part), part))
    return row


def chosen_c(grid_rows: dict[float, list[dict[str, Any]]]) -> float:
    """C chosen as nameclf's defaults are: the best mean out-of-source accuracy (Faker's and mimesis's,
    averaged over seeds) among the Cs whose mean validation accuracy is within VALIDATION_GUARD of the best."""

    def mean_of(c: float, key: str) -> float:
        return statistics.fmean(row[key] for row in grid_rows[c])

    best = max(mean_of(c, "validation_accuracy") for c in grid_rows)
    allowed = [c for c in grid_rows if mean_of(c, "validation_accuracy") >= best - VALIDATION_GUARD]
    return max(allowed, key=lambda c: (mean_of(c, "oos_accuracy") + mean_of(c, "mimesis_accuracy")) / 2)


def mean_spread(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def paired(ours: Sequence[float], theirs: Sequence[float]) -> dict[str, float | int]:
    """Split-by-split comparison: mean difference, wins, losses and ties of `ours` against `theirs`."""
    differences = [a - b for a, b in zip(ours, theirs, strict=True)]
    return {
        "mean_difference": statistics.fmean(differences),
        "wins": sum(d > 1e-12 for d in differences),
        "losses": sum(d < -1e-12 for d in differences),
        "ties": sum(abs(d) <= 1e-12 for d in differences),
    }


def machine(**extra: Any) -> dict[str, Any]:
    """Where and when a benchmark ran: the CPU, its cores, the versions and the commit, plus `extra`."""
    import datetime
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        models = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **({"torch": extra.pop("torch")} if "torch" in extra else {}),
        "numpy": np.__version__,
        "commit": commit(),
        "threads": 1,
        **extra,
    }
