"""Which model answers when none is named: NAMECLF_MODEL, else the model LATEST names (wherever it lives),
else the shipped de-it; `--model` always wins, and `nameclf models` marks the one that answers."""

from __future__ import annotations

import json

import pytest
from cli_runner import one_error_line, run, train_tiny

import nameclf
from nameclf import checkpoint, registry, shipped


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


@pytest.mark.slow
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


def test_an_unknown_nameclf_model_names_the_variable(tmp_path, env):
    result = run("predict", "Rossi", env={**env, "NAMECLF_MODEL": str(tmp_path / "nowhere")}, cwd=tmp_path)
    assert result.returncode == 5 and "NAMECLF_MODEL" in one_error_line(result)
    given = run("predict", "Rossi", "--model", str(tmp_path / "nowhere"), env=env, cwd=tmp_path)
    assert given.returncode == 5 and "NAMECLF_MODEL" not in given.stderr
