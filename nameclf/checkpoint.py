"""A saved model: a directory holding `model.safetensors` (weights) and `config.json` (all else).

Saving writes to a temporary directory beside the target and renames it into place under a lock,
so an interrupted or concurrent save never leaves a half-written or mixed model where a good one
was. Loading never unpickles: safetensors and JSON only, each checked against the other.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nameclf.cells import NetworkSpec
from nameclf.data import Vocabulary
from nameclf.errors import ModelError, UsageError, shorten
from nameclf.memory import ARRAY_PREFIX as MEMORY_PREFIX
from nameclf.memory import NameMemory
from nameclf.model_config import (
    conformal_scores_of,
    expected_shapes,
    experts_of,
    fold_case,
    member_count,
    member_prefix,
    section,
    temperature_of,
    weight_of,
)
from nameclf.ngram import ARRAY_PREFIX as NGRAM_PREFIX
from nameclf.ngram import NgramExpert
from nameclf.novelty import ARRAY_PREFIX as NOVELTY_PREFIX
from nameclf.novelty import NoveltyModel
from nameclf.paths import MODEL_ENV
from nameclf.version import __version__

FORMAT = "nameclf-model"
# 1: one network. 2: adds `ensemble.members` (weights of member i under `members.{i}.`, when more
# than one) and `text.fold_case`; a version-1 folder reads as one member that keeps case.
# 3: adds `calibration.temperature`; an older folder reads as uncalibrated (T = 1).
# 4: adds `conformal.scores`, for prediction sets (`predict --coverage`); an older folder has none.
# 5: adds `experts` (names, the weight on the network, the n-gram model's config; its arrays under
# `ngram.`) and `novelty` (the unfamiliar-name score; arrays under `novelty.`), and `network` only
# when the experts hold one; an older folder reads as one network with no unfamiliar-name score.
# 6: adds `memory` (a labelled table's people per training name; arrays under `memory.`); an older
# folder has none.
FORMAT_VERSION = 6
# keys a folder of an older format never meant
ADDED_IN = {"ensemble": 2, "text": 2, "calibration": 3, "conformal": 4, "experts": 5, "novelty": 5, "memory": 6}
EXPERT_PREFIXES = (
    NGRAM_PREFIX,
    NOVELTY_PREFIX,
    MEMORY_PREFIX,
)  # arrays saved in their own dtype, not as float32 weights
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


@dataclass
class SavedModel:
    """A loaded model: its config (as written) and its weights (float32 numpy arrays)."""

    path: Path
    config: dict[str, Any]
    weights: dict[str, np.ndarray]

    @property
    def spec(self) -> NetworkSpec | None:
        """The network's shape, or None for a model of the n-gram expert alone."""
        return NetworkSpec(**self.config["network"]) if "network" in self.config else None

    @property
    def experts(self) -> list[str]:
        return experts_of(self.config)

    @property
    def weight(self) -> float:
        """The combination's weight on the network (1: the network alone, 0: the n-gram model alone):
        `nameclf.combination.Combination.of(config)` reads it with the temperature."""
        return weight_of(self.config)

    @functools.cached_property
    def ngram(self) -> NgramExpert | None:
        if "ngram" not in self.experts:
            return None
        fitted = section(self.config, "experts").get("ngram")
        if not isinstance(fitted, dict):
            raise ValueError("experts.ngram must be an object")
        expert = NgramExpert.from_arrays(fitted, self.weights)
        if expert.labels != self.labels:
            raise ValueError("the n-gram model's languages are not the model's")
        return expert

    @functools.cached_property
    def novelty(self) -> NoveltyModel | None:
        """The unfamiliar-name score, or None for a model saved without one (format 4 or older)."""
        if "novelty" not in self.config:
            return None
        return NoveltyModel.from_arrays(section(self.config, "novelty"), self.weights)

    @functools.cached_property
    def memory(self) -> NameMemory | None:
        """A table's people per training name, or None (the tutorial's models, format 5 or older)."""
        if "memory" not in self.config:
            return None
        memory = NameMemory.from_arrays(section(self.config, "memory"), self.weights)
        if memory.counts.shape[1] != len(self.labels):
            raise ValueError("the memory's labels are not the model's")
        return memory

    @property
    def labels(self) -> list[str]:
        return list(self.config["labels"])

    @property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self.config["vocabulary"], fold_case=fold_case(self.config))

    @property
    def members(self) -> int:
        return member_count(self.config)

    @property
    def temperature(self) -> float | None:
        """The calibration temperature, or None for a model saved without one (it answers at T = 1)."""
        return temperature_of(self.config)

    @property
    def conformal_scores(self) -> list[float] | None:
        """The held-out names' sorted scores for prediction sets, or None for a model saved without them."""
        return conformal_scores_of(self.config)

    def member_weights(self) -> list[dict[str, np.ndarray]]:
        """Each member's weights under the network's own names (one dict for a single model)."""
        network = {name: value for name, value in self.weights.items() if not name.startswith(EXPERT_PREFIXES)}
        if self.members == 1:
            return [network]
        return [
            {name[len(prefix) :]: value for name, value in network.items() if name.startswith(prefix)}
            for prefix in (member_prefix(i) for i in range(self.members))
        ]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _lock(target: Path, shared: bool = False) -> Iterator[None]:
    """A lock on `.<name>.lock` beside the target: writers hold it exclusively while they swap the
    model in, readers hold it shared while they read both files, so a reader never sees a missing
    or mixed model. A reader that cannot create the lock file (a read-only folder) reads unlocked."""
    lock_path = target.parent / f".{target.name}.lock"
    try:  # readers only use a lock file a writer made: no model was ever swapped without one
        handle = open(lock_path, "r" if shared else "a+")  # noqa: SIM115
    except OSError:
        if not shared:
            raise
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SavedThenInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM arrived while a model was being swapped in; the swap was finished first."""


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Record SIGINT/SIGTERM instead of acting on them, then raise SavedThenInterrupted afterwards.

    Blocking the signals with pthread_sigmask is not enough: the kernel may deliver them to another
    thread (numpy's BLAS pool), and Python runs the handler in the main thread regardless. Python's
    handlers always run in the main thread, so replacing them is what holds the signal off.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise SavedThenInterrupted()


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def save(target: Path, weights: dict[str, np.ndarray], config: dict[str, Any]) -> Path:
    """Write a model directory atomically; returns its path.

    An interrupt before the swap leaves the target as it was (KeyboardInterrupt); one during the
    swap lets it finish and then raises SavedThenInterrupted: the target holds the new model whole.
    """
    from safetensors.numpy import save_file

    target = Path(target)
    check_target(target)  # before writing anything; again under the lock below
    # the lowest version that describes the folder, so that one without a memory stays readable by a
    # nameclf of format 5 (and the shipped models rebuild byte for byte)
    version = max([5] + [ADDED_IN[key] for key in config if key in ADDED_IN])
    config = {"format": FORMAT, "format_version": version, "nameclf_version": __version__, **config}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as error:
        raise cannot_write(target, error) from None
    try:
        arrays = {
            name: np.ascontiguousarray(value, dtype=None if name.startswith(EXPERT_PREFIXES) else np.float32)
            for name, value in weights.items()
        }
        save_file(arrays, str(staging / WEIGHTS_FILE), metadata={"format": FORMAT})
        text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
        (staging / CONFIG_FILE).write_text(text, encoding="utf-8")
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            with open(staging / name, "rb") as handle:
                os.fsync(handle.fileno())
        with _signals_deferred(), _lock(target):
            check_target(target)  # again under the lock: something may have appeared since training began
            retired = None
            if target.exists():
                retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, retired / "model")
            os.replace(staging, target)
            _fsync_dir(target.parent)
            if retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
    except OSError as error:  # a full disk, a folder made read-only meanwhile: the target is as it was
        reason = error.strerror or error
        raise ModelError(f"cannot save the model to {target} ({reason}); {target} is as it was") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def check_target(target: Path) -> None:
    """Refuse to save over anything but a nameclf model: saving replaces the target folder whole.

    A missing target, an empty folder, or a folder holding only a model's two files may be replaced.
    """
    target = Path(target)
    try:
        entries = {entry.name for entry in target.iterdir()}
    except FileNotFoundError:
        return  # free (or another save is swapping its model in this instant)
    except NotADirectoryError:
        if not os.path.lexists(target):
            return  # a file stands where a parent folder should be: prepare_target's probe says so
        what = "a file"
    except OSError as error:
        raise cannot_write(target, error) from None
    else:
        a_model = CONFIG_FILE in entries and entries <= {WEIGHTS_FILE, CONFIG_FILE} and _is_model_config(target)
        if not entries or a_model:
            return
        what = "a folder holding other files than a nameclf model"
    raise UsageError(
        f"{target} is {what}, and saving would replace it; choose a new model folder with --out (nothing was written)"
    )


def _is_model_config(folder: Path) -> bool:
    """Whether `folder`'s config.json is a nameclf one (damaged weights beside it may still be replaced)."""
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return True  # another save is swapping its model in this instant
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT


