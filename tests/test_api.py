"""The top-level Python API: `nameclf.load` predicts and gives probabilities (without importing torch),
and `nameclf.train` takes the CLI's option names."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nameclf
from nameclf import checkpoint, shipped
from nameclf.paths import bundled_names_dir


def test_the_api_loads_predicts_and_gives_probabilities():
    clf = nameclf.load("de-it")
    assert clf.languages == ["German", "Italian"]
    predictions = clf.predict(["Tribbiani", "Müller"], top_k=2)
    assert [p.language for p in predictions] == ["Italian", "German"]
    assert len(predictions[0].top) == 2
    probabilities = clf.probabilities(["Tribbiani", "", "Müller"])
    assert probabilities.shape == (3, 2) and np.isnan(probabilities[1]).all()
    np.testing.assert_allclose(probabilities[[0, 2]].sum(axis=1), 1.0, atol=1e-5)
    assert probabilities[0, clf.languages.index("Italian")] == pytest.approx(predictions[0].probability, abs=1e-6)
    assert nameclf.load("all").languages == checkpoint.load(shipped.path_of("all")).labels


def test_the_api_trains_with_the_cli_option_names(tmp_path):
    result = nameclf.train(
        out=tmp_path / "m",
        data=bundled_names_dir().parent,
        cell="gru",
        hidden=8,
        epochs=1,
        threads=1,
        char_dropout=0.05,
        mark_latest=False,
    )
    config = checkpoint.load(tmp_path / "m").config
    assert config["training"]["char_dropout"] == 0.05 and config["network"]["cell"] == "gru"
    assert config["command"].startswith("nameclf.train(") and result.model_dir == tmp_path / "m"


def test_importing_nameclf_and_predicting_does_not_import_torch():
    code = (
        "import sys, nameclf; clf = nameclf.load('de-it'); assert clf.predict(['Rossi'])[0].language == 'Italian'; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
