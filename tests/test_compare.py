"""`nameclf compare`: each cell over several seeds on the user's data, as a table or JSON, saving nothing
unless `--save` (whose folders are all checked before any training), and one-line refusals."""

from __future__ import annotations

import json

import pytest
from cli_runner import run

from nameclf import checkpoint
from nameclf.data import read_names
from nameclf.paths import bundled_names_dir


@pytest.fixture
def tiny_three_languages(tmp_path):
    """A small dataset a user might bring: 40 names in each of three languages."""
    names = tmp_path / "data" / "names"
    names.mkdir(parents=True)
    for language in ("German", "Italian", "Japanese"):
        chosen = read_names(bundled_names_dir() / f"{language}.txt")[:40]
        (names / f"{language}.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return tmp_path / "data"


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


@pytest.mark.slow
def test_compare_runs_through_the_cli_on_a_users_tiny_dataset(tiny_three_languages, env, tmp_path):
    data = str(tiny_three_languages)
    result = run("compare", "--cells", "rnn,gru", "--seeds", "2", "--data", data, "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [cell["cell"] for cell in report["cells"]] == ["rnn", "gru"]
    for cell in report["cells"]:
        assert [run["seed"] for run in cell["runs"]] == [0, 1]
        assert 0 <= cell["validation_accuracy_mean"] <= 1 and cell["parameters"] > 0
        assert all(run["model_dir"] is None for run in cell["runs"])
    assert "rnn seed 1: validation accuracy" in result.stderr
    assert not (tmp_path / "models").exists()  # nothing saved, LATEST untouched

    table = run("compare", "--cells", "lstm", "--seeds", "1", "--data", data, "--quiet", env=env)
    assert table.returncode == 0, table.stderr
    assert "lstm" in table.stdout and "seed 0," in table.stdout and table.stderr == ""  # one seed: no ± 0.000


@pytest.mark.slow
def test_compare_can_save_its_models(tiny_three_languages, env, tmp_path):
    saved = tmp_path / "saved"
    result = run(
        "compare",
        "--cells",
        "gru",
        "--seeds",
        "1",
        "--languages",
        "all",
        "--data",
        str(tiny_three_languages),
        "--save",
        str(saved),
        "--quiet",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert checkpoint.load(saved / "gru-seed0").labels == ["German", "Italian", "Japanese"]


@pytest.mark.slow
def test_compare_checks_every_save_folder_before_training(tiny_three_languages, env, tmp_path):
    saved = tmp_path / "saved"
    (saved / "gru-seed1").mkdir(parents=True)
    (saved / "gru-seed1" / "thesis.txt").write_text("mine")
    result = run(
        "compare",
        "--cells",
        "rnn,gru",
        "--seeds",
        "2",
        "--data",
        str(tiny_three_languages),
        "--save",
        str(saved),
        env=env,
    )
    assert result.returncode == 2 and "gru-seed1" in result.stderr
    assert "rnn seed 0" not in result.stderr  # refused before any training
    assert (saved / "gru-seed1" / "thesis.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--cells", "rnn,transformer"], "unknown cell 'transformer'"), (["--seeds", "0"], "--seeds must be between")],
)
@pytest.mark.slow
def test_compare_refuses_bad_options_in_one_line(tiny_three_languages, env, args, message):
    result = run("compare", "--data", str(tiny_three_languages), *args, env=env)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
