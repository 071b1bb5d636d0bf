"""`make bench`: every headline figure in one run, on the same splits; writes BENCHMARKS.md and
benchmarks/results/results.json (`--quick`, `make bench-quick`: 2 seeds and few epochs, to check the
pipeline; BENCHMARKS-quick.md, figures not to quote).

nameclf (German/Italian, 10 seeds: lstm, gru, rnn; 18 languages, 3 seeds: the default; each default's
experts alone) and the n-gram yardstick (C = 10, C chosen as the defaults are, its C grid), scored on
validation, test, Faker's and mimesis's surnames (oos.py); seed 003's procedure (seed003.py); calibration,
prediction sets, the unfamiliar-name flag, training and prediction speed; each target, met or short by how
much. The test split is read only to report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

ROOT = common.ROOT
PAIR, MANY = common.TASKS["pair"], common.TASKS["many"]
CELLS = ("lstm", "gru", "rnn")
ALONE = ("rnn", "ngram")  # --experts: the network alone, the n-gram model alone (runs "rnn alone", "ngram alone")
SOURCE_FIGURES = ("validation_accuracy", "test_accuracy", "test_macro_f1", "oos_accuracy", "mimesis_accuracy")
LABELS = {
    "yardstick": "n-gram yardstick (TF-IDF `char_wb` 1-4-grams, logistic regression, C = 10)",
    "yardstick, C chosen": "n-gram yardstick, its C chosen as nameclf's defaults are",
    "default": "nameclf default: bi-GRU 128 and n-grams combined",  # 18 languages
    "lstm": "nameclf default: `--cell lstm`, network and n-grams combined",  # German/Italian
    "gru": "nameclf `--cell gru` (combined)",
    "rnn": "nameclf `--cell rnn` (combined)",
    "rnn alone": "nameclf `--experts rnn`: the default's network alone",
    "ngram alone": "nameclf `--experts ngram`: the default's n-gram model alone",
}
PARTS = ("validation", "test", "oos", "mimesis")  # "oos": Faker's surnames; "mimesis": mimesis's

FULL = dict(pair_seeds=list(range(10)), many_seeds=[0, 1, 2], seed003_epochs=30, options={}, many_options={})
QUICK = dict(pair_seeds=[0, 1], many_seeds=[0], seed003_epochs=2, options=dict(epochs=3), many_options=dict(epochs=1))


def mean(rows: list[dict], key: str) -> float:
    return statistics.fmean(row[key] for row in rows)


def fmt(rows: list[dict], key: str) -> str:
    """Mean ± standard deviation over the seeds."""
    return "{:.4f} ± {:.4f}".format(*common.mean_spread([row[key] for row in rows]))


# --- the runs and prediction speed --------------------------------------------------------------


def yardsticks(result: dict[str, Any], languages: str, seeds: list[int]) -> None:
    """The n-gram yardstick over its C grid on every split: runs "yardstick" (C = 10, fixed) and
    "yardstick, C chosen" (`common.chosen_c`), and the grid, the trade-off between validation and
    out-of-source accuracy along C."""
    grid = {c: [common.yardstick_run(languages, seed, PARTS, c) for seed in seeds] for c in common.YARDSTICK_GRID}
    chosen = common.chosen_c(grid)
    result["runs"]["yardstick"] = grid[common.YARDSTICK_C]
    result["runs"]["yardstick, C chosen"] = grid[chosen]
    result["yardstick_grid"] = {str(c): {key: mean(rows, key) for key in SOURCE_FIGURES} for c, rows in grid.items()}
    result["yardstick_chosen_c"] = chosen
    common.say(f"  yardstick: C {common.YARDSTICK_C:g} fixed, {chosen:g} chosen")


def runs_of(networks: dict[str, dict], options: dict[str, Any]) -> dict[str, dict]:
    """nameclf's runs of a task (name -> training options): its networks, the first one the default,
    then the default's two experts each alone (`--experts rnn`, `--experts ngram`), all with `options`."""
    runs = networks | {f"{expert} alone": {"experts": expert} for expert in ALONE}
    return {name: {**settings, **options} for name, settings in runs.items()}


