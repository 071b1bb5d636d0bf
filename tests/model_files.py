"""Reading and hand-editing a saved model's config.json, as a user (or a damaged disk) might."""

from __future__ import annotations

import json
from pathlib import Path

from nameclf.checkpoint import CONFIG_FILE


def read_config(model: Path) -> dict:
    return json.loads((Path(model) / CONFIG_FILE).read_text(encoding="utf-8"))


def write_config(model: Path, config) -> None:
    (Path(model) / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")


def edit_config(model: Path, **changes) -> None:
    config = read_config(model)
    config.update(changes)
    write_config(model, config)
