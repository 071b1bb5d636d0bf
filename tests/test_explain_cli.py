"""`nameclf explain --json`: every character's contribution, however small."""

from __future__ import annotations

import json

from cli_runner import run


def test_explain_json_keeps_tiny_contributions(tmp_path, env):
    record = json.loads(run("explain", "Tribbiani", "--json", env=env, cwd=tmp_path).stdout)
    contributions = [c["contribution"] for c in record["characters"]]
    assert all(value != 0 for value in contributions)  # `r` moves it by about 3e-7
    assert min(abs(value) for value in contributions) < 1e-6
