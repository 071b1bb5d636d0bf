"""A user's labelled table of people, read as names: one entry per distinct normalised name with the
count of each label, so that memory grows with the distinct names, not the rows.

The table is CSV, TSV (by its suffix `.tsv` or `.tab`) or Parquet (by its suffix or its first bytes),
or CSV on standard input (`-`). A row is one person, or N people with a count column. CSV and TSV are
read as strict UTF-8, a line at a time; Parquet in record batches (by row groups), each batch summed
by name and label before it reaches Python. A row with an empty name or label is skipped and counted;
every other fault is a one-line `DataError` naming the line (or batch) and the fix.

Which part a name goes to (train, validation, test) is a keyed hash of the normalised name and the
seed (`hash_part`): the same on every machine, however the rows are ordered or partitioned.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nameclf.data import Dataset, Example, Split, normalise
from nameclf.errors import DataError, UsageError, shorten
from nameclf.inputs import DASK_INSTALL, is_parquet
from nameclf.train_config import TrainConfig, decided

MAX_LABELS = 1000  # labels in one model: the output layer and every answer's `top` grow with them
MIN_NAMES_PER_LABEL = 10  # distinct names a label needs, so that validation and test hold some of it
PARQUET_BATCH = 65_536
TSV_SUFFIXES = (".tsv", ".tab")
PARTS = ("train", "validation", "test")
PART_EDGES = (0.8, 0.9)  # hash below 0.8: train; below 0.9: validation; else test


@dataclass(frozen=True)
class Columns:
    """Which columns of the table hold the name, the label and (optionally) how many people a row is."""

    name: str
    label: str
    count: str | None = None


@dataclass
class LabelledNames:
    """The distinct names of a table with the people of each label (`counts`, names × labels)."""

    names: list[str]
    labels: list[str]
    counts: np.ndarray  # float64 people per (name, label)
    rows: int  # rows read
    skipped: dict[str, int] = field(default_factory=dict)  # rows left out, by reason

    @property
    def people(self) -> float:
        return float(self.counts.sum())

    def summary(self) -> dict[str, Any]:
        """What the model card says of the table."""
        return {
            "rows": self.rows,
            "people": int(round(self.people)),
            "names": len(self.names),
            "labels": len(self.labels),
            "skipped_rows": dict(self.skipped),
        }


class _Tally:
    """People per (normalised name, label), with the rows skipped and why."""

    def __init__(self) -> None:
        self.by_name: dict[str, dict[str, float]] = {}
        self.rows = 0
        self.skipped: dict[str, int] = {}

    def skip(self, reason: str, rows: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + rows

    def add(self, raw_name: Any, raw_label: Any, people: float, rows: int = 1) -> None:
        name = normalise(raw_name) if isinstance(raw_name, str) else ""
        label = raw_label.strip() if isinstance(raw_label, str) else ""
        if not name:
            self.skip("empty or missing name", rows)
        elif not label:
            self.skip("empty or missing label", rows)
        elif people > 0:
            labels = self.by_name.setdefault(name, {})
            labels[label] = labels.get(label, 0.0) + people
        else:
            self.skip("count 0", rows)


def read_table(source: Path | str, columns: Columns, max_labels: int = MAX_LABELS) -> LabelledNames:
    """The table at `source` (a path, or "-" for CSV on stdin) as distinct names with label counts."""
    tally = _Tally()
    if str(source) != "-" and not Path(source).exists():
        raise DataError(f"{source} does not exist; check the path")
    if str(source) != "-" and is_parquet(source):
        _read_parquet(Path(source), columns, tally)
    else:
        _read_csv(source, columns, tally)
    return _checked(source, tally, max_labels)


def _lines(source: Path | str) -> Iterator[str]:
    """The file's lines (ends kept, for the csv module), decoded as strict UTF-8 one at a time."""
    import sys

    stream = sys.stdin.buffer if str(source) == "-" else open(source, "rb")  # noqa: SIM115
    try:
        for number, raw in enumerate(stream, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(
                    f"{source}: line {number} is not UTF-8 text; save the table as UTF-8 (CSV UTF-8) and retry"
                ) from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _position(header: list[str], column: str, source: Path | str) -> int:
    if column not in header:
        found = ", ".join(shorten(c, 40) for c in header[:30]) or "nothing"
        raise DataError(f"{source} has no column {column!r} (columns: {found}); pass one of them")
    return header.index(column)


def _read_csv(source: Path | str, columns: Columns, tally: _Tally) -> None:
    tab = str(source) != "-" and Path(source).suffix.lower() in TSV_SUFFIXES
    csv.field_size_limit(1 << 24)
    reader = csv.reader(_lines(source), delimiter="\t" if tab else ",", strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{source} is empty; give a table with a header row and one row per person")
        name_at, label_at = _position(header, columns.name, source), _position(header, columns.label, source)
        count_at = _position(header, columns.count, source) if columns.count is not None else None
        for row in reader:
            if not row:
                continue
            tally.rows += 1
            people = 1.0 if count_at is None else _count(row[count_at] if count_at < len(row) else "", source, reader)
            name = row[name_at] if name_at < len(row) else ""
            label = row[label_at] if label_at < len(row) else ""
            tally.add(name, label, people)
    except csv.Error as error:
        raise DataError(f"{source}: line {reader.line_num} cannot be read as CSV ({error}); fix that line") from None


def _count(value: str, source: Path | str, reader: Any) -> float:
    """A row's count: a whole number of people, 0 or more."""
    text = value.strip()
    if not text.isdigit():
        what = "missing" if not text else f"{shorten(text, 20)!r}, not a whole number of 0 or more"
        raise DataError(f"{source}: line {reader.line_num} has a count that is {what}; fix the count column")
    return float(int(text))


def _read_parquet(path: Path, columns: Columns, tally: _Tally) -> None:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError(
            f"reading Parquet needs pyarrow, which is not installed; install it with `{DASK_INSTALL}`"
        ) from None
    try:
        table = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        raise DataError(f"{path} cannot be read as Parquet ({shorten(str(error), 80)})") from None
    header = table.schema_arrow.names
    wanted = [columns.name, columns.label] + ([columns.count] if columns.count is not None else [])
    for column in wanted:
        _position(header, column, path)
    for number, batch in enumerate(table.iter_batches(batch_size=PARQUET_BATCH, columns=wanted), start=1):
        frame = pa.Table.from_batches([batch])
        if columns.count is not None:
            counts = frame.column(columns.count)
            if counts.null_count or not pa.types.is_integer(counts.type) and not _whole(counts, pc):
                raise DataError(
                    f"{path}: batch {number} has a count that is missing or not a whole number; fix the count column"
                )
            counts = pc.cast(counts, pa.int64())
            if pc.any(pc.less(counts, 0)).as_py():
                raise DataError(f"{path}: batch {number} has a negative count; fix the count column")
        else:
            counts = pa.array(np.ones(frame.num_rows, dtype=np.int64))
        frame = pa.table(
            {
                "name": pc.cast(frame.column(columns.name), pa.string()),
                "label": pc.cast(frame.column(columns.label), pa.string()),
                "people": counts,
                "rows": pa.array(np.ones(frame.num_rows, dtype=np.int64)),
            }
        )
        summed = frame.group_by(["name", "label"]).aggregate([("people", "sum"), ("rows", "sum")])
        tally.rows += frame.num_rows
        for name, label, people, rows in zip(
            *(summed.column(c).to_pylist() for c in ("name", "label", "people_sum", "rows_sum")), strict=True
        ):
            tally.add(name, label, float(people), rows)


def _whole(values: Any, pc: Any) -> bool:
    """Whether a float column holds whole numbers only."""
    import pyarrow as pa

    if not pa.types.is_floating(values.type):
        return False
    return bool(pc.all(pc.equal(values, pc.floor(values))).as_py() in (True, None))


def _checked(source: Path | str, tally: _Tally, max_labels: int) -> LabelledNames:
    """The tally as names × labels, or the one-line error for a table nothing can be learnt from."""
    if not tally.by_name:
        why = "; ".join(f"{reason}: {rows:,}" for reason, rows in sorted(tally.skipped.items())) or "no rows"
        raise DataError(f"{source}: no row has both a name and a label ({why}); check --column and --label-column")
    labels = sorted({label for counts in tally.by_name.values() for label in counts})
    if len(labels) < 2:
        raise DataError(f"{source}: every name has the one label {labels[0]!r}; a classifier needs two or more")
    if len(labels) > max_labels:
        raise DataError(
            f"{source} has {len(labels):,} labels; nameclf takes at most {max_labels:,}: merge the rare ones"
        )
    names = sorted(tally.by_name)
    index = {label: i for i, label in enumerate(labels)}
    counts = np.zeros((len(names), len(labels)), dtype=np.float64)
    for row, name in enumerate(names):
        for label, people in tally.by_name[name].items():
            counts[row, index[label]] = people
    holding = (counts > 0).sum(axis=0)
    few = [(labels[i], int(holding[i])) for i in np.flatnonzero(holding < MIN_NAMES_PER_LABEL)]
    if few:
        label, held = few[0]
        more = f" (and {len(few) - 1} more labels)" if len(few) > 1 else ""
        raise DataError(
            f"{source}: label {shorten(label, 40)!r} has {held} distinct name(s){more}; each label needs at least "
            f"{MIN_NAMES_PER_LABEL} to be split into train, validation and test: add names or merge labels"
        )
    return LabelledNames(names, labels, counts, tally.rows, dict(tally.skipped))


def hash_part(name: str, seed: int) -> str:
    """The part (train, validation or test) of a normalised name: a keyed hash of the name (case-blind, so
    SMITH and Smith share a part) and the seed, so a name is in one part whatever the rows' order or
    partitioning, on every machine."""
    text = name.casefold().encode("utf-8")
    digest = hashlib.blake2b(text, digest_size=8, key=seed.to_bytes(8, "little")).digest()
    share = int.from_bytes(digest, "little") / 2.0**64
    return PARTS[0] if share < PART_EDGES[0] else PARTS[1] if share < PART_EDGES[1] else PARTS[2]


WEIGHTINGS = ("count", "sqrt", "log", "one")  # how a name's people become its weight in training
MAX_PERSONS = 20_000  # people drawn from the validation (and test) names to measure and calibrate on


def name_weights(people: np.ndarray, weighting: str) -> np.ndarray:
    """Each name's weight in training from its people: all of them (`count`), their square root,
    1 + their log, or 1 each (`one`); scaled to a mean of 1 over the names."""
    if weighting not in WEIGHTINGS:
        raise UsageError(f"--name-weight must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    raw = {"count": people, "sqrt": np.sqrt(people), "log": 1.0 + np.log(np.maximum(people, 1.0))}.get(
        weighting, np.ones_like(people)
    )
    return np.asarray(raw / raw.mean(), dtype=np.float64)


@dataclass
class TableSplit:
    """A table's names dealt into parts by `hash_part`: the training names as weighted examples (one per
    label a name has), and people drawn by count from the validation and test names (one example each,
    a name as often as it is drawn)."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    names: dict[str, int]  # distinct names per part
    held: dict[str, tuple[list[str], np.ndarray]]  # train, validation, all: names and their people per label
    seed: int = 0


def split_table(table: LabelledNames, seed: int, weighting: str, persons: int = MAX_PERSONS) -> TableSplit:
    """The table's split for training at `seed` (see `TableSplit`); the draws come from a generator
    seeded by `seed` and used for nothing else."""
    parts = np.array([hash_part(name, seed) for name in table.names])
    people = table.counts.sum(axis=1)
    weights = name_weights(people, weighting)
    train: list[Example] = []
    for row in np.flatnonzero(parts == "train").tolist():
        for column in np.flatnonzero(table.counts[row]).tolist():
            share = table.counts[row, column] / people[row]
            train.append(Example(table.names[row], (table.labels[column],), float(weights[row] * share)))
    rng = np.random.default_rng(seed)
    drawn = {part: _persons(table, np.flatnonzero(parts == part), persons, rng) for part in ("validation", "test")}
    names = {part: int((parts == part).sum()) for part in PARTS}
    held = {
        part: ([table.names[i] for i in np.flatnonzero(parts == part)], table.counts[parts == part])
        for part in ("train", "validation")
    }
    held["all"] = (table.names, table.counts)
    return TableSplit(train, drawn["validation"], drawn["test"], names, held, seed)


def _persons(table: LabelledNames, rows: np.ndarray, most: int, rng: np.random.Generator) -> list[Example]:
    """Up to `most` people drawn from `rows`' names by their counts (all of them when fewer), each an
    example of its own label."""
    counts = table.counts[rows]
    total = counts.sum()
    if not len(rows) or total <= 0:
        return []
    flat = counts.ravel() / total
    if total <= most:  # few enough: every person once
        cells = np.repeat(np.arange(flat.size), np.rint(counts.ravel()).astype(np.int64))
    else:
        cells = np.sort(rng.choice(flat.size, size=most, replace=True, p=flat))
    n_labels = len(table.labels)
    return [Example(table.names[rows[cell // n_labels]], (table.labels[cell % n_labels],)) for cell in cells.tolist()]


@dataclass(frozen=True)
class TableSource:
    """A labelled table to train from: where it is, which columns to read, what its labels are called
    (`label_name`: "country", "group", ...; the label column's name by default) and how a name's people
    weigh in training."""

    path: str
    columns: Columns
    label_name: str | None = None
    weighting: str = "sqrt"
    shown_as: str | None = None  # what the card calls the table (the file's name when None)

    @property
    def labels_are(self) -> str:
        return self.label_name or self.columns.label

    def record(self, table: LabelledNames, split: TableSplit) -> dict[str, Any]:
        """What the saved model's data section says of the table."""
        return {
            "file": self.shown_as or (Path(self.path).name if self.path != "-" else "-"),
            "columns": {"name": self.columns.name, "label": self.columns.label, "count": self.columns.count},
            **table.summary(),
            "name_weight": self.weighting,
            "split": "keyed hash of the normalised name and the seed (80/10/10)",
            "split_names": split.names,
            "people_drawn": {"validation": len(split.validation), "test": len(split.test)},
        }


EXAMPLE_PASSES = 2_000_000  # a table's default epochs see about this many training examples in all


def table_epochs(examples: int, task_epochs: int | None) -> int:
    """The epochs a table trains for unless told: the task's (30) for a table of up to 66,000 training
    examples, fewer for a larger one, so that training sees about `EXAMPLE_PASSES` examples, and never
    fewer than 3. The Census table of 1,000,000 people (109,401 training examples) gets 18, and its whole
    training took 333 s on one core (benchmarks/census.py), inside the 15 minutes the issue allows."""
    return max(3, min(task_epochs or 30, round(EXAMPLE_PASSES / max(examples, 1))))


SMALL_TABLE_NAMES = 20_000  # a table of fewer training names gets a network of SMALL_TABLE_HIDDEN
SMALL_TABLE_HIDDEN = 32


def table_hidden(names: int, task_hidden: int) -> int:
    """The network's width for a table unless told: 32 under 20,000 training names, else the task's.
    On Census tables of 360, 2,600 and 15,000 training names (benchmarks/census.py --sizes, two seeds
    each), widths of 32, 64 and 128 were within 0.006 of each other in accuracy on other persons, and
    32 trained 1.7 times faster than 128 at 15,000 names; the 1,000,000-person table (83,104 names)
    keeps the task's 128."""
    return min(SMALL_TABLE_HIDDEN, task_hidden) if names < SMALL_TABLE_NAMES else task_hidden


def training_data(
    config: TrainConfig, table: TableSource
) -> tuple[TrainConfig, Dataset, Split, dict[str, Any], TableSplit]:
    """A labelled table as the trainer's data: its names and labels, split by a keyed hash of each name
    (`labelled.split_table`), what the model records of it, and the split with each part's people."""
    if config.members not in (None, 1):
        raise UsageError("--members trains an ensemble on the tutorial's files only; leave it out with --file")
    labelled = read_table(table.path, table.columns)
    chosen_epochs, chosen_hidden = config.epochs, config.hidden
    config = config.resolved(len(labelled.labels))
    parts = split_table(labelled, config.seed, table.weighting)
    if chosen_epochs is None:
        config = dataclasses.replace(config, epochs=table_epochs(len(parts.train), config.epochs))
    if chosen_hidden is None:
        config = dataclasses.replace(
            config, hidden=table_hidden(parts.names["train"], decided(config.hidden, "hidden"))
        )
    held = [tuple(labelled.labels[i] for i in np.flatnonzero(row)) for row in labelled.counts]
    examples = [Example(name, labels) for name, labels in zip(labelled.names, held)]
    dataset = Dataset(labelled.labels, examples, shared_names="table", label_name=table.labels_are)
    split = Split(parts.train, parts.validation, parts.test)
    return config, dataset, split, table.record(labelled, parts), parts
