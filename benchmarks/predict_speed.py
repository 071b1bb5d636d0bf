"""How fast nameclf answers: cold `nameclf predict` vs `import torch`, and batch throughput per backend.

    .venv/bin/python benchmarks/predict_speed.py [--model DIR] [--names 100000] [--repeats 5]

Trains a default German/Italian model into a temporary folder first when --model is not given.
Both sides of each comparison are measured in the same run, interleaved, so a busy machine
slows both alike; the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nameclf.data import read_names
from nameclf.paths import bundled_names_dir

SCRIPT = Path(sys.executable).with_name("nameclf")


def wall(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nameclf-bench-"))
    env = dict(os.environ, NAMECLF_DATA=str(workdir / "data"), NAMECLF_MODELS=str(workdir / "models"))
    try:
        model = args.model
        if model is None:
            shutil.copytree(bundled_names_dir(), workdir / "data" / "names")
            subprocess.run([str(SCRIPT), "train", "--quiet", "--out", str(workdir / "model")], check=True, env=env)
            model = workdir / "model"

        predict_times, torch_times = [], []
        for _ in range(args.repeats):
            predict_times.append(wall([str(SCRIPT), "predict", "Tribbiani", "--model", str(model)], env))
            torch_times.append(wall([sys.executable, "-c", "import torch"], env))
        cold, torch_import = statistics.median(predict_times), statistics.median(torch_times)
        fastest = min(predict_times)
        print(f"cold `nameclf predict Tribbiani`: {cold:.3f} s (median of {args.repeats}, min {fastest:.3f})")
        print(f"`python -c 'import torch'`:       {torch_import:.3f} s (median of {args.repeats})")
        print(f"predict / import torch:           {cold / torch_import:.2f}")

        from nameclf.predict import Predictor

        pool = [name for path in sorted(bundled_names_dir().glob("*.txt")) for name in read_names(path)]
        rng = np.random.default_rng(0)
        names = [pool[i] for i in rng.integers(0, len(pool), size=args.names)]
        rates = {}
        for backend in ("numpy", "torch"):
            predictor = Predictor.load(model, backend=backend)
            predictor.predict(names[:1000])  # warm-up
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                answers = predictor.predict(names)
                best = min(best, time.perf_counter() - started)
            assert len(answers) == len(names)
            rates[backend] = len(names) / best
            print(f"{backend:5s} backend: {rates[backend]:>10,.0f} names/s on {len(names):,} names (best of 3)")
        print(f"numpy / torch throughput:         {rates['numpy'] / rates['torch']:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