def task(languages: str, seeds: list[int], runs: dict[str, dict], keep: Path, others) -> dict[str, Any]:
    """The yardsticks and nameclf's `runs` on every seed's split; the default (the first run) is saved
    to `keep` on the first seed and its unfamiliar-name flag scored against `others`."""
    common.say(f"{languages}, seeds {seeds}")
    result: dict[str, Any] = {"languages": languages, "seeds": seeds, "runs": {}}
    yardsticks(result, languages, seeds)
    default = next(iter(runs))
    for name, options in runs.items():
        rows = []
        for seed in seeds:
            kept, unlike = (keep if seed == seeds[0] else None, others) if name == default else (None, None)
            row = common.nameclf_run(languages, seed, PARTS, keep=kept, others=unlike, **options)
            common.say(f"  {name} seed {seed}: test {row['test_accuracy']:.4f}, F1 {row['test_macro_f1']:.4f}, "
                f"oos {row['oos_accuracy']:.4f}, {row['train_seconds']:.0f} s")  # fmt: skip
            rows.append(row)
        result["runs"][name] = rows
        pooled = common.pooled_calibration(rows)  # also takes the raw points out of the rows
        if name == default or name.endswith(" alone"):
            result["calibration_pooled" + ("" if name == default else f"_{name.replace(' ', '_')}")] = pooled
    result["oos_names"] = len(common.out_of_source(languages))
    result["mimesis_names"] = len(common.out_of_source(languages, "mimesis"))
    return result


def seed003_task(settings: dict) -> dict[str, Any]:
    """Seed 003's procedure, seed 0, on its leaky split and on nameclf's, with its Faker accuracy."""
    import seed003

    from nameclf.metrics import score

    out: dict[str, Any] = {"epochs": settings["seed003_epochs"]}
    oos = list(common.out_of_source(PAIR))
    labels = list(seed003.LABELS)
    for mode in seed003.MODES:
        common.say(f"seed 003 replica, {mode} split")
        trained = seed003.train_model(mode, 0, common.NAMES_DIR, epochs=settings["seed003_epochs"])
        predicted = [labels[i] for i in seed003.probabilities(trained, [e.name for e in oos]).argmax(1)]
        report = score(labels, [e.labels for e in oos], predicted, "oos")
        out[mode] = {**trained.figures, "oos_accuracy": report.accuracy}
    return out


def throughput(model: Path, names: int) -> dict[str, Any]:
    """Names per second of the numpy predictor: best of 5 on `names` drawn from the dataset (repeats
    answered once, as `predict` does), as saved (calibrated) and at T = 1, the two alternated so that
    the machine's noise falls on both alike; and best of 3 on every distinct dataset name, each once and
    each time on a newly loaded model (nothing answered from another name's work: the slowest input)."""
    from nameclf.predict import Predictor

    chosen = common.draw_names(names)
    calibrated, plain = Predictor.load(model), Predictor.load(model)
    plain.combination = dataclasses.replace(plain.combination, temperature=1.0)  # as a model saved without one
    calibrated.predict(chosen[:1000])
    best = {"calibrated": float("inf"), "uncalibrated": float("inf")}
    for _ in range(5):
        for kind, predictor in (("calibrated", calibrated), ("uncalibrated", plain)):
            best[kind] = min(best[kind], common.seconds(predictor.predict, chosen))
    distinct = sorted(set(common.dataset_names()))
    best["distinct"] = min(common.seconds(Predictor.load(model).predict, distinct) for _ in range(3))
    return {
        "names": names,
        "names_per_second": names / best["calibrated"],
        "names_per_second_uncalibrated": names / best["uncalibrated"],
        "distinct_names": len(distinct),
        "distinct_names_per_second": len(distinct) / best["distinct"],
    }


def speed_task(keep: Path, quick: bool) -> dict[str, Any]:
    common.say("prediction speed")
    names, repeats = (20_000, 3) if quick else (100_000, 10)
    return {
        task: {**throughput(keep / task, names), "cold_predict": common.cold_predict(keep / task, repeats)}
        for task in ("pair", "many")
    }


# --- targets ------------------------------------------------------------------------------------


