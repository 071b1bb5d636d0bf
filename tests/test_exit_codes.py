"""One exit-code rule on every path: names as arguments, in a file, on stdin, in a CSV column, through
`--out` and `explain` exit 0 when at least one name got an answer and 3 when none did; the help lists
every code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_runner import one_error_line, run

from nameclf import errors


def exit_codes(names: list[str], tmp_path: Path, env: dict) -> dict[str, int]:
    """The exit code for the same names as arguments, in a file, on stdin, and through --out."""
    listing = tmp_path / "names.txt"
    listing.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    table = tmp_path / "table.csv"
    table.write_text("surname\n" + "".join(f"{name}\n" for name in names), encoding="utf-8")
    codes = {
        "arguments": run("predict", *names, env=env, cwd=tmp_path).returncode,
        "file": run("predict", "--file", str(listing), env=env, cwd=tmp_path).returncode,
        "stdin": run("predict", "--file", "-", stdin=listing.read_text(), env=env, cwd=tmp_path).returncode,
        "column": run("predict", "--file", str(table), "--column", "surname", env=env, cwd=tmp_path).returncode,
    }
    if names:
        codes["explain"] = run("explain", *names, env=env, cwd=tmp_path).returncode
    try:
        import dask.dataframe  # noqa: F401
    except ImportError:
        return codes
    out = tmp_path / "out.csv"
    codes["out"] = run(
        "predict", "--file", str(table), "--column", "surname", "--out", str(out), env=env, cwd=tmp_path
    ).returncode
    return codes


@pytest.mark.slow
def test_some_names_without_an_answer_exit_0_on_every_path(tmp_path, env):
    assert set(exit_codes(["12345", "Tribbiani"], tmp_path, env).values()) == {0}


@pytest.mark.slow
def test_no_name_answered_exits_3_on_every_path(tmp_path, env):
    assert set(exit_codes(["12345"], tmp_path, env).values()) == {3}


@pytest.mark.slow
def test_a_header_only_csv_exits_3_with_one_message_and_no_out_file(tmp_path, env):
    pytest.importorskip("dask.dataframe")
    header_only = tmp_path / "hdr.csv"
    header_only.write_text("id,surname\n", encoding="utf-8")
    printed = run("predict", "--file", str(header_only), "--column", "surname", env=env, cwd=tmp_path)
    out = tmp_path / "labelled.csv"
    written = run(
        "predict", "--file", str(header_only), "--column", "surname", "--out", str(out), env=env, cwd=tmp_path
    )
    assert printed.returncode == written.returncode == 3
    assert one_error_line(printed) == one_error_line(written) and "no names to classify" in printed.stderr
    assert not out.exists() and list(tmp_path.glob(".labelled.csv*")) == []


def test_the_help_lists_every_exit_code(tmp_path, env):
    """Each kind of error's code, 0 for done and 141 for a reader that went away: no more, no fewer."""
    flat = " ".join(run("--help", env=env, cwd=tmp_path).stdout.replace("│", " ").split())
    listed = flat[flat.index("Exit codes:") :]
    kinds = [errors.NameclfError, *errors.NameclfError.__subclasses__()]
    assert {int(code) for code in re.findall(r"[:;] (\d+) [a-z]", listed)} == {0, 141} | {
        kind.exit_code for kind in kinds
    }
