"""The yardstick the RNN is held to: character n-gram logistic regression on nameclf's own splits.

Features: the lower-cased name between boundary marks (`^name$`), its character 1- to 4-grams,
present or absent. Model: L2-regularised logistic regression (torch, L-BFGS, one thread). The
regularisation strength C is chosen on mean VALIDATION accuracy over the seeds; the test split is
read only for the chosen C, to compare with `nameclf evaluate` on the same splits
(benchmarks/cells.py).

    .venv/bin/python benchmarks/ngram_baseline.py                      # German/Italian, seeds 0-6, ~1 min
    .venv/bin/python benchmarks/ngram_baseline.py --seeds 0 --languages all
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch.nn import functional as F

from nameclf.data import Example, load_dataset, split_dataset
from nameclf.paths import bundled_names_dir

C_GRID = (0.3, 1.0, 3.0, 10.0)


def ngrams(name: str, longest: int = 4) -> set[str]:
    marked = f"^{name.lower()}$"
    return {marked[i : i + n] for n in range(1, longest + 1) for i in range(len(marked) - n + 1)}


def features(examples: list[Example], index: dict[str, int]) -> torch.Tensor:
    matrix = np.zeros((len(examples), len(index)), dtype=np.float32)
    for row, example in enumerate(examples):
        for gram in ngrams(example.name):
            if gram in index:
                matrix[row, index[gram]] = 1.0
    return torch.from_numpy(matrix)


def accuracy(scores: torch.Tensor, examples: list[Example], labels: list[str]) -> float:
    top = scores.argmax(dim=1).tolist()
    return sum(labels[i] in example.labels for i, example in zip(top, examples)) / len(examples)


def fit(x: torch.Tensor, y: torch.Tensor, classes: int, c: float) -> torch.nn.Linear:
    torch.manual_seed(0)
    model = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.LBFGS(model.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y, reduction="sum") + 0.5 / c * model.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6")
    parser.add_argument("--languages", default="German,Italian")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = load_dataset(bundled_names_dir(), args.languages)
    labels = dataset.languages
    results: dict[float, list[tuple[float, float]]] = {c: [] for c in C_GRID}
    seconds = []
    for seed in (int(seed) for seed in args.seeds.split(",")):
        split = split_dataset(dataset, seed)
        index: dict[str, int] = {}
        for example in split.train:
            for gram in sorted(ngrams(example.name)):
                index.setdefault(gram, len(index))
        x = features(split.train, index)
        y = torch.tensor([labels.index(example.labels[0]) for example in split.train])  # first label of each
        x_validation, x_test = features(split.validation, index), features(split.test, index)
        for c in C_GRID:
            started = time.perf_counter()
            model = fit(x, y, len(labels), c)
            seconds.append(time.perf_counter() - started)
            with torch.no_grad():
                validation = accuracy(model(x_validation), split.validation, labels)
                results[c].append((validation, accuracy(model(x_test), split.test, labels)))
    print(f"{'C':>5s} {'validation':>10s}")
    for c, rows in results.items():
        print(f"{c:5.1f} {statistics.mean(v for v, _ in rows):10.4f}")
    chosen = max(C_GRID, key=lambda c: statistics.mean(v for v, _ in results[c]))
    tests = [t for _, t in results[chosen]]
    spread = statistics.stdev(tests) if len(tests) > 1 else 0.0
    print(f"chosen C={chosen} on validation; test per seed: {' '.join(f'{t:.4f}' for t in tests)}")
    print(f"test accuracy {statistics.mean(tests):.4f} ± {spread:.4f}; fit {statistics.median(seconds):.2f} s (median)")


if __name__ == "__main__":
    main()
