"""Model cards (`nameclf info`) and the list of models (`nameclf models`): plain dicts read from a
model's config.json, torch-free. The CLI renders them as rich panels and tables, or prints them as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nameclf import shipped
from nameclf.cells import parameter_count
from nameclf.checkpoint import CONFIG_FILE, SavedModel, load_config
from nameclf.errors import ModelError, NameclfError
from nameclf.model_config import experts_of, member_count
from nameclf.paths import default_models_dir
from nameclf.registry import resolve_model_dir


def label(path: Path) -> str:
    """How a model is named to the user: `de-it (shipped)`, or its folder."""
    name = shipped.name_of(path)
    return f"{name} (shipped)" if name is not None else str(path)


def card(saved: SavedModel) -> dict[str, Any]:
    """What a model is, what it was trained on, how well it does on validation names, and what made it."""
    config = saved.config
    training = config.get("training", {})
    spec = saved.spec
    calibration = config.get("calibration") or {}
    return {
        "model": label(saved.path),
        "path": str(saved.path),
        "shipped": shipped.name_of(saved.path),
        "format_version": config.get("format_version"),
        "network": None
        if spec is None
        else {
            "cell": _plain(spec.cell),
            "hidden": spec.hidden,
            "layers": spec.layers,
            "bidirectional": spec.bidirectional,
            "members": saved.members,
            "parameters": parameter_count(spec) * saved.members,  # the network's alone, every member
        },
        "experts": {
            "names": saved.experts,
            "weight": saved.weight,
            "validation": (config.get("experts") or {}).get("validation"),
            "unfamiliar_names": saved.novelty is not None,
            "ngram_parameters": saved.ngram.parameter_count if saved.ngram is not None else None,
        },
        "languages": saved.labels,
        "label_name": config.get("data", {}).get("label_name", "language"),  # what the labels are
        **({"table": config["data"]["table"]} if "table" in config.get("data", {}) else {}),
        "vocabulary": {
            "characters": saved.vocabulary.characters,
            "size": saved.vocabulary.size,
            "fold_case": saved.vocabulary.fold_case,
        },
        "data": {
            key: config.get("data", {}).get(key) for key in ("fingerprint", "split_seed", "sizes", "shared_names")
        },
        "metrics": config.get("metrics", {}),
        "calibration": {
            "temperature": saved.temperature,
            "held_out_before": calibration.get("held_out_before"),
            "held_out_after": calibration.get("held_out_after"),
            "prediction_set_names": len(saved.conformal_scores or []),
        },
        "training": {
            "seconds": config.get("training_seconds"),
            "epochs_run": training.get("epochs_run"),
            "best_epoch": training.get("best_epoch"),
            "seed": training.get("seed"),
            "lr": training.get("lr"),
            "batch_size": training.get("batch_size"),
            "device": training.get("device"),
            "threads": training.get("threads"),
        },
        "made_by": {
            "command": config.get("command"),
            "nameclf": config.get("nameclf_version") or config.get("created_by"),
        },
        "size_bytes": folder_bytes(saved.path),
    }


def folder_bytes(path: Path) -> int:
    """The model folder's files (weights and config), which grow with what the model holds."""
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file() and not f.name.startswith("."))


def _plain(value: Any) -> Any:
    """An enum's value (`lstm`), anything else as it is."""
    return getattr(value, "value", value)


def default_model() -> Path | None:
    """The model that answers without --model (`resolve_model_dir`), or None when that is an error
    (a LATEST pointing to a folder that is gone)."""
    try:
        return resolve_model_dir(None)
    except NameclfError:
        return None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def listing(models_dir: Path | None = None) -> list[dict[str, Any]]:
    """The shipped models, then every model folder in the models folder (by name), then the model that
    answers without --model when it lives elsewhere (`train --out /some/folder`, or $NAMECLF_MODEL),
    each with its languages and validation figures; `latest` marks the one that answers without
    --model, by the same rule `predict` follows. A folder that does not load is listed with its error."""
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    chosen = default_model()
    rows = []
    folders = [shipped.path_of(name) for name in shipped.SHIPPED]
    if models_dir.is_dir():
        folders += sorted(p for p in models_dir.iterdir() if p.is_dir() and (p / CONFIG_FILE).is_file())
    if chosen is not None and chosen.is_dir() and not any(_same(chosen, folder) for folder in folders):
        folders.append(chosen)
    for folder in folders:
        row: dict[str, Any] = {
            "model": label(folder),
            "path": str(folder),
            "latest": chosen is not None and _same(chosen, folder),
        }
        try:
            config = load_config(folder)  # its config, checked; the weights are not read to list it
        except ModelError as error:
            row["error"] = str(error)
            rows.append(row)
            continue
        metrics = config.get("metrics", {})
        network = config.get("network") if "rnn" in experts_of(config) else None
        row.update(
            languages=list(config["labels"]),
            label_name=config.get("data", {}).get("label_name", "language"),
            cell=_plain(network["cell"]) if network is not None else "ngram",
            members=member_count(config),
            validation_accuracy=metrics.get("validation_accuracy"),
            validation_macro_f1=metrics.get("validation_macro_f1"),
        )
        rows.append(row)
    return rows
