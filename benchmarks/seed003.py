"""Seed 003's German/Italian classifier, replicated as written, on its own leaky split or on nameclf's.

The seed document (../shared/seeds/003_*.txt) is followed step by step, for its `nn.RNN` model (the
hand-written `LinearRNN` it trains first is left out):

* data: German.txt and Italian.txt read whole and split on "\\n"; the names found in both files are
  removed ONCE from each (`list.remove`), which also removes the empty string the final newline
  leaves; duplicates within a file are kept (German has 16 names twice or more: Sommer 4 times);
* alphabet: the characters of both files plus the ASCII letters, sorted (65 for the real files);
* encoding: one-hot rows, zero rows after the name up to a fixed length of 18 ("the length of the
  longest name": Von grimmelshausen). No German or Italian name is longer; the seed would fail on
  one (its reshape to 18*256 breaks), so a longer name given to `probabilities` is cut to 18, and a
  character outside the alphabet (a KeyError in the seed) is an all-zero row, like padding;
* split (`leaky`): `random_split` 80/20 into train and test, with no validation part. Because
  duplicates survive, a name can be in both (`leaked_test_names` counts those test rows);
* model: `nn.RNN(65, 256, num_layers=2, dropout=0.4, batch_first=True)`, dropout 0.4 on all 18
  outputs, flattened into `Linear(18*256, 256)`, ReLU, `Linear(256, 2)`, then softmax (the seed
  calls `F.softmax` without `dim`, which for these 2-D scores means dim 1), and `CrossEntropyLoss`
  on those probabilities, i.e. a second softmax inside the loss, as the seed does;
* training: Adam at lr 5e-6, batch 8, 30 epochs, `DataLoader` WITHOUT shuffling (the order is the
  one `random_split` drew, the same every epoch), the last incomplete batch skipped, and the hidden
  state CARRIED from one batch to the next (reset to zeros at each epoch): a name's output depends
  on the names batched before it;
* every 3rd epoch the test split is scored the same stateful way and the weights with the best
  test accuracy are saved: the seed selects its model on its test split.

`clean` changes only the data: nameclf's split (`split_dataset(load_dataset(names_dir,
"German,Italian"), seed)`: distinct names, the 2 shared names dropped, 80/10/10, no name in two
parts), the training names in one seeded random order (what `random_split` gives the seed), and the
best-epoch rule applied to validation instead of test.

Figures returned by `run`:

* `test_accuracy`, `validation_accuracy`: every name of the part, each scored from a zero hidden
  state (as the seed classifies 'Tribbiani'), with `nameclf.evaluate.score`, after the 30th epoch.
  The seed has no validation part, so it is None in `leaky` mode;
* `seed_style_test_accuracy`: scored as the seed's loop scores it (hidden state carried across
  batches of 8, the last incomplete batch skipped);
* `selected_epoch`, `selected_test_accuracy`: the weights the seed's save rule keeps (every 3rd
  epoch, best stateful accuracy on test in `leaky` mode, on validation in `clean` mode) and their
  test accuracy, scored as `test_accuracy` is.

    .venv/bin/python benchmarks/seed003.py --mode clean --seed 0
    .venv/bin/python benchmarks/seed003.py --mode leaky --seed 0 --out-of-source
"""

from __future__ import annotations

import argparse
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
from nameclf.paths import bundled_names_dir

LABELS = ("German", "Italian")  # the seed's labels 0 and 1
SEQUENCE_LENGTH = 18
MODES = ("leaky", "clean")
EVALUATE_EVERY = 3


