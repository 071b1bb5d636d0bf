"""Reading and hand-editing a saved model's config.json, as a user (or a damaged disk) might."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nameclf import calibration
from nameclf.checkpoint import CONFIG_FILE, SavedModel
from nameclf.data import load_dataset, split_dataset


def save_part(part, folder: Path, stem: str) -> None:
    """One part of a model (the n-gram expert, the novelty model) as its plain data alone:
    `stem.safetensors` for its arrays and `stem.json` for its config."""
    from safetensors.numpy import save_file

    save_file(part.to_arrays(), str(Path(folder) / f"{stem}.safetensors"))
    (Path(folder) / f"{stem}.json").write_text(json.dumps(part.to_config()), encoding="utf-8")


def load_part(kind, folder: Path, stem: str):
    """The part `save_part` wrote, read back through `kind.from_arrays`."""
    from safetensors.numpy import load_file

    config = json.loads((Path(folder) / f"{stem}.json").read_text(encoding="utf-8"))
    return kind.from_arrays(config, load_file(str(Path(folder) / f"{stem}.safetensors")))


def read_config(model: Path) -> dict:
    return json.loads((Path(model) / CONFIG_FILE).read_text(encoding="utf-8"))


def write_config(model: Path, config) -> None:
    (Path(model) / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def edit_config(model: Path, **changes) -> None:
    config = read_config(model)
    config.update(changes)
    write_config(model, config)


def validation_truth(saved: SavedModel, data_dir: Path) -> tuple[list[str], np.ndarray]:
    """A trained model's validation names, rebuilt from its split seed, and their truth matrix."""
    dataset = load_dataset(Path(data_dir) / "names", saved.labels)
    names = split_dataset(dataset, saved.config["data"]["split_seed"]).validation
    return [e.name for e in names], calibration.truth_matrix([e.labels for e in names], saved.labels)
