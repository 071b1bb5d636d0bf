"""Issue 20's measurements: the character n-gram expert, its combination with the RNN, and the
unfamiliar-name score; writes benchmarks/results/experts.json.

Everything is chosen on validation names (and, for the combination weight of German/Italian, on
out-of-fold predictions over train + validation); test and out-of-source figures are reported only.

1. The n-gram expert (nameclf/ngram.py) alone over a grid of analyzer, n-gram range and C, on the
   same splits as the RNN; the setting with the best mean validation figure over the seeds wins
   (German/Italian: accuracy, ties to the lower NLL; 18 languages: macro-F1, as the yardstick).
2. The RNN at the task's defaults (one thread), and a smaller one (hidden 32 for German/Italian,
   64 for 18 languages); its uncalibrated probabilities on validation, test, out-of-source and
   foreign names.
3a. The n-gram partner: of every (grid setting, w), the lowest mean validation NLL of the combination
   over the seeds (the expert best alone by accuracy or macro-F1 need not be the best partner).
3b. The combination p ∝ p_rnn^w · p_ngram^(1−w), w on a grid of 0.1, chosen per split by each of:
   validation accuracy (macro-F1 for 18 languages), validation NLL after a temperature fitted on
   the same names, out-of-fold NLL and accuracy over train + validation (German/Italian only: a
   5-fold RNN and n-gram fit per split, the folds of `fitting.member_folds`), and fixed weights
   (0.3, 0.5 and the partner step's pooled w).
4. Unfamiliar names (nameclf/novelty.py): a Kneser-Ney character LM of the training names, orders 3-6
   (the order chosen by validation NLL), alone and plus λ · (−log max p) of the combination;
   conformal p-values from the validation names (and, for the LM alone, from 5-fold out-of-fold
   scores over train + validation); AUROC and the share flagged at 0.05 of the model's
   own test names and of names from elsewhere: German/Italian against the other 16 languages'
   names, 18 languages against Faker's Turkish, Finnish, Hungarian, Swedish and Romanian surnames.
5. Speed: the numpy n-gram expert, the LM and the numpy RNN (default and smaller), names per
   second, one core.

The n-gram yardstick (benchmarks/yardstick.py) is fitted afresh for German/Italian; for 18
languages its per-seed rows are read from benchmarks/results/results.json (the last `make bench`,
same splits) unless --fresh-yardstick, because refitting it costs about 3 minutes.

Expensive pieces (RNN outputs, n-gram fits) are cached under --cache, so a rerun only redoes what
changed; delete the folder to measure from scratch.

    .venv/bin/python benchmarks/experts.py                 # the full run, about 25 min on 2 cores
    .venv/bin/python benchmarks/experts.py --quick         # the pipeline in a few minutes (figures not to quote)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import numpy as np  # noqa: E402
import oos  # noqa: E402

from nameclf import calibration, ngram, novelty  # noqa: E402
from nameclf.data import Example, load_dataset, normalise  # noqa: E402
from nameclf.metrics import score  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAIR, MANY = common.TASKS["pair"], common.TASKS["many"]
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))  # w on the RNN
FIXED_WEIGHTS = (0.3, 0.5)
ALPHA = 0.05
LM_ORDERS = (3, 4, 5, 6)
CROSS_FITTED = "lm, cross-fitted calibration"
CONFIDENCE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
FOREIGN_LOCALES = {
    "Turkish": "tr_TR",
    "Finnish": "fi_FI",
    "Hungarian": "hu_HU",
    "Swedish": "sv_SE",
    "Romanian": "ro_RO",
}
OOF_FOLDS = 5
SMALL_HIDDEN = {True: 32, False: 64}  # a smaller network beside the default (64 for two languages, 128 for more)

# (analyzer, ngram_range, C). German/Italian: the whole grid (each fit well under a second).
PAIR_GRID = [(a, r, c) for a in ("char", "char_wb") for r in ((1, 3), (1, 4), (1, 5)) for c in (0.3, 1, 3, 10, 30)]
# 18 languages: each fit takes 10-30 s here, so the grid is cut: C around the yardstick's choices
# (300-1000) at char 1-4, the other analyzer and ranges at two values of C.
MANY_GRID = [
    *[("char", (1, 4), c) for c in (30, 100, 300, 1000)],
    *[("char_wb", (1, 4), c) for c in (100, 300)],
    *[("char", (1, 3), c) for c in (100, 300)],
    *[("char", (1, 5), c) for c in (100, 300)],
]

FULL = dict(pair_seeds=list(range(10)), many_seeds=[0, 1, 2], options={}, many_options={}, oof=True)
QUICK = dict(
    pair_seeds=[0, 1], many_seeds=[0], options=dict(epochs=2), many_options=dict(epochs=1), oof=True, quick=True
)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the names each figure is on ----------------------------------------------------------------


@functools.cache
def other_language_names() -> tuple[Example, ...]:
    """Every dataset name of the 16 languages that are not German or Italian, none of which is also
    a German or Italian name: what the German/Italian model never learnt."""
    everyone = load_dataset(common.NAMES_DIR, "all")
    return tuple(e for e in everyone.examples if not {"German", "Italian"} & set(e.labels))


@functools.cache
def foreign_names(fold: bool) -> tuple[Example, ...]:
    """Faker's surnames of five languages outside the 18, in Latin letters (diacritics folded away
    when `fold`), minus every dataset name (compared case-insensitively)."""
    seen = {name.casefold() for name in oos.corpus_names(common.NAMES_DIR)}
    convention = oos.Convention(ascii_letters_only=fold)
    examples: dict[str, Example] = {}
    for language, locale in FOREIGN_LOCALES.items():
        for raw in oos.source_names(oos.Source(locale)):
            name = oos.clean(raw, convention)
            if name is not None and name.casefold() not in seen and name.casefold() not in examples:
                examples[name.casefold()] = Example(name, (language,))
    return tuple(sorted(examples.values(), key=lambda e: (e.labels[0], e.name)))


def parts_of(languages: str, seed: int) -> dict[str, list[Example]]:
    split = common.split(languages, seed)
    parts = {"train": split.train, "validation": split.validation, "test": split.test}
    parts["oos"] = list(common.out_of_source(languages))
    if languages == PAIR:
        parts["others"] = list(other_language_names())
    else:
        parts["foreign"], parts["foreign_ascii"] = list(foreign_names(False)), list(foreign_names(True))
    return parts


SCORED = ("validation", "test", "oos", "others", "foreign", "foreign_ascii")


# --- a cache of the expensive pieces ------------------------------------------------------------


class Cache:
    """Arrays in .npz (no pickle) and figures in .json, under a key made of what they depend on."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str, suffix: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return self.folder / f"{digest}{suffix}"

    def get(self, key: str, compute: Callable[[], tuple[dict[str, np.ndarray], dict[str, Any]]]):
        arrays_path, meta_path = self.path(key, ".npz"), self.path(key, ".json")
        if arrays_path.exists() and meta_path.exists():
            with np.load(arrays_path, allow_pickle=False) as loaded:
                arrays = {name: loaded[name] for name in loaded.files}
            return arrays, json.loads(meta_path.read_text())
        arrays, meta = compute()
        np.savez(arrays_path, **arrays)
        meta_path.write_text(json.dumps({**meta, "key": key}))
        return arrays, meta


