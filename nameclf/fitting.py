"""The training loop for one network, which knows nothing of the network's insides: batches of
names of one length, class-weighted loss, Adam, clipping, character dropout, label smoothing,
weight averaging, and the best epoch kept by `EarlyStopping`. `nameclf.training` runs it once per
member and does the rest (data, calibration, packaging)."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from nameclf.callbacks import TrainingCallback
from nameclf.cells import NetworkSpec
from nameclf.choices import Impl
from nameclf.data import Example, Vocabulary, length_batches, stratum
from nameclf.errors import Interrupted, UsageError
from nameclf.model import NameClassifier
from nameclf.train_config import TrainConfig


def targets(examples: list[Example], labels: list[str]) -> np.ndarray:
    """(n, labels) target distributions: a multi-label name spreads its mass over its languages."""
    index = {label: i for i, label in enumerate(labels)}
    result = np.zeros((len(examples), len(labels)), dtype=np.float32)
    for row, example in enumerate(examples):
        for label in example.labels:
            result[row, index[label]] = 1.0 / len(example.labels)
    return result


def class_weights(train_targets: np.ndarray) -> np.ndarray:
    """Inverse-frequency weights, mean 1 over the classes (all 1 when balanced)."""
    counts = train_targets.sum(axis=0)
    weights = counts.sum() / (len(counts) * np.maximum(counts, 1e-6))
    balanced: np.ndarray = (weights / weights.mean()).astype(np.float32)  # numpy types this as Any
    return balanced


def weighted_loss(
    scores: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    smoothing: float = 0.0,
    sample_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy on logits against target distributions, weighted per class by the true language
    and, with `sample_weights`, per name (a labelled table's name by its share of people).

    For one-hot targets and no smoothing this equals `F.cross_entropy(scores, y, weight=weights)`;
    `smoothing` moves that share of each target's mass evenly onto all languages.
    """
    name_weights = target @ weights
    if sample_weights is not None:
        name_weights = name_weights * sample_weights
    if smoothing:
        target = target * (1 - smoothing) + smoothing / target.shape[-1]
    per_name = -(target * F.log_softmax(scores, dim=-1)).sum(dim=-1)
    return (per_name * name_weights).sum() / name_weights.sum()


class EncodedSplit:
    """One split as index arrays plus target distributions, ready to batch by length."""

    def __init__(
        self, examples: list[Example], vocabulary: Vocabulary, labels: list[str], balanced: bool = True
    ) -> None:
        self.examples = examples
        self.encoded = [vocabulary.encode(example.name) for example in examples]
        self.lengths = [len(codes) for codes in self.encoded]
        self.targets = targets(examples, labels)
        self.weights = np.array([example.weight for example in examples], dtype=np.float32)
        self.weighted = bool((self.weights != 1.0).any())  # a labelled table's names: weighted by their people
        self.balanced = balanced  # class weights against the languages' frequencies (False: every class 1)

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, members: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The names' indices (batch, seq_len) and their target distributions (batch, labels)."""
        indices = torch.from_numpy(np.stack([self.encoded[i] for i in members])).to(device)
        return indices, torch.from_numpy(self.targets[members]).to(device)


class EarlyStopping:
    """The epoch-keeping rule: the best validation accuracy wins, ties go to the lower validation
    loss; training stops after `patience` epochs without a new best."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_epoch, self.stale = 0, 0
        self._best_key: tuple[float, float] | None = None

    def update(self, epoch: int, accuracy: float, loss: float) -> bool:
        """Record an epoch's figures; True when it is the new best."""
        key = (accuracy, -loss)
        if self._best_key is None or key > self._best_key:
            self._best_key, self.best_epoch, self.stale = key, epoch, 0
            return True
        self.stale += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.stale >= self.patience


