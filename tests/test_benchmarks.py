"""The `make bench` harness (benchmarks/bench.py, common.py, oos.py, seed003.py) really runs, on tiny hand-made
data or the bundled dataset (no mocks)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import string
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from nameclf.data import Example
from nameclf.paths import bundled_names_dir

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

GERMAN = [
    "Abel", "Bauer", "Becker", "Brandt", "Eichmann", "Fischer", "Hoffmann", "Kaiser", "Koch", "Krause",
    "Lehmann", "Müller", "Neumann", "Richter", "Schmidt", "Schneider", "Schulz", "Wagner", "Weber", "Zimmermann",
]  # fmt: skip
ITALIAN = [
    "Abate", "Bianchi", "Bruno", "Colombo", "Conti", "Costa", "Esposito", "Ferrari", "Gallo", "Greco",
    "Lombardi", "Marino", "Moretti", "Ricci", "Rinaldi", "Romano", "Rossi", "Russo", "Santoro", "Villa",
]  # fmt: skip
SHARED = "Sommer"


def load_benchmark(name: str) -> ModuleType:
    """Import benchmarks/<name>.py by path: benchmarks/ is a folder of scripts, not a package."""
    qualified = f"benchmarks_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    spec = importlib.util.spec_from_file_location(qualified, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def write_names(root: Path, files: dict[str, list[str]]) -> Path:
    """A `names/` folder with one file per language, one name per line, final newline included."""
    names_dir = root / "names"
    names_dir.mkdir(parents=True)
    for language, names in files.items():
        (names_dir / f"{language}.txt").write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    return names_dir


@pytest.fixture
def tiny_names_dir(tmp_path: Path) -> Path:
    """German and Italian, 20 names each; no name in both files."""
    return write_names(tmp_path, {"German": GERMAN, "Italian": ITALIAN})


@pytest.fixture
def leaky_names_dir(tmp_path: Path) -> Path:
    """German with one name 20 times over, also once in Italian: the seed removes one copy from each
    file, so 19 copies stay and some land on both sides of its split."""
    return write_names(tmp_path, {"German": GERMAN + [SHARED] * 20, "Italian": ITALIAN + [SHARED]})


# --- seed 003 replica ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed003() -> ModuleType:
    return load_benchmark("seed003")


TINY_RUN = dict(epochs=1, batch_size=4, hidden=8, threads=1)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["leaky", "clean"])
def test_seed003_trains_one_epoch_in_both_modes(seed003, tiny_names_dir, mode):
    trained = seed003.train_model(mode, 0, tiny_names_dir, **TINY_RUN)
    figures = trained.figures
    assert figures["mode"] == mode and figures["seed"] == 0
    for key in ("train_seconds", "test_accuracy", "selected_test_accuracy"):
        assert math.isfinite(figures[key]), key
    assert 0.0 <= figures["test_accuracy"] <= 1.0
    assert figures["parameters"] > 0 and figures["train_size"] > figures["test_size"] > 0
    if mode == "leaky":
        assert figures["validation_accuracy"] is None and figures["selected_on"] == "test"
        assert figures["train_size"] + figures["test_size"] == len(GERMAN) + len(ITALIAN)
    else:
        assert 0.0 <= figures["validation_accuracy"] <= 1.0 and figures["selected_on"] == "validation"

    names = ["Tribbiani", "Schwarzenegger-Grimmelshausen-Von", "Ωmega", ""]  # too long, unknown letter, empty
    probabilities = seed003.probabilities(trained, names)
    assert probabilities.shape == (len(names), 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_seed003_alphabet_is_both_files_letters_and_the_ascii_ones(seed003, tiny_names_dir):
    alphabet = seed003.seed_alphabet(tiny_names_dir)
    assert alphabet == "".join(sorted(set("".join(GERMAN + ITALIAN)) | set(string.ascii_letters)))  # + ü


def test_seed003_leaky_split_reports_the_leak_and_clean_has_none(seed003, leaky_names_dir):
    leaky = seed003.train_model("leaky", 0, leaky_names_dir, **TINY_RUN).figures
    clean = seed003.train_model("clean", 0, leaky_names_dir, **TINY_RUN).figures
    assert leaky["leaked_test_names"] > 0
    assert clean["leaked_test_names"] == 0
    # the seed keeps 19 of the 20 copies (and drops the Italian one and the empty last line)
    assert leaky["train_size"] + leaky["test_size"] == len(GERMAN) + 19 + len(ITALIAN)


def test_seed003_is_reproducible_and_refuses_unknown_modes(seed003, tiny_names_dir):
    first = seed003.train_model("clean", 3, tiny_names_dir, **TINY_RUN).figures
    again = seed003.train_model("clean", 3, tiny_names_dir, **TINY_RUN).figures
    timing = ("train_seconds",)
    assert {k: v for k, v in first.items() if k not in timing} == {k: v for k, v in again.items() if k not in timing}
    with pytest.raises(ValueError, match="mode"):
        seed003.train_model("tidy", 0, tiny_names_dir, **TINY_RUN)


def test_seed003_encoding_pads_cuts_and_zeroes_unknown_characters(seed003):
    encoded = seed003.encode(["Ab", "Abcdef", "A?"], "Aabcdef", length=4)
    assert encoded.shape == (3, 4, 7)
    assert encoded[0].sum(dim=1).tolist() == [1, 1, 0, 0]  # zero rows after the name
    assert encoded[1].sum(dim=1).tolist() == [1, 1, 1, 1]  # cut at the fixed length
    assert encoded[2].sum(dim=1).tolist() == [1, 0, 0, 0]  # '?' is not in the alphabet


# --- out-of-source names ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oos() -> ModuleType:
    pytest.importorskip("faker")
    return load_benchmark("oos")


@pytest.fixture(scope="module")
def german_italian_oos(oos) -> list[Example]:
    """Faker's German and Italian surnames, with an empty corpus: nothing removed for leaking."""
    return oos.out_of_source(["German", "Italian"], [])


