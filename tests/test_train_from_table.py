"""Training on a user's labelled table of people: `nameclf train --file TABLE --column NAME --label-column
LABEL [--count-column N]` from CSV, TSV and Parquet, names of mixed labels learnt as their label shares,
the split by a keyed hash of the name, the card's account of the table, and bad tables refused in one line
with no model saved."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import one_error_line, run

from nameclf import checkpoint
from nameclf.labelled import Columns, hash_part, read_table, split_table
from nameclf.paths import bundled_names_dir

pytestmark = pytest.mark.slow  # each test trains through the CLI
TINY = ["--epochs", "2", "--hidden", "8", "--threads", "1", "--quiet"]
MIXED = "Grünwaldi"  # a name of neither list, which the table gives both labels


def people_rows() -> list[tuple[str, str, int]]:
    """German and Italian surnames of the tutorial as two countries, a count of people on each row, and
    one name with people of both labels over several rows."""
    names = bundled_names_dir()
    german = [line for line in (names / "German.txt").read_text(encoding="utf-8").splitlines() if line][:150]
    italian = [line for line in (names / "Italian.txt").read_text(encoding="utf-8").splitlines() if line][:150]
    rows = [(name, "Germany", 1 + i % 7) for i, name in enumerate(german)]
    rows += [(name, "Italy", 1 + i % 5) for i, name in enumerate(italian)]
    return rows + [(MIXED, "Germany", 30), (MIXED, "Italy", 10), (MIXED, "Germany", 20)]


def write(path, rows):
    header = ("surname", "country", "people")
    if path.suffix == ".parquet":
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.table({h: [row[i] for row in rows] for i, h in enumerate(header)}), path)
        return path
    sep = "\t" if path.suffix == ".tsv" else ","
    lines = [sep.join(header)] + [sep.join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_a_table_trains_a_model_that_says_what_its_labels_are(tmp_path, env, suffix):
    table = write(tmp_path / f"people{suffix}", people_rows())
    out = tmp_path / "model"
    args = ["--file", str(table), "--column", "surname", "--label-column", "country", "--count-column", "people"]
    trained = run("train", *args, "--label-name", "country", "--out", str(out), *TINY, env=env, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    config = checkpoint.load(out).config
    assert config["labels"] == ["Germany", "Italy"] and config["data"]["label_name"] == "country"
    recorded = config["data"]["table"]
    assert config["format_version"] == 6 and config["memory"]["names"] == recorded["names"]
    assert config["memory"]["alpha"] > 0 and "as if the table held its name" in config["conformal"]["fitted_on"]
    top_label = config["memory"]["top_label"]  # an increasing map, fitted on validation people
    assert top_label["confidence"] == sorted(top_label["confidence"]) and len(top_label["accuracy"]) >= 1
    assert set(config["memory"]["held_out_top_label_ece"]) == {"before", "after"}
    distinct = len({row[0] for row in people_rows()})
    assert (recorded["rows"], recorded["names"], recorded["labels"]) == (len(people_rows()), distinct, 2)
    assert recorded["people"] == sum(row[2] for row in people_rows()) and recorded["name_weight"] == "sqrt"
    assert recorded["columns"] == {"name": "surname", "label": "country", "count": "people"}
    shown = run("info", "--model", str(out), env=env, cwd=tmp_path).stdout
    assert "2 (country): Germany, Italy" in shown and f"{len(people_rows()):,} rows" in shown
    assert "languages" not in shown.split("vocabulary")[0]  # the labels are countries, not languages
    answered = run("predict", "--model", str(out), "Tribbiani", "--json", env=env, cwd=tmp_path)
    assert json.loads(answered.stdout)["label"] in ("Germany", "Italy") and "language" not in answered.stdout


def test_a_name_of_mixed_labels_learns_their_shares_and_stays_in_one_part(tmp_path):
    table = read_table(write(tmp_path / "people.csv", people_rows()), Columns("surname", "country", "people"))
    seed = next(s for s in range(50) if hash_part(MIXED, s) == "train")  # a seed that trains on the mixed name
    split = split_table(table, seed, "count")
    mixed = {e.labels[0]: e.weight for e in split.train if e.name == MIXED}
    assert set(mixed) == {"Germany", "Italy"} and mixed["Germany"] / mixed["Italy"] == pytest.approx(50 / 10)
    parts = {"train": split.train, "validation": split.validation, "test": split.test}
    for part, examples in parts.items():
        assert {hash_part(e.name, seed) for e in examples} <= {part}, part
    people = table.counts.sum(axis=1)
    weights = {}
    for example in split.train:
        weights[example.name] = weights.get(example.name, 0.0) + example.weight
    trained = [table.names.index(name) for name in weights]
    # a name's weight is its people (`count`), scaled to a mean of 1 over all the table's names
    expected = people[trained] / people.mean()
    assert np.allclose([weights[table.names[i]] for i in trained], expected)


@pytest.mark.parametrize(
    ("rows", "extra", "message"),
    [
        (None, ["--column", "name"], "has no column 'name' (columns: surname, country, people)"),
        ([("Rossi", "Italy", 1)] * 20, [], "every name has the one label 'Italy'"),
        (None, ["--label-column", "people"], "more labels); each label needs at least 10"),
    ],
)
def test_a_bad_table_is_one_line_exit_3_and_no_model(tmp_path, env, rows, extra, message):
    table = write(tmp_path / "people.csv", rows if rows is not None else people_rows())
    out = tmp_path / "model"
    columns = {"--column": "surname", "--label-column": "country", "--count-column": "people"}
    columns.update(dict(zip(extra[::2], extra[1::2])))
    args = [item for pair in columns.items() for item in pair]
    failed = run("train", "--file", str(table), *args, "--out", str(out), *TINY, env=env, cwd=tmp_path)
    assert failed.returncode == 3 and message in one_error_line(failed)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "surname"], "--column reads a table: give it with --file TABLE"),
        (["--file", "t.csv", "--column", "surname"], "--file TABLE needs --column (the names) and --label-column"),
        (["--file", "t.csv", "--column", "s", "--label-column", "c", "--languages", "all"], "leave out --data"),
        (["--file", "t.csv", "--column", "s", "--label-column", "c", "--name-weight", "half"], "--name-weight must"),
    ],
)
def test_table_options_without_their_table_are_usage_errors(tmp_path, env, args, message):
    failed = run("train", *args, *TINY, env=env, cwd=tmp_path)
    assert failed.returncode == 2 and message in one_error_line(failed)


def test_the_python_api_trains_on_a_pandas_frame_as_on_a_file(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    import nameclf

    frame = pd.DataFrame(people_rows(), columns=["surname", "country", "people"])
    options = dict(column="surname", label_column="country", count_column="people", label_name="country")
    tiny = dict(epochs=1, hidden=8, threads=1, mark_latest=False)
    from_frame = nameclf.train(table=frame, out=tmp_path / "frame", **options, **tiny)
    from_file = nameclf.train(table=write(tmp_path / "p.csv", people_rows()), out=tmp_path / "file", **options, **tiny)
    for result in (from_frame, from_file):
        assert result.config["labels"] == ["Germany", "Italy"] and result.config["data"]["label_name"] == "country"
    assert from_frame.config["data"]["fingerprint"] == from_file.config["data"]["fingerprint"]
    with pytest.raises(nameclf.errors.UsageError, match="table= needs column="):
        nameclf.train(table=frame, out=tmp_path / "x", **tiny)


def test_everything_downstream_answers_from_a_tables_model(tmp_path, env):
    pd = pytest.importorskip("pandas")
    import nameclf

    out = tmp_path / "model"
    table = write(tmp_path / "people.csv", people_rows())
    args = ["--file", str(table), "--column", "surname", "--label-column", "country", "--count-column", "people"]
    assert run("train", *args, "--out", str(out), *TINY, env=env, cwd=tmp_path).returncode == 0
    explained = run("explain", "--model", str(out), "Tribbiani", "--json", env=env, cwd=tmp_path)
    assert json.loads(explained.stdout)["label"] in ("Germany", "Italy") and explained.returncode == 0
    as_csv = run("predict", "--model", str(out), "Rossi", "Müller", "--csv", "-k", "2", env=env, cwd=tmp_path)
    rows = as_csv.stdout.splitlines()
    assert len(rows) == 3 and all(("Germany:" in row and "Italy:" in row) for row in rows[1:])
    frame = nameclf.load(out).predict_frame(pd.Series(["Rossi", None]), coverage=0.9, probabilities=True)
    assert list(frame.columns)[-2:] == ["p_Germany", "p_Italy"] and frame["set"].iloc[0]
    held = people_rows()[-1][0]  # a name the table holds: its people's shares, pulled toward the model
    answer = nameclf.load(out).predict([held], top_k=2)[0]
    assert dict(answer.top)["Germany"] > 0.5  # 50 of its 60 people are German
    listed = json.loads(run("models", "--json", env=env, cwd=tmp_path).stdout)
    assert [row["label_name"] for row in listed if row["path"] == str(out)] == ["country"]
    (tmp_path / "list.tsv").write_text("Rossi\tItaly\nMüller\tGermany\n", encoding="utf-8")
    scored = run("evaluate", "--model", str(out), "--file", "list.tsv", "--coverage", "0.9", env=env, cwd=tmp_path)
    assert "per label" in scored.stdout and "the true label" in scored.stdout and "language" not in scored.stdout


def test_a_table_summed_on_a_dask_cluster_trains_the_same_names_and_people(tmp_path, env):
    pytest.importorskip("distributed")
    table = write(tmp_path / "people.csv", people_rows())
    args = ["--file", str(table), "--column", "surname", "--label-column", "country", "--count-column", "people"]
    outs = {"local": tmp_path / "local", "dask": tmp_path / "dask"}
    for kind, out in outs.items():
        extra = ["--workers", "1"] if kind == "dask" else []
        trained = run("train", *args, *extra, "--out", str(out), *TINY, env=env, cwd=tmp_path)
        assert trained.returncode == 0, trained.stderr
    local, dask = (checkpoint.load(out).config["data"] for out in outs.values())
    assert (dask["table"]["people"], dask["table"]["names"]) == (local["table"]["people"], local["table"]["names"])
    assert dask["fingerprint"] == local["fingerprint"] and dask["label_name"] == "country"
    assert "summed per name and label on Dask" in dask["table"]["file"]
    refused = run("train", "--workers", "2", *TINY, env=env, cwd=tmp_path)
    assert refused.returncode == 2 and "give it with --file TABLE" in refused.stderr