# --- figures ------------------------------------------------------------------------------------


def log_softmax(scores: np.ndarray) -> np.ndarray:
    scores = scores - scores.max(axis=1, keepdims=True)
    return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))


def combined(log_rnn: np.ndarray, log_ngram: np.ndarray, w: float) -> np.ndarray:
    return log_softmax(w * log_rnn + (1.0 - w) * log_ngram)


def truth(labels: Sequence[str], examples: Sequence[Example]) -> np.ndarray:
    return calibration.truth_matrix([e.labels for e in examples], labels)


def classification(labels: Sequence[str], examples: Sequence[Example], log_p: np.ndarray) -> dict[str, float]:
    report = score(labels, [e.labels for e in examples], [labels[i] for i in log_p.argmax(1)], "")
    return {"accuracy": report.accuracy, "macro_f1": report.macro_f1}


def nll_after_temperature(log_p: np.ndarray, truths: np.ndarray) -> float:
    temperature = calibration.fit_temperature(log_p, truths)
    return calibration.negative_log_likelihood(calibration.scaled(log_p, temperature), truths)


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values)


def summary(values: Sequence[float]) -> dict[str, float]:
    mean_value, spread = common.mean_spread(list(values))
    return {"mean": mean_value, "spread": spread}


def paired_rows(ours: Sequence[float], theirs: Sequence[float]) -> dict[str, float | int]:
    return common.paired(list(ours), list(theirs))


# --- the experts' outputs -----------------------------------------------------------------------


def encode_all(predictor, examples: Sequence[Example]) -> list[np.ndarray]:
    return [predictor.vocabulary.encode(normalise(e.name)) for e in examples]


def rnn_outputs(
    cache: Cache,
    languages: str,
    seed: int,
    options: dict[str, Any],
    parts: Callable[[str, int], dict[str, list[Example]]] | None = None,
    scored: Sequence[str] = SCORED,
):
    """The RNN trained at the task's defaults plus `options` on the seed's split (one thread): its
    uncalibrated log-probabilities on every `scored` part of `parts(languages, seed)` (this module's
    `parts_of` by default), and how it trained."""
    parts = parts if parts is not None else parts_of
    tag = "" if parts is parts_of else f"|{parts.__module__}.{parts.__name__}|{','.join(scored)}"
    key = f"rnn|{languages}|{seed}|{json.dumps(options, sort_keys=True)}{tag}"

    def compute():
        from nameclf.predict import Predictor
        from nameclf.training import TrainConfig, train

        say(f"  training the RNN: {languages}, seed {seed}, {options or 'defaults'}")
        with tempfile.TemporaryDirectory(prefix="nameclf-experts-") as scratch:
            out = Path(scratch) / "model"
            started = time.perf_counter()
            result = train(
                TrainConfig(languages=languages, seed=seed, threads=1, **options),
                common.DATA_DIR,
                out,
                mark_latest=False,
            )
            seconds = time.perf_counter() - started
            predictor = Predictor.load(out)
            arrays = {
                part: predictor.log_probabilities(encode_all(predictor, examples), calibrated=False).astype(np.float64)
                for part, examples in parts(languages, seed).items()
                if part in scored
            }
        meta = {
            "train_seconds": round(seconds, 2),
            "parameters": result.config["parameters"],
            "hidden": result.config["network"]["hidden"],
            "best_epoch": result.config["training"]["best_epoch"],
            "temperature": result.config["calibration"]["temperature"],
        }
        return arrays, meta

    return cache.get(key, compute)


