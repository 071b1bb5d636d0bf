"""Which model answers, and where trained models are recorded: the models folder's LATEST file, the
shipped models' names, `$NAMECLF_MODEL`, and the checks made before a model is saved somewhere.

The model folder's own format (its two files, saved atomically, loaded and checked) is `checkpoint`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from nameclf.checkpoint import SavedThenInterrupted, cannot_write, check_target, probe_folder, save
from nameclf.choices import Impl
from nameclf.data import Dataset
from nameclf.errors import Interrupted, ModelError, UsageError
from nameclf.paths import MODEL_ENV, default_models_dir
from nameclf.train_config import TrainConfig, decided

LATEST_FILE = "LATEST"  # in the models folder: the name of the last model trained there


def prepare_target(target: Path, latest: bool = False) -> None:
    """Check, before any work, that a model can be saved at `target`: the target is free or a model
    (`check_target`) and its folder can be made and written to; with `latest`, that the models folder
    can record it as the latest model too."""
    target = Path(target)
    check_target(target)
    try:
        probe_folder(target.parent)
    except OSError as error:
        raise cannot_write(target, error) from None
    if latest:
        models = default_models_dir()
        if (models / LATEST_FILE).is_dir():
            raise UsageError(f"{models / LATEST_FILE} is a folder; nameclf keeps a file there: move the folder away")
        try:
            probe_folder(models)
        except OSError as error:
            raise UsageError(
                f"cannot record the latest model in {models} ({error.strerror or error}); "
                "set NAMECLF_MODELS to a writable folder"
            ) from None


def mark_latest(target: Path) -> None:
    """Record `target` as the model `predict` and `evaluate` use without --model (atomic replace).

    A model inside the models folder is recorded by its name there, so the folder can be moved whole.
    """
    models = default_models_dir()
    target = Path(target).resolve()
    try:
        models.mkdir(parents=True, exist_ok=True)
        recorded = target.relative_to(models.resolve()) if target.is_relative_to(models.resolve()) else target
        fd, tmp = tempfile.mkstemp(prefix=".LATEST.", dir=models)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(f"{recorded}\n")
            os.replace(tmp, models / LATEST_FILE)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as error:
        raise ModelError(
            f"saved {target} but cannot mark it latest in {models} ({error.strerror}); use it with --model {target}"
        ) from None


def resolve_model_dir(model: Path | str | None) -> Path:
    """The model to use: `model` (a shipped name such as `de-it` or `all`, else a folder); without one,
    `$NAMECLF_MODEL` (the same), then the last model trained in the models folder, then the shipped
    `de-it`. A shipped name wins over a folder of that name in the working folder: write `./all` for that."""
    from nameclf import shipped

    if model is None or str(model) == "":
        model = os.environ.get(MODEL_ENV) or None
    if model is not None:
        return shipped.path_of(str(model)) if str(model) in shipped.SHIPPED else Path(model)
    models = default_models_dir()
    pointer = models / LATEST_FILE
    if pointer.is_file():
        recorded = pointer.read_text(encoding="utf-8", errors="replace").strip()
        if recorded and (models / recorded).is_dir():  # absolute, or relative to the models folder
            return models / recorded
        if recorded:
            raise ModelError(
                f"the last model trained ({models / recorded}, named in {pointer}) is gone; "
                f"run `nameclf train` again, pass --model DIR, or use a shipped one (--model {shipped.DEFAULT})"
            )
    return shipped.path_of(shipped.DEFAULT)


def default_model_name(config: TrainConfig, dataset: Dataset, known: int) -> str:
    languages = dataset.languages
    if len(languages) == known:
        selection = "all"
    elif len(languages) <= 3:
        selection = "-".join(language.lower() for language in languages)
    else:
        selection = f"{len(languages)}-languages"
    experts, cell = decided(config.experts, "experts"), decided(config.cell, "cell")
    if "rnn" not in experts.names:
        return f"ngram-{selection}"
    impl = "-scratch" if config.impl is Impl.scratch else ""
    return f"{cell.value}{impl}-{selection}"


def save_model(out: Path, arrays: dict[str, np.ndarray], saved_config: dict[str, Any], latest: bool) -> None:
    """Save atomically (`checkpoint.save`) and mark it latest, saying in one line what an interrupt left where."""
    try:
        save(out, arrays, saved_config)
    except SavedThenInterrupted:
        raise Interrupted(
            f"interrupted while saving; the new model was saved whole to {out} (not marked latest)"
        ) from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while saving; {out} is as it was before this run") from None
    try:
        if latest:
            mark_latest(out)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after saving {out}; it was not marked as the latest model") from None
