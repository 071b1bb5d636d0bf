"""A model's card (`nameclf info`): every figure of the saved model, in a panel that fits 80 columns and
as JSON; and the list of models (`nameclf models`), shipped and trained."""

from __future__ import annotations

import json
import re

from cli_runner import run

from nameclf import checkpoint, shipped


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
