"""What `nameclf evaluate` prints: which model on which names and how many, the per-language table (a
language with no names left out of it, and said so), fitting 80 columns with all 18 languages."""

from __future__ import annotations

import pytest
from cli_runner import run

from nameclf import checkpoint, shipped


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


@pytest.mark.slow
def test_evaluate_names_a_shipped_model_as_info_does(tmp_path, env):
    result = run("evaluate", "--model", "all", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("all (shipped) on test split: 1,744 names")


@pytest.mark.slow
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
