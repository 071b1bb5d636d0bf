"""Which VALIDATION names does the default model get wrong, and does the n-gram yardstick miss them too?

For each seed: train `nameclf train`'s defaults (German/Italian, one thread), classify the split's
validation names with the saved model (numpy predictor), fit the character n-gram logistic
regression of benchmarks/yardstick.py (C=10) on the same training names, and compare the two
sets of mistakes. Names both get wrong are names whose spelling points to the other language
(Otto, Tschida labelled German; Furlan, Stablum labelled Italian): they bound what any spelling-based
classifier can reach on this data. Only validation names are read; the test split is untouched.

    .venv/bin/python benchmarks/hard_names.py            # seeds 0-6, ~1 min on an idle 2-core box
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import torch
from yardstick import Yardstick

from nameclf.data import load_dataset, split_dataset
from nameclf.paths import bundled_names_dir
from nameclf.predict import Predictor
from nameclf.training import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = load_dataset(bundled_names_dir(), "German,Italian")
    labels = dataset.languages
    counts = Counter()
    shared: list[str] = []
    for seed in (int(seed) for seed in args.seeds.split(",")):
        split = split_dataset(dataset, seed)
        names = [example.name for example in split.validation]
        with tempfile.TemporaryDirectory() as out:
            config = TrainConfig(seed=seed, threads=1)
            train(config, bundled_names_dir().parent, Path(out) / "model", mark_latest=False)
            answers = Predictor.load(Path(out) / "model").predict(names)
        rnn_wrong = {e.name for e, a in zip(split.validation, answers) if a.language not in e.labels}

        yardstick = Yardstick().fit(split.train, labels, 10.0)
        top = yardstick.predict(names)
        ngram_wrong = {e.name for e, language in zip(split.validation, top) if language not in e.labels}

        both = sorted(rnn_wrong & ngram_wrong)
        counts.update(
            names=len(names), both=len(both), rnn=len(rnn_wrong - ngram_wrong), ngram=len(ngram_wrong - rnn_wrong)
        )
        shared += [f"{name} ({next(e for e in split.validation if e.name == name).labels[0]})" for name in both]
        print(
            f"seed {seed}: RNN wrong {len(rnn_wrong)}, n-gram wrong {len(ngram_wrong)}, both {len(both)}: "
            f"{', '.join(both)}",
            flush=True,
        )
    n = counts["names"]
    print(
        f"\n{n} validation names: both wrong {counts['both']} ({counts['both'] / n:.1%}), "
        f"only the RNN {counts['rnn']} ({counts['rnn'] / n:.1%}), only the n-grams {counts['ngram']} "
        f"({counts['ngram'] / n:.1%})"
    )
    print("wrong for both:", ", ".join(sorted(set(shared))))


if __name__ == "__main__":
    main()
