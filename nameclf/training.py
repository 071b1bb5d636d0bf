"""Train a classifier: batches of one name length (no padding), Adam, clipping, class weights,
validation every epoch, the best epoch's weights kept, early stopping; then save atomically."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nameclf import calibration, conformal, experts, model_config, registry, train_config
from nameclf.callbacks import TrainingCallback
from nameclf.cells import NetworkSpec, parameter_count
from nameclf.choices import Task
from nameclf.combination import Combination, combined
from nameclf.data import (
    Dataset,
    Example,
    Split,
    Vocabulary,
    available_languages,
    load_dataset,
    resolve_languages,
    split_dataset,
    split_fingerprint,
)
from nameclf.devices import resolve_device
from nameclf.errors import UsageError
from nameclf.fitting import EncodedSplit, Fitted, class_weights, fit, measure, member_folds
from nameclf.labelled import TableSource, TableSplit, training_data
from nameclf.memory import NameMemory
from nameclf.metrics import Report, score
from nameclf.model import state_arrays
from nameclf.ngram import NgramExpert
from nameclf.novelty import NoveltyModel
from nameclf.paths import default_data_dir, default_models_dir
from nameclf.train_config import TrainConfig as TrainConfig  # re-exported: nameclf.training.TrainConfig
from nameclf.train_config import decided
from nameclf.version import __version__

Part = tuple[list[Example], list[Example]]  # a member's training names and validation names


@dataclass
class TrainResult:
    model_dir: Path | None  # None when nothing was saved (`save=False`)
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Setup:
    """What one training run works from, fixed before any network is fitted."""

    config: TrainConfig  # resolved: no field left at None
    task: Task
    dataset: Dataset
    split: Split
    vocabulary: Vocabulary
    spec: NetworkSpec
    device: torch.device
    threads: int
    out: Path | None  # None: nothing is saved
    started: float
    table: dict[str, Any] | None = None  # what the model records of a labelled table it was trained from
    parts: TableSplit | None = None  # and its split, with the people of each training and validation name

    @property
    def balanced(self) -> bool:
        """Class weights against the labels' frequencies: for the tutorial's files; a table's people
        are weighed as they are."""
        return self.table is None

    @property
    def labels(self) -> list[str]:
        return self.dataset.languages


@dataclass
class ExpertOutputs:
    """Each expert's log-probabilities on the validation names, and the n-gram model to save."""

    examples: list[Example]  # the validation names, in the order of the fitted networks
    truth: np.ndarray  # (names, labels) bool: each name's true labels
    rnn: np.ndarray | None  # None: no network
    ngram_rows: np.ndarray | None  # None: no n-gram model
    ngram: NgramExpert | None
    seconds: float  # fitting the n-gram model


@dataclass
class Calibrated:
    """The experts' combination fitted on validation names, with its figures and the prediction sets' scores."""

    combination: Combination
    report: Report
    log_probabilities: np.ndarray  # the combination's on the validation names, before the temperature
    calibration: dict[str, Any]
    conformal: dict[str, Any] | None  # None when no validation name was held out for it
    experts: dict[str, Any]  # the experts section: names, weight, how it was chosen, each one's figures
    seconds: float  # the weight, the temperature and the set scores


