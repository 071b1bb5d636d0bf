"""`nameclf.data` on the real shipped files (exact counts) and on small hand-made files."""

from __future__ import annotations

import codecs
import re
import string
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nameclf import data
from nameclf.data import Example, SharedNames, Vocabulary
from nameclf.errors import DataError, UsageError

ALL_LANGUAGES = [
    "Arabic", "Chinese", "Czech", "Dutch", "English", "French", "German", "Greek", "Irish",
    "Italian", "Japanese", "Korean", "Polish", "Portuguese", "Russian", "Scottish", "Spanish", "Vietnamese",
]  # fmt: skip


# --- independent readers of the raw files ------------------------------------------------------


def raw_lines(path: Path) -> list[str]:
    """The file's lines, decoded by hand (no nameclf code)."""
    return path.read_bytes().decode("utf-8").splitlines()


def raw_unique(path: Path) -> set[str]:
    return {unicodedata.normalize("NFC", line).strip() for line in raw_lines(path)} - {""}


def raw_sets(names_dir: Path) -> dict[str, set[str]]:
    return {path.stem: raw_unique(path) for path in sorted(names_dir.glob("*.txt"))}


def write_names(root: Path, files: dict[str, bytes | str]) -> Path:
    """A `names/` folder under root with these language files."""
    names = root / "names"
    names.mkdir(parents=True, exist_ok=True)
    for language, content in files.items():
        raw = content.encode("utf-8") if isinstance(content, str) else content
        (names / f"{language}.txt").write_bytes(raw)
    return names


def all_labels(examples: list[Example]) -> Counter:
    return Counter(label for example in examples for label in example.labels)


# --- the shipped files --------------------------------------------------------------------------


def test_bundled_files_are_the_18_languages(names_dir):
    assert sorted(path.stem for path in names_dir.glob("*.txt")) == ALL_LANGUAGES
    assert data.available_languages(names_dir) == ALL_LANGUAGES


def test_total_lines(names_dir):
    total = sum(len(raw_lines(path)) for path in names_dir.glob("*.txt"))
    assert total == 20_074
    assert sum(lines for _, lines, _ in data.summarise(names_dir)) == total


@pytest.mark.parametrize(("language", "lines", "unique"), [("German", 724, 706), ("Italian", 709, 701)])
def test_language_counts(names_dir, language, lines, unique):
    path = names_dir / f"{language}.txt"
    assert (len(raw_lines(path)), len(raw_unique(path))) == (lines, unique)
    assert dict((row[0], row[1:]) for row in data.summarise(names_dir))[language] == (lines, unique)
    assert len(data.read_names(path)) == lines


def test_summarise_matches_raw_files(names_dir):
    expected = [(p.stem, len(raw_lines(p)), len(raw_unique(p))) for p in sorted(names_dir.glob("*.txt"))]
    assert data.summarise(names_dir) == expected


def test_german_italian_overlap(names_dir):
    sets = raw_sets(names_dir)
    assert sets["German"] & sets["Italian"] == {"Paternoster", "Salomon"}


def test_default_languages_drop_the_two_shared_names(names_dir):
    dataset = data.load_dataset(names_dir)
    assert dataset.languages == ["German", "Italian"]
    assert dataset.shared_names == "drop"
    assert dataset.removed_shared == 2
    assert dataset.counts() == {"German": 704, "Italian": 699}
    assert len(dataset.examples) == 1_403
    assert dataset.raw_counts == {"German": 724, "Italian": 709}
    names = {example.name for example in dataset.examples}
    assert not names & {"Paternoster", "Salomon"}
    assert all(len(example.labels) == 1 for example in dataset.examples)
    # independently: the unique names of each file, less the shared ones
    sets = raw_sets(names_dir)
    shared = sets["German"] & sets["Italian"]
    assert names == (sets["German"] | sets["Italian"]) - shared
    for example in dataset.examples:
        assert example.name in sets[example.labels[0]]
    # explicit drop gives the very same data
    assert data.load_dataset(names_dir, "German,Italian", "drop").fingerprint == dataset.fingerprint


def test_all_languages_auto_is_multi(names_dir):
    dataset = data.load_dataset(names_dir, "all")
    assert dataset.shared_names == "multi"
    assert dataset.removed_shared == 0
    assert dataset.languages == ALL_LANGUAGES
    assert len(dataset.examples) == 17_453
    assert sum(len(example.labels) > 1 for example in dataset.examples) == 469
    counts = dataset.counts()
    assert counts["Scottish"] == 100
    assert min(counts.values()) > 0
    # independently from the raw files
    sets = raw_sets(names_dir)
    union = set().union(*sets.values())
    assert len(union) == 17_453
    assert sum(sum(name in s for s in sets.values()) > 1 for name in union) == 469
    assert counts == {language: len(names) for language, names in sets.items()}
    for example in dataset.examples:
        assert example.labels == tuple(sorted(lang for lang, names in sets.items() if example.name in names))
    names = [example.name for example in dataset.examples]
    assert len(names) == len(set(names))


