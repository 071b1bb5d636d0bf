"""`make bench`: every headline figure in one run, on the same splits; writes BENCHMARKS.md and
benchmarks/results/results.json.

* German/Italian over 10 seeds: nameclf's rnn, gru and lstm at the task's defaults, and the n-gram
  yardstick fitted on the same training split; test accuracy paired split by split (mean, spread,
  wins and losses);
* names from other sources, each source on its own: Faker's and mimesis's surnames of the dataset's
  languages that are in none of its files (benchmarks/oos.py), per task and per language;
* the yardstick is `nameclf.ngram` at its own settings (TF-IDF `char_wb` 1-4-grams, sublinear,
  class-weighted logistic regression) with C = 10, fixed; beside it the same model with C chosen as
  nameclf's defaults are (the best mean out-of-source accuracy among the Cs within 0.01 of the best
  validation accuracy), and its whole C grid, the trade-off between validation and other sources;
* seed 003's procedure replicated (benchmarks/seed003.py), on its own leaky split and on nameclf's
  clean split, with its training time against the default's;
* all 18 languages over 3 seeds: the default, its network alone and its n-gram model alone;
* training wall time (one thread), parameters, numpy prediction throughput (names drawn with
  repeats, and every distinct dataset name once) and a cold `nameclf predict Tribbiani` alternated
  with `python -c "import numpy"`;
* the default's network alone and n-gram model alone on the same splits (`--experts rnn`,
  `--experts ngram`), the combination's weight, and the unfamiliar-name flag against names of
  languages the model never learnt (the other 16 languages' dataset names; benchmarks/oos.py's `FOREIGN`);
* each target, met or short by how much; the machine and the command.

The test split is read here only to report; nothing is chosen on it. `--quick` (`make bench-quick`)
runs the same code on 2 seeds, few epochs and one 18-language seed, to check the pipeline in a few
minutes: its figures are not the ones to quote, and it writes BENCHMARKS-quick.md instead.

    .venv/bin/python benchmarks/bench.py            # the full run, about 20 min on 2 cores
    .venv/bin/python benchmarks/bench.py --quick    # under 5 min
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("nameclf")
PAIR, MANY = common.TASKS["pair"], common.TASKS["many"]
CELLS = ("lstm", "gru", "rnn")
ALONE = ("rnn", "ngram")  # --experts: the network alone, the n-gram model alone (runs "rnn alone", "ngram alone")
SOURCE_FIGURES = (
    "validation_accuracy",
    "test_accuracy",
    "test_macro_f1",
    "oos_accuracy",
    "mimesis_accuracy",
)
LABELS = {
    "yardstick": "n-gram yardstick (TF-IDF `char_wb` 1-4-grams, logistic regression, C = 10)",
    "yardstick, C chosen": "n-gram yardstick, its C chosen as nameclf's defaults are",
    "many default": "nameclf default: bi-GRU 128 and n-grams combined",
    "lstm": "nameclf default: `--cell lstm`, network and n-grams combined",
    "gru": "nameclf `--cell gru` (combined)",
    "rnn": "nameclf `--cell rnn` (combined)",
    "rnn alone": "nameclf `--experts rnn`: the default's network alone",
    "ngram alone": "nameclf `--experts ngram`: the default's n-gram model alone",
}
PARTS = ("validation", "test", "oos", "mimesis")  # "oos": Faker's surnames; "mimesis": mimesis's

FULL = dict(pair_seeds=list(range(10)), many_seeds=[0, 1, 2], seed003_epochs=30, options={}, many_options={})
QUICK = dict(pair_seeds=[0, 1], many_seeds=[0], seed003_epochs=2, options=dict(epochs=3), many_options=dict(epochs=1))


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def torch_version() -> str:
    import torch

    return torch.__version__


def summary(rows: list[dict], key: str) -> dict[str, float]:
    mean, spread = common.mean_spread([row[key] for row in rows])
    return {"mean": mean, "spread": spread, "min": min(row[key] for row in rows), "max": max(row[key] for row in rows)}


def experts_alone(result: dict[str, Any], languages: str, seeds: list[int], options: dict[str, Any]) -> None:
    """The default's two experts, each on its own (`--experts rnn`, `--experts ngram`), on the same
    splits: runs "rnn alone" and "ngram alone" in `result`."""
    for alone in ALONE:
        rows = []
        for seed in seeds:
            rows.append(common.nameclf_run(languages, seed, PARTS, experts=alone, **options))
            row = rows[-1]
            say(f"  {alone} alone seed {seed}: test {row['test_accuracy']:.4f}, F1 {row['test_macro_f1']:.4f}")
        result["runs"][f"{alone} alone"] = rows
        result[f"calibration_pooled_{alone}_alone"] = common.pooled_calibration(rows)


def yardsticks(result: dict[str, Any], languages: str, seeds: list[int]) -> None:
    """The n-gram yardstick over its C grid on every split: runs "yardstick" (C = 10, fixed) and
    "yardstick, C chosen" (C chosen as nameclf's defaults are, `common.chosen_c`), and the grid itself,
    which is the trade-off between validation and out-of-source accuracy along C."""
    grid = {c: [common.yardstick_run(languages, seed, PARTS, c) for seed in seeds] for c in common.YARDSTICK_GRID}
    chosen = common.chosen_c(grid)
    result["runs"]["yardstick"] = grid[common.YARDSTICK_C]
    result["runs"]["yardstick, C chosen"] = grid[chosen]
    result["yardstick_grid"] = {
        str(c): {key: summary(rows, key)["mean"] for key in SOURCE_FIGURES} for c, rows in grid.items()
    }
    result["yardstick_chosen_c"] = chosen
    say(f"  yardstick: C {common.YARDSTICK_C:g} fixed, {chosen:g} chosen")


def pair_task(settings: dict, keep: Path) -> dict[str, Any]:
    say(f"German/Italian, seeds {settings['pair_seeds']}")
    result: dict[str, Any] = {"languages": PAIR, "seeds": settings["pair_seeds"], "runs": {}}
    yardsticks(result, PAIR, settings["pair_seeds"])
    others = common.other_language_names()
    for cell in CELLS:
        rows = []
        for seed in settings["pair_seeds"]:
            kept = keep / "pair" if (cell == "lstm" and seed == settings["pair_seeds"][0]) else None
            unlike = others if cell == "lstm" else None
            rows.append(
                common.nameclf_run(PAIR, seed, PARTS, keep=kept, others=unlike, cell=cell, **settings["options"])
            )
            say(f"  {cell} seed {seed}: test {rows[-1]['test_accuracy']:.4f}, oos {rows[-1]['oos_accuracy']:.4f}")
        result["runs"][cell] = rows
        pooled = common.pooled_calibration(rows)  # also takes the raw points out of the rows
        if cell == "lstm":
            result["calibration_pooled"] = pooled
    experts_alone(result, PAIR, settings["pair_seeds"], settings["options"])
    result["oos_names"] = len(common.out_of_source(PAIR))
    result["mimesis_names"] = len(common.out_of_source(PAIR, "mimesis"))
    return result


def many_task(settings: dict, keep: Path) -> dict[str, Any]:
    say(f"18 languages, seeds {settings['many_seeds']}")
    result: dict[str, Any] = {"languages": MANY, "seeds": settings["many_seeds"], "runs": {}}
    yardsticks(result, MANY, settings["many_seeds"])
    foreign = common.foreign_names()
    rows = []
    for seed in settings["many_seeds"]:
        kept = keep / "many" if seed == settings["many_seeds"][0] else None
        rows.append(common.nameclf_run(MANY, seed, PARTS, keep=kept, others=foreign, **settings["many_options"]))
        say(f"  default seed {seed}: test F1 {rows[-1]['test_macro_f1']:.4f}, {rows[-1]['train_seconds']:.0f} s")
    result["runs"]["default"] = rows
    result["calibration_pooled"] = common.pooled_calibration(rows)
    experts_alone(result, MANY, settings["many_seeds"], settings["many_options"])
    result["oos_names"] = len(common.out_of_source(MANY))
    result["mimesis_names"] = len(common.out_of_source(MANY, "mimesis"))
    return result


def seed003_task(settings: dict) -> dict[str, Any]:
    import seed003

    out: dict[str, Any] = {"epochs": settings["seed003_epochs"]}
    for mode in ("leaky", "clean"):
        say(f"seed 003 replica, {mode} split")
        trained = seed003.train_model(mode, 0, common.NAMES_DIR, epochs=settings["seed003_epochs"])
        figures = dict(trained.figures)
        oos = list(common.out_of_source(PAIR))
        probabilities = seed003.probabilities(trained, [example.name for example in oos])
        labels = list(seed003.LABELS)
        from nameclf.metrics import score

        report = score(labels, [e.labels for e in oos], [labels[i] for i in probabilities.argmax(1)], "oos")
        figures["oos_accuracy"] = report.accuracy
        out[mode] = {key: value for key, value in figures.items() if isinstance(value, (int, float, str, type(None)))}
    return out


def cold_predict(model: Path, repeats: int) -> dict[str, float]:
    """A cold `nameclf predict Tribbiani`, alternated with `python -c "import numpy"` (the machine's
    speed in the same moments): the medians of each and of their ratio, run by run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    commands = {
        "predict": [str(SCRIPT), "predict", "Tribbiani", "--model", str(model)],
        "numpy": [sys.executable, "-c", "import numpy"],
    }
    times: dict[str, list[float]] = {"predict": [], "numpy": []}
    for _ in range(repeats + 1):  # the first round warms the file cache and is not counted
        for kind, command in commands.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times[kind].append(time.perf_counter() - started)
    ratios = [a / b for a, b in zip(times["predict"][1:], times["numpy"][1:])]
    return {
        "median_seconds": statistics.median(times["predict"][1:]),
        "min_seconds": min(times["predict"][1:]),
        "numpy_import_seconds": statistics.median(times["numpy"][1:]),
        "ratio_to_numpy_import": statistics.median(ratios),
        "runs": repeats,
    }


def dataset_names() -> list[str]:
    from nameclf.data import read_names

    return [name for path in sorted(common.NAMES_DIR.glob("*.txt")) for name in read_names(path)]


def cold_rate(model: Path, names: list[str]) -> float:
    """Names per second of `predict(names)`, best of 3, each time on a newly loaded model (so nothing
    it remembers from an earlier call, such as the language model's windows, helps it)."""
    from nameclf.predict import Predictor

    best = float("inf")
    for _ in range(3):
        predictor = Predictor.load(model)
        started = time.perf_counter()
        predictor.predict(names)
        best = min(best, time.perf_counter() - started)
    return len(names) / best


def throughput(model: Path, names: int) -> dict[str, float]:
    """Names per second of the numpy predictor: best of 5 on `names` drawn from the dataset (repeats
    answered once, as `predict` does), as saved (calibrated) and at T = 1, the two alternated so that
    the machine's noise falls on both alike; and best of 3 on every distinct dataset name, each once
    (no name repeats, so none is answered from another's work: the slowest input)."""
    from nameclf.predict import Predictor

    pool = dataset_names()
    rng = np.random.default_rng(0)
    chosen = [pool[i] for i in rng.integers(0, len(pool), size=names)]
    calibrated = Predictor.load(model)
    plain = Predictor.load(model)
    plain.temperature = 1.0  # skips the rescaling, as a model saved without a temperature does
    calibrated.predict(chosen[:1000])
    best = {"calibrated": float("inf"), "uncalibrated": float("inf")}
    for _ in range(5):
        for kind, predictor in (("calibrated", calibrated), ("uncalibrated", plain)):
            started = time.perf_counter()
            predictor.predict(chosen)
            best[kind] = min(best[kind], time.perf_counter() - started)
    rates = {kind: names / seconds for kind, seconds in best.items()}
    distinct = sorted(set(pool))
    rates["distinct"] = cold_rate(model, distinct)
    rates["distinct_names"] = len(distinct)
    return rates


def speed_task(keep: Path, quick: bool) -> dict[str, Any]:
    say("prediction speed")
    names = 20_000 if quick else 100_000
    results = {}
    for task in ("pair", "many"):
        rates = throughput(keep / task, names)
        results[task] = {
            "names": names,
            "names_per_second": rates["calibrated"],
            "names_per_second_uncalibrated": rates["uncalibrated"],
            "distinct_names": rates["distinct_names"],
            "distinct_names_per_second": rates["distinct"],
            "cold_predict": cold_predict(keep / task, 3 if quick else 10),
        }
    return results


def issue20_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's targets (the network and the n-gram model combined): figure, met, and by how much not."""
    pair, many, speed = results["pair"]["runs"], results["many"]["runs"], results["speed"]
    rows: list[dict[str, Any]] = []

    def add(name: str, figure: str, met: bool, short: str) -> None:
        rows.append({"target": name, "figure": figure, "met": bool(met), "short_by": "" if met else short})

    def mean(runs: list[dict], key: str) -> float:
        return summary(runs, key)["mean"]

    def at_least(name: str, ours: float, theirs: float, margin: float = 0.0, names: int | None = None) -> None:
        gap = theirs + margin - ours
        count = f" ({gap * names:.1f} of {names:,} names)" if names else ""
        extra = f" + {margin:g}" if margin else ""
        add(name, f"{ours:.4f} vs {theirs:.4f}{extra}", gap <= 1e-12, f"{gap:.4f}{count}")

    default, stick = many["default"], many["yardstick"]
    at_least(
        "18 languages, 3 seeds: mean test macro-F1 >= the yardstick's + 0.03",
        mean(default, "test_macro_f1"),
        mean(stick, "test_macro_f1"),
        margin=0.03,
    )
    at_least(
        "18 languages: mean test accuracy >= the yardstick's + 0.01",
        mean(default, "test_accuracy"),
        mean(stick, "test_accuracy"),
        margin=0.01,
    )
    at_least(
        "18 languages: out-of-source accuracy >= the yardstick's + 0.005",
        mean(default, "oos_accuracy"),
        mean(stick, "oos_accuracy"),
        margin=0.005,
        names=results["many"]["oos_names"],
    )
    lstm = pair["lstm"]
    versus = common.paired([r["test_accuracy"] for r in lstm], [r["test_accuracy"] for r in pair["yardstick"]])
    at_least(
        f"German/Italian, {len(lstm)} splits: mean test accuracy >= the yardstick's "
        f"(wins/losses/ties {versus['wins']}/{versus['losses']}/{versus['ties']})",
        mean(lstm, "test_accuracy"),
        mean(pair["yardstick"], "test_accuracy"),
        names=140 * len(lstm),
    )
    ours, theirs, alone = (mean(pair[key], "oos_accuracy") for key in ("lstm", "yardstick", "rnn alone"))
    gap = max(theirs, alone) - ours
    add(
        "German/Italian: out-of-source accuracy >= the yardstick's and >= the network alone's",
        f"{ours:.4f} vs {theirs:.4f} and {alone:.4f}",
        gap <= 1e-12,
        f"{gap:.4f}",
    )
    pooled = results["pair"]["calibration_pooled"]["after"]["ece"]
    add(
        "test ECE <= 0.02 after the temperature (German/Italian, the test names of all seeds pooled)",
        f"{pooled:.4f} (mean of the seeds' own: {mean(lstm, 'test_ece_after'):.4f})",
        pooled <= 0.02,
        f"{pooled - 0.02:.4f}",
    )
    after = mean(default, "test_ece_after")
    add(
        "test ECE <= 0.02 after the temperature (18 languages, mean over seeds)",
        f"{after:.4f} (the seeds' test names pooled: {results['many']['calibration_pooled']['after']['ece']:.4f})",
        after <= 0.02,
        f"{after - 0.02:.4f}",
    )
    covered = mean(default, "test_coverage_0.9")
    add(
        "coverage at `--coverage 0.9` in [0.88, 0.95], 18 languages",
        f"{covered:.4f} (mean set size {mean(default, 'test_set_size_0.9'):.2f})",
        0.88 <= covered <= 0.95,
        f"{max(0.88 - covered, covered - 0.95):.4f}",
    )
    for task, runs, others in (
        ("German/Italian", lstm, "the other 16 languages' dataset names"),
        ("18 languages", default, "Faker's Turkish, Finnish, Hungarian, Swedish and Romanian surnames"),
    ):
        area = statistics.fmean(r["unfamiliar"]["auroc"] for r in runs)
        add(
            f"unfamiliar, {task}: AUROC own test names vs {others} >= 0.90",
            f"{area:.4f}",
            area >= 0.90,
            f"{0.90 - area:.4f}",
        )
        own = statistics.fmean(r["unfamiliar"]["own_flagged"] for r in runs)
        flagged = statistics.fmean(r["unfamiliar"]["others_flagged"] for r in runs)
        add(
            f"unfamiliar at 0.05, {task}: own test names flagged <= 7% (and the others' share)",
            f"{own:.1%} of its own; {flagged:.1%} of {runs[0]['unfamiliar']['others']:,} others",
            own <= 0.07,
            f"{own - 0.07:.1%}",
        )
    for task, runs, limit in (("German/Italian", lstm, 15), ("18 languages", default, 300)):
        slowest = max(r["train_seconds"] for r in runs)
        add(
            f"{task} trains in <= {limit} s (slowest seed, one thread)",
            f"{slowest:.1f} s (median {statistics.median(r['train_seconds'] for r in runs):.1f} s)",
            slowest <= limit,
            f"{slowest - limit:.1f} s",
        )
    for task, label, floor in (("many", "18 languages", 20_000), ("pair", "German/Italian", 30_000)):
        row = speed[task]
        distinct = row["distinct_names_per_second"]
        add(
            f"numpy predictor >= {floor:,} names/s, {label} (judged on distinct names)",
            f"{distinct:,.0f} on {row['distinct_names']:,} distinct names; "
            f"{row['names_per_second']:,.0f} on {row['names']:,} drawn with repeats",
            distinct >= floor,
            f"{floor - distinct:,.0f} names/s",
        )
    for task, label in (("pair", "German/Italian"), ("many", "18 languages")):
        cold = speed[task]["cold_predict"]
        add(
            f"cold `nameclf predict Tribbiani` <= 0.4 s ({label} model), paired with `python -c 'import numpy'`",
            f"{cold['median_seconds']:.3f} s (numpy's import {cold['numpy_import_seconds']:.3f} s, "
            f"ratio {cold['ratio_to_numpy_import']:.2f})",
            cold["median_seconds"] <= 0.4,
            f"{cold['median_seconds'] - 0.4:.3f} s",
        )
    return rows


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue, its measured figure, whether it is met, and if not by how much."""
    pair, many, seed = results["pair"]["runs"], results["many"]["runs"], results["seed003"]
    rows = []

    def add(name: str, figure: str, met: bool, short: str) -> None:
        rows.append({"target": name, "figure": figure, "met": bool(met), "short_by": "" if met else short})

    def at_least(name: str, ours: float, theirs: float, margin: float = 0.0, names: int | None = None) -> None:
        gap = theirs + margin - ours
        count = f" ({gap * names:.1f} of {names:,} names)" if names else ""
        extra = f" + {margin:g}" if margin else ""
        add(name, f"{ours:.4f} vs {theirs:.4f}{extra}", gap <= 1e-12, f"{gap:.4f}{count}")

    mean = lambda rows, key: summary(rows, key)["mean"]  # noqa: E731
    at_least(
        "German/Italian: mean test accuracy over the seeds >= the yardstick's",
        mean(pair["lstm"], "test_accuracy"),
        mean(pair["yardstick"], "test_accuracy"),
        names=140,
    )
    at_least(
        "German/Italian out-of-source accuracy >= the yardstick's (mean over seeds)",
        mean(pair["lstm"], "oos_accuracy"),
        mean(pair["yardstick"], "oos_accuracy"),
        names=results["pair"]["oos_names"],
    )
    at_least(
        "18 languages: mean test macro-F1 >= the yardstick's + 0.03",
        mean(many["default"], "test_macro_f1"),
        mean(many["yardstick"], "test_macro_f1"),
        margin=0.03,
    )
    at_least(
        "18 languages: out-of-source accuracy >= the yardstick's",
        mean(many["default"], "oos_accuracy"),
        mean(many["yardstick"], "oos_accuracy"),
        names=results["many"]["oos_names"],
    )
    slowest = max(row["train_seconds"] for row in many["default"])
    add(
        "`nameclf train --languages all` <= 5 min (slowest seed, one thread)",
        f"{slowest:.0f} s",
        slowest <= 300,
        f"{slowest - 300:.0f} s",
    )
    default_seconds = statistics.median(row["train_seconds"] for row in pair["lstm"])
    add(
        "German/Italian default trains in <= 15 s (median over seeds)",
        f"{default_seconds:.1f} s",
        default_seconds <= 15,
        f"{default_seconds - 15:.1f} s",
    )
    seed_seconds = seed["clean"]["train_seconds"]
    add(
        "... and in <= 1/10 of the seed-003 procedure's time (same run)",
        f"{default_seconds:.1f} s vs {seed_seconds:.1f} s ({default_seconds / seed_seconds:.2f})",
        default_seconds <= seed_seconds / 10,
        f"{default_seconds - seed_seconds / 10:.1f} s",
    )
    for task, label in (("many", "18 languages: mean over seeds"), ("pair", "German/Italian: pooled over seeds")):
        if task == "many":
            before = mean(many["default"], "test_ece_before")
            after = mean(many["default"], "test_ece_after")
        else:
            pooled = results["pair"]["calibration_pooled"]
            before, after = pooled["before"]["ece"], pooled["after"]["ece"]
        add(
            f"calibration: test ECE after <= 0.02 and lower than before ({label})",
            f"{after:.4f} (before {before:.4f})",
            after <= 0.02 and after < before,
            f"{max(after - 0.02, 0):.4f}" + ("" if after < before else "; not lower than before"),
        )
    covered = mean(many["default"], "test_coverage_0.9")
    add(
        "prediction sets: 18-language test coverage at --coverage 0.9 in [0.88, 0.95] (mean over seeds)",
        f"{covered:.4f}, mean set size {mean(many['default'], 'test_set_size_0.9'):.2f}",
        0.88 <= covered <= 0.95,
        f"{max(0.88 - covered, covered - 0.95):.4f}",
    )
    share = max(
        row["calibration_seconds"] / row["train_seconds"] for rows in (pair["lstm"], many["default"]) for row in rows
    )
    add(
        "calibration adds <= 5% to training time (largest share over the default runs)",
        f"{share:.3%}",
        share <= 0.05,
        f"{share - 0.05:.3%}",
    )
    for task in ("pair", "many"):
        speed = results["speed"][task]
        ratio = speed["names_per_second"] / speed["names_per_second_uncalibrated"]
        add(
            f"calibration adds nothing measurable to prediction: names/s calibrated / at T = 1 >= 0.97 ({task})",
            f"{ratio:.3f}",
            ratio >= 0.97,
            f"{0.97 - ratio:.3f}",
        )
    for task in ("pair", "many"):
        speed = results["speed"][task]
        rate = speed["names_per_second"]
        add(
            f"numpy predictor >= 20,000 names/s ({task} default)",
            f"{rate:,.0f} names/s",
            rate >= 20_000,
            f"{20_000 - rate:,.0f} names/s",
        )
        cold = speed["cold_predict"]["median_seconds"]
        add(
            f"cold `nameclf predict Tribbiani` <= 0.5 s ({task} default)",
            f"{cold:.2f} s",
            cold <= 0.5,
            f"{cold - 0.5:.2f} s",
        )
    return rows


def sources_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets for names from other sources: figure, met, and by how much not."""
    rows: list[dict[str, Any]] = []

    def mean(runs: list[dict], key: str) -> float:
        return summary(runs, key)["mean"]

    def at_least(name: str, ours: float, theirs: list[float], margin: float = 0.0) -> None:
        gap = max(theirs) + margin - ours
        shown = " and ".join(f"{value:.4f}" for value in theirs) + (f" + {margin:g}" if margin else "")
        rows.append({"target": name, "figure": f"{ours:.4f} vs {shown}", "met": gap <= 1e-12, "short_by": f"{gap:.4f}"})

    many, pair = results["many"]["runs"], results["pair"]["runs"]
    seeds = len(many["default"])
    for part, source in (("oos", "Faker"), ("mimesis", "mimesis")):
        at_least(
            f"18 languages, {seeds} seeds: {source} accuracy >= the C = 10 yardstick's + 0.02",
            mean(many["default"], f"{part}_accuracy"),
            [mean(many["yardstick"], f"{part}_accuracy")],
            0.02,
        )
    for key, what in (("test_accuracy", "test accuracy"), ("test_macro_f1", "test macro-F1")):
        at_least(f"18 languages: {what} >= the yardstick's", mean(many["default"], key), [mean(many["yardstick"], key)])
    splits = len(pair["lstm"])
    for part, source in (("oos", "Faker"), ("mimesis", "mimesis")):
        key = f"{part}_accuracy"
        at_least(
            f"German/Italian, {splits} splits: {source} accuracy >= the yardstick's and >= the network alone's",
            mean(pair["lstm"], key),
            [mean(pair["yardstick"], key), mean(pair["rnn alone"], key)],
        )
    for row in rows:
        row["short_by"] = "" if row["met"] else row["short_by"]
    return rows


def sources_lines(results: dict[str, Any]) -> list[str]:
    """Per task, one table of validation, test, Faker and mimesis for nameclf, its experts alone and the
    yardstick; the trade-off along the yardstick's C; and the 18 languages out of source, one by one."""
    lines: list[str] = []
    for task, default in (("pair", "lstm"), ("many", "default")):
        result = results[task]
        title = "German/Italian" if task == "pair" else "18 languages"
        lines += [
            f"### {title}: {len(result['runs'][default])} seeds; {result['oos_names']:,} Faker and "
            f"{result['mimesis_names']:,} mimesis surnames",
            "",
            "| model | validation accuracy | test accuracy | test macro-F1 | Faker accuracy | mimesis accuracy |",
            "|---|---|---|---|---|---|",
        ]
        for name in (default, "rnn alone", "ngram alone", "yardstick", "yardstick, C chosen"):
            runs = result["runs"][name]
            label = LABELS["many default" if name == "default" else name]
            if name == "yardstick, C chosen":
                label += f" (C = {result['yardstick_chosen_c']:g})"
            lines.append(f"| {label} | " + " | ".join(fmt(summary(runs, key)) for key in SOURCE_FIGURES) + " |")
        lines += [
            "",
            f"The trade-off along the yardstick's C ({title}, means over seeds): the tutorial's own validation "
            "names reward a weakly regularised fit of its spellings, other sources a strongly regularised one.",
            "",
            "| C | validation accuracy | test accuracy | test macro-F1 | Faker accuracy | mimesis accuracy |",
            "|---|---|---|---|---|---|",
        ]
        for c, figures in result["yardstick_grid"].items():
            lines.append(f"| {float(c):g} | " + " | ".join(f"{figures[key]:.4f}" for key in SOURCE_FIGURES) + " |")
        lines.append("")
    default = results["many"]["runs"]["default"]
    lines += [
        "### 18 languages out of source, language by language (the default, mean over seeds; "
        "what the wrong answers were most often, on the first seed)",
        "",
        "| language | Faker names | Faker accuracy | taken for | mimesis names | mimesis accuracy | taken for |",
        "|---|---|---|---|---|---|---|",
    ]
    for language in results["many"]["runs"]["default"][0].get("oos_per_language", {}) | default[0].get(
        "mimesis_per_language", {}
    ):
        cells = []
        for part in ("oos", "mimesis"):
            found = [row[f"{part}_per_language"].get(language) for row in default]
            if found[0] is None:
                cells += ["-", "-", "-"]
                continue
            accuracy = statistics.fmean(f["accuracy"] for f in found)
            taken = found[0]["taken_for"]
            taken_text = f"{taken} ({found[0]['taken_for_share']:.0%})" if taken else "-"
            cells += [f"{found[0]['names']:,}", f"{accuracy:.3f}", taken_text]
        lines.append(f"| {language} | " + " | ".join(cells) + " |")
    return lines


def fmt(stats: dict[str, float]) -> str:
    return f"{stats['mean']:.4f} ± {stats['spread']:.4f}"


def markdown(results: dict[str, Any], command: str) -> str:
    pair, many, seed, speed = results["pair"], results["many"], results["seed003"], results["speed"]
    m = results["machine"]
    lines = [
        "# nameclf benchmarks",
        "",
        f"Made by `{command}` on {m['date']} at commit {m['commit']}: {m['cpu']}, {m['cores']} cores, "
        f"{m['platform']}, Python {m['python']}, torch {m['torch']}, numpy {m['numpy']}; every model trained "
        "with one thread. Figures are means ± standard deviation over seeds; each seed is its own split, "
        "and nameclf and the yardstick are compared on the same split. Nothing here was chosen on the test "
        "split: the defaults were chosen on validation and out-of-source names (the studies in "
        "[docs/studies.md](docs/studies.md)).",
        "",
    ]
    if results["quick"]:
        lines += ["**Quick run** (`make bench-quick`): few seeds and epochs, to check the pipeline. Do not quote.", ""]

    def table(rows: list[dict[str, Any]]) -> list[str]:
        return ["| target | measured | met | short by |", "|---|---|---|---|"] + [
            f"| {row['target']} | {row['figure']} | {'yes' if row['met'] else '**no**'} | {row['short_by']} |"
            for row in rows
        ]

    lines += [
        "## Names from other sources: defaults chosen on them",
        "",
        "Out-of-source names come from two libraries' surname lists, each reported on its own: Faker's "
        "(`benchmarks/oos.py`, 15 languages) and mimesis's (9 Latin-script languages), minus every name of "
        "the 18 dataset files and every name a library lists under two languages. They chose the defaults "
        "(with validation accuracy as a guard: within 0.01 of the best seen) and are never trained on. The "
        "yardstick is `nameclf.ngram` at its own settings with C = 10, fixed.",
        "",
        *table(results["sources_targets"]),
        "",
        WHY26,
        "",
        *sources_lines(results),
        "",
        "## Targets of issue 20: the network and the n-gram model combined, and the unfamiliar-name flag",
        "",
        *table(results["issue20_targets"]),
        "",
        WHY20,
        "",
        *weights_lines(results),
        "",
        "## Targets before issue 20",
        "",
        *table(results["targets"]),
    ]
    lines += [
        "",
        f"## German/Italian, seeds {pair['seeds'][0]}-{pair['seeds'][-1]}",
        "",
        f"Test split: 140 names per seed (one name is 0.7 points). Out-of-source: {pair['oos_names']} Faker "
        "surnames (German and Italian locales) that are in none of the 18 dataset files.",
        "",
        "| model | validation accuracy | test accuracy | test vs yardstick (mean diff, wins/losses/ties) "
        "| out-of-source accuracy | oos vs yardstick | train s (median) | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = pair["runs"]["yardstick"]
    for name, rows in pair["runs"].items():
        label = LABELS.get(name, name)
        if name.startswith("yardstick"):
            versus_test = versus_oos = "-"
            seconds = statistics.median(row["fit_seconds"] for row in rows)
            parameters = "-"
        else:
            t = common.paired([r["test_accuracy"] for r in rows], [r["test_accuracy"] for r in base])
            o = common.paired([r["oos_accuracy"] for r in rows], [r["oos_accuracy"] for r in base])
            versus_test = f"{t['mean_difference']:+.4f}, {t['wins']}/{t['losses']}/{t['ties']}"
            versus_oos = f"{o['mean_difference']:+.4f}, {o['wins']}/{o['losses']}/{o['ties']}"
            seconds = statistics.median(row["train_seconds"] for row in rows)
            parameters = f"{rows[0]['parameters']:,}" if rows[0].get("parameters") else "-"
        lines.append(
            f"| {label} | {fmt(summary(rows, 'validation_accuracy'))} | {fmt(summary(rows, 'test_accuracy'))} | "
            f"{versus_test} | {fmt(summary(rows, 'oos_accuracy'))} | {versus_oos} | {seconds:.1f} | {parameters} |"
        )
    lines += [
        "",
        "## Seed 003's procedure, replicated",
        "",
        f"`benchmarks/seed003.py`, seed 0, {seed['epochs']} epochs: its fixed-length RNN trained as the seed "
        "document says, on its own split (duplicates kept, so test names also occur in training, and the "
        "epoch kept by test accuracy) and on nameclf's clean split (epoch kept by validation accuracy).",
        "",
        "| split | test accuracy (final epoch) | test accuracy of the kept epoch | test names also in training "
        "| out-of-source accuracy | train s | parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("leaky", "clean"):
        row = seed[mode]
        lines.append(
            f"| {mode} | {row['test_accuracy']:.4f} | {row.get('selected_test_accuracy', float('nan')):.4f} | "
            f"{row['leaked_test_names']} of {row['test_size']} | {row['oos_accuracy']:.4f} | "
            f"{row['train_seconds']:.1f} | {row['parameters']:,} |"
        )
    lines += [
        "",
        f"## All 18 languages, seeds {many['seeds'][0]}-{many['seeds'][-1]}",
        "",
        f"A multi-label name counts as right in any of its languages. Out-of-source: {many['oos_names']} Faker "
        "surnames from the locales mapped in `benchmarks/oos.py`.",
        "",
        "| model | validation acc | validation macro-F1 | test acc | test macro-F1 | out-of-source acc "
        "| oos macro-F1 | train s | parameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    many_labels = {
        "yardstick": LABELS["yardstick"],
        "yardstick, C chosen": LABELS["yardstick, C chosen"],
        "default": LABELS["many default"],
        "rnn alone": "nameclf `--experts rnn`: the default's network alone",
        "ngram alone": "nameclf `--experts ngram`: the default's n-gram model alone",
    }
    for name, rows in many["runs"].items():
        label = many_labels.get(name, name)
        seconds = statistics.median(r.get("train_seconds", r.get("fit_seconds", 0)) for r in rows)
        parameters = f"{rows[0]['parameters']:,}" if "parameters" in rows[0] else "-"
        lines.append(
            f"| {label} | {fmt(summary(rows, 'validation_accuracy'))} | {fmt(summary(rows, 'validation_macro_f1'))} "
            f"| {fmt(summary(rows, 'test_accuracy'))} | {fmt(summary(rows, 'test_macro_f1'))} "
            f"| {fmt(summary(rows, 'oos_accuracy'))} | {fmt(summary(rows, 'oos_macro_f1'))} | {seconds:.1f} "
            f"| {parameters} |"
        )
    lines += [
        "",
        "## Unfamiliar names",
        "",
        "The flag at its default level (0.05) and its score's AUROC between the model's own test names and "
        "names of languages it never learnt: for German/Italian the dataset names of the other 16 languages, "
        "for 18 languages Faker's surnames of five languages outside them (`benchmarks/oos.py`, `FOREIGN`). "
        "Mean over seeds.",
        "",
        "| model | AUROC | own test names flagged | others flagged | others |",
        "|---|---|---|---|---|",
    ]
    for title, rows in (
        ("German/Italian default", pair["runs"]["lstm"]),
        ("18 languages default", many["runs"]["default"]),
    ):
        figures = [row["unfamiliar"] for row in rows]
        lines.append(
            f"| {title} | {statistics.fmean(f['auroc'] for f in figures):.4f} "
            f"| {statistics.fmean(f['own_flagged'] for f in figures):.1%} "
            f"| {statistics.fmean(f['others_flagged'] for f in figures):.1%} | {figures[0]['others']:,} |"
        )
    lines += [
        "",
        "## Calibration and prediction sets (test splits)",
        "",
        "ECE: expected calibration error, 15 equal-width bins of the top probability. Before: the network's "
        "own probabilities; after: at the temperature fitted on half the validation names. Coverage: the share "
        "of test names whose `--coverage C` set holds a true language (split conformal, threshold from the "
        "other validation half); in brackets the mean set size. German/Italian: the default (lstm), test names "
        "of all seeds pooled; 18 languages: mean over seeds.",
        "",
        "| task | names | ECE before → after | NLL before → after | temperature (mean) | coverage 0.8 "
        "| coverage 0.9 | coverage 0.95 | calibration s / train s (largest) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for title, task, rows in (
        ("German/Italian", pair, pair["runs"]["lstm"]),
        ("18 languages", many, many["runs"]["default"]),
    ):
        pooled = task["calibration_pooled"]
        if task is pair:
            ece = f"{pooled['before']['ece']:.4f} → {pooled['after']['ece']:.4f}"
            nll = f"{pooled['before']['nll']:.4f} → {pooled['after']['nll']:.4f}"
        else:
            ece = f"{fmt(summary(rows, 'test_ece_before'))} → {fmt(summary(rows, 'test_ece_after'))}"
            nll = f"{fmt(summary(rows, 'test_nll_before'))} → {fmt(summary(rows, 'test_nll_after'))}"
        sets = [
            f"{summary(rows, f'test_coverage_{c}')['mean']:.4f} ({summary(rows, f'test_set_size_{c}')['mean']:.2f})"
            for c in common.COVERAGES
        ]
        share = max(row["calibration_seconds"] / row["train_seconds"] for row in rows)
        lines.append(
            f"| {title} | {pooled['names']:,} | {ece} | {nll} | {summary(rows, 'temperature')['mean']:.2f} | "
            + " | ".join(sets)
            + f" | {share:.3%} |"
        )
    lines += [
        "",
        "## Prediction",
        "",
        "| model | numpy names/s, drawn with repeats | the same at T = 1 (uncalibrated), alternated "
        "| numpy names/s, distinct names | cold `nameclf predict Tribbiani` (median) | `python -c 'import numpy'` "
        "(median, alternated) | ratio (median) |",
        "|---|---|---|---|---|---|---|",
    ]
    for task, row in speed.items():
        cold = row["cold_predict"]
        lines.append(
            f"| {task} default | {row['names_per_second']:,.0f} (best of 5 over {row['names']:,} names) | "
            f"{row['names_per_second_uncalibrated']:,.0f} | {row['distinct_names_per_second']:,.0f} "
            f"(best of 3, {row['distinct_names']:,} names, each on a newly loaded model) | "
            f"{cold['median_seconds']:.3f} s (of {cold['runs']}) | {cold['numpy_import_seconds']:.3f} s | "
            f"{cold['ratio_to_numpy_import']:.2f} |"
        )
    lines += ["", f"Raw figures: `benchmarks/results/results{'-quick' if results['quick'] else ''}.json`.", ""]
    return "\n".join(lines)


WHY = """Why the misses: README, "Defaults and what they give". In short, on German/Italian the RNN and the
yardstick are level on the tutorial's own test names (the gap is under one name per split, in the spread between
splits) and the RNN leads on other sources; on 18 languages a well-regularised n-gram model is ahead of an RNN of
a size that trains in two minutes and answers fast; the wider networks that close part of the gap answer several
times slower ([docs/studies.md](docs/studies.md), "levers"). Timings on this shared machine vary by about 30% from
run to run."""

WHY26 = """**Why the 18-language targets are missed, and what chose the defaults.** On this task the
tutorial's own validation names and names from other sources pull the regularisation apart: the trade-off tables
below show it for the yardstick's C, and the same held for nameclf's n-gram expert and its network. The defaults
were chosen on the mean of the two sources, with validation accuracy within 0.01 of the best seen as the guard,
and the guard is what binds: +0.02 over the C = 10 yardstick on each source would need a C near 3, which costs
about 0.02 of validation and of test accuracy (the study and its figures: [docs/studies.md](docs/studies.md),
"oos_defaults"). German/Italian sits near its ceiling, its default already beats the yardstick and its network
alone on both sources, and its defaults stay as they were."""

WHY20 = """Why the misses, where there are any (README, "Two experts, and unfamiliar names"; the study,
[docs/studies.md](docs/studies.md), "experts"). 18-language accuracy and macro-F1: even the n-gram expert that
added most (1-5-grams, all 70,000 kept: +0.0082 accuracy and +0.0261 macro-F1 over the yardstick) falls short of
+0.01 and +0.03, and it makes a 5 MB model; the default keeps the 18,000 1-4-grams seen in two or more training
names, so the shipped `all` model stays under 3 MB. Calibration: ECE on 140 or 1,744 names with 15 bins moves by
about 0.01 from split to split, the size of the miss. Speed: the 18-language network (a bidirectional GRU of 128)
is most of the time a distinct name takes; repeated names are answered once, so a list with repeats goes faster.
Timings on this shared machine vary by about 30% from run to run."""


def weights_lines(results: dict[str, Any]) -> list[str]:
    """The combination's weight on the network, as each seed's training chose it."""
    lines = []
    for title, rows in (
        ("German/Italian", results["pair"]["runs"]["lstm"]),
        ("18 languages", results["many"]["runs"]["default"]),
    ):
        weights = [row["weight"] for row in rows]
        lines.append(
            f"{title}: the weight on the network, chosen by each seed's training, {min(weights):g}-{max(weights):g} "
            f"(mean {statistics.fmean(weights):.2f})."
        )
    return [" ".join(lines)]


def write(results: dict[str, Any], command: str) -> None:
    suffix = "-quick" if results["quick"] else ""
    (ROOT / "benchmarks" / "results" / f"results{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results, command) + f"The whole run took {results['bench_seconds'] / 60:.1f} min.\n"
    text = text.replace("\n## German/Italian", f"\n{WHY}\n\n## German/Italian", 1)
    (ROOT / f"BENCHMARKS{suffix}.md").write_text(text)
    say(f"wrote BENCHMARKS{suffix}.md and benchmarks/results/results{suffix}.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--from-results", type=Path, help="re-render the markdown from a saved results.json, training nothing"
    )
    args = parser.parse_args()
    if args.from_results is not None:
        results = json.loads(args.from_results.read_text())
        results["targets"] = targets(results)
        results["issue20_targets"] = issue20_targets(results)
        results["sources_targets"] = sources_targets(results)
        write(results, "make bench-quick" if results["quick"] else "make bench")
        return
    settings = QUICK if args.quick else FULL
    command = "make bench-quick" if args.quick else "make bench"
    started = time.perf_counter()
    keep = Path(tempfile.mkdtemp(prefix="nameclf-bench-models-"))
    try:
        results: dict[str, Any] = {"quick": args.quick, "machine": common.machine(torch=torch_version())}
        results["pair"] = pair_task(settings, keep)
        results["seed003"] = seed003_task(settings)
        results["many"] = many_task(settings, keep)
        results["speed"] = speed_task(keep, args.quick)
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    suffix = "-quick" if args.quick else ""
    # the raw figures first, so that a fault in the tables can be mended with --from-results
    (ROOT / "benchmarks" / "results" / f"results{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    results["targets"] = targets(results)
    results["issue20_targets"] = issue20_targets(results)
    results["sources_targets"] = sources_targets(results)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    write(results, command)


if __name__ == "__main__":
    main()