def set_up(
    config: TrainConfig,
    data_dir: Path | None,
    out: Path | None,
    mark_latest: bool,
    save: bool,
    table: TableSource | None = None,
) -> Setup:
    """Resolve the device, threads, languages and task defaults; read and split the data (the tutorial's
    files, or a labelled `table`); check `out`."""
    device = resolve_device(config.device)
    threads = config.threads or train_config.default_threads()
    torch.set_num_threads(threads)
    started = time.perf_counter()

    if table is not None:
        config, dataset, split, recorded, parts = training_data(config, table)
        known = len(dataset.languages)
    else:
        names_dir = (Path(data_dir) if data_dir is not None else default_data_dir()) / "names"
        languages = resolve_languages(config.languages, available_languages(names_dir))
        config = config.resolved(len(languages))
        dataset = load_dataset(names_dir, config.languages, config.shared_names, decided(config.fold_case, "fold_case"))
        split, recorded, known = split_dataset(dataset, config.seed), None, len(available_languages(names_dir))
        parts = None
    cell, hidden = decided(config.cell, "cell"), decided(config.hidden, "hidden")
    layers, bidirectional = decided(config.layers, "layers"), decided(config.bidirectional, "bidirectional")
    fold_case = decided(config.fold_case, "fold_case")
    vocabulary = Vocabulary.build((example.name for example in dataset.examples), fold_case)
    spec = NetworkSpec(cell, vocabulary.size, hidden, layers, bidirectional, len(dataset.languages))
    if save:
        if out is None:
            out = default_models_dir() / registry.default_model_name(config, dataset, known)
        out = Path(out)
        registry.prepare_target(out, latest=mark_latest)  # a bad --out fails now, not after training
    else:
        out = None
    task = Task.of(len(dataset.languages))
    return Setup(config, task, dataset, split, vocabulary, spec, device, threads, out, started, recorded, parts)


def member_parts(setup: Setup) -> list[Part]:
    """(training names, validation names) of each member: the split for one, k folds over train +
    validation for an ensemble."""
    config, split = setup.config, setup.split
    members = decided(config.members, "members")
    if members == 1:
        return [(split.train, split.validation)]
    pool = split.train + split.validation
    if members > len(pool):
        raise UsageError(
            f"--members {members}: only {len(pool)} training and validation names to deal into folds; "
            "choose fewer members"
        )
    return member_folds(pool, members, config.seed)


def fit_members(setup: Setup, callback: TrainingCallback) -> list[Fitted]:
    """One network on the split, or a k-fold ensemble over train + validation: `fit` once per member;
    none when the experts leave the network out."""
    config = setup.config
    if "rnn" not in decided(config.experts, "experts").names:
        return []
    parts = member_parts(setup)
    fitted: list[Fitted] = []
    for index, (training_names, validation_names) in enumerate(parts):
        callback.member(index, len(parts))
        fitted.append(
            fit(
                config,
                EncodedSplit(training_names, setup.vocabulary, setup.labels, setup.balanced),
                EncodedSplit(validation_names, setup.vocabulary, setup.labels),
                setup.spec,
                setup.device,
                callback,
                seed=config.seed + 7919 * index,  # member 0 of an ensemble starts as a single model does
                out=setup.out,
            )
        )
    return fitted


def fit_experts(setup: Setup, fitted: list[Fitted]) -> ExpertOutputs:
    """The experts' answers on the validation names: the networks' (on the split's validation names for
    one network, out-of-fold for an ensemble: each name scored by the member that never trained on it)
    and the n-gram model's, fitted likewise (nameclf/experts.py)."""
    labels, config = setup.labels, setup.config
    parts = member_parts(setup)
    examples, rnn = validation_outputs(fitted, parts)
    started = time.perf_counter()
    truth = calibration.truth_matrix([e.labels for e in examples], labels)
    ngram, ngram_rows = None, None
    if "ngram" in decided(config.experts, "experts").names:
        pool = setup.split.train if config.members == 1 else setup.split.train + setup.split.validation
        ngram, ngram_rows = experts.fit_ngrams(config, labels, parts, pool, setup.balanced)
    return ExpertOutputs(examples, truth, rnn, ngram_rows, ngram, round(time.perf_counter() - started, 4))