def test_all_languages_drop_keeps_a_single_scottish_name(names_dir):
    """99 of the 100 Scottish names are also English: drop leaves one, which is not an error."""
    sets = raw_sets(names_dir)
    scottish_only = {
        name for name in sets["Scottish"] if not any(name in s for k, s in sets.items() if k != "Scottish")
    }
    assert len(scottish_only) == 1
    dataset = data.load_dataset(names_dir, "all", "drop")
    assert dataset.shared_names == "drop"
    assert dataset.removed_shared == 469
    assert len(dataset.examples) == 17_453 - 469
    assert dataset.counts()["Scottish"] == 1
    assert {e.name for e in dataset.examples if e.labels == ("Scottish",)} == scottish_only


def test_drop_that_empties_a_language_is_a_data_error(tmp_path):
    names = write_names(tmp_path, {"Alpha": "Abel\nBaker\nCole\n", "Beta": "Abel\nCole\n"})
    with pytest.raises(DataError, match="Beta") as caught:
        data.load_dataset(names, "Alpha,Beta", "drop")
    assert "Alpha" not in str(caught.value)
    assert "multi" in str(caught.value)
    # auto sees that dropping would empty Beta and keeps shared names as multi-label examples
    dataset = data.load_dataset(names, "Alpha,Beta", "auto")
    assert dataset.shared_names == "multi"
    assert dataset.examples == [
        Example("Abel", ("Alpha", "Beta")),
        Example("Baker", ("Alpha",)),
        Example("Cole", ("Alpha", "Beta")),
    ]
    assert dataset.counts() == {"Alpha": 3, "Beta": 2}


def test_auto_threshold(tmp_path):
    # 1 shared name in 20 (5%) still drops; 2 in 20 (10%) switches to multi
    alpha = [f"A{i}" for i in range(20)]
    beta = [f"B{i}" for i in range(19)]
    names = write_names(tmp_path / "one", {"Alpha": "\n".join(alpha), "Beta": "\n".join(beta + ["A0"])})
    assert data.load_dataset(names, "Alpha,Beta").shared_names == "drop"
    names = write_names(tmp_path / "two", {"Alpha": "\n".join(alpha), "Beta": "\n".join(beta[:18] + ["A0", "A1"])})
    assert data.load_dataset(names, "Alpha,Beta").shared_names == "multi"
    assert SharedNames("auto") is SharedNames.auto


# --- choosing languages -------------------------------------------------------------------------


def test_unknown_language_lists_the_known_ones(names_dir):
    with pytest.raises(UsageError) as caught:
        data.load_dataset(names_dir, "German,Klingon")
    message = str(caught.value)
    assert "Klingon" in message
    assert all(language in message for language in ALL_LANGUAGES)
    assert "\n" not in message


@pytest.mark.parametrize("spec", ["all", "ALL", "All", " all ", ["aLL"]])
def test_all_is_case_insensitive(spec):
    assert data.resolve_languages(spec, ALL_LANGUAGES[::-1]) == ALL_LANGUAGES


def test_language_names_are_case_insensitive_and_sorted():
    assert data.resolve_languages("italian, GERMAN", ALL_LANGUAGES) == ["German", "Italian"]
    assert data.resolve_languages(["Scottish", "english"], ALL_LANGUAGES) == ["English", "Scottish"]
    assert data.resolve_languages(None, ALL_LANGUAGES) == ["German", "Italian"]


@pytest.mark.parametrize("spec", ["German", ["Italian"], ""])
def test_single_language_is_a_usage_error(spec):
    with pytest.raises(UsageError, match="at least two"):
        data.resolve_languages(spec, ALL_LANGUAGES)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("German,german", "--languages names German more than once"),
        ("Italian,German,ITALIAN", "--languages names Italian more than once"),
        ("all,German", "`all` stands alone"),
    ],
)
def test_repeated_languages_and_all_with_others_are_usage_errors(spec, message):
    with pytest.raises(UsageError, match=message):
        data.resolve_languages(spec, ALL_LANGUAGES)


def test_a_dataset_of_one_language_cannot_train_a_classifier(tmp_path):
    names = write_names(tmp_path, {"German": "Abel\nBaker\n"})
    with pytest.raises(DataError, match="holds only German; a classifier needs at least two languages"):
        data.load_dataset(names, "all")


