"""A user's labelled table read as names: CSV, TSV and Parquet alike, rows summed per normalised name and
label (with a count column or one person a row), each bad table refused in one line naming the fix,
and the split by a keyed hash of the name that no row order can change."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from nameclf.errors import DataError
from nameclf.labelled import MIN_NAMES_PER_LABEL, Columns, hash_part, read_table

SURNAMES = [f"Name{i:02d}" for i in range(12)]


def rows_of(extra: list[tuple[str, str, int]] | None = None) -> list[tuple[str, str, int]]:
    """Twelve names of label a and twelve of label b, one person each, plus `extra`."""
    base = [(name, "a", 1) for name in SURNAMES] + [(name.upper() + "X", "b", 1) for name in SURNAMES]
    return base + (extra or [])


def write_csv(path, rows, header=("surname", "group", "n"), delimiter=","):
    lines = [delimiter.join(header)] + [delimiter.join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_parquet(path, rows, header=("surname", "group", "n")):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({column: [row[i] for row in rows] for i, column in enumerate(header)})
    pq.write_table(table, path, row_group_size=7)  # several row groups, read batch by batch
    return path


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet"])
def test_rows_become_names_with_the_people_of_each_label(tmp_path, kind):
    extra = [("Smith", "a", 5), (" Smith ", "b", 3), ("Smith", "a", 2), ("Ａnna", "b", 1)]
    rows = rows_of(extra)
    if kind == "parquet":
        path = write_parquet(tmp_path / "people.parquet", rows)
    else:
        path = write_csv(tmp_path / f"people.{kind}", rows, delimiter="\t" if kind == "tsv" else ",")
    table = read_table(path, Columns("surname", "group", "n"))
    assert table.labels == ["a", "b"] and table.rows == len(rows)
    smith = table.counts[table.names.index("Smith")]
    assert smith.tolist() == [7.0, 3.0]  # " Smith " is Smith: normalised before summing
    assert table.people == sum(row[2] for row in rows)
    assert len(table.names) == 24 + 2 and table.skipped == {}


def test_without_a_count_column_a_row_is_one_person(tmp_path):
    path = write_csv(tmp_path / "people.csv", [(n, g) for n, g, _ in rows_of([("Rossi", "a", 0)] * 3)], ("s", "g"))
    table = read_table(path, Columns("s", "g"))
    assert table.counts[table.names.index("Rossi")].tolist() == [3.0, 0.0]


def test_empty_names_and_labels_are_skipped_and_counted(tmp_path):
    path = write_csv(tmp_path / "people.csv", rows_of([("", "a", 1), ("  ", "b", 2), ("Rossi", "", 1)]))
    table = read_table(path, Columns("surname", "group", "n"))
    assert table.skipped == {"empty or missing name": 2, "empty or missing label": 1}
    assert "Rossi" not in table.names
    assert table.summary()["skipped_rows"] == table.skipped


@pytest.mark.parametrize(
    ("rows", "columns", "message"),
    [
        (rows_of(), Columns("name", "group", "n"), "has no column 'name' (columns: surname, group, n)"),
        ([("", "a", 1), ("x", "", 1)], Columns("surname", "group", "n"), "no row has both a name and a label"),
        ([(n, "a", 1) for n in SURNAMES], Columns("surname", "group", "n"), "the one label 'a'"),
        (rows_of([("Rossi", "c", 1)]), Columns("surname", "group", "n"), "label 'c' has 1 distinct name(s)"),
        (rows_of([("Rossi", "a", -1)]), Columns("surname", "group", "n"), "line 26 has a count that is '-1'"),
        (rows_of([("Rossi", "a", "1.5")]), Columns("surname", "group", "n"), "line 26 has a count that is '1.5'"),
        (rows_of([("Rossi", "a", "")]), Columns("surname", "group", "n"), "line 26 has a count that is missing"),
    ],
)
def test_a_bad_table_is_one_line_naming_the_fault(tmp_path, rows, columns, message):
    path = write_csv(tmp_path / "people.csv", rows)
    with pytest.raises(DataError) as error:
        read_table(path, columns)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_too_many_labels_names_the_limit(tmp_path):
    rows = [(f"{label}{i}", label, 1) for label in "abc" for i in range(MIN_NAMES_PER_LABEL)]
    with pytest.raises(DataError, match="has 3 labels; nameclf takes at most 2: merge the rare ones"):
        read_table(write_csv(tmp_path / "people.csv", rows), Columns("surname", "group", "n"), max_labels=2)


def test_a_csv_that_is_not_utf8_names_its_line(tmp_path):
    path = write_csv(tmp_path / "people.csv", rows_of())
    path.write_bytes(path.read_bytes() + "Müller,a,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="line 26 is not UTF-8 text; save the table as UTF-8"):
        read_table(path, Columns("surname", "group", "n"))


def test_a_row_that_cannot_be_parsed_in_the_middle_names_its_line(tmp_path):
    path = write_csv(tmp_path / "people.csv", rows_of())
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(10, '"Ro"ssi,a,1')  # text after a closing quote: not CSV
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 11 cannot be read as CSV"):
        read_table(path, Columns("surname", "group", "n"))


def test_parquet_counts_must_be_whole_and_present(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = rows_of()
    for counts, message in (([1.5] * len(rows), "not a whole number"), ([None] + [1] * (len(rows) - 1), "missing")):
        table = pa.table({"s": [r[0] for r in rows], "g": [r[1] for r in rows], "n": counts})
        pq.write_table(table, tmp_path / "t.parquet")
        with pytest.raises(DataError, match=message):
            read_table(tmp_path / "t.parquet", Columns("s", "g", "n"))
    whole = pa.table({"s": [r[0] for r in rows], "g": [r[1] for r in rows], "n": [2.0] * len(rows)})
    pq.write_table(whole, tmp_path / "w.parquet")
    assert read_table(tmp_path / "w.parquet", Columns("s", "g", "n")).people == 2.0 * len(rows)


def test_the_part_of_a_name_is_a_keyed_hash_the_same_in_any_row_order(tmp_path):
    names = [f"n{i}" for i in range(5000)]
    parts = [hash_part(name, seed=0) for name in names]
    shares = collections.Counter(parts)
    assert abs(shares["train"] / 5000 - 0.8) < 0.02 and abs(shares["test"] / 5000 - 0.1) < 0.015
    assert [hash_part(name, seed=0) for name in reversed(names)] == parts[::-1]
    assert parts != [hash_part(name, seed=1) for name in names]  # the seed is the key
    # the same rows in another order give the same table
    rows = rows_of([("Smith", "a", 5), ("Smith", "b", 3)])
    first = read_table(write_csv(tmp_path / "a.csv", rows), Columns("surname", "group", "n"))
    second = read_table(write_csv(tmp_path / "b.csv", rows[::-1]), Columns("surname", "group", "n"))
    assert first.names == second.names and np.array_equal(first.counts, second.counts)


def test_a_tables_default_epochs_shrink_with_its_size_and_never_below_three():
    from nameclf.labelled import table_epochs

    assert table_epochs(10_000, 30) == 30  # a small table trains as the tutorial's files do
    assert table_epochs(109_401, 30) == 18  # the Census table of 1,000,000 people
    assert table_epochs(200_000, 30) == 10
    assert table_epochs(50_000_000, 30) == 3


def test_a_small_tables_network_is_narrow_unless_told(tmp_path):
    from nameclf.labelled import TableSource, table_hidden, training_data
    from nameclf.train_config import TrainConfig

    rows = rows_of([(f"Third{i:02d}", "c", 1) for i in range(12)])  # three labels: the task's width is 128
    table = TableSource(str(write_csv(tmp_path / "people.csv", rows)), Columns("surname", "group", "n"))
    assert training_data(TrainConfig(), table)[0].hidden == 32
    assert training_data(TrainConfig(hidden=100), table)[0].hidden == 100  # as told
    assert TrainConfig().resolved(3).hidden == 128  # the tutorial's files keep the task's width
    assert (table_hidden(19_999, 128), table_hidden(20_000, 128), table_hidden(500, 64)) == (32, 128, 32)
