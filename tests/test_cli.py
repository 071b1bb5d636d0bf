"""The CLI as a user runs it: the installed `nameclf` script in a subprocess, on real files."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from cli_runner import SCRIPT, one_error_line, run, user_env
from servers import LocalServer, closed_port

from nameclf import __version__
from nameclf.cli.entry import COMMANDS
from nameclf.paths import bundled_names_dir

FAST_TRAIN = ["--hidden", "16", "--epochs", "2", "--threads", "1", "--quiet"]


@pytest.fixture
def env(tmp_path):
    """A user's environment: data and models in private folders, no debug."""
    return user_env(tmp_path / "models", tmp_path / "data")


@pytest.fixture
def with_data(tmp_path, env):
    shutil.copytree(bundled_names_dir(), tmp_path / "data" / "names")
    return env


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One model trained with the default settings, as `make demo` does."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(bundled_names_dir(), root / "data" / "names")
    values = user_env(root / "models", root / "data")
    result = run("train", "--quiet", env=values)
    assert result.returncode == 0, result.stderr
    return values


@pytest.mark.slow
def test_help_and_version_do_not_import_torch():
    assert run("--version").stdout.strip() == f"nameclf {__version__}"
    result = run("--help")
    assert result.returncode == 0
    for command in ("download", "train", "predict", "evaluate"):
        assert command in result.stdout
    probe = (
        "import sys\nfrom nameclf.cli import app\n"
        "for argv in (['--help'], ['--version'], ['predict', '--help']):\n"
        "    try:\n        app(argv)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.slow
def test_a_command_builds_only_itself_and_the_full_app_lists_every_command():
    """`nameclf predict` imports the predict module alone (and no pydantic, which typer 0.29 pulls in
    at start): the other commands' modules are left unimported; `--help` and a typo get all of them."""
    probe = (
        "import sys\nsys.argv = ['nameclf', '--debug', 'predict', 'Rossi', '--model', 'de-it']\n"
        "from nameclf.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "watched = ('pydantic', 'typer.rich_utils')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('nameclf.cli.') or m in watched)\n"
        "print(code, ' '.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    answer, modules = out.stdout.strip().splitlines()
    assert answer.split()[:2] == ["Rossi", "Italian"]
    code, *loaded = modules.split()
    assert code == "0"
    assert "nameclf.cli.predict" in loaded
    assert not {"nameclf.cli.train", "nameclf.cli.compare", "nameclf.cli.serve", "pydantic"} & set(loaded)
    assert "typer.rich_utils" not in loaded  # help's tables are patched only when help is drawn
    listed = run("--help").stdout
    from nameclf.cli.entry import COMMANDS

    assert all(name in listed for name in COMMANDS)
    typo = run("predit", "Rossi")
    assert typo.returncode == 2 and "Did you mean 'predict'?" in typo.stderr


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "nameclf", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"nameclf {__version__}"


def official_like_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(bundled_names_dir().glob("*.txt")):
            archive.writestr(f"data/names/{path.name}", path.read_bytes())
        archive.writestr("data/eng-fra.txt", "Go.\tVa !\n")
    return buffer.getvalue()


def test_download_from_a_loopback_server(tmp_path, env):
    with LocalServer() as server:
        url = server.route("/data.zip", body=official_like_archive())
        result = run("download", "--url", url, "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert "total" in result.stdout and "20074" in result.stdout
    assert "Italian" in result.stdout and "709" in result.stdout and "701" in result.stdout
    names = tmp_path / "data" / "names"
    assert sorted(p.name for p in names.iterdir()) == sorted(p.name for p in bundled_names_dir().glob("*.txt"))
    assert (names / "German.txt").read_bytes() == (bundled_names_dir() / "German.txt").read_bytes()

    again = run("download", "--url", url, "--quiet", env=env)
    assert again.returncode == 0 and "--force" in again.stderr


def test_download_failure_keeps_the_dataset_and_exits_nonzero(tmp_path, with_data):
    before = {p.name: p.read_bytes() for p in (tmp_path / "data" / "names").iterdir()}
    with LocalServer() as server:
        url = server.route("/missing.zip", status=404)
        result = run("download", "--url", url, "--force", "--quiet", env=with_data)
    assert result.returncode == 4
    assert len(result.stderr.strip().splitlines()) == 1 and "404" in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "data" / "names").iterdir()} == before


