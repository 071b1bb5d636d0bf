"""Every example in README.md and on the site's pages (docs/**/*.md) runs, and prints what the page shows.

Which fences are examples:
- ```console: each line starting `$ ` is a command, run by bash (a line ending in `\\` goes on to the next);
  the lines after it, up to the next command, are its output as the page shows it. A command ending in
  `# exits N` must exit N, every other one 0.
- ```python: run as a saved script. If it ends in a comment block opened by `# prints:`, what the script
  prints is compared with that block. A python fence of `--8<--` include lines only is an excerpt, not run.
- ```sh holds what sets a machine up (`make` targets, `pip install`, activating the venv): not run here
  (CI's .ci/run runs `make demo` and `make test`), but each target must be in the Makefile and each extra in
  pyproject.toml. Output and pseudo-code go in ```text fences, which nothing runs.

How output is compared: blank lines are ignored; a line `...` stands for any number of lines and `...`
inside a line for any text; numbers agree within a tolerance (a percentage by 2 points, any other number
with a decimal point by 0.02 or 2%, whichever is larger; whole numbers exactly: counts and splits are
deterministic), the rest as text, a run of spaces counting as one. The output shown is matched against
stdout, or stdout and stderr together (a terminal shows both).

Where: each example in an empty folder of its own, as a new user (conftest: no NAMECLF_ setting, a home of
its own; the models folder is the example folder's ./models), with the network closed (a proxy on a closed
port: `nameclf download` then installs the dataset copy that ships in the package). A file that a command
reads and a user would have (people.csv, names.txt, voters.parquet, voters/) is made from FIXTURES when the
example names it.

Servers: `nameclf serve` starts as tests/served.py's `Served` starts it, on a free port instead of the page's,
and its log is compared with the lines shown. An example that sends to http://127.0.0.1:8000 without
starting a server runs against the one that the nearest `nameclf serve` above it on the same page starts,
after the commands that come before it in that example (the training of the model it serves, say).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from cli_runner import user_env

import nameclf.paths

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^( *)```([\w-]*)[^\n]*\n(.*?)^\1```[ \t]*$", re.M | re.S)
NUMBER = r"[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?"
PAGE_PORT = "127.0.0.1:8000"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, so `nameclf download` installs its bundled copy
# what makes an example slow (a second or more): it trains, serves, starts Dask, draws, or downloads (its retries
# against the closed network take seconds before the bundled copy is installed)
SLOW = ("nameclf train", "nameclf.train(", "nameclf compare", "nameclf serve", PAGE_PORT, "--out", "on_dask", "--plot")
SLOW += ("nameclf download",)


@dataclass(frozen=True)
class Fence:
    page: str  # relative to the repository root
    index: int  # the page's n-th fence of its language
    language: str
    body: str
    line: int

    @property
    def id(self) -> str:
        """The test's id: `docs/trust.md#console2`, the page's second console example."""
        return f"{self.page}#{self.language}{self.index}"

    @property
    def where(self) -> str:
        return f"{self.page}, line {self.line}"

    @property
    def serves(self) -> bool:
        return self.language == "console" and any(
            command_words(command)[:2] == ["nameclf", "serve"] for command, _ in commands(self.body)
        )

    @property
    def reaches_server(self) -> bool:
        return PAGE_PORT in self.body


def page_fences(page: Path) -> list[Fence]:
    text = page.read_text(encoding="utf-8")
    fences, counts = [], {}
    for found in FENCE.finditer(text):
        indent, language, body = found.group(1), found.group(2), found.group(3)
        body = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in body.splitlines())
        counts[language] = counts.get(language, 0) + 1
        line = text.count("\n", 0, found.start()) + 1
        fences.append(Fence(str(page.relative_to(ROOT)), counts[language], language, body, line))
    return fences


ALL_FENCES = [fence for page in PAGES for fence in page_fences(page)]


def is_excerpt(fence: Fence) -> bool:
    lines = [line for line in fence.body.splitlines() if line.strip()]
    return bool(lines) and all(line.strip().startswith("--8<--") for line in lines)


def examples() -> list:
    chosen = [f for f in ALL_FENCES if f.language == "console" or (f.language == "python" and not is_excerpt(f))]
    slow = [pytest.mark.slow]
    return [pytest.param(f, id=f.id, marks=slow if any(s in f.body for s in SLOW) else []) for f in chosen]


# --- the commands of a console fence and the output shown for each ------------------------------------


def commands(body: str) -> list[tuple[str, list[str]]]:
    """(command, output lines shown) for each `$ ` line, continuation lines joined."""
    found: list[tuple[str, list[str]]] = []
    lines = iter(body.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + " " + next(lines).strip()
            found.append((command, []))
        elif found:
            found[-1][1].append(line)
        else:
            raise AssertionError(f"output before any command: {line!r}")
    return found


def command_words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def expected_exit(command: str) -> int:
    code = re.search(r"#\s*exits (\d+)\s*$", command)
    return int(code.group(1)) if code else 0


# --- comparing the output shown with the output printed -------------------------------------------------


def line_matches(shown: str, printed: str) -> bool:
    pattern, numbers = [], []
    for piece in re.split(rf"(\.\.\.|{NUMBER}%?|\s+)", shown.strip()):
        if not piece:
            continue
        if piece == "...":
            pattern.append(".*?")
        elif re.fullmatch(f"{NUMBER}%?", piece):
            pattern.append(f"({NUMBER})" + ("%" if piece.endswith("%") else ""))
            numbers.append(piece)
        elif piece.isspace():
            pattern.append(r"\s+")
        else:
            pattern.append(re.escape(piece))
    found = re.fullmatch("".join(pattern), printed.strip())
    return found is not None and all(close(a, b) for a, b in zip(numbers, found.groups()))


def close(shown: str, printed: str) -> bool:
    expected, live = (float(text.rstrip("%").replace(",", "")) for text in (shown, printed))
    if shown.endswith("%"):
        return abs(expected - live) <= 2.0
    if not re.search(r"[.eE]", shown):
        return expected == live
    return abs(expected - live) <= max(0.02, 0.02 * abs(expected))


def output_matches(shown: list[str], printed: str) -> bool:
    expected = [line for line in shown if line.strip()]
    live = [line for line in printed.splitlines() if line.strip()]

    @cache
    def at(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(live)
        if expected[i].strip() == "...":
            return any(at(i + 1, k) for k in range(j, len(live) + 1))
        return j < len(live) and line_matches(expected[i], live[j]) and at(i + 1, j + 1)

    return at(0, 0)


def assert_shows(where: str, shown: list[str], *printed: str) -> None:
    if not any(line.strip() for line in shown) or any(output_matches(shown, text) for text in printed):
        return
    raise AssertionError(f"{where}\n--- the page shows:\n" + "\n".join(shown) + "\n--- it printed:\n" + printed[-1])


# --- the example's folder: a new user's, with the files the page supposes ------------------------------


def people_csv(folder: Path) -> None:
    """The page's sample rows, then 150 German and 150 Italian surnames more: a label needs ten names at least."""
    names = nameclf.paths.bundled_names_dir()
    rows = ["surname,country,people", "Tribbiani,Italy,12", "Müller,Germany,40", "Bauer,Germany,30", "Bauer,Italy,10"]
    rows += [f"{n},Germany,2" for n in (names / "German.txt").read_text(encoding="utf-8").split()[:150]]
    rows += [f"{n},Italy,3" for n in (names / "Italian.txt").read_text(encoding="utf-8").split()[:150]]
    (folder / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


VOTERS = ["Kowalski", "Nguyen", "Rossi", "Müller", "O'Brien"]


def voters_parquet(folder: Path) -> None:
    import pandas as pd

    pd.DataFrame({"surname": VOTERS, "town": ["Kraków", "Hanoi", "Roma", "Bonn", "Cork"]}).to_parquet(
        folder / "voters.parquet"
    )


def voters_folder(folder: Path) -> None:
    import pandas as pd

    (folder / "voters").mkdir()
    pd.DataFrame({"surname": VOTERS}).to_parquet(folder / "voters" / "part-0.parquet")


FIXTURES = {
    "people.csv": people_csv,
    "names.txt": lambda folder: (folder / "names.txt").write_text("Tribbiani\nMüller\n\nNguyen\n", encoding="utf-8"),
    "voters.parquet": voters_parquet,
    "voters/": voters_folder,
}


def prepare(folder: Path, *texts: str) -> None:
    for name, make in FIXTURES.items():
        if any(re.search(rf"(?<![\w/]){re.escape(name)}", text) for text in texts):
            make(folder)


def example_env(folder: Path) -> dict[str, str]:
    env = user_env(folder / "models")
    del env["NAMECLF_MODELS"]  # the default, ./models: the example's own folder, as a new user's
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    for variable in ("HTTP_PROXY", "HTTPS_PROXY"):
        env[variable] = env[variable.lower()] = CLOSED
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def shell(command: str, folder: Path, port: int | None = None) -> subprocess.CompletedProcess:
    if port is not None:
        command = command.replace(PAGE_PORT, f"127.0.0.1:{port}")
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=folder,
        env=example_env(folder),
        timeout=600,
    )