def probe_folder(folder: Path) -> None:
    """Make `folder` if need be and check a file can be created in it (OSError if not)."""
    folder.mkdir(parents=True, exist_ok=True)
    os.rmdir(tempfile.mkdtemp(prefix=".probe-", dir=folder))


def cannot_write(target: Path, error: OSError) -> UsageError:
    reason = error.strerror or type(error).__name__
    return UsageError(f"cannot write a model to {target} ({reason}); choose a writable folder with --out")


def load(path: Path) -> SavedModel:
    """Read and check a model directory; every problem is a one-line ModelError naming the file."""
    path = Path(path)
    with _lock(path, shared=True):
        config, spec, members, version = _read_config(path)
        weights = _read_weights(path / WEIGHTS_FILE, path / CONFIG_FILE, spec, members, version)
    saved = SavedModel(path, config, weights)
    for name, part in (("experts", "ngram"), ("novelty", "novelty"), ("memory", "memory")):
        try:
            getattr(saved, part)
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as error:
            raise ModelError(
                f"{path}: the model's {name} section is damaged ({shorten(str(error), 80)}); "
                "retrain with `nameclf train`"
            ) from None
    return saved


def load_config(path: Path) -> dict[str, Any]:
    """A model's config.json, checked as `load` checks it, without reading its weights: for listing
    models, which needs their names, languages and figures only."""
    path = Path(path)
    with _lock(path, shared=True):
        return _read_config(path)[0]