@pytest.mark.slow
def test_download_offline_falls_back_to_the_bundled_copy(tmp_path, env):
    url = f"http://127.0.0.1:{closed_port()}/data.zip"  # connection refused, as when offline
    result = run("download", "--url", url, "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    assert "bundled" in result.stderr and "20074" in result.stdout
    assert len(list((tmp_path / "data" / "names").glob("*.txt"))) == 18

    strict = run("download", "--url", url, "--force", "--no-fallback", "--quiet", env=env)
    assert strict.returncode == 4 and "Traceback" not in strict.stderr


@pytest.mark.slow
def test_end_to_end_train_predict_evaluate(trained, tmp_path):
    result = run("predict", "Tribbiani", env=trained)
    assert result.returncode == 0, result.stderr
    name, language, percent = result.stdout.split()
    assert (name, language) == ("Tribbiani", "Italian") and percent.endswith("%")

    top = run("predict", "Schmidt", "Rossi", "--top-k", "2", env=trained)
    lines = top.stdout.strip().splitlines()
    assert lines[0].split()[1] == "German" and lines[1].split()[1] == "Italian"
    assert all(line.count("%") == 2 for line in lines)

    as_json = run("predict", "Tribbiani", "Schmidt", "--json", "-k", "2", env=trained)
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["language"] for r in records] == ["Italian", "German"]
    assert all(abs(sum(t["probability"] for t in r["top"]) - 1) < 1e-3 for r in records)

    report = run("evaluate", "--json", env=trained)
    assert report.returncode == 0, report.stderr
    figures = json.loads(report.stdout)
    assert figures["count"] == 140 and figures["source"] == "test split"
    assert 0.9 <= figures["accuracy"] <= 1.0
    assert sum(map(sum, figures["confusion"]["matrix"])) == 140
    table = run("evaluate", env=trained)
    assert table.returncode == 0 and "macro-F1" in table.stdout and "confusion" in table.stdout

    labelled = tmp_path / "mine.tsv"
    labelled.write_text("Tribbiani\tItalian\nSchmidt\tgerman\nbroken line\nSmith\tEnglish\n", encoding="utf-8")
    mine = json.loads(run("evaluate", "--file", str(labelled), "--json", env=trained).stdout)
    assert mine["count"] == 2 and mine["skipped_lines"] == 2 and mine["accuracy"] == 1.0


def test_predict_reports_bad_names_one_line_each(trained):
    result = run("predict", "Tribbiani", "   ", "Иванов", "Müllerß", env=trained)
    lines = result.stdout.splitlines()
    assert result.returncode == 0  # two got no answer and are marked; exit 3 only when none is answered
    assert len(lines) == 4 and lines[0].split()[1] == "Italian"
    assert "empty name" in lines[1] and "unknown" in lines[2]
    assert "Traceback" not in result.stderr