def target(name: str, figure: str, met: bool, short: str) -> dict[str, Any]:
    return {"target": name, "figure": figure, "met": bool(met), "short_by": "" if met else short}


def at_least(name: str, ours: float, theirs: float | list[float], margin: float = 0.0, names: int | None = None):
    """The target ours >= each of theirs (+ margin); `names`: the part's size, to give the gap in names."""
    theirs = theirs if isinstance(theirs, list) else [theirs]
    gap = max(theirs) + margin - ours
    shown = " and ".join(f"{value:.4f}" for value in theirs) + (f" + {margin:g}" if margin else "")
    count = f" ({gap * names:.1f} of {names:,} names)" if names else ""
    return target(name, f"{ours:.4f} vs {shown}", gap <= 1e-12, f"{gap:.4f}{count}")


def means(results: dict[str, Any], task: str) -> dict[str, dict[str, float]]:
    """Each run of the task: the mean over seeds of each of its figures."""
    runs = results[task]["runs"].items()
    return {name: {k: mean(rows, k) for k, v in rows[0].items() if isinstance(v, (int, float))} for name, rows in runs}


def sources_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets for names from other sources."""
    pair, many = means(results, "pair"), means(results, "many")
    seeds, splits = len(results["many"]["seeds"]), len(results["pair"]["seeds"])
    rows = []
    for part, source in (("oos", "Faker"), ("mimesis", "mimesis")):
        name = f"18 languages, {seeds} seeds: {source} accuracy >= the C = 10 yardstick's + 0.02"
        rows.append(at_least(name, many["default"][f"{part}_accuracy"], many["yardstick"][f"{part}_accuracy"], 0.02))
    for key, what in (("test_accuracy", "test accuracy"), ("test_macro_f1", "test macro-F1")):
        rows.append(at_least(f"18 languages: {what} >= the yardstick's", many["default"][key], many["yardstick"][key]))
    for key, source in (("oos_accuracy", "Faker"), ("mimesis_accuracy", "mimesis")):
        name = f"German/Italian, {splits} splits: {source} accuracy >= the yardstick's and >= the network alone's"
        rows.append(at_least(name, pair["lstm"][key], [pair["yardstick"][key], pair["rnn alone"][key]]))
    return rows


def issue20_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's targets (the network and the n-gram model combined): accuracy and calibration."""
    pair, many, runs = means(results, "pair"), means(results, "many"), results["pair"]["runs"]
    default, stick, lstm, yardstick = many["default"], many["yardstick"], pair["lstm"], pair["yardstick"]
    rows = []
    for name, key, margin, names in (
        ("18 languages, 3 seeds: mean test macro-F1 >= the yardstick's + 0.03", "test_macro_f1", 0.03, None),
        ("18 languages: mean test accuracy >= the yardstick's + 0.01", "test_accuracy", 0.01, None),
        ("18 languages: out-of-source accuracy >= the yardstick's + 0.005", "oos_accuracy", 0.005, "oos"),
    ):
        rows.append(at_least(name, default[key], stick[key], margin, names and results["many"]["oos_names"]))
    won = common.paired([r["test_accuracy"] for r in runs["lstm"]], [r["test_accuracy"] for r in runs["yardstick"]])
    name = f"German/Italian, {len(runs['lstm'])} splits: mean test accuracy >= the yardstick's "
    name += f"(wins/losses/ties {won['wins']}/{won['losses']}/{won['ties']})"
    rows.append(at_least(name, lstm["test_accuracy"], yardstick["test_accuracy"], names=140 * len(runs["lstm"])))
    name = "German/Italian: out-of-source accuracy >= the yardstick's and >= the network alone's"
    rows.append(at_least(name, lstm["oos_accuracy"], [yardstick["oos_accuracy"], pair["rnn alone"]["oos_accuracy"]]))
    pooled, after = results["pair"]["calibration_pooled"]["after"]["ece"], default["test_ece_after"]
    name = "test ECE <= 0.02 after the temperature (German/Italian, the test names of all seeds pooled)"
    figure = f"{pooled:.4f} (mean of the seeds' own: {lstm['test_ece_after']:.4f})"
    rows.append(target(name, figure, pooled <= 0.02, f"{pooled - 0.02:.4f}"))
    name = "test ECE <= 0.02 after the temperature (18 languages, mean over seeds)"
    figure = f"{after:.4f} (the seeds' test names pooled: {results['many']['calibration_pooled']['after']['ece']:.4f})"
    rows.append(target(name, figure, after <= 0.02, f"{after - 0.02:.4f}"))
    covered, size = default["test_coverage_0.9"], default["test_set_size_0.9"]
    name, short = "coverage at `--coverage 0.9` in [0.88, 0.95], 18 languages", max(0.88 - covered, covered - 0.95)
    rows.append(target(name, f"{covered:.4f} (mean set size {size:.2f})", 0.88 <= covered <= 0.95, f"{short:.4f}"))
    return rows


