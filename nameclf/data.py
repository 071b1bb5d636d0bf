"""Read, normalise, dedupe, split and encode the names dataset.

The seed-003 procedure, made correct:

* every name is read as UTF-8, put in Unicode NFC, stripped, and empty lines are dropped;
* duplicates within a language are removed;
* a name found in more than one selected language is either dropped from all of them
  (the seed's rule, right for German/Italian where it removes 2 names) or kept once as a
  multi-label example (needed for all 18 languages: 99 of the 100 Scottish names are also
  English). ``SharedNames.auto`` picks ``drop`` unless dropping would remove more than
  ``AUTO_DROP_MAX_FRACTION`` of some selected language;
* the split is by unique name, so one name never sits in two of train/validation/test.

Nothing here imports torch: prediction and evaluation run on numpy alone.
"""

from __future__ import annotations

import functools
import hashlib
import json
import string
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nameclf.choices import SharedNames
from nameclf.errors import DataError, UsageError
from nameclf.paths import default_data_dir

DEFAULT_LANGUAGES = ("German", "Italian")
AUTO_DROP_MAX_FRACTION = 0.05
UNKNOWN = "\ufffd"  # the vocabulary slot for any character the model has not seen
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def normalise(name: str) -> str:
    """The canonical form of a name: Unicode NFC, surrounding whitespace removed."""
    return unicodedata.normalize("NFC", name).strip()


def read_names(path: Path) -> list[str]:
    """The names of one language file, normalised, empty lines dropped, in file order."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a BOM is not part of the first name
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text ({error.reason}); run `nameclf download --force`") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}; run `nameclf download`") from None
    names = (normalise(line) for line in text.splitlines())
    return [name for name in names if name]


def available_languages(names_dir: Path) -> list[str]:
    """The languages of a `names/` folder, sorted; a clear error when there is no dataset."""
    names_dir = Path(names_dir)
    languages = sorted(path.stem for path in names_dir.glob("*.txt")) if names_dir.is_dir() else []
    if not languages:
        raise no_dataset(names_dir)
    return languages


def no_dataset(names_dir: Path) -> DataError:
    """Why `names_dir` holds no dataset, and the mend: `nameclf download` only where the tutorial's data
    belongs (the default folder); a folder or file of the user's gets the layout it needs."""
    root = names_dir.parent
    layout = "a folder holding names/<Label>.txt, one file a label and one name a line"
    if root.is_file():
        return DataError(f"--data {root} is a file; --data takes {layout}")
    if root.absolute() == default_data_dir().absolute():
        return DataError(f"no dataset in {names_dir}; run `nameclf download` first")
    fetch = f"`nameclf download --dest {root}` fetches the tutorial's"
    return DataError(f"no dataset in {names_dir}; --data takes {layout} ({fetch})")


def summarise(names_dir: Path) -> list[tuple[str, int, int]]:
    """(language, names, unique names) for each file of a `names/` folder."""
    rows = []
    for language in available_languages(names_dir):
        names = read_names(Path(names_dir) / f"{language}.txt")
        rows.append((language, len(names), len(set(names))))
    return rows


def resolve_languages(spec: str | Sequence[str] | None, known: Sequence[str]) -> list[str]:
    """Turn `German,Italian`, `all` or a list into known language names (sorted, case-insensitive)."""
    if spec is None:
        items: list[str] = list(DEFAULT_LANGUAGES)
    elif isinstance(spec, str):
        items = [part.strip() for part in spec.split(",") if part.strip()]
    else:
        items = [str(part).strip() for part in spec]
    lowered = [item.lower() for item in items]
    if "all" in lowered:
        if len(items) > 1:
            raise UsageError("`all` stands alone: pass --languages all, or a list of languages without it")
        if len(known) < 2:
            raise DataError(
                f"the dataset holds only {', '.join(known)}; a classifier needs at least two languages "
                "(run `nameclf download` into an empty folder for the full dataset)"
            )
        return sorted(known)
    by_lower = {language.lower(): language for language in known}
    unknown = [item for item in items if item.lower() not in by_lower]
    if unknown:
        raise UsageError(f"unknown language {', '.join(unknown)}; choose from {', '.join(sorted(known))} or `all`")
    if twice := sorted({by_lower[item] for item in lowered if lowered.count(item) > 1}):
        raise UsageError(f"--languages names {', '.join(twice)} more than once; name each language once")
    chosen = sorted({by_lower[item] for item in lowered})
    if len(chosen) < 2:
        raise UsageError("a classifier needs at least two languages, e.g. --languages German,Italian")
    return chosen


