"""Label smoothing (`--label-smoothing`): the loss moves mass onto every language, a smoothed run records
its setting (and its character dropout), and a smoothing of 1 is refused."""

from __future__ import annotations

import pytest
import torch
from network_outputs import TINY

from nameclf.errors import UsageError
from nameclf.fitting import weighted_loss
from nameclf.training import TrainConfig, train


def test_label_smoothing_moves_mass_onto_every_language():
    scores = torch.tensor([[4.0, -4.0]])
    target = torch.tensor([[1.0, 0.0]])
    weights = torch.ones(2)
    plain = weighted_loss(scores, target, weights)
    smoothed = weighted_loss(scores, target, weights, smoothing=0.2)
    log_p = torch.log_softmax(scores, dim=-1)[0]
    assert smoothed.item() == pytest.approx(-(0.9 * log_p[0] + 0.1 * log_p[1]).item(), rel=1e-6)
    assert smoothed > plain  # the confident wrong-side score is paid for


def test_a_smoothed_run_trains_and_records_its_setting(dataset_dir, tmp_path):
    result = train(TrainConfig(cell="rnn", label_smoothing=0.1, char_dropout=0.05, **TINY), dataset_dir, tmp_path / "m")
    assert result.config["training"]["label_smoothing"] == 0.1
    assert result.config["training"]["char_dropout"] == 0.05


def test_a_label_smoothing_of_1_is_a_usage_error():
    with pytest.raises(UsageError):
        TrainConfig(label_smoothing=1.0)
