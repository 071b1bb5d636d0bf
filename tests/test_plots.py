"""The pictures: `evaluate --plot` (a confusion matrix beside a reliability diagram, laid out with no
overlap and no empty band) and `train --plot` (learning curves), and a one-line refusal before any work
without matplotlib or with a picture type it cannot write."""

from __future__ import annotations

from pathlib import Path

import pytest

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
