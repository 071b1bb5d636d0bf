"""The pictures: `evaluate --plot` (a confusion matrix beside a reliability diagram, laid out with no
overlap and no empty band) and `train --plot` (learning curves), and a one-line refusal before any work
without matplotlib or with a picture type it cannot write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run

from nameclf import checkpoint, shipped
from nameclf.paths import bundled_names_dir


@pytest.mark.slow
def test_the_evaluation_picture_has_no_overlap_and_no_empty_band(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from nameclf import plots
    from nameclf.evaluate import evaluate_examples, test_examples
    from nameclf.predict import Predictor

    drawn = {}
    save = plots._save

    def keep(figure, path):
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        drawn[Path(path).name] = {
            "title": figure._suptitle.get_window_extent(renderer),
            "axes": [axis.get_tightbbox(renderer) for axis in figure.axes],
            "labels": [axis.yaxis.label.get_window_extent(renderer) for axis in figure.axes],
            "ticks": [[t.get_window_extent(renderer) for t in axis.get_yticklabels()] for axis in figure.axes],
        }
        return save(figure, path)

    monkeypatch.setattr(plots, "_save", keep)
    for name in shipped.SHIPPED:
        saved = checkpoint.load(shipped.path_of(name))
        report = evaluate_examples(Predictor(saved), test_examples(saved, bundled_names_dir().parent), "test split")
        plots.evaluation(report.to_dict(), tmp_path / f"{name}.png", f"{name} (shipped)")
    for name, parts in drawn.items():
        reliability, colour_bar = 1, 2  # the matrix, the diagram, then the colour bar
        top = max(box.y1 for box in parts["axes"])
        assert parts["title"].y0 - top < 20, name  # the title sits just above the axes: no band
        label = parts["labels"][reliability]
        for tick in parts["ticks"][colour_bar]:
            assert not label.overlaps(tick), name  # "accuracy" clear of the colour bar's ticks
        assert parts["axes"][colour_bar].x1 <= parts["axes"][reliability].x0, name  # the two stand apart


@pytest.mark.slow
def test_evaluate_plot_draws_a_confusion_matrix_and_reliability_diagram(tmp_path, env):
    from matplotlib import image

    picture = tmp_path / "evaluation.png"
    result = run("evaluate", "--model", "all", "--plot", str(picture), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pixels = image.imread(picture)
    height, width = pixels.shape[:2]
    assert 600 <= height <= 3000 and 1000 <= width <= 4000  # 18 languages, and the diagram beside them
    assert pixels.std() > 0.05  # not a blank canvas


@pytest.mark.slow
def test_train_plot_draws_learning_curves(tmp_path, env):
    from matplotlib import image

    picture = tmp_path / "curves.png"
    result = run(
        "train",
        "--hidden",
        "8",
        "--epochs",
        "3",
        "--patience",
        "3",
        "--threads",
        "1",
        "--quiet",
        "--data",
        str(bundled_names_dir().parent),
        "--plot",
        str(picture),
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    height, width = image.imread(picture).shape[:2]
    assert 300 <= height <= 1500 and 800 <= width <= 3000


@pytest.mark.slow
def test_plot_without_matplotlib_is_a_one_line_error_before_any_work(tmp_path, env):
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.argv = ['nameclf'] + sys.argv[1:]; "
        "from nameclf.cli import main; main()"
    )
    picture = tmp_path / "curves.png"
    result = subprocess.run(
        [sys.executable, "-c", code, "train", "--plot", str(picture), "--data", str(bundled_names_dir().parent)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "pip install 'nameclf[plot]'" in result.stderr
    assert not picture.exists() and not (tmp_path / "models").exists()
    bad = run("evaluate", "--plot", str(tmp_path / "evaluation.gif"), env=env, cwd=tmp_path)
    assert bad.returncode == 2 and ".png" in bad.stderr