def rnn_out_of_fold(cache: Cache, languages: str, seed: int, options: dict[str, Any], folds: int):
    """A k-fold RNN over train + validation (`TrainConfig(members=k)`, the folds of
    `fitting.member_folds`): each name's log-probabilities from the member that never trained on it."""
    key = f"rnn-oof|{languages}|{seed}|{folds}|{json.dumps(options, sort_keys=True)}"

    def compute():
        from nameclf.reporting import Reporter
        from nameclf.training import TrainConfig, fit_members, set_up

        say(f"  out-of-fold RNN: {languages}, seed {seed}, {folds} folds, {options or 'defaults'}")
        started = time.perf_counter()
        setup = set_up(
            TrainConfig(languages=languages, seed=seed, threads=1, members=folds, **options),
            common.DATA_DIR,
            None,
            mark_latest=False,
            save=False,
        )
        fitted = fit_members(setup, Reporter())
        names = [e.name for member in fitted for e in member.validation.examples]
        probabilities = np.concatenate([member.validation_probabilities for member in fitted]).astype(np.float64)
        log_p = np.log(np.maximum(probabilities, calibration.SMALLEST))
        return {"log_p": log_p}, {"names": names, "seconds": round(time.perf_counter() - started, 2)}

    return cache.get(key, compute)


def ngram_expert(cache: Cache, languages: str, seed: int, setting: tuple, train: Sequence[Example], tag: str = ""):
    """The n-gram expert of `setting` = (analyzer, ngram_range, C) fitted on `train` (cached as its arrays)."""
    analyzer, ngram_range, C = setting
    key = f"ngram|{languages}|{seed}|{analyzer}|{ngram_range}|{C}|{tag}|{len(train)}"
    labels = common.dataset(languages).languages

    def compute():
        started = time.perf_counter()
        expert = ngram.fit_ngram(
            [e.name for e in train],
            [e.labels for e in train],
            labels,
            ngram.NgramSettings(analyzer=analyzer, ngram_range=tuple(ngram_range)),
            C=C,
        )
        return expert.to_arrays(), {**expert.to_config(), "fit_seconds": round(time.perf_counter() - started, 3)}

    arrays, meta = cache.get(key, compute)
    return ngram.NgramExpert.from_arrays(meta, arrays), meta["fit_seconds"]


def setting_name(setting: tuple) -> str:
    analyzer, (low, high), C = setting
    return f"{analyzer} {low}-{high} C={C:g}"


# --- 1. the n-gram expert alone -----------------------------------------------------------------


def ngram_grid(cache: Cache, languages: str, seeds: Sequence[int], grid: Sequence[tuple], metric: str):
    """Every setting on every seed's validation, test and out-of-source names; the winner by mean
    validation `metric` over the seeds (ties: the lower validation NLL after a temperature)."""
    labels = common.dataset(languages).languages
    rows = []
    for setting in grid:
        per_seed = []
        for seed in seeds:
            parts = parts_of(languages, seed)
            expert, seconds = ngram_expert(cache, languages, seed, setting, parts["train"])
            row: dict[str, Any] = {"seed": seed, "fit_seconds": seconds, "features": len(expert.vocabulary)}
            for part in ("validation", "test", "oos"):
                log_p = expert.log_probabilities([e.name for e in parts[part]])
                for name, value in classification(labels, parts[part], log_p).items():
                    row[f"{part}_{name}"] = value
                if part == "validation":
                    row["validation_nll"] = nll_after_temperature(log_p, truth(labels, parts[part]))
            per_seed.append(row)
        means = {key: mean([r[key] for r in per_seed]) for key in per_seed[0] if key != "seed"}
        analyzer, ngram_range, C = setting
        rows.append(
            {"setting": setting_name(setting), "analyzer": analyzer, "ngram_range": list(ngram_range), "C": C}
            | {"mean": means, "seeds": per_seed}
        )
        say(
            f"  n-gram {setting_name(setting):22s} val acc {means['validation_accuracy']:.4f} "
            f"F1 {means['validation_macro_f1']:.4f} NLL {means['validation_nll']:.4f} | "
            f"test {means['test_accuracy']:.4f} oos {means['oos_accuracy']:.4f} ({means['fit_seconds']:.1f} s)"
        )
    best = max(
        range(len(rows)), key=lambda i: (rows[i]["mean"][f"validation_{metric}"], -rows[i]["mean"]["validation_nll"])
    )
    return rows, grid[best]


