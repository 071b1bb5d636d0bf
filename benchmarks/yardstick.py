"""The n-gram yardstick, with scikit-learn: character 1-4-grams and logistic regression.

What an RNN must beat to be worth its cost. Features: the lower-cased name between boundary marks
(`^name$`), its character 1- to 4-grams weighted by `TfidfVectorizer(sublinear_tf=True)`. Model:
multinomial L2 logistic regression (lbfgs, deterministic, run to convergence: a ConvergenceWarning
is an error here, so no figure comes from an unfinished fit).

Class weights are inverse frequency, as nameclf's training uses (`nameclf.training.class_weights`):
scikit-learn's `class_weight="balanced"` (n / (classes * count)), except that each language's count
is its sum of sample weights, so a name of k languages, repeated once per language with weight 1/k,
counts 1/k for each, as nameclf spreads its target. On single-label data (German/Italian) this is
exactly "balanced".

The regularisation strength C is chosen on the VALIDATION split only (`choose_and_fit`); the test
split is scored once, with the chosen C. Figures come from `nameclf.evaluate.score`, so accuracy
and macro-F1 are computed exactly as `nameclf evaluate` computes them (a multi-label name is right
in any of its languages).

    .venv/bin/python benchmarks/yardstick.py --languages German,Italian --seeds 0,1,2
    .venv/bin/python benchmarks/yardstick.py --languages all --seeds 0 --metric macro_f1
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from nameclf.data import Example, load_dataset, normalise, split_dataset
from nameclf.metrics import Report, score
from nameclf.paths import bundled_names_dir

C_GRID = (0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000)  # wide enough that the chosen C is inside it on both tasks
METRICS = ("accuracy", "macro_f1")
MAX_ITERATIONS = 10_000


def marked(name: str) -> str:
    """The text the n-grams are taken from: `^name$`, lower-cased, so the ends of a name are features."""
    return f"^{normalise(name).lower()}$"


def balanced_class_weights(targets: Sequence[str], sample_weights: Sequence[float]) -> dict[str, float]:
    """Inverse-frequency class weights, counting each row by its sample weight.

    total / (classes * count) per class: scikit-learn's "balanced" when every weight is 1.
    """
    totals: dict[str, float] = {}
    for target, weight in zip(targets, sample_weights):
        totals[target] = totals.get(target, 0.0) + float(weight)
    overall = sum(totals.values())
    return {target: overall / (len(totals) * count) for target, count in totals.items()}


class Yardstick:
    """Character n-gram logistic regression over a fixed, ordered list of languages."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.vectorizer: TfidfVectorizer | None = None
        self.model: LogisticRegression | None = None

    def fit(self, train: Sequence[Example], labels: Sequence[str], C: float) -> Yardstick:
        """Fit on `train`; a name of k languages is one row per language, each with weight 1/k."""
        self.labels = list(labels)
        wanted = set(self.labels)
        texts, targets, weights = [], [], []
        for example in train:
            languages = [label for label in example.labels if label in wanted]
            for language in languages:
                texts.append(marked(example.name))
                targets.append(language)
                weights.append(1.0 / len(languages))
        if len(set(targets)) < 2:
            raise ValueError("the yardstick needs training names of at least two languages")
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), lowercase=False, sublinear_tf=True)
        features = self.vectorizer.fit_transform(texts)
        self.model = LogisticRegression(
            C=C, solver="lbfgs", max_iter=MAX_ITERATIONS, class_weight=balanced_class_weights(targets, weights)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            self.model.fit(features, targets, sample_weight=np.asarray(weights))
        return self

    def probabilities(self, names: Sequence[str]) -> np.ndarray:
        """(len(names), len(labels)) probabilities, columns in `labels` order (0 for a language never seen)."""
        if self.model is None or self.vectorizer is None:
            raise RuntimeError("fit the yardstick first")
        found = self.model.predict_proba(self.vectorizer.transform([marked(name) for name in names]))
        probabilities = np.zeros((len(names), len(self.labels)))
        for column, language in enumerate(self.model.classes_):
            probabilities[:, self.labels.index(language)] = found[:, column]
        return probabilities

    def predict(self, names: Sequence[str]) -> list[str]:
        """The most probable language of each name."""
        return [self.labels[i] for i in self.probabilities(names).argmax(axis=1)]

    def report(self, examples: Sequence[Example], source: str) -> Report:
        """nameclf's figures (accuracy, macro-F1, per language) for these examples."""
        predicted = self.predict([example.name for example in examples])
        return score(self.labels, [example.labels for example in examples], predicted, source)


def metric_of(report: Report, metric: str) -> float:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    return report.accuracy if metric == "accuracy" else report.macro_f1


def choose_and_fit(
    train: Sequence[Example],
    validation: Sequence[Example],
    labels: Sequence[str],
    grid: Sequence[float] = C_GRID,
    metric: str = "accuracy",
) -> tuple[Yardstick, float, dict[float, float]]:
    """Fit one yardstick per C and keep the best on VALIDATION (ties: the first, i.e. the smallest C
    of an ascending grid, the most regularised). Returns (yardstick, chosen C, {C: validation score})."""
    if not validation:
        raise ValueError("choosing C needs validation names")
    fitted: dict[float, Yardstick] = {}
    scores: dict[float, float] = {}
    chosen = None
    for C in grid:
        fitted[C] = Yardstick().fit(train, labels, C)
        scores[C] = metric_of(fitted[C].report(validation, "validation"), metric)
        if chosen is None or scores[C] > scores[chosen]:
            chosen = C
    if chosen is None:
        raise ValueError("the grid of C values is empty")
    return fitted[chosen], chosen, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="German,Italian", help="comma-separated, or `all`")
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6")
    parser.add_argument("--metric", choices=METRICS, default="accuracy", help="what C is chosen by, on validation")
    args = parser.parse_args()
    dataset = load_dataset(bundled_names_dir(), args.languages)
    labels = dataset.languages
    print(f"{len(labels)} languages, shared names: {dataset.shared_names}; C chosen on validation {args.metric}")
    print(f"{'seed':>4s} {'C':>5s} {'val acc':>8s} {'val F1':>7s} {'test acc':>8s} {'test F1':>7s} {'fit s':>6s}")
    rows = []
    with threadpool_limits(1):
        for seed in (int(part) for part in args.seeds.split(",")):
            split = split_dataset(dataset, seed)
            started = time.perf_counter()
            yardstick, chosen, _ = choose_and_fit(split.train, split.validation, labels, metric=args.metric)
            seconds = (time.perf_counter() - started) / len(C_GRID)
            validation = yardstick.report(split.validation, "validation")
            test = yardstick.report(split.test, "test")
            rows.append((validation.accuracy, validation.macro_f1, test.accuracy, test.macro_f1))
            print(
                f"{seed:4d} {chosen:5g} {validation.accuracy:8.4f} {validation.macro_f1:7.4f} "
                f"{test.accuracy:8.4f} {test.macro_f1:7.4f} {seconds:6.2f}"
            )
    if len(rows) > 1:
        means = [statistics.mean(column) for column in zip(*rows)]
        spreads = [statistics.stdev(column) for column in zip(*rows)]
        print(f"mean       {means[0]:8.4f} {means[1]:7.4f} {means[2]:8.4f} {means[3]:7.4f}")
        print(f"sd         {spreads[0]:8.4f} {spreads[1]:7.4f} {spreads[2]:8.4f} {spreads[3]:7.4f}")
    print("fit s: mean seconds per C (one thread)")


if __name__ == "__main__":
    main()
