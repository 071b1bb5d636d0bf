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
