"""Seed 003's German/Italian classifier, replicated as its document writes it, for `make bench`'s
comparison (the study that first replicated it, with more figures: docs/studies.md).

As the seed: both files split on "\\n", the names found in both removed ONCE from each, duplicates kept;
the alphabet is both files' characters plus the ASCII letters; one-hot rows, zero rows after the name up
to 18 (a longer name is cut, an unknown character is a zero row, where the seed would fail);
`nn.RNN(alphabet, 256, num_layers=2, dropout=0.4)`, dropout on its 18 outputs, `Linear(18*256, 256)`,
ReLU, `Linear(256, 2)`, softmax, and `CrossEntropyLoss` on those probabilities; Adam at lr 5e-6, batch
8, 30 epochs, never shuffled, the last incomplete batch skipped, the hidden state carried from batch to
batch; every 3rd epoch the weights with the best accuracy (scored the same stateful way) are kept.
`leaky`: the seed's `random_split` 80/20, the epoch kept by TEST accuracy, and duplicates on both sides
(`leaked_test_names`). `clean`: nameclf's split, the epoch kept by validation. Test figures score each
name from a zero hidden state: after the last epoch (`test_accuracy`) and the kept one's (`selected_`).
"""

from __future__ import annotations

import copy
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import random_split

from nameclf.data import load_dataset, split_dataset
from nameclf.metrics import score

LABELS = ("German", "Italian")  # the seed's labels 0 and 1
LENGTH = 18
MODES = ("leaky", "clean")
Part = tuple[list[str], list[int]]  # names and label indices, in the order the seed iterates them


