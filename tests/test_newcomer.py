"""What a newcomer meets (issue 18): answers that reach a redirected stdout while stderr is a terminal,
one result schema and one exit-code rule on every path, and the smaller defects a walk through the
README found. Each test runs the real CLI in a subprocess, in a working folder and environment of
its own."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run, run_with_terminal_stderr, user_env

import nameclf
from nameclf import checkpoint, shipped
from nameclf.paths import bundled_names_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path):
    """A user with no data and no models folder of their own yet."""
    return user_env(tmp_path / "models")


def one_error_line(result) -> str:
    """The whole of stderr, which must be one line and nothing else."""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), repr(result.stderr)
    return result.stderr


def sample_names(count: int) -> list[str]:
    pool = [line for path in sorted(bundled_names_dir().glob("*.txt")) for line in path.read_text("utf-8").split()]
    return [pool[(i * 7919) % len(pool)] for i in range(count)]


# --- 1: stdout redirected to a file, stderr a terminal --------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("form", ["text", "json", "csv"])
def test_every_answer_reaches_a_redirected_stdout_while_stderr_is_a_terminal(tmp_path, env, form):
    names = sample_names(9000)  # more than two updates of the count
    listing = tmp_path / "names.txt"
    listing.write_text("\n".join(names) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    extra = {"text": [], "json": ["--json"], "csv": ["--csv"]}[form]
    code, terminal = run_with_terminal_stderr(["predict", "-f", str(listing), *extra], out, env, tmp_path)
    assert code == 0, terminal[-2000:]
    assert b"names" in terminal  # the count was shown on the terminal
    assert b"German" not in terminal and b"Italian" not in terminal  # and no answer went there
    text = out.read_text(encoding="utf-8")
    if form == "text":
        written = [line.split()[0] for line in text.splitlines()]
    elif form == "json":
        written = [json.loads(line)["name"] for line in text.splitlines()]
    else:
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0][:3] == ["name", "language", "probability"]
        written = [row[0] for row in rows[1:]]
    assert written == names  # every answer, in order, in the file


# --- 2 and 11: the model that answers without --model ---------------------------------------------


@pytest.mark.resolution
def test_models_lists_and_marks_the_model_that_answers_without_model_wherever_it_lives(tmp_path, env):
    rows = json.loads(run("models", "--json", env=env, cwd=tmp_path).stdout)
    assert [row["latest"] for row in rows] == [True, False]  # nothing trained: de-it answers
    trained = checkpoint.load(shipped.path_of("de-it"))
    inside = checkpoint.save(
        tmp_path / "models" / "lstm-german-italian-with-a-long-folder-name", trained.weights, trained.config
    )
    elsewhere = checkpoint.save(tmp_path / "some" / "folder", trained.weights, trained.config)
    (tmp_path / "models" / "LATEST").write_text(f"{elsewhere}\n", encoding="utf-8")  # as `train --out` leaves it
    rows = json.loads(run("models", "--json", env=env, cwd=tmp_path).stdout)
    assert [row["model"] for row in rows] == ["de-it (shipped)", "all (shipped)", str(inside), str(elsewhere)]
    assert [row["latest"] for row in rows] == [False, False, False, True]
    table = run("models", env={**env, "COLUMNS": "80"}, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in table.stdout  # no path cut short
    marked = [line for line in lines if "*" in line.split("(")[0]]  # the title says "(* answers ...)"
    assert len(marked) == 1 and "lstm" in marked[0]  # the mark sits on the model's own row
    folded = "".join(line.split("│")[2].strip() for line in lines if line.count("│") > 2)
    assert str(elsewhere) in folded and str(inside) in folded  # every path in full


# --- 3: no arguments -----------------------------------------------------------------------------


def test_no_arguments_prints_the_help_once(tmp_path, env):
    result = run(env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.count("Usage") == 1 and "Commands" in result.stdout


# --- 4: the model card ---------------------------------------------------------------------------


def test_info_shows_the_whole_card_at_80_columns_and_the_cell_by_name(tmp_path, env):
    saved = checkpoint.load(shipped.path_of("all"))
    result = run("info", "--model", "all", env={**env, "COLUMNS": "80"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert ", ".join(saved.labels) in text  # the 18 languages, none cut off
    sizes = saved.config["data"]["sizes"]
    assert ", ".join(f"{k} {v:,}" for k, v in sizes.items()) in text
    assert saved.config["command"] in text and "Cell." not in text
    assert re.search(r"network\s+gru, ", text)
    card = json.loads(run("info", "--model", "all", "--json", env=env, cwd=tmp_path).stdout)
    assert card["network"]["cell"] == "gru"


# --- 5: the extras' names in help ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "extra"), [("predict", "dask"), ("train", "plot"), ("evaluate", "plot")])
def test_help_names_the_extra_to_install(tmp_path, env, name, extra):
    text = run(name, "--help", env=env, cwd=tmp_path).stdout
    flat = " ".join(text.replace("│", " ").split())
    assert f"pip install 'nameclf[{extra}]'" in flat


# --- 6 and 13: a table given as a list of names -----------------------------------------------------


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


# --- 7 and 9: one result schema ----------------------------------------------------------------------


def result_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


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


# --- 8 and 12: one exit-code rule --------------------------------------------------------------------


def exit_codes(names: list[str], tmp_path: Path, env: dict) -> dict[str, int]:
    """The exit code for the same names as arguments, in a file, on stdin, and through --out."""
    listing = tmp_path / "names.txt"
    listing.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    table = tmp_path / "table.csv"
    table.write_text("surname\n" + "".join(f"{name}\n" for name in names), encoding="utf-8")
    codes = {
        "arguments": run("predict", *names, env=env, cwd=tmp_path).returncode,
        "file": run("predict", "--file", str(listing), env=env, cwd=tmp_path).returncode,
        "stdin": run("predict", "--file", "-", stdin=listing.read_text(), env=env, cwd=tmp_path).returncode,
        "column": run("predict", "--file", str(table), "--column", "surname", env=env, cwd=tmp_path).returncode,
    }
    if names:
        codes["explain"] = run("explain", *names, env=env, cwd=tmp_path).returncode
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        return codes
    out = tmp_path / "out.csv"
    codes["out"] = run(
        "predict", "--file", str(table), "--column", "surname", "--out", str(out), env=env, cwd=tmp_path
    ).returncode
    return codes


@pytest.mark.slow
def test_some_names_without_an_answer_exit_0_on_every_path(tmp_path, env):
    assert set(exit_codes(["12345", "Tribbiani"], tmp_path, env).values()) == {0}


@pytest.mark.slow
def test_no_name_answered_exits_3_on_every_path(tmp_path, env):
    assert set(exit_codes(["12345"], tmp_path, env).values()) == {3}


@pytest.mark.slow
def test_a_header_only_csv_exits_3_with_one_message_and_no_out_file(tmp_path, env):
    pytest.importorskip("dask.dataframe")
    header_only = tmp_path / "hdr.csv"
    header_only.write_text("id,surname\n", encoding="utf-8")
    printed = run("predict", "--file", str(header_only), "--column", "surname", env=env, cwd=tmp_path)
    out = tmp_path / "labelled.csv"
    written = run(
        "predict", "--file", str(header_only), "--column", "surname", "--out", str(out), env=env, cwd=tmp_path
    )
    assert printed.returncode == written.returncode == 3
    assert one_error_line(printed) == one_error_line(written) and "no names to classify" in printed.stderr
    assert not out.exists() and list(tmp_path.glob(".labelled.csv*")) == []


def test_the_readme_and_the_help_state_the_exit_code_rule(tmp_path, env):
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "exit 0 when at least one name got an answer" in readme
    assert "`nameclf predict 12345 Tribbiani` exits 0" in readme
    help_text = " ".join(run("--help", env=env, cwd=tmp_path).stdout.replace("│", " ").split())
    assert "no name answered" in help_text


# --- 10: the README's Dask snippet as a script --------------------------------------------------------


@pytest.mark.slow
def test_the_readme_dask_snippet_runs_as_a_saved_script(tmp_path, env):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("distributed")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Tables of any size") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 'if __name__ == "__main__":' in snippet
    (tmp_path / "voters").mkdir()
    pd.DataFrame({"surname": ["Kowalski", "Nguyen", "Rossi"]}).to_parquet(tmp_path / "voters" / "part-0.parquet")
    script = tmp_path / "label_voters.py"
    script.write_text(snippet, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    labelled = pd.read_parquet(tmp_path / "labelled")
    assert labelled["surname"].tolist() == ["Kowalski", "Nguyen", "Rossi"]
    assert labelled["language"].tolist()[:2] == ["Polish", "Vietnamese"]


# --- 13: the smaller points ------------------------------------------------------------------------


@pytest.mark.slow
def test_train_refusals_are_one_line_with_no_blank_line_before(tmp_path, env):
    data = tmp_path / "data"
    (data / "names").mkdir(parents=True)
    for language in ("German", "Italian"):
        (data / "names" / f"{language}.txt").write_text(
            (bundled_names_dir() / f"{language}.txt").read_text("utf-8"), encoding="utf-8"
        )
    for args in (["--out", str(data)], ["--data", str(tmp_path / "nodir")], ["--languages", "German"]):
        result = run("train", "--data", str(data), *args, env=env, cwd=tmp_path)
        assert result.returncode != 0
        one_error_line(result)


@pytest.mark.slow
def test_compare_with_one_seed_shows_no_range_and_no_spread(tmp_path, env):
    data = tmp_path / "data"
    (data / "names").mkdir(parents=True)
    for language in ("German", "Italian"):
        lines = (bundled_names_dir() / f"{language}.txt").read_text("utf-8").split()[:60]
        (data / "names" / f"{language}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("compare", "--cells", "rnn", "--seeds", "1", "--data", str(data), "-q", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "seed 0," in result.stdout and "0-0" not in result.stdout and "±" not in result.stdout


@pytest.mark.resolution
def test_evaluate_says_one_name_and_leaves_out_a_language_with_no_names(tmp_path, env):
    labelled = tmp_path / "one.tsv"
    labelled.write_text("Rossi\tItalian\n", encoding="utf-8")
    result = run("evaluate", "--file", str(labelled), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("de-it (shipped) on ") and ": 1 name, " in result.stdout
    per_language = result.stdout[result.stdout.index("per language") : result.stdout.index("confusion")]
    assert "Italian" in per_language and "│ German" not in per_language
    assert "no names and no answers: German" in per_language


def test_evaluate_names_a_shipped_model_as_info_does(tmp_path, env):
    result = run("evaluate", "--model", "all", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("all (shipped) on test split: 1,744 names")


def test_explain_json_keeps_tiny_contributions(tmp_path, env):
    record = json.loads(run("explain", "Tribbiani", "--json", env=env, cwd=tmp_path).stdout)
    contributions = [c["contribution"] for c in record["characters"]]
    assert all(value != 0 for value in contributions)  # `r` moves it by about 3e-7
    assert min(abs(value) for value in contributions) < 1e-6


def test_an_unknown_nameclf_model_names_the_variable(tmp_path, env):
    result = run("predict", "Rossi", env={**env, "NAMECLF_MODEL": str(tmp_path / "nowhere")}, cwd=tmp_path)
    assert result.returncode == 5 and "NAMECLF_MODEL" in one_error_line(result)
    given = run("predict", "Rossi", "--model", str(tmp_path / "nowhere"), env=env, cwd=tmp_path)
    assert given.returncode == 5 and "NAMECLF_MODEL" not in given.stderr


def test_a_mistyped_command_is_one_sentence_with_the_hint(tmp_path, env):
    result = run("predit", env=env, cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "Did you mean 'predict'? See `nameclf --help`." in line and "?;" not in line


def test_the_readme_gives_the_pair_tasks_training_size_as_info_does():
    sizes = checkpoint.load(shipped.path_of("de-it")).config["data"]["sizes"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = int(re.search(r"German/Italian, about ([\d,]+) training names", readme).group(1).replace(",", ""))
    assert abs(stated - sizes["train"]) < 100


@pytest.mark.slow
def test_the_evaluation_picture_has_no_overlap_and_no_empty_band(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nameclf import plots
    from nameclf.evaluate import evaluate_examples, test_examples
    from nameclf.predict import Predictor

    drawn = {}
    save = plots._save

    def keep(figure, path):
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        drawn[Path(path).name] = {
            "title": figure._suptitle.get_window_extent(renderer),
            "axes": [axis.get_tightbbox(renderer) for axis in figure.axes],
            "labels": [axis.yaxis.label.get_window_extent(renderer) for axis in figure.axes],
            "ticks": [[t.get_window_extent(renderer) for t in axis.get_yticklabels()] for axis in figure.axes],
        }
        return save(figure, path)

    monkeypatch.setattr(plots, "_save", keep)
    for name in shipped.SHIPPED:
        saved = checkpoint.load(shipped.path_of(name))
        report = evaluate_examples(Predictor(saved), test_examples(saved, bundled_names_dir().parent), "test split")
        plots.evaluation(report.to_dict(), tmp_path / f"{name}.png", f"{name} (shipped)")
    for name, parts in drawn.items():
        reliability, colour_bar = 1, 2  # the matrix, the diagram, then the colour bar
        top = max(box.y1 for box in parts["axes"])
        assert parts["title"].y0 - top < 20, name  # the title sits just above the axes: no band
        label = parts["labels"][reliability]
        for tick in parts["ticks"][colour_bar]:
            assert not label.overlaps(tick), name  # "accuracy" clear of the colour bar's ticks
        assert parts["axes"][colour_bar].x1 <= parts["axes"][reliability].x0, name  # the two stand apart
