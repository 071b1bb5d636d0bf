"""The Python API at the top level, re-exported by `nameclf`:

    import nameclf
    clf = nameclf.load()                       # or nameclf.load("all"), or a model folder
    clf.predict(["Tribbiani", "Müller"], top_k=3)   # or clf.predict(names, nameclf.PredictOptions(top_k=3))
    clf.probabilities(["Tribbiani"])           # (names, languages) array; columns: clf.languages
    nameclf.train(languages="all", cell="gru", epochs=5)

`load` and prediction never import torch; `train` does, when it is called.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nameclf.callbacks import TrainingCallback
    from nameclf.labelled import TableSource
    from nameclf.tables import Classifier
    from nameclf.training import TrainResult


def load(model: str | Path | None = None, backend: str = "numpy", device: str = "cpu") -> Classifier:
    """A model ready to answer: a shipped one by name (`"de-it"`, `"all"`), a model folder, or, with
    none given, `$NAMECLF_MODEL`, then the last model trained in the models folder, then `"de-it"`.

    It is a `nameclf.predict.Predictor` that also answers a table (`predict_frame`): every command,
    the server and Dask read a model through `Predictor.load`, which this calls."""
    from nameclf.tables import Classifier

    return Classifier.load(model, backend=backend, device=device)


def train(
    languages: str = "German,Italian",
    *,
    out: str | Path | None = None,
    data: str | Path | None = None,
    table: Any = None,
    mark_latest: bool = True,
    callback: TrainingCallback | None = None,
    **options: Any,
) -> TrainResult:
    """Train and save a model, with the CLI's options as keywords (`cell="gru"`, `hidden=64`,
    `char_dropout=0.05`, `members=3`, ...); options left out take the task's defaults. Returns the
    result: `.model_dir`, `.config` (what was saved, metrics included) and `.history`.

    `table` trains on a labelled table of people instead of the tutorial's files: a path (CSV, TSV or
    Parquet) or a pandas DataFrame, with `column=`, `label_column=` and optionally `count_column=`,
    `label_name=` and `name_weight=`, as `nameclf train --file` takes them."""
    from nameclf.training import TrainConfig
    from nameclf.training import train as run

    table_options = {key: options.pop(key) for key in TABLE_OPTIONS if key in options}
    config = TrainConfig(languages=languages, **options)  # the CLI's option names are TrainConfig's fields
    given = ", ".join(f"{key}={value!r}" for key, value in {"languages": languages, **options}.items())
    with _table_source(table, table_options) as source:
        return run(
            config,
            Path(data) if data is not None else None,
            Path(out) if out is not None else None,
            callback,
            mark_latest,
            command=f"nameclf.train({given})",
            table=source,
        )


TABLE_OPTIONS = ("column", "label_column", "count_column", "label_name", "name_weight")


@contextlib.contextmanager
def _table_source(table: Any, options: dict[str, Any]) -> Iterator[TableSource | None]:
    """The table to train on as a `TableSource`: a path as it is, a pandas DataFrame written to a
    temporary Parquet file for the time of training; None without a table."""
    from nameclf.errors import UsageError
    from nameclf.labelled import Columns, TableSource

    if table is None:
        if options:
            raise UsageError(f"{next(iter(options))}= reads a table: give it with table=")
        yield None
        return
    if "column" not in options or "label_column" not in options:
        raise UsageError("table= needs column= (the names) and label_column= (the labels)")
    columns = Columns(options["column"], options["label_column"], options.get("count_column"))
    label_name, weighting = options.get("label_name"), options.get("name_weight", "sqrt")
    if isinstance(table, (str, Path)):
        yield TableSource(str(table), columns, label_name, weighting)
        return
    with tempfile.TemporaryDirectory(prefix="nameclf-table-") as folder:
        path = Path(folder) / "table.parquet"
        table.to_parquet(path)  # a pandas DataFrame (pyarrow writes it)
        yield TableSource(str(path), columns, label_name, weighting)
