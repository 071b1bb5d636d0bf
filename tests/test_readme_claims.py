"""What the README says of the code and of the shipped models holds: every `Class.method` it names
exists where it says, and the figures it gives of the shipped models are theirs (to the digits shown)."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

import nameclf

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_python_name_the_readme_gives_exists():
    """`nameclf.load(model).predict_frame(...)`, `Predictor.load`, `nameclf.dask.predict`: each dotted name
    in code spans resolves (Predictor.predict_frame did not: only what `nameclf.load` returns has it)."""
    import importlib

    from nameclf.predict import Predictor

    roots = {"Predictor": Predictor, "nameclf": nameclf, "nameclf.load(model)": nameclf.load("de-it")}
    checked = 0
    for root, path in re.findall(r"`(Predictor|nameclf\.load\(model\)|nameclf)((?:\.\w+)+)", README):
        target = roots[root]
        for part in path.strip(".").split("."):
            if not hasattr(target, part) and isinstance(target, type(nameclf)):
                try:
                    importlib.import_module(f"{target.__name__}.{part}")
                except ModuleNotFoundError:
                    pass
            assert hasattr(target, part), f"the README names {root}{path}, and {part} is not there"
            target = getattr(target, part)
        checked += 1
    assert checked >= 5


@pytest.mark.cross_machine
@pytest.mark.parametrize(("model", "printed"), [("de-it", "430 KB"), ("all", "2.9 MB")])
def test_the_pickled_sizes_are_the_readmes(model, printed):
    assert f"{printed} for\n`{model}`" in README or f"{printed} for `{model}`" in README
    number, unit = printed.split()
    stated = float(number) * {"KB": 1e3, "MB": 1e6}[unit]
    size = len(pickle.dumps(nameclf.load(model)))
    assert abs(size - stated) <= 0.05 * stated, f"{model} pickles to {size:,} bytes, the README says {printed}"


@pytest.mark.cross_machine
def test_the_temperature_of_all_is_the_readmes():
    (printed,) = re.findall(r"The shipped `all`, whose answers combine.*?has\s+T = ([0-9.]+)\b", README, re.S)
    temperature = nameclf.load("all").saved.temperature
    assert abs(temperature - float(printed)) <= 10 ** -len(printed.split(".")[1]), temperature