def issue20_cost_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's targets for the unfamiliar-name flag, training time and prediction speed."""
    lstm, default, speed = results["pair"]["runs"]["lstm"], results["many"]["runs"]["default"], results["speed"]
    rows = []
    for task, runs, others in (
        ("German/Italian", lstm, "the other 16 languages' dataset names"),
        ("18 languages", default, "Faker's Turkish, Finnish, Hungarian, Swedish and Romanian surnames"),
    ):
        area, own, flagged = (
            statistics.fmean(r["unfamiliar"][key] for r in runs) for key in ("auroc", "own_flagged", "others_flagged")
        )
        name = f"unfamiliar, {task}: AUROC own test names vs {others} >= 0.90"
        rows.append(target(name, f"{area:.4f}", area >= 0.90, f"{0.90 - area:.4f}"))
        name = f"unfamiliar at 0.05, {task}: own test names flagged <= 7% (and the others' share)"
        figure = f"{own:.1%} of its own; {flagged:.1%} of {runs[0]['unfamiliar']['others']:,} others"
        rows.append(target(name, figure, own <= 0.07, f"{own - 0.07:.1%}"))
    for task, runs, limit in (("German/Italian", lstm, 15), ("18 languages", default, 300)):
        slowest, median = max(r["train_seconds"] for r in runs), statistics.median(r["train_seconds"] for r in runs)
        name = f"{task} trains in <= {limit} s (slowest seed, one thread)"
        figure = f"{slowest:.1f} s (median {median:.1f} s)"
        rows.append(target(name, figure, slowest <= limit, f"{slowest - limit:.1f} s"))
    for task, label, floor in (("many", "18 languages", 20_000), ("pair", "German/Italian", 30_000)):
        row = speed[task]
        rate = row["distinct_names_per_second"]
        figure = f"{rate:,.0f} on {row['distinct_names']:,} distinct names; "
        figure += f"{row['names_per_second']:,.0f} on {row['names']:,} drawn with repeats"
        name = f"numpy predictor >= {floor:,} names/s, {label} (judged on distinct names)"
        rows.append(target(name, figure, rate >= floor, f"{floor - rate:,.0f} names/s"))
    for task, label in (("pair", "German/Italian"), ("many", "18 languages")):
        cold = speed[task]["cold_predict"]
        seconds = cold["median_seconds"]
        name = f"cold `nameclf predict Tribbiani` <= 0.4 s ({label} model), paired with `python -c 'import numpy'`"
        figure = f"{seconds:.3f} s (numpy's import {cold['numpy_import_seconds']:.3f} s, "
        figure += f"ratio {cold['ratio_to_numpy_import']:.2f})"
        rows.append(target(name, figure, seconds <= 0.4, f"{seconds - 0.4:.3f} s"))
    return rows


