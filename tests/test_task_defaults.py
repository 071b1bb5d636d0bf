"""Per-task defaults: two languages (a pair) and three or more (many) each get their own settings, an
explicit option wins over them, a run records its task and what it resolved to, and the help gives both
defaults where the tasks differ."""

from __future__ import annotations

import enum

from network_outputs import TINY

from nameclf.choices import TASK_DEFAULTS, Task, task_default_text
from nameclf.training import TrainConfig, train


def test_each_task_gets_its_own_defaults_and_explicit_options_win():
    pair = TrainConfig().resolved(2)
    many = TrainConfig().resolved(18)
    for name, value in TASK_DEFAULTS[Task.pair].items():
        assert getattr(pair, name) == value, name
    for name, value in TASK_DEFAULTS[Task.many].items():
        assert getattr(many, name) == value, name
    assert TrainConfig(hidden=12).resolved(18).hidden == 12
    assert Task.of(2) is Task.pair and Task.of(3) is Task.many


def test_the_help_shows_what_each_task_defaults_to():
    """A default the tasks share is shown alone; one they differ on shows both values, the pair's first.
    (The whole numbers and the choices; how each kind of value is spelled is the help's own business.)"""
    pair, many = TASK_DEFAULTS[Task.pair], TASK_DEFAULTS[Task.many]
    checked = {"shared": 0, "differing": 0}
    for field in pair:
        values = [pair[field], many[field]]
        if all(isinstance(value, enum.Enum) for value in values):
            shown = [str(value.value) for value in values]
        elif all(isinstance(value, int) and not isinstance(value, bool) for value in values):
            shown = [str(value) for value in values]
        else:
            continue
        words = task_default_text(field).replace(",", " ").split()
        if shown[0] == shown[1]:
            assert words == shown[:1], field
            checked["shared"] += 1
        else:
            assert shown[0] in words and shown[1] in words, field
            assert words.index(shown[0]) < words.index(shown[1]), field
            checked["differing"] += 1
    assert checked["shared"] >= 2 and checked["differing"] >= 2, checked


def test_a_run_records_its_task_and_the_resolved_settings(dataset_dir, tmp_path):
    result = train(TrainConfig(languages="German,Italian,French", **TINY), dataset_dir, tmp_path / "m")
    training = result.config["training"]
    assert training["task"] == "many"
    assert training["cell"] == TASK_DEFAULTS[Task.many]["cell"].value
    assert training["hidden"] == 8  # given explicitly