@dataclass(frozen=True)
class Example:
    """One unique name and every selected language it belongs to (sorted), and what it counts for in
    training: 1 for the tutorial's names; a labelled table's name is one example per label it has,
    weighing its share of the name's people times the name's weight (`nameclf.labelled`)."""

    name: str
    labels: tuple[str, ...]
    weight: float = 1.0


@dataclass
class Dataset:
    """The cleaned examples of the selected languages, with how they were made."""

    languages: list[str]
    examples: list[Example]
    shared_names: str  # the resolved policy: "drop" or "multi" ("table" for a labelled table's names)
    removed_shared: int = 0
    raw_counts: dict[str, int] = field(default_factory=dict)
    label_name: str = "language"  # what the labels are: a table's may be countries, groups, ...

    @property
    def fingerprint(self) -> str:
        """sha256 of the cleaned examples: equal fingerprints mean equal data."""
        digest = hashlib.sha256()
        for example in self.examples:
            digest.update(json.dumps([example.name, list(example.labels)]).encode())
            digest.update(b"\n")
        return digest.hexdigest()

    def counts(self) -> dict[str, int]:
        """Examples per language (a multi-label name counts for each of its languages)."""
        counts = dict.fromkeys(self.languages, 0)
        for example in self.examples:
            for label in example.labels:
                counts[label] += 1
        return counts


def load_dataset(
    names_dir: Path,
    languages: str | Sequence[str] | None = None,
    shared_names: SharedNames | str = SharedNames.auto,
    fold_case: bool = False,
) -> Dataset:
    """Read the selected languages and apply the dedupe and cross-language rules.

    With `fold_case` every name is lower-cased first, so names a case-folding model cannot tell
    apart ("An" and "an") are one example, and never end up in two parts of the split.
    """
    known = available_languages(names_dir)
    chosen = resolve_languages(languages, known)
    per_language = {language: read_names(Path(names_dir) / f"{language}.txt") for language in chosen}
    if fold_case:
        per_language = {language: list(dict.fromkeys(map(fold, names))) for language, names in per_language.items()}
    raw_counts = {language: len(names) for language, names in per_language.items()}
    if empty := [language for language, count in raw_counts.items() if count == 0]:
        files = ", ".join(f"{language}.txt" for language in empty)
        raise DataError(f"{files} in {names_dir} holds no names; add names to it, or leave it out of --languages")
    owners: dict[str, set[str]] = {}
    for language, names in per_language.items():
        for name in names:
            owners.setdefault(name, set()).add(language)
    shared = {name for name, langs in owners.items() if len(langs) > 1}

    policy = SharedNames(shared_names)
    if policy is SharedNames.auto:
        worst = max(
            sum(name in shared for name in set(names)) / max(len(set(names)), 1) for names in per_language.values()
        )
        policy = SharedNames.drop if worst <= AUTO_DROP_MAX_FRACTION else SharedNames.multi

    examples = []
    for name in sorted(owners):
        if policy is SharedNames.drop and name in shared:
            continue
        examples.append(Example(name, tuple(sorted(owners[name]))))
    removed = len(shared) if policy is SharedNames.drop else 0
    left = {label for example in examples for label in example.labels}
    if missing := [language for language in chosen if language not in left]:
        raise DataError(f"no names left for {', '.join(missing)}; use --shared-names multi")
    return Dataset(chosen, examples, policy.value, removed, raw_counts)


# --- split --------------------------------------------------------------------------------------


@dataclass
class Split:
    train: list[Example]
    validation: list[Example]
    test: list[Example]


def stratum(example: Example, counts: dict[str, int]) -> str:
    """The language a name is stratified under: its rarest label, so small classes keep their share."""
    return min(example.labels, key=lambda label: (counts[label], label))


