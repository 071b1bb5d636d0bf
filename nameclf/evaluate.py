"""Score a saved model: accuracy, macro-F1, per-language precision/recall/F1 and the confusion matrix.

A name may belong to several languages (multi-label examples): a prediction is right when it is
one of them, and for the per-language figures such a name counts under the predicted language when
the prediction is right and under its first language otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nameclf import calibration
from nameclf.checkpoint import SavedModel
from nameclf.data import Example, iter_text_lines, load_dataset, normalise, split_dataset, split_fingerprint
from nameclf.errors import DataError, ModelError, shorten
from nameclf.metrics import Report, score
from nameclf.options import PredictOptions
from nameclf.predict import Predictor


def evaluate_examples(
    predictor: Predictor,
    examples: Sequence[Example],
    source: str,
    min_confidence: float | None = None,
    coverage: float | None = None,
) -> Report:
    """The figures of `score`, plus calibration before and after the model's temperature; with
    `min_confidence` the share of names answered (coverage) and the accuracy on those; with `coverage`
    the share of names whose prediction set holds a true language, and the sets' mean size (a name
    that gets no answer, as one of unknown characters, counts as not covered)."""
    options = PredictOptions(min_confidence=min_confidence, coverage=coverage)  # checks both before any work
    predictions = predictor.predict([example.name for example in examples], PredictOptions(coverage=coverage))
    truths = [example.labels for example in examples]
    report = score(predictor.labels, truths, [p.language for p in predictions], source)
    answered = [i for i, prediction in enumerate(predictions) if prediction.language is not None]
    # the same inputs as the answers: the n-gram expert reads the names' own text, unknown characters too
    texts = [normalise(examples[i].name) for i in answered]
    raw = predictor.log_probabilities(
        [predictor.vocabulary.encode(text) for text in texts], calibrated=False, names=texts
    )
    truth = calibration.truth_matrix([truths[i] for i in answered], predictor.labels)
    temperature = predictor.saved.temperature
    report.calibration = {
        "temperature": temperature,
        "calibrated": temperature is not None,
        "names": len(answered),
        "before": calibration.figures(raw, truth),
        "after": calibration.figures(calibration.scaled(raw, temperature), truth) if temperature else None,
        "reliability": {
            "before": calibration.reliability(np.exp(raw), truth),
            "after": calibration.reliability(np.exp(calibration.scaled(raw, temperature)), truth)
            if temperature
            else None,
        },
    }
    if options.min_confidence is not None:
        min_confidence = options.min_confidence
        # every answered name has its probability (None only where there is no answer)
        sure = [i for i in answered if (p := predictions[i].probability) is not None and p >= min_confidence]
        right = sum(predictions[i].language in truths[i] for i in sure)
        report.abstention = {
            "min_confidence": min_confidence,
            "coverage": len(sure) / report.count if report.count else 0.0,
            "answered": len(sure),
            "accuracy_answered": right / len(sure) if sure else None,
        }
    if coverage is not None:
        # with a coverage every answered name has its set (never empty): None only where there is no answer
        sets = [predictions[i].set or [] for i in answered]
        sized = [len(chosen) for chosen in sets]
        covered = sum(any(language in truths[i] for language in chosen) for i, chosen in zip(answered, sets))
        report.sets = {
            "coverage": coverage,
            "empirical_coverage": covered / report.count if report.count else 0.0,
            "mean_set_size": float(np.mean(sized)) if sized else 0.0,
            "held_out_names": len(predictor.saved.conformal_scores or []),
        }
    return report


def test_examples(saved: SavedModel, data_dir: Path) -> list[Example]:
    """The model's own test split, rebuilt from the dataset and the seed the model records."""
    data = saved.config.get("data", {})
    names_dir = Path(data_dir) / "names"
    missing = [language for language in saved.labels if not (names_dir / f"{language}.txt").is_file()]
    if missing and names_dir.is_dir():
        raise DataError(
            f"the dataset in {data_dir} has no {', '.join(missing)}, which {saved.path} was trained on; "
            "evaluate with --data DIR, the folder it was trained on, or --file FILE of labelled names"
        )
    dataset = load_dataset(
        names_dir, data.get("languages"), data.get("shared_names", "auto"), fold_case=saved.vocabulary.fold_case
    )
    if dataset.fingerprint != data.get("fingerprint"):
        raise DataError(
            f"the dataset in {data_dir} differs from the one {saved.path} was trained on; "
            "evaluate with --data DIR, the folder it was trained on, or --file FILE of labelled names"
        )
    split = split_dataset(dataset, int(data["split_seed"]))
    recorded = data.get("split_fingerprint")  # absent from models saved before it was recorded
    if recorded is not None and split_fingerprint(split) != recorded:
        raise ModelError(
            f"{saved.path / 'config.json'}: its split seed does not give the split this model was trained on "
            "(was the file edited?); retrain with `nameclf train`"
        )
    return split.test


def read_labelled(path: Path | str, labels: Sequence[str]) -> tuple[list[Example], int]:
    """A user's `name<TAB>language` file; returns the examples and the number of lines skipped."""
    by_lower = {label.lower(): label for label in labels}
    examples: list[Example] = []
    skipped = 0
    unknown: set[str] = set()
    for line in iter_text_lines(path):
        if not line.strip():
            continue
        name, sep, language = line.partition("\t")
        name, language = normalise(name), language.strip()
        if not sep or not name or not language:
            skipped += 1
            continue
        if language.lower() not in by_lower:
            unknown.add(language)
            skipped += 1
            continue
        examples.append(Example(name, (by_lower[language.lower()],)))
    if unknown and not examples:
        raise DataError(
            f"{path}: no line has a language this model knows "
            f"({', '.join(shorten(language) for language in sorted(unknown)[:5])}); "
            f"it knows {', '.join(labels)}"
        )
    if not examples:
        raise DataError(f"{path} has no `name<TAB>language` lines; write one name and its language per line")
    return examples, skipped
