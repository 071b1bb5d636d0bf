"""`nameclf compare`: each cell over several seeds on the user's data, as a table or JSON, saving nothing
unless `--save` (whose folders are all checked before any training), and one-line refusals."""

from __future__ import annotations

import pytest
from cli_runner import run

from nameclf.paths import bundled_names_dir


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