def first_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The first targets: accuracy against the yardstick, training time and calibration."""
    pair, many, runs = means(results, "pair"), means(results, "many"), results["pair"]["runs"]["lstm"]
    lstm, yardstick, default, stick = pair["lstm"], pair["yardstick"], many["default"], many["yardstick"]
    name = "German/Italian: mean test accuracy over the seeds >= the yardstick's"
    rows = [at_least(name, lstm["test_accuracy"], yardstick["test_accuracy"], names=140)]
    name = "German/Italian out-of-source accuracy >= the yardstick's (mean over seeds)"
    rows.append(at_least(name, lstm["oos_accuracy"], yardstick["oos_accuracy"], names=results["pair"]["oos_names"]))
    name = "18 languages: mean test macro-F1 >= the yardstick's + 0.03"
    rows.append(at_least(name, default["test_macro_f1"], stick["test_macro_f1"], 0.03))
    name = "18 languages: out-of-source accuracy >= the yardstick's"
    rows.append(at_least(name, default["oos_accuracy"], stick["oos_accuracy"], names=results["many"]["oos_names"]))
    slowest = max(row["train_seconds"] for row in results["many"]["runs"]["default"])
    name = "`nameclf train --languages all` <= 5 min (slowest seed, one thread)"
    rows.append(target(name, f"{slowest:.0f} s", slowest <= 300, f"{slowest - 300:.0f} s"))
    median, theirs = statistics.median(r["train_seconds"] for r in runs), results["seed003"]["clean"]["train_seconds"]
    name = "German/Italian default trains in <= 15 s (median over seeds)"
    rows.append(target(name, f"{median:.1f} s", median <= 15, f"{median - 15:.1f} s"))
    name = "... and in <= 1/10 of the seed-003 procedure's time (same run)"
    figure = f"{median:.1f} s vs {theirs:.1f} s ({median / theirs:.2f})"
    rows.append(target(name, figure, median <= theirs / 10, f"{median - theirs / 10:.1f} s"))
    pooled = results["pair"]["calibration_pooled"]
    for label, before, after in (
        ("18 languages: mean over seeds", default["test_ece_before"], default["test_ece_after"]),
        ("German/Italian: pooled over seeds", pooled["before"]["ece"], pooled["after"]["ece"]),
    ):
        name = f"calibration: test ECE after <= 0.02 and lower than before ({label})"
        short = f"{max(after - 0.02, 0):.4f}" + ("" if after < before else "; not lower than before")
        rows.append(target(name, f"{after:.4f} (before {before:.4f})", after <= 0.02 and after < before, short))
    covered, size = default["test_coverage_0.9"], default["test_set_size_0.9"]
    name = "prediction sets: 18-language test coverage at --coverage 0.9 in [0.88, 0.95] (mean over seeds)"
    short = f"{max(0.88 - covered, covered - 0.95):.4f}"
    rows.append(target(name, f"{covered:.4f}, mean set size {size:.2f}", 0.88 <= covered <= 0.95, short))
    share = max(r["calibration_seconds"] / r["train_seconds"] for r in runs + results["many"]["runs"]["default"])
    name = "calibration adds <= 5% to training time (largest share over the default runs)"
    rows.append(target(name, f"{share:.3%}", share <= 0.05, f"{share - 0.05:.3%}"))
    return rows + first_speed_targets(results["speed"])


def first_speed_targets(speed: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for task in ("pair", "many"):
        ratio = speed[task]["names_per_second"] / speed[task]["names_per_second_uncalibrated"]
        name = f"calibration adds nothing measurable to prediction: names/s calibrated / at T = 1 >= 0.97 ({task})"
        rows.append(target(name, f"{ratio:.3f}", ratio >= 0.97, f"{0.97 - ratio:.3f}"))
    for task in ("pair", "many"):
        rate, cold = speed[task]["names_per_second"], speed[task]["cold_predict"]["median_seconds"]
        name = f"numpy predictor >= 20,000 names/s ({task} default)"
        rows.append(target(name, f"{rate:,.0f} names/s", rate >= 20_000, f"{20_000 - rate:,.0f} names/s"))
        name = f"cold `nameclf predict Tribbiani` <= 0.5 s ({task} default)"
        rows.append(target(name, f"{cold:.2f} s", cold <= 0.5, f"{cold - 0.5:.2f} s"))
    return rows


def add_targets(results: dict[str, Any]) -> None:
    results["targets"] = first_targets(results)
    results["issue20_targets"] = issue20_targets(results) + issue20_cost_targets(results)
    results["sources_targets"] = sources_targets(results)


# --- BENCHMARKS.md ------------------------------------------------------------------------------

WHY_SOURCES = """**Why the 18-language targets are missed, and what chose the defaults.** On this task the
tutorial's own validation names and names from other sources pull the regularisation apart: the trade-off tables
below show it for the yardstick's C, and the same held for nameclf's n-gram expert and its network. The defaults
were chosen on the mean of the two sources, with validation accuracy within 0.01 of the best seen as the guard,
and the guard is what binds: +0.02 over the C = 10 yardstick on each source would need a C near 3, which costs
about 0.02 of validation and of test accuracy (the study and its figures: [docs/studies.md](docs/studies.md),
"oos_defaults"). German/Italian sits near its ceiling, its default already beats the yardstick and its network
alone on both sources, and its defaults stay as they were."""

WHY_COMBINED = """Why the misses, where there are any ([docs/model.md](docs/model.md) and
[docs/trust.md](docs/trust.md); the study,
[docs/studies.md](docs/studies.md), "experts"). 18-language accuracy and macro-F1: even the n-gram expert that
added most (1-5-grams, all 70,000 kept: +0.0082 accuracy and +0.0261 macro-F1 over the yardstick) falls short of
+0.01 and +0.03, and it makes a 5 MB model; the default keeps the 18,000 1-4-grams seen in two or more training
names, so the shipped `all` model stays under 3 MB. Calibration: ECE on 140 or 1,744 names with 15 bins moves by
about 0.01 from split to split, the size of the miss. Speed: the 18-language network (a bidirectional GRU of 128)
is most of the time a distinct name takes; repeated names are answered once, so a list with repeats goes faster.
Timings on this shared machine vary by about 30% from run to run."""

WHY_FIRST = """Why the misses: [docs/benchmarks.md](docs/benchmarks.md),
"Defaults and what they give". In short, on German/Italian the RNN and the
yardstick are level on the tutorial's own test names (the gap is under one name per split, in the spread between
splits) and the RNN leads on other sources; on 18 languages a well-regularised n-gram model is ahead of an RNN of
a size that trains in two minutes and answers fast; the wider networks that close part of the gap answer several
times slower ([docs/studies.md](docs/studies.md), "levers"). Timings on this shared machine vary by about 30% from
run to run."""


def table(rows: list[dict[str, Any]]) -> list[str]:
    return ["| target | measured | met | short by |", "|---|---|---|---|"] + [
        f"| {row['target']} | {row['figure']} | {'yes' if row['met'] else '**no**'} | {row['short_by']} |"
        for row in rows
    ]


def targets_lines(results: dict[str, Any], command: str) -> list[str]:
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
    return lines + [
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
        WHY_SOURCES,
        "",
        *sources_lines(results),
        "",
        "## Targets: the network and the n-gram model combined, and the unfamiliar-name flag",
        "",
        *table(results["issue20_targets"]),
        "",
        WHY_COMBINED,
        "",
        *weights_lines(results),
        "",
        "## Targets: accuracy against the yardstick, training time and calibration",
        "",
        *table(results["targets"]),
        "",
        WHY_FIRST,
    ]


def sources_lines(results: dict[str, Any]) -> list[str]:
    """Per task, validation, test, Faker and mimesis for nameclf, its experts alone and the yardstick,
    and the trade-off along the yardstick's C; then the 18 languages out of source, one by one."""
    lines: list[str] = []
    header = "| {} | validation accuracy | test accuracy | test macro-F1 | Faker accuracy | mimesis accuracy |"
    for task, default in (("pair", "lstm"), ("many", "default")):
        result = results[task]
        title = "German/Italian" if task == "pair" else "18 languages"
        lines += [
            f"### {title}: {len(result['runs'][default])} seeds; {result['oos_names']:,} Faker and "
            f"{result['mimesis_names']:,} mimesis surnames",
            "",
            header.format("model"),
            "|---|---|---|---|---|---|",
        ]
        for name in (default, "rnn alone", "ngram alone", "yardstick", "yardstick, C chosen"):
            runs = result["runs"][name]
            label = LABELS[name] + (f" (C = {result['yardstick_chosen_c']:g})" if name == "yardstick, C chosen" else "")
            lines.append(f"| {label} | " + " | ".join(fmt(runs, key) for key in SOURCE_FIGURES) + " |")
        lines += [
            "",
            f"The trade-off along the yardstick's C ({title}, means over seeds): the tutorial's own validation "
            "names reward a weakly regularised fit of its spellings, other sources a strongly regularised one.",
            "",
            header.format("C"),
            "|---|---|---|---|---|---|",
        ]
        for c, figures in result["yardstick_grid"].items():
            lines.append(f"| {float(c):g} | " + " | ".join(f"{figures[key]:.4f}" for key in SOURCE_FIGURES) + " |")
        lines.append("")
    return lines + per_language_lines(results["many"]["runs"]["default"])


