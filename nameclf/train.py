"""Train a classifier: batches of one name length (no padding), Adam, clipping, class weights,
validation every epoch, the best epoch's weights kept, early stopping; then save atomically."""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from nameclf import __version__, checkpoint
from nameclf.cells import Cell, NetworkSpec
from nameclf.data import (
    Dataset,
    Example,
    SharedNames,
    Vocabulary,
    available_languages,
    length_batches,
    load_dataset,
    split_dataset,
    split_fingerprint,
)
from nameclf.errors import Interrupted, UsageError
from nameclf.model import Impl, NameClassifier, check_cell, state_arrays
from nameclf.paths import default_data_dir, default_models_dir
from nameclf.reporting import Reporter

# Upper bounds that keep a typo from allocating for minutes or hanging (a 100,000-layer network);
# all far above anything that trains well on this data.
LIMITS = {"hidden": 4096, "layers": 16, "epochs": 100_000, "batch_size": 100_000}
MAX_THREADS = 1024


@dataclass
class TrainConfig:
    """Every choice `nameclf train` makes. The defaults were picked on validation data only, never the
    test split: the network size and learning rate on mean validation accuracy over 7 seeds
    (benchmarks/sweep.py), weight averaging on an unbiased cross-half validation estimate
    (benchmarks/recipes.py)."""

    cell: Cell = Cell.lstm
    impl: Impl = Impl.torch
    hidden: int = 64
    layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    epochs: int = 40
    batch_size: int = 32
    lr: float = 1e-2
    weight_decay: float = 0.0
    clip: float = 1.0
    average: float = 0.99  # decay of the moving average of the weights that is validated and saved; 0: none
    patience: int = 10
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    languages: str = "German,Italian"
    shared_names: SharedNames = SharedNames.auto
    unknown_rate: float = 0.01  # share of training characters swapped for the unknown slot, so it is learnt

    def __post_init__(self):
        self.cell, self.impl, self.shared_names = Cell(self.cell), Impl(self.impl), SharedNames(self.shared_names)
        for name, most in LIMITS.items():
            if not 1 <= getattr(self, name) <= most:
                raise UsageError(f"--{name.replace('_', '-')} must be between 1 and {most}")
        if not 0 <= self.dropout < 1:
            raise UsageError("--dropout must be in [0, 1)")
        if self.dropout and self.layers < 2:
            raise UsageError("--dropout acts between stacked layers: it needs --layers 2 or more")
        if not 0 <= self.average < 1:
            raise UsageError("--average must be in [0, 1) (0 turns weight averaging off)")
        if not 0 < self.lr <= 1:
            raise UsageError("--lr must be in (0, 1]: Adam's steps are about lr in size, and the default is 0.01")
        if self.patience < 1:
            raise UsageError("--patience must be at least 1")
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"--seed must be between 0 and {2**32 - 1}")
        if self.threads is not None and not 1 <= self.threads <= MAX_THREADS:
            raise UsageError(f"--threads must be between 1 and {MAX_THREADS}")
        check_cell(self.cell, self.impl)


@dataclass
class TrainResult:
    model_dir: Path
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def default_threads() -> int:
    """OMP_NUM_THREADS if set, else 1.

    Measured on 2 cores (README, "Threads"): one thread trains the default model as fast as two
    when the machine is idle, and two become 10-100x slower as soon as another process is busy,
    because torch's threads spin for cores they do not get. One thread also makes the weights
    independent of how many cores a machine has.
    """
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not value:
        return 1
    if not (value.isdigit() and 1 <= int(value) <= MAX_THREADS):
        raise UsageError(
            f"OMP_NUM_THREADS must be a whole number from 1 to {MAX_THREADS}, not {value[:20]!r}; "
            "fix or unset it, or pass --threads"
        )
    return int(value)