def run_command(fence: Fence, command: str, shown: list[str], folder: Path, port: int | None = None) -> None:
    done = shell(command, folder, port)
    where = f"{fence.where}: $ {command}"
    assert done.returncode == expected_exit(command), f"{where}\nexit {done.returncode}\n{done.stderr[-3000:]}"
    printed = (done.stdout, done.stdout + done.stderr, done.stderr + done.stdout)
    assert_shows(where, shown, *printed)


# --- running an example ---------------------------------------------------------------------------------


def start_server(command: str, folder: Path):
    from served import Served

    words = command_words(command)[2:]
    if "--port" in words:
        at = words.index("--port")
        del words[at : at + 2]
    return Served(words, folder)


def startup_log(server) -> str:
    """What the server printed up to its "running on" line (the test's own requests come after), at the page's port."""
    log = server.log()
    running = re.search(r"Uvicorn running on .*\n", log)
    return log[: running.end() if running else len(log)].replace(f"{server.host}:{server.port}", PAGE_PORT)


def run_console(fence: Fence, folder: Path, shown_log: bool = True, until_serve: bool = False):
    """Run the fence's commands in `folder`; returns the server its `nameclf serve` started, if any (running)."""
    server = None
    for command, shown in commands(fence.body):
        if command_words(command)[:2] == ["nameclf", "serve"]:
            if until_serve:
                return None
            server = start_server(command, folder)
            if shown_log:
                assert_shows(f"{fence.where}: $ {command}", shown, startup_log(server))
        else:
            if until_serve:
                run_command(fence, command, [], folder)
            else:
                run_command(fence, command, shown, folder, server.port if server else None)
    return server