def test_an_empty_language_file_is_named(tmp_path):
    names = write_names(tmp_path, {"German": "Abel\nBaker\n", "Italian": "\n  \n"})
    with pytest.raises(DataError, match=r"Italian.txt in .* holds no names; add names to it, or leave it out"):
        data.load_dataset(names, "German,Italian", "multi")


def test_no_dataset_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="nameclf download"):
        data.available_languages(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="nameclf download"):
        data.load_dataset(tmp_path / "empty")


# --- normalisation ------------------------------------------------------------------------------


def test_nfc_and_nfd_forms_are_one_name(tmp_path):
    nfc = "M\u00fcller"
    nfd = "Mu\u0308ller"
    assert nfc != nfd and unicodedata.normalize("NFC", nfd) == nfc
    names = write_names(tmp_path, {"German": f"{nfc}\n{nfd}\nAbel\n", "Italian": "Rossi\n"})
    assert data.read_names(names / "German.txt") == [nfc, nfc, "Abel"]
    dataset = data.load_dataset(names)
    assert [e.name for e in dataset.examples] == ["Abel", nfc, "Rossi"]
    assert dataset.counts() == {"German": 2, "Italian": 1}
    assert data.normalise(f"  {nfd}\t") == nfc


def test_whitespace_empty_lines_and_crlf(tmp_path):
    content = b"  Abel  \r\n\r\n   \r\n\tBaker\r\nCole\n\nAbel\r\n"
    names = write_names(tmp_path, {"German": content, "Italian": b"Rossi\r\nBianchi"})
    assert data.read_names(names / "German.txt") == ["Abel", "Baker", "Cole", "Abel"]
    assert data.read_names(names / "Italian.txt") == ["Rossi", "Bianchi"]
    dataset = data.load_dataset(names)
    assert [e.name for e in dataset.examples] == ["Abel", "Baker", "Bianchi", "Cole", "Rossi"]
    assert dataset.raw_counts == {"German": 4, "Italian": 2}
    assert not any(ch in e.name for e in dataset.examples for ch in "\r\n\t ")


def test_non_utf8_dataset_file_is_a_data_error(tmp_path):
    names = write_names(tmp_path, {"German": b"M\xfcller\n", "Italian": b"Rossi\n"})
    with pytest.raises(DataError, match="German.txt"):
        data.load_dataset(names)


def test_utf8_bom_in_a_dataset_file_is_not_part_of_a_name(tmp_path):
    names = write_names(tmp_path, {"German": codecs.BOM_UTF8 + b"Abel\nAbel\n", "Italian": b"Rossi\n"})
    assert data.read_names(names / "German.txt") == ["Abel", "Abel"]


# --- split --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def german_italian():
    from nameclf.paths import bundled_names_dir

    return data.load_dataset(bundled_names_dir())


@pytest.fixture(scope="module")
def all_languages():
    from nameclf.paths import bundled_names_dir

    return data.load_dataset(bundled_names_dir(), "all")


def split_names(split: data.Split) -> list[set[str]]:
    return [{e.name for e in part} for part in (split.train, split.validation, split.test)]


def check_partition(dataset: data.Dataset, split: data.Split) -> None:
    train, validation, test = split_names(split)
    assert not train & validation and not train & test and not validation & test
    assert len(split.train) + len(split.validation) + len(split.test) == len(dataset.examples)
    assert sorted(split.train + split.validation + split.test, key=lambda e: e.name) == dataset.examples


@pytest.mark.parametrize("which", ["german_italian", "all_languages"])
def test_split_is_a_partition_by_name(request, which):
    dataset = request.getfixturevalue(which)
    check_partition(dataset, data.split_dataset(dataset, seed=0))


def test_split_sizes_are_80_10_10_per_language(german_italian):
    split = data.split_dataset(german_italian, seed=3)
    for language, total in german_italian.counts().items():
        sizes = [all_labels(part)[language] for part in (split.train, split.validation, split.test)]
        assert sum(sizes) == total
        assert sizes[1] == sizes[2] == round(total * 0.1)
        assert abs(sizes[0] - 0.8 * total) <= 2
    assert (len(split.train), len(split.validation), len(split.test)) == (1_123, 140, 140)


