"""The help: what no arguments and a mistyped command lead to, what `nameclf --help` shows (the note on
responsible use, completion, debugging), and what each command's help names (the extra to install,
examples, the environment variables beside their options)."""

from __future__ import annotations

import pytest
from cli_runner import one_error_line, run

COMMANDS = ["download", "train", "predict", "explain", "evaluate", "compare", "info", "models"]


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


def test_the_help_shows_the_responsible_use_note_completion_and_debug(env):
    from nameclf.cli.common import RESPONSIBLE_USE

    text = run("--help", env=env).stdout
    flat = " ".join(text.replace("│", " ").split())
    assert " ".join(RESPONSIBLE_USE.split()) in flat
    assert "--install-completion" in text and "NAMECLF_DEBUG" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_examples_and_no_bool_metavar(command, env):
    text = run(command, "--help", env=env).stdout
    assert "Examples: nameclf " + command in " ".join(text.split())
    assert "<bool>" not in text


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        ("predict", "NAMECLF_MODEL"),
        ("evaluate", "NAMECLF_MODEL"),
        ("train", "NAMECLF_DATA"),
        ("train", "NAMECLF_MODELS"),
        ("download", "NAMECLF_DATA"),
        ("info", "NAMECLF_MODEL"),
    ],
)
def test_environment_variables_appear_next_to_their_options(command, variable, env):
    assert variable in run(command, "--help", env=env).stdout
