"""Label a table of any size on Dask: a laptop's local cluster, or an existing one (Slurm, Kubernetes,
a cloud) by its scheduler's address. nameclf brings no scheduler of its own.

    import dask.dataframe as dd
    import nameclf.on_dask
    frame = dd.read_parquet("voters/*.parquet")
    labelled = nameclf.on_dask.predict(frame, "surname")       # lazy: map_partitions
    labelled.to_parquet("labelled/")                           # runs on the current Dask client

The predictor travels to the workers as its config and weights (a few hundred KB), and each worker
process builds it once and keeps it (`nameclf.predict._restore`): never per row or per partition.
BLAS runs one thread per worker. `label_file` is the CLI's `predict --file ... --out ...`: it reads
Parquet or CSV in partitions, labels them on a local cluster, a remote one or in this process, and
writes one Parquet or CSV file through a temporary file renamed into place, so an interrupted run
leaves nothing where `--out` points.

Needs the `dask` extra: `pip install 'nameclf[dask]'` (dask[dataframe], distributed, pyarrow).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

from nameclf.errors import DataError, NetworkError, UsageError
from nameclf.inputs import PARQUET_SUFFIXES, no_names
from nameclf.labelled import Columns
from nameclf.options import PredictOptions
from nameclf.predict import Predictor
from nameclf.tables import INSTALL, as_csv_text, free_column, meta, predict_frame

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa  # untyped: Any
    import pyarrow.parquet as pq
    from distributed import Client, LocalCluster

PARQUET = PARQUET_SUFFIXES
CSV = (".csv",)
BLOCKSIZE = "2MB"  # a CSV's partitions: about 150,000 short rows each
ROWS_PER_PARTITION = 100_000  # a Parquet file is split into partitions of about this many rows


def require_dask() -> ModuleType:
    """dask.dataframe, or a one-line error saying how to install it."""
    try:
        import dask.dataframe as dd
    except ImportError:
        raise UsageError(f"this needs Dask, which is not installed; install it with `{INSTALL}`") from None
    return dd


def _label(
    partition: Any,
    column: str,
    predictor: Predictor,
    names: dict[str, str],
    options: PredictOptions,
    probabilities: bool,
) -> Any:
    import pandas as pd

    results = predict_frame(predictor, partition[column], options, probabilities).rename(columns=names)
    joined = pd.concat([partition.reset_index(drop=True), results.reset_index(drop=True)], axis=1)
    joined.index = partition.index
    return joined


def predict(
    frame: Any,
    column: str | None = None,
    model: str | Path | Predictor | None = None,
    options: PredictOptions | None = None,
    *,
    probabilities: bool = False,
    **changes: Any,
) -> Any:
    """`frame` (a Dask DataFrame, or a Series of names) with the result columns added, lazily.

    The columns and their dtypes are those of `nameclf.tables.meta` (a name the input already uses gets
    `nameclf_` in front); `model` is a shipped name, a folder or a loaded Predictor; `options` (or
    keywords changing single ones, `top_k=3`) as `Predictor.predict` takes them."""
    require_dask()
    import dask.dataframe as dd
    import pandas as pd

    options = PredictOptions.of(options, **changes)
    predictor = model if isinstance(model, Predictor) else Predictor.load(model)
    predictor.cutoff(options)  # a model that cannot honour the options fails here, not on a worker
    if isinstance(frame, dd.Series):
        column = column or frame.name or "name"
        frame = frame.to_frame(name=column)
    if column is None or column not in frame.columns:
        found = ", ".join(map(str, frame.columns)) or "nothing"
        raise DataError(f"the table has no column {column!r} (columns: {found}); pass one of them")
    empty = meta(predictor.languages if probabilities else None, labels_are=predictor.labels_are)
    names = {name: free_column(name, set(frame.columns)) for name in empty.columns}
    expected = pd.concat([frame._meta.reset_index(drop=True), empty.rename(columns=names)], axis=1)
    expected.index = frame._meta.index
    return frame.map_partitions(
        _label, column, predictor, names, options, probabilities, meta=expected, align_dataframes=False
    )


def _kind(path: Path, option: str) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        return "parquet"
    if suffix in CSV:
        return "csv"
    raise UsageError(f"{option} {path}: name a .parquet or .csv file (the format is read from the suffix)")


def read_table(path: Path, column: str) -> dd.DataFrame:
    """A Parquet file (or folder of them) or a CSV file, as a Dask DataFrame in partitions; CSV cells
    are kept as text exactly as written (no type guessing, `NA` stays a name)."""
    require_dask()
    import dask.dataframe as dd

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist; pass the table to label with --file")
    kind = "parquet" if path.is_dir() else _kind(path, "--file")
    frame: dd.DataFrame
    try:
        if kind == "parquet":
            frame = _read_parquet(path)
        else:
            frame = dd.read_csv(str(path), dtype=str, keep_default_na=False, blocksize=BLOCKSIZE)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path} as {kind} ({str(error).splitlines()[0][:200]})") from None
    if column not in frame.columns:
        found = ", ".join(map(str, frame.columns)) or "nothing"
        raise DataError(f"{path} has no column {column!r} (columns: {found}); pass --column with one of them")
    return frame


def _read_parquet(path: Path) -> dd.DataFrame:
    """A Parquet file (or a folder of them) as partitions of at most ROWS_PER_PARTITION rows, whatever
    its row groups (pandas writes a million rows per group): each partition reads its slice of one row
    group, so every worker gets work and none holds more than a row group at a time."""
    import pyarrow.parquet as pq
    from dask.delayed import delayed

    require_dask()
    import dask.dataframe as dd

    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in PARQUET) if path.is_dir() else [path]
    if not files:
        raise DataError(f"{path} holds no .parquet files; pass a Parquet file or a folder of them")
    pieces = []
    for file in files:
        metadata = pq.ParquetFile(str(file)).metadata
        for group in range(metadata.num_row_groups):
            rows = metadata.row_group(group).num_rows
            for start in range(0, max(rows, 1), ROWS_PER_PARTITION):
                pieces.append((str(file), group, start, min(start + ROWS_PER_PARTITION, rows)))
    empty = _as_frame(pq.read_schema(str(files[0])).empty_table())
    parts = [delayed(_read_piece)(*piece) for piece in pieces] or [delayed(lambda: empty)()]
    frame: dd.DataFrame = dd.from_delayed(parts, meta=empty, verify_meta=False)  # dask types it as Any
    return frame


def _read_piece(file: str, group: int, start: int, stop: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return _as_frame(pq.ParquetFile(file).read_row_group(group).slice(start, stop - start))


def _as_frame(table: pa.Table) -> pd.DataFrame:
    """A table as pandas; an index pandas saved with the file comes back as columns (it is input data)."""
    import pandas as pd

    frame: pd.DataFrame = table.to_pandas()
    reset: pd.DataFrame = frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex))  # pandas-stubs: Any
    return reset


@contextlib.contextmanager
def client_for(workers: int | None, scheduler: str | None) -> Iterator[Client | None]:
    """A Dask client on a local cluster of `workers` processes, or on the scheduler at `scheduler`;
    None (run in this process) without either."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        raise UsageError("choose one of --workers and --scheduler")
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(f"--workers and --scheduler need Dask's distributed; install it with `{INSTALL}`") from None
    if scheduler is not None:
        try:
            # distributed leaves Client's constructor and most of its methods unannotated
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError) as error:
            reason = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
            raise NetworkError(
                f"cannot reach the Dask scheduler at {scheduler} ({reason}); check the address, e.g. tcp://host:8786"
            ) from None
        with client:
            yield client
        return
    if workers is None or workers < 1:  # never None here: without a scheduler the workers were given
        raise UsageError("--workers must be at least 1")
    # Client's constructor is unannotated, as above
    with local_cluster(workers) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


