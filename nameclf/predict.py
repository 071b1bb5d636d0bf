"""Answer which label a name has, from a saved model: on numpy by default (the `torch` backend, for
a GPU, imports torch when it is asked for, and only then).

Every name gets either an answer or a one-line error of its own; a batch never fails because of
one name. Characters the model never saw map to its unknown slot and are counted; a name made
mostly of them is flagged and not given a label, instead of a confident guess.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from nameclf import cells, conformal
from nameclf.checkpoint import SavedModel, load
from nameclf.combination import Combination
from nameclf.data import UNKNOWN, length_batches, normalise
from nameclf.errors import ModelError, UsageError
from nameclf.inputs import Unreadable
from nameclf.options import PredictOptions
from nameclf.registry import resolve_model_dir
from nameclf.results import Prediction

if TYPE_CHECKING:
    import torch
    from threadpoolctl import ThreadpoolController  # untyped: Any

    from nameclf.cells import Prepared
    from nameclf.model import NameClassifier

MAX_NAME_LENGTH = 256
MOSTLY_UNKNOWN = 0.5  # above this share of unknown characters a name gets no language
FORWARD_BATCH = 1024  # names in one forward pass of the network (grouped by length)
UNSURE_CANDIDATES = 3  # languages listed for a name the model is unsure of

P = TypeVar("P", bound="Predictor")


class Predictor:
    """A loaded model, ready to answer. `backend` is "numpy" (default) or "torch"."""

    def __init__(self, saved: SavedModel, backend: str = "numpy", device: str = "cpu"):
        self.saved = saved
        self.spec = saved.spec
        self.labels = saved.labels
        self.vocabulary = saved.vocabulary
        self.backend = backend
        self._device = device
        self._key: str | None = None
        # every probability the predictor gives is calibrated; a model saved without a temperature answers at T = 1
        self.combination = Combination.of(saved.config)
        self.ngram = saved.ngram  # None for a model of the network alone
        self.novelty = saved.novelty  # None for a model saved without the unfamiliar-name score
        self.labels_are = str(saved.config.get("data", {}).get("label_name", "language"))  # what the labels are
        self.memory = saved.memory  # a labelled table's people per training name; None for the tutorial's
        if backend == "numpy":
            spec = self.spec
            self._prepared: list[Prepared[np.ndarray]] = (
                [_prepare_numpy(spec, w) for w in saved.member_weights()] if spec is not None else []
            )
        elif backend == "torch":
            self._torch_models: tuple[list[NameClassifier], torch.device | None] = (
                _torch_models(saved, device) if self.spec is not None else ([], None)
            )
        else:
            raise UsageError(f"unknown backend {backend!r}; choose numpy or torch")

    @property
    def languages(self) -> list[str]:
        """The languages this model tells apart: the column order of `probabilities`."""
        return list(self.labels)

    def probabilities(self, names: Iterable[str]) -> np.ndarray:
        """(names, languages) calibrated probabilities, columns in `languages` order; a row of NaN for a
        name that gets no answer (empty, too long, mostly unknown characters)."""
        return self.predict_with_probabilities(names)[1]

    # A Predictor travels to other processes (Dask workers) as its config and weights only; each
    # process rebuilds it once and keeps it, keyed by a hash of both (`_restore`).
    @property
    def key(self) -> str:
        if self._key is None:
            import hashlib
            import json

            digest = hashlib.sha256(json.dumps(self.saved.config, sort_keys=True, default=str).encode())
            for name in sorted(self.saved.weights):
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(self.saved.weights[name]).tobytes())
            self._key = f"{digest.hexdigest()}-{self.backend}-{self._device}"
        return self._key

    def __reduce__(self) -> tuple[Callable[..., Predictor], tuple[object, ...]]:
        return _restore, (
            self.key,
            str(self.saved.path),
            self.saved.config,
            self.saved.weights,
            self.backend,
            self._device,
        )

    def __dask_tokenize__(self) -> str:
        return self.key

    @classmethod
    def load(cls: type[P], model: Path | str | None = None, backend: str = "numpy", device: str = "cpu") -> P:
        """The one way a model is read to answer: a shipped model's name, a model folder, or None for
        the model that answers without one (`registry.resolve_model_dir`), read and checked by
        `checkpoint.load`. `nameclf.load` is this, on the class that also answers tables."""
        return cls(load(resolve_model_dir(model)), backend=backend, device=device)

    def log_probabilities(
        self, encoded: Sequence[np.ndarray], calibrated: bool = True, names: Sequence[str] | None = None
    ) -> np.ndarray:
        """(n, labels) log-probabilities for encoded names (each non-empty): the experts' combination.

        The network's are grouped by length; the n-gram model reads `names` (the names as normalised),
        or, without them, the text the encodings spell (an unknown character as UNKNOWN, which no
        n-gram holds). `calibrated=False` gives the combination before the temperature."""
        rnn = self._network_log_probabilities(encoded) if self.spec is not None else None
        ngram = None
        if self.ngram is not None:
            texts = names if names is not None else [self._text(codes) for codes in encoded]
            ngram = self.ngram.log_probabilities(texts)
        return np.asarray(self.combination.log_probabilities(rnn, ngram, calibrated), dtype=np.float32)

    def _text(self, codes: np.ndarray) -> str:
        characters = self.vocabulary.characters
        return "".join(characters[code - 1] if code else UNKNOWN for code in codes.tolist())

    def _network_log_probabilities(self, encoded: Sequence[np.ndarray]) -> np.ndarray:
        result = np.zeros((len(encoded), len(self.labels)), dtype=np.float32)
        # the products are small: several BLAS threads only fight each other (and any other
        # process) for the cores, measured 3-4x slower on 2 cores (benchmarks/predict_speed.py)
        with _blas_controller(self.backend).limit(limits=1, user_api="blas"):
            for batch in length_batches([len(e) for e in encoded], FORWARD_BATCH):
                indices = np.stack([encoded[i] for i in batch])
                result[batch] = self._log_probabilities(indices)
        return result

    def _log_probabilities(self, indices: np.ndarray) -> np.ndarray:
        """Each member's log-probabilities; an ensemble answers the mean of its members' probabilities."""
        if self.backend == "numpy":
            spec = self.spec
            if spec is None:  # only a model with a network is asked for its log-probabilities
                raise ValueError("this model has no network")
            members = [
                cells.log_softmax_numpy(cells.logits(cells.NUMPY, spec, prepared, indices))
                for prepared in self._prepared
            ]
        else:
            import torch

            models, device = self._torch_models
            with torch.no_grad():
                tensor = torch.from_numpy(indices).to(device)
                members = [torch.log_softmax(model(tensor), dim=-1).float().cpu().numpy() for model in models]
        if len(members) == 1:
            return members[0]
        stacked = np.stack(members)  # (members, batch, labels)
        top = stacked.max(axis=0)
        mean: np.ndarray = (top + np.log(np.exp(stacked - top).mean(axis=0))).astype(np.float32)  # numpy: Any
        return mean

    def checked(self, raw: Any) -> tuple[Prediction, np.ndarray | None]:
        """A Prediction for one input, with an error or warning where it has one, and the name's
        encoding when it can be answered (None when it cannot)."""
        prediction = Prediction(name=raw, labels_are=self.labels_are)
        if isinstance(raw, Unreadable):
            prediction.error = raw.reason
            return prediction, None
        if not isinstance(raw, str):
            prediction.error = "not text"
            return prediction, None
        name = normalise(raw)
        prediction.length = len(name)
        if not name:
            prediction.error = "empty name"
            return prediction, None
        if len(name) > MAX_NAME_LENGTH:
            prediction.error = f"name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
            return prediction, None
        codes = self.vocabulary.encode(name)
        prediction.unknown_characters = int((codes == 0).sum())
        if prediction.unknown_characters > MOSTLY_UNKNOWN * len(name):
            prediction.warning = (
                f"{prediction.unknown_characters} of {len(name)} characters are unknown to this model; no answer"
            )
            return prediction, None
        if prediction.unknown_characters:
            prediction.warning = f"{prediction.unknown_characters} unknown character(s) ignored"
        return prediction, codes

    def cutoff(self, options: PredictOptions) -> float | None:
        """The prediction sets' threshold for `options.coverage` (nameclf/conformal.py), None without
        one; a one-line error for a model saved without the held-out scores it needs. Called before
        any name is answered, so a model that cannot honour the options fails first."""
        if options.coverage is None:
            return None
        scores = self.saved.conformal_scores
        if scores is None:
            raise ModelError(
                f"{self.saved.path} was saved without the held-out scores prediction sets need "
                "(model format 3 or older); retrain it with `nameclf train` to use --coverage"
            )
        return conformal.threshold(scores, options.coverage)

    def predict(self, names: Iterable[Any], options: PredictOptions | None = None, **changes: Any) -> list[Prediction]:
        """One Prediction per name, in order, answered as `options` say (`nameclf.options`); keywords
        change single options: `predict(names, top_k=3, coverage=0.9)`.

        With `min_confidence`, a name whose top calibrated probability is below it is `abstained`: no
        language, and at least its three likeliest in `top`. With `coverage` (e.g. 0.9), each answered
        name also gets `set`: the labels that hold its true one with that probability, on average over
        names like the training data's (split conformal prediction, nameclf/conformal.py). Each answered
        name of a model with an unfamiliar-name score gets `novelty_p`, and `unfamiliar` when it is at
        most `unfamiliar` (0.05: about 5% of names like the training names are flagged; None: not scored)."""
        return self.predict_with_probabilities(names, options, **changes)[0]

    def predict_with_probabilities(
        self, names: Iterable[Any], options: PredictOptions | None = None, **changes: Any
    ) -> tuple[list[Prediction], np.ndarray]:
        """`predict`'s answers, and the (names, labels) calibrated probabilities behind them (a row
        of NaN for a name that got no answer). Each distinct name is answered once."""
        options = PredictOptions.of(options, **changes)
        cutoff = self.cutoff(options)
        raws = list(names)
        distinct: dict[Any, int] = {}
        positions = np.empty(len(raws), dtype=np.int64)
        unique: list[Any] = []
        for index, raw in enumerate(raws):
            key = raw if type(raw) is str else ("not a name", index)  # an Unreadable or a non-string: its own
            found = distinct.get(key)
            if found is None:
                found = distinct[key] = len(unique)
                unique.append(raw)
            positions[index] = found
        answers, matrix = self._answer(unique, options, cutoff)
        if len(unique) == len(raws):
            return answers, matrix
        predictions = []
        first_use = np.zeros(len(unique), dtype=bool)
        for raw, position in zip(raws, positions.tolist()):
            answer = answers[position]
            if first_use[position]:  # a later copy of a name: an answer of its own, carrying this very input
                copied_set = None if answer.set is None else list(answer.set)
                answer = dataclasses.replace(answer, name=raw, top=list(answer.top), set=copied_set)
            first_use[position] = True
            predictions.append(answer)
        return predictions, matrix[positions]

    def _answer(
        self, names: list[Any], options: PredictOptions, cutoff: float | None
    ) -> tuple[list[Prediction], np.ndarray]:
        top_k = min(options.top_k, len(self.labels))
        min_confidence, alpha = options.min_confidence, options.unfamiliar
        unsure_k = min(max(top_k, UNSURE_CANDIDATES), len(self.labels))
        predictions: list[Prediction] = []
        pending: list[int] = []
        encoded: list[np.ndarray] = []
        texts: list[str] = []
        for raw in names:
            prediction, codes = self.checked(raw)
            predictions.append(prediction)
            if codes is not None:
                pending.append(len(predictions) - 1)
                encoded.append(codes)
                texts.append(normalise(raw))
        matrix = np.full((len(predictions), len(self.labels)), np.nan, dtype=np.float32)
        if not encoded:
            return predictions, matrix
        probabilities = np.exp(self.log_probabilities(encoded, names=texts))
        if self.memory is not None:  # the people the table holds of these names (nameclf/memory.py)
            probabilities = self.memory.apply(texts, probabilities).astype(np.float32)
        matrix[pending] = probabilities
        order = np.argsort(-probabilities, axis=1, kind="stable")
        sets = None if cutoff is None else conformal.prediction_sets(probabilities, cutoff)
        p_values = None
        if alpha is not None and self.novelty is not None:
            p_values = self.novelty.p_values(self.novelty.scores(texts, probabilities)).tolist()
        labels = self.labels
        for row, position in enumerate(pending):
            prediction = predictions[position]
            ranked = order[row]
            unsure = min_confidence is not None and probabilities[row, ranked[0]] < min_confidence
            shown = ranked[: unsure_k if unsure else top_k].tolist()
            prediction.top = [(labels[j], float(probabilities[row, j])) for j in shown]
            prediction.label, prediction.probability = prediction.top[0]
            if unsure:
                prediction.label, prediction.abstained = None, True
            if sets is not None:
                prediction.set = [labels[j] for j in sets[row]]
            if p_values is not None:
                prediction.novelty_p = p_values[row]
                prediction.unfamiliar = p_values[row] <= alpha
        return predictions, matrix

    def predict_stream(
        self, names: Iterable[Any], options: PredictOptions | None = None, batch: int = 4096, **changes: Any
    ) -> Iterator[Prediction]:
        """Predict an iterable of any length in bounded memory, `batch` names at a time."""
        options = PredictOptions.of(options, **changes)
        self.cutoff(options)  # a model without the scores --coverage needs fails before the first name
        chunk: list[Any] = []
        for name in names:
            chunk.append(name)
            if len(chunk) >= batch:
                yield from self.predict(chunk, options)
                chunk = []
        if chunk:
            yield from self.predict(chunk, options)


@functools.cache
def _blas_controller(backend: str) -> ThreadpoolController:
    """threadpoolctl's view of the BLAS libraries loaded, found once per backend (torch brings its
    own): `threadpool_limits` looks for them on every call, which took 1 ms of a 1.5 ms answer to
    one name in the server."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


