"""BENCHMARKS.md, the report `make bench` writes at the repository's root, shown on the benchmarks page
as rendered tables: a mkdocs hook (mkdocs.yml, `hooks:`) whose `on_page_markdown` replaces the marker
line in docs/benchmarks.md with the report, its headings one level down (its title under the page's)
and its links, written from the repository's root (`docs/studies.md`), made relative to docs/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

MARKER = "<!-- nameclf-benchmarks-report -->"
PAGE = "benchmarks.md"
REPORT = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str | None:
    if page.file.src_uri != PAGE:
        return None
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} has lost its marker line {MARKER}: the report has nowhere to go")
    return markdown.replace(MARKER, report(REPORT.read_text(encoding="utf-8")))


def report(text: str) -> str:
    text = re.sub(r"\]\(docs/", "](", text)  # a link from the root to docs/x.md is x.md from docs/
    return re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)
