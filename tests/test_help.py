"""The help: what no arguments and a mistyped command lead to, and what each command's help names (the
extra to install, examples, the environment variables beside their options)."""

from __future__ import annotations

import pytest
from cli_runner import one_error_line, run


def test_no_arguments_prints_the_help_once(tmp_path, env):
    result = run(env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.count("Usage") == 1 and "Commands" in result.stdout


def test_a_mistyped_command_is_one_sentence_with_the_hint(tmp_path, env):
    result = run("predit", env=env, cwd=tmp_path)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "Did you mean 'predict'? See `nameclf --help`." in line and "?;" not in line


@pytest.mark.parametrize(("name", "extra"), [("predict", "dask"), ("train", "plot"), ("evaluate", "plot")])
def test_help_names_the_extra_to_install(tmp_path, env, name, extra):
    text = run(name, "--help", env=env, cwd=tmp_path).stdout
    flat = " ".join(text.replace("│", " ").split())
    assert f"pip install 'nameclf[{extra}]'" in flat
