"""The recurrent cells, written once from the seeds' equations, for numpy and torch alike.

Every function here takes an ``ops`` namespace (``NUMPY`` or ``torch_ops()``) and plain arrays,
so the same lines run the numpy forward pass used by ``nameclf predict`` (no torch import) and
the autograd-trained ``--impl scratch`` models.

Weights use torch's names and layout (``weight_ih_l{k}[_reverse]`` of shape (gates*hidden, input),
``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``; gate order as in ``nn.RNN``/``nn.GRU``/
``nn.LSTM``), so a model trained with torch's fused cells predicts through these equations with no
conversion. ``xw = x W_ih^T + b_ih`` is computed for all time steps at once; ``σ`` is the sigmoid,
``⊙`` the element-wise product.

Cells (``Cell`` value: equations):

* ``rnn`` (seed 000 §1, seed 003): ``h' = tanh(xw + h W_hh^T + b_hh)``.
* ``gru`` (torch / cuDNN form): gates r, z, n;
  ``r = σ(xw_r + h W_hr^T + b_hr)``, ``z = σ(xw_z + h W_hz^T + b_hz)``,
  ``n = tanh(xw_n + r ⊙ (h W_hn^T + b_hn))`` (reset applied *after* the recurrent product, bias
  included), ``h' = (1 − z) ⊙ n + z ⊙ h``.
* ``gru_cho`` (seeds 001 and 002, Cho et al. 2014): reset applied *before* the product,
  ``n = tanh(xw_n + (r ⊙ h) W_hn^T + b_hn)``, and z weighs the old state: ``h' = z ⊙ h + (1 − z) ⊙ n``.
* ``gru_colah`` (seeds 000 and 003): reset before the product as in ``gru_cho``, and 1 − z weighs
  the old state: ``h' = (1 − z) ⊙ h + z ⊙ n``.
* ``lstm`` (seeds 000, 001, 002, 004; torch's gate order i, f, g, o):
  ``i, f, o = σ(·)``, ``g = tanh(·)``, ``c' = f ⊙ c + i ⊙ g``, ``h' = o ⊙ tanh(c')``.
* ``lstm_peephole`` (seed 004, Gers & Schmidhuber 2000): the gates also see the cell state through
  diagonal weights ``weight_peephole_l{k}`` of shape (3, hidden) = (p_i, p_f, p_o):
  ``i = σ(xw_i + h W_hi^T + b_hi + p_i ⊙ c)``, ``f = σ(… + p_f ⊙ c)``, ``o = σ(… + p_o ⊙ c')``.
* ``lstm_coupled`` (seed 004, coupled forget and input gates): gates i, g, o only (3*hidden rows);
  ``f = 1 − i``, ``c' = (1 − i) ⊙ c + i ⊙ g``, ``h' = o ⊙ tanh(c')``.

Bidirectional and stacked forms (seed 001 "BRNN" and "DRNN"): the reverse direction runs the same
cell over the reversed sequence with its own weights (suffix ``_reverse``); a layer's output at
each step is the concatenation of both directions, and is the next layer's input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypedDict, TypeVar

import numpy as np

from nameclf.choices import Cell, Impl
from nameclf.errors import UsageError

if TYPE_CHECKING:
    import torch

# The arrays the cells run on: numpy's for prediction, torch's (with autograd) for --impl scratch.
# Every function below is checked once for each.
A = TypeVar("A", np.ndarray, "torch.Tensor")

TORCH_CELLS = (Cell.rnn, Cell.gru, Cell.lstm)  # the cells torch has fused kernels for


def check_cell(cell: Cell, impl: Impl) -> None:
    """The one check that a cell exists in the chosen implementation."""
    if impl is Impl.torch and cell not in TORCH_CELLS:
        raise UsageError(f"--cell {cell.value} exists only as --impl scratch (torch has no fused kernel for it)")


# --- array namespaces ---------------------------------------------------------------------------


class Ops(Protocol[A]):
    """What the cells ask of an array library."""

    name: str

    def sigmoid(self, x: A, /) -> A: ...
    def tanh(self, x: A, /) -> A: ...
    def concat(self, arrays: list[A], /, axis: int) -> A: ...
    def stack(self, arrays: list[A], /, axis: int) -> A: ...
    def where(self, condition: A, x: A, y: A, /) -> A: ...
    def zeros(self, batch: int, hidden: int, like: A) -> A: ...


# numpy's functions as the cells call them (numpy types them for scalars and every kind of array too)
_tanh: Callable[[np.ndarray], np.ndarray] = np.tanh
_where: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] = np.where


class NumpyOps:
    name = "numpy"

    # --8<-- [start:sigmoid]
    @staticmethod
    def sigmoid(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1/(1+e^-x), without overflow warnings
        # --8<-- [end:sigmoid]

    tanh = staticmethod(_tanh)

    @staticmethod
    def concat(arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def stack(arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return np.stack(arrays, axis=axis)

    where = staticmethod(_where)

    @staticmethod
    def zeros(batch: int, hidden: int, like: np.ndarray) -> np.ndarray:
        return np.zeros((batch, hidden), dtype=like.dtype)


class TorchOps:
    name = "torch"

    def __init__(self) -> None:
        import torch

        def concat(tensors: list[torch.Tensor], axis: int) -> torch.Tensor:
            return torch.cat(tensors, dim=axis)

        def stack(tensors: list[torch.Tensor], axis: int) -> torch.Tensor:
            return torch.stack(tensors, dim=axis)

        def zeros(batch: int, hidden: int, like: torch.Tensor) -> torch.Tensor:
            return like.new_zeros((batch, hidden))

        self.sigmoid: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid
        self.tanh: Callable[[torch.Tensor], torch.Tensor] = torch.tanh
        self.concat = concat
        self.stack = stack
        self.where: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] = torch.where
        self.zeros = zeros


NUMPY = NumpyOps()


def torch_ops() -> TorchOps:
    return TorchOps()


# --- the cells ----------------------------------------------------------------------------------
# Each step takes the input projection xw (batch, gates*hidden) for one time step, the state
# tuple, and the direction's parameters (w_hh_t = W_hh^T, (hidden, gates*hidden)); returns the new
# state tuple, whose first element is h.


# --8<-- [start:rnn]
def rnn_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    (h,) = state
    return (ops.tanh(xw + h @ p["w_hh_t"] + p["b_hh"]),)
    # --8<-- [end:rnn]


# --8<-- [start:gru]
def gru_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    (h,) = state
    hidden = h.shape[-1]
    hw = h @ p["w_hh_t"] + p["b_hh"]
    gates = ops.sigmoid(xw[:, : 2 * hidden] + hw[:, : 2 * hidden])  # r and z, one call for both
    r, z = gates[:, :hidden], gates[:, hidden:]
    n = ops.tanh(xw[:, 2 * hidden :] + r * hw[:, 2 * hidden :])
    return ((1 - z) * n + z * h,)
    # --8<-- [end:gru]


# --8<-- [start:gru-seeds]
def _gru_reset_before(ops: Ops[A], xw: A, h: A, p: Mapping[str, A]) -> tuple[A, A]:
    hidden = h.shape[-1]
    w, b = p["w_hh_t"], p["b_hh"]
    hw = h @ w[:, : 2 * hidden] + b[: 2 * hidden]
    r = ops.sigmoid(xw[:, :hidden] + hw[:, :hidden])
    z = ops.sigmoid(xw[:, hidden : 2 * hidden] + hw[:, hidden:])
    n = ops.tanh(xw[:, 2 * hidden :] + (r * h) @ w[:, 2 * hidden :] + b[2 * hidden :])
    return z, n


def gru_cho_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    (h,) = state
    z, n = _gru_reset_before(ops, xw, h, p)
    return (z * h + (1 - z) * n,)


def gru_colah_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    (h,) = state
    z, n = _gru_reset_before(ops, xw, h, p)
    return ((1 - z) * h + z * n,)
    # --8<-- [end:gru-seeds]


# --8<-- [start:lstm]
def lstm_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    h, c = state
    hidden = h.shape[-1]
    gates = xw + h @ p["w_hh_t"] + p["b_hh"]
    input_forget = ops.sigmoid(gates[:, : 2 * hidden])  # i and f, one call for both
    i, f = input_forget[:, :hidden], input_forget[:, hidden:]
    g = ops.tanh(gates[:, 2 * hidden : 3 * hidden])
    o = ops.sigmoid(gates[:, 3 * hidden :])
    c = f * c + i * g
    return (o * ops.tanh(c), c)
    # --8<-- [end:lstm]


# --8<-- [start:lstm-variants]
def lstm_peephole_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    h, c = state
    hidden = h.shape[-1]
    peep = p["peephole"]  # (3, hidden): p_i, p_f, p_o
    gates = xw + h @ p["w_hh_t"] + p["b_hh"]
    i = ops.sigmoid(gates[:, :hidden] + peep[0] * c)
    f = ops.sigmoid(gates[:, hidden : 2 * hidden] + peep[1] * c)
    g = ops.tanh(gates[:, 2 * hidden : 3 * hidden])
    c = f * c + i * g
    o = ops.sigmoid(gates[:, 3 * hidden :] + peep[2] * c)
    return (o * ops.tanh(c), c)


def lstm_coupled_step(ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A]) -> tuple[A, ...]:
    h, c = state
    hidden = h.shape[-1]
    gates = xw + h @ p["w_hh_t"] + p["b_hh"]
    i = ops.sigmoid(gates[:, :hidden])
    g = ops.tanh(gates[:, hidden : 2 * hidden])
    o = ops.sigmoid(gates[:, 2 * hidden :])
    c = (1 - i) * c + i * g
    return (o * ops.tanh(c), c)
    # --8<-- [end:lstm-variants]


class Step(Protocol):
    """One time step of a cell: (ops, xw, state, the direction's parameters) → the new state."""

    def __call__(self, ops: Ops[A], xw: A, state: tuple[A, ...], p: Mapping[str, A], /) -> tuple[A, ...]: ...


@dataclass(frozen=True)
class CellKind:
    step: Step
    gates: int
    state_size: int  # 1: (h,), 2: (h, c)
    peephole: bool = False


CELLS: dict[Cell, CellKind] = {
    Cell.rnn: CellKind(rnn_step, 1, 1),
    Cell.gru: CellKind(gru_step, 3, 1),
    Cell.gru_cho: CellKind(gru_cho_step, 3, 1),
    Cell.gru_colah: CellKind(gru_colah_step, 3, 1),
    Cell.lstm: CellKind(lstm_step, 4, 2),
    Cell.lstm_peephole: CellKind(lstm_peephole_step, 4, 2, peephole=True),
    Cell.lstm_coupled: CellKind(lstm_coupled_step, 3, 2),
}


# --- the network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes the shapes of a model's weights."""

    cell: Cell
    vocab_size: int
    hidden: int
    layers: int
    bidirectional: bool
    num_labels: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "cell", Cell(self.cell))
        for name in ("vocab_size", "hidden", "layers", "num_labels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        if not isinstance(self.bidirectional, bool):
            raise ValueError(f"bidirectional must be true or false, not {self.bidirectional!r}")

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["cell"] = self.cell.value
        return values


def suffixes(spec: NetworkSpec) -> list[str]:
    return ["", "_reverse"][: spec.directions]


def parameter_count(spec: NetworkSpec) -> int:
    """How many numbers one network of this shape holds (its recurrent layers and its output layer)."""
    return sum(int(np.prod(shape)) for shape in parameter_shapes(spec).values())


def parameter_shapes(spec: NetworkSpec, prefix: str = "rnn.") -> dict[str, tuple[int, ...]]:
    """Name → shape of every weight, torch's names for the recurrent part and `head.*` for the output."""
    kind = CELLS[spec.cell]
    rows = kind.gates * spec.hidden
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(spec.layers):
        width = spec.vocab_size if layer == 0 else spec.hidden * spec.directions
        for sfx in suffixes(spec):
            shapes[f"{prefix}weight_ih_l{layer}{sfx}"] = (rows, width)
            shapes[f"{prefix}weight_hh_l{layer}{sfx}"] = (rows, spec.hidden)
            shapes[f"{prefix}bias_ih_l{layer}{sfx}"] = (rows,)
            shapes[f"{prefix}bias_hh_l{layer}{sfx}"] = (rows,)
            if kind.peephole:
                shapes[f"{prefix}weight_peephole_l{layer}{sfx}"] = (3, spec.hidden)
    shapes["head.weight"] = (spec.num_labels, spec.hidden * spec.directions)
    shapes["head.bias"] = (spec.num_labels,)
    return shapes


if TYPE_CHECKING:  # a generic TypedDict needs Python 3.11 at run time; only annotations name it

    class Prepared(TypedDict, Generic[A]):
        """`prepare`'s answer: per layer, per direction, the parameters the cells read (`w_ih_t`, `b_ih`,
        `w_hh_t`, `b_hh`, `peephole` for that cell, `table` on the first layer); the output layer's."""

        layers: list[list[dict[str, A]]]
        head_w_t: A
        head_b: A


def prepare(spec: NetworkSpec, weights: Mapping[str, A], prefix: str = "rnn.") -> Prepared[A]:
    """Arrange named weights per layer and direction, with W^T precomputed for the products, and for
    the first layer the rows W_ih^T + b_ih that its one-hot inputs pick."""
    layers: list[list[dict[str, A]]] = []
    for layer in range(spec.layers):
        directions: list[dict[str, A]] = []
        for sfx in suffixes(spec):
            key = f"l{layer}{sfx}"
            p = {
                "w_ih_t": weights[f"{prefix}weight_ih_{key}"].T,
                "b_ih": weights[f"{prefix}bias_ih_{key}"],
                "w_hh_t": weights[f"{prefix}weight_hh_{key}"].T,
                "b_hh": weights[f"{prefix}bias_hh_{key}"],
            }
            if CELLS[spec.cell].peephole:
                p["peephole"] = weights[f"{prefix}weight_peephole_{key}"]
            # --8<-- [start:table]
            if layer == 0:  # one-hot input: its product with W_ih^T plus b_ih is a row of this table
                p["table"] = p["w_ih_t"] + p["b_ih"]
            # --8<-- [end:table]
            directions.append(p)
        layers.append(directions)
    return {"layers": layers, "head_w_t": weights["head.weight"].T, "head_b": weights["head.bias"]}


def run_direction(
    ops: Ops[A],
    kind: CellKind,
    xw: A,
    p: Mapping[str, A],
    reverse: bool,
    mask: A | None = None,
    outputs_needed: bool = True,
) -> tuple[A | None, A]:
    """Run one cell over a sequence. xw: (batch, seq_len, gates*hidden) → outputs (batch, seq_len, hidden), final h.

    With a right-padded batch, `mask` (batch, seq_len) is true on real characters: the state is
    held where it is false, so the forward direction ends on each name's last character and the
    reverse direction starts there from the zero state. Without `outputs_needed` (the top layer,
    read at its final state) the outputs are not stacked, and None is returned for them.
    """
    # --8<-- [start:direction]
    batch, seq_len = xw.shape[0], xw.shape[1]
    hidden = p["w_hh_t"].shape[0]
    zero = ops.zeros(batch, hidden, like=xw)
    state = (zero,) * kind.state_size
    outputs = [zero] * seq_len  # each step fills its place
    for t in reversed(range(seq_len)) if reverse else range(seq_len):
        new_state = kind.step(ops, xw[:, t], state, p)
        if mask is not None:
            keep = mask[:, t, None]
            new_state = tuple(ops.where(keep, new, old) for new, old in zip(new_state, state))
        state = new_state
        outputs[t] = state[0]
    return (ops.stack(outputs, axis=1) if outputs_needed else None), state[0]
    # --8<-- [end:direction]


def encode(
    ops: Ops[A],
    spec: NetworkSpec,
    prepared: Prepared[A],
    indices: A,
    mask: A | None = None,
    dropout: Callable[[A], A] | None = None,
) -> A:
    """The final hidden state of the top layer (both directions concatenated): (batch, hidden*dirs).

    indices: (batch, seq_len) character indices. The first layer's one-hot product
    ``one_hot(x) W_ih^T`` is computed as the row lookup ``W_ih^T[x]``, which is the same sum.
    `dropout`, if given, is applied between stacked layers (as torch's `dropout=` does).
    """
    # --8<-- [start:layers]
    kind = CELLS[spec.cell]
    layer_input: A | None = None  # the layer below's outputs: None on the first layer
    finals: list[A] = []
    top = len(prepared["layers"]) - 1
    for layer, directions in enumerate(prepared["layers"]):
        outputs: list[A] = []
        finals = []
        for direction, p in enumerate(directions):
            if layer_input is None:
                xw = p["table"][indices]
            else:
                xw = layer_input @ p["w_ih_t"] + p["b_ih"]
            out, final = run_direction(ops, kind, xw, p, reverse=direction == 1, mask=mask, outputs_needed=layer < top)
            if out is not None:  # None on the top layer, whose outputs are not read
                outputs.append(out)
            finals.append(final)
        if layer == top:
            break
        layer_input = outputs[0] if len(outputs) == 1 else ops.concat(outputs, axis=-1)
        if dropout is not None:
            layer_input = dropout(layer_input)
    return finals[0] if len(finals) == 1 else ops.concat(finals, axis=-1)
    # --8<-- [end:layers]


# --8<-- [start:output]
def logits(
    ops: Ops[A],
    spec: NetworkSpec,
    prepared: Prepared[A],
    indices: A,
    mask: A | None = None,
    dropout: Callable[[A], A] | None = None,
) -> A:
    """(batch, num_labels) scores; softmax of these is the probability of each language."""
    scores: A = encode(ops, spec, prepared, indices, mask, dropout) @ prepared["head_w_t"] + prepared["head_b"]
    return scores


def log_softmax_numpy(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    result: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return result
    # --8<-- [end:output]
