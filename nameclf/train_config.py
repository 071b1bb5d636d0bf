"""`TrainConfig`: every choice `nameclf train` makes, checked once, beside the task defaults it falls
back on (`nameclf.choices.TASK_DEFAULTS`). A low layer, so that the training loop (`fitting`), the
trainer (`training`) and the file format (`checkpoint`) can all take it without a circle."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from nameclf.cells import check_cell
from nameclf.choices import TASK_DEFAULTS, Cell, Experts, Impl, SharedNames, Task
from nameclf.errors import UsageError

MAX_MEMBERS = 64  # networks in one ensemble; the model file format holds at most this many
# Upper bounds that keep a typo from allocating for minutes or hanging (a 100,000-layer network);
# all far above anything that trains well on this data.
LIMITS = {"hidden": 4096, "layers": 16, "epochs": 100_000, "batch_size": 100_000}
MAX_THREADS = 1024


@dataclass
class TrainConfig:
    """Every choice `nameclf train` makes. A field left at None takes its task's default
    (`TASK_DEFAULTS`), once the selected languages are known: `resolved(languages)`."""

    cell: Cell | None = None
    impl: Impl = Impl.torch
    hidden: int | None = None
    layers: int | None = None
    bidirectional: bool | None = None
    dropout: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float = 0.0
    clip: float = 1.0
    average: float | None = None  # decay of the moving average of the weights that is validated and saved; 0: none
    patience: int | None = None
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    languages: str = "German,Italian"
    shared_names: SharedNames = SharedNames.auto
    char_dropout: float | None = None  # character dropout: share of training characters swapped for the unknown slot
    label_smoothing: float | None = None
    fold_case: bool | None = None  # lower-case names before encoding
    members: int | None = None  # 1: one network; k > 1: k-fold ensemble over train + validation
    experts: Experts | None = None  # the network, the character n-gram model, or both combined
    ngram_range: tuple[int, int] | None = None  # the n-gram model's shortest and longest n-grams
    ngram_c: float | None = None  # the n-gram model's inverse regularisation strength
    ngram_min_df: int | None = None  # n-grams in fewer training names are left out

    def __post_init__(self) -> None:
        self.impl, self.shared_names = Impl(self.impl), SharedNames(self.shared_names)
        if self.cell is not None:
            self.cell = Cell(self.cell)
        if self.experts is not None:
            try:
                self.experts = Experts(self.experts)
            except ValueError:
                choices = ", ".join(e.value for e in Experts)
                raise UsageError(f"--experts must be one of {choices}, not {str(self.experts)[:30]!r}") from None
        if self.ngram_range is not None:
            low, high = (int(n) for n in self.ngram_range)
            if not 1 <= low <= high <= 8:
                raise UsageError("--ngram-range must be LOW-HIGH with 1 <= LOW <= HIGH <= 8, e.g. 1-4")
            self.ngram_range = (low, high)
        if self.ngram_c is not None and not 0 < self.ngram_c <= 1e6:
            raise UsageError("--ngram-c must be a number in (0, 1000000]")
        if self.ngram_min_df is not None and not 1 <= self.ngram_min_df <= 1000:
            raise UsageError("--ngram-min-df must be a whole number from 1 to 1000")
        for name, most in LIMITS.items():
            value = getattr(self, name)
            if value is not None and not 1 <= value <= most:
                raise UsageError(f"--{name.replace('_', '-')} must be between 1 and {most}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise UsageError("--dropout must be in [0, 1)")
        if self._known("dropout") and (layers := self._known("layers")) is not None and layers < 2:
            raise UsageError("--dropout acts between stacked layers: it needs --layers 2 or more")
        if self.average is not None and not 0 <= self.average < 1:
            raise UsageError("--average must be in [0, 1) (0 turns weight averaging off)")
        if self.lr is not None and not 0 < self.lr <= 1:
            raise UsageError(
                "--lr must be in (0, 1]: Adam's steps are about lr in size (the defaults are 0.01 and 0.005)"
            )
        if self.patience is not None and self.patience < 1:
            raise UsageError("--patience must be at least 1")
        if self.char_dropout is not None and not 0 <= self.char_dropout < 1:
            raise UsageError("--char-dropout must be in [0, 1)")
        if self.label_smoothing is not None and not 0 <= self.label_smoothing < 1:
            raise UsageError("--label-smoothing must be in [0, 1)")
        if self.members is not None and not 1 <= self.members <= MAX_MEMBERS:
            raise UsageError(f"--members must be 1 (one network) or from 2 to {MAX_MEMBERS} (k-fold ensemble)")
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"--seed must be between 0 and {2**32 - 1}")
        if self.threads is not None and not 1 <= self.threads <= MAX_THREADS:
            raise UsageError(f"--threads must be between 1 and {MAX_THREADS}")
        if (cell := self._known("cell")) is not None:
            check_cell(cell, self.impl)

    @overload
    def _known(self, name: Literal["cell"]) -> Cell | None: ...
    @overload
    def _known(self, name: Literal["layers"]) -> int | None: ...
    @overload
    def _known(self, name: Literal["dropout"]) -> float | None: ...
    def _known(self, name: str) -> object:
        """The field's value, or the default every task agrees on, or None while it depends on the task."""
        value = getattr(self, name)
        if value is not None:
            return value
        defaults = {task_defaults[name] for task_defaults in TASK_DEFAULTS.values()}
        return defaults.pop() if len(defaults) == 1 else None

    def resolved(self, languages: int) -> TrainConfig:
        """A copy with every None field set to the default of the task with this many languages."""
        defaults = TASK_DEFAULTS[Task.of(languages)]
        # TASK_DEFAULTS holds values of each named field's type, which mypy cannot follow from a name
        changes: dict[str, Any] = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **changes)


T = TypeVar("T")


def decided(value: T | None, name: str) -> T:
    """The field `name` of a resolved TrainConfig, which `TrainConfig.resolved` leaves at None for none."""
    if value is None:
        raise ValueError(f"{name} is unset: this takes a resolved TrainConfig (TrainConfig.resolved)")
    return value


def default_threads() -> int:
    """OMP_NUM_THREADS if set, else 1.

    Measured on 2 cores (docs/getting-started.md, "One thread by default"): one thread trains the
    default model as fast as two when the machine is idle, and two become 10-100x slower as soon as
    another process is busy, because torch's threads spin for cores they do not get. One thread also
    makes the weights independent of how many cores a machine has.
    """
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not value:
        return 1
    if not (value.isdigit() and 1 <= int(value) <= MAX_THREADS):
        raise UsageError(
            f"OMP_NUM_THREADS must be a whole number from 1 to {MAX_THREADS}, not {value[:20]!r}; "
            "fix or unset it, or pass --threads"
        )
    return int(value)