def local_cluster(workers: int) -> LocalCluster:
    """A LocalCluster of `workers` processes of one thread each, made for nameclf's work.

    Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 so that they hand memory back to the
    system sooner; nameclf's many small numpy arrays then cost mmap and trim calls, and a worker ran
    at half the speed of the same code in one process (benchmarks/scale.py). Workers started here keep
    glibc's own default. On a cluster of your own, set the Dask config
    `distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null` for the same."""
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        # distributed leaves LocalCluster's constructor unannotated
        return LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        )


@dataclass
class Labelled:
    """What `label_file` wrote: how many rows, and how many of their names got no answer."""

    rows: int
    unanswered: int


def label_file(
    source: Path,
    column: str,
    out: Path,
    predictor: Predictor,
    options: PredictOptions | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    on_partition: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> Labelled:
    """Label `column` of the table at `source` into the table at `out` (input columns kept, result
    columns added, row order kept). `on_partition(done, total)` hears of each partition written.
    `client`: a Dask client already connected (then `workers` and `scheduler` are not used). A table
    with no rows is an error (`tables.no_names`), and leaves nothing at `out`."""
    out = Path(out)
    out_kind = _kind(out, "--out")
    if not out.parent.resolve().is_dir():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist; create it first")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name a .parquet or .csv file")
    table = read_table(source, column)
    labelled = predict(table, column, predictor, options)
    columns = meta(labels_are=predictor.labels_are).columns
    results = [free_column(name, set(table.columns)) for name in columns]
    language, abstained = results[0], results[columns.get_loc("abstained")]
    parts = labelled.to_delayed()
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    os.close(handle)
    rows = unanswered = 0
    try:
        connected = contextlib.nullcontext(client) if client is not None else client_for(workers, scheduler)
        with connected as active, _Writer(Path(temporary), out_kind, results) as writer:
            for done, frame in enumerate(_computed(parts, active), start=1):
                writer.write(frame)
                rows += len(frame)
                unanswered += int((frame[language].isna() & ~frame[abstained]).sum())
                if on_partition is not None:
                    on_partition(done, len(parts))
        if rows == 0:
            raise no_names(source, column)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, out)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if type(error).__name__ in ("KilledWorker", "CommClosedError", "FutureCancelledError"):
            raise NetworkError(
                f"a Dask worker died while labelling ({type(error).__name__}); nothing was written to {out}. "
                "Rerun, with fewer --workers if memory ran out"
            ) from None
        raise
    return Labelled(rows, unanswered)