def _read_config(path: Path) -> tuple[dict[str, Any], NetworkSpec | None, int, int]:
    """The checked config, its network (None for the n-gram model alone), members and format version."""
    _check_folder(path)
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise ModelError(f"{config_path} is missing: {path} is not a nameclf model; retrain with `nameclf train`")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ModelError(f"{config_path} is not valid JSON ({reason}); retrain with `nameclf train`") from None
    except OSError as error:
        raise ModelError(f"cannot read {config_path}: {error.strerror}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError(f"{config_path} is not a nameclf model config; retrain with `nameclf train`")
    version = config.get("format_version")
    if not isinstance(version, int):
        raise ModelError(f"{config_path} has no format version; retrain with `nameclf train`")
    if version > FORMAT_VERSION:
        raise ModelError(
            f"{config_path} is model format {version}, newer than this nameclf reads ({FORMAT_VERSION}); "
            "upgrade nameclf (update your checkout, then `make install`) or retrain with `nameclf train`"
        )
    # what an older format never had does not apply to it, whatever a hand-edited file says
    config = {key: value for key, value in config.items() if ADDED_IN.get(key, 0) <= version}
    try:
        names = experts_of(config)
        weight_of(config)
        spec = NetworkSpec(**config["network"]) if "rnn" in names else None
        labels, vocabulary = config["labels"], config["vocabulary"]
        if not (isinstance(labels, list) and isinstance(vocabulary, str)):
            raise ValueError("labels or vocabulary are not a list and a string")
        if spec is not None and len(labels) != spec.num_labels:
            raise ValueError("labels do not match the network")
        members = member_count(config)
        temperature_of(config)
        conformal_scores_of(config)
        if spec is not None and Vocabulary(vocabulary, fold_case(config)).size != spec.vocab_size:
            raise ValueError("vocabulary size does not match the network")
        if not all(isinstance(label, str) and label for label in labels) or len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct language names")
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("the vocabulary repeats a character")
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(
            f"{config_path} is incomplete or inconsistent ({error}); retrain with `nameclf train`"
        ) from None
    return config, spec, members, version


def _check_folder(path: Path) -> None:
    """A one-line error when `path` is no folder that could hold a model."""
    if not path.exists():
        if os.environ.get(MODEL_ENV) and Path(os.environ[MODEL_ENV]) == path:  # the user may not know it is set
            from nameclf import shipped

            raise ModelError(
                f"no model at {path}, which ${MODEL_ENV} names; set it to a model folder or a shipped model "
                f"({', '.join(shipped.SHIPPED)}), or unset it"
            )
        raise ModelError(f"no model at {path}; run `nameclf train` first or pass --model DIR")
    if not path.is_dir():
        raise ModelError(f"{path} is not a model directory; pass the folder that holds {CONFIG_FILE}")


def _read_weights(
    weights_path: Path, config_path: Path, spec: NetworkSpec | None, members: int, version: int
) -> dict[str, np.ndarray]:
    """The weights file's arrays, checked against the config: the network's as float32, the experts'
    (`ngram.`, `novelty.`) in their own dtype."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not weights_path.is_file():
        raise ModelError(f"{weights_path} is missing; retrain with `nameclf train`")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError, MemoryError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(
            f"{weights_path} is not a readable safetensors file ({reason}); retrain with `nameclf train`"
        ) from None
    expected = expected_shapes(spec, members) if spec is not None else {}
    for name, shape in expected.items():
        if name not in weights:
            raise ModelError(f"{weights_path} lacks weight {name}; it does not belong to {config_path}")
        if tuple(weights[name].shape) != shape:
            raise ModelError(
                f"{weights_path}: {name} has shape {tuple(weights[name].shape)}, the config needs {shape}; "
                "the weights do not belong to this config, retrain with `nameclf train`"
            )
    if version < 5:  # as with the config's keys: what an older format never had does not apply to it
        weights = {name: value for name, value in weights.items() if not name.startswith(EXPERT_PREFIXES)}
    extra = sorted(name for name in set(weights) - set(expected) if not name.startswith(EXPERT_PREFIXES))
    if extra:
        raise ModelError(f"{weights_path} has weights the config does not describe ({extra[0]}, ...)")
    weights = {
        name: np.asarray(value) if name.startswith(EXPERT_PREFIXES) else np.asarray(value, dtype=np.float32)
        for name, value in weights.items()
    }
    bad = [
        name
        for name, value in weights.items()
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all()
    ]
    if bad:
        raise ModelError(f"{weights_path}: {bad[0]} holds NaN or infinite values; retrain with `nameclf train`")
    return weights
