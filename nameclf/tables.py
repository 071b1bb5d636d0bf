"""The answers as a table: one schema for every path that writes results as a table (`predict --csv`,
`predict --out` in Parquet or CSV, `Classifier.predict_frame`, `nameclf.on_dask.predict` and its
`meta`), and one rule for writing it as CSV text.

The columns, their order and dtypes are `Prediction`'s result fields (`nameclf.results`), followed,
with `probabilities=True`, by one float32 `p_<label>` column per label. A pandas Series or a pyarrow
array of names in, a pandas DataFrame of results out, on the input's index; Dask and the CLI's
`--out` path call it per partition, and any other engine can too.

As CSV text (`csv_text`): null and NaN are empty, probabilities have `PROBABILITY_DIGITS` (6)
decimals, booleans are `true` and `false`. `csv_cells` and `csv_line` need no pandas, so `predict
--csv` streams without it; the frames need pandas (and pyarrow for Arrow input), which come with the
`dask` extra: `pip install 'nameclf[dask]'`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Container, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from nameclf.errors import UsageError
from nameclf.inputs import DASK_INSTALL, Unreadable
from nameclf.options import PredictOptions
from nameclf.predict import Predictor
from nameclf.results import LANGUAGE, PROBABILITY_DIGITS, Prediction, ResultRow, columns_for, values

if TYPE_CHECKING:
    import pandas as pd

INSTALL = DASK_INSTALL
ANSWER_CHUNK = 65_536  # names answered at a time: the per-name answers of a chunk are what memory holds


def free_column(name: str, taken: Container[str]) -> str:
    """A result column's name, with `nameclf_` in front while the input already has a column of that name."""
    while name in taken:
        name = f"nameclf_{name}"
    return name


def csv_text(value: Any) -> str:
    """A result cell as CSV text: empty for null or NaN, 6 decimals for a probability, true/false."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.{PROBABILITY_DIGITS}f}"
    return str(value)


def csv_cells(prediction: Prediction) -> list[str]:
    """One prediction's result cells as `predict --csv` writes them (the same text `--out x.csv` writes)."""
    return [csv_text(value) for value in values(prediction)]


def csv_line(cells: Sequence[str]) -> str:
    """One CSV row ending in "\n", as the other outputs and `--out x.csv` end their lines. Quoted as
    csv's own "\r\n" rows are, so a cell holding a lone carriage return is still quoted (Python's csv
    quotes only the characters of the line ending it is given)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + "\n"


def as_csv_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`frame` with its result `columns` turned into the text `csv_text` gives, for writing as CSV."""
    text: pd.DataFrame = frame.copy()  # pandas-stubs type the copy as Any
    for column in columns:
        cells = frame[column].astype(object).where(frame[column].notna(), None)
        text[column] = [csv_text(value) for value in cells]
    return text


def require_pandas() -> ModuleType:
    """pandas, or a one-line error saying how to install it."""
    try:
        import pandas
    except ImportError:
        raise UsageError(
            f"table prediction needs pandas, which is not installed; install it with `{INSTALL}`"
        ) from None
    return pandas


def result_columns(languages: Sequence[str] | None = None, labels_are: str = LANGUAGE) -> dict[str, str]:
    """Column name -> dtype of a result table (`results.columns_for`: the `language` alias only for a
    model whose labels are languages), with one `p_<label>` column each when `languages` are given."""
    columns = columns_for(labels_are)
    for language in languages or ():
        columns[f"p_{language}"] = "float32"
    return columns


def meta(
    languages: Sequence[str] | None = None, index: pd.Index | None = None, labels_are: str = LANGUAGE
) -> pd.DataFrame:
    """An empty result table with the schema's dtypes: what Dask's `meta=` needs."""
    require_pandas()
    import pandas as pd

    index = index if index is not None else pd.RangeIndex(0)
    empty: pd.DataFrame = pd.DataFrame(  # pandas-stubs type the constructor's answer as Any
        {
            name: pd.Series([], dtype=dtype, index=index[:0])
            for name, dtype in result_columns(languages, labels_are).items()
        },
        index=index[:0],
    )
    return empty


def _names_and_index(names: Any) -> tuple[list[object], pd.Index]:
    """A list of names (None for a missing one) and the index to put the results on. `names`: a pandas
    Series, a pyarrow array (pyarrow has no types) or a list."""
    require_pandas()
    import pandas as pd

    if isinstance(names, pd.Series):
        values = names.astype(object).where(names.notna(), None).tolist()
        return values, names.index
    try:
        import pyarrow as pa
    except ImportError:
        pa = None
    if pa is not None and isinstance(names, (pa.Array, pa.ChunkedArray)):
        return names.to_pylist(), pd.RangeIndex(len(names))
    if isinstance(names, (list, tuple)):
        return list(names), pd.RangeIndex(len(names))
    raise UsageError(f"predict_frame takes a pandas Series or a pyarrow array of names, not {type(names).__name__}")


def predict_frame(
    predictor: Predictor, names: Any, options: PredictOptions | None = None, probabilities: bool = False
) -> pd.DataFrame:
    """The result table for `names` (see the module's docstring), row for row, on their index."""
    options = PredictOptions.of(options)
    require_pandas()
    import pandas as pd

    names_list, index = _names_and_index(names)
    missing = Unreadable.because("missing name")
    cells: list[ResultRow] = []
    matrices = []
    for start in range(0, max(len(names_list), 1), ANSWER_CHUNK):  # bounded memory: a chunk's answers at a time
        chunk = names_list[start : start + ANSWER_CHUNK]
        inputs = [missing if value is None else value if isinstance(value, str) else str(value) for value in chunk]
        predictions, matrix = predictor.predict_with_probabilities(inputs, options)
        cells += [values(prediction) for prediction in predictions]
        if probabilities:
            matrices.append(matrix)
    dtypes = columns_for(predictor.labels_are)
    by_column: list[Sequence[Any]] = list(zip(*cells)) if cells else [() for _ in dtypes]
    columns: dict[str, Any] = {}
    for (name, dtype), column in zip(dtypes.items(), by_column):
        if dtype == "float32":
            column = [np.nan if value is None else value for value in column]
        nullable = dtype in ("string", "boolean")
        columns[name] = pd.array(column, dtype=dtype) if nullable else np.array(column, dtype=dtype)
    if probabilities:
        matrix = np.concatenate(matrices)
        for position, language in enumerate(predictor.languages):
            columns[f"p_{language}"] = matrix[:, position]
    frame: pd.DataFrame = pd.DataFrame(columns, index=index)  # pandas-stubs: Any
    return frame


class Classifier(Predictor):
    """What `nameclf.load` returns: a Predictor that also answers a table of names."""

    def predict_frame(
        self, names: Any, options: PredictOptions | None = None, *, probabilities: bool = False, **changes: Any
    ) -> pd.DataFrame:
        """A pandas DataFrame of results for a pandas Series or a pyarrow array of names, on the input's
        index, in the schema `predict --csv` and `predict --out` write; keywords change single options
        (`predict_frame(names, top_k=3)`)."""
        return predict_frame(self, names, PredictOptions.of(options, **changes), probabilities)