def measure(
    model: torch.nn.Module,
    split: EncodedSplit,
    weights: torch.Tensor,
    device: torch.device,
    probabilities: np.ndarray | None = None,
) -> tuple[float, float]:
    """(accuracy, loss) on a split; right when the top language is one of the name's languages. `model`:
    a `NameClassifier`, or the moving average of one (`AveragedModel.module`, which torch types as any module).

    `probabilities`, if given, an (names, labels) array, receives each name's predicted distribution.
    """
    model.eval()
    correct, loss_sum, weight_sum = 0.0, 0.0, 0.0
    with torch.no_grad():
        for members in length_batches(split.lengths, 1024):
            indices, target = split.batch(members, device)
            scores = model(indices)
            if probabilities is not None:
                probabilities[members] = F.softmax(scores, dim=-1).float().cpu().numpy()
            best = scores.argmax(dim=-1)
            correct += float((target.gather(1, best[:, None]) > 0).sum())
            name_weights = target @ weights
            per_name = -(target * F.log_softmax(scores, dim=-1)).sum(dim=-1)
            loss_sum += float((per_name * name_weights).sum())
            weight_sum += float(name_weights.sum())
    return correct / max(len(split), 1), loss_sum / max(weight_sum, 1e-12)


def member_folds(examples: list[Example], members: int, seed: int) -> list[tuple[list[Example], list[Example]]]:
    """(training, validation) names of each member. One member: the split's own parts are passed in as
    [train, validation]. k members: the names are dealt into k folds stratified by language, and
    member i validates on fold i and trains on the others, so every name trains k - 1 members and
    each member keeps names it never saw to pick its epoch."""
    rng = np.random.default_rng([seed, members])
    counts: dict[str, int] = {}
    for example in examples:
        for label in example.labels:
            counts[label] = counts.get(label, 0) + 1
    folds: list[list[Example]] = [[] for _ in range(members)]
    dealt = 0
    groups: dict[str, list[Example]] = {}
    for example in sorted(examples, key=lambda example: example.name):
        groups.setdefault(stratum(example, counts), []).append(example)
    for language in sorted(groups):
        group = groups[language]
        for position in rng.permutation(len(group)):
            folds[dealt % members].append(group[position])
            dealt += 1
    return [([example for j, fold in enumerate(folds) if j != i for example in fold], folds[i]) for i in range(members)]


@dataclass
class Fitted:
    """One network trained by `fit`: the kept epoch's weights and what it scored."""

    model: NameClassifier
    history: list[dict[str, float]]
    best_epoch: int
    epochs_run: int
    validation: EncodedSplit
    validation_probabilities: np.ndarray  # (names, labels), the kept epoch's predictions


@dataclass(frozen=True)
class LoopSettings:
    """The settings the loop reads, every one decided: those of a resolved `TrainConfig`."""

    impl: Impl
    dropout: float
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    clip: float
    average: float
    patience: int
    char_dropout: float
    label_smoothing: float

    @classmethod
    def of(cls, config: TrainConfig) -> LoopSettings:
        c = config
        if (
            c.dropout is None
            or c.epochs is None
            or c.batch_size is None
            or c.lr is None
            or c.average is None
            or c.patience is None
            or c.char_dropout is None
            or c.label_smoothing is None
        ):
            raise ValueError("fit takes a resolved TrainConfig (TrainConfig.resolved): one with every default set")
        return cls(
            c.impl,
            c.dropout,
            c.epochs,
            c.batch_size,
            c.lr,
            c.weight_decay,
            c.clip,
            c.average,
            c.patience,
            c.char_dropout,
            c.label_smoothing,
        )


@dataclass
class Step:
    """What one optimisation step needs: the network, its optimiser and moving average, the loss's
    class weights, the settings, where it runs, and who is told of each batch."""

    model: NameClassifier
    optimizer: torch.optim.Optimizer
    averaged: AveragedModel | None
    weights: torch.Tensor
    config: LoopSettings
    device: torch.device
    callback: TrainingCallback


