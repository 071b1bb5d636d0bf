"""Names and tables in and out, for the CLI, `nameclf.api`, `nameclf.dask` and the server alike.

In: the names to classify from arguments, a text file's lines, stdin, or a CSV column (each name
carrying its row, for CSV in, CSV out), streamed; a Parquet or CSV table is read by `nameclf.dask`.

Out: the result table, one schema for every path that writes results as a table, `predict --csv`,
`predict --out` (Parquet or CSV), `nameclf.load(...).predict_frame` and `nameclf.dask.predict`, and one rule
for writing it as CSV text. A pandas Series or a pyarrow array of names in, a pandas DataFrame of
results out, on the input's index; Dask and the CLI's `--out` path call it per partition, and any
other engine can too.

The schema, in this order:

| column | dtype | meaning |
|---|---|---|
| `language` | string (nullable) | the answer; null when there is none or the model abstained |
| `probability` | float32 | the top calibrated probability; NaN when there is no answer |
| `top` | string (nullable) | the k likeliest (`top_k`, at least 3 when abstained): `language:probability;...` |
| `unknown_characters` | int32 | characters the model never saw |
| `error` | string (nullable) | why there is no answer: missing or empty name, too long, mostly unknown characters |
| `warning` | string (nullable) | a note on an answer that was given: unknown characters ignored |
| `abstained` | bool | below `min_confidence`: no language, though `probability` is filled |
| `set` | string (nullable) | with `coverage`: the prediction set, most likely first, `;`-joined |
| `unfamiliar` | boolean (nullable) | unlike the training names (`novelty_p` at most the level); null: not scored |
| `novelty_p` | float32 | how rare so unlike a name is among held-out names like the training names; NaN: none |
| `p_<language>` | float32 | with `probabilities=True`: each language's calibrated probability |

As CSV text (`csv_text`): null and NaN are empty, probabilities have 6 decimals, booleans are `true`
and `false`. `RESULT_COLUMNS` and `values` need no pandas, so `predict --csv` streams without it; the
frames need pandas (and pyarrow for Arrow input), which come with the `dask` extra:
`pip install 'nameclf[dask]'`.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nameclf.errors import DataError, UsageError, one_line
from nameclf.novelty import DEFAULT_ALPHA
from nameclf.results import DTYPES, Prediction, values

if TYPE_CHECKING:
    import pandas as pd

    from nameclf.predict import Predictor

INSTALL = "pip install 'nameclf[dask]'"
ANSWER_CHUNK = 65_536  # names answered at a time: the per-name answers of a chunk are what memory holds
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"  # the first (and last) four bytes of every Parquet file


def free_column(name: str, taken) -> str:
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
        return "" if math.isnan(value) else f"{value:.6f}"
    return str(value)


def csv_cells(prediction: Prediction) -> list[str]:
    """One prediction's result cells as `predict --csv` writes them (the same text `--out x.csv` writes)."""
    return [csv_text(value) for value in values(prediction)]


def csv_line(cells: Sequence[str]) -> str:
    """One CSV row ending in "\n", as the other outputs and `--out x.csv` end their lines. Quoted as
    csv's own "\r\n" rows are, so a cell holding a lone carriage return is still quoted (Python's csv
    quotes only the characters of the line ending it is given)."""
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()[:-2] + "\n"


def as_csv_text(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """`frame` with its result `columns` turned into the text `csv_text` gives, for writing as CSV."""
    text = frame.copy()
    for column in columns:
        cells = frame[column].astype(object).where(frame[column].notna(), None)
        text[column] = [csv_text(value) for value in cells]
    return text


def no_names(source: Path | str, column: str | None = None) -> DataError:
    """The error for input with no name in it, on every path: a file, stdin, a CSV column, a table."""
    where = "standard input" if str(source) == "-" else str(source)
    if column is None:
        return DataError(f"no names to classify in {where}; give one name per line (blank lines are skipped)")
    return DataError(f"no names to classify in column {column!r} of {where}; it has a header and no rows")


def is_parquet(path: Path | str) -> bool:
    """Whether `path` names a Parquet file (by its suffix or its first four bytes) or a folder of them."""
    path = Path(path)
    if str(path) == "-":
        return False
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    except OSError:
        return False


def require_pandas():
    try:
        import pandas
    except ImportError:
        raise UsageError(
            f"table prediction needs pandas, which is not installed; install it with `{INSTALL}`"
        ) from None
    return pandas


def result_columns(languages: Sequence[str] | None = None) -> dict[str, str]:
    """Column name -> dtype of a result table (with one `p_<language>` column each when `languages`)."""
    columns = dict(DTYPES)
    for language in languages or ():
        columns[f"p_{language}"] = "float32"
    return columns


def meta(languages: Sequence[str] | None = None, index: Any = None) -> pd.DataFrame:
    """An empty result table with the schema's dtypes: what Dask's `meta=` needs."""
    pd = require_pandas()
    index = index if index is not None else pd.RangeIndex(0)
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype, index=index[:0]) for name, dtype in result_columns(languages).items()},
        index=index[:0],
    )