def calibrate(setup: Setup, outputs: ExpertOutputs) -> Calibrated:
    """The combination (its weight and temperature), its validation figures and the prediction sets' scores.

    The weight and the temperature are fitted on one seeded half of the validation names; the other
    half is kept apart from them, shows what the temperature does on names it was not fitted on, and
    gives the prediction sets' scores (nameclf/conformal.py)."""
    labels, config, examples, truth = setup.labels, setup.config, outputs.examples, outputs.truth
    started = time.perf_counter()
    fit_rows, held_rows = calibration.calibration_halves(len(examples), config.seed)
    rnn, ngram_rows = outputs.rnn, outputs.ngram_rows
    combination, table = experts.fit_combination(rnn, ngram_rows, truth, fit_rows)
    first = rnn if rnn is not None else ngram_rows
    if first is None:  # fit_combination refused it already
        raise ValueError("a combination needs at least one expert's answers")
    log_probabilities = combined(first, ngram_rows if ngram_rows is not None else first, combination.weight)
    if setup.parts is not None:  # a table's: fitted on its names rather than its people
        temperature = experts.name_temperature(setup.parts, examples, log_probabilities, fit_rows)
        combination = Combination(combination.weight, temperature)
    report = score(labels, [e.labels for e in examples], [labels[i] for i in log_probabilities.argmax(1)], "validation")
    section, conformal_section = temperature_sections(
        config, combination.temperature, log_probabilities, truth, fit_rows, held_rows
    )
    if setup.parts is not None:
        section["fitted_on"] = "validation names, each once, its people's label shares the target"
    figures = {"combination": log_probabilities}
    figures.update({"rnn": rnn} if rnn is not None else {})
    figures.update({"ngram": ngram_rows} if ngram_rows is not None else {})
    experts_section = {
        "names": decided(config.experts, "experts").names,
        "weight": combination.weight,  # on the network; 1 - weight on the n-gram model
        "weight_chosen_on": "validation NLL after a temperature, on the temperature's half" if table else None,
        "weight_grid": table,
        "validation": {name: expert_figures(labels, examples, truth, rows) for name, rows in figures.items()},
        **({"ngram": outputs.ngram.to_config()} if outputs.ngram is not None else {}),
    }
    seconds = round(time.perf_counter() - started, 4)
    conformal_part = conformal_section if len(held_rows) else None
    return Calibrated(combination, report, log_probabilities, section, conformal_part, experts_section, seconds)


def validation_outputs(fitted: list[Fitted], parts: list[Part]) -> tuple[list[Example], np.ndarray | None]:
    """The validation names in the order of the fitted networks, and the networks' log-probabilities
    on them (None for the n-gram model alone)."""
    if not fitted:
        return [example for _, validation in parts for example in validation], None
    examples = [example for member in fitted for example in member.validation.examples]
    probabilities = np.concatenate([member.validation_probabilities for member in fitted]).astype(np.float64)
    return examples, np.log(np.maximum(probabilities, calibration.SMALLEST))