class SeedClassifier(nn.Module):
    """The seed's `NameClassifier`, layer for layer."""

    def __init__(self, input_size: int, hidden_size: int = 256, sequence_length: int = SEQUENCE_LENGTH) -> None:
        super().__init__()
        dropout_probability = 0.4
        self.hidden_size = hidden_size
        self.sequence_length = sequence_length
        self.num_layers = 2
        self.rnn = nn.RNN(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=self.num_layers,
            batch_first=True,
            dropout=dropout_probability,
        )
        self.dropout_layer = nn.Dropout(dropout_probability)
        self.linear_layer = nn.Linear(hidden_size * sequence_length, 256)
        self.output_layer = nn.Linear(256, len(LABELS))

    def forward(self, inputs: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(probabilities, the final hidden state detached): the seed returns softmax outputs."""
        outputs, new_hidden = self.rnn(inputs, hidden)
        outputs = self.dropout_layer(outputs)
        flat = outputs.reshape(-1, self.hidden_size * self.sequence_length)
        linear_output = F.relu(self.linear_layer(flat))
        return F.softmax(self.output_layer(linear_output), dim=1), new_hidden.detach()

    def init_hidden(self, batch_size: int) -> torch.Tensor:
        return torch.zeros(self.num_layers, batch_size, self.hidden_size)


# --- data ---------------------------------------------------------------------------------------


@dataclass
class Part:
    """Names and their label indices (0 German, 1 Italian), in the order the seed iterates them."""

    names: list[str]
    labels: list[int]


@dataclass
class SeedData:
    alphabet: str
    train: Part
    test: Part
    validation: Part | None  # the seed has none


def read_raw(names_dir: Path) -> tuple[str, str]:
    """The two files as the seed reads them: whole, undecoded beyond UTF-8, not normalised."""
    return (
        (Path(names_dir) / "German.txt").read_text(encoding="utf-8"),
        (Path(names_dir) / "Italian.txt").read_text(encoding="utf-8"),
    )


def seed_alphabet(names_dir: Path) -> str:
    """The seed's vocabulary: every character of both files (newlines aside) plus the ASCII letters."""
    german, italian = read_raw(names_dir)
    return "".join(sorted(set((german + italian).replace("\n", "")).union(string.ascii_letters)))


def leaky_data(names_dir: Path, alphabet: str) -> SeedData:
    """The seed's own dataset and split: call after `torch.manual_seed`, as `random_split` draws from
    torch's global generator."""
    german_text, italian_text = read_raw(names_dir)
    german_names, italian_names = german_text.split("\n"), italian_text.split("\n")
    for common_name in list(set(german_names).intersection(set(italian_names))):
        german_names.remove(common_name)  # the first copy only, as the seed does
        italian_names.remove(common_name)
    names = german_names + italian_names
    labels = [0] * len(german_names) + [1] * len(italian_names)
    train_size = int(0.8 * len(names))
    train_indices, test_indices = random_split(range(len(names)), (train_size, len(names) - train_size))
    return SeedData(
        alphabet,
        Part([names[i] for i in train_indices], [labels[i] for i in train_indices]),
        Part([names[i] for i in test_indices], [labels[i] for i in test_indices]),
        None,
    )


def clean_data(names_dir: Path, seed: int, alphabet: str) -> SeedData:
    """nameclf's split, each part in a random order drawn from torch's global generator (the order
    `random_split` would give), since the seed's loader never shuffles."""
    split = split_dataset(load_dataset(names_dir, ",".join(LABELS)), seed)

    def part(examples) -> Part:
        order = torch.randperm(len(examples)).tolist()
        return Part([examples[i].name for i in order], [LABELS.index(examples[i].labels[0]) for i in order])

    train = part(split.train)
    return SeedData(alphabet, train, part(split.test), part(split.validation))


def encode(names: Sequence[str], alphabet: str, length: int = SEQUENCE_LENGTH) -> torch.Tensor:
    """(names, length, alphabet) one-hot rows, zero rows after the name; cut at `length`, and
    characters outside the alphabet left as zero rows (where the seed would fail)."""
    index = {character: i for i, character in enumerate(alphabet)}
    encoded = torch.zeros(len(names), length, len(alphabet))
    for row, name in enumerate(names):
        for position, character in enumerate(name[:length]):
            if character in index:
                encoded[row, position, index[character]] = 1.0
    return encoded


# --- training and scoring -----------------------------------------------------------------------


@dataclass
class Trained:
    """A trained replica: the network, its alphabet, and the figures `run` returns."""

    model: SeedClassifier
    alphabet: str
    figures: dict[str, Any] = field(default_factory=dict)


def seed_style_accuracy(model: SeedClassifier, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    """Accuracy as the seed's test loop computes it: batches in order, the hidden state carried
    across them, the last incomplete batch skipped."""
    model.eval()
    hidden = model.init_hidden(batch_size)
    correct = total = 0
    with torch.no_grad():
        for start in range(0, len(labels) - batch_size + 1, batch_size):
            output, hidden = model(inputs[start : start + batch_size], hidden)
            correct += int((output.argmax(dim=1) == labels[start : start + batch_size]).sum())
            total += batch_size
    return correct / total if total else 0.0


def probabilities(trained: Trained, names: Sequence[str]) -> np.ndarray:
    """(len(names), 2) probabilities of German and Italian, each name from a zero hidden state (as
    the seed classifies one name), so a name's answer does not depend on its neighbours."""
    model = trained.model
    model.eval()
    rows = []
    with torch.no_grad():
        for start in range(0, len(names), 1024):
            chunk = list(names[start : start + 1024])
            output, _ = model(encode(chunk, trained.alphabet, model.sequence_length), model.init_hidden(len(chunk)))
            rows.append(output.numpy())
    return np.concatenate(rows) if rows else np.zeros((0, len(LABELS)), dtype=np.float32)


def accuracy(trained: Trained, part: Part, source: str) -> float:
    """nameclf's accuracy (`nameclf.evaluate.score`) over every name of a part."""
    predicted = [LABELS[i] for i in probabilities(trained, part.names).argmax(axis=1)]
    return score(list(LABELS), [(LABELS[label],) for label in part.labels], predicted, source).accuracy


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
    data = leaky_data(names_dir, alphabet) if mode == "leaky" else clean_data(names_dir, seed, alphabet)
    selection = data.test if data.validation is None else data.validation  # what the save rule reads

    model = SeedClassifier(len(alphabet), hidden)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    inputs, targets = encode(data.train.names, alphabet), torch.tensor(data.train.labels)
    selection_inputs, selection_targets = encode(selection.names, alphabet), torch.tensor(selection.labels)
    best_accuracy, selected_epoch, selected_state = 0.0, 0, copy.deepcopy(model.state_dict())

    started = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        state = model.init_hidden(batch_size)
        for start in range(0, len(targets), batch_size):
            batch_targets = targets[start : start + batch_size]
            if len(batch_targets) != batch_size:
                continue
            model.zero_grad()
            output, state = model(inputs[start : start + batch_size], state)
            loss = criterion(output, batch_targets)  # on softmax outputs, as the seed
            loss.backward()
            optimizer.step()
        if (epoch + 1) % EVALUATE_EVERY == 0:
            selection_accuracy = round(seed_style_accuracy(model, selection_inputs, selection_targets, batch_size), 4)
            if best_accuracy < selection_accuracy:
                best_accuracy, selected_epoch = selection_accuracy, epoch + 1
                selected_state = copy.deepcopy(model.state_dict())
    train_seconds = time.perf_counter() - started

    trained = Trained(model, alphabet)
    test_inputs, test_targets = encode(data.test.names, alphabet), torch.tensor(data.test.labels)
    training_names = set(data.train.names)
    figures: dict[str, Any] = {
        "mode": mode,
        "seed": seed,
        "epochs": epochs,
        "train_seconds": round(train_seconds, 2),
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "alphabet_size": len(alphabet),
        "train_size": len(data.train.names),
        "validation_size": None if data.validation is None else len(data.validation.names),
        "test_size": len(data.test.names),
        "leaked_test_names": sum(name in training_names for name in data.test.names),
        "validation_accuracy": None if data.validation is None else accuracy(trained, data.validation, "validation"),
        "test_accuracy": accuracy(trained, data.test, "test"),
        "seed_style_test_accuracy": seed_style_accuracy(model, test_inputs, test_targets, batch_size),
        "selected_on": "test" if data.validation is None else "validation",
        "selected_epoch": selected_epoch,
    }
    final_state = copy.deepcopy(model.state_dict())
    model.load_state_dict(selected_state)
    figures["selected_test_accuracy"] = accuracy(trained, data.test, "test")
    model.load_state_dict(final_state)  # the model handed back is the 30th epoch's, like the figures
    trained.figures = figures
    return trained


def run(mode: str, seed: int, names_dir: Path, **settings: Any) -> dict[str, Any]:
    """Train and return the figures (see the module docstring); `settings` as `train_model` takes them,
    which also gives the network."""
    return train_model(mode, seed, names_dir, **settings).figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="clean")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--names-dir", type=Path, default=bundled_names_dir())
    parser.add_argument(
        "--out-of-source", action="store_true", help="also score the Faker German/Italian names (benchmarks/oos.py)"
    )
    args = parser.parse_args()
    trained = train_model(args.mode, args.seed, args.names_dir, epochs=args.epochs, threads=args.threads)
    for key, value in trained.figures.items():
        print(f"{key:25s} {value:.4f}" if isinstance(value, float) else f"{key:25s} {value}")
    if args.out_of_source:
        from oos import corpus_names, out_of_source  # benchmarks/ is on sys.path when run as a script

        examples = out_of_source(LABELS, corpus_names(args.names_dir))
        predicted = [LABELS[i] for i in probabilities(trained, [example.name for example in examples]).argmax(axis=1)]
        report = score(list(LABELS), [example.labels for example in examples], predicted, "out-of-source")
        print(f"{'out_of_source_accuracy':25s} {report.accuracy:.4f} ({report.count} names)")
        print(f"{'out_of_source_macro_f1':25s} {report.macro_f1:.4f}")


if __name__ == "__main__":
    main()
