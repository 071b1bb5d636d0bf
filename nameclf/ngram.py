"""The character n-gram expert: TF-IDF of a name's character n-grams and a multinomial logistic
regression, fitted by scikit-learn, answered by numpy alone.

Fitting (`fit_ngram`, training time only) imports scikit-learn inside the function: its
`TfidfVectorizer` and `LogisticRegression` (lbfgs, deterministic, so there is no seed). What it
learns is copied out as plain arrays (`NgramExpert`): the n-gram vocabulary in column order, the IDF
weights, the coefficients and intercepts, and the settings. `probabilities` recomputes scikit-learn's
`predict_proba` from those arrays in numpy, to within 1e-6 (tests/test_ngram.py), without importing
scikit-learn, and `to_arrays`/`to_config`/`from_arrays` save and load it as safetensors and JSON.

The text a name's n-grams are taken from (`NgramSettings.text`): the name in `data.normalise`'s form,
lower-cased unless `lowercase=False`. With `analyzer="char_wb"` scikit-learn pads each word with a
space, which marks its ends; with `analyzer="char"` the whole name is put between boundary marks
(`^name$`), so that its ends are features
too.

A name of several languages (`data.Example.labels`, with `--shared-names multi`) is one training row
per language, each with sample weight 1/k: the same loss as the network's target, which spreads the
name's mass evenly over its k languages (`training.targets`). Class weights are scikit-learn's
"balanced" (n / (classes * count)) with each language's count being its sum of sample weights,
which is what `training.class_weights` gives the network, up to a constant factor. On single-label
data this is exactly `class_weight="balanced"`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from nameclf.codec import pack_strings, unpack_strings
from nameclf.data import normalise

if TYPE_CHECKING:  # scikit-learn has no types: these are Any
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)

ANALYZERS = ("char", "char_wb")
START, END = "^", "$"  # the boundary marks of analyzer "char"
MAX_ITERATIONS = 10_000
CHUNK = 2048  # names scored at once: bounds the (n-grams, labels) temporary to a few MiB
ARRAY_PREFIX = "ngram."
# float32 coefficients halve the file and move the probabilities by under 1e-7 (4e-8 measured on 18
# languages), well inside the 1e-6 the tests hold numpy to; scores are summed in float64
COEF_DTYPE = np.float32
_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's own: a run of 2+ white spaces becomes one space


@dataclass(frozen=True)
class NgramSettings:
    """How a name becomes features; every field is one `TfidfVectorizer` argument, bar `marks`."""

    analyzer: str = "char_wb"
    ngram_range: tuple[int, int] = (1, 4)
    lowercase: bool = True
    sublinear_tf: bool = True
    norm: str = "l2"
    marks: bool | None = None  # ^name$ around the text; None: exactly when analyzer is "char"
    min_df: int = 1  # n-grams in fewer training names are dropped: keeps the shipped files small

    def __post_init__(self) -> None:
        if self.analyzer not in ANALYZERS:
            raise ValueError(f"analyzer must be one of {', '.join(ANALYZERS)}, not {self.analyzer!r}")
        low, high = (int(n) for n in self.ngram_range)
        if not 1 <= low <= high:
            raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, not {self.ngram_range!r}")
        if self.norm != "l2":
            raise ValueError("only the l2 norm is implemented")
        object.__setattr__(self, "ngram_range", (low, high))
        if not 1 <= int(self.min_df):
            raise ValueError(f"min_df must be a whole number of at least 1, not {self.min_df!r}")
        object.__setattr__(self, "min_df", int(self.min_df))
        if self.marks is None:
            object.__setattr__(self, "marks", self.analyzer == "char")

    def text(self, name: str) -> str:
        """What the vectorizer reads for a name (its own lower-casing comes after, as in scikit-learn)."""
        name = normalise(name)
        return f"{START}{name}{END}" if self.marks else name

    def to_dict(self) -> dict[str, Any]:
        settings = asdict(self)
        settings["ngram_range"] = list(self.ngram_range)
        return settings

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> NgramSettings:
        return cls(**{**settings, "ngram_range": tuple(settings["ngram_range"])})


def analyze(text: str, settings: NgramSettings) -> list[str]:
    """scikit-learn's analyzer, step for step: lower-casing, white-space runs, then `_char_ngrams` or
    `_char_wb_ngrams` (sklearn/feature_extraction/text.py), repeated n-grams included."""
    if settings.lowercase:
        text = text.lower()
    text = _WHITE_SPACES.sub(" ", text)
    low, high = settings.ngram_range
    if settings.analyzer == "char":
        length = len(text)
        return [text[i : i + n] for n in range(low, min(high, length) + 1) for i in range(length - n + 1)]
    grams: list[str] = []
    for word in text.split():
        word = f" {word} "
        length = len(word)
        for n in range(low, high + 1):
            if length <= n:  # a word no longer than n counts once, whole, and ends this word's n-grams
                grams.append(word)
                break
            grams.extend(word[i : i + n] for i in range(length - n + 1))
    return grams


@dataclass
class NgramExpert:
    """A fitted n-gram model as plain data.

    vocabulary: the n-grams, in column order; idf: (features,) float64; coef: (labels, features);
    intercept: (labels,) float64; labels: the column order of `probabilities`. A two-language model
    is stored as two rows (the first all zeros), so that softmax gives scikit-learn's binary
    `expit` probabilities and every model has one shape.
    """

    labels: list[str]
    vocabulary: list[str]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    settings: NgramSettings
    C: float
    details: dict[str, Any]  # how it was fitted: rows, class weights, iterations, converged

    def __post_init__(self) -> None:
        self.idf = np.ascontiguousarray(self.idf, dtype=np.float64)
        self.intercept = np.ascontiguousarray(self.intercept, dtype=np.float64)
        self.coef = np.asarray(self.coef)
        features = len(self.vocabulary)
        if self.idf.shape != (features,) or self.coef.shape != (len(self.labels), features):
            raise ValueError(
                f"n-gram arrays do not fit: {features} n-grams, idf {self.idf.shape}, coef {self.coef.shape}, "
                f"{len(self.labels)} labels"
            )
        if self.intercept.shape != (len(self.labels),):
            raise ValueError(f"n-gram intercept has shape {self.intercept.shape}, not ({len(self.labels)},)")
        self._index: dict[str, int] | None = None
        self._coef_by_feature: np.ndarray | None = None

    @property
    def index(self) -> dict[str, int]:
        """n-gram → column + 1 (so that a missing n-gram, None, is the only falsy value)."""
        if self._index is None:
            self._index = {gram: column + 1 for column, gram in enumerate(self.vocabulary)}
        return self._index

    def features(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The names' TF-IDF rows in coordinate form, sorted by row then column: (rows, columns,
        values), with each row's values of unit l2 norm; a name with no known n-gram has no entry."""
        get, settings = self.index.get, self.settings
        columns: list[int] = []
        counts = np.zeros(len(names), dtype=np.int64)
        for row, name in enumerate(names):
            found = [*filter(None, map(get, analyze(settings.text(name), settings)))]
            columns += found
            counts[row] = len(found)
        features = len(self.vocabulary)
        keys = np.repeat(np.arange(len(names), dtype=np.int64), counts) * features
        keys += np.asarray(columns, dtype=np.int64) - 1
        keys, repeats = np.unique(keys, return_counts=True)
        rows, columns_array = np.divmod(keys, features)
        values = repeats.astype(np.float64)
        if settings.sublinear_tf:
            values = np.log(values) + 1.0
        values *= self.idf[columns_array]
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(names)))
        values /= norms[rows]
        return rows, columns_array, values

    def scores(self, names: Sequence[str]) -> np.ndarray:
        """(names, labels) float64 linear scores: the TF-IDF row times coef, plus intercept."""
        if self._coef_by_feature is None:
            self._coef_by_feature = np.ascontiguousarray(self.coef.T)  # (features, labels); products in float64
        result = np.empty((len(names), len(self.labels)))
        for start in range(0, len(names), CHUNK):
            chunk = names[start : start + CHUNK]
            rows, columns, values = self.features(chunk)
            block = np.broadcast_to(self.intercept, (len(chunk), len(self.labels))).copy()
            if len(rows):
                contributions = self._coef_by_feature[columns] * values[:, None]  # (entries, labels)
                starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
                block[rows[starts]] += np.add.reduceat(contributions, starts, axis=0)
            result[start : start + len(chunk)] = block
        return result

    @property
    def parameter_count(self) -> int:
        """Its fitted numbers: one coefficient per n-gram and class row, and the intercepts."""
        return int(self.coef.size + self.intercept.size)

    def log_probabilities(self, names: Iterable[str]) -> np.ndarray:
        """(names, labels) float64 log-probabilities, columns in `labels` order."""
        scores = self.scores(list(names))
        scores -= scores.max(axis=1, keepdims=True)
        result: np.ndarray = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))  # numpy: Any
        return result

    def probabilities(self, names: Iterable[str]) -> np.ndarray:
        """(names, labels) float64 probabilities, as scikit-learn's `predict_proba` gives them."""
        result: np.ndarray = np.exp(self.log_probabilities(names))  # numpy: Any
        return result

    # --- saved as plain data ----------------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        """Everything but the arrays, JSON-ready."""
        return {
            "labels": list(self.labels),
            "settings": self.settings.to_dict(),
            "C": self.C,
            "features": len(self.vocabulary),
            "fit": self.details,
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays for safetensors, keys prefixed `ngram.`: the vocabulary as UTF-8 bytes joined
        (`vocabulary_utf8`, uint8) with each n-gram's end offset (`vocabulary_ends`, int32), `idf`,
        `coef` and `intercept`."""
        data, ends = pack_strings(self.vocabulary)
        return {
            ARRAY_PREFIX + "vocabulary_utf8": data,
            ARRAY_PREFIX + "vocabulary_ends": ends,
            ARRAY_PREFIX + "idf": self.idf,
            ARRAY_PREFIX + "coef": np.ascontiguousarray(self.coef),
            ARRAY_PREFIX + "intercept": self.intercept,
        }

    @classmethod
    def from_arrays(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> NgramExpert:
        """The expert `to_config` and `to_arrays` describe (`arrays` may hold other keys too)."""
        vocabulary = unpack_strings(arrays[ARRAY_PREFIX + "vocabulary_utf8"], arrays[ARRAY_PREFIX + "vocabulary_ends"])
        if len(vocabulary) != config["features"]:
            raise ValueError(f"the n-gram vocabulary holds {len(vocabulary)} n-grams, not {config['features']}")
        return cls(
            labels=list(config["labels"]),
            vocabulary=vocabulary,
            idf=arrays[ARRAY_PREFIX + "idf"],
            coef=arrays[ARRAY_PREFIX + "coef"],
            intercept=arrays[ARRAY_PREFIX + "intercept"],
            settings=NgramSettings.from_dict(config["settings"]),
            C=float(config["C"]),
            details=dict(config.get("fit", {})),
        )


# --- fitting (scikit-learn, training time only) -----------------------------------------------


def training_rows(
    names: Sequence[str],
    name_labels: Sequence[Sequence[str]],
    labels: Sequence[str],
    name_weights: Sequence[float] | None = None,
) -> tuple[list[str], list[str], np.ndarray]:
    """(names, targets, sample weights): a name of k of `labels` is k rows of weight 1/k (times its
    `name_weights`, a labelled table's share of people); a name of none of them is left out."""
    wanted = set(labels)
    texts, targets, weights = [], [], []
    for position, (name, its_labels) in enumerate(zip(names, name_labels, strict=True)):
        kept = [label for label in dict.fromkeys(its_labels) if label in wanted]
        scale = 1.0 if name_weights is None else float(name_weights[position])
        for label in kept:
            texts.append(name)
            targets.append(label)
            weights.append(scale / len(kept))
    return texts, targets, np.asarray(weights, dtype=np.float64)


def balanced_class_weights(targets: Sequence[str], sample_weights: Iterable[float]) -> dict[str, float]:
    """total / (classes * count) per class, counting each row by its sample weight: scikit-learn's
    "balanced" when every weight is 1."""
    totals: dict[str, float] = {}
    for target, weight in zip(targets, sample_weights):
        totals[target] = totals.get(target, 0.0) + float(weight)
    overall = sum(totals.values())
    return {target: overall / (len(totals) * count) for target, count in totals.items()}


def fit_estimators(
    names: Sequence[str],
    name_labels: Sequence[Sequence[str]],
    labels: Sequence[str],
    settings: NgramSettings,
    C: float,
    class_weight: str | None = "balanced",
    max_iter: int = MAX_ITERATIONS,
    name_weights: Sequence[float] | None = None,
) -> tuple[TfidfVectorizer, LogisticRegression, dict[str, Any]]:
    """scikit-learn's fitted (vectorizer, logistic regression, details): the model `fit_ngram` copies
    out, kept whole for the tests that compare the two."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if class_weight not in ("balanced", None):
        raise ValueError(f"class_weight must be 'balanced' or None, not {class_weight!r}")
    texts, targets, weights = training_rows(names, name_labels, labels, name_weights)
    if missing := [label for label in labels if label not in set(targets)]:
        raise ValueError(f"no training names for {', '.join(missing)}")
    vectorizer = TfidfVectorizer(
        analyzer=settings.analyzer,
        ngram_range=settings.ngram_range,
        lowercase=settings.lowercase,
        sublinear_tf=settings.sublinear_tf,
        norm=settings.norm,
        min_df=settings.min_df,
        dtype=np.float64,
    )
    features = vectorizer.fit_transform([settings.text(text) for text in texts])
    class_weights = balanced_class_weights(targets, weights) if class_weight == "balanced" else None
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=max_iter, class_weight=class_weights)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(features, targets, sample_weight=weights)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    if not converged:
        logger.warning("the n-gram model's logistic regression stopped after %d iterations, unconverged", max_iter)
    details = {
        "rows": len(texts),
        "class_weight": {label: round(class_weights[label], 6) for label in labels} if class_weights else None,
        "iterations": int(np.max(model.n_iter_)),
        "converged": converged,
    }
    return vectorizer, model, details


def expert_from_estimators(
    vectorizer: TfidfVectorizer,
    model: LogisticRegression,
    labels: Sequence[str],
    settings: NgramSettings,
    C: float,
    details: dict[str, Any],
    coef_dtype: npt.DTypeLike | None = None,
) -> NgramExpert:
    """Copy a fitted vectorizer and logistic regression out into plain arrays, columns in `labels` order."""
    vocabulary = [""] * len(vectorizer.vocabulary_)
    for gram, column in vectorizer.vocabulary_.items():
        vocabulary[column] = gram
    classes = [str(label) for label in model.classes_]
    coef = np.zeros((len(labels), len(vocabulary)))
    intercept = np.zeros(len(labels))
    if len(classes) == 2:  # scikit-learn's binary model: p(second) = expit(x @ w + b), p(first) = 1 - that
        coef[labels.index(classes[1])] = model.coef_[0]
        intercept[labels.index(classes[1])] = model.intercept_[0]
    else:
        for row, label in enumerate(classes):
            coef[labels.index(label)] = model.coef_[row]
            intercept[labels.index(label)] = model.intercept_[row]
    return NgramExpert(
        labels=list(labels),
        vocabulary=vocabulary,
        idf=vectorizer.idf_,
        coef=coef.astype(coef_dtype or COEF_DTYPE),
        intercept=intercept,
        settings=settings,
        C=float(C),
        details=details,
    )


def fit_ngram(
    names: Sequence[str],
    name_labels: Sequence[Sequence[str]],
    labels: Sequence[str],
    settings: NgramSettings | None = None,
    C: float = 10.0,
    class_weight: str | None = "balanced",
    max_iter: int = MAX_ITERATIONS,
    name_weights: Sequence[float] | None = None,
) -> NgramExpert:
    """Fit the n-gram expert on training names (`name_labels[i]`: the languages of `names[i]`, each
    name weighing `name_weights[i]`, 1 when None)."""
    settings = settings if settings is not None else NgramSettings()
    labels = list(labels)
    vectorizer, model, details = fit_estimators(
        names, name_labels, labels, settings, C, class_weight, max_iter, name_weights
    )
    return expert_from_estimators(vectorizer, model, labels, settings, C, details)