def per_language_lines(default: list[dict]) -> list[str]:
    lines = [
        "### 18 languages out of source, language by language (the default, mean over seeds; "
        "what the wrong answers were most often, on the first seed)",
        "",
        "| language | Faker names | Faker accuracy | taken for | mimesis names | mimesis accuracy | taken for |",
        "|---|---|---|---|---|---|---|",
    ]
    for language in default[0].get("oos_per_language", {}) | default[0].get("mimesis_per_language", {}):
        cells = []
        for part in ("oos", "mimesis"):
            found = [row[f"{part}_per_language"].get(language) for row in default]
            if found[0] is None:
                cells += ["-", "-", "-"]
                continue
            taken = found[0]["taken_for"]
            cells += [
                f"{found[0]['names']:,}",
                f"{statistics.fmean(f['accuracy'] for f in found):.3f}",
                f"{taken} ({found[0]['taken_for_share']:.0%})" if taken else "-",
            ]
        lines.append(f"| {language} | " + " | ".join(cells) + " |")
    return lines


def weights_lines(results: dict[str, Any]) -> list[str]:
    """The combination's weight on the network, as each seed's training chose it."""
    lines = []
    for title, task, default in (("German/Italian", "pair", "lstm"), ("18 languages", "many", "default")):
        w = [row["weight"] for row in results[task]["runs"][default]]
        text = f"the weight on the network, chosen by each seed's training, {min(w):g}-{max(w):g}"
        lines.append(f"{title}: {text} (mean {statistics.fmean(w):.2f}).")
    return [" ".join(lines)]


