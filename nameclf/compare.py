"""Compare cells on a user's own data: each cell trained over several seeds, scored on VALIDATION only.

The seeds' claims ("a GRU does as well as an LSTM with less computation") can then be checked on any
dataset. Every figure here is a validation figure: the test split is never read, so the comparison
can be used to choose a cell without spoiling the test split. Nothing is saved unless a folder is
given.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nameclf.cells import TORCH_CELLS
from nameclf.choices import Cell, Impl
from nameclf.errors import UsageError

MAX_SEEDS = 100


@dataclass
class Run:
    cell: str
    seed: int
    validation_accuracy: float
    validation_macro_f1: float
    seconds: float
    parameters: int  # the network's (the same for every seed of a cell)
    best_epoch: int | None
    ngram_parameters: int = 0  # the n-gram model's coefficients and intercepts (its n-grams differ by seed)
    model_dir: str | None = None
    # each expert's validation figures and their combination's: {"rnn" | "ngram" | "combination": {...}}
    experts: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class CellSummary:
    cell: str
    runs: list[Run] = field(default_factory=list)

    def _figures(self, name: str) -> list[float]:
        return [getattr(run, name) for run in self.runs]

    def mean(self, name: str) -> float:
        return statistics.fmean(self._figures(name))

    def spread(self, name: str) -> float:
        """The sample standard deviation over seeds (0 for one seed)."""
        values = self._figures(name)
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def experts(self) -> list[str]:
        """What each run's figures cover: "rnn", "ngram" and "combination" for the two experts."""
        return list(self.runs[0].experts) if self.runs else []

    def expert_figures(self, expert: str, figure: str) -> tuple[float, float]:
        """(mean, spread over seeds) of one expert's validation `figure` ("accuracy", "macro_f1")."""
        values = [run.experts[expert][figure] for run in self.runs]
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        summary = {
            f"{figure}_{kind}": round(function(figure), 6)
            for figure in ("validation_accuracy", "validation_macro_f1", "seconds")
            for kind, function in (("mean", self.mean), ("spread", self.spread))
        }
        return {
            "cell": self.cell,
            **summary,
            "experts": {
                expert: {
                    f"validation_{figure}_{kind}": round(value, 6)
                    for figure in ("accuracy", "macro_f1")
                    for kind, value in zip(("mean", "spread"), self.expert_figures(expert, figure))
                }
                for expert in self.experts()
            },
            "parameters": self.runs[0].parameters,
            "ngram_parameters_mean": round(self.mean("ngram_parameters")),
            "runs": [run.__dict__ for run in self.runs],
        }


def run_parameters(config: dict[str, Any]) -> dict[str, int]:
    """A trained model's parameters, the network's apart from the n-gram model's."""
    counts = config["parameter_counts"]
    return {"parameters": counts["network"], "ngram_parameters": counts["ngram"]}


def parse_cells(text: str) -> list[Cell]:
    cells = []
    for item in (part.strip() for part in text.split(",")):
        try:
            cells.append(Cell(item.lower()))
        except ValueError:
            known = ", ".join(cell.value for cell in Cell)
            raise UsageError(f"unknown cell {item!r} in --cells; choose from {known}") from None
    if not cells or len(set(cells)) != len(cells):
        raise UsageError("--cells takes distinct cells separated by commas, e.g. rnn,gru,lstm")
    return cells


def compare(
    cells: Sequence[Cell | str],
    seeds: int = 3,
    languages: str = "German,Italian",
    data_dir: Path | None = None,
    save_dir: Path | None = None,
    threads: int | None = None,
    on_run: Callable[[Run], None] | None = None,
    **options: Any,
) -> list[CellSummary]:
    """Train every cell with seeds 0..seeds-1 at the task's defaults (plus `options`, TrainConfig
    fields) and return each cell's validation figures. Cells torch has no fused kernel for are
    trained with the seed equations (`--impl scratch`). With `save_dir`, each model is saved there
    as `<cell>-seed<k>`; without it nothing is written."""
    from nameclf.train_config import TrainConfig
    from nameclf.training import train

    if not 1 <= seeds <= MAX_SEEDS:
        raise UsageError(f"--seeds must be between 1 and {MAX_SEEDS}")
    chosen = [Cell(cell) for cell in cells]
    if save_dir is not None:  # every folder checked before the first run, not when its turn comes
        from nameclf.registry import prepare_target

        for cell in chosen:
            for seed in range(seeds):
                prepare_target(Path(save_dir) / f"{cell.value}-seed{seed}")
    summaries = []
    for cell in chosen:
        impl = Impl.torch if cell in TORCH_CELLS else Impl.scratch
        summary = CellSummary(cell.value)
        for seed in range(seeds):
            config = TrainConfig(cell=cell, impl=impl, seed=seed, languages=languages, threads=threads, **options)
            out = Path(save_dir) / f"{cell.value}-seed{seed}" if save_dir is not None else None
            result = train(config, data_dir, out, mark_latest=False, save=save_dir is not None)
            metrics = result.config["metrics"]
            run = Run(
                cell=cell.value,
                seed=seed,
                validation_accuracy=metrics["validation_accuracy"],
                validation_macro_f1=metrics["validation_macro_f1"],
                seconds=result.config["training_seconds"],
                **run_parameters(result.config),
                best_epoch=result.config["training"]["best_epoch"],
                model_dir=str(result.model_dir) if result.model_dir is not None else None,
                experts=result.config["experts"]["validation"],
            )
            summary.runs.append(run)
            if on_run is not None:
                on_run(run)
        summaries.append(summary)
    return summaries
