"""`make models` (`python -m nameclf.rebuild`): rebuild the models that ship inside the package
(`nameclf.shipped`), trained by nameclf's own code at the task's defaults on the dataset copy that
ships with it (seed 0, one thread, on the CPU), from the settings each one records in its
config.json, and draw the documentation's pictures of them.

On one machine a rebuild gives the same bytes; on another, whose CPU kernels round differently in
the last bits, the same weights within a tolerance (docs/format.md, "Reproducibility").
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from nameclf.shipped import SHIPPED, path_of


def recorded_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig fields a saved config records (its `training` section), languages as given."""
    from nameclf.train_config import TrainConfig

    training = dict(config.get("training", {}))
    if "unknown_rate" in training:  # what char_dropout was called before
        training.setdefault("char_dropout", training.pop("unknown_rate"))
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    settings = {key: value for key, value in training.items() if key in fields}
    languages = training.get("languages")
    if isinstance(languages, list):
        settings["languages"] = ",".join(languages)
    return settings


def build(name: str, out: Path | None = None, quiet: bool = True) -> Path:
    """Train shipped model `name` into `out` (default: its place in the package) from the settings it
    records, or, for a model not built yet, from the task's defaults at seed 0."""
    from nameclf.callbacks import TrainingCallback
    from nameclf.checkpoint import load_config
    from nameclf.paths import bundled_names_dir
    from nameclf.train_config import TrainConfig
    from nameclf.training import train

    if name not in SHIPPED:
        raise ValueError(f"unknown shipped model {name!r}; choose from {', '.join(SHIPPED)}")
    target = Path(out) if out is not None else path_of(name)
    if (path_of(name) / "config.json").is_file():
        settings = recorded_settings(load_config(path_of(name)))
    else:
        settings = {"languages": SHIPPED[name], "seed": 0}
    settings.update(threads=1, device="cpu")  # deterministic: one thread, on the CPU
    train(
        TrainConfig(**settings),
        bundled_names_dir().parent,
        target,
        TrainingCallback(),
        mark_latest=False,
        command=f"make models (python -m nameclf.rebuild {name})",
    )
    if not quiet:
        print(f"built {name} in {target}")
    return target


def pictures(name: str, folder: Path) -> list[Path]:
    """The documentation's pictures of a shipped model: its learning curves and its evaluation on its test split."""
    from nameclf import plots
    from nameclf.evaluate import evaluate_examples, test_examples
    from nameclf.paths import bundled_names_dir
    from nameclf.predict import Predictor

    predictor = Predictor.load(path_of(name))
    saved = predictor.saved
    folder.mkdir(parents=True, exist_ok=True)
    best = [member["best_epoch"] for member in saved.config["training"]["member_epochs"]]
    curves = plots.learning_curves(saved.config["history"], best, folder / f"{name}-curves.png", f"{name} (shipped)")
    examples = test_examples(saved, bundled_names_dir().parent)
    report = evaluate_examples(predictor, examples, "test split")
    title = f"{name} (shipped) on its test split ({report.count} names)"
    return [curves, plots.evaluation(report.to_dict(), folder / f"{name}-evaluation.png", title)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the models that ship inside nameclf (`make models`).")
    parser.add_argument("names", nargs="*", default=list(SHIPPED), help=f"which ({', '.join(SHIPPED)}; default all)")
    parser.add_argument("--pictures", type=Path, default=None, help="also draw each model's pictures in this folder")
    parser.add_argument(
        "--no-build", action="store_true", help="draw the pictures of the models as they are, without rebuilding"
    )
    arguments = parser.parse_args()
    for name in arguments.names:
        if not arguments.no_build:
            build(name, quiet=False)
        if arguments.pictures is not None:
            for picture in pictures(name, arguments.pictures):
                print(f"drew {picture}")


if __name__ == "__main__":
    main()