# --- 3. the combination and its weight ----------------------------------------------------------


def choose_weight(log_rnn: np.ndarray, log_ngram: np.ndarray, labels, examples, by: str) -> float:
    """The w of WEIGHTS with the best figure on these names: "accuracy" or "macro_f1" (ties: the
    lower NLL after a temperature), or "nll" (after a temperature fitted on the same names)."""
    truths = truth(labels, examples)
    keys = []
    for w in WEIGHTS:
        log_p = combined(log_rnn, log_ngram, w)
        nll = nll_after_temperature(log_p, truths)
        keys.append(-nll if by == "nll" else (classification(labels, examples, log_p)[by], -nll))
    return WEIGHTS[max(range(len(WEIGHTS)), key=lambda i: keys[i])]


def out_of_fold_ngram(cache: Cache, languages: str, seed: int, setting: tuple, names: Sequence[str], folds: int):
    """The n-gram expert's out-of-fold log-probabilities over train + validation, on the RNN's folds,
    rows in the order of `names`."""
    from nameclf.fitting import member_folds

    split = common.split(languages, seed)
    result: dict[str, np.ndarray] = {}
    for index, (training, held) in enumerate(member_folds(split.train + split.validation, folds, seed)):
        expert, _ = ngram_expert(cache, languages, seed, setting, training, tag=f"fold{index}of{folds}")
        for example, row in zip(held, expert.log_probabilities([e.name for e in held])):
            result[example.name] = row
    return np.stack([result[name] for name in names])


def partner(cache: Cache, languages: str, seeds: Sequence[int], grid: Sequence[tuple], rnn_options: dict[str, Any]):
    """The n-gram setting to combine with the RNN: of every (setting, w), the lowest mean validation
    NLL of the combination after a temperature, over the seeds. (The n-gram expert that is best alone
    need not be the best partner: on 18 languages the one best alone by macro-F1 is the most
    over-fitted, C = 1000.) Every pair's figures are recorded; only validation NLL chooses."""
    labels = common.dataset(languages).languages
    table: dict[str, dict[str, dict[str, float]]] = {}
    best: tuple[float, tuple, float] | None = None
    for setting in grid:
        figures: dict[float, dict[str, list[float]]] = {w: {} for w in WEIGHTS}
        for seed in seeds:
            parts = parts_of(languages, seed)
            rnn, _ = rnn_outputs(cache, languages, seed, rnn_options)
            expert, _ = ngram_expert(cache, languages, seed, setting, parts["train"])
            ng = {
                part: expert.log_probabilities([e.name for e in parts[part]]) for part in ("validation", "test", "oos")
            }
            truths = truth(labels, parts["validation"])
            for w in WEIGHTS:
                log_p = {part: combined(rnn[part], ng[part], w) for part in ng}
                figures[w].setdefault("validation_nll", []).append(nll_after_temperature(log_p["validation"], truths))
                for part in ng:
                    for figure, value in classification(labels, parts[part], log_p[part]).items():
                        figures[w].setdefault(f"{part}_{figure}", []).append(value)
        table[setting_name(setting)] = {str(w): {k: mean(v) for k, v in f.items()} for w, f in figures.items()}
        nll_by_w = {w: mean(f["validation_nll"]) for w, f in figures.items()}
        for w, nll in nll_by_w.items():
            if best is None or nll < best[0]:
                best = (nll, setting, w)
        w_best = min(nll_by_w, key=nll_by_w.get)
        say(f"  partner {setting_name(setting):22s} best w by validation NLL: {w_best:g} ({nll_by_w[w_best]:.4f})")
    assert best is not None
    result = {"chosen": setting_name(best[1]), "pooled_w": best[2], "validation_nll": best[0], "table": table}
    return result, best[1], best[2]