def the_server_above(fence: Fence) -> Fence:
    above = [f for f in ALL_FENCES if f.page == fence.page and f.line < fence.line and f.serves]
    assert above, f"{fence.where} sends to {PAGE_PORT}, and no `nameclf serve` above it on its page starts a server"
    return above[-1]


def run_python(fence: Fence, folder: Path) -> None:
    script = folder / "example.py"
    script.write_text(fence.body, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=folder,
        env=example_env(folder),
        timeout=600,
    )
    assert done.returncode == 0, f"{fence.where}\n{done.stderr[-3000:]}"
    lines = fence.body.splitlines()
    if "# prints:" in lines:
        shown = [line.removeprefix("#").removeprefix(" ") for line in lines[lines.index("# prints:") + 1 :]]
        assert_shows(fence.where, shown, done.stdout)


@pytest.mark.parametrize("fence", examples())
def test_the_example_runs_and_prints_what_the_page_shows(fence: Fence, tmp_path: Path) -> None:
    folder = tmp_path / "example"
    folder.mkdir()
    if fence.language == "python":
        prepare(folder, fence.body)
        run_python(fence, folder)
        return
    if fence.reaches_server and not fence.serves:
        setup = the_server_above(fence)
        prepare(folder, setup.body, fence.body)
        run_console(setup, folder, until_serve=True)
        serving = next(c for c, _ in commands(setup.body) if command_words(c)[:2] == ["nameclf", "serve"])
        server = start_server(serving, folder)
    else:
        prepare(folder, fence.body)
        server = None
    try:
        if server is None:
            server = run_console(fence, folder)
        else:
            for command, shown in commands(fence.body):
                run_command(fence, command, shown, folder, server.port)
    finally:
        if server is not None:
            code = server.stop()
    if server is not None:
        assert code == 0, f"{fence.where}: the server stopped with {code}\n{server.log()[-3000:]}"


