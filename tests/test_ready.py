"""Ready to use: the shipped models answer right after installation, the top-level Python API, model
cards, the list of models, pictures, tables that fit 80 columns, CSV in and out, and the CLI's
conventions (help, environment variables, exit codes, completion, responsible use)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run, run_with_terminal_stderr, train_tiny, user_env
from reproduce import safe_open_metadata, shipped_differences
from safetensors.numpy import load_file, save_file

import nameclf
from nameclf import checkpoint, rebuild, registry, shipped
from nameclf.paths import bundled_names_dir

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["download", "train", "predict", "explain", "evaluate", "compare", "info", "models"]


@pytest.fixture
def env(tmp_path):
    """A user with no data and no models folder, in an empty working folder."""
    return user_env(tmp_path / "models")


# --- models in the box -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(shipped.SHIPPED))
def test_the_shipped_models_load_and_are_small(name):
    saved = checkpoint.load(shipped.path_of(name))
    size = sum(f.stat().st_size for f in shipped.path_of(name).iterdir())
    assert size < 3_000_000
    assert saved.temperature is not None and saved.conformal_scores  # calibrated, with prediction sets
    assert len(saved.labels) == (2 if name == "de-it" else 18)


@pytest.mark.resolution
def test_predict_answers_with_no_data_and_no_models_folder(tmp_path, env):
    result = run("predict", "Tribbiani", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["language"] == "Italian" and answer["model"] == "de-it (shipped)"
    assert not (tmp_path / "models").exists() and not (tmp_path / "data").exists()  # nothing made
    everything = run("predict", "Tribbiani", "Nguyen", "--model", "all", "--json", env=env, cwd=tmp_path)
    rows = [json.loads(line) for line in everything.stdout.splitlines()]
    assert rows[0]["model"] == "all (shipped)" and rows[1]["language"] == "Vietnamese"


@pytest.mark.slow
@pytest.mark.resolution
def test_the_model_without_model_is_the_env_then_the_last_trained_then_de_it(tmp_path, env):
    # conftest: no NAMECLF_ settings and an empty working folder, so nothing is trained yet
    assert registry.resolve_model_dir(None) == shipped.path_of("de-it")
    assert nameclf.load().saved.path == shipped.path_of("de-it")
    trained = train_tiny(tmp_path, env)
    assert trained.returncode == 0, trained.stderr
    last = json.loads(run("predict", "Rossi", "--json", env=env, cwd=tmp_path).stdout)["model"]
    assert last.endswith("lstm-german-italian")
    chosen = json.loads(run("predict", "Rossi", "--json", env={**env, "NAMECLF_MODEL": "all"}, cwd=tmp_path).stdout)
    assert chosen["model"] == "all (shipped)"
    explicit = run("predict", "Rossi", "--json", "--model", "de-it", env={**env, "NAMECLF_MODEL": "all"}, cwd=tmp_path)
    assert json.loads(explicit.stdout)["model"] == "de-it (shipped)"
    for command in (["explain", "Rossi"], ["evaluate"]):  # every --json output says which model answered
        answer = run(*command, "--json", "--model", "all", env=env, cwd=tmp_path)
        assert json.loads(answer.stdout.splitlines()[0])["model"] == "all (shipped)", answer.stderr
    for command in (["explain", "Rossi"], ["evaluate"]):  # every --json output says which model answered
        answer = run(*command, "--json", "--model", "all", env=env, cwd=tmp_path)
        assert json.loads(answer.stdout.splitlines()[0])["model"] == "all (shipped)", answer.stderr


@pytest.mark.slow
def test_make_models_rebuilds_de_it_byte_for_byte_on_one_machine(tmp_path):
    """On one machine the same seed and data give the same bytes: two rebuilds are identical files."""
    first = rebuild.build("de-it", tmp_path / "first")
    second = rebuild.build("de-it", tmp_path / "second")
    assert (first / "model.safetensors").read_bytes() == (second / "model.safetensors").read_bytes()
    configs = [
        without_timings(json.loads((folder / "config.json").read_text(encoding="utf-8"))) for folder in (first, second)
    ]
    assert configs[0] == configs[1]


def without_timings(value):
    """A config without what a rebuild may change: how many seconds each step took."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items() if not str(key).endswith("seconds")}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


@pytest.mark.slow
@pytest.mark.cross_machine
def test_make_models_rebuilds_the_shipped_de_it_within_tolerance(tmp_path):
    """The shipped files were built on another machine, whose CPU kernels may round differently in the
    last bits: a rebuild here gives the same answers and probabilities within a tolerance (reproduce.py)."""
    rebuilt = rebuild.build("de-it", tmp_path / "de-it")
    assert shipped_differences(shipped.path_of("de-it"), rebuilt) == []


