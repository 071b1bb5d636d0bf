"""What the README says holds: every `Class.method` it names exists where it says, the figures it gives
of the shipped models are theirs (to the digits shown), the commands it gives an exit code for exit with
it, and its examples run."""

from __future__ import annotations

import json
import pickle
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run, user_env

import nameclf
from nameclf import checkpoint, shipped

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_python_name_the_readme_gives_exists():
    """`nameclf.load(model).predict_frame(...)`, `Predictor.load`, `nameclf.on_dask.predict`: each dotted name
    in code spans resolves (`Predictor.predict_frame` would not: only what `nameclf.load` returns has it)."""
    import importlib

    from nameclf.predict import Predictor

    roots = {"Predictor": Predictor, "nameclf": nameclf, "nameclf.load(model)": nameclf.load("de-it")}
    checked = 0
    for root, path in re.findall(r"`(Predictor|nameclf\.load\(model\)|nameclf)((?:\.\w+)+)", README):
        target = roots[root]
        for part in path.strip(".").split("."):
            if not hasattr(target, part) and isinstance(target, type(nameclf)):
                try:
                    importlib.import_module(f"{target.__name__}.{part}")
                except ModuleNotFoundError:
                    pass
            assert hasattr(target, part), f"the README names {root}{path}, and {part} is not there"
            target = getattr(target, part)
        checked += 1
    assert checked >= 5


@pytest.mark.cross_machine
@pytest.mark.parametrize("model", ["de-it", "all"])
def test_the_pickled_sizes_are_the_readmes(model):
    ((number, unit),) = re.findall(rf"([0-9.]+) (KB|MB) for\s+`{re.escape(model)}`", README)
    stated = float(number) * {"KB": 1e3, "MB": 1e6}[unit]
    size = len(pickle.dumps(nameclf.load(model)))
    assert abs(size - stated) <= 0.05 * stated, f"{model} pickles to {size:,} bytes, the README says {number} {unit}"


@pytest.mark.cross_machine
def test_the_temperature_of_all_is_the_readmes():
    (printed,) = re.findall(r"The shipped `all`, whose answers combine.*?has\s+T = ([0-9.]+)\b", README, re.S)
    temperature = nameclf.load("all").saved.temperature
    assert abs(temperature - float(printed)) <= 10 ** -len(printed.split(".")[1]), temperature


def test_the_readme_gives_the_pair_tasks_training_size_as_info_does():
    sizes = checkpoint.load(shipped.path_of("de-it")).config["data"]["sizes"]
    stated = int(re.search(r"German/Italian, about ([\d,]+) training names", README).group(1).replace(",", ""))
    assert abs(stated - sizes["train"]) < 100


def test_the_commands_the_readme_gives_an_exit_code_exit_with_it(tmp_path, env):
    """Each `predict` or `explain` command the README gives an exit code for (`nameclf predict 12345
    Tribbiani` exits 0), run, exits with that code."""
    flat = " ".join(README.split())
    claims = re.findall(r"`(nameclf (?:predict|explain) [^`]+)` exits (\d+)", flat)
    assert len(claims) >= 2
    for command, code in claims:
        result = run(*shlex.split(command)[1:], env=env, cwd=tmp_path)
        assert result.returncode == int(code), (command, result.stderr)


@pytest.mark.slow
def test_the_readme_dask_snippet_runs_as_a_saved_script(tmp_path, env):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("distributed")
    section = README[README.index("## Tables of any size") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert 'if __name__ == "__main__":' in snippet
    (tmp_path / "voters").mkdir()
    pd.DataFrame({"surname": ["Kowalski", "Nguyen", "Rossi"]}).to_parquet(tmp_path / "voters" / "part-0.parquet")
    script = tmp_path / "label_voters.py"
    script.write_text(snippet, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    labelled = pd.read_parquet(tmp_path / "labelled")
    assert labelled["surname"].tolist() == ["Kowalski", "Nguyen", "Rossi"]
    assert labelled["language"].tolist()[:2] == ["Polish", "Vietnamese"]


def test_the_readme_api_example_runs(tmp_path):
    section = README.split("## Python API", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "nameclf.load" in example
    result = subprocess.run(
        [sys.executable, "-c", example],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=user_env(tmp_path / "models", tmp_path / "data"),
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_the_readme_path_from_a_labelled_csv_to_predict_evaluate_and_serve_runs_as_written(tmp_path, env):
    """The README's own-labels commands, run as written in a folder holding a `people.csv` that starts
    with the README's sample rows (and has 150 German and 150 Italian surnames more, as a label needs ten
    names at least); `serve` on a free port instead of 8000, so that parallel tests cannot collide."""
    from served import Served

    section = README[README.index("<!-- own-labels") :]
    sample = re.search(r"```\n(surname,country,people\n.*?)```", README, re.S).group(1)
    commands = re.search(r"```console\n(.*?)```", section, re.S).group(1).splitlines()
    names = nameclf.paths.bundled_names_dir()
    more = [f"{n},Germany,2" for n in (names / "German.txt").read_text(encoding="utf-8").split()[:150]]
    more += [f"{n},Italy,3" for n in (names / "Italian.txt").read_text(encoding="utf-8").split()[:150]]
    (tmp_path / "people.csv").write_text(sample + "\n".join(more) + "\n", encoding="utf-8")
    *batch, serve = [shlex.split(line.removeprefix("$ "))[1:] for line in commands]
    results = [run(*arguments, env=env, cwd=tmp_path) for arguments in batch]
    assert all(result.returncode == 0 for result in results), [r.stderr for r in results]
    answers = [json.loads(line) for line in results[1].stdout.splitlines()]
    assert [a["label"] for a in answers][0] == "Italy" and answers[1]["label"] in ("Germany", "Italy")
    assert "by people" in results[2].stdout and "ceiling" in results[2].stdout
    port = serve.index("--port")
    with Served(serve[1:port] + serve[port + 2 :], tmp_path) as server:
        import httpx

        answer = httpx.get(server.url("/v1/predict"), params={"name": "Tribbiani"}).json()
    assert answer["results"][0]["label"] == "Italy" and "language" not in answer["results"][0]
