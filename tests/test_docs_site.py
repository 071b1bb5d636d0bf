"""The documentation site (mkdocs.yml, docs/): it builds with `mkdocs build --strict` and no warning,
its CLI reference names every command and option the real CLI's help lists, the model page shows the
code it explains, nothing is fetched from elsewhere, and in headless Chromium every equation of the
model page is typeset by the MathJax served with the site.

The site is built from the repository's own mkdocs.yml and docs/ (mkdocs runs in the repository's
root, where the snippets' paths start) into a temporary folder; nothing of the user's is read.

The model page's picture, docs/model-page.png, is redrawn by

    .venv/bin/python tests/test_docs_site.py --screenshot docs/model-page.png
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_runner import run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# the nav's pages, as mkdocs.yml lists them
PAGES = [
    "index.md",
    "getting-started.md",
    "data.md",
    "model.md",
    "trust.md",
    "batch.md",
    "serving.md",
    "format.md",
    "reference/python.md",
    "reference/cli.md",
    "benchmarks.md",
    "development.md",
    "architecture.md",
    "studies.md",
]
OPTION = re.compile(r"-{1,2}[a-z][a-z0-9-]*")
WAIT = 60  # seconds for MathJax to typeset the page, on two shared cores

pytestmark = pytest.mark.slow  # every test builds the site (a few seconds) or drives a browser


def build(site: Path, strict: bool = True) -> subprocess.CompletedProcess[str]:
    """`mkdocs build --strict` of the repository's site into `site`, as `make docs` runs it."""
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # the theme's banner about MkDocs 2.0
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *(["--strict"] if strict else []), "--site-dir", str(site)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    site = tmp_path_factory.mktemp("site")
    return site, build(site)