def test_out_of_source_drops_every_corpus_name(oos, german_italian_oos):
    german = [example.name for example in german_italian_oos if example.labels == ("German",)]
    italian = [example.name for example in german_italian_oos if example.labels == ("Italian",)]
    assert len(german) > 100 and len(italian) > 100
    corpus = german[:5] + [name.upper() for name in italian[:5]]  # case does not hide a name
    kept = oos.out_of_source(["German", "Italian"], corpus)

    assert not {example.name.casefold() for example in kept} & {name.casefold() for name in corpus}
    assert kept == [example for example in german_italian_oos if example.name not in german[:5] + italian[:5]]


def test_out_of_source_never_returns_a_dataset_name(oos, names_dir):
    corpus = oos.corpus_names(names_dir)
    kept = oos.out_of_source(["German", "Italian"], corpus)
    assert kept and not {example.name.casefold() for example in kept} & {name.casefold() for name in corpus}


def test_out_of_source_returns_only_the_requested_languages_sorted(oos, german_italian_oos):
    italian = oos.out_of_source(["Italian"], [])
    assert italian and {example.labels for example in italian} == {("Italian",)}
    assert italian == [example for example in german_italian_oos if example.labels == ("Italian",)]
    assert german_italian_oos == sorted(german_italian_oos, key=lambda example: (example.labels, example.name))
    assert oos.out_of_source(["Greek"], []) == []  # no Latin-script list
    with pytest.raises(ValueError, match="unknown language"):
        oos.out_of_source(["Klingon"], [])


def test_out_of_source_names_are_single_latin_words(oos, german_italian_oos):
    for example in german_italian_oos:
        assert example.name[0].isupper() and " " not in example.name
        assert all(oos.is_latin_letter(character) or character in "'-" for character in example.name)


