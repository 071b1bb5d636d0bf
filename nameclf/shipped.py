"""Which models ship inside the package and where they lie, so that `nameclf predict Tribbiani`
answers right after `pip install`: `de-it` (German/Italian) and `all` (the 18 languages).

This is the registry only, at the bottom layer, so that resolving a model's name needs nothing
else. How they are rebuilt (`make models`) is `nameclf.rebuild`, at the top.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"
SHIPPED = {"de-it": "German,Italian", "all": "all"}  # name -> the languages it was trained on
DEFAULT = "de-it"


def path_of(name: str) -> Path:
    return SHIPPED_DIR / name


def name_of(path: Path) -> str | None:
    """The shipped model's name when `path` is one, else None."""
    try:
        resolved = Path(path).resolve()
    except OSError:
        return None
    for name in SHIPPED:
        if resolved == path_of(name).resolve():
            return name
    return None