def _names_and_index(names: Any):
    """A list of names (None for a missing one) and the index to put the results on."""
    pd = require_pandas()
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
    predictor: Predictor,
    names: Any,
    probabilities: bool = False,
    min_confidence: float | None = None,
    top_k: int = 1,
    coverage: float | None = None,
    unfamiliar: float | None = DEFAULT_ALPHA,
) -> pd.DataFrame:
    """The result table for `names` (see the module's schema), row for row, on their index."""
    from nameclf.predict import Unreadable

    pd = require_pandas()
    names_list, index = _names_and_index(names)
    missing = Unreadable.because("missing name")
    cells: list[tuple] = []
    matrices = []
    for start in range(0, max(len(names_list), 1), ANSWER_CHUNK):  # bounded memory: a chunk's answers at a time
        chunk = names_list[start : start + ANSWER_CHUNK]
        inputs = [missing if value is None else value if isinstance(value, str) else str(value) for value in chunk]
        predictions, matrix = predictor.predict_with_probabilities(inputs, top_k, min_confidence, coverage, unfamiliar)
        cells += [values(prediction) for prediction in predictions]
        if probabilities:
            matrices.append(matrix)
    by_column = list(zip(*cells)) if cells else [() for _ in DTYPES]
    columns: dict[str, Any] = {}
    for (name, dtype), column in zip(DTYPES.items(), by_column):
        if dtype == "float32":
            column = [np.nan if value is None else value for value in column]
        nullable = dtype in ("string", "boolean")
        columns[name] = pd.array(column, dtype=dtype) if nullable else np.array(column, dtype=dtype)
    if probabilities:
        matrix = np.concatenate(matrices)
        for position, language in enumerate(predictor.languages):
            columns[f"p_{language}"] = matrix[:, position]
    return pd.DataFrame(columns, index=index)


class CsvSource:
    """A CSV file's names, each carrying its whole row (`name.cells`), and the file's header."""

    def __init__(self, header: list[str], names):
        self.header, self._names = header, names

    def __iter__(self):
        return iter(self._names)


class RowName(str):
    cells: list[str] = []


def names_from(file: Path | None, column: str | None, names: list[str], blank: list[int], keep_rows: bool = False):
    """The names to classify: the arguments, or a file's lines (or a CSV column) streamed.

    Blank lines of a file are skipped and counted in `blank[0]`. With `keep_rows` (CSV in, CSV out) no
    row is skipped, and each name carries its row.
    """
    if file is None:
        if column is not None:
            raise UsageError("--column needs --file")
        if not names:
            raise UsageError("give names to classify, e.g. `nameclf predict Tribbiani`, or --file FILE")
        return iter(names)
    if names:
        raise UsageError("give names as arguments or with --file, not both")
    from nameclf.data import iter_text_lines

    if Path(file).exists() and is_parquet(file):  # a binary table: its bytes are no names
        named = f"--column {column}" if column is not None else "--column NAME"
        raise UsageError(f"{file} is a Parquet table; label it with `{named} --out labelled.parquet` (or labelled.csv)")

    def not_blank(values):
        for value in values:
            if isinstance(value, Unreadable) or value.strip():
                yield value
            else:
                blank[0] += 1

    from nameclf.predict import Unreadable

    lines = iter_text_lines(file)
    if column is None:
        if Path(file).suffix.lower() == ".csv":
            refuse_a_table(file)
        return not_blank(lines)
    csv.field_size_limit(2**31 - 1)  # an over-long field becomes that row's error, not the batch's
    reader = csv_rows(lines)
    header = next(reader, None)
    if header is None or column not in header:
        found = ", ".join(header or []) or "nothing"
        raise DataError(f"{file} has no column {column!r} (header: {found}); pass --column with one of them")
    position = header.index(column)
    if keep_rows:

        def with_rows():
            for row in reader:
                if isinstance(row, Unreadable):
                    yield row
                    continue
                if not row:  # an empty line is no row
                    blank[0] += 1
                    continue
                name = RowName(row[position] if position < len(row) else "")
                name.cells = row
                yield name

        return CsvSource(header, with_rows())
    return not_blank(
        row if isinstance(row, Unreadable) else row[position] if position < len(row) else "" for row in reader if row
    )


def refuse_a_table(file: Path) -> None:
    """A .csv file whose first line has a comma is a table, not a list of names: say that it needs
    --column, rather than classify whole rows."""
    from nameclf.data import iter_text_lines

    first = next((line for line in iter_text_lines(file) if line.strip()), "")
    if "," in first:
        header = one_line(", ".join(next(csv.reader([first]))))
        header = header if len(header) <= 80 else header[:79] + "…"
        raise UsageError(f"{file} is a CSV table (header: {header}); pass --column with the one that holds the names")


def csv_rows(lines):
    """csv.reader's rows; a row it cannot parse becomes an Unreadable marker instead of ending the stream."""
    from nameclf.predict import Unreadable

    reader = csv.reader(lines)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Unreadable.because(f"unreadable CSV row {reader.line_num}: {error}")


def input_cells(name, width: int) -> list[str]:
    """The input row a name came from, padded to the header's width (an unreadable row: empty cells)."""
    cells = list(getattr(name, "cells", []))
    return cells + [""] * (width - len(cells))
