"""Tables in and out: a CSV column or a Parquet file of names in; out, one result schema whether printed
(`--csv`), written (`--out`, CSV or Parquet) or returned by `predict_frame`; and the one-line refusals of
a table given as a list of names or of options `--out` cannot use."""

from __future__ import annotations

import csv
import io

import pytest
from cli_runner import one_error_line, run

import nameclf


def result_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.slow
def test_a_parquet_file_without_out_is_refused_in_one_line(tmp_path, env):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    table = tmp_path / "voters.parquet"
    pd.DataFrame({"surname": ["Rossi", "Müller"]}).to_parquet(table)
    disguised = tmp_path / "voters.dat"  # a Parquet file by its first bytes, whatever its name
    disguised.write_bytes(table.read_bytes())
    for args in (["--column", "surname"], []):
        for path in (table, disguised):
            result = run("predict", "--file", str(path), *args, env=env, cwd=tmp_path)
            assert result.returncode == 2 and result.stdout == ""
            assert "Parquet" in one_error_line(result) and "--out" in result.stderr


def test_a_csv_file_without_column_is_refused_naming_its_header(tmp_path, env):
    people = tmp_path / "people.csv"
    people.write_text("id,surname,city\n1,Rossi,Rome\n", encoding="utf-8")
    result = run("predict", "--file", str(people), env=env, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "--column" in one_error_line(result) and "id, surname, city" in result.stderr
    one_column = tmp_path / "names.csv"  # one name per line, no comma: still a list of names
    one_column.write_text("Rossi\nMüller\n", encoding="utf-8")
    assert run("predict", "--file", str(one_column), env=env, cwd=tmp_path).returncode == 0


@pytest.mark.slow
def test_csv_and_out_csv_write_the_same_table_as_predict_frame(tmp_path, env):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("dask.dataframe")
    people = tmp_path / "people.csv"
    people.write_text("id,surname\n1,Tribbiani\n2,00123\n3,\n4,Müller\n5,Benetton\n6,Ros§si\n", encoding="utf-8")
    options = ["--column", "surname", "--min-confidence", "0.95", "-k", "2", "--coverage", "0.9"]
    printed = run("predict", "--file", str(people), *options, "--csv", env=env, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    out = tmp_path / "labelled.csv"
    written = run("predict", "--file", str(people), *options, "--out", str(out), env=env, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    rows = result_rows(printed.stdout)
    assert result_rows(out.read_text(encoding="utf-8")) == rows  # the same header, cells and text
    header = rows[0]
    frame = nameclf.load("de-it").predict_frame(pd.Series(["Tribbiani"]), min_confidence=0.95, top_k=2, coverage=0.9)
    assert header == ["id", "surname", *frame.columns]  # and the same columns as predict_frame
    by_name = {row[1]: dict(zip(header, row)) for row in rows[1:]}
    assert by_name["00123"]["error"].startswith("5 of 5 characters are unknown") and by_name["00123"]["warning"] == ""
    assert by_name["Ros§si"]["warning"] == "1 unknown character(s) ignored" and by_name["Ros§si"]["error"] == ""
    assert by_name["Benetton"]["abstained"] == "true" and by_name["Tribbiani"]["abstained"] == "false"
    assert len(by_name["Tribbiani"]["top"].split(";")) == 2 and by_name["Tribbiani"]["set"] == "Italian"


@pytest.mark.slow
def test_out_gives_the_top_and_set_columns_in_parquet(tmp_path, env):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("dask.dataframe")
    table = tmp_path / "people.parquet"
    pd.DataFrame({"surname": ["Silva", "Kowalski"]}).to_parquet(table)
    out = tmp_path / "labelled.parquet"
    args = ["--file", str(table), "--column", "surname", "--model", "all", "-k", "3", "--coverage", "0.9"]
    result = run("predict", *args, "--out", str(out), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    labelled = pd.read_parquet(out)
    assert [len(top.split(";")) for top in labelled["top"]] == [3, 3]
    assert labelled["set"].tolist()[1] == "Polish" and len(labelled["set"].tolist()[0].split(";")) > 1
    assert labelled["abstained"].dtype == bool
    assert labelled["unfamiliar"].dtype == "boolean" and labelled["novelty_p"].between(0, 1).all()


def test_out_refuses_the_options_it_cannot_use_in_one_line(tmp_path, env):
    people = tmp_path / "people.csv"
    people.write_text("surname\nRossi\n", encoding="utf-8")
    out = tmp_path / "labelled.csv"
    for extra in (["--backend", "torch"], ["--device", "cpu"]):
        result = run("predict", "--file", str(people), "--column", "surname", "--out", str(out), *extra, env=env)
        assert result.returncode == 2 and "--backend" in one_error_line(result) and not out.exists()


def test_csv_in_csv_out_keeps_every_column_and_row(tmp_path, env):
    people = tmp_path / "people.csv"
    people.write_text(
        "id,surname,language,city\n1,Tribbiani,x,Rome\n2,,x,Nowhere\n3,Müller,x,Bonn\n4,Rossi,x,\n", encoding="utf-8"
    )
    result = run("predict", "--file", str(people), "--column", "surname", "--csv", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:4] == ["id", "surname", "language", "city"]
    assert rows[0][4:6] == ["label", "nameclf_language"] and "set" in rows[0]
    assert [row[:4] for row in rows[1:]] == [
        ["1", "Tribbiani", "x", "Rome"],
        ["2", "", "x", "Nowhere"],
        ["3", "Müller", "x", "Bonn"],
        ["4", "Rossi", "x", ""],
    ]
    answers = {row[1]: row[4] for row in rows[1:]}
    assert answers == {"Tribbiani": "Italian", "": "", "Müller": "German", "Rossi": "Italian"}
    error = rows[0].index("error")
    assert rows[2][error] == "empty name"
