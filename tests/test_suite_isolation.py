"""No test reads the user's state: each runs in an empty folder of its own, with no NAMECLF_ setting
and a home of its own, so the suite passes after `make demo` has trained a model in the checkout."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import train_tiny

from nameclf import registry

TESTS = Path(__file__).resolve().parent


def test_each_test_starts_as_a_new_user_in_an_empty_folder(tmp_path):
    assert list(Path.cwd().iterdir()) == [] and Path.cwd() != TESTS.parent
    assert not [key for key in os.environ if key.startswith("NAMECLF_")]
    home = Path(os.environ["HOME"])
    assert home.is_dir() and list(home.iterdir()) == [] and home != Path(os.path.expanduser("~root"))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        assert Path(os.environ[variable]).parent == home.parent
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getcwd()); print(os.environ['HOME'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.split("\n")[:2] == [str(Path.cwd()), str(home)]  # subprocesses inherit it


@pytest.mark.slow
def test_the_resolution_tests_pass_beside_a_trained_models_latest(tmp_path, tmp_path_factory):
    """The folder a user has after `make demo`: ./models/LATEST names a model trained there, and
    NAMECLF_MODEL names it too. The suite's tests of which model answers by default still pass there."""
    trained = train_tiny(tmp_path)
    assert trained.returncode == 0, trained.stderr
    latest = (tmp_path / "models" / registry.LATEST_FILE).read_text(encoding="utf-8").strip()
    assert (tmp_path / "models" / latest / "config.json").is_file()
    hostile = dict(
        os.environ,
        NAMECLF_MODEL=str(tmp_path / "models" / latest),
        NAMECLF_MODELS=str(tmp_path / "models"),
        NAMECLF_DATA=str(tmp_path / "nowhere"),
        HOME=str(tmp_path),
    )
    suite = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-m", "resolution", "-p", "no:cacheprovider", str(TESTS)),
            f"--basetemp={tmp_path_factory.mktemp('nested')}",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=hostile,
        timeout=600,
    )
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else suite.stderr
    assert suite.returncode == 0, suite.stdout[-3000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 9 and "failed" not in summary, summary
    # and the tests left the user's models as they were (pytest's own tools may keep a cache folder here)
    assert sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith(".")) == ["models"]
    kept = sorted(path.name for path in (tmp_path / "models").iterdir() if not path.name.startswith("."))
    assert kept == sorted([registry.LATEST_FILE, latest])
    assert (tmp_path / "models" / registry.LATEST_FILE).read_text(encoding="utf-8").strip() == latest


@pytest.mark.resolution
def test_the_api_without_a_model_is_the_rule_not_the_users_state():
    import nameclf
    from nameclf import shipped

    assert nameclf.load().saved.path == shipped.path_of("de-it")