@pytest.mark.cross_machine
def test_the_tolerance_catches_a_bias_moved_by_1e_2(tmp_path):
    copy = tmp_path / "de-it"
    shutil.copytree(shipped.path_of("de-it"), copy)
    weights = load_file(copy / "model.safetensors")
    changed = weights["head.bias"].copy()
    changed[0] += 1e-2
    save_file({**weights, "head.bias": changed}, copy / "model.safetensors", metadata=safe_open_metadata(copy))
    problems = shipped_differences(shipped.path_of("de-it"), copy)
    assert len(problems) == 1 and problems[0].startswith("probabilities differ by up to 1.6e-03")
    assert shipped_differences(shipped.path_of("de-it"), shipped.path_of("de-it")) == []  # and not otherwise


@pytest.mark.slow
def test_a_fresh_install_answers_from_an_empty_folder(tmp_path):
    """The wheel `pip install .` builds, installed into a new virtualenv (its dependencies taken from
    this one), answers `nameclf predict Tribbiani` in an empty folder with no data and no models."""
    wheels, source = tmp_path / "wheels", tmp_path / "source"
    # from a copy of the sources: a build folder left in the checkout can hold modules since removed
    leftovers = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "models", "data")
    shutil.copytree(ROOT, source, ignore=leftovers)
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheels.glob("nameclf-*.whl")
    assert wheel.stat().st_size < 5_000_000  # the shipped models and the dataset copy are small
    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(fresh)], check=True, timeout=120)
    python = fresh / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    empty = tmp_path / "empty"
    empty.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NAMECLF_")}
    result = subprocess.run(
        [str(fresh / "bin" / "nameclf"), "predict", "Tribbiani"],
        capture_output=True,
        text=True,
        cwd=empty,
        env=environment,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "Italian"
    assert list(empty.iterdir()) == []  # nothing downloaded, nothing trained
    located = subprocess.run(
        [str(python), "-c", "import nameclf; print(nameclf.__file__)"], capture_output=True, text=True, cwd=empty
    )
    assert located.stdout.strip().startswith(site)  # the installed copy answered, not this checkout


# --- the Python API --------------------------------------------------------------------------------


def test_the_api_loads_predicts_and_gives_probabilities():
    clf = nameclf.load("de-it")
    assert clf.languages == ["German", "Italian"]
    predictions = clf.predict(["Tribbiani", "Müller"], top_k=2)
    assert [p.language for p in predictions] == ["Italian", "German"]
    assert len(predictions[0].top) == 2
    probabilities = clf.probabilities(["Tribbiani", "", "Müller"])
    assert probabilities.shape == (3, 2) and np.isnan(probabilities[1]).all()
    np.testing.assert_allclose(probabilities[[0, 2]].sum(axis=1), 1.0, atol=1e-5)
    assert probabilities[0, clf.languages.index("Italian")] == pytest.approx(predictions[0].probability, abs=1e-6)
    assert nameclf.load("all").languages == checkpoint.load(shipped.path_of("all")).labels


def test_the_api_trains_with_the_cli_option_names(tmp_path):
    result = nameclf.train(
        out=tmp_path / "m",
        data=bundled_names_dir().parent,
        cell="gru",
        hidden=8,
        epochs=1,
        threads=1,
        char_dropout=0.05,
        mark_latest=False,
    )
    config = checkpoint.load(tmp_path / "m").config
    assert config["training"]["char_dropout"] == 0.05 and config["network"]["cell"] == "gru"
    assert config["command"].startswith("nameclf.train(") and result.model_dir == tmp_path / "m"


def test_importing_nameclf_and_predicting_does_not_import_torch():
    code = (
        "import sys, nameclf; clf = nameclf.load('de-it'); assert clf.predict(['Rossi'])[0].language == 'Italian'; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_readme_api_example_runs(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "nameclf.load" in example
    result = subprocess.run(
        [sys.executable, "-c", example],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=user_env(tmp_path / "models", tmp_path / "data"),
    )
    assert result.returncode == 0, result.stderr[-2000:]


# --- cards and the list ----------------------------------------------------------------------------


def test_info_shows_a_model_card_as_a_panel_and_as_json(tmp_path, env):
    card = json.loads(run("info", "--model", "all", "--json", env=env, cwd=tmp_path).stdout)
    saved = checkpoint.load(shipped.path_of("all"))
    assert card["model"] == "all (shipped)" and card["languages"] == saved.labels
    network = sum(array.size for name, array in saved.weights.items() if name.startswith(("rnn.", "head.")))
    assert card["network"]["parameters"] == network  # the network's alone, not the n-gram model's too
    assert card["vocabulary"]["characters"] == saved.vocabulary.characters
    assert card["data"]["fingerprint"] == saved.config["data"]["fingerprint"]
    assert card["calibration"]["temperature"] == saved.temperature
    assert card["metrics"]["validation_accuracy"] == saved.config["metrics"]["validation_accuracy"]
    assert card["made_by"]["command"] and card["training"]["seconds"] > 0
    panel = run("info", env=env, cwd=tmp_path)
    assert panel.returncode == 0, panel.stderr
    for expected in ("de-it (shipped)", "German, Italian", "parameters", "temperature", "made by", "fingerprint"):
        assert expected in panel.stdout


def test_models_lists_the_shipped_and_the_trained(tmp_path, env):
    trained = checkpoint.load(shipped.path_of("de-it"))
    checkpoint.save(tmp_path / "models" / "mine", trained.weights, trained.config)
    rows = json.loads(run("models", "--json", env=env, cwd=tmp_path).stdout)
    assert [row["model"] for row in rows] == ["de-it (shipped)", "all (shipped)", str(tmp_path / "models" / "mine")]
    assert rows[2]["languages"] == ["German", "Italian"] and 0 < rows[2]["validation_accuracy"] <= 1
    table = run("models", env=env, cwd=tmp_path)
    assert re.search(r"│ \* +│ de-it \(shipped\) ", table.stdout) and "18 languages" in table.stdout


# --- pictures --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_plot_draws_a_confusion_matrix_and_reliability_diagram(tmp_path, env):
    from matplotlib import image

    picture = tmp_path / "evaluation.png"
    result = run("evaluate", "--model", "all", "--plot", str(picture), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pixels = image.imread(picture)
    height, width = pixels.shape[:2]
    assert 600 <= height <= 3000 and 1000 <= width <= 4000  # 18 languages, and the diagram beside them
    assert pixels.std() > 0.05  # not a blank canvas


@pytest.mark.slow
def test_train_plot_draws_learning_curves(tmp_path, env):
    from matplotlib import image

    picture = tmp_path / "curves.png"
    result = run(
        "train",
        "--hidden",
        "8",
        "--epochs",
        "3",
        "--patience",
        "3",
        "--threads",
        "1",
        "--quiet",
        "--data",
        str(bundled_names_dir().parent),
        "--plot",
        str(picture),
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    height, width = image.imread(picture).shape[:2]
    assert 300 <= height <= 1500 and 800 <= width <= 3000


@pytest.mark.slow
def test_plot_without_matplotlib_is_a_one_line_error_before_any_work(tmp_path, env):
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.argv = ['nameclf'] + sys.argv[1:]; "
        "from nameclf.cli import main; main()"
    )
    picture = tmp_path / "curves.png"
    result = subprocess.run(
        [sys.executable, "-c", code, "train", "--plot", str(picture), "--data", str(bundled_names_dir().parent)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "pip install 'nameclf[plot]'" in result.stderr
    assert not picture.exists() and not (tmp_path / "models").exists()
    bad = run("evaluate", "--plot", str(tmp_path / "evaluation.gif"), env=env, cwd=tmp_path)
    assert bad.returncode == 2 and ".png" in bad.stderr


# --- tables that fit -------------------------------------------------------------------------------


def test_the_18_language_evaluation_fits_80_columns(tmp_path, env):
    result = run("evaluate", "--model", "all", env={**env, "COLUMNS": "80"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if "per language" in line) :]  # the tables
    assert max(len(line) for line in table) <= 80 and "…" not in result.stdout
    assert "most often taken for" in result.stdout
    saved = checkpoint.load(shipped.path_of("all"))
    for language in saved.labels:
        assert any(line.startswith(f"│ {language} ") for line in lines), language


# --- CSV in, CSV out -------------------------------------------------------------------------------


def test_csv_in_csv_out_keeps_every_column_and_row(tmp_path, env):
    people = tmp_path / "people.csv"
    people.write_text(
        "id,surname,language,city\n1,Tribbiani,x,Rome\n2,,x,Nowhere\n3,Müller,x,Bonn\n4,Rossi,x,\n", encoding="utf-8"
    )
    result = run("predict", "--file", str(people), "--column", "surname", "--csv", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:4] == ["id", "surname", "language", "city"]
    assert rows[0][4] == "nameclf_language" and "set" in rows[0]
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


def test_a_long_file_shows_progress_on_a_terminal_and_nothing_otherwise(tmp_path, env):
    names = tmp_path / "names.txt"
    names.write_text("Rossi\nMüller\n" * 3000)
    piped = run("predict", "--file", str(names), env=env, cwd=tmp_path)
    assert piped.returncode == 0 and piped.stderr == ""
    code, shown = run_with_terminal_stderr(["predict", "--file", str(names)], tmp_path / "out.txt", env, tmp_path)
    assert code == 0
    assert b"names" in shown


# --- conventions -----------------------------------------------------------------------------------


def test_the_help_lists_exit_codes_responsible_use_and_completion(env):
    text = run("--help", env=env).stdout
    for expected in ("Exit codes", "130 interrupted", "says little about a person", "--install-completion"):
        assert expected in text
    assert "NAMECLF_DEBUG" in text


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_examples_and_no_bool_metavar(command, env):
    text = run(command, "--help", env=env).stdout
    assert "Examples: nameclf " + command in " ".join(text.split())
    assert "<bool>" not in text


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        ("predict", "NAMECLF_MODEL"),
        ("evaluate", "NAMECLF_MODEL"),
        ("train", "NAMECLF_DATA"),
        ("train", "NAMECLF_MODELS"),
        ("download", "NAMECLF_DATA"),
        ("info", "NAMECLF_MODEL"),
    ],
)
@pytest.mark.slow
def test_environment_variables_appear_next_to_their_options(command, variable, env):
    assert variable in run(command, "--help", env=env).stdout
