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