def combination(
    cache: Cache,
    languages: str,
    seeds: Sequence[int],
    setting: tuple,
    rnn_options: dict[str, Any],
    metric: str,
    oof: bool,
    alone: tuple | None = None,
    pooled_w: float | None = None,
) -> dict[str, Any]:
    """RNN alone, n-gram alone (setting `alone`, else `setting`) and the combination with the n-gram
    expert of `setting` under every weight procedure, per seed. `pooled_w`: the weight `partner`
    chose on all seeds' validation names together, as one more fixed procedure."""
    labels = common.dataset(languages).languages
    procedures = [f"validation {metric}", "validation NLL"]
    procedures += ["out-of-fold NLL", "out-of-fold accuracy"] if oof else []
    fixed = sorted({*FIXED_WEIGHTS, *([pooled_w] if pooled_w is not None else [])})
    procedures += [f"fixed {w:g}" for w in fixed]
    rows: dict[str, list[dict[str, Any]]] = {"rnn": [], "ngram": [], **{p: [] for p in procedures}}
    curve: dict[float, dict[str, list[float]]] = {w: {} for w in WEIGHTS}
    for seed in seeds:
        parts = parts_of(languages, seed)
        rnn, rnn_meta = rnn_outputs(cache, languages, seed, rnn_options)
        expert, _ = ngram_expert(cache, languages, seed, setting, parts["train"])
        ng = {part: expert.log_probabilities([e.name for e in parts[part]]) for part in ("validation", "test", "oos")}
        if alone is not None and alone != setting:
            alone_expert, _ = ngram_expert(cache, languages, seed, alone, parts["train"])
            ng_alone = {part: alone_expert.log_probabilities([e.name for e in parts[part]]) for part in ng}
        else:
            ng_alone = ng
        weights: dict[str, float] = {
            f"validation {metric}": choose_weight(
                rnn["validation"], ng["validation"], labels, parts["validation"], metric
            ),
            "validation NLL": choose_weight(rnn["validation"], ng["validation"], labels, parts["validation"], "nll"),
            **{f"fixed {w:g}": w for w in fixed},
        }
        if oof:
            oof_arrays, oof_meta = rnn_out_of_fold(cache, languages, seed, rnn_options, OOF_FOLDS)
            pool = {e.name: e for e in parts["train"] + parts["validation"]}
            examples = [pool[name] for name in oof_meta["names"]]
            ng_oof = out_of_fold_ngram(cache, languages, seed, setting, oof_meta["names"], OOF_FOLDS)
            weights["out-of-fold NLL"] = choose_weight(oof_arrays["log_p"], ng_oof, labels, examples, "nll")
            weights["out-of-fold accuracy"] = choose_weight(oof_arrays["log_p"], ng_oof, labels, examples, "accuracy")
        for name, w in [("rnn", 1.0), ("ngram", 0.0), *weights.items()]:
            row: dict[str, Any] = {"seed": seed, "w": w}
            ngram_part = ng_alone if name == "ngram" else ng
            for part in ("validation", "test", "oos"):
                log_p = combined(rnn[part], ngram_part[part], w)
                for figure, value in classification(labels, parts[part], log_p).items():
                    row[f"{part}_{figure}"] = value
            if name == "rnn":
                row.update(rnn_meta)
            rows[name].append(row)
        for w in WEIGHTS:
            for part in ("validation", "test", "oos"):
                figures = classification(labels, parts[part], combined(rnn[part], ng[part], w))
                for figure, value in figures.items():
                    curve[w].setdefault(f"{part}_{figure}", []).append(value)
        say(
            f"  seed {seed}: w "
            + ", ".join(f"{p} {w:g}" for p, w in weights.items())
            + f" | rnn test {rows['rnn'][-1]['test_accuracy']:.4f} oos {rows['rnn'][-1]['oos_accuracy']:.4f}"
        )
    return {
        "procedures": procedures,
        "runs": rows,
        "weight_curve": {str(w): {k: mean(v) for k, v in figures.items()} for w, figures in curve.items()},
    }


FIGURES = ("w", "validation_accuracy", "validation_macro_f1", "test_accuracy", "test_macro_f1", "oos_accuracy")


