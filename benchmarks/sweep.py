"""Pick `nameclf train`'s default hyper-parameters (German/Italian) by mean VALIDATION accuracy.

Coarse-to-fine, per cell:

1. screen: hidden {32, 64, 128} x lr {2e-3, 5e-3, 1e-2}, unidirectional, batch 32, 40 epochs / patience 10,
   on the first `--screen-seeds` seeds;
2. refine: around the two best screened configs, one change at a time: bidirectional on/off,
   batch 16 / 64, 2 layers with dropout 0.2, 60 epochs / patience 12 (same seeds);
3. confirm: the `--top` best configs (mean training seconds under `--time-limit`) on every seed in `--seeds`.

Every candidate is scored by the MEAN validation accuracy over seeds (the seed changes the split and
the initial weights), ties broken by the mean validation loss. The test split is never read while
choosing; `--report-test` evaluates only the chosen config per cell, afterwards, on the same seeds'
test splits, and `--wall-check` times the real `nameclf train` command (Python start-up included).

Each (config, seed) result is cached in a JSONL file, so rerunning the script reprints the tables
without training again (use `--fresh` to retrain everything).

    .venv/bin/python benchmarks/sweep.py                       # the sweep: 207 runs, ~14 min on an idle 2-core box
    .venv/bin/python benchmarks/sweep.py --jobs 7              # ~2.5 min on 16 cores (each run pinned to 2 cores)
    .venv/bin/python benchmarks/sweep.py --report-test --wall-check   # + test accuracy of the chosen configs
    .venv/bin/python benchmarks/sweep.py --quick --cells rnn   # a smoke test
    .venv/bin/python benchmarks/sweep.py --cache benchmarks/results/sweep_results.jsonl   # reprint the recorded sweep

benchmarks/results/sweep_results.jsonl and .log are the recorded run (--jobs 7 --report-test, 16-core Xeon, torch 2.11,
CPU only); rerunning seeds 0-4 of the chosen configs here (torch 2.13) gave the same validation accuracies.

Timings need an idle machine: with torch's 2 OpenMP threads on 2 cores, any other busy process makes a
run 10-100x slower (a 8 s GRU run took 405 s beside two other trainings), so run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from nameclf.training import TrainConfig, train

# The sweep predates weight averaging (now on by default, chosen in benchmarks/recipes.py): it trains
# without it, so that a rerun reproduces the recorded sweep_results.jsonl.
NO_AVERAGING = 0.0


@dataclass(frozen=True)
class Candidate:
    cell: str
    hidden: int = 64
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    lr: float = 5e-3
    batch_size: int = 32
    epochs: int = 40
    patience: int = 10

    def slug(self) -> str:
        return (
            f"{self.cell}-h{self.hidden}-l{self.layers}-{'bi' if self.bidirectional else 'uni'}-d{self.dropout:g}"
            f"-lr{self.lr:g}-b{self.batch_size}-e{self.epochs}p{self.patience}"
        )

    def cli_args(self) -> list[str]:
        return [
            f"--cell={self.cell}",
            f"--hidden={self.hidden}",
            f"--layers={self.layers}",
            "--bidirectional" if self.bidirectional else "--unidirectional",
            f"--dropout={self.dropout:g}",
            f"--lr={self.lr:g}",
            f"--batch-size={self.batch_size}",
            f"--epochs={self.epochs}",
            f"--patience={self.patience}",
            f"--average={NO_AVERAGING:g}",
        ]


@dataclass
class Score:
    candidate: Candidate
    seeds: list[int]
    accuracies: list[float]
    losses: list[float]
    seconds: list[float]
    best_epochs: list[int]

    @property
    def accuracy(self) -> float:
        return statistics.fmean(self.accuracies)

    @property
    def accuracy_std(self) -> float:
        return statistics.stdev(self.accuracies) if len(self.accuracies) > 1 else 0.0

    @property
    def loss(self) -> float:
        return statistics.fmean(self.losses)

    @property
    def time(self) -> float:
        return statistics.fmean(self.seconds)

    def key(self):
        return (self.accuracy, -self.loss)


_WORKER: dict = {}


def _worker_init(cores_queue, threads: int) -> None:
    """A pool worker: pinned to its own `threads` cores, so parallel runs do not share cores."""
    cores = cores_queue.get()
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cores)
    _WORKER["warmed"] = set()


def _train_one(job):
    """Train one (candidate, seed); return the record to cache. Runs in the main process or a worker."""
    candidate_fields, seed, threads, data, out = job
    candidate = Candidate(**candidate_fields)
    warmed = _WORKER.setdefault("warmed", set())

    def config(**changes):
        fields = asdict(candidate)
        fields.update(changes)
        fields.setdefault("seed", seed)
        return TrainConfig(**fields, threads=threads, device="cpu", char_dropout=0.01, average=NO_AVERAGING)

    if candidate.cell not in warmed:  # one untimed 1-epoch run per cell: one-off kernel set-up costs no one
        warmup = Path(out) / "_warmup" / f"{candidate.cell}-{os.getpid()}"
        train(config(epochs=1, seed=0), data_dir=Path(data), out=warmup, mark_latest=False)
        warmed.add(candidate.cell)
    folder = Path(out) / candidate.slug() / f"seed{seed}"
    result = train(config(), data_dir=Path(data), out=folder, mark_latest=False)
    metrics, training = result.config["metrics"], result.config["training"]
    return {
        "candidate": candidate_fields,
        "seed": seed,
        "validation_accuracy": metrics["validation_accuracy"],
        "validation_loss": metrics["validation_loss"],
        "training_seconds": result.config["training_seconds"],
        "best_epoch": training["best_epoch"],
        "epochs_run": training["epochs_run"],
        "loadavg": os.getloadavg()[0],
        "cores": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }


class Runner:
    """Trains (config, seed) pairs, in parallel when --jobs > 1, caching each result as one JSON line."""

    def __init__(self, args):
        self.data = Path(args.data)
        self.out = Path(args.out)
        self.cache_path = Path(args.cache)
        self.threads = args.threads
        self.jobs = args.jobs
        self.results: dict[str, dict] = {}
        self.trained = 0
        self.pool = None
        if args.fresh and self.cache_path.exists():
            self.cache_path.unlink()
        if self.cache_path.exists():
            for line in self.cache_path.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    self.results[record["key"]] = record

    def key(self, candidate: Candidate, seed: int) -> str:
        return f"{candidate.slug()}|seed={seed}|threads={self.threads}"

    def model_dir(self, candidate: Candidate, seed: int) -> Path:
        return self.out / candidate.slug() / f"seed{seed}"

    def config(self, candidate: Candidate, seed: int) -> TrainConfig:
        return TrainConfig(
            **asdict(candidate), seed=seed, threads=self.threads, device="cpu", char_dropout=0.01, average=NO_AVERAGING
        )

    def _record(self, record: dict) -> None:
        candidate = Candidate(**record["candidate"])
        record = {"key": self.key(candidate, record["seed"]), **record}
        self.results[record["key"]] = record
        self.trained += 1
        with self.cache_path.open("a") as cache:
            cache.write(json.dumps(record) + "\n")
        print(
            f"  {candidate.slug():<52} seed {record['seed']}: val acc {record['validation_accuracy']:.4f} "
            f"loss {record['validation_loss']:.4f}  {record['training_seconds']:5.1f} s  "
            f"best epoch {record['best_epoch']}/{record['epochs_run']}",
            flush=True,
        )

    def ensure(self, candidates: list[Candidate], seeds: list[int]) -> None:
        """Train every (candidate, seed) pair not in the cache yet."""
        jobs = [
            (asdict(c), seed, self.threads, str(self.data), str(self.out))
            for c in candidates
            for seed in seeds
            if self.key(c, seed) not in self.results
        ]
        if not jobs:
            return
        if self.jobs <= 1:
            for job in jobs:
                self._record(_train_one(job))
            return
        if self.pool is None:
            import multiprocessing

            context = multiprocessing.get_context("spawn")  # no fork after torch's OpenMP has started
            cores_queue = context.Queue()
            available = sorted(os.sched_getaffinity(0))
            for worker in range(self.jobs):
                cores = set(available[worker * self.threads : (worker + 1) * self.threads])
                cores_queue.put(cores if len(cores) == self.threads else None)
            self.pool = context.Pool(self.jobs, _worker_init, (cores_queue, self.threads))
        for record in self.pool.imap_unordered(_train_one, jobs):
            self._record(record)

    def score(self, candidate: Candidate, seeds: list[int]) -> Score:
        self.ensure([candidate], seeds)
        records = [self.results[self.key(candidate, seed)] for seed in seeds]
        return Score(
            candidate,
            list(seeds),
            [r["validation_accuracy"] for r in records],
            [r["validation_loss"] for r in records],
            [r["training_seconds"] for r in records],
            [r["best_epoch"] for r in records],
        )


def print_table(title: str, scores: list[Score]) -> None:
    print(f"\n== {title}")
    header = (
        f"{'cell':<5} {'hid':>4} {'lay':>3} {'bi':>3} {'drop':>4} {'lr':>6} {'batch':>5} {'ep/pat':>6} "
        f"{'seeds':>5} {'val acc mean±std':>17} {'val loss':>8} {'train s':>7} {'med s':>6} {'best ep':>7}"
    )
    print(header)
    print("-" * len(header))
    for s in sorted(scores, key=Score.key, reverse=True):
        c = s.candidate
        print(
            f"{c.cell:<5} {c.hidden:>4} {c.layers:>3} {'yes' if c.bidirectional else 'no':>3} {c.dropout:>4g} "
            f"{c.lr:>6g} {c.batch_size:>5} {f'{c.epochs}/{c.patience}':>6} {len(s.seeds):>5} "
            f"{s.accuracy:>8.4f} ± {s.accuracy_std:.4f} {s.loss:>8.4f} {s.time:>7.2f} "
            f"{statistics.median(s.seconds):>6.2f} "
            f"{statistics.fmean(s.best_epochs):>7.1f}",
            flush=True,
        )


def grids(cell: str, quick: bool):
    """(screen candidates, refine(base) -> variants)."""
    if quick:
        screen = [Candidate(cell, hidden=64, lr=lr, epochs=10, patience=3) for lr in (5e-3, 1e-2)]

        def refine(base: Candidate) -> list[Candidate]:
            return [replace(base, bidirectional=not base.bidirectional)]

        return screen, refine
    screen = [Candidate(cell, hidden=h, lr=lr) for h in (32, 64, 128) for lr in (2e-3, 5e-3, 1e-2)]

    def refine(base: Candidate) -> list[Candidate]:
        return [
            replace(base, bidirectional=not base.bidirectional),
            replace(base, batch_size=16),
            replace(base, batch_size=64),
            replace(base, layers=2, dropout=0.2),
            replace(base, epochs=60, patience=12),
        ]

    return screen, refine


def best(scores: list[Score], limit: float, n: int) -> list[Score]:
    fast = [s for s in scores if s.time < limit]
    return sorted(fast, key=Score.key, reverse=True)[:n]


def sweep(runner: Runner, cells: list[str], args) -> dict[str, Score | None]:
    """Screen, refine and confirm, each stage for all cells at once (so --jobs has work to share)."""
    seeds = args.seeds
    screen_seeds = seeds[: args.screen_seeds]
    plans = {cell: grids(cell, args.quick) for cell in cells}

    print(f"\n### screening on seeds {screen_seeds}", flush=True)
    runner.ensure([c for cell in cells for c in plans[cell][0]], screen_seeds)
    scored = {cell: {c: runner.score(c, screen_seeds) for c in plans[cell][0]} for cell in cells}
    for cell in cells:
        print_table(f"{cell}: screen (seeds {screen_seeds})", list(scored[cell].values()))

    variants: dict[str, list[Candidate]] = {}
    for cell in cells:
        variants[cell] = []
        for base in best(list(scored[cell].values()), args.time_limit, 2):
            variants[cell] += [
                v for v in plans[cell][1](base.candidate) if v not in scored[cell] and v not in variants[cell]
            ]
    print(f"\n### refining: one change at a time around the 2 best per cell, seeds {screen_seeds}", flush=True)
    runner.ensure([v for cell in cells for v in variants[cell]], screen_seeds)
    for cell in cells:
        scored[cell].update({v: runner.score(v, screen_seeds) for v in variants[cell]})
        print_table(f"{cell}: screen + refine (seeds {screen_seeds})", list(scored[cell].values()))

    finalists = {cell: best(list(scored[cell].values()), args.time_limit, args.top) for cell in cells}
    print(f"\n### confirming the {args.top} best per cell on seeds {seeds}", flush=True)
    runner.ensure([s.candidate for cell in cells for s in finalists[cell]], seeds)
    chosen = {}
    for cell in cells:
        confirmed = [runner.score(s.candidate, seeds) for s in finalists[cell]]
        print_table(f"{cell}: confirmed (seeds {seeds})", confirmed)
        picked = best(confirmed, args.time_limit, 1)
        chosen[cell] = picked[0] if picked else None
    return chosen


def report_test(runner: Runner, chosen: Score) -> list[float]:
    """Test accuracy of the chosen config's model for each seed (retrained if its folder is gone)."""
    from nameclf.checkpoint import load
    from nameclf.evaluate import evaluate_examples, test_examples
    from nameclf.predict import Predictor

    accuracies = []
    for seed in chosen.seeds:
        folder = runner.model_dir(chosen.candidate, seed)
        try:
            saved = load(folder)
        except Exception:
            train(runner.config(chosen.candidate, seed), data_dir=runner.data, out=folder, mark_latest=False)
            saved = load(folder)
        report = evaluate_examples(Predictor(saved), test_examples(saved, runner.data), "test")
        accuracies.append(report.accuracy)
    return accuracies