def test_split_sizes_on_all_languages(all_languages):
    split = data.split_dataset(all_languages, seed=0)
    counts = all_languages.counts()
    strata = Counter(data.stratum(e, counts) for e in all_languages.examples)
    for name, part, fraction in (("validation", split.validation, 0.1), ("test", split.test, 0.1)):
        got = Counter(data.stratum(e, counts) for e in part)
        for language, total in strata.items():
            assert abs(got[language] - total * fraction) <= 1, (name, language)
    assert abs(len(split.train) / len(all_languages.examples) - 0.8) < 0.01


def test_every_language_is_in_validation_and_test(all_languages):
    for seed in (0, 1, 2):
        split = data.split_dataset(all_languages, seed=seed)
        for part in (split.validation, split.test):
            present = all_labels(part)
            for language, total in all_languages.counts().items():
                if total >= 10:
                    assert present[language] >= 1, (seed, language)


def test_split_is_reproducible_and_seeded(german_italian, all_languages):
    for dataset in (german_italian, all_languages):
        first, again = data.split_dataset(dataset, seed=7), data.split_dataset(dataset, seed=7)
        assert (first.train, first.validation, first.test) == (again.train, again.validation, again.test)
        other = data.split_dataset(dataset, seed=8)
        assert split_names(other)[1] != split_names(first)[1]
        assert split_names(other)[2] != split_names(first)[2]
        check_partition(dataset, other)


def test_split_does_not_touch_global_random_state(german_italian):
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    data.split_dataset(german_italian, seed=1)
    assert np.random.random() == expected


def test_tiny_language_keeps_its_names_for_training(tmp_path):
    names = write_names(tmp_path, {"Alpha": "\n".join(f"A{i}" for i in range(40)), "Beta": "B0\nB1\n"})
    dataset = data.load_dataset(names, "all")
    split = data.split_dataset(dataset, seed=0)
    assert all_labels(split.train)["Beta"] == 2
    check_partition(dataset, split)


# --- fingerprint --------------------------------------------------------------------------------


def test_fingerprint_is_stable(names_dir, data_dir, german_italian):
    first = data.load_dataset(names_dir).fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", first)  # a sha256, in hexadecimal
    assert data.load_dataset(names_dir).fingerprint == first
    assert german_italian.fingerprint == first
    assert data.load_dataset(data_dir / "names").fingerprint == first
    assert data.load_dataset(names_dir, "all").fingerprint != first


def test_fingerprint_changes_with_the_data(data_dir):
    names = data_dir / "names"
    before = data.load_dataset(names).fingerprint
    german = names / "German.txt"
    original = german.read_bytes()
    # a repeated name, a blank line, CRLF: the cleaned data is the same, so is the fingerprint
    german.write_bytes(original.replace(b"\n", b"\r\n") + b"\r\n  \r\n" + original.splitlines()[0] + b"\r\n")
    assert data.load_dataset(names).fingerprint == before
    # one new name changes it
    german.write_bytes(original + b"Zzyzxweiler\n")
    after = data.load_dataset(names).fingerprint
    assert after != before
    # and so does removing a name
    german.write_bytes(b"\n".join(original.splitlines()[:-5]) + b"\n")
    assert data.load_dataset(names).fingerprint not in (before, after)


# --- vocabulary ---------------------------------------------------------------------------------


def test_vocabulary_contents(german_italian):
    vocabulary = Vocabulary.build(e.name for e in german_italian.examples)
    data_chars = {ch for e in german_italian.examples for ch in e.name}
    assert set(string.ascii_letters) <= set(vocabulary.characters)
    assert data_chars <= set(vocabulary.characters)
    assert set(vocabulary.characters) == set(string.ascii_letters) | data_chars
    assert len(vocabulary.characters) == len(set(vocabulary.characters))
    assert vocabulary.size == len(vocabulary.characters) + 1
    assert data.UNKNOWN not in vocabulary.characters
    assert sorted(vocabulary.index.values()) == list(range(1, vocabulary.size))
    assert Vocabulary.build(["Zoë", "Abel"]) == Vocabulary.build(["Abel", "Zoë"])


def test_vocabulary_encode():
    vocabulary = Vocabulary.build(["Müller"])
    assert "ü" in vocabulary.characters
    encoded = vocabulary.encode("Müller")
    assert encoded.dtype == np.int64
    assert encoded.tolist() == [vocabulary.characters.index(ch) + 1 for ch in "Müller"]
    assert 0 not in encoded
    assert vocabulary.encode("Ж").tolist() == [0]
    assert vocabulary.encode("😀").tolist() == [0]
    assert vocabulary.encode("aЖb😀").tolist() == [vocabulary.index["a"], 0, vocabulary.index["b"], 0]
    assert vocabulary.encode(data.UNKNOWN).tolist() == [0]
    assert vocabulary.encode("").shape == (0,)
    long_name = "Abcdefghij" * 5
    assert vocabulary.encode(long_name).shape == (50,)
    assert (vocabulary.encode(long_name) > 0).all()


