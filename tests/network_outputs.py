"""What a saved model answers, two ways: numpy's predictor, and as the reference each member run as a torch
module name by name. With a tiny training configuration (the network alone) and names to probe."""

from __future__ import annotations

import numpy as np
import torch

from nameclf import checkpoint
from nameclf.model import NameClassifier
from nameclf.predict import Predictor

# the network alone: the tests that use these are about it
TINY = dict(hidden=8, epochs=1, batch_size=64, threads=1, device="cpu", experts="rnn")
PROBE_NAMES = ["Tribbiani", "Schmidt", "Rossi", "Müller", "Abbing", "Zimmermann", "Ab", "MCDONALD", "de la Cruz"]


def torch_member_probabilities(saved: checkpoint.SavedModel, names: list[str]) -> np.ndarray:
    """Reference: each member as a torch module, name by name; the ensemble's answer is their mean."""
    members = []
    for weights in saved.member_weights():
        model = NameClassifier(saved.spec, impl=saved.config["training"]["impl"])
        model.load_state_dict({name: torch.from_numpy(value) for name, value in weights.items()})
        model.eval()
        with torch.no_grad():
            rows = [
                torch.softmax(model(torch.from_numpy(saved.vocabulary.encode(name))[None]), dim=-1)[0].numpy()
                for name in names
            ]
        members.append(np.stack(rows))
    return np.stack(members)


def numpy_probabilities(saved: checkpoint.SavedModel, names: list[str]) -> np.ndarray:
    return np.exp(
        Predictor(saved).log_probabilities([saved.vocabulary.encode(name) for name in names], calibrated=False)
    )