def test_predict_from_a_file_and_stdin(trained, tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("Tribbiani\r\n\r\nSchmidt\r\n", encoding="utf-8")
    result = run("predict", "--file", str(names), "--csv", env=trained)
    assert result.returncode == 0
    rows = result.stdout.strip().splitlines()
    assert rows[0].startswith("name,label,language,probability") and len(rows) == 3
    piped = run("predict", "--file", "-", env=trained, stdin="Rossi\nWeber\n")
    assert [line.split()[1] for line in piped.stdout.splitlines()] == ["Italian", "German"]


@pytest.mark.slow
def test_predict_from_a_file_without_names_is_an_error(trained, tmp_path):
    empty, blanks = tmp_path / "empty.txt", tmp_path / "blanks.txt"
    empty.write_bytes(b"")
    blanks.write_text("\n  \n\t\n", encoding="utf-8")
    for args, stdin in (([str(empty)], None), ([str(blanks)], None), (["-"], "")):
        result = run("predict", "--file", *args, env=trained, stdin=stdin)
        assert result.returncode == 3, args
        assert result.stdout == ""
        assert "no names to classify" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    header_only = tmp_path / "people.csv"
    header_only.write_text("id,surname\n", encoding="utf-8")
    result = run("predict", "--file", str(header_only), "--column", "surname", env=trained)
    assert result.returncode == 3 and "column 'surname'" in result.stderr


@pytest.mark.slow
def test_train_errors_are_one_line_with_distinct_codes(tmp_path, env, with_data):
    no_data = dict(env, NAMECLF_DATA=str(tmp_path / "nowhere"))
    result = run("train", *FAST_TRAIN, env=no_data)
    assert result.returncode == 3 and "nameclf download" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    unknown = run("train", "--languages", "German,Klingon", *FAST_TRAIN, env=with_data)
    assert unknown.returncode == 2 and "Klingon" in unknown.stderr and "Italian" in unknown.stderr

    variant = run("train", "--cell", "lstm_coupled", *FAST_TRAIN, env=with_data)
    assert variant.returncode == 2 and "--impl scratch" in variant.stderr

    averaged = run("train", "--average", "1", *FAST_TRAIN, env=with_data)
    assert averaged.returncode == 2 and "--average must be in [0, 1)" in averaged.stderr
    assert len(averaged.stderr.strip().splitlines()) == 1

    for option, value, message in (("--seed", "-1", "--seed must be between 0 and"), ("--patience", "0", "--patience")):
        bad = run("train", option, value, *FAST_TRAIN, env=with_data)
        assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_quiet_training_prints_nothing(tmp_path, with_data):
    result = run("train", *FAST_TRAIN, env=with_data)
    assert result.returncode == 0
    assert (result.stdout, result.stderr) == ("", "")
    assert (tmp_path / "models" / "lstm-german-italian" / "config.json").is_file()


@pytest.mark.slow
def test_train_never_replaces_a_folder_that_is_not_a_model(tmp_path, with_data):
    """`--out data` must not swap the dataset away: refused before training, nothing touched."""
    before = sorted((tmp_path / "data" / "names").iterdir())
    result = run("train", "--out", str(tmp_path / "data"), *FAST_TRAIN, env=with_data)
    assert result.returncode == 2
    assert "is a folder holding other files than a nameclf model" in result.stderr and "--out" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted((tmp_path / "data" / "names").iterdir()) == before
    assert not (tmp_path / "models").exists()  # refused before anything was written


def test_predict_device_needs_the_torch_backend(trained):
    result = run("predict", "Rossi", "--device", "cuda", env=trained)
    assert result.returncode == 2 and "--backend torch" in result.stderr and result.stdout == ""
    assert run("predict", "Rossi", "--device", "cpu", env=trained).returncode == 0


def test_help_shows_where_things_go_by_default():
    train_help = run("train", "--help", env=dict(os.environ, COLUMNS="200")).stdout
    assert "[env var: NAMECLF_DATA]" in train_help and "[default: (./data)]" in train_help
    assert "NAMECLF_MODELS" in train_help
    assert "[default: (a folder in ./models named for the cell and languages)]" in train_help
    assert "[default: (the OMP_NUM_THREADS variable, else 1)]" in train_help


@pytest.mark.resolution
def test_predict_and_evaluate_without_a_model_use_the_shipped_one(tmp_path):
    env = user_env(tmp_path / "models")  # no NAMECLF_DATA, and no ./data
    result = run("predict", "Tribbiani", env=env, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.split()[:2] == ["Tribbiani", "Italian"]
    # no dataset downloaded either: the test split comes from the copy that ships with nameclf
    evaluated = run("evaluate", "--json", env=env, cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["count"] == 140


def test_evaluate_without_the_dataset(trained, tmp_path):
    result = run("evaluate", env=dict(trained, NAMECLF_DATA=str(tmp_path / "gone")))
    assert result.returncode == 3 and "nameclf download" in result.stderr


@pytest.mark.slow
def test_train_writes_the_model_predict_then_uses(tmp_path, with_data):
    result = run("train", "--cell", "gru", *[a for a in FAST_TRAIN if a != "--quiet"], env=with_data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("saved ") and "validation accuracy" in result.stdout  # the summary
    assert [line.split()[:2] for line in result.stderr.split("\n") if line.strip()] == [["epoch", "1"], ["epoch", "2"]]
    model_dir = tmp_path / "models" / "gru-german-italian"
    assert (model_dir / "model.safetensors").is_file() and (model_dir / "config.json").is_file()
    config = json.loads((model_dir / "config.json").read_text())
    assert config["network"]["cell"] == "gru" and config["labels"] == ["German", "Italian"]
    assert str(model_dir) in result.stdout
    assert run("predict", "Rossi", env=with_data).returncode == 0
    explicit = run("predict", "Rossi", "--model", str(model_dir), "--json", env=with_data)
    assert json.loads(explicit.stdout)["language"] in ("German", "Italian")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--hidden", "abc"], "Invalid value for '--hidden'"),
        (["train", "--bogus"], "No such option: --bogus"),
        (["train", "--device", "tpu"], "Invalid value for '--device'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["evaluate", "extra"], "unexpected extra argument"),
    ],
)
def test_option_parsing_errors_are_one_line_too(env, args, message):
    result = run(*args, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "--help" in result.stderr
    assert result.stdout == ""


def test_no_arguments_shows_the_help(env):
    result = run(env=env)
    assert result.returncode == 0 and "Usage: nameclf" in result.stdout


def test_a_reader_that_stops_early_ends_predict_quietly(trained, tmp_path):
    """`nameclf predict -f big.txt | head -1`: no error, no traceback, the shell's SIGPIPE status."""
    names = tmp_path / "many.txt"
    names.write_text("Rossi\n" * 200_000, encoding="utf-8")
    process = subprocess.Popen(
        [str(SCRIPT), "predict", "-f", str(names)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=trained
    )
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert first.split()[:2] == [b"Rossi", b"Italian"]
    assert stderr == b""


def test_an_operating_system_refusal_is_one_line(trained, tmp_path):
    too_long = tmp_path / ("y" * 300)
    result = run("predict", "Rossi", "--model", str(too_long), env=trained)
    assert result.returncode == 3
    assert result.stderr.startswith("error: File name too long") and len(result.stderr.strip().splitlines()) == 1


def test_predict_from_a_closed_stdin(trained):
    result = subprocess.run(
        ["bash", "-c", f"'{SCRIPT}' predict -f - <&-"], capture_output=True, text=True, env=trained, timeout=60
    )
    assert result.returncode == 2 and "standard input is closed" in result.stderr


@pytest.mark.slow
def test_train_on_a_table_or_an_empty_folder_says_what_data_takes_not_to_download(tmp_path, env):
    """`--data` is a folder of names/<Label>.txt: a CSV given instead, or a folder without names/, gets
    the layout it needs; `nameclf download` is the mend only for the default folder."""
    (tmp_path / "people.csv").write_text("surname,country\nRossi,IT\n", encoding="utf-8")
    (tmp_path / "mydata").mkdir()
    for given, problem in (("people.csv", "is a file"), ("mydata", "no dataset in mydata/names")):
        result = run("train", "--data", given, *FAST_TRAIN, env=env, cwd=tmp_path)
        assert result.returncode == 3
        assert problem in result.stderr and "--data takes a folder holding names/<Label>.txt" in result.stderr
        assert "run `nameclf download` first" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "models").exists()  # nothing saved
    default = run("train", *FAST_TRAIN, env=env, cwd=tmp_path)  # the default folder, not there yet
    assert default.returncode == 3 and "run `nameclf download` first" in default.stderr


@pytest.mark.slow
def test_evaluate_a_model_of_other_labels_suggests_its_data_folder(tmp_path, env):
    mine = tmp_path / "mine" / "names"
    mine.mkdir(parents=True)
    for label, stem, end in (("North", "Nor", ""), ("South", "Sud", "i")):
        names = [f"{stem}{c}{d}{end}" for c in "abcdefgh" for d in "xyz"]
        (mine / f"{label}.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    trained = run("train", "--data", str(mine.parent), "--languages", "all", *FAST_TRAIN, env=env, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    shutil.copytree(bundled_names_dir(), tmp_path / "data" / "names")
    elsewhere = run("evaluate", env=env, cwd=tmp_path)  # on the tutorial's data: not the model's
    assert elsewhere.returncode == 3
    assert "has no North, South" in elsewhere.stderr and "evaluate with --data DIR" in elsewhere.stderr
    right = run("evaluate", "--data", str(mine.parent), env=env, cwd=tmp_path)
    assert right.returncode == 0, right.stderr


def test_debug_after_the_command_shows_the_traceback_and_after_dashes_is_a_name(env, tmp_path):
    failed = run("predict", "Rossi", "--model", "no/such/model", "--debug", env=env, cwd=tmp_path)
    assert failed.returncode == 5
    assert "Traceback" in failed.stderr and failed.stderr.strip().endswith("pass --model DIR")
    named = run("predict", "--model", "de-it", "--", "--debug", env=env, cwd=tmp_path)
    assert named.returncode == 0 and named.stdout.startswith("--debug ")


@pytest.mark.slow
@pytest.mark.parametrize("command", [[], *[[name] for name in COMMANDS]])
def test_help_at_80_columns_wraps_and_never_cuts_a_word(command, env, tmp_path):
    shown = run(*command, "--help", env={**env, "COLUMNS": "80"}, cwd=tmp_path)
    assert shown.returncode == 0
    assert "…" not in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80


def test_names_are_shortened_and_aligned_by_terminal_cells_in_predict_and_explain(env, tmp_path):
    from rich.cells import cell_len

    long_name = "a" * 10_000
    for command in ("predict", "explain"):
        shown = run(command, long_name, "--model", "all", env=env, cwd=tmp_path).stdout
        assert shown.startswith("a" * 57 + "...  -  (name is 10000 characters long") and len(shown) < 200
    lines = run("predict", "李小龍", "Rossi", "Müller", "--model", "all", env=env, cwd=tmp_path).stdout.splitlines()
    names = ["李小龍", "Rossi", "Müller"]
    starts = [cell_len(line[: len(line) - len(line[len(name) :].lstrip(" "))]) for line, name in zip(lines, names)]
    assert starts == [22, 22, 22], lines  # the name column is 20 cells wide whatever the script


def test_csv_lines_end_in_newline_and_a_header_only_table_prints_nothing(env, tmp_path):
    printed = subprocess.run(
        [str(SCRIPT), "predict", "Rossi", "Müller", "--model", "de-it", "--csv"],
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    assert printed.returncode == 0 and b"\r" not in printed.stdout and printed.stdout.count(b"\n") == 3
    (tmp_path / "empty.csv").write_text("id,surname\n", encoding="utf-8")
    empty = run("predict", "-f", "empty.csv", "--column", "surname", "--csv", "--model", "de-it", env=env, cwd=tmp_path)
    assert empty.returncode == 3 and empty.stdout == ""
    assert (
        empty.stderr.strip()
        == "error: no names to classify in column 'surname' of empty.csv; it has a header and no rows"
    )


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