def compared(
    result: dict[str, Any], yardstick: list[dict[str, Any]], default_rnn: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Mean figures of every row kind, and paired wins/losses against the yardstick, the RNN alone and
    the n-gram alone (and `default_rnn`, the default network alone, for a smaller network's rows)."""
    table = {}
    for name, rows in result["runs"].items():
        entry: dict[str, Any] = {key: summary([r[key] for r in rows]) for key in FIGURES}
        for figure in ("test_accuracy", "test_macro_f1", "oos_accuracy"):
            entry[f"{figure} vs yardstick"] = paired_rows([r[figure] for r in rows], [y[figure] for y in yardstick])
            for other in ("rnn", "ngram"):
                if other != name:
                    entry[f"{figure} vs {other}"] = paired_rows(
                        [r[figure] for r in rows], [r[figure] for r in result["runs"][other]]
                    )
            if default_rnn is not None:
                entry[f"{figure} vs default rnn"] = paired_rows(
                    [r[figure] for r in rows], [r[figure] for r in default_rnn]
                )
        table[name] = entry
    table["yardstick"] = {
        key: summary([y[key] for y in yardstick]) for key in ("test_accuracy", "test_macro_f1", "oos_accuracy")
    }
    table["yardstick"]["C"] = [y["C"] for y in yardstick]
    return table


def yardstick_rows(languages: str, seeds: Sequence[int], metric: str, fresh: bool) -> tuple[list[dict], str]:
    if not fresh and languages != PAIR:
        saved = ROOT / "benchmarks" / "results" / "results.json"
        if saved.exists():
            task = "pair" if languages == PAIR else "many"
            runs = json.loads(saved.read_text()).get(task, {}).get("runs", {}).get("yardstick", [])
            by_seed = {row["seed"]: row for row in runs}
            if all(seed in by_seed for seed in seeds):
                source = "benchmarks/results/results.json (the last make bench, same splits)"
                return [by_seed[seed] for seed in seeds], source
    say(f"  fitting the yardstick: {languages}, seeds {list(seeds)}")
    return [common.yardstick_run(languages, seed, ("validation", "test", "oos")) for seed in seeds], "fitted here"


# --- 4. unfamiliar names ------------------------------------------------------------------------


def unfamiliar(
    cache: Cache,
    languages: str,
    seeds: Sequence[int],
    setting: tuple,
    rnn_options: dict[str, Any],
    weights: dict[int, float],
    outside: Sequence[str],
) -> dict[str, Any]:
    """The LM's order by validation NLL; then, per seed, novelty scores of the validation names (the
    conformal calibration set), the model's own test names and each `outside` part, for the LM alone,
    the LM plus λ · surprise of the combination (at weight `weights[seed]`, temperature fitted on
    validation), and the surprise alone."""
    from nameclf.fitting import member_folds

    labels = common.dataset(languages).languages
    order_rows = {}
    models: dict[tuple[int, int], novelty.CharLM] = {}
    for order in LM_ORDERS:
        nll, aurocs = [], {part: [] for part in outside}
        for seed in seeds:
            parts = parts_of(languages, seed)
            lm = novelty.fit_char_lm([e.name for e in parts["train"]], order=order)
            models[order, seed] = lm
            nll.append(float(lm.negative_log_likelihood([e.name for e in parts["validation"]]).mean()))
            own = lm.negative_log_likelihood([e.name for e in parts["test"]])
            for part in outside:
                aurocs[part].append(common.auroc(own, lm.negative_log_likelihood([e.name for e in parts[part]])))
        order_rows[order] = {
            "validation_nll_per_symbol": mean(nll),
            "grams": len(models[order, seeds[0]].grams),
            **{f"auroc {part}": mean(values) for part, values in aurocs.items()},
        }
        shown = ", ".join(f"AUROC {part} {mean(values):.4f}" for part, values in aurocs.items())
        say(f"  LM order {order}: validation NLL {mean(nll):.4f}, {shown}")
    best_nll = min(row["validation_nll_per_symbol"] for row in order_rows.values())
    order = min(o for o, row in order_rows.items() if row["validation_nll_per_symbol"] <= best_nll + 0.002)

    scores_kinds = [f"lm + {c:g} surprise" if c else "lm" for c in CONFIDENCE_WEIGHTS] + ["surprise"]
    per_kind: dict[str, dict[str, list]] = {kind: {} for kind in scores_kinds}
    for seed in seeds:
        parts = parts_of(languages, seed)
        lm = models[order, seed]
        rnn, _ = rnn_outputs(cache, languages, seed, rnn_options)
        expert, _ = ngram_expert(cache, languages, seed, setting, parts["train"])
        w = weights[seed]
        scored = ["validation", "test", *outside]
        log_p = {
            part: combined(rnn[part], expert.log_probabilities([e.name for e in parts[part]]), w) for part in scored
        }
        temperature = calibration.fit_temperature(log_p["validation"], truth(labels, parts["validation"]))
        surprise = {part: novelty.surprise(np.exp(calibration.scaled(log_p[part], temperature))) for part in scored}
        lm_scores = {part: lm.negative_log_likelihood([e.name for e in parts[part]]) for part in scored}
        for kind, c in [*zip(scores_kinds, CONFIDENCE_WEIGHTS), ("surprise", None)]:
            scores = {p: surprise[p] if c is None else lm_scores[p] + c * surprise[p] for p in scored}
            model = novelty.NoveltyModel(lm, scores["validation"], confidence_weight=0.0)
            flagged = {p: model.flagged(scores[p], ALPHA) for p in scored}
            figures = per_kind[kind]
            figures.setdefault("flagged test", []).append(float(flagged["test"].mean()))
            for part in outside:
                figures.setdefault(f"auroc {part}", []).append(common.auroc(scores["test"], scores[part]))
                figures.setdefault(f"flagged {part}", []).append(float(flagged[part].mean()))
                by_language: dict[str, list[bool]] = {}
                for example, flag in zip(parts[part], flagged[part]):
                    by_language.setdefault(example.labels[0], []).append(bool(flag))
                for language, flags in by_language.items():
                    figures.setdefault(f"flagged {part} {language}", []).append(float(np.mean(flags)))
        # the LM alone, fitted on train + validation, with p-values from 5-fold out-of-fold scores of
        # those names: ten times the held-out scores for German/Italian, at the price of the classifier's view
        figures = per_kind.setdefault(CROSS_FITTED, {})
        pool = parts["train"] + parts["validation"]
        held_out = [
            novelty.fit_char_lm([e.name for e in training], order=order).negative_log_likelihood([e.name for e in fold])
            for training, fold in member_folds(pool, OOF_FOLDS, seed)
        ]
        pooled_lm = novelty.fit_char_lm([e.name for e in pool], order=order)
        model = novelty.NoveltyModel(pooled_lm, np.concatenate(held_out))
        scores = {p: pooled_lm.negative_log_likelihood([e.name for e in parts[p]]) for p in ["test", *outside]}
        figures.setdefault("flagged test", []).append(float(model.flagged(scores["test"], ALPHA).mean()))
        for part in outside:
            figures.setdefault(f"auroc {part}", []).append(common.auroc(scores["test"], scores[part]))
            figures.setdefault(f"flagged {part}", []).append(float(model.flagged(scores[part], ALPHA).mean()))
    table = {kind: {key: mean(values) for key, values in figures.items()} for kind, figures in per_kind.items()}
    per_seed = {
        kind: {key: values for key, values in figures.items() if key == "flagged test" or key.startswith("auroc")}
        for kind, figures in per_kind.items()
    }
    for kind, figures in table.items():
        shown = [f"{p}: AUROC {figures[f'auroc {p}']:.4f} flagged {figures[f'flagged {p}']:.3f}" for p in outside]
        say(f"  {kind:18s} flagged test {figures['flagged test']:.3f} | " + ", ".join(shown))
    return {
        "orders": {str(o): row for o, row in order_rows.items()},
        "order": order,
        "alpha": ALPHA,
        "calibrated_on": "the split's validation names (the LM is fitted on the training names only)",
        "outside_names": {part: len(parts_of(languages, seeds[0])[part]) for part in outside},
        "scores": table,
        "per_seed": per_seed,
    }


# --- 5. speed -----------------------------------------------------------------------------------


def throughput(function: Callable[[list[str]], Any], names: list[str], repeats: int = 3) -> float:
    """Names per second, best of `repeats`."""
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        function(names)
        best = min(best, time.perf_counter() - started)
    return len(names) / best


def rnn_throughput(languages: str, hidden: int | None, names: list[str]) -> float | None:
    """The numpy RNN's names per second (`Predictor.probabilities`, calibrated, one thread) at the task's
    defaults and `hidden`: speed depends on the shapes only, so one epoch of training will do. None
    when the predictor cannot be loaded (it is being reworked beside this benchmark)."""
    from nameclf.predict import Predictor
    from nameclf.training import TrainConfig, train

    options = {"epochs": 1, **({"hidden": hidden} if hidden else {})}
    with tempfile.TemporaryDirectory(prefix="nameclf-experts-") as scratch:
        out = Path(scratch) / "model"
        train(TrainConfig(languages=languages, seed=0, threads=1, **options), common.DATA_DIR, out, mark_latest=False)
        try:
            predictor = Predictor.load(out)
        except Exception as error:  # noqa: BLE001 - a figure this benchmark can do without
            say(f"  (no RNN speed: {error})")
            return None
        return throughput(predictor.probabilities, names)


def speed(cache: Cache, languages: str, setting: tuple, order: int, count: int) -> dict[str, Any]:
    """Names per second, one core, best of 3, for each part a combined answer needs, and the
    combination's rate if they run one after another (1 / the sum of 1 / rate)."""
    from threadpoolctl import threadpool_limits

    parts = parts_of(languages, 0)
    expert, _ = ngram_expert(cache, languages, 0, setting, parts["train"])
    lm = novelty.fit_char_lm([e.name for e in parts["train"]], order=order)
    pool = [e.name for e in common.dataset(languages).examples]
    names = (pool * (count // len(pool) + 1))[:count]
    np.random.default_rng(0).shuffle(names)
    with threadpool_limits(1):
        rates: dict[str, Any] = {
            "names": count,
            "ngram_names_per_second": round(throughput(expert.probabilities, names)),
            "lm_names_per_second": round(throughput(lm.negative_log_likelihood, names)),
            "ngram_features": len(expert.vocabulary),
            "ngram_coef_bytes": int(expert.coef.nbytes),
            "lm_grams": len(lm.grams),
        }
        for hidden in (None, SMALL_HIDDEN[languages == PAIR]):
            label = "default" if hidden is None else f"hidden_{hidden}"
            rate = rnn_throughput(languages, hidden, names)
            rates[f"rnn_{label}_names_per_second"] = None if rate is None else round(rate)
            if rate is not None:
                parts_rates = (rate, rates["ngram_names_per_second"], rates["lm_names_per_second"])
                rates[f"all_three_{label}_names_per_second"] = round(1 / sum(1 / r for r in parts_rates))
    return rates


# --- the run ------------------------------------------------------------------------------------


def task_run(cache: Cache, languages: str, settings: dict, fresh_yardstick: bool) -> dict[str, Any]:
    pair = languages == PAIR
    seeds = settings["pair_seeds"] if pair else settings["many_seeds"]
    metric = "accuracy" if pair else "macro_f1"
    options = settings["options"] if pair else settings["many_options"]
    timings: dict[str, float] = {}
    started = time.perf_counter()
    say(f"{languages}: seeds {seeds}")
    yardstick, yardstick_source = yardstick_rows(languages, seeds, metric, fresh_yardstick)
    timings["yardstick"] = time.perf_counter() - started

    mark = time.perf_counter()
    grid = settings.get("pair_grid", PAIR_GRID) if pair else settings.get("many_grid", MANY_GRID)
    grid_rows, chosen = ngram_grid(cache, languages, seeds, grid, metric)
    timings["ngram grid"] = time.perf_counter() - mark
    say(f"  chosen n-gram setting: {setting_name(chosen)}")

    mark = time.perf_counter()
    partner_result, partner_setting, pooled_w = partner(cache, languages, seeds, grid, options)
    timings["partner"] = time.perf_counter() - mark
    say(f"  n-gram partner: {setting_name(partner_setting)}, pooled w {pooled_w:g}")

    mark = time.perf_counter()
    oof = pair and settings["oof"]
    default = combination(cache, languages, seeds, partner_setting, options, metric, oof, chosen, pooled_w)
    timings["combination"] = time.perf_counter() - mark
    result: dict[str, Any] = {
        "languages": languages,
        "seeds": seeds,
        "choice_metric": f"validation {metric}",
        "yardstick_source": yardstick_source,
        "yardstick": yardstick,
        "ngram_grid": grid_rows,
        "ngram_chosen": setting_name(chosen),
        "partner": partner_result,
        "combination": {**default, "table": compared(default, yardstick)},
    }
    mark = time.perf_counter()
    small_hidden = SMALL_HIDDEN[pair]
    small_options = {**options, "hidden": small_hidden}
    small = combination(cache, languages, seeds, partner_setting, small_options, metric, False, chosen, pooled_w)
    table = compared(small, yardstick, default["runs"]["rnn"])
    result[f"combination_hidden_{small_hidden}"] = {**small, "table": table}
    timings[f"hidden {small_hidden}"] = time.perf_counter() - mark

    mark = time.perf_counter()
    procedure = "validation NLL"
    weights = {row["seed"]: row["w"] for row in default["runs"][procedure]}
    outside = ("others", "oos") if pair else ("foreign", "foreign_ascii", "oos")
    result["unfamiliar"] = {
        "combination_weights_from": procedure,
        **unfamiliar(cache, languages, seeds, partner_setting, options, weights, outside),
    }
    timings["unfamiliar"] = time.perf_counter() - mark
    count = 20_000 if settings.get("quick") else 100_000
    result["speed"] = speed(cache, languages, partner_setting, result["unfamiliar"]["order"], count)
    result["seconds"] = {key: round(value, 1) for key, value in timings.items()}
    return result


def report(result: dict[str, Any]) -> str:
    lines = [
        f"## {result['languages']} (seeds {result['seeds']}): n-gram alone {result['ngram_chosen']}, "
        f"partner {result['partner']['chosen']} (pooled w {result['partner']['pooled_w']:g})"
    ]
    for title, key in (
        ("default RNN", "combination"),
        *((f"RNN hidden {h}", f"combination_hidden_{h}") for h in (32, 64)),
    ):
        if key not in result:
            continue
        table = result[key]["table"]
        lines.append(
            f"\n{title}: | rows | w | test acc | test F1 | oos acc | test acc vs yardstick | oos vs yardstick |"
        )
        for name, entry in table.items():
            if name == "yardstick":
                figures = [entry[key]["mean"] for key in ("test_accuracy", "test_macro_f1", "oos_accuracy")]
                lines.append("| yardstick | - | " + " | ".join(f"{value:.4f}" for value in figures) + " | - | - |")
                continue
            ty, oy = entry["test_accuracy vs yardstick"], entry["oos_accuracy vs yardstick"]
            lines.append(
                f"| {name} | {entry['w']['mean']:.2f} | {entry['test_accuracy']['mean']:.4f} "
                f"| {entry['test_macro_f1']['mean']:.4f} | {entry['oos_accuracy']['mean']:.4f} "
                f"| {ty['mean_difference']:+.4f} {ty['wins']}/{ty['losses']}/{ty['ties']} "
                f"| {oy['mean_difference']:+.4f} {oy['wins']}/{oy['losses']}/{oy['ties']} |"
            )
    unfamiliar_result = result["unfamiliar"]
    lines.append(f"\nunfamiliar (LM order {unfamiliar_result['order']}, alpha {ALPHA}):")
    for kind, figures in unfamiliar_result["scores"].items():
        lines.append(f"  {kind}: " + ", ".join(f"{k} {v:.4f}" for k, v in figures.items() if k.count(" ") <= 1))
    lines.append(f"\nspeed: {result['speed']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, few epochs, a small grid: the pipeline only")
    parser.add_argument("--tasks", default="pair,many", help="pair, many, or both")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nameclf-experts-cache")
    parser.add_argument("--out", type=Path, default=None, help="default benchmarks/results/experts.json")
    parser.add_argument("--fresh-yardstick", action="store_true", help="refit the 18-language yardstick")
    args = parser.parse_args()
    settings = dict(QUICK if args.quick else FULL)
    if args.quick:
        settings["pair_grid"] = [("char", (1, 4), 10), ("char_wb", (1, 4), 10)]
        settings["many_grid"] = [("char", (1, 4), 100)]
    out = args.out or ROOT / "benchmarks" / "results" / ("experts-quick.json" if args.quick else "experts.json")
    started = time.perf_counter()
    cache = Cache(args.cache / ("quick" if args.quick else "full"))
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": common.machine(load_average_at_start=os.getloadavg()),
        "quick": args.quick,
        "weights_grid": list(WEIGHTS),
    }
    for task in args.tasks.split(","):
        results[task] = task_run(cache, common.TASKS[task], settings, args.fresh_yardstick)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, default=float) + "\n")
        print(report(results[task]), flush=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    out.write_text(json.dumps(results, indent=1, default=float) + "\n")
    say(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} in {results['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