def seconds_and_parameters(rows: list[dict]) -> tuple[float, str]:
    seconds = statistics.median(r.get("train_seconds", r.get("fit_seconds", 0)) for r in rows)
    return seconds, f"{rows[0]['parameters']:,}" if rows[0].get("parameters") else "-"


def pair_lines(pair: dict[str, Any]) -> list[str]:
    lines = [
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
        versus = ["-", "-"]
        if not name.startswith("yardstick"):
            for i, key in enumerate(("test_accuracy", "oos_accuracy")):
                p = common.paired([r[key] for r in rows], [r[key] for r in base])
                versus[i] = f"{p['mean_difference']:+.4f}, {p['wins']}/{p['losses']}/{p['ties']}"
        seconds, parameters = seconds_and_parameters(rows)
        lines.append(
            f"| {LABELS.get(name, name)} | {fmt(rows, 'validation_accuracy')} | {fmt(rows, 'test_accuracy')} | "
            f"{versus[0]} | {fmt(rows, 'oos_accuracy')} | {versus[1]} | {seconds:.1f} | {parameters} |"
        )
    return lines


def seed003_lines(seed: dict[str, Any]) -> list[str]:
    lines = [
        "## The original German/Italian procedure, replicated",
        "",
        f"`benchmarks/seed003.py`, seed 0, {seed['epochs']} epochs: its fixed-length RNN trained as the "
        "procedure says, on its own split (duplicates kept, so test names also occur in training, and the "
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
    return lines


def many_lines(many: dict[str, Any]) -> list[str]:
    lines = [
        f"## All 18 languages, seeds {many['seeds'][0]}-{many['seeds'][-1]}",
        "",
        f"A multi-label name counts as right in any of its languages. Out-of-source: {many['oos_names']} Faker "
        "surnames from the locales mapped in `benchmarks/oos.py`.",
        "",
        "| model | validation acc | validation macro-F1 | test acc | test macro-F1 | out-of-source acc "
        "| oos macro-F1 | train s | parameters |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    keys = [f"{part}_{figure}" for part in ("validation", "test", "oos") for figure in ("accuracy", "macro_f1")]
    for name, rows in many["runs"].items():
        seconds, parameters = seconds_and_parameters(rows)
        figures = " | ".join(fmt(rows, key) for key in keys)
        lines.append(f"| {LABELS.get(name, name)} | {figures} | {seconds:.1f} | {parameters} |")
    return lines


def trust_lines(pair: dict[str, Any], many: dict[str, Any]) -> list[str]:
    """The unfamiliar-name flag, calibration and prediction sets."""
    lines = [
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
    defaults = (("German/Italian", pair, pair["runs"]["lstm"]), ("18 languages", many, many["runs"]["default"]))
    for title, _, rows in defaults:
        figures = [row["unfamiliar"] for row in rows]
        auroc, own, others = (mean(figures, key) for key in ("auroc", "own_flagged", "others_flagged"))
        lines.append(f"| {title} default | {auroc:.4f} | {own:.1%} | {others:.1%} | {figures[0]['others']:,} |")
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
    for title, task, rows in defaults:
        pooled = task["calibration_pooled"]
        if task is pair:
            ece, nll = (f"{pooled['before'][k]:.4f} → {pooled['after'][k]:.4f}" for k in ("ece", "nll"))
        else:
            ece, nll = (f"{fmt(rows, f'test_{k}_before')} → {fmt(rows, f'test_{k}_after')}" for k in ("ece", "nll"))
        sets = [
            f"{mean(rows, f'test_coverage_{c}'):.4f} ({mean(rows, f'test_set_size_{c}'):.2f})" for c in common.COVERAGES
        ]
        share = max(row["calibration_seconds"] / row["train_seconds"] for row in rows)
        cells = [f"{pooled['names']:,}", ece, nll, f"{mean(rows, 'temperature'):.2f}", *sets, f"{share:.3%}"]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def speed_lines(speed: dict[str, Any]) -> list[str]:
    lines = [
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
    return lines


def markdown(results: dict[str, Any], command: str) -> str:
    pair, many = results["pair"], results["many"]
    sections = [
        targets_lines(results, command),
        pair_lines(pair),
        seed003_lines(results["seed003"]),
        many_lines(many),
        trust_lines(pair, many),
        speed_lines(results["speed"]),
        [f"Raw figures: `benchmarks/results/results{'-quick' if results['quick'] else ''}.json`."],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def save(results: dict[str, Any]) -> None:
    common.write_json(ROOT / "benchmarks" / "results" / f"results{'-quick' if results['quick'] else ''}.json", results)


def write(results: dict[str, Any], command: str) -> None:
    suffix = "-quick" if results["quick"] else ""
    save(results)
    text = markdown(results, command) + f"The whole run took {results['bench_seconds'] / 60:.1f} min.\n"
    (ROOT / f"BENCHMARKS{suffix}.md").write_text(text)
    common.say(f"wrote BENCHMARKS{suffix}.md and benchmarks/results/results{suffix}.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, few epochs: checks the pipeline")
    parser.add_argument(
        "--from-results", type=Path, help="re-render BENCHMARKS.md from a results.json, training nothing"
    )
    args = parser.parse_args()
    if args.from_results is not None:
        results = json.loads(args.from_results.read_text())
        add_targets(results)
        write(results, "make bench-quick" if results["quick"] else "make bench")
        return
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()
    keep = Path(tempfile.mkdtemp(prefix="nameclf-bench-models-"))
    try:
        import torch

        results: dict[str, Any] = {"quick": args.quick, "machine": common.machine(torch=torch.__version__)}
        pair = runs_of({cell: {"cell": cell} for cell in CELLS}, settings["options"])
        results["pair"] = task(PAIR, settings["pair_seeds"], pair, keep / "pair", common.other_language_names())
        results["seed003"] = seed003_task(settings)
        many = runs_of({"default": {}}, settings["many_options"])
        results["many"] = task(MANY, settings["many_seeds"], many, keep / "many", common.foreign_names())
        results["speed"] = speed_task(keep, args.quick)
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    save(results)  # the raw figures first, so that a fault in the tables can be mended with --from-results
    add_targets(results)
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    write(results, "make bench-quick" if args.quick else "make bench")


if __name__ == "__main__":
    main()
