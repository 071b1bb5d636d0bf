"""Progress shows on stderr, and only when stderr is a terminal; the answers go to stdout, every one of
them and in order, wherever stdout leads (here: a file)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from cli_runner import run, run_with_terminal_stderr

from nameclf.paths import bundled_names_dir


def sample_names(count: int) -> list[str]:
    pool = [line for path in sorted(bundled_names_dir().glob("*.txt")) for line in path.read_text("utf-8").split()]
    return [pool[(i * 7919) % len(pool)] for i in range(count)]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["text", "json", "csv"])
def test_every_answer_reaches_a_redirected_stdout_while_stderr_is_a_terminal(tmp_path, env, form):
    names = sample_names(9000)  # more than two updates of the count
    listing = tmp_path / "names.txt"
    listing.write_text("\n".join(names) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    extra = {"text": [], "json": ["--json"], "csv": ["--csv"]}[form]
    code, terminal = run_with_terminal_stderr(["predict", "-f", str(listing), *extra], out, env, tmp_path)
    assert code == 0, terminal[-2000:]
    assert b"names" in terminal  # the count was shown on the terminal
    assert b"German" not in terminal and b"Italian" not in terminal  # and no answer went there
    text = out.read_text(encoding="utf-8")
    if form == "text":
        written = [line.split()[0] for line in text.splitlines()]
    elif form == "json":
        written = [json.loads(line)["name"] for line in text.splitlines()]
    else:
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0][:4] == ["name", "label", "language", "probability"]
        written = [row[0] for row in rows[1:]]
    assert written == names  # every answer, in order, in the file


@pytest.mark.slow
def test_a_long_file_shows_progress_on_a_terminal_and_nothing_otherwise(tmp_path, env):
    names = tmp_path / "names.txt"
    names.write_text("Rossi\nMüller\n" * 3000)
    piped = run("predict", "--file", str(names), env=env, cwd=tmp_path)
    assert piped.returncode == 0 and piped.stderr == ""
    code, shown = run_with_terminal_stderr(["predict", "--file", str(names)], tmp_path / "out.txt", env, tmp_path)
    assert code == 0
    assert b"names" in shown