@pytest.fixture(scope="module")
def site(built: tuple[Path, subprocess.CompletedProcess[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site. Where the strict build failed (the test of the build says why), the pages are built
    without --strict, so that a broken link on one page does not hide what the other tests check."""
    folder, result = built
    if result.returncode == 0:
        return folder
    folder = tmp_path_factory.mktemp("site-lenient")
    result = build(folder, strict=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def page_path(site: Path, page: str) -> Path:
    """Where mkdocs writes a page (use_directory_urls: model.md → model/index.html)."""
    stem = page.removesuffix(".md")
    return site / ("index.html" if stem == "index" else f"{stem}/index.html")


def visible_text(page_html: str) -> str:
    """A page's text: tags dropped, entities read, white space folded (scripts and styles left out)."""
    page_html = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split())


def code_text(page_html: str) -> str:
    """The text of a page's code blocks, as they read (the highlighter's tags dropped), white space folded."""
    blocks = re.findall(r"<pre\b.*?</pre>", page_html, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", " ".join(blocks))).split())


def test_the_site_builds_strictly_with_no_warning(built):
    folder, result = built
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not [line for line in output.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)], output
    missing = [page for page in PAGES if not page_path(folder, page).is_file()]
    assert missing == []


# --- the CLI reference against the CLI's own help -----------------------------------------------------


def help_text(*command: str) -> str:
    """`nameclf ... --help` as a user sees it in a wide plain terminal, so that no panel's line wraps."""
    result = run(*command, "--help", env={**os.environ, "COLUMNS": "200", "TERM": "dumb", "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def panels(text: str) -> dict[str, list[list[str]]]:
    """The rows of each of rich's panels (Options, Arguments, Commands...), by title: each row's cells,
    split where two spaces or more part them. A row that goes on from the line above starts empty."""
    found: dict[str, list[list[str]]] = {}
    rows: list[list[str]] | None = None
    for line in text.splitlines():
        if title := re.match(r"\s*╭─ (.+?) ─", line):
            rows = found.setdefault(title.group(1), [])
        elif line.lstrip().startswith("╰"):
            rows = None
        elif rows is not None and line.lstrip().startswith("│"):
            inside = line.strip().strip("│")
            rows.append(re.split(r"\s{2,}", inside.strip()) if inside[:2].strip() else [""])
    return found


def listed_options(text: str) -> set[str]:
    """Every option name a help lists: the leading cells of its options panels' rows (`--top-k`, `-k`,
    both of `--bidirectional/--unidirectional`)."""
    names: set[str] = set()
    for title, rows in panels(text).items():
        if "Options" not in title:
            continue
        for cells in rows:
            for cell in [cell for cell in cells if cell != "*"]:  # typer marks a required option with *
                if not OPTION.fullmatch(cell):
                    break
                names.add(cell)
    return names


@functools.cache
def commands() -> list[tuple[str, str]]:
    """(command, its one-line help) from `nameclf --help`'s Commands panel."""
    rows = panels(help_text())["Commands"]
    return [(cells[0], cells[1]) for cells in rows if cells[0] and len(cells) > 1]


def test_the_help_is_read_as_a_user_sees_it():
    """The parsing below sees what it must, or the reference's test would pass on nothing."""
    assert [name for name, _ in commands()][:3] == ["download", "train", "predict"]
    assert {"--version", "--debug", "--help"} <= listed_options(help_text())
    assert {"--top-k", "-k", "--min-confidence", "--help"} <= listed_options(help_text("predict"))
    assert {"--bidirectional", "--unidirectional", "--fold-case", "--keep-case"} <= listed_options(help_text("train"))


def command_sections(reference: str) -> dict[str, str]:
    """The CLI reference's HTML cut at its second-level headings, by heading (`nameclf predict`)."""
    sections = {}
    for chunk in re.split(r"(?=<h2\b)", reference)[1:]:
        heading = visible_text(chunk[: chunk.index("</h2>")]).removesuffix("¶").strip()
        sections[heading] = chunk
    return sections


def test_the_cli_reference_names_every_command_and_option_the_help_lists(site):
    """Each command has its section, with its help and every option its `--help` lists, and the app's
    own options are in the first section."""
    reference = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "nameclf-cli-reference" not in reference  # the marker was replaced
    sections = command_sections(reference)
    expected = {"nameclf": listed_options(help_text())}
    summaries = dict(commands())
    expected |= {f"nameclf {name}": listed_options(help_text(name)) for name in summaries}
    assert list(sections) == list(expected)  # every command, in the order --help lists them
    missing = []
    for heading, options in expected.items():
        assert "--help" in options
        missing += [f"{heading} {option}" for option in sorted(options) if f">{option}</code>" not in sections[heading]]
    for name, summary in summaries.items():
        if " ".join(summary.split()) not in visible_text(sections[f"nameclf {name}"]):
            missing.append(f"nameclf {name}'s help: {summary}")
    assert missing == []


def test_the_cli_reference_gives_defaults_and_environment_variables(site):
    text = visible_text((site / "reference" / "cli" / "index.html").read_text(encoding="utf-8"))
    for expected in ("NAMECLF_MODEL", "NAMECLF_DATA", "NAMECLF_DEBUG", "the last one trained, else de-it", "0.05"):
        assert expected in text


# --- the pages' contents -----------------------------------------------------------------------------


def test_the_model_page_shows_the_lines_of_cells_py_it_explains(site):
    """The excerpts are cells.py's own lines, included at build time: every marked section's code is
    on the page, and no marker or include line is left."""
    page = page_path(site, "model.md").read_text(encoding="utf-8")
    code = code_text(page)
    source = (ROOT / "nameclf" / "cells.py").read_text(encoding="utf-8")
    sections = re.findall(r"# --8<-- \[start:([-\w]+)\]\n(.*?)\n[ \t]*# --8<-- \[end:\1\]", source, flags=re.S)
    assert {name for name, _ in sections} >= {"rnn", "gru", "gru-seeds", "lstm", "lstm-variants", "output"}
    for name, lines in sections:
        for line in lines.splitlines():
            if line.strip():
                assert " ".join(line.split()) in code, f"section {name}: {line.strip()!r} is not on the page"
    assert "8<" not in visible_text(page)


def test_the_benchmarks_page_shows_the_report_make_bench_wrote_as_tables(site):
    """BENCHMARKS.md's every heading and table on the page, rendered (not shown as text), its links to
    the other pages working from docs/."""
    page = page_path(site, "benchmarks.md").read_text(encoding="utf-8")
    report = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ (.+)$", report, flags=re.M)
    text = visible_text(page)
    assert headings and all(" ".join(html.unescape(h.replace("`", "")).split()) in text for h in headings)
    assert page.count("<table") >= report.count("\n|---") and "nameclf-benchmarks-report" not in page
    assert 'href="../studies/' in page and 'href="docs/' not in page  # a link from the root, made relative


def test_the_api_reference_documents_the_public_api(site):
    text = visible_text(page_path(site, "reference/python.md").read_text(encoding="utf-8"))
    for name in ("load", "train", "Classifier", "Prediction", "PredictOptions", "Predictor", "TrainingCallback"):
        assert re.search(rf"\b{name}\b", text), name
    assert "predict_frame" in text and "on_dask" in text


def test_nothing_is_fetched_from_elsewhere(site):
    """No page loads a script, a style sheet, a font or a picture from another host: the site works
    offline, MathJax included."""
    outside = []
    for page in site.rglob("*.html"):
        for tag in re.findall(r"<(?:script|link|img|source|iframe)\b[^>]*>", page.read_text(encoding="utf-8")):
            if re.search(r"""\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", tag):
                outside.append(f"{page.relative_to(site)}: {tag}")
    assert outside == []
    assert (site / "javascripts" / "mathjax" / "tex-svg-full.js").is_file()


# --- the model page in a browser ---------------------------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the name http.server calls it by)
        pass


@contextlib.contextmanager
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1, at the URL returned, for as long as the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


TYPESET = """
const formulas = [...document.querySelectorAll('.arithmatex')];
return {
    formulas: formulas.length,
    typeset: formulas.filter(f => f.querySelector('mjx-container')).length,
    containers: document.querySelectorAll('mjx-container').length,
    errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
};
"""


def open_model_page(driver, url: str) -> dict[str, int]:
    """The model page, loaded and waited on until MathJax has typeset every formula; the counts."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "model/")
    WebDriverWait(driver, WAIT).until(
        lambda d: (counts := d.execute_script(TYPESET))["formulas"] and counts["typeset"] == counts["formulas"]
    )
    counts: dict[str, int] = driver.execute_script(TYPESET)
    return counts


def browser_missing() -> str | None:
    from test_server_browser import missing

    return f"needs headless Chromium: {', '.join(missing)} not found" if missing else None


def test_the_model_pages_equations_are_typeset_in_a_browser(site):
    if reason := browser_missing():
        pytest.skip(f"{reason} (Debian: apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="needs selenium (the test extra)")
    from test_server_browser import browser

    source = page_path(site, "model.md").read_text(encoding="utf-8")
    equations = source.count('class="arithmatex"')
    displayed = len(re.findall(r"<div class=\"arithmatex\"", source))
    assert displayed >= 10  # the page's displayed equations, as arithmatex wrote them
    with served(site) as url:
        driver = browser(1200, 900)
        try:
            counts = open_model_page(driver, url)
            text = driver.execute_script("return document.body.innerText")
            fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        finally:
            driver.quit()
    assert counts["typeset"] == counts["formulas"] == equations
    assert counts["containers"] >= equations and counts["errors"] == 0
    for raw in ("$$", "\\tilde", "\\sigma", "\\odot", "\\(", "\\["):
        assert raw not in text, f"{raw} is shown untypeset"
    assert [name for name in fetched if not name.startswith(url)] == []


def screenshot(out: Path) -> None:
    """Build the site, open the model page in a 1200x900 window and save what it shows at the LSTM's
    equations to `out`. The build is not strict here: another page's broken link does not change this one."""
    from test_server_browser import browser

    with tempfile.TemporaryDirectory(prefix="nameclf-site-") as folder:
        result = build(Path(folder), strict=False)
        if result.returncode:
            raise SystemExit(result.stdout + result.stderr)
        with served(Path(folder)) as url:
            driver = browser(1200, 900)
            try:
                open_model_page(driver, url)
                driver.execute_script(  # the LSTM's heading just below the page's header
                    "const top = document.getElementById('the-lstm-cell-lstm').getBoundingClientRect().top;"
                    "window.scrollTo(0, window.scrollY + top - 60);"
                )
                time.sleep(1)  # the header's title slides to the section's after a scroll
                driver.save_screenshot(str(out))
            finally:
                driver.quit()
    print(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Redraw the model page's picture.")
    parser.add_argument("--screenshot", type=Path, required=True, help="where to save the PNG")
    screenshot(parser.parse_args().screenshot)