# --- the fences that are not run ------------------------------------------------------------------------


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))


def extras() -> set[str]:
    """The extras pyproject.toml declares (read without tomllib, which Python 3.10 lacks)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+) = \[", section, re.M))


@pytest.mark.parametrize("fence", [pytest.param(f, id=f.id) for f in ALL_FENCES if f.language == "sh"])
def test_what_sets_a_machine_up_names_real_targets_and_extras(fence: Fence) -> None:
    for line in fence.body.splitlines():
        words = command_words(line)
        if not words:
            continue
        if words[0] == "make":
            targets = [word for word in words[1:] if "=" not in word]
            assert targets and set(targets) <= make_targets(), f"{fence.id}: {line} (targets: {sorted(make_targets())})"
        elif words[:2] == ["pip", "install"]:
            for package in words[2:]:
                named = re.fullmatch(r"(?:nameclf|\.)(?:\[([\w,-]+)\])?", package)
                assert named, f"{fence.id}: {line}"
                assert set(filter(None, (named.group(1) or "").split(","))) <= extras(), f"{fence.id}: {line}"
        else:
            assert words in (["source", ".venv/bin/activate"], [".", ".venv/bin/activate"]), (
                f"{fence.id}: a sh fence holds make targets, pip installs and the venv's activation; run "
                f"commands in a console fence: {line}"
            )


def test_commands_are_shown_only_where_they_are_run() -> None:
    """A `$ nameclf` or `$ curl` line outside a console fence would be an example that nothing runs."""
    stray = [
        f.id for f in ALL_FENCES if f.language != "console" and re.search(r"^\$ (nameclf|curl|python)", f.body, re.M)
    ]
    assert stray == []


def test_the_pages_have_examples() -> None:
    """The collection finds what the pages hold: a fence's language or indentation the pattern missed
    would leave examples silently unrun."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        opened = len(re.findall(r"^ *```", text, re.M))
        assert opened == 2 * len(page_fences(page)), f"{page.relative_to(ROOT)}: a fence the collection does not see"
    assert sum(f.language == "console" for f in ALL_FENCES) >= 10
    assert sum(f.language == "python" for f in ALL_FENCES) >= 2


@pytest.mark.parametrize(
    ("shown", "printed", "agrees"),
    [
        ("Tribbiani  Italian 100.0%", "Tribbiani             Italian 98.4%", True),
        ("Tribbiani  Italian 100.0%", "Tribbiani             Italian 97.9%", False),
        ("calibration, temperature 0.92", "calibration, temperature 0.93", True),
        ("calibration, temperature 0.92", "calibration, temperature 0.95", False),
        ("140 names", "141 names", False),
        ("test split: 1,744 names", "test split: 1,744 names", True),
        ("saved models/x (... on cpu)", "saved models/x (lstm, 5.9 s on cpu)", True),
        ("Tribbiani Italian", "Tribbiani German", False),
        ('{"probability":0.983544}', '{"probability":0.97}', True),
    ],
)
def test_output_is_compared_within_the_tolerance_the_docstring_gives(shown, printed, agrees) -> None:
    assert line_matches(shown, printed) is agrees


def test_a_line_of_dots_stands_for_any_lines() -> None:
    assert output_matches(["first", "...", "last"], "first\nx\ny\nlast\n")
    assert output_matches(["first", "..."], "first\n")
    assert not output_matches(["first"], "first\nmore\n")