_PROCESS_CACHE: dict[str, Predictor] = {}
LOADS: dict[str, int] = {}  # how many times this process built each predictor it was sent (tests read it)


def _restore(
    key: str, path: str, config: dict[str, Any], weights: dict[str, np.ndarray], backend: str, device: str
) -> Predictor:
    """A Predictor unpickled in this process: built from its config and weights the first time its
    key is seen, the same object every time after."""
    cached = _PROCESS_CACHE.get(key)
    if cached is None:
        cached = Predictor(SavedModel(Path(path), config, weights), backend=backend, device=device)
        cached._key = key
        _PROCESS_CACHE[key] = cached
        LOADS[key] = LOADS.get(key, 0) + 1
    return cached


def _prepare_numpy(spec: cells.NetworkSpec, weights: dict[str, np.ndarray]) -> Prepared[np.ndarray]:
    prepared = cells.prepare(spec, {name: np.ascontiguousarray(value) for name, value in weights.items()})
    for directions in prepared["layers"]:
        for p in directions:
            for key in ("w_ih_t", "w_hh_t", "table"):  # row-major, for the products and the row lookups
                if key in p:
                    p[key] = np.ascontiguousarray(p[key])
    return prepared


def _torch_models(saved: SavedModel, device: str) -> tuple[list[NameClassifier], torch.device]:
    import torch

    from nameclf.devices import resolve_device
    from nameclf.model import NameClassifier

    impl = saved.config.get("training", {}).get("impl", "torch")
    resolved = resolve_device(device)
    # cuDNN's RNNs use TF32 by default, which moved log-probabilities by up to 3e-4 from the
    # float32 numpy answer on an H100; at prediction sizes full float32 costs nothing
    torch.backends.cudnn.allow_tf32 = False
    spec = saved.spec
    if spec is None:  # only a model with a network is given torch models
        raise ValueError(f"{saved.path} has no network")
    models = []
    for weights in saved.member_weights():
        model = NameClassifier(spec, impl=impl)
        model.load_state_dict({name: torch.from_numpy(value) for name, value in weights.items()})
        models.append(model.to(resolved).eval())
    return models, resolved