def split_dataset(dataset: Dataset, seed: int, fractions: Sequence[float] = SPLIT_FRACTIONS) -> Split:
    """Stratified 80/10/10 split by unique name, from a generator used for nothing else.

    The same seed and the same examples always give the same split.
    """
    rng = np.random.default_rng(seed)
    counts = dataset.counts()
    groups: dict[str, list[Example]] = {}
    for example in dataset.examples:  # examples are sorted by name, so groups are too
        groups.setdefault(stratum(example, counts), []).append(example)
    train: list[Example] = []
    validation: list[Example] = []
    test: list[Example] = []
    for language in sorted(groups):
        group = groups[language]
        order = rng.permutation(len(group))
        n_validation = int(round(len(group) * fractions[1]))
        n_test = int(round(len(group) * fractions[2]))
        if len(group) - n_validation - n_test < 1:  # tiny classes keep at least one training name
            n_validation = n_test = 0
        validation += [group[i] for i in order[:n_validation]]
        test += [group[i] for i in order[n_validation : n_validation + n_test]]
        train += [group[i] for i in order[n_validation + n_test :]]
    return Split(train, validation, test)


def split_fingerprint(split: Split) -> str:
    """sha256 of which name went to which part: a saved model records it, so evaluation can tell
    that the split it rebuilds is the one the model was trained with."""
    digest = hashlib.sha256()
    for part, examples in (("train", split.train), ("validation", split.validation), ("test", split.test)):
        for example in sorted(examples, key=lambda example: example.name):
            digest.update(json.dumps([part, example.name]).encode())
            digest.update(b"\n")
    return digest.hexdigest()


# --- vocabulary and encoding --------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """Characters to indices; index 0 is the slot for any character not in the vocabulary.

    With `fold_case`, names are lower-cased before encoding (character by character, so a name keeps
    its length), and "M" and "m" share one slot and what is learnt about it.
    """

    characters: str  # index i + 1 is characters[i]
    fold_case: bool = False

    @classmethod
    def build(cls, names: Iterable[str], fold_case: bool = False) -> Vocabulary:
        chars = set(string.ascii_lowercase if fold_case else string.ascii_letters)
        for name in names:
            chars.update(fold(name) if fold_case else name)
        chars.discard(UNKNOWN)
        return cls("".join(sorted(chars)), fold_case)

    @property
    def size(self) -> int:
        return len(self.characters) + 1

    @functools.cached_property
    def index(self) -> dict[str, int]:
        return {char: i + 1 for i, char in enumerate(self.characters)}

    def encode(self, name: str) -> np.ndarray:
        """The name's character indices (0 for unknown characters), shape (seq_len,)."""
        index = self.index
        if self.fold_case:
            name = fold(name)
        return np.fromiter((index.get(char, 0) for char in name), dtype=np.int64, count=len(name))

    def one_hot(self, name: str) -> np.ndarray:
        """The seed's one-hot encoding, shape (seq_len, vocab); any length, no padding."""
        rows: np.ndarray = np.eye(self.size, dtype=np.float32)[self.encode(name)]  # numpy types a gather as Any
        return rows


def fold(name: str) -> str:
    """Lower case, one character for one (a character whose lower case is longer, as "İ", is kept)."""
    return "".join(lowered if len(lowered := char.lower()) == 1 else char for char in name)


def length_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Indices grouped into batches of names of one length, so no padding is ever needed.

    With an `rng` the order within each length and the order of the batches are shuffled.
    """
    by_length: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        by_length.setdefault(int(length), []).append(i)
    batches = []
    for length in sorted(by_length):
        members = np.asarray(by_length[length])
        if rng is not None:
            members = members[rng.permutation(len(members))]
        batches += [members[start : start + batch_size] for start in range(0, len(members), batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


# --- users' files -------------------------------------------------------------------------------


def iter_text_lines(path: str | Path) -> Iterator[str]:
    """Yield the lines of a user's file (or stdin for "-") as text, in bounded memory.

    UTF-8 with or without BOM and UTF-16 with BOM are recognised; a line that is not valid UTF-8 is
    read as Latin-1 rather than failing the whole file. Line ends (LF, CRLF, CR) are removed.
    """
    import codecs
    import io
    import sys

    if str(path) == "-":
        if sys.stdin is None:
            raise UsageError("standard input is closed, so `-` has nothing to read; pass a file instead")
        stream = sys.stdin.buffer
        close = False
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115
        except OSError as error:
            raise DataError(f"cannot read {path}: {error.strerror}; check the path") from None
        close = True
    try:
        head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline=None)
            for line in text:
                yield line.rstrip("\r\n")
            return
        first = True
        for raw in stream:
            if first and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            first = False
            raw = raw.rstrip(b"\r\n")
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = raw.decode("latin-1")
            # a lone CR inside a line (old Mac files) ends a line too
            yield from line.split("\r") if "\r" in line else (line,)
    finally:
        if close:
            stream.close()