def resolve_device(name: str) -> torch.device:
    """`auto` → cuda, then mps, then cpu; an explicit device that is not there is a UsageError."""
    name = name.lower()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
        return torch.device(name)
    if name == "mps":
        if not mps_ok:
            raise UsageError("--device mps: Apple's MPS is not available here; use --device cpu or auto")
        return torch.device("mps")
    raise UsageError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")


def default_model_name(config: TrainConfig, dataset: Dataset, known: int) -> str:
    languages = dataset.languages
    if len(languages) == known:
        selection = "all"
    elif len(languages) <= 3:
        selection = "-".join(language.lower() for language in languages)
    else:
        selection = f"{len(languages)}-languages"
    impl = "-scratch" if config.impl is Impl.scratch else ""
    return f"{config.cell.value}{impl}-{selection}"


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
    return (weights / weights.mean()).astype(np.float32)


def weighted_loss(scores: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on logits against target distributions, weighted per class.

    For one-hot targets this equals `F.cross_entropy(scores, y, weight=weights)`.
    """
    per_name = -(target * F.log_softmax(scores, dim=-1)).sum(dim=-1)
    name_weights = target @ weights
    return (per_name * name_weights).sum() / name_weights.sum()


class EncodedSplit:
    """One split as index arrays plus target distributions, ready to batch by length."""

    def __init__(self, examples: list[Example], vocabulary: Vocabulary, labels: list[str]):
        self.examples = examples
        self.encoded = [vocabulary.encode(example.name) for example in examples]
        self.lengths = [len(codes) for codes in self.encoded]
        self.targets = targets(examples, labels)

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, members: np.ndarray, device: torch.device):
        indices = torch.from_numpy(np.stack([self.encoded[i] for i in members])).to(device)
        return indices, torch.from_numpy(self.targets[members]).to(device)


class EarlyStopping:
    """The epoch-keeping rule: the best validation accuracy wins, ties go to the lower validation
    loss; training stops after `patience` epochs without a new best."""

    def __init__(self, patience: int):
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
    model: NameClassifier,
    split: EncodedSplit,
    weights: torch.Tensor,
    device: torch.device,
    probabilities: np.ndarray | None = None,
):
    """(accuracy, loss) on a split; right when the top language is one of the name's languages.

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


def train(
    config: TrainConfig,
    data_dir: Path | None = None,
    out: Path | None = None,
    reporter: Reporter | None = None,
    mark_latest: bool = True,
) -> TrainResult:
    """Train, keep the best epoch (by validation accuracy, then loss), save, and mark it latest.

    `reporter` (see `nameclf.reporting.Reporter`) hears of every batch and epoch, and gets every
    epoch's validation predictions. `mark_latest=False` leaves the models folder's LATEST pointer
    alone (for models written to scratch folders).
    """
    reporter = reporter if reporter is not None else Reporter()
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    device = resolve_device(config.device)
    threads = config.threads or default_threads()
    torch.set_num_threads(threads)
    started = time.perf_counter()

    names_dir = data_dir / "names"
    dataset = load_dataset(names_dir, config.languages, config.shared_names)
    split = split_dataset(dataset, config.seed)
    labels = dataset.languages
    vocabulary = Vocabulary.build(example.name for example in dataset.examples)
    train_split = EncodedSplit(split.train, vocabulary, labels)
    validation_split = EncodedSplit(split.validation, vocabulary, labels)

    torch.manual_seed(config.seed)
    spec = NetworkSpec(config.cell, vocabulary.size, config.hidden, config.layers, config.bidirectional, len(labels))
    model = NameClassifier(spec, config.impl, config.dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    weights = torch.from_numpy(class_weights(train_split.targets)).to(device)
    # What is validated, kept and saved: an exponential moving average of the weights (smoother than
    # the last step's; measured in benchmarks/recipes.py), or the trained model itself with --average 0.
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.average)) if config.average else None
    scored = averaged.module if averaged is not None else model
    shuffle = np.random.default_rng(config.seed + 1)
    masking = torch.Generator().manual_seed(config.seed + 2)

    if out is None:
        out = default_models_dir() / default_model_name(config, dataset, len(available_languages(names_dir)))
    out = Path(out)
    checkpoint.prepare_target(out, latest=mark_latest)  # a bad --out fails now, not after training

    history: list[dict[str, float]] = []
    best_state, stopping = None, EarlyStopping(config.patience)
    batches_per_epoch = len(length_batches(train_split.lengths, config.batch_size))
    reporter.start(config.epochs, batches_per_epoch)
    epoch = 0
    try:
        for epoch in range(1, config.epochs + 1):
            model.train()
            loss_sum, count, correct = 0.0, 0, 0.0
            for members in length_batches(train_split.lengths, config.batch_size, shuffle):
                indices, target = train_split.batch(members, torch.device("cpu"))
                if config.unknown_rate > 0:
                    swap = torch.rand(indices.shape, generator=masking) < config.unknown_rate
                    indices = indices.masked_fill(swap, 0)
                indices, target = indices.to(device), target.to(device)
                scores = model(indices)
                loss = weighted_loss(scores, target, weights)
                if not math.isfinite(value := loss.item()):
                    raise UsageError(
                        f"training diverged in epoch {epoch}: the loss became {value}; lower --lr "
                        f"(it is {config.lr:g}); nothing was saved, {out} is as it was"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                optimizer.step()
                if averaged is not None:
                    averaged.update_parameters(model)
                loss_sum += value * len(members)
                count += len(members)
                correct += float((target.gather(1, scores.argmax(-1)[:, None]) > 0).sum())
                reporter.batch()
            predicted = np.zeros_like(validation_split.targets)
            validation_accuracy, validation_loss = measure(scored, validation_split, weights, device, predicted)
            reporter.validated(validation_split.examples, predicted)
            record = {
                "epoch": epoch,
                "loss": loss_sum / count,
                "train_accuracy": correct / count,
                "validation_accuracy": validation_accuracy,
                "validation_loss": validation_loss,
            }
            history.append(record)
            if stopping.update(epoch, validation_accuracy, validation_loss):
                best_state = copy.deepcopy(scored.state_dict())
            reporter.epoch(record)
            if stopping.should_stop:
                break
    except KeyboardInterrupt:
        raise Interrupted(
            f"training interrupted in epoch {epoch} of {config.epochs}; nothing was saved, "
            f"{out} is as it was"
        ) from None

    model.load_state_dict(best_state)
    train_accuracy, train_loss = measure(model, train_split, weights, device)
    validation_accuracy, validation_loss = measure(model, validation_split, weights, device)
    seconds = time.perf_counter() - started
    settings = asdict(config)
    settings.update(
        cell=config.cell.value,
        impl=config.impl.value,
        shared_names=dataset.shared_names,
        device=str(device),
        threads=threads,
        languages=labels,
    )
    saved_config = {
        "network": spec.to_dict(),
        "vocabulary": vocabulary.characters,
        "labels": labels,
        "training": {**settings, "best_epoch": stopping.best_epoch, "epochs_run": epoch},
        "data": {
            "languages": labels,
            "shared_names": dataset.shared_names,
            "removed_shared": dataset.removed_shared,
            "fingerprint": dataset.fingerprint,
            "split_seed": config.seed,
            "split_fingerprint": split_fingerprint(split),
            "sizes": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
        },
        "metrics": {
            "train_accuracy": train_accuracy,
            "train_loss": train_loss,
            "validation_accuracy": validation_accuracy,
            "validation_loss": validation_loss,
        },
        "training_seconds": round(seconds, 3),
        "created_by": f"nameclf {__version__}",
    }
    try:
        checkpoint.save(out, state_arrays(model), saved_config)
    except checkpoint.SavedThenInterrupted:
        raise Interrupted(
            f"interrupted while saving; the new model was saved whole to {out} (not marked latest)"
        ) from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while saving; {out} is as it was before this run") from None
    try:
        if mark_latest:
            checkpoint.mark_latest(out)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after saving {out}; it was not marked as the latest model") from None
    return TrainResult(out, saved_config, history)
