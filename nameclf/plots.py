"""Pictures: learning curves (`train --plot`), and a confusion matrix with a reliability diagram
(`evaluate --plot`). matplotlib is an optional extra (`pip install 'nameclf[plot]'`); without it
`--plot` is a one-line error saying how to install it, checked before any work is done.

Every picture is written to a temporary file beside its target and renamed into place, so a failed
or interrupted plot never leaves half a PNG where a good one was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nameclf.errors import UsageError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INSTALL = "pip install 'nameclf[plot]'"
SUFFIXES = (".png", ".svg", ".pdf")


def check(path: Path | None) -> None:
    """Before any work: matplotlib is installed, the suffix is one we write, and the folder exists."""
    if path is None:
        return
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(f"--plot needs matplotlib, which is not installed; install it with `{INSTALL}`") from None
    if Path(path).suffix.lower() not in SUFFIXES:
        raise UsageError(f"--plot {path}: the file name must end in {', '.join(SUFFIXES)} (e.g. --plot curves.png)")
    if not Path(path).parent.resolve().is_dir():
        raise UsageError(f"--plot {path}: the folder {Path(path).parent} does not exist; create it or pick another")
    if Path(path).is_dir():
        raise UsageError(f"--plot {path} is a folder; give a file name such as {Path(path) / 'plot.png'}")


def _use_agg() -> None:
    """Before pyplot is imported: files only, no display needed, none opened."""
    import matplotlib

    matplotlib.use("Agg")


def _save(figure: Figure, path: Path) -> Path:
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=120, bbox_inches="tight")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a picture is as any file the user writes
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        _use_agg()
        import matplotlib.pyplot as plt

        plt.close(figure)
    return path


def learning_curves(history: Sequence[dict[str, float]], best_epochs: Sequence[int], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch, training and validation, the kept epoch marked (one line per member
    of an ensemble: its history restarts at epoch 1)."""
    _use_agg()
    import matplotlib.pyplot as plt

    members: list[list[dict[str, float]]] = []
    for record in history:
        if record["epoch"] == 1 or not members:
            members.append([])
        members[-1].append(record)
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for index, records in enumerate(members):
        epochs = [r["epoch"] for r in records]
        first = index == 0
        alpha = 1.0 if len(members) == 1 else 0.6
        loss_axis.plot(epochs, [r["loss"] for r in records], "C0-", alpha=alpha, label="training" if first else None)
        loss_axis.plot(
            epochs, [r["validation_loss"] for r in records], "C1-", alpha=alpha, label="validation" if first else None
        )
        accuracy_axis.plot(
            epochs, [r["train_accuracy"] for r in records], "C0-", alpha=alpha, label="training" if first else None
        )
        accuracy_axis.plot(
            epochs,
            [r["validation_accuracy"] for r in records],
            "C1-",
            alpha=alpha,
            label="validation" if first else None,
        )
        if index < len(best_epochs):
            for axis in (loss_axis, accuracy_axis):
                axis.axvline(best_epochs[index], color="0.4", linestyle="--", label="kept epoch" if first else None)
    loss_axis.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="loss")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    return _save(figure, path)


def evaluation(report: dict[str, Any], path: Path, title: str) -> Path:
    """The confusion matrix normalised by row (each true language's names, in %), and beside it the
    reliability diagram (accuracy against calibrated confidence per bin) when the report has bins."""
    import numpy as np

    _use_agg()
    import matplotlib.pyplot as plt

    labels = report["confusion"]["labels"]
    matrix = np.array(report["confusion"]["matrix"], dtype=float)[:, : len(labels)]
    totals = np.array(report["confusion"]["matrix"], dtype=float).sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    bins = (report.get("calibration") or {}).get("reliability")
    size = max(5.0, 0.42 * len(labels) + 2.5)
    # constrained layout keeps the colour bar's ticks clear of the reliability diagram's label
    if bins:
        figure, (matrix_axis, reliability_axis) = plt.subplots(
            1, 2, figsize=(size + 5.5, size), gridspec_kw={"width_ratios": [size, 5.0]}, layout="constrained"
        )
    else:
        figure, matrix_axis = plt.subplots(figsize=(size, size), layout="constrained")
    image = matrix_axis.imshow(shares * 100, cmap="Blues", vmin=0, vmax=100)
    ticks = range(len(labels))
    matrix_axis.set_xticks(ticks, labels, rotation=60, ha="right", fontsize=8)
    matrix_axis.set_yticks(ticks, labels, fontsize=8)
    matrix_axis.set(xlabel="predicted", ylabel="true", title="confusion, % of each true language")
    for row in range(len(labels)):
        for column in range(len(labels)):
            value = shares[row, column] * 100
            if value >= 0.5:
                colour = "white" if value > 55 else "black"
                matrix_axis.text(column, row, f"{value:.0f}", ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=matrix_axis, fraction=0.046, pad=0.04)
    if bins:
        reliability_axis.plot([0, 1], [0, 1], color="0.6", linestyle=":", label="perfect calibration")
        for key, style, name in (("before", "C3o--", "before (network)"), ("after", "C0o-", "after (temperature)")):
            points = bins.get(key)
            if points:
                reliability_axis.plot(
                    [b["confidence"] for b in points], [b["accuracy"] for b in points], style, label=name, markersize=4
                )
        reliability_axis.set(
            xlim=(0, 1.01),
            ylim=(0, 1.01),
            xlabel="confidence (top probability)",
            ylabel="accuracy",
            title="reliability",
            aspect="equal",
        )
        reliability_axis.grid(alpha=0.3)
        reliability_axis.legend(loc="upper left", fontsize=8)
    _title_above_axes(figure, title)
    return _save(figure, path)


def _title_above_axes(figure: Figure, title: str) -> None:
    """The figure's title just above its axes (their own titles and labels included). `suptitle` alone
    sits at the top of the figure, above the empty band that square axes leave in a taller figure; the
    layout is fixed first, then the title is placed, and saving crops what is left around it."""
    figure.canvas.draw()
    figure.set_layout_engine("none")
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas (_use_agg) has one
    boxes = [axis.get_tightbbox(renderer) for axis in figure.axes]
    top = max(box.y1 for box in boxes if box is not None)  # None: an axis not drawn
    gap = 8 * figure.dpi / 72  # 8 points
    figure.suptitle(title, y=(top + gap) / figure.bbox.height, va="bottom")
