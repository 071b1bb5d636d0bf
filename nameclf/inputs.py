"""The names to classify, as they come in: arguments, a text file's lines, stdin, or a CSV column
(each name carrying its row, for CSV in, CSV out), streamed; and what no name is (`Unreadable`). A
Parquet or CSV table read in partitions is `nameclf.on_dask`'s. The answers' table is `nameclf.tables`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from nameclf.data import iter_text_lines
from nameclf.errors import DataError, UsageError, one_line

DASK_INSTALL = "pip install 'nameclf[dask]'"  # pandas, pyarrow and Dask: tables, Parquet, clusters
PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"  # the first (and last) four bytes of every Parquet file


class Unreadable(str):
    """An input that could not be read as a name: it predicts to an error carrying `reason`."""

    reason = "unreadable line"

    @classmethod
    def because(cls, reason: str) -> Unreadable:
        marker = cls("")
        marker.reason = reason
        return marker


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


class CsvSource:
    """A CSV file's names, each carrying its whole row (`name.cells`), and the file's header."""

    def __init__(self, header: list[str], names: Iterable[str]) -> None:
        self.header, self._names = header, names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)


class RowName(str):
    cells: list[str] = []


def names_from(
    file: Path | None, column: str | None, names: list[str], blank: list[int], keep_rows: bool = False
) -> Iterator[str] | CsvSource:
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
    if Path(file).exists() and is_parquet(file):  # a binary table: its bytes are no names
        named = f"--column {column}" if column is not None else "--column NAME"
        raise UsageError(f"{file} is a Parquet table; label it with `{named} --out labelled.parquet` (or labelled.csv)")

    def not_blank(values: Iterable[str]) -> Iterator[str]:
        for value in values:
            if isinstance(value, Unreadable) or value.strip():
                yield value
            else:
                blank[0] += 1

    lines = iter_text_lines(file)
    if column is None:
        if Path(file).suffix.lower() == ".csv":
            refuse_a_table(file)
        return not_blank(lines)
    csv.field_size_limit(2**31 - 1)  # an over-long field becomes that row's error, not the batch's
    reader = csv_rows(lines)
    header = next(reader, None)
    if header is None or isinstance(header, Unreadable) or column not in header:  # an unparsable header is none
        found = ", ".join(header or []) or "nothing"
        raise DataError(f"{file} has no column {column!r} (header: {found}); pass --column with one of them")
    position = header.index(column)
    if keep_rows:

        def with_rows() -> Iterator[str]:
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
    first = next((line for line in iter_text_lines(file) if line.strip()), "")
    if "," in first:
        header = one_line(", ".join(next(csv.reader([first]))))
        header = header if len(header) <= 80 else header[:79] + "…"
        raise UsageError(f"{file} is a CSV table (header: {header}); pass --column with the one that holds the names")


def csv_rows(lines: Iterable[str]) -> Iterator[list[str] | Unreadable]:
    """csv.reader's rows; a row it cannot parse becomes an Unreadable marker instead of ending the stream."""
    reader = csv.reader(lines)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Unreadable.because(f"unreadable CSV row {reader.line_num}: {error}")


def input_cells(name: str, width: int) -> list[str]:
    """The input row a name came from, padded to the header's width (an unreadable row: empty cells)."""
    cells = list(getattr(name, "cells", []))
    return cells + [""] * (width - len(cells))