def test_vocabulary_one_hot():
    vocabulary = Vocabulary.build(["Rossi"])
    matrix = vocabulary.one_hot("RoЖssi")
    assert matrix.shape == (6, vocabulary.size)
    assert matrix.dtype == np.float32
    assert np.array_equal(matrix.sum(axis=1), np.ones(6, dtype=np.float32))
    assert np.array_equal(matrix.argmax(axis=1), vocabulary.encode("RoЖssi"))
    assert matrix[2, 0] == 1.0
    assert vocabulary.one_hot("x" * 300).shape == (300, vocabulary.size)


# --- length batches -----------------------------------------------------------------------------


def test_length_batches_cover_every_index_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 12, size=500).tolist()
    for shuffle in (None, np.random.default_rng(1)):
        batches = data.length_batches(lengths, 16, shuffle)
        flat = np.concatenate(batches).tolist()
        assert sorted(flat) == list(range(len(lengths)))
        for batch in batches:
            assert 1 <= len(batch) <= 16
            assert len({lengths[i] for i in batch}) == 1
        # per length, batches are full except the last one
        per_length = Counter(lengths)
        batches_per_length = Counter(lengths[b[0]] for b in batches)
        assert batches_per_length == {length: -(-n // 16) for length, n in per_length.items()}


def test_length_batches_order():
    lengths = [3, 1, 2, 1, 3, 3, 2]
    plain = [b.tolist() for b in data.length_batches(lengths, 2)]
    assert plain == [[1, 3], [2, 6], [0, 4], [5]]
    lengths = np.random.default_rng(0).integers(1, 8, size=300).tolist()
    first = [b.tolist() for b in data.length_batches(lengths, 8, np.random.default_rng(42))]
    again = [b.tolist() for b in data.length_batches(lengths, 8, np.random.default_rng(42))]
    other = [b.tolist() for b in data.length_batches(lengths, 8, np.random.default_rng(43))]
    unshuffled = [b.tolist() for b in data.length_batches(lengths, 8)]
    assert first == again
    assert first != other
    assert first != unshuffled
    assert sorted(map(sorted, first)) != sorted(map(sorted, unshuffled))  # members are shuffled too


# --- users' files -------------------------------------------------------------------------------


def lines_of(tmp_path: Path, raw: bytes) -> list[str]:
    path = tmp_path / "input.txt"
    path.write_bytes(raw)
    return list(data.iter_text_lines(path))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Müller\nRossi\n".encode(), ["Müller", "Rossi"]),
        ("Müller\nRossi".encode(), ["Müller", "Rossi"]),
        (codecs.BOM_UTF8 + "Müller\nRossi\n".encode(), ["Müller", "Rossi"]),
        ("Müller\r\nRossi\r\n".encode(), ["Müller", "Rossi"]),
        (b"Abel\rBaker\rCole", ["Abel", "Baker", "Cole"]),
        ("Müller\r\nŻółć\nRossi\n".encode("utf-16"), ["Müller", "Żółć", "Rossi"]),
        (codecs.BOM_UTF16_LE + "Müller\nRossi\n".encode("utf-16-le"), ["Müller", "Rossi"]),
        (codecs.BOM_UTF16_BE + "Müller\r\nRossi\n".encode("utf-16-be"), ["Müller", "Rossi"]),
        (b"M\xfcller\nGar\xe7on\n", ["Müller", "Garçon"]),
        ("Müller\n".encode() + b"Gar\xe7on\r\n" + "Żółć\n".encode(), ["Müller", "Garçon", "Żółć"]),
        (b"Abel\n\nBaker\n", ["Abel", "", "Baker"]),
        (b"", []),
    ],
    ids=[
        "utf8", "no-final-newline", "utf8-bom", "crlf", "cr", "utf16", "utf16-le-bom", "utf16-be-bom",
        "latin1", "mixed-utf8-latin1", "blank-line-kept", "empty",
    ],
)  # fmt: skip
def test_iter_text_lines(tmp_path, raw, expected):
    assert lines_of(tmp_path, raw) == expected


def test_iter_text_lines_is_lazy(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"Abel\n" * 100_000)
    lines = data.iter_text_lines(path)
    assert next(lines) == "Abel"
    assert sum(1 for _ in lines) == 99_999


def test_iter_text_lines_missing_file(tmp_path):
    with pytest.raises(DataError, match="missing.txt"):
        list(data.iter_text_lines(tmp_path / "missing.txt"))
