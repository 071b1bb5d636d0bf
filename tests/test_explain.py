"""`nameclf explain`: each character's contribution (the drop in the answer's calibrated log-probability
when it is hidden), and the most telling substring, checked against a direct recomputation."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run, user_env

from nameclf import checkpoint
from nameclf.data import normalise
from nameclf.explain import explain
from nameclf.predict import Predictor


@pytest.fixture
def predictor(tiny_model_dir) -> Predictor:
    predictor = Predictor.load(tiny_model_dir)
    predictor.temperature = 1.7  # as a calibrated model would: contributions use calibrated probabilities
    return predictor


def log_probability(predictor: Predictor, codes: np.ndarray, language: int) -> float:
    return float(predictor.log_probabilities([codes])[0, language])


@pytest.mark.parametrize("name", ["Schmidt", "Bianchi", "Müller", "Ab", "A"])
def test_contributions_match_hiding_each_character_and_each_run_directly(predictor, name):
    (result,) = explain(predictor, [name])
    codes = predictor.vocabulary.encode(name)
    full = predictor.log_probabilities([codes])[0]
    answer = int(full.argmax())
    assert result.language == predictor.labels[answer]
    assert result.probability == pytest.approx(float(np.exp(full[answer])), rel=1e-6)
    assert [c for c, _ in result.characters] == list(name)
    for position, (_, contribution) in enumerate(result.characters):
        hidden = codes.copy()
        hidden[position] = 0  # the unknown slot
        assert contribution == pytest.approx(full[answer] - log_probability(predictor, hidden, answer), abs=1e-5)
    runs = {}
    for length in (2, 3, 4):
        for start in range(len(name) - length + 1):
            hidden = codes.copy()
            hidden[start : start + length] = 0
            runs[(start, length)] = full[answer] - log_probability(predictor, hidden, answer)
    if len(name) < 2:
        assert result.substring is None
        return
    best = max(runs.values())
    telling = result.substring
    assert telling["contribution"] == pytest.approx(best, abs=1e-5)
    assert telling["text"] == name[telling["start"] : telling["start"] + len(telling["text"])]
    assert runs[(telling["start"], len(telling["text"]))] == pytest.approx(best, abs=1e-5)


def test_a_name_that_cannot_be_answered_gets_its_reason_and_no_contributions(predictor):
    empty, unknown = explain(predictor, ["  ", "ЖЖЖЖ"])
    assert empty.error == "empty name" and empty.characters == [] and empty.language is None
    assert "unknown" in unknown.warning and unknown.characters == [] and unknown.language is None


def test_explain_through_the_cli_in_text_and_json(tiny_model_dir, tmp_path):
    env = user_env(tmp_path / "models")
    saved = checkpoint.load(tiny_model_dir)
    expected = explain(Predictor(saved), ["Schmidt", "Rossi"])
    result = run("explain", "Schmidt", "Rossi", "--model", str(tiny_model_dir), "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["name"] for row in rows] == ["Schmidt", "Rossi"]
    for row, want in zip(rows, expected):
        assert row["language"] == want.language
        assert [c["character"] for c in row["characters"]] == list(normalise(want.name))
        np.testing.assert_allclose(
            [c["contribution"] for c in row["characters"]], [v for _, v in want.characters], atol=1e-6
        )
        assert set(row["substring"]) == {"text", "start", "contribution"}
    text = run("explain", "Schmidt", "--model", str(tiny_model_dir), env=env)
    assert text.returncode == 0, text.stderr
    first, numbers = text.stdout.splitlines()
    assert first.startswith("Schmidt  " + expected[0].language) and "most telling: " in first
    assert numbers.split()[::2] == list("Schmidt")
    assert "\x1b[" not in text.stdout  # not a terminal: no colour codes
    bad = run("explain", "", "--model", str(tiny_model_dir), env=env)
    assert bad.returncode != 0 and "empty name" in bad.stdout and "got no answer" in bad.stderr


def test_explain_colours_characters_on_a_terminal_and_respects_no_color(tiny_model_dir, tmp_path):
    env = {**user_env(tmp_path / "models"), "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    coloured = run("explain", "Schmidt", "--model", str(tiny_model_dir), env=env)
    assert "\x1b[" in coloured.stdout
    plain = run("explain", "Schmidt", "--model", str(tiny_model_dir), env={**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain.stdout


def test_explain_does_not_import_torch(tiny_model_dir):
    code = (
        "import sys; from pathlib import Path; from nameclf.predict import Predictor; "
        "from nameclf.explain import explain; "
        f"e = explain(Predictor.load(Path({str(tiny_model_dir)!r})), ['Rossi'])[0]; "
        "assert e.language in ('German', 'Italian'), e; assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["Ärmel", "Öhler"])
def test_explain_scores_the_text_the_answer_scored_unknown_characters_too(name):
    """`all` has no "Ä" or "Ö" of its own; its n-gram expert still reads the name as typed (lower-cased),
    as the answer did, and not the unknown character's stand-in."""
    from nameclf import shipped

    predictor = Predictor.load(shipped.path_of("all"))
    (answer,) = predictor.predict([name])
    assert answer.unknown_characters == 1
    (result,) = explain(predictor, [name])
    assert result.language == answer.language
    assert result.probability == pytest.approx(answer.probability, rel=1e-5)
