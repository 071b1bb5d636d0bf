"""Shared fixtures: every test isolated from the user's state; the CLI's environment for a new user, the
bundled dataset, a private copy of it, private env folders, a tiny saved model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_runner import user_env

from nameclf import paths

TINY_LABELS = ["German", "Italian"]
TINY_NAMES = ["Abel", "Müller", "Rossi", "Schmidt", "Bianchi"]
XDG_FOLDERS = {
    "XDG_CONFIG_HOME": "config",
    "XDG_DATA_HOME": "share",
    "XDG_CACHE_HOME": "cache",
    "XDG_STATE_HOME": "state",
}


def pytest_report_header(config: pytest.Config) -> str:
    """Which CPU kernels this run uses: results compared bit for bit hold only within one set of them
    (`make test-cross-machine` runs the cross-machine tests again under another)."""
    import threadpoolctl
    import torch

    blas = sorted(
        {str(pool.get("architecture")) for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"}
    )
    return f"kernels: torch {torch.backends.cpu.get_cpu_capability()}, OpenBLAS {', '.join(blas) or 'not loaded'}"


@pytest.fixture(scope="session")
def shared_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches that hold nothing of the user's and cost seconds to rebuild (matplotlib's font list), kept
    for the whole session in a folder of its own."""
    return tmp_path_factory.mktemp("caches")


@pytest.fixture(autouse=True)
def isolated_user(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_caches: Path
) -> Path:
    """Every test runs as a new user: in an empty working folder of its own, with no NAMECLF_ setting,
    and with HOME and the XDG folders pointed at empty ones. So no test reads or writes the user's
    `./models`, `./data`, home or settings, and a subprocess a test starts inherits the same."""
    user = tmp_path_factory.mktemp("user")
    for key in [key for key in os.environ if key.startswith("NAMECLF_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(user / "home"))
    for variable, folder in XDG_FOLDERS.items():
        monkeypatch.setenv(variable, str(user / folder))
        (user / folder).mkdir(parents=True)
    (user / "home").mkdir()
    monkeypatch.setenv("MPLCONFIGDIR", str(shared_caches / "matplotlib"))
    work = user / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment, for the CLI in a subprocess, of a user with no data and no models folder of their
    own yet: NAMECLF_MODELS names a private folder, not yet made."""
    return user_env(tmp_path / "models")


@pytest.fixture
def names_dir() -> Path:
    """The 18 dataset files shipped in the package (read-only: copy before changing)."""
    return paths.bundled_names_dir()


@pytest.fixture
def data_dir(tmp_path: Path, names_dir: Path) -> Path:
    """A tmp folder holding `names/`, a copy of the bundled files, free to modify."""
    root = tmp_path / "data"
    shutil.copytree(names_dir, root / "names")
    return root


@pytest.fixture
def dataset_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with the real 18 files and a models folder, both private to the test, for training."""
    data = tmp_path / "data"
    shutil.copytree(paths.bundled_names_dir(), data / "names")
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path / "models"))
    return data


@pytest.fixture
def env_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """NAMECLF_MODELS and NAMECLF_DATA pointed at fresh (not yet created) tmp folders."""
    dirs = {"models": tmp_path / "env-models", "data": tmp_path / "env-data"}
    monkeypatch.setenv(paths.MODELS_ENV, str(dirs["models"]))
    monkeypatch.setenv(paths.DATA_ENV, str(dirs["data"]))
    return dirs


def tiny_model_parts(
    cell: str = "gru", hidden: int = 4, layers: int = 1, bidirectional: bool = False, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict]:
    """Random float32 weights and a matching config for a small model, built with numpy only."""
    from nameclf.cells import NetworkSpec, parameter_shapes
    from nameclf.data import Vocabulary

    vocabulary = Vocabulary.build(TINY_NAMES)
    spec = NetworkSpec(
        cell=cell,
        vocab_size=vocabulary.size,
        hidden=hidden,
        layers=layers,
        bidirectional=bidirectional,
        num_labels=len(TINY_LABELS),
    )
    rng = np.random.default_rng(seed)
    weights = {
        name: (rng.standard_normal(shape) * 0.5).astype(np.float32) for name, shape in parameter_shapes(spec).items()
    }
    config = {
        "network": spec.to_dict(),
        "vocabulary": vocabulary.characters,
        "labels": list(TINY_LABELS),
        "training": {"impl": "torch"},
        "data": {},
        "metrics": {},
    }
    return weights, config


@pytest.fixture
def tiny_model_parts_factory():
    """The builder itself, for tests that need other shapes or seeds."""
    return tiny_model_parts


@pytest.fixture
def tiny_model_dir(tmp_path: Path) -> Path:
    """A small saved model (GRU, hidden 4, labels German/Italian), random weights, no training."""
    from nameclf.checkpoint import save

    weights, config = tiny_model_parts()
    return save(tmp_path / "models" / "tiny", weights, config)
