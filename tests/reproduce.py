"""How a model rebuilt on this machine is compared with one built on another.

torch's and OpenBLAS's CPU kernels take different paths on different processors, so the same seed and
data give the same bytes on one machine (tests/test_shipped_models.py checks that) but differ in the last bits
between two, and dozens of epochs of training carry those bits into every weight: rebuilding the
shipped de-it under `OPENBLAS_CORETYPE=Sandybridge ATEN_CPU_CAPABILITY=default` moved its weights by
up to 1.0e-4 and its probabilities on the probe names by up to 3.0e-5 (on an AMD EPYC whose own
kernels are AVX2 and Haswell). A weight tolerance cannot be promised across kernels, so between
machines the comparison is of what a user relies on: the same answer for every probe name, each
probability within PROBABILITY_TOLERANCE, the temperature within TEMPERATURE_TOLERANCE and the
unfamiliar-name p-value within two held-out steps.
"""

from __future__ import annotations

from pathlib import Path

from safetensors import safe_open

from nameclf import checkpoint
from nameclf.data import load_dataset
from nameclf.evaluate import test_examples
from nameclf.paths import bundled_names_dir
from nameclf.predict import Predictor

PROBABILITY_TOLERANCE = 1e-3  # 33 times the 3.0e-5 measured between kernels; a bias moved by 1e-2 breaks it
TEMPERATURE_TOLERANCE = 1e-4  # 3.3e-7 measured
NOVELTY_STEPS = 2  # novelty_p moves in steps of 1 / (held-out names + 1)
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
    """Every way `candidate` answers differently from `reference` beyond the tolerances, one line each;
    empty when they agree."""
    expected, actual = checkpoint.load(reference), checkpoint.load(candidate)
    if expected.labels != actual.labels or expected.vocabulary.characters != actual.vocabulary.characters:
        return ["labels or vocabulary differ"]
    problems = []
    temperatures = (expected.temperature or 1.0, actual.temperature or 1.0)
    if abs(temperatures[0] - temperatures[1]) > TEMPERATURE_TOLERANCE:
        problems.append(f"temperature: {temperatures[1]} against {temperatures[0]}")
    names = probe_names(expected)
    answers = [Predictor(saved).predict(names, top_k=len(saved.labels)) for saved in (expected, actual)]
    changed = [f"{a.name}: {b.language} against {a.language}" for a, b in zip(*answers) if a.language != b.language]
    if changed:
        problems.append(f"{len(changed)} of {len(names)} answers differ, e.g. {changed[0]}")
    gaps = [abs(p - dict(b.top)[label]) for a, b in zip(*answers) for label, p in a.top]
    if max(gaps) > PROBABILITY_TOLERANCE:
        problems.append(f"probabilities differ by up to {max(gaps):.1e} (tolerance {PROBABILITY_TOLERANCE:.0e})")
    if expected.novelty is not None:
        step = 1 / (len(expected.novelty.held_out) + 1)
        novelty = max(abs(a.novelty_p - b.novelty_p) for a, b in zip(*answers) if a.novelty_p is not None)
        if novelty > NOVELTY_STEPS * step + 1e-12:
            problems.append(f"novelty_p differs by up to {novelty:.2e} (tolerance {NOVELTY_STEPS} steps of {step:.2e})")
    return problems
