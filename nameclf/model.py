"""The network: a recurrent encoder read at its final hidden state, then one linear layer.

Two implementations with the same parameter names and layout (see `cells.parameter_shapes`):
``torch`` uses the fused ``nn.RNN``/``nn.GRU``/``nn.LSTM``; ``scratch`` runs the equations of
`nameclf.cells` with autograd, for every cell including the LSTM variants torch does not have.
A model of either kind predicts through the same numpy code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from nameclf.cells import (
    NetworkSpec,
    check_cell,
    logits,
    parameter_shapes,
    prepare,
    torch_ops,
)
from nameclf.choices import Cell, Impl

if TYPE_CHECKING:
    import numpy as np

FUSED = {Cell.rnn: nn.RNN, Cell.gru: nn.GRU, Cell.lstm: nn.LSTM}


class ScratchRecurrent(nn.Module):
    """The recurrent layers as plain parameters, run through `nameclf.cells` with autograd."""

    def __init__(self, spec: NetworkSpec, dropout: float) -> None:
        super().__init__()
        self.spec = spec
        self.dropout = dropout
        bound = 1.0 / math.sqrt(spec.hidden)  # torch's initialisation for its recurrent layers
        for name, shape in parameter_shapes(spec, prefix="").items():
            if name.startswith("head."):
                continue
            if "peephole" in name:
                value = torch.zeros(shape)
            else:
                value = torch.empty(shape).uniform_(-bound, bound)
            self.register_parameter(name, nn.Parameter(value))
        self.ops = torch_ops()

    def forward(self, indices: torch.Tensor, head_weight: torch.Tensor, head_bias: torch.Tensor) -> torch.Tensor:
        weights: dict[str, torch.Tensor] = dict(self.named_parameters())
        weights["head.weight"], weights["head.bias"] = head_weight, head_bias
        prepared = prepare(self.spec, weights, prefix="")
        dropout: Callable[[torch.Tensor], torch.Tensor] | None = None
        if self.training and self.dropout > 0:
            dropout = lambda x: F.dropout(x, self.dropout, training=True)  # noqa: E731
        return logits(self.ops, self.spec, prepared, indices, dropout=dropout)


class NameClassifier(nn.Module):
    """indices (batch, seq_len) of names of one length → logits (batch, num_labels)."""

    def __init__(self, spec: NetworkSpec, impl: Impl | str = Impl.torch, dropout: float = 0.0) -> None:
        super().__init__()
        self.spec = spec
        self.impl = Impl(impl)
        check_cell(spec.cell, self.impl)
        layer_dropout = dropout if spec.layers > 1 else 0.0
        self.rnn: nn.RNNBase | ScratchRecurrent
        if self.impl is Impl.torch:
            self.rnn = FUSED[spec.cell](
                spec.vocab_size,
                spec.hidden,
                num_layers=spec.layers,
                bidirectional=spec.bidirectional,
                dropout=layer_dropout,
                batch_first=True,
            )
        else:
            self.rnn = ScratchRecurrent(spec, layer_dropout)
        self.head = nn.Linear(spec.hidden * spec.directions, spec.num_labels)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        # a module called answers Any in torch's types; these answer tensors
        scores: torch.Tensor
        if self.impl is Impl.scratch:
            scores = self.rnn(indices, self.head.weight, self.head.bias)
            return scores
        one_hot = F.one_hot(indices, self.spec.vocab_size).to(self.head.weight.dtype)
        _, final = self.rnn(one_hot)  # (batch, seq_len, vocab) in
        if isinstance(final, tuple):  # LSTM: (h_n, c_n)
            final = final[0]
        # h_n: (layers*directions, batch, hidden); the top layer's directions, concatenated
        top = final[-self.spec.directions :]
        scores = self.head(torch.cat(list(top), dim=-1))
        return scores


def state_arrays(model: NameClassifier) -> dict[str, np.ndarray]:
    """The weights as float32 numpy arrays under their canonical names."""
    return {name: tensor.detach().cpu().float().contiguous().numpy() for name, tensor in model.state_dict().items()}
