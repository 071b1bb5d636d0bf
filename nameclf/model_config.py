"""The sections of a saved model's config.json, each read and checked on its own: which experts and
their weight, the ensemble's members, the text folding, the temperature, the prediction sets' scores,
and the weights' shapes the network section implies. Each raises ValueError naming the field;
`checkpoint` turns that into a one-line ModelError naming the file."""

from __future__ import annotations

from typing import Any

from nameclf.cells import NetworkSpec, parameter_shapes
from nameclf.errors import shorten
from nameclf.train_config import MAX_MEMBERS

EXPERT_NAMES = ("rnn", "ngram")
MAX_SCORES = 1_000_000  # held-out scores for prediction sets


def experts_of(config: dict[str, Any]) -> list[str]:
    """The experts a config describes: ["rnn"] for a folder older than format 5."""
    names = section(config, "experts").get("names", ["rnn"])
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(name, str) and name in EXPERT_NAMES for name in names)
        or len(set(names)) != len(names)
    ):
        raise ValueError(f"experts.names must list some of {', '.join(EXPERT_NAMES)}, not {_quoted(names)}")
    if ("rnn" in names) != ("network" in config):
        raise ValueError("experts.names and the network section disagree")
    return names


def weight_of(config: dict[str, Any]) -> float:
    names = experts_of(config)
    if len(names) == 1:
        return 1.0 if names == ["rnn"] else 0.0
    value = section(config, "experts").get("weight")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"experts.weight must be a number in [0, 1], not {_quoted(value)}")
    return float(value)


def member_prefix(index: int) -> str:
    return f"members.{index}."


def member_count(config: dict[str, Any]) -> int:
    """Members of the ensemble a config describes (1 for a single model and for format 1)."""
    members = section(config, "ensemble").get("members", 1)
    if not isinstance(members, int) or isinstance(members, bool) or not 1 <= members <= MAX_MEMBERS:
        raise ValueError(f"ensemble members must be a whole number from 1 to {MAX_MEMBERS}, not {_quoted(members)}")
    return members


def temperature_of(config: dict[str, Any]) -> float | None:
    if "calibration" not in config:
        return None
    value = section(config, "calibration").get("temperature")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 100:
        raise ValueError(f"calibration.temperature must be a number in (0, 100], not {_quoted(value)}")
    return float(value)


def conformal_scores_of(config: dict[str, Any]) -> list[float] | None:
    """The held-out names' sorted scores for prediction sets (nameclf/conformal.py), or None."""
    if "conformal" not in config:
        return None
    values = section(config, "conformal").get("scores")
    if (
        not isinstance(values, list)
        or not 1 <= len(values) <= MAX_SCORES
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in values)
    ):
        raise ValueError("conformal.scores must be a list of numbers in [0, 1]")
    if any(a > b for a, b in zip(values, values[1:])):
        raise ValueError("conformal.scores must be sorted")
    return [float(v) for v in values]


def fold_case(config: dict[str, Any]) -> bool:
    value = section(config, "text").get("fold_case", False)
    if not isinstance(value, bool):
        raise ValueError(f"text.fold_case must be true or false, not {_quoted(value)}")
    return value


def section(config: dict[str, Any], key: str) -> dict[str, Any]:
    """A config's optional section (`ensemble`, `text`, `calibration`, `conformal`): an object, empty when absent."""
    section = config.get(key, {})
    if not isinstance(section, dict):
        raise ValueError(f"{key} must be an object, not {_quoted(section)}")
    return section


def _quoted(value: Any) -> str:
    return shorten(repr(value), 30)


def expected_shapes(spec: NetworkSpec, members: int) -> dict[str, tuple[int, ...]]:
    """Name → shape of every weight a model folder holds: one network's, or each member's under its prefix."""
    shapes = parameter_shapes(spec)
    if members == 1:
        return shapes
    return {member_prefix(i) + name: shape for i in range(members) for name, shape in shapes.items()}
