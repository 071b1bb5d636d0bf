"""What the README and the site's pages (docs/) say holds: every `Class.method` they name exists where they
say, the figures they give of the shipped models are theirs (to the digits shown), the commands they give an
exit code for exit with it, and the README stays a front page. Their examples are run, and their output
compared, by tests/test_docs_examples.py."""

from __future__ import annotations

import json
import pickle
import re
import shlex
from pathlib import Path

import pytest
from cli_runner import run

import nameclf
from nameclf import checkpoint, shipped

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# the README and every page of the site, one text: a claim is checked wherever it is made
DOCS = "\n\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def test_every_python_name_the_docs_give_exists():
    """`nameclf.load(model).predict_frame(...)`, `Predictor.load`, `nameclf.on_dask.predict`: each dotted name
    in code spans resolves (`Predictor.predict_frame` would not: only what `nameclf.load` returns has it)."""
    import importlib

    from nameclf.predict import Predictor

    roots = {"Predictor": Predictor, "nameclf": nameclf, "nameclf.load(model)": nameclf.load("de-it")}
    checked = 0
    for root, path in re.findall(r"`(Predictor|nameclf\.load\(model\)|nameclf)((?:\.\w+)+)", DOCS):
        target = roots[root]
        for part in path.strip(".").split("."):
            if not hasattr(target, part) and isinstance(target, type(nameclf)):
                try:
                    importlib.import_module(f"{target.__name__}.{part}")
                except ModuleNotFoundError:
                    pass
            assert hasattr(target, part), f"the docs name {root}{path}, and {part} is not there"
            target = getattr(target, part)
        checked += 1
    assert checked >= 5


@pytest.mark.cross_machine
@pytest.mark.parametrize("model", ["de-it", "all"])
def test_the_pickled_sizes_are_the_docs(model):
    """docs/batch.md, "How the model travels"."""
    ((number, unit),) = re.findall(rf"([0-9.]+) (KB|MB) for\s+`{re.escape(model)}`", DOCS)
    stated = float(number) * {"KB": 1e3, "MB": 1e6}[unit]
    size = len(pickle.dumps(nameclf.load(model)))
    assert abs(size - stated) <= 0.05 * stated, f"{model} pickles to {size:,} bytes, the docs say {number} {unit}"


@pytest.mark.cross_machine
def test_the_temperature_of_all_is_the_docs():
    """docs/trust.md, "Calibrated probabilities"."""
    (printed,) = re.findall(r"The shipped `all`, whose answers combine.*?has\s+T = ([0-9.]+)\b", DOCS, re.S)
    temperature = nameclf.load("all").saved.temperature
    assert abs(temperature - float(printed)) <= 10 ** -len(printed.split(".")[1]), temperature


def test_the_docs_give_the_pair_tasks_training_size_as_info_does():
    """docs/benchmarks.md, "Defaults and what they give"."""
    sizes = checkpoint.load(shipped.path_of("de-it")).config["data"]["sizes"]
    stated = int(re.search(r"German/Italian, about ([\d,]+) training names", DOCS).group(1).replace(",", ""))
    assert abs(stated - sizes["train"]) < 100


def test_the_commands_the_docs_give_an_exit_code_exit_with_it(tmp_path, env):
    """Each `predict` or `explain` command the docs' prose gives an exit code for (`nameclf predict 12345
    Tribbiani` exits 0, on docs/getting-started.md), run, exits with that code."""
    flat = " ".join(DOCS.split())
    claims = re.findall(r"`(nameclf (?:predict|explain) [^`]+)` exits (\d+)", flat)
    assert len(claims) >= 2
    for command, code in claims:
        result = run(*shlex.split(command)[1:], env=env, cwd=tmp_path)
        assert result.returncode == int(code), (command, result.stderr)


# --- the README is a front page -------------------------------------------------------------------------


def test_the_readme_is_a_front_page_of_at_most_200_lines():
    assert len(README.splitlines()) <= 200


