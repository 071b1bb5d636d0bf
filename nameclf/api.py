"""The Python API at the top level, re-exported by `nameclf`:

    import nameclf
    clf = nameclf.load()                       # or nameclf.load("all"), or a model folder
    clf.predict(["Tribbiani", "Müller"], top_k=3)   # or clf.predict(names, nameclf.PredictOptions(top_k=3))
    clf.probabilities(["Tribbiani"])           # (names, languages) array; columns: clf.languages
    nameclf.train(languages="all", cell="gru", epochs=5)

`load` and prediction never import torch; `train` does, when it is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nameclf.callbacks import TrainingCallback
    from nameclf.tables import Classifier
    from nameclf.training import TrainResult


def load(model: str | Path | None = None, backend: str = "numpy", device: str = "cpu") -> Classifier:
    """A model ready to answer: a shipped one by name (`"de-it"`, `"all"`), a model folder, or, with
    none given, `$NAMECLF_MODEL`, then the last model trained in the models folder, then `"de-it"`.

    It is a `nameclf.predict.Predictor` that also answers a table (`predict_frame`): every command,
    the server and Dask read a model through `Predictor.load`, which this calls."""
    from nameclf.tables import Classifier

    return Classifier.load(model, backend=backend, device=device)


def train(
    languages: str = "German,Italian",
    *,
    out: str | Path | None = None,
    data: str | Path | None = None,
    mark_latest: bool = True,
    callback: TrainingCallback | None = None,
    **options: Any,
) -> TrainResult:
    """Train and save a model, with the CLI's options as keywords (`cell="gru"`, `hidden=64`,
    `char_dropout=0.05`, `members=3`, ...); options left out take the task's defaults. Returns the
    result: `.model_dir`, `.config` (what was saved, metrics included) and `.history`."""
    from nameclf.training import TrainConfig
    from nameclf.training import train as run

    config = TrainConfig(languages=languages, **options)  # the CLI's option names are TrainConfig's fields
    given = ", ".join(f"{key}={value!r}" for key, value in {"languages": languages, **options}.items())
    return run(
        config,
        Path(data) if data is not None else None,
        Path(out) if out is not None else None,
        callback,
        mark_latest,
        command=f"nameclf.train({given})",
    )
