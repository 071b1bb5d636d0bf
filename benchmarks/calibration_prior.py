"""Choose the prior on the calibration temperature on VALIDATION data only (never the test split).

For each seed: train the task's default, take the network's own log-probabilities on the validation
names, fit the temperature on one seeded half (`nameclf.calibration.calibration_halves`) with each
prior strength, and score the other half: NLL and ECE before and after. nameclf uses PRIOR_SD = 0.2.

    .venv/bin/python benchmarks/calibration_prior.py --languages German,Italian --seeds 6   # ~1 min
    .venv/bin/python benchmarks/calibration_prior.py --languages all --seeds 3              # ~5 min
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from nameclf import calibration  # noqa: E402
from nameclf.data import load_dataset, split_dataset  # noqa: E402
from nameclf.paths import bundled_names_dir  # noqa: E402
from nameclf.predict import Predictor  # noqa: E402
from nameclf.training import TrainConfig, train  # noqa: E402

STRENGTHS = (1.0, 0.5, 0.3, 0.2, 0.1)


def validation_scores(languages: str, seed: int):
    """The default model's uncalibrated log-probabilities and the truth, on the seed's validation names."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "model"
        config = TrainConfig(languages=languages, seed=seed, threads=1)
        train(config, bundled_names_dir().parent, out, mark_latest=False)
        predictor = Predictor.load(out)
        names = split_dataset(load_dataset(bundled_names_dir(), languages), seed).validation
        encoded = [predictor.vocabulary.encode(example.name) for example in names]
        raw = predictor.log_probabilities(encoded, calibrated=False).astype(np.float64)
        return raw, calibration.truth_matrix([example.labels for example in names], predictor.labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="German,Italian")
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    runs = []
    for seed in range(args.seeds):
        raw, truth = validation_scores(args.languages, seed)
        runs.append((raw, truth, *calibration.calibration_halves(len(truth), seed)))
    for strength in STRENGTHS:
        calibration.PRIOR_SD = strength
        temperatures, before, after = [], [], []
        for raw, truth, fit, held in runs:
            temperature = calibration.fit_temperature(raw[fit], truth[fit])
            temperatures.append(temperature)
            before.append(calibration.figures(raw[held], truth[held]))
            after.append(calibration.figures(calibration.scaled(raw[held], temperature), truth[held]))
        mean = {key: (np.mean([b[key] for b in before]), np.mean([a[key] for a in after])) for key in ("nll", "ece")}
        print(
            f"prior sd {strength}: T {' '.join(f'{t:.2f}' for t in temperatures)}; held-out half: "
            f"NLL {mean['nll'][0]:.4f} -> {mean['nll'][1]:.4f}, ECE {mean['ece'][0]:.4f} -> {mean['ece'][1]:.4f}"
        )


if __name__ == "__main__":
    main()
