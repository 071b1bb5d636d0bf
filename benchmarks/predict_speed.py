"""How fast nameclf answers: cold `nameclf predict` vs `import torch`, and batch throughput per backend.

    .venv/bin/python benchmarks/predict_speed.py [--model DIR] [--names 100000] [--repeats 5]

Trains a default German/Italian model into a temporary folder first when --model is not given.
Both sides of each comparison are measured in the same run, interleaved (after one warm-up round),
so a busy machine slows both alike; the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import common


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
            model = workdir / "model"
            shutil.copytree(common.NAMES_DIR, workdir / "data" / "names")
            subprocess.run([str(common.SCRIPT), "train", "--quiet", "--out", str(model)], check=True, env=env)

        times = common.cold_predict(model, args.repeats, "torch", env)
        cold, torch_import, fastest = times["median_seconds"], times["torch_import_seconds"], times["min_seconds"]
        print(f"cold `nameclf predict Tribbiani`: {cold:.3f} s (median of {args.repeats}, min {fastest:.3f})")
        print(f"`python -c 'import torch'`:       {torch_import:.3f} s (median of {args.repeats})")
        print(f"predict / import torch:           {cold / torch_import:.2f}")

        from nameclf.predict import Predictor

        names = common.draw_names(args.names)
        rates = {}
        for backend in ("numpy", "torch"):
            predictor = Predictor.load(model, backend=backend)
            predictor.predict(names[:1000])  # warm-up
            rates[backend] = len(names) / common.best_seconds(3, predictor.predict, names)
            print(f"{backend:5s} backend: {rates[backend]:>10,.0f} names/s on {len(names):,} names (best of 3)")
        print(f"numpy / torch throughput:         {rates['numpy'] / rates['torch']:.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
