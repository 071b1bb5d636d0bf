"""Every named choice, in one light module (no numpy, no torch), shared by the stages and the CLI."""

from __future__ import annotations

import enum


class Cell(str, enum.Enum):
    """Recurrent cells; `nameclf.cells.CELLS` maps each to its equations."""

    rnn = "rnn"
    gru = "gru"
    lstm = "lstm"
    gru_cho = "gru_cho"
    gru_colah = "gru_colah"
    lstm_peephole = "lstm_peephole"
    lstm_coupled = "lstm_coupled"


class Impl(str, enum.Enum):
    """How a model is trained: torch's fused cells, or the seed equations with autograd."""

    torch = "torch"
    scratch = "scratch"


class SharedNames(str, enum.Enum):
    """What to do with a name that occurs in more than one selected language."""

    auto = "auto"
    drop = "drop"
    multi = "multi"


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class Backend(str, enum.Enum):
    """What `predict` runs the equations on."""

    numpy = "numpy"
    torch = "torch"


class Experts(str, enum.Enum):
    """What a model is made of: the recurrent network, the character n-gram model, or both combined
    (a weighted geometric mean of their probabilities, the weight chosen on validation names)."""

    rnn_ngram = "rnn+ngram"
    rnn = "rnn"
    ngram = "ngram"

    @property
    def names(self) -> list[str]:
        return self.value.split("+")


class Task(str, enum.Enum):
    """Which defaults a selection of languages gets: `pair` for two languages, `many` for more."""

    pair = "pair"
    many = "many"

    @classmethod
    def of(cls, languages: int) -> Task:
        return cls.pair if languages == 2 else cls.many


# The defaults of each task, chosen on validation data and on names from another source (Faker's
# surname lists, benchmarks/oos.py), never on the test split; docs/benchmarks.md says why, BENCHMARKS.md
# holds the figures. `pair` (German/Italian, about 1,400 training names): network size and learning
# rate over 7 seeds (docs/studies.md), weight averaging on a cross-half validation estimate
# (docs/studies.md), and no lever of the levers study beat them over 10 seeds. `many` (all
# 18 languages, about 14,000 training names): a bidirectional GRU of 128, stopped early (patience 5):
# wider networks or longer training fit the tutorial's spellings better and other sources' worse,
# and answer several times slower.
PAIR_DEFAULTS: dict[str, object] = dict(
    cell=Cell.lstm,
    hidden=64,
    layers=1,
    bidirectional=False,
    dropout=0.0,
    epochs=40,
    patience=10,
    batch_size=32,
    lr=1e-2,
    average=0.99,
    char_dropout=0.01,
    label_smoothing=0.0,
    fold_case=False,
    members=1,
    # the experts and the n-gram model's settings: chosen on validation over 10 splits (German/Italian)
    # and 3 seeds (18 languages) by the experts study (docs/studies.md)
    experts=Experts.rnn_ngram,
    ngram_range=(1, 4),
    ngram_c=30.0,
    ngram_min_df=1,
)
TASK_DEFAULTS: dict[Task, dict[str, object]] = {
    Task.pair: PAIR_DEFAULTS,
    # only what differs from two languages
    Task.many: {
        **PAIR_DEFAULTS,
        **dict(
            cell=Cell.gru,
            hidden=128,
            bidirectional=True,
            epochs=30,
            patience=5,
            lr=5e-3,
            # chosen on names from other sources (Faker's and mimesis's, their mean) with validation
            # accuracy within 0.01 of the best as the guard, over 3 seeds (docs/studies.md):
            # C 300 -> 30 and label smoothing 0.1 took out-of-source accuracy from 0.404 to 0.423, and
            # validation from 0.867 to 0.860; C 10 would give 0.427 but validation 0.853, past the guard
            label_smoothing=0.1,
            # 1-5 n-grams with every one kept were 0.005 ahead on validation (0.862 against 0.858 alone,
            # seed 0), but 70,000 of them do not fit a shipped model under 3 MB; 1-4 seen in 2+ names: 18,000
            ngram_range=(1, 4),
            ngram_c=30.0,
            ngram_min_df=2,
        ),
    },
}


def task_default_text(field: str) -> str:
    """How --help shows a default that may depend on the task: "64 for two languages, 256 for more"."""
    pair, many = (_shown(TASK_DEFAULTS[task][field]) for task in (Task.pair, Task.many))
    return pair if pair == many else f"{pair} for two languages, {many} for more"


def _shown(value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return "-".join(str(part) for part in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)