def train_epoch(
    step: Step,
    train_split: EncodedSplit,
    shuffle: np.random.Generator,
    masking: torch.Generator,
    when: str,
    unchanged: str,
) -> tuple[float, float]:
    """One pass over the training names, in batches of one length (shuffled by `shuffle`, characters
    dropped by `masking`): the mean loss and the training accuracy."""
    config, model = step.config, step.model
    model.train()
    loss_sum, count, correct = 0.0, 0, 0.0
    for members in length_batches(train_split.lengths, config.batch_size, shuffle):
        indices, target = train_split.batch(members, torch.device("cpu"))
        sample = torch.from_numpy(train_split.weights[members]).to(step.device) if train_split.weighted else None
        if config.char_dropout > 0:
            swap = torch.rand(indices.shape, generator=masking) < config.char_dropout
            indices = indices.masked_fill(swap, 0)
        indices, target = indices.to(step.device), target.to(step.device)
        scores = model(indices)
        loss = weighted_loss(scores, target, step.weights, config.label_smoothing, sample)
        if not math.isfinite(value := loss.item()):
            raise UsageError(
                f"training diverged {when}: the loss became {value}; lower --lr (it is {config.lr:g}); {unchanged}"
            )
        step.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        step.optimizer.step()
        if step.averaged is not None:
            step.averaged.update_parameters(model)
        loss_sum += value * len(members)
        count += len(members)
        correct += float((target.gather(1, scores.argmax(-1)[:, None]) > 0).sum())
        step.callback.batch()
    return loss_sum / count, correct / count


def fit(
    config: TrainConfig,
    train_split: EncodedSplit,
    validation_split: EncodedSplit,
    spec: NetworkSpec,
    device: torch.device,
    callback: TrainingCallback,
    seed: int,
    out: Path | None,
) -> Fitted:
    """The training loop for one network: Adam, clipping, class weights, character dropout, label
    smoothing, weight averaging, the best epoch kept by `EarlyStopping`. `config` must be resolved."""
    settings = LoopSettings.of(config)
    torch.manual_seed(seed)
    model = NameClassifier(spec, settings.impl, settings.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    balance = class_weights(train_split.targets) if train_split.balanced else np.ones(spec.num_labels, np.float32)
    weights = torch.from_numpy(balance).to(device)
    # What is validated, kept and saved: an exponential moving average of the weights (smoother than
    # the last step's; measured in the recipes study, docs/studies.md), or the trained model itself with --average 0.
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(settings.average)) if settings.average else None
    scored = averaged.module if averaged is not None else model
    shuffle = np.random.default_rng(seed + 1)
    masking = torch.Generator().manual_seed(seed + 2)
    unchanged = f"nothing was saved, {out} is as it was" if out is not None else "nothing was saved"

    history: list[dict[str, float]] = []
    best_state, best_probabilities, stopping = None, None, EarlyStopping(settings.patience)
    step = Step(model, optimizer, averaged, weights, settings, device, callback)
    callback.start(settings.epochs, len(length_batches(train_split.lengths, settings.batch_size)))
    epoch = 0
    try:
        for epoch in range(1, settings.epochs + 1):
            loss, train_accuracy = train_epoch(step, train_split, shuffle, masking, f"in epoch {epoch}", unchanged)
            predicted = np.zeros_like(validation_split.targets)
            validation_accuracy, validation_loss = measure(scored, validation_split, weights, device, predicted)
            callback.validated(validation_split.examples, predicted)
            record = {
                "epoch": epoch,
                "loss": loss,
                "train_accuracy": train_accuracy,
                "validation_accuracy": validation_accuracy,
                "validation_loss": validation_loss,
            }
            history.append(record)
            if stopping.update(epoch, validation_accuracy, validation_loss):
                best_state, best_probabilities = copy.deepcopy(scored.state_dict()), predicted
            callback.epoch(record)
            if stopping.should_stop:
                break
    except KeyboardInterrupt:
        raise Interrupted(f"training interrupted in epoch {epoch} of {settings.epochs}; {unchanged}") from None
    if best_state is None or best_probabilities is None:  # not so: the first epoch is always the best yet
        raise RuntimeError("training ran no epoch")
    model.load_state_dict(best_state)
    return Fitted(model, history, stopping.best_epoch, epoch, validation_split, best_probabilities)