def test_the_readme_and_the_pages_speak_to_a_newcomer_not_of_the_projects_history():
    """No issue numbers, no seed documents, no change-log phrasing: a reader who does not know the project's
    history cannot follow them. (docs/studies.md, the record of the studies, and BENCHMARKS.md, which
    make bench writes, are not pages of this kind.)"""
    history = re.compile(r"\bissue \d+|\bseed 00\d|\bnow (?:finds|gives|answers)\b|\bas before\b", re.I)
    pages = [ROOT / "README.md", *(ROOT / "docs" / f"{name}.md" for name in NEWCOMER_PAGES)]
    found = [
        f"{page.relative_to(ROOT)}: {match.group(0)!r}"
        for page in pages
        if page.exists()
        for match in history.finditer(page.read_text(encoding="utf-8"))
    ]
    assert found == []


NEWCOMER_PAGES = [
    "index",
    "getting-started",
    "data",
    "trust",
    "batch",
    "serving",
    "format",
    "benchmarks",
    "development",
]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file(page):
    """What GitHub renders (the README's links into docs/, a page's links to its neighbours and pictures)
    and mkdocs' strict build both need the target to exist."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.relative_to(ROOT)} links to {target}, which is not there"


def test_the_readmes_headline_figures_are_benchmarks():
    """Each figure of the README's table against the n-gram yardstick is one that BENCHMARKS.md (made by make
    bench) gives."""
    table = README[README.index("| task | model |") :].split("\n\n", 1)[0]
    figures = re.findall(r"\b0\.\d{4}\b", table)
    benchmarks = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert len(figures) == 12
    assert [figure for figure in figures if figure not in benchmarks] == []


def test_the_census_figures_on_the_data_page_are_the_benchmarks():
    """The table of `make bench-census` on docs/data.md gives benchmarks/results/census.json's figures, to
    the digits it shows, and so does the sentence on the surnames no training row holds."""
    results = json.loads((ROOT / "benchmarks" / "results" / "census.json").read_text(encoding="utf-8"))
    page = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    ours, theirs = results["other_persons"], results["ethnicolr_2_0"]
    rows = {
        row.split("|")[1].strip(): row.replace("*", "").split("|")[2:-1] for row in re.findall(r"^\|.*\|$", page, re.M)
    }
    keys = ("accuracy", "top_3", "ece", "set_coverage", "mean_set_size")
    published = (theirs["accuracy"], theirs["top3"], theirs["ece_post"])
    published += (theirs["conformal_empirical_coverage"]["0.90"], theirs["conformal_mean_set_size"]["0.90"])
    expected = {
        "nameclf": [ours["nameclf"][key] for key in keys],
        "ethnicolr 2.0 (published)": list(published),
        "n-gram yardstick": [ours["ngram_yardstick_accuracy"]],
        "lookup": [ours["lookup_accuracy"]],
        "ceiling": [results["ceiling_population"]],
    }
    for name, figures in expected.items():
        shown = [cell.strip() for cell in rows[name] if cell.strip()]
        assert len(shown) == len(figures), name
        for cell, figure in zip(shown, figures):
            assert float(cell) == pytest.approx(figure, abs=0.5 * 10 ** -len(cell.split(".")[1])), (name, cell)
    unseen = results["unseen_surnames"]
    sentence = " ".join(page.split())
    stated = re.search(
        r"accuracy is ([\d.]+) against the yardstick's ([\d.]+) and the lookup's ([\d.]+), with an ECE of (\d\.\d+)",
        sentence,
    )
    figures = (
        unseen["nameclf"]["accuracy"],
        unseen["ngram_yardstick_accuracy"],
        unseen["lookup_accuracy"],
        unseen["nameclf"]["ece"],
    )
    for cell, figure in zip(stated.groups(), figures):
        assert float(cell) == pytest.approx(figure, abs=0.5 * 10 ** -len(cell.split(".")[1])), cell