def test_cleaning_follows_the_datasets_spelling(oos):
    convention = oos.dataset_conventions(bundled_names_dir())
    assert oos.clean("Nguyễn", convention["Vietnamese"]) == "Nguyen"  # the dataset's Vietnamese is ASCII
    assert oos.clean("Bartošová", convention["Czech"]) == "Bartosova"
    assert oos.clean("Müller", convention["German"]) == "Müller"  # German keeps its umlauts
    assert oos.clean("O'bryan", convention["Irish"]) == "O'Bryan"  # the dataset writes O'Brien
    assert oos.clean("D'Amico", convention["Italian"]) == "D'amico"  # and D'ambrosio
    assert oos.clean("CHEN", convention["Chinese"]) == "Chen"
    assert oos.clean("Смирнов", convention["Russian"]) is None  # not Latin script
    assert oos.clean("van Dijk", convention["Dutch"]) is None  # one word only
    assert oos.clean("Ab-Cd", convention["German"]) is None  # the dataset's German has no hyphen


def test_foreign_names_are_other_languages_surnames_that_no_dataset_file_holds(oos, names_dir):
    corpus = oos.corpus_names(names_dir)
    foreign = oos.foreign_names(corpus)
    assert {example.labels for example in foreign} == {(language,) for language in oos.FOREIGN}
    folded = [example.name.casefold() for example in foreign]
    assert len(folded) == len(set(folded))  # one language per name
    assert not set(folded) & {name.casefold() for name in corpus}
    assert foreign == sorted(foreign, key=lambda example: (example.labels, example.name))
    assert any(not example.name.isascii() for example in foreign)  # diacritics kept (Öztürk, Järvinen)
    fewer = oos.foreign_names(corpus | {foreign[0].name.upper()})  # the corpus is compared case-insensitively
    assert fewer == foreign[1:]


def test_mimesis_names_are_a_second_source_that_never_holds_a_dataset_name(oos, names_dir):
    pytest.importorskip("mimesis")
    corpus = oos.corpus_names(names_dir)
    languages = ["Czech", "Dutch", "English", "French", "German", "Italian", "Polish", "Portuguese", "Spanish"]
    kept = oos.out_of_source([*languages, "Greek"], corpus, library="mimesis")
    found = {example.labels[0] for example in kept}
    assert found == set(languages)  # every mapped language, and none without a list (Greek)
    names = [example.name.casefold() for example in kept]
    assert len(names) == len(set(names))  # a name listed under two languages is dropped, not kept twice
    assert not set(names) & {name.casefold() for name in corpus}
    faker = {e.name for e in oos.out_of_source(["German"], corpus)}
    german = {e.name for e in kept if e.labels == ("German",)}
    assert german - faker  # another source: names Faker's lists do not hold
    with pytest.raises(ValueError, match="unknown library"):
        oos.out_of_source(["German"], corpus, library="nope")


