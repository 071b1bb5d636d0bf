"""How a model rebuilt on this machine is compared with one built on another.

torch's CPU kernels take different paths on different processors, so the same seed and data give
the same bytes on one machine but may differ in the last bits between two. Between machines the
comparison is therefore within tolerances that a real change (one weight moved by 1e-3) still breaks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors import safe_open

from nameclf import checkpoint
from nameclf.data import load_dataset
from nameclf.evaluate import test_examples
from nameclf.paths import bundled_names_dir
from nameclf.predict import Predictor

WEIGHT_TOLERANCE = 1e-5  # absolute, every element of every weight
TEMPERATURE_TOLERANCE = 1e-4
OTHER_NAMES = 300  # names of the other languages, besides the model's own test split


def safe_open_metadata(folder: Path) -> dict[str, str]:
    """The metadata a model's safetensors file carries, to write an edited copy the loader accepts."""
    with safe_open(str(folder / checkpoint.WEIGHTS_FILE), framework="numpy") as handle:
        return dict(handle.metadata() or {})


def probe_names(saved: checkpoint.SavedModel) -> list[str]:
    """The model's own test split and a few hundred names of languages it was not trained on, the same
    every time (every k-th name of the other languages, in file order)."""
    own = [example.name for example in test_examples(saved, bundled_names_dir().parent)]
    others = [
        example.name
        for example in load_dataset(bundled_names_dir(), "all").examples
        if not set(example.labels) & set(saved.labels)
    ]
    step = max(1, len(others) // OTHER_NAMES)
    return own + others[::step][:OTHER_NAMES]


def shipped_differences(reference: Path, candidate: Path) -> list[str]:
    """Every way `candidate` differs from `reference` beyond the tolerances, one line each; empty when
    they agree: the same weights within 1e-5, the temperature within 1e-4 and the same answer for
    every probe name."""
    expected, actual = checkpoint.load(reference), checkpoint.load(candidate)
    problems = []
    if sorted(expected.weights) != sorted(actual.weights):
        return [f"weights: {sorted(expected.weights)} != {sorted(actual.weights)}"]
    for name in sorted(expected.weights):
        want, got = expected.weights[name], actual.weights[name]
        if want.shape != got.shape:
            problems.append(f"{name}: shape {got.shape}, expected {want.shape}")
            continue
        gap = float(np.max(np.abs(want.astype(np.float64) - got.astype(np.float64)), initial=0.0))
        if gap > WEIGHT_TOLERANCE:
            problems.append(f"{name}: differs by {gap:.1e} (tolerance {WEIGHT_TOLERANCE:.0e})")
    temperatures = (expected.temperature or 1.0, actual.temperature or 1.0)
    if abs(temperatures[0] - temperatures[1]) > TEMPERATURE_TOLERANCE:
        problems.append(f"temperature: {temperatures[1]} against {temperatures[0]}")
    names = probe_names(expected)
    answers = [[prediction.language for prediction in Predictor(saved).predict(names)] for saved in (expected, actual)]
    changed = [f"{name}: {b} against {a}" for name, a, b in zip(names, *answers) if a != b]
    if changed:
        problems.append(f"{len(changed)} of {len(names)} answers differ, e.g. {changed[0]}")
    return problems
