"""Wall time of `nameclf train` and test accuracy of `nameclf evaluate`, per cell, through the CLI.

    .venv/bin/python benchmarks/cells.py [--cells lstm,gru,rnn,lstm_peephole,lstm_coupled] [--seeds 0]
                                         [--languages German,Italian] [-- extra train options]

Cells torch has no fused kernel for are trained with --impl scratch. Defaults choose nothing here:
they were chosen on validation accuracy (docs/studies.md, "sweep"); this reports what they give.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import common

from nameclf.cells import TORCH_CELLS, Cell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="lstm,gru,rnn")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--languages", default="German,Italian")
    parser.add_argument("extra", nargs="*", help="more `nameclf train` options")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nameclf-cells-"))
    env = dict(os.environ, NAMECLF_DATA=str(workdir / "data"), NAMECLF_MODELS=str(workdir / "models"))
    shutil.copytree(common.NAMES_DIR, workdir / "data" / "names")
    print(f"{'cell':14s} {'seed':>4s} {'train wall s':>12s} {'best epoch':>10s} {'validation':>10s} {'test':>7s}")
    try:
        for cell in args.cells.split(","):
            impl = "torch" if Cell(cell) in TORCH_CELLS else "scratch"
            tests = []
            for seed in args.seeds.split(","):
                out = workdir / "models" / f"{cell}-{seed}"
                command = [str(common.SCRIPT), "train", "--quiet", "--cell", cell, "--impl", impl, "--seed", seed]
                command += ["--languages", args.languages, "--out", str(out), *args.extra]
                wall = common.seconds(subprocess.run, command, check=True, env=env, capture_output=True)
                evaluate = [str(common.SCRIPT), "evaluate", "--json", "--model", str(out)]
                answer = subprocess.run(evaluate, check=True, env=env, capture_output=True, text=True)
                report = json.loads(answer.stdout)
                config = json.loads((out / "config.json").read_text())
                tests.append(report["accuracy"])
                print(
                    f"{cell + ('*' if impl == 'scratch' else ''):14s} {seed:>4s} {wall:12.1f} "
                    f"{config['training']['best_epoch']:>10d} {config['metrics']['validation_accuracy']:10.4f} "
                    f"{report['accuracy']:7.4f}",
                    flush=True,
                )
            if len(tests) > 1:
                print(f"{cell:14s} mean test accuracy {statistics.mean(tests):.4f} ± {statistics.stdev(tests):.4f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if any(Cell(cell) not in TORCH_CELLS for cell in args.cells.split(",")):
        print("* trained with --impl scratch (the equations in nameclf/cells.py, run by autograd)")


if __name__ == "__main__":
    main()
