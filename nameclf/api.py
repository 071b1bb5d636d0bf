"""The Python API at the top level, re-exported by `nameclf`:

    import nameclf
    clf = nameclf.load()                       # or nameclf.load("all"), or a model folder
    clf.predict(["Tribbiani", "Müller"], top_k=3)
    clf.probabilities(["Tribbiani"])           # (names, languages) array; columns: clf.languages
    nameclf.train(languages="all", cell="gru", epochs=5)

`load` and prediction never import torch; `train` does, when it is called.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nameclf.predict import Predictor
    from nameclf.reporting import Reporter
    from nameclf.training import TrainResult


def load(model: str | Path | None = None, backend: str = "numpy", device: str = "cpu") -> Predictor:
    """A model ready to answer: a shipped one by name (`"de-it"`, `"all"`), a model folder, or, with
    none given, `$NAMECLF_MODEL`, then the last model trained in the models folder, then `"de-it"`.

    It is a `nameclf.predict.Predictor` that also answers a table (`predict_frame`)."""
    return _classifier().load(model, backend=backend, device=device)


@functools.cache
def _classifier() -> type[Predictor]:
    """The class `load` returns, made on first use so that `import nameclf` stays light."""
    from nameclf.predict import UNFAMILIAR, Predictor
    from nameclf.tables import predict_frame

    class Classifier(Predictor):
        """A Predictor with the table layer's answer for a pandas Series or a pyarrow array of names."""

        def predict_frame(
            self,
            names: Any,
            probabilities: bool = False,
            min_confidence: float | None = None,
            top_k: int = 1,
            coverage: float | None = None,
            unfamiliar: float | None = UNFAMILIAR,
        ) -> Any:
            """A pandas DataFrame of results on the input's index, in the fixed schema of
            `nameclf.tables.meta`: the same columns `predict --csv` and `predict --out` write."""
            return predict_frame(self, names, probabilities, min_confidence, top_k, coverage, unfamiliar)

    return Classifier


def train(
    languages: str = "German,Italian",
    *,
    out: str | Path | None = None,
    data: str | Path | None = None,
    mark_latest: bool = True,
    reporter: Reporter | None = None,
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
        reporter,
        mark_latest,
        command=f"nameclf.train({given})",
    )
