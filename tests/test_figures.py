"""The rule that compares a printed figure with a live one: within one unit of its last printed digit."""

from __future__ import annotations

from figures import json_differences


def test_a_live_figure_one_unit_of_the_last_digit_away_agrees():
    assert json_differences('{"p": 0.000108152}', {"p": 0.000108151}) == []
    assert json_differences('{"p": 0.000108152}', {"p": 0.0001081524999}) == []
    assert json_differences("[98.8, 3]", [98.7, 3]) == []


def test_two_units_away_or_another_value_is_a_difference():
    (line,) = json_differences('{"p": 0.000108152}', {"p": 0.000108150})
    assert line.startswith("$.p: 0.00010815 is 2.0E-9 from the printed 0.000108152")
    assert json_differences('{"language": "Italian"}', {"language": "German"}) == [
        "$.language: 'German' where 'Italian' is printed"
    ]
    assert json_differences("[1, 2]", [1, 2, 3]) == ["$: [1, 2, 3] where 2 items are printed"]
    assert json_differences('{"n": 3}', {"n": 3.0}) != []  # an integer is printed as one
    assert json_differences('{"unfamiliar": true}', {"unfamiliar": 1}) != []
    assert json_differences('{"a": 1}', {"a": 1, "b": 2}) != []
