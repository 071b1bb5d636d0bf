"""Batch prediction at scale (issue 13): a 1,000,000-name Parquet file labelled by `nameclf.on_dask`'s
`label_file` (what `nameclf predict --file ... --out ... --workers N` runs) on a local Dask cluster of 1 and
of 2 worker processes, against the in-process numpy predictor; cluster start-up time; each worker's peak
memory (ru_maxrss) for 1M and 4M names.

    .venv/bin/python benchmarks/scale.py            # about 6 min on 2 cores; writes benchmarks/results/scale.json
    .venv/bin/python benchmarks/scale.py --names 200000 --big 400000   # a quick check

Names are drawn from the 18 dataset files (seed 0), written as pandas writes Parquet; the de-it model
answers. 1 and 2 workers are timed in turn (1, 2, 1, 2) on fresh clusters; names/s excludes start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import numpy as np  # noqa: E402
from common import say  # noqa: E402


def make_table(path: Path, count: int, seed: int = 0) -> None:
    import pandas as pd

    names = pd.array(common.draw_names(count, seed), dtype="string")
    pd.DataFrame({"id": np.arange(count), "surname": names}).to_parquet(path)


def in_process(path: Path, repeats: int = 2) -> float:
    """Names/s of the numpy predictor in this process, on the whole column at once (best of `repeats`)."""
    import pandas as pd

    import nameclf

    names = pd.read_parquet(path)["surname"]
    return len(names) / common.best_seconds(repeats, nameclf.load("de-it").predict_frame, names)


def peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def on_cluster(path: Path, workers: int) -> dict[str, float]:
    """A fresh local cluster of `workers` processes labels the table into a Parquet file."""
    from distributed import Client

    import nameclf
    from nameclf.on_dask import label_file, local_cluster

    predictor = nameclf.load("de-it")
    started = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        start_up = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="nameclf-scale-") as scratch:
            began = time.perf_counter()
            rows = label_file(path, "surname", Path(scratch) / "out.parquet", predictor, client=client).rows
            seconds = time.perf_counter() - began
        peaks = sorted(client.run(peak_rss).values())
    return {
        "workers": workers,
        "rows": rows,
        "seconds": round(seconds, 2),
        "names_per_second": rows / seconds,
        "start_up_seconds": round(start_up, 2),
        "worker_peak_mib": [round(p / 2**20, 1) for p in peaks],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=4_000_000, help="the larger file, for memory only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nameclf-scale-data-") as scratch:
        table, big = Path(scratch) / "names.parquet", Path(scratch) / "big.parquet"
        say(f"writing {args.names:,} and {args.big:,} names")
        make_table(table, args.names)
        make_table(big, args.big, seed=1)
        say("in process")
        local = in_process(table)
        runs = []
        for workers in (1, 2, 1, 2):
            run = on_cluster(table, workers)
            runs.append(run)
            say(f"  {workers} worker(s): {run['names_per_second']:,.0f} names/s, start-up {run['start_up_seconds']} s")
        say(f"{args.big:,} names on 2 workers")
        large = on_cluster(big, 2)
    one, two = ([r for r in runs if r["workers"] == workers] for workers in (1, 2))
    ratios = [b["names_per_second"] / a["names_per_second"] for a, b in zip(one, two)]
    results = {
        "names": args.names,
        "in_process_names_per_second": local,
        "runs": runs,
        "large": large,
        "two_over_one": ratios,
        "one_worker_over_in_process": [r["names_per_second"] / local for r in one],
        "machine": {"cores": os.cpu_count(), "commit": common.commit()},
    }
    common.write_json(common.ROOT / "benchmarks" / "results" / "scale.json", results)
    print(f"in process: {local:,.0f} names/s")
    for workers, rows in ((1, one), (2, two)):
        rates = [r["names_per_second"] for r in rows]
        each = ", ".join(f"{x:,.0f}" for x in rates)
        print(
            f"{workers} worker(s): {statistics.median(rates):,.0f} names/s (runs: {each}), "
            f"start-up {statistics.median(r['start_up_seconds'] for r in rows):.2f} s, "
            f"worker peak MiB {max(max(r['worker_peak_mib']) for r in rows)}"
        )
    print(f"2 workers / 1 worker, paired: {', '.join(f'{x:.2f}' for x in ratios)} (target >= 1.7)")
    over = ", ".join(f"{x:.2f}" for x in results["one_worker_over_in_process"])
    print(f"1 worker / in process: {over} (target >= 0.8)")
    peak = max(max(r["worker_peak_mib"]) for r in two)
    print(f"worker peak MiB: {args.names:,} names {peak}, {args.big:,} names {max(large['worker_peak_mib'])}")


if __name__ == "__main__":
    main()
