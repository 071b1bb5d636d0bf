"""Seconds per training epoch, per cell, for four ways of batching names of different lengths.

    .venv/bin/python benchmarks/train_speed.py [--languages all] [--batch-size 256] [--threads N]

* bucketed: every batch holds names of one length (what nameclf does): no padding at all;
* padded:   random batches padded to their longest name; the output is read at each name's last
            character (not the final state, which would have run over the padding);
* packed:   random batches as `pack_padded_sequence`, the final state read from h_n;
* one-by-one: batch size 1 (timed on a sample, scaled to the epoch).

All four train the same fused torch model (forward, backward, Adam step) over the same names, in
the same run, so their ratios are comparable even on a busy machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from nameclf.cells import Cell, NetworkSpec
from nameclf.data import Vocabulary, length_batches, load_dataset, split_dataset
from nameclf.model import NameClassifier
from nameclf.paths import bundled_names_dir
from nameclf.train_config import default_threads


def final_state(model: NameClassifier, one_hot: torch.Tensor, lengths: torch.Tensor, mode: str) -> torch.Tensor:
    """(batch, hidden) top-layer state at each name's last character (unidirectional model)."""
    if mode == "packed":
        packed = pack_padded_sequence(one_hot, lengths, batch_first=True, enforce_sorted=False)
        _, final = model.rnn(packed)
        final = final[0] if isinstance(final, tuple) else final
        return final[-1]
    outputs, _ = model.rnn(one_hot)  # (batch, seq_len, hidden)
    last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, outputs.shape[-1])
    return outputs.gather(1, last).squeeze(1)


def epoch_seconds(cell: Cell, encoded, labels, batches, mode: str, vocab_size: int, hidden: int) -> float:
    torch.manual_seed(0)
    model = NameClassifier(NetworkSpec(cell, vocab_size, hidden, 1, False, int(labels.max()) + 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    for members in batches:
        lengths = torch.tensor([len(encoded[i]) for i in members])
        padded = np.zeros((len(members), int(lengths.max())), dtype=np.int64)
        for row, i in enumerate(members):
            padded[row, : len(encoded[i])] = encoded[i]
        indices = torch.from_numpy(padded)
        if mode == "bucketed":
            scores = model(indices)
        else:
            one_hot = F.one_hot(indices, vocab_size).float()
            scores = model.head(final_state(model, one_hot, lengths, mode))
        loss = F.cross_entropy(scores, torch.from_numpy(labels[members]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="all")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--threads", type=int, default=default_threads())
    parser.add_argument("--one-by-one-sample", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    dataset = load_dataset(bundled_names_dir(), args.languages)
    train = split_dataset(dataset, 0).train
    vocabulary = Vocabulary.build(e.name for e in dataset.examples)
    encoded = [vocabulary.encode(e.name) for e in train]
    index = {label: i for i, label in enumerate(dataset.languages)}
    labels = np.array([index[e.labels[0]] for e in train])
    order = np.random.default_rng(0).permutation(len(train))
    random_batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]
    bucketed = length_batches([len(e) for e in encoded], args.batch_size, np.random.default_rng(0))
    sample = [order[i : i + 1] for i in range(args.one_by_one_sample)]

    print(
        f"{len(train)} training names, {len(dataset.languages)} languages, batch {args.batch_size}, "
        f"hidden {args.hidden}, {args.threads} thread(s); seconds per epoch:"
    )
    print(f"{'cell':5s} {'bucketed':>9s} {'padded':>9s} {'packed':>9s} {'1-by-1':>9s}  1-by-1/bucketed")
    for cell in (Cell.rnn, Cell.gru, Cell.lstm):
        times = {}
        for mode, batches in (("bucketed", bucketed), ("padded", random_batches), ("packed", random_batches)):
            times[mode] = epoch_seconds(cell, encoded, labels, batches, mode, vocabulary.size, args.hidden)
        single = epoch_seconds(cell, encoded, labels, sample, "bucketed", vocabulary.size, args.hidden)
        times["single"] = single * len(train) / len(sample)
        print(
            f"{cell.value:5s} {times['bucketed']:9.2f} {times['padded']:9.2f} {times['packed']:9.2f} "
            f"{times['single']:9.1f}  {times['single'] / times['bucketed']:6.1f}x"
        )


if __name__ == "__main__":
    main()