def temperature_sections(
    config: TrainConfig,
    temperature: float,
    log_probabilities: np.ndarray,
    truth: np.ndarray,
    fit_rows: np.ndarray,
    held_rows: np.ndarray,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The temperature (fitted on `fit_rows`) with its figures on the held-out rows (the config's
    calibration section), and the held-out rows' prediction-set scores at it (its conformal section)."""
    section = {
        "temperature": temperature,
        "fitted_on": "validation" if config.members == 1 else "out-of-fold validation",
        "fit_names": len(fit_rows),
        "held_out_names": len(held_rows),
        "held_out_before": calibration.figures(log_probabilities[held_rows], truth[held_rows]),
        "held_out_after": calibration.figures(
            calibration.scaled(log_probabilities[held_rows], temperature), truth[held_rows]
        ),
    }
    held_out = np.exp(calibration.scaled(log_probabilities[held_rows], temperature))
    conformal_section = {
        "score": "1 - calibrated probability of the true language",
        "fitted_on": f"the {section['fitted_on']} names the temperature was not fitted on",
        "scores": [round(float(s), 7) for s in conformal.scores(held_out, truth[held_rows])],
    }
    return section, conformal_section


def fit_memory(setup: Setup, outputs: ExpertOutputs, calibrated: Calibrated) -> NameMemory | None:
    """A table's memory of its names (nameclf/memory.py), whose prediction-set scores replace the model's."""
    if setup.parts is None or calibrated.conformal is None:
        return None
    answers, combination = calibrated.log_probabilities, calibrated.combination
    memory, calibrated.conformal = experts.fit_memory(
        setup.parts, outputs.examples, outputs.truth, answers, combination
    )
    return memory


def expert_figures(
    labels: list[str], examples: list[Example], truth: np.ndarray, log_probabilities: np.ndarray
) -> dict[str, float]:
    """One expert's (or the combination's) validation accuracy, macro-F1 and NLL, before any temperature."""
    report = score(labels, [e.labels for e in examples], [labels[i] for i in log_probabilities.argmax(1)], "validation")
    return {
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "nll": round(calibration.negative_log_likelihood(log_probabilities, truth), 6),
    }


def package(
    setup: Setup,
    fitted: list[Fitted],
    trained: tuple[ExpertOutputs, Calibrated, NoveltyModel | None, float, NameMemory | None],
    command: str | None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The saved model's config.json (every setting, the data's fingerprint, the figures, the
    calibration) and its weights, one set per member. `trained`: the experts' outputs, their
    combination, the unfamiliar-name score and the seconds it took to fit."""
    outputs, calibrated, novelty_model, novelty_seconds, memory = trained
    config, dataset, split = setup.config, setup.dataset, setup.split
    first = fitted[0] if fitted else None
    labels = setup.labels
    network_parameters = parameter_count(setup.spec) * len(fitted)
    ngram_parameters = outputs.ngram.parameter_count if outputs.ngram else 0
    saved_config = {
        **({"network": setup.spec.to_dict()} if fitted else {}),
        "vocabulary": setup.vocabulary.characters,
        "text": {"fold_case": setup.vocabulary.fold_case},
        "labels": labels,
        "ensemble": {
            "members": max(len(fitted), 1),
            "validation": "split" if config.members == 1 else f"{config.members}-fold over train + validation",
        },
        # both experts together, and each on its own (the n-gram model's are its coefficients and intercepts)
        "parameters": network_parameters + ngram_parameters,
        "parameter_counts": {"network": network_parameters, "ngram": ngram_parameters},
        "experts": calibrated.experts,
        **({"novelty": novelty_model.to_config()} if novelty_model is not None else {}),
        "calibration": calibrated.calibration,
        **({"conformal": calibrated.conformal} if calibrated.conformal is not None else {}),
        **({"memory": memory.to_config()} if memory is not None else {}),
        "training": {
            **recorded_settings(setup),
            "best_epoch": first.best_epoch if first else None,
            "epochs_run": first.epochs_run if first else None,
            "member_epochs": [{"best_epoch": m.best_epoch, "epochs_run": m.epochs_run} for m in fitted],
        },
        "data": {
            "languages": labels,
            "shared_names": dataset.shared_names,
            "removed_shared": dataset.removed_shared,
            "fingerprint": dataset.fingerprint,
            "split_seed": config.seed,
            "split_fingerprint": split_fingerprint(split),
            "sizes": {"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
            **({"label_name": dataset.label_name, "table": setup.table} if setup.table is not None else {}),
        },
        "metrics": validation_metrics(setup, fitted, outputs, calibrated),
        "training_seconds": round(time.perf_counter() - setup.started, 3),
        "calibration_seconds": calibrated.seconds,  # of training_seconds: the weight, temperature and set scores
        "experts_seconds": round(outputs.seconds + novelty_seconds, 4),  # the n-gram model, the novelty score
        "created_by": f"nameclf {__version__}",
        "command": command,
        "history": [record for member in fitted for record in member.history],
    }
    if len(fitted) <= 1:
        arrays = state_arrays(first.model) if first else {}
    else:
        arrays = {
            model_config.member_prefix(i) + name: value
            for i, member in enumerate(fitted)
            for name, value in state_arrays(member.model).items()
        }
    for part in (outputs.ngram, novelty_model, memory):  # each expert's arrays, under its own prefix
        arrays.update(part.to_arrays() if part is not None else {})
    return saved_config, arrays


def recorded_settings(setup: Setup) -> dict[str, Any]:
    """Every TrainConfig field as plain JSON, with what the run resolved (device, threads, languages, task)."""
    config = setup.config
    settings = asdict(config)
    settings.update(
        cell=decided(config.cell, "cell").value,
        impl=config.impl.value,
        experts=decided(config.experts, "experts").value,
        shared_names=setup.dataset.shared_names,
        device=str(setup.device),
        threads=setup.threads,
        languages=setup.labels,
        task=setup.task.value,
    )
    return settings


def validation_metrics(
    setup: Setup, fitted: list[Fitted], outputs: ExpertOutputs, calibrated: Calibrated
) -> dict[str, Any]:
    """Validation accuracy, macro-F1 and loss, and, for one network, its accuracy and loss on its training names."""
    # each member's loss at its kept epoch, with its own class weights, pooled over all its names
    kept = [member.history[member.best_epoch - 1] for member in fitted]
    counts = [len(member.validation) for member in fitted]
    validation_loss = sum(r["validation_loss"] * n for r, n in zip(kept, counts)) / max(sum(counts), 1)
    if not fitted:  # the n-gram model alone: its NLL on the validation names
        validation_loss = calibrated.experts["validation"]["combination"]["nll"]
    train_accuracy, train_loss = None, None
    if len(fitted) == 1:
        train_split = EncodedSplit(setup.split.train, setup.vocabulary, setup.labels)
        weights = torch.from_numpy(class_weights(train_split.targets)).to(setup.device)
        train_accuracy, train_loss = measure(fitted[0].model, train_split, weights, setup.device)
    return {
        "train_accuracy": train_accuracy,
        "train_loss": train_loss,
        "validation_accuracy": calibrated.report.accuracy,
        "validation_macro_f1": calibrated.report.macro_f1,
        "validation_loss": validation_loss,
        "validation_names": len(outputs.examples),
    }


def train(
    config: TrainConfig,
    data_dir: Path | None = None,
    out: Path | None = None,
    callback: TrainingCallback | None = None,
    mark_latest: bool = True,
    save: bool = True,
    command: str | None = None,
    table: TableSource | None = None,
) -> TrainResult:
    """Train (one network, or a k-fold ensemble), keep each network's best epoch, save, mark it latest.

    Fields of `config` left at None take the task's defaults (`TASK_DEFAULTS`). `callback` (see
    `nameclf.callbacks.TrainingCallback`) hears of every member, batch and epoch, and gets every epoch's
    validation predictions. `mark_latest=False` leaves the models folder's LATEST pointer alone (for
    models written to scratch folders); `save=False` saves nothing and returns the figures only.
    """
    callback = callback if callback is not None else TrainingCallback()
    setup = set_up(config, data_dir, out, mark_latest, save, table)
    fitted = fit_members(setup, callback)
    outputs = fit_experts(setup, fitted)
    calibrated = calibrate(setup, outputs)
    started = time.perf_counter()
    answers, temperature = calibrated.log_probabilities, calibrated.combination.temperature
    novelty_model = experts.fit_unfamiliar(setup.split.train, outputs.examples, answers, temperature)
    memory = fit_memory(setup, outputs, calibrated)
    trained = (outputs, calibrated, novelty_model, time.perf_counter() - started, memory)
    saved_config, arrays = package(setup, fitted, trained, command)
    history = [record for member in fitted for record in member.history]
    if setup.out is None:
        return TrainResult(None, saved_config, history)
    registry.save_model(setup.out, arrays, saved_config, mark_latest)
    return TrainResult(setup.out, saved_config, history)