def _computed(parts: list[Any], client: Client | None) -> Iterator[pd.DataFrame]:
    """Each partition's result, in order; on a cluster a few partitions per worker run ahead of the one
    being written, so memory stays bounded however long the table."""
    if client is None:
        for part in parts:
            yield part.compute(scheduler="synchronous")
        return
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    ahead = 2 * workers
    # distributed leaves Client.compute unannotated: its futures are Any
    pending = [client.compute(part) for part in parts[:ahead]]  # type: ignore[no-untyped-call]
    for index in range(len(parts)):
        if index + ahead < len(parts):
            pending.append(client.compute(parts[index + ahead]))  # type: ignore[no-untyped-call]
        future = pending[index]
        yield future.result()
        future.release()
        pending[index] = None


class _Writer:
    """One output file, written a partition at a time; in CSV the result columns (`results`) are
    written as `predict --csv` writes them (`tables.csv_text`)."""

    def __init__(self, path: Path, kind: str, results: list[str]) -> None:
        self.path, self.kind, self.results = path, kind, results
        self._parquet: pq.ParquetWriter | None = None
        self._csv: IO[str] | None = None

    def __enter__(self) -> _Writer:
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            frame = as_csv_text(frame, self.results)
            if self._csv is None:
                self._csv = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
                frame.to_csv(self._csv, index=False)
            else:
                frame.to_csv(self._csv, index=False, header=False)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(str(self.path), table.schema)
        elif table.schema != self._parquet.schema:
            table = table.cast(self._parquet.schema)
        self._parquet.write_table(table)

    def __exit__(self, *exc: object) -> None:
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()


def summed_people(source: Path, columns: Columns, out: Path, workers: int | None, scheduler: str | None) -> Columns:
    """A table of people too big for one machine, summed per (name, label) on a Dask cluster (`workers`
    local processes, or the scheduler at `scheduler`) into the Parquet file `out`: one row per name and
    label with its people, which `nameclf.labelled.read_table` then reads as any table. Returns the
    columns to read it by."""
    frame = read_table(source, columns.name)
    wanted = [columns.name, columns.label] + ([columns.count] if columns.count is not None else [])
    for column in wanted:
        if column not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise DataError(f"{source} has no column {column!r} (columns: {found}); pass one of them")
    frame = frame[wanted]
    if columns.count is None:
        frame = frame.assign(people=1)
    else:
        frame = frame.rename(columns={columns.count: "people"})
        frame["people"] = frame["people"].astype("float64")  # checked whole and not negative when read back
    summed = frame.groupby([columns.name, columns.label], dropna=True)["people"].sum().reset_index()
    with client_for(workers, scheduler):  # a cluster's client, once made, is what `compute` runs on
        result = summed.compute()
    result.to_parquet(out, index=False)
    return Columns(columns.name, columns.label, "people")
