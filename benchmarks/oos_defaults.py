"""Which defaults do best on surnames from other sources: a study over the n-gram expert's C and
features, the network's settings and the combination's weight, judged on Faker's and mimesis's
surnames (each on its own, and their mean) with validation accuracy as the guard. Never the test
split: test figures are written beside the others only for the record, and nothing is chosen on them.

Per seed, the network is trained once per setting (`--experts rnn`, one thread) and its uncalibrated
log-probabilities kept; each n-gram expert is fitted on the same training names; the combination's
weight is chosen as training chooses it (validation NLL on the temperature's half of the validation
names, `nameclf.experts.choose_weight`). The yardstick is `nameclf.ngram` at its own defaults
(TF-IDF `char_wb` 1-4-grams, sublinear, class-weighted logistic regression) with C = 10.

    .venv/bin/python benchmarks/oos_defaults.py --languages all --seeds 0,1,2 --out results.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import common
import numpy as np
from experts import Cache, classification, rnn_outputs, say

from nameclf import calibration
from nameclf.data import Example
from nameclf.experts import choose_weight
from nameclf.ngram import NgramSettings, combined, fit_ngram

PARTS = ("validation", "test", "faker", "mimesis")
SOURCES = ("faker", "mimesis")


def parts_of(languages: str, seed: int) -> dict[str, list[Example]]:
    chosen = common.split(languages, seed)
    return {
        "train": chosen.train,
        "validation": chosen.validation,
        "test": chosen.test,
        **{source: list(common.out_of_source(languages, source)) for source in SOURCES},
    }


def network(cache: Cache, languages: str, seed: int, options: dict[str, Any]) -> dict[str, np.ndarray]:
    """The network alone (`--experts rnn`): its uncalibrated log-probabilities on every part."""
    return rnn_outputs(cache, languages, seed, {**options, "experts": "rnn"}, parts_of, PARTS)[0]


def ngrams(cache: Cache, languages: str, seed: int, settings: NgramSettings, c: float) -> dict[str, np.ndarray]:
    key = f"oos-ngram|{languages}|{seed}|{json.dumps(settings.to_dict(), sort_keys=True)}|{c}"

    def compute():
        parts = parts_of(languages, seed)
        labels = common.dataset(languages).languages
        expert = fit_ngram([e.name for e in parts["train"]], [e.labels for e in parts["train"]], labels, settings, C=c)
        return {part: expert.log_probabilities([e.name for e in parts[part]]) for part in PARTS}, {}

    return cache.get(key, compute)[0]


def figures(languages: str, seed: int, log_p: dict[str, np.ndarray]) -> dict[str, float]:
    labels = common.dataset(languages).languages
    parts = parts_of(languages, seed)
    row = {}
    for part in PARTS:
        found = classification(labels, parts[part], log_p[part])
        row[f"{part}_accuracy"] = found["accuracy"]
        row[f"{part}_macro_f1"] = found["macro_f1"]
    row["oos_mean_accuracy"] = (row["faker_accuracy"] + row["mimesis_accuracy"]) / 2
    return row


def combination(languages: str, seed: int, rnn: dict, ngram: dict, weight: float | None) -> dict[str, Any]:
    """The two experts combined at `weight`, or at the weight training would choose (None)."""
    labels = common.dataset(languages).languages
    parts = parts_of(languages, seed)
    if weight is None:
        truth = calibration.truth_matrix([e.labels for e in parts["validation"]], labels)
        fit_rows, _ = calibration.calibration_halves(len(parts["validation"]), seed)
        weight = choose_weight(rnn["validation"], ngram["validation"], truth, np.asarray(fit_rows)).weight
    mixed = {part: combined(rnn[part], ngram[part], weight) for part in PARTS}
    return {"weight": weight, **figures(languages, seed, mixed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="all")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nameclf-oos-cache")
    parser.add_argument("--networks", default="{}", help="JSON list of network option sets")
    parser.add_argument("--cs", default="1,3,10,30,100,300")
    parser.add_argument("--features", default="char,char min_df 2,char_wb", help="comma-separated feature sets")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    cache = Cache(args.cache)
    seeds = [int(s) for s in args.seeds.split(",")]
    networks = json.loads(args.networks)
    networks = networks if isinstance(networks, list) else [networks]
    feature_sets = {
        "char": NgramSettings("char", (1, 4)),
        "char min_df 2": NgramSettings("char", (1, 4), min_df=2),
        "char_wb": NgramSettings("char_wb", (1, 4)),
    }
    rows = []
    for seed in seeds:
        rnns = [network(cache, args.languages, seed, options) for options in networks]
        for name, settings in feature_sets.items():
            if name not in args.features.split(","):
                continue
            for c in (float(x) for x in args.cs.split(",")):
                ngram = ngrams(cache, args.languages, seed, settings, c)
                base = {"seed": seed, "features": name, "C": c}
                rows.append({**base, "model": "ngram alone", **figures(args.languages, seed, ngram)})
                for options, rnn in zip(networks, rnns):
                    tag = json.dumps(options, sort_keys=True)
                    rows.append(
                        {**base, "model": f"combination {tag}", **combination(args.languages, seed, rnn, ngram, None)}
                    )
                    for weight in (0.1, 0.2, 0.3, 0.5):
                        rows.append(
                            {
                                **base,
                                "model": f"combination w={weight} {tag}",
                                **combination(args.languages, seed, rnn, ngram, weight),
                            }
                        )
        for options, rnn in zip(networks, rnns):
            rows.append(
                {
                    "seed": seed,
                    "model": f"network alone {json.dumps(options, sort_keys=True)}",
                    **figures(args.languages, seed, rnn),
                }
            )
        say(f"seed {seed} done")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    summarise(rows)


def summarise(rows: list[dict]) -> None:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["model"], row.get("features", ""), row.get("C", "")), []).append(row)
    keys = (
        "validation_accuracy",
        "test_accuracy",
        "test_macro_f1",
        "faker_accuracy",
        "mimesis_accuracy",
        "oos_mean_accuracy",
    )
    print("model | features | C | " + " | ".join(keys) + " | weight")
    for (model, features, c), members in groups.items():
        means = [np.mean([m[k] for m in members]) for k in keys]
        weights = sorted({m.get("weight") for m in members if m.get("weight") is not None})
        print(f"{model} | {features} | {c} | " + " | ".join(f"{v:.4f}" for v in means) + f" | {weights}")


if __name__ == "__main__":
    main()