def test_the_yardsticks_c_is_chosen_out_of_source_among_cs_near_the_best_validation(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    common = load_benchmark("common")

    def rows(validation, faker, mimesis):
        return [{"validation_accuracy": validation, "oos_accuracy": faker, "mimesis_accuracy": mimesis}]

    grid = {1.0: rows(0.80, 0.50, 0.50), 10.0: rows(0.855, 0.45, 0.43), 100.0: rows(0.86, 0.40, 0.41)}
    assert common.chosen_c(grid) == 10.0  # C = 1 is best out of source, but 0.06 behind on validation
    grid[3.0] = rows(0.851, 0.46, 0.44)
    assert common.chosen_c(grid) == 3.0


def test_out_of_source_per_language_names_what_a_wrong_answer_was_taken_for(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    common = load_benchmark("common")
    from nameclf.metrics import score

    truths = [("German",)] * 4 + [("Dutch",)] * 2
    report = score(["Dutch", "German"], truths, ["German", "Dutch", "Dutch", "Dutch", "Dutch", None], "oos")
    figures = common.per_language(report)
    assert figures["German"] == {"names": 4, "accuracy": 0.25, "taken_for": "Dutch", "taken_for_share": 0.75}
    assert figures["Dutch"] == {"names": 2, "accuracy": 0.5, "taken_for": "no answer", "taken_for_share": 0.5}


# --- common: the unfamiliar-name figures and the yardstick ------------------------------------


def test_unfamiliar_figures_tell_a_models_own_names_from_another_languages(monkeypatch):
    """The shipped German/Italian model: its own names score lower than Chinese ones, and the flag
    falls on few of its own and many of the others."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    common = load_benchmark("common")
    from nameclf.predict import Predictor

    predictor = Predictor.load("de-it")
    own = [Example(name, ("German",)) for name in GERMAN] + [Example(name, ("Italian",)) for name in ITALIAN]
    chinese = ["Zhang", "Xiong", "Qiu", "Zhou", "Yuan", "Xue", "Zhuang", "Qian", "Huang", "Guo"]
    figures = common.unfamiliar_figures(predictor, own, [Example(name, ("Chinese",)) for name in chinese])
    assert figures["auroc"] > 0.8
    assert figures["own_flagged"] < figures["others_flagged"]
    assert figures["others"] == len(chinese)


def test_other_language_names_are_every_dataset_name_neither_german_nor_italian(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    common = load_benchmark("common")
    others = common.other_language_names()
    labels = {label for example in others for label in example.labels}
    assert len(labels) == 16 and not labels & {"German", "Italian"}
    everyone = common.dataset("all").examples
    assert len(others) == sum(not {"German", "Italian"} & set(example.labels) for example in everyone)


def test_the_yardstick_fits_the_seeds_training_names_and_scores_each_part(monkeypatch):
    """German/Italian at C = 10: well above chance on validation and test (a fit whose columns were
    mixed up, or that saw the wrong names, would not be), and its row says what it is."""
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    common = load_benchmark("common")
    row = common.yardstick_run("German,Italian", 0, ("validation", "test"))
    assert row["seed"] == 0 and row["C"] == common.YARDSTICK_C == 10.0
    for part in ("validation", "test"):
        assert 0.9 < row[f"{part}_accuracy"] <= 1.0
        assert 0.9 < row[f"{part}_macro_f1"] <= 1.0
    assert "oos_accuracy" not in row


# --- bench.py: targets and BENCHMARKS.md --------------------------------------------------------


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    saved_path, saved_threads = list(sys.path), os.environ.get("OMP_NUM_THREADS")
    try:
        return load_benchmark("bench")  # which puts benchmarks/ on sys.path and sets OMP_NUM_THREADS
    finally:
        sys.path[:] = saved_path
        if saved_threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)


def test_a_target_says_whether_it_is_met_and_by_how_much_not(bench):
    missed = bench.at_least("F1 >= the yardstick's + 0.03", 0.85, 0.84, margin=0.03, names=1000)
    assert missed == {
        "target": "F1 >= the yardstick's + 0.03",
        "figure": "0.8500 vs 0.8400 + 0.03",
        "met": False,
        "short_by": "0.0200 (20.0 of 1,000 names)",
    }
    against_two = bench.at_least("ahead of both", 0.97, [0.96, 0.975])
    assert against_two["figure"] == "0.9700 vs 0.9600 and 0.9750" and against_two["short_by"] == "0.0050"
    assert bench.at_least("level", 0.9, 0.9)["met"] and bench.at_least("level", 0.9, 0.9)["short_by"] == ""
    assert bench.fmt([{"x": 1.0}, {"x": 3.0}], "x") == "2.0000 ± 1.4142"


def test_benchmarks_md_is_what_bench_renders_from_the_recorded_results(bench):
    """BENCHMARKS.md is generated: the recorded results.json, rendered again, gives it line for line."""
    root = BENCHMARKS.parent
    results = json.loads((BENCHMARKS / "results" / "results.json").read_text())
    recorded = {key: results.pop(key) for key in ("targets", "issue20_targets", "sources_targets")}
    bench.add_targets(results)
    assert {key: results[key] for key in recorded} == recorded
    rendered = bench.markdown(results, "make bench") + f"The whole run took {results['bench_seconds'] / 60:.1f} min.\n"
    assert rendered.splitlines() == (root / "BENCHMARKS.md").read_text().splitlines()