class SeedClassifier(nn.Module):
    """The seed's `NameClassifier`, layer for layer."""

    def __init__(self, alphabet: int, hidden: int = 256) -> None:
        super().__init__()
        self.hidden = hidden
        self.rnn = nn.RNN(alphabet, hidden, num_layers=2, batch_first=True, dropout=0.4)
        self.dropout = nn.Dropout(0.4)
        self.linear = nn.Linear(hidden * LENGTH, 256)
        self.output = nn.Linear(256, len(LABELS))

    def forward(self, inputs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, state = self.rnn(inputs, state)
        flat = self.dropout(outputs).reshape(-1, self.hidden * LENGTH)
        return F.softmax(self.output(F.relu(self.linear(flat))), dim=1), state.detach()

    def zero_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(2, batch, self.hidden)


@dataclass
class Trained:
    model: SeedClassifier
    alphabet: str
    figures: dict[str, Any] = field(default_factory=dict)


def seed_alphabet(names_dir: Path) -> str:
    text = "".join((Path(names_dir) / f"{label}.txt").read_text(encoding="utf-8") for label in LABELS)
    return "".join(sorted(set(text.replace("\n", "")) | set(string.ascii_letters)))


def seed_parts(mode: str, names_dir: Path, seed: int) -> tuple[Part, Part, Part | None]:
    """(train, test, validation or None), drawn from torch's global generator as the seed draws them."""
    if mode == "clean":
        split = split_dataset(load_dataset(names_dir, ",".join(LABELS)), seed)

        def part(examples) -> Part:
            order = torch.randperm(len(examples)).tolist()
            return [examples[i].name for i in order], [LABELS.index(examples[i].labels[0]) for i in order]

        return part(split.train), part(split.test), part(split.validation)  # drawn in this order
    german, italian = ((Path(names_dir) / f"{label}.txt").read_text(encoding="utf-8").split("\n") for label in LABELS)
    for shared in set(german) & set(italian):
        german.remove(shared)  # the first copy only, as the seed does
        italian.remove(shared)
    names, labels = german + italian, [0] * len(german) + [1] * len(italian)
    cut = int(0.8 * len(names))
    train, test = (
        ([names[i] for i in part], [labels[i] for i in part])
        for part in random_split(range(len(names)), (cut, len(names) - cut))
    )
    return train, test, None


def encode(names: Sequence[str], alphabet: str, length: int = LENGTH) -> torch.Tensor:
    """(names, length, alphabet) one-hot rows: zero rows after the name, cut at `length`, and a zero
    row for a character outside the alphabet."""
    index = {character: i for i, character in enumerate(alphabet)}
    encoded = torch.zeros(len(names), length, len(alphabet))
    for row, name in enumerate(names):
        for position, character in enumerate(name[:length]):
            if character in index:
                encoded[row, position, index[character]] = 1.0
    return encoded


def stateful_accuracy(model: SeedClassifier, inputs: torch.Tensor, labels: torch.Tensor, batch: int) -> float:
    """Accuracy as the seed's loop computes it: the hidden state carried across batches in order."""
    model.eval()
    state, correct, total = model.zero_state(batch), 0, 0
    with torch.no_grad():
        for start in range(0, len(labels) - batch + 1, batch):
            output, state = model(inputs[start : start + batch], state)
            correct += int((output.argmax(dim=1) == labels[start : start + batch]).sum())
            total += batch
    return correct / total if total else 0.0


def probabilities(trained: Trained, names: Sequence[str]) -> np.ndarray:
    """(len(names), 2) probabilities of German and Italian, each name from a zero hidden state."""
    trained.model.eval()
    rows = [np.zeros((0, len(LABELS)), dtype=np.float32)]
    with torch.no_grad():
        for start in range(0, len(names), 1024):
            chunk = list(names[start : start + 1024])
            output, _ = trained.model(encode(chunk, trained.alphabet), trained.model.zero_state(len(chunk)))
            rows.append(output.numpy())
    return np.concatenate(rows)


def accuracy(trained: Trained, part: Part) -> float:
    predicted = [LABELS[i] for i in probabilities(trained, part[0]).argmax(axis=1)]
    return score(list(LABELS), [(LABELS[label],) for label in part[1]], predicted, "seed003").accuracy


def fit(model: SeedClassifier, alphabet: str, train: Part, judge: Part, epochs: int, batch: int, lr: float):
    """The seed's training loop: (the kept epoch, its weights, the loop's seconds)."""
    optimizer, criterion = torch.optim.Adam(model.parameters(), lr=lr), nn.CrossEntropyLoss()
    inputs, targets = encode(train[0], alphabet), torch.tensor(train[1])
    judge_inputs, judge_targets = encode(judge[0], alphabet), torch.tensor(judge[1])
    best, kept_epoch, kept = 0.0, 0, copy.deepcopy(model.state_dict())
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        state = model.zero_state(batch)
        for start in range(0, len(targets) - batch + 1, batch):
            model.zero_grad()
            output, state = model(inputs[start : start + batch], state)
            criterion(output, targets[start : start + batch]).backward()  # on softmax outputs, as the seed
            optimizer.step()
        if epoch % 3 == 0:
            found = round(stateful_accuracy(model, judge_inputs, judge_targets, batch), 4)
            if best < found:
                best, kept_epoch, kept = found, epoch, copy.deepcopy(model.state_dict())
    return kept_epoch, kept, time.perf_counter() - started


def train_model(
    mode: str,
    seed: int,
    names_dir: Path,
    epochs: int = 30,
    batch_size: int = 8,
    lr: float = 5e-6,
    hidden: int = 256,
    threads: int = 1,
) -> Trained:
    """Train the replica on the `leaky` (seed's) or `clean` (nameclf's) split; figures in `.figures`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)  # the split or the order, the initial weights and the dropout all draw from it
    alphabet = seed_alphabet(names_dir)
    train, test, validation = seed_parts(mode, names_dir, seed)
    trained = Trained(SeedClassifier(len(alphabet), hidden), alphabet)
    kept_epoch, kept, seconds = fit(trained.model, alphabet, train, validation or test, epochs, batch_size, lr)
    seen = set(train[0])
    trained.figures = {
        "mode": mode,
        "seed": seed,
        "epochs": epochs,
        "train_seconds": round(seconds, 2),
        "parameters": sum(parameter.numel() for parameter in trained.model.parameters()),
        "train_size": len(train[0]),
        "test_size": len(test[0]),
        "leaked_test_names": sum(name in seen for name in test[0]),
        "validation_accuracy": None if validation is None else accuracy(trained, validation),
        "test_accuracy": accuracy(trained, test),
        "selected_on": "test" if validation is None else "validation",
        "selected_epoch": kept_epoch,
    }
    final = copy.deepcopy(trained.model.state_dict())
    trained.model.load_state_dict(kept)
    trained.figures["selected_test_accuracy"] = accuracy(trained, test)
    trained.model.load_state_dict(final)  # the model handed back is the last epoch's, like the figures
    return trained
