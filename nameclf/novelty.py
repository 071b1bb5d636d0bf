"""How unlike the training names a name is, with a conformal p-value; numpy only at prediction.

The score (`NoveltyModel.scores`): the negative log-likelihood per symbol (nats) of the name under a
character n-gram language model of the training names (`CharLM`), plus, with
`confidence_weight` λ > 0, λ times the classifier's own surprise at its answer, −log max p. A name
full of character sequences the training names never had scores high; so does one whose letters
look familiar but which the classifier cannot place.

The language model is interpolated Kneser-Ney (Chen and Goodman 1999, section 3), one absolute
discount per order D = n1 / (n1 + 2 n2), of order 4 by default, over the lower-cased name between a
start and an end mark (the end mark is predicted, so a name that stops oddly costs too). Lower
orders count the distinct characters seen before an n-gram (continuation counts) instead of its
occurrences, except n-grams that begin at the start mark, which cannot be continued leftwards and
keep their raw counts. The unigram level is interpolated with a uniform distribution over the
alphabet plus one slot that stands for every character the training names lack, so each context's
probabilities sum to 1 over that alphabet. It is stored in backoff form: every seen n-gram with its
interpolated log-probability, and every seen context with its log backoff weight, so a lookup is a
few dictionary reads per character and the arrays are plain data (`to_arrays`/`from_arrays`).

The p-value (`conformal.p_values`) is split conformal: with the sorted scores of n held-out names that no part
of the model was fitted on, p(s) = (1 + #{held-out scores ≥ s}) / (n + 1). If the held-out names and a
new name are exchangeable (drawn alike), P(p ≤ α) ≤ α, so flagging at p ≤ α (`flagged`) flags at
most a share α of names like the training data's, and the share is within 1/(n + 1) of α. It says
nothing about how many unlike names are flagged: that is what `make bench` measures (its AUROC on
names of languages the model never learnt).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nameclf.codec import pack_strings, unpack_strings
from nameclf.conformal import p_values
from nameclf.data import UNKNOWN, normalise
from nameclf.options import BOUNDS, UNFAMILIAR

START, END = "\x02", "\x03"  # marks no name holds: a name's own control characters become UNKNOWN
DEFAULT_ORDER = 4
DEFAULT_ALPHA = UNFAMILIAR
ARRAY_PREFIX = "novelty."
DISCOUNT_RANGE = (0.05, 0.95)  # a discount outside it means too few n-grams to estimate one
WINDOWS_KEPT = 500_000  # windows remembered per language model, a bound on its memory (about 60 MB)


def symbols(name: str, lowercase: bool = True) -> str:
    """The name as the language model reads it, marks excluded: normalised, lower-cased, with the
    mark characters (and UNKNOWN) as UNKNOWN."""
    name = normalise(name)
    if lowercase:
        name = name.lower()
    if START in name or END in name:
        name = name.replace(START, UNKNOWN).replace(END, UNKNOWN)
    return name


@dataclass
class CharLM:
    """An interpolated Kneser-Ney character language model, in backoff form.

    grams: every n-gram (1 to `order` symbols, the last one predicted) seen in training, and
    `log_prob[i]`, the interpolated log P(last symbol | the ones before); contexts: every seen
    context (0 to `order` - 1 symbols; "" is the unigram level's) and `log_backoff[i]`, the log of the
    mass it passes to the shorter context. `alphabet`: the symbols it predicts, the end mark and
    UNKNOWN included; any other character is read as UNKNOWN.
    """

    order: int
    lowercase: bool
    alphabet: str
    discounts: list[float]
    grams: list[str]
    log_prob: np.ndarray
    contexts: list[str]
    log_backoff: np.ndarray
    _gram_index: dict[str, float] | None = field(default=None, repr=False, compare=False)
    _context_index: dict[str, float] | None = field(default=None, repr=False, compare=False)
    _windows: dict[str, float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.log_prob = np.asarray(self.log_prob, dtype=np.float64)
        self.log_backoff = np.asarray(self.log_backoff, dtype=np.float64)
        if self.log_prob.shape != (len(self.grams),) or self.log_backoff.shape != (len(self.contexts),):
            raise ValueError("the language model's arrays do not fit its n-grams and contexts")
        if END not in self.alphabet or UNKNOWN not in self.alphabet:
            raise ValueError("the language model's alphabet must hold the end mark and UNKNOWN")

    @property
    def log_uniform(self) -> float:
        return -math.log(len(self.alphabet))

    def _indexes(self) -> tuple[dict[str, float], dict[str, float]]:
        if self._gram_index is None or self._context_index is None:
            self._gram_index = dict(zip(self.grams, self.log_prob.tolist()))
            self._context_index = dict(zip(self.contexts, self.log_backoff.tolist()))
        return self._gram_index, self._context_index

    def text(self, name: str) -> str:
        """START + the name's symbols (unknown ones as UNKNOWN) + END."""
        known = set(self.alphabet)
        body = "".join(c if c in known else UNKNOWN for c in symbols(name, self.lowercase))
        return f"{START}{body}{END}"

    def log_probability(self, history: str, symbol: str) -> float:
        """log P(symbol | history): the longest seen n-gram ending the history, times the backoff
        weights of the longer seen contexts. `history` is in `text` form (it may begin with START)."""
        grams, contexts = self._indexes()
        history = history[max(0, len(history) - self.order + 1) :]
        total = 0.0
        for start in range(len(history) + 1):
            context = history[start:]
            found = grams.get(context + symbol)
            if found is not None:
                return total + found
            total += contexts.get(context, 0.0)
        return total + self.log_uniform

    def negative_log_likelihood(self, names: Iterable[str]) -> np.ndarray:
        """(names,) mean −log P per predicted symbol (the name's characters and the end mark), nats.

        Each window (a symbol and the up to `order` − 1 before it) is looked up once per model and
        remembered (up to WINDOWS_KEPT of them): names share most of their windows."""
        if self._windows is None:
            self._windows = {}
        windows, order, known = self._windows, self.order, set(self.alphabet)
        result = []
        for name in names:
            body = symbols(name, self.lowercase)
            if not known.issuperset(body):
                body = "".join(c if c in known else UNKNOWN for c in body)
            text = START + body + END
            total = 0.0
            for position in range(1, len(text)):
                window = text[max(0, position - order + 1) : position + 1]
                value = windows.get(window)
                if value is None:
                    value = self.log_probability(window[:-1], window[-1])
                    if len(windows) < WINDOWS_KEPT:
                        windows[window] = value
                total += value
            result.append(-total / (len(text) - 1))
        return np.asarray(result, dtype=np.float64)

    # --- saved as plain data ----------------------------------------------------------------

    def to_config(self) -> dict[str, Any]:
        return {
            "kind": "interpolated Kneser-Ney character language model",
            "order": self.order,
            "lowercase": self.lowercase,
            "alphabet": self.alphabet,
            "discounts": list(self.discounts),  # for the record: the tables already hold them
            "grams": len(self.grams),
            "contexts": len(self.contexts),
        }

    def to_arrays(self, prefix: str = ARRAY_PREFIX) -> dict[str, np.ndarray]:
        grams, gram_ends = pack_strings(self.grams)
        contexts, context_ends = pack_strings(self.contexts)
        return {
            prefix + "grams_utf8": grams,
            prefix + "grams_ends": gram_ends,
            prefix + "log_prob": self.log_prob,
            prefix + "contexts_utf8": contexts,
            prefix + "contexts_ends": context_ends,
            prefix + "log_backoff": self.log_backoff,
        }

    @classmethod
    def from_arrays(cls, config: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str = ARRAY_PREFIX) -> CharLM:
        grams = unpack_strings(arrays[prefix + "grams_utf8"], arrays[prefix + "grams_ends"])
        contexts = unpack_strings(arrays[prefix + "contexts_utf8"], arrays[prefix + "contexts_ends"])
        if len(grams) != config["grams"] or len(contexts) != config["contexts"]:
            raise ValueError("the language model's n-gram tables are not the size its config says")
        return cls(
            order=int(config["order"]),
            lowercase=bool(config["lowercase"]),
            alphabet=str(config["alphabet"]),
            discounts=[float(d) for d in config["discounts"]],
            grams=grams,
            log_prob=arrays[prefix + "log_prob"],
            contexts=contexts,
            log_backoff=arrays[prefix + "log_backoff"],
        )


def fit_char_lm(names: Iterable[str], order: int = DEFAULT_ORDER, lowercase: bool = True) -> CharLM:
    """Fit the language model on training names (see the module's docstring for the estimator)."""
    if not 1 <= order <= 10:
        raise ValueError(f"the language model's order must be from 1 to 10, not {order}")
    texts = [f"{START}{symbols(name, lowercase)}{END}" for name in names]
    if not texts:
        raise ValueError("the language model needs training names")
    alphabet = "".join(sorted({c for text in texts for c in text[1:]} | {END, UNKNOWN}))
    # raw[k]: occurrences of each k-symbol n-gram whose last symbol is predicted (not the start mark)
    raw: list[dict[str, int]] = [{} for _ in range(order + 1)]
    for text in texts:
        for end in range(2, len(text) + 1):
            for k in range(1, min(order, end) + 1):
                gram = text[end - k : end]
                raw[k][gram] = raw[k].get(gram, 0) + 1
    # adjusted[k]: raw counts at the top order and for n-grams at the start; else continuation counts
    adjusted: list[dict[str, int]] = [{} for _ in range(order + 1)]
    adjusted[order] = dict(raw[order])
    for k in range(1, order):
        counts = {gram: count for gram, count in raw[k].items() if gram[0] == START}
        for longer in raw[k + 1]:  # each distinct symbol seen before the n-gram counts once
            counts[longer[1:]] = counts.get(longer[1:], 0) + 1
        adjusted[k] = counts
    discounts = []
    for k in range(1, order + 1):
        values = list(adjusted[k].values())
        n1, n2 = values.count(1), values.count(2)
        discount = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
        discounts.append(min(max(discount, DISCOUNT_RANGE[0]), DISCOUNT_RANGE[1]))

    log_uniform = -math.log(len(alphabet))
    gram_log_prob: dict[str, float] = {}
    context_log_backoff: dict[str, float] = {}
    for k in range(1, order + 1):
        discount = discounts[k - 1]
        totals: dict[str, int] = {}
        types: dict[str, int] = {}
        for gram, count in adjusted[k].items():
            totals[gram[:-1]] = totals.get(gram[:-1], 0) + count
            types[gram[:-1]] = types.get(gram[:-1], 0) + 1
        backoff = {context: discount * types[context] / total for context, total in totals.items()}
        for gram, count in adjusted[k].items():
            context = gram[:-1]
            if k == 1:
                lower = math.exp(log_uniform)
            else:
                lower = math.exp(gram_log_prob[gram[1:]])  # seen whenever gram is (see the docstring)
            gram_log_prob[gram] = math.log((count - discount) / totals[context] + backoff[context] * lower)
        for context, weight in backoff.items():
            context_log_backoff[context] = math.log(weight)
    grams = sorted(gram_log_prob)
    contexts = sorted(context_log_backoff)
    return CharLM(
        order=order,
        lowercase=lowercase,
        alphabet=alphabet,
        discounts=discounts,
        grams=grams,
        log_prob=np.array([gram_log_prob[g] for g in grams]),
        contexts=contexts,
        log_backoff=np.array([context_log_backoff[c] for c in contexts]),
    )


# --- the score and its conformal p-value ------------------------------------------------------


def surprise(probabilities: np.ndarray) -> np.ndarray:
    """−log of each row's largest probability: how unsure the classifier is of its answer."""
    top = np.max(np.asarray(probabilities, dtype=np.float64), axis=1)
    result: np.ndarray = -np.log(np.maximum(top, 1e-300))  # numpy's ufuncs answer Any for an untyped array
    return result


def novelty_scores(
    lm: CharLM, names: Sequence[str], probabilities: np.ndarray | None, confidence_weight: float
) -> np.ndarray:
    """(names,) novelty scores: the language model's NLL per character, plus `confidence_weight`
    times the classifier's surprise at its answer (`probabilities`, needed when the weight is not 0)."""
    scores = lm.negative_log_likelihood(names)
    if confidence_weight:
        if probabilities is None:
            raise ValueError("this novelty score needs the classifier's probabilities")
        scores = scores + confidence_weight * surprise(probabilities)
    return scores


def check_alpha(alpha: float) -> None:
    """A ValueError for a level that is not in `BOUNDS["unfamiliar"]` (nameclf/options.py)."""
    if not BOUNDS["unfamiliar"].holds(alpha):
        raise ValueError(f"the unfamiliar-name level {BOUNDS['unfamiliar'].problem}, not {alpha}")


@dataclass
class NoveltyModel:
    """The language model, the weight of the classifier's surprise, and the held-out names' scores."""

    lm: CharLM
    held_out: np.ndarray  # sorted scores of the calibration names
    confidence_weight: float = 0.0
    calibrated_on: str = ""

    def __post_init__(self) -> None:
        self.held_out = np.sort(np.asarray(self.held_out, dtype=np.float64))
        if not len(self.held_out):
            raise ValueError("the unfamiliar-name p-value needs held-out scores")

    def scores(self, names: Sequence[str], probabilities: np.ndarray | None = None) -> np.ndarray:
        """(names,) novelty scores; `probabilities` (names, labels), the classifier's answer, is
        needed when `confidence_weight` is not 0."""
        return novelty_scores(self.lm, names, probabilities, self.confidence_weight)

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        return p_values(self.held_out, scores)

    def flagged(self, scores: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
        """True where p ≤ alpha: at most about a share alpha of names like the held-out ones."""
        check_alpha(alpha)
        return self.p_values(scores) <= alpha

    def to_config(self) -> dict[str, Any]:
        return {
            "score": "lm" if not self.confidence_weight else "lm + weight * -log max p",
            "confidence_weight": self.confidence_weight,
            "calibrated_on": self.calibrated_on,
            "held_out_names": len(self.held_out),
            "lm": self.lm.to_config(),
        }

    def to_arrays(self, prefix: str = ARRAY_PREFIX) -> dict[str, np.ndarray]:
        return {**self.lm.to_arrays(prefix), prefix + "held_out_scores": self.held_out}

    @classmethod
    def from_arrays(
        cls, config: dict[str, Any], arrays: dict[str, np.ndarray], prefix: str = ARRAY_PREFIX
    ) -> NoveltyModel:
        held_out = np.asarray(arrays[prefix + "held_out_scores"], dtype=np.float64)
        if len(held_out) != config["held_out_names"]:
            raise ValueError("the novelty model holds a different number of held-out scores than its config says")
        if np.any(np.diff(held_out) < 0):
            raise ValueError("the novelty model's held-out scores are not sorted")
        return cls(
            lm=CharLM.from_arrays(config["lm"], arrays, prefix),
            held_out=held_out,
            confidence_weight=float(config["confidence_weight"]),
            calibrated_on=str(config.get("calibrated_on", "")),
        )
