"""Where the dataset and the models live by default (overridable by environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "NAMECLF_DATA"
MODELS_ENV = "NAMECLF_MODELS"
MODEL_ENV = "NAMECLF_MODEL"  # the model used without --model: a shipped name or a folder


def default_data_dir() -> Path:
    """The folder that holds `names/`: `$NAMECLF_DATA`, else `./data`."""
    return Path(os.environ.get(DATA_ENV) or "data")


def default_models_dir() -> Path:
    """The folder that holds one sub-folder per model: `$NAMECLF_MODELS`, else `./models`."""
    return Path(os.environ.get(MODELS_ENV) or "models")


def bundled_names_dir() -> Path:
    """The copy of the 18 dataset files shipped inside the package (the download fallback)."""
    return Path(__file__).resolve().parent / "names"