def wall_check(runner: Runner, chosen: Score, seed: int) -> float:
    """Wall seconds of the real `nameclf train --quiet --device=cpu` (a new Python process, default threads)."""
    script = Path(sys.executable).with_name("nameclf")
    program = [str(script)] if script.exists() else [sys.executable, "-m", "nameclf"]
    out = runner.out / "_wallcheck" / f"{chosen.candidate.cell}-seed{seed}"
    command = [
        *program,
        "train",
        "--quiet",
        *chosen.candidate.cli_args(),
        f"--seed={seed}",
        "--device=cpu",
        f"--data={runner.data}",
        f"--out={out}",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="lstm,gru,rnn", help="comma-separated cells (default: lstm,gru,rnn)")
    parser.add_argument("--seeds", default="0,1,2,3,4,5,6", help="seeds for confirmation (default: 0-6)")
    parser.add_argument("--screen-seeds", type=int, default=3, help="how many of --seeds to screen on (default: 3)")
    parser.add_argument("--top", type=int, default=3, help="configs per cell to confirm on every seed (default: 3)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="most mean training seconds (default: 10)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run (default: 2)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs in parallel, each pinned to its own --threads cores (default: 1; keep 1 on a 2-core "
        "machine; on a bigger one, N jobs give 2-core timings as long as 2N <= cores)",
    )
    parser.add_argument("--wall-seeds", default="0", help="seeds for --wall-check (default: 0)")
    parser.add_argument("--quick", action="store_true", help="a tiny grid, 2 screening seeds, 10 epochs: a smoke test")
    parser.add_argument("--report-test", action="store_true", help="test accuracy of the chosen config per cell")
    parser.add_argument("--wall-check", action="store_true", help="time `nameclf train` for the chosen configs")
    parser.add_argument("--data", default="/tmp/sweepdata", help="folder holding names/ (default: /tmp/sweepdata)")
    parser.add_argument("--out", default="/tmp/sweepout", help="model folders (default: /tmp/sweepout)")
    parser.add_argument(
        "--cache", default="/tmp/sweep_cache.jsonl", help="result cache (default: /tmp/sweep_cache.jsonl)"
    )
    parser.add_argument("--fresh", action="store_true", help="ignore and delete the cache")
    args = parser.parse_args()
    args.seeds = [int(s) for s in args.seeds.split(",")]
    if args.quick:
        args.screen_seeds, args.top = min(args.screen_seeds, 2), 1
        args.cache = args.cache.replace(".jsonl", "-quick.jsonl")
    if not (Path(args.data) / "names").is_dir():
        from nameclf.paths import bundled_names_dir

        shared = Path("/work/shared/data/names")
        shutil.copytree(shared if shared.is_dir() else bundled_names_dir(), Path(args.data) / "names")

    runner = Runner(args)
    started = time.perf_counter()
    chosen = sweep(runner, args.cells.split(","), args)
    if runner.pool is not None:
        runner.pool.close()
    elapsed = time.perf_counter() - started

    print_table("chosen config per cell (validation only)", [s for s in chosen.values() if s])
    for cell, s in chosen.items():
        if s is None:
            print(f"{cell}: no config under {args.time_limit} s")
        else:
            print(f"{cell}: nameclf train {' '.join(s.candidate.cli_args())}")
    winner = max((s for s in chosen.values() if s), key=Score.key, default=None)
    if winner:
        print(f"best cell: {winner.candidate.cell}")
    print(f"\nsweep: {runner.trained} runs trained now ({len(runner.results)} cached), {elapsed:.0f} s")

    if args.report_test or args.wall_check:
        print("\n== chosen configs, reported after choosing")
        for cell, s in chosen.items():
            if s is None:
                continue
            line = f"{cell:<5} val acc {s.accuracy:.4f} ± {s.accuracy_std:.4f}  train {s.time:.2f} s"
            if args.report_test:
                test = report_test(runner, s)
                std = statistics.stdev(test) if len(test) > 1 else 0.0
                line += f"  test acc {statistics.fmean(test):.4f} ± {std:.4f} (seeds {s.seeds})"
            if args.wall_check:
                walls = [wall_check(runner, s, int(seed)) for seed in args.wall_seeds.split(",")]
                line += f"  `nameclf train` wall max {max(walls):.1f} s, mean {statistics.fmean(walls):.1f} s"
                line += f" (seeds {args.wall_seeds}, load {os.getloadavg()[0]:.1f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
