"""Everything the CLI draws on a terminal: the two consoles, training progress, the count of names
done, and the text forms of answers, explanations, reports, model cards and tables. Results go to
stdout (`out`), everything else to stderr (`err`)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nameclf.callbacks import TrainingCallback

if TYPE_CHECKING:
    from rich.progress import TaskID

    from nameclf.explain import Explanation
    from nameclf.metrics import Report
    from nameclf.results import Prediction
from nameclf.errors import one_line

# NO_COLOR (no-color.org) means plain text: no colour, and no bold or dim either
_color_system: Literal["auto"] | None = None if os.environ.get("NO_COLOR") else "auto"  # "auto": rich's default
out = Console(highlight=False, soft_wrap=True, color_system=_color_system)
err = Console(stderr=True, highlight=False, soft_wrap=True, color_system=_color_system)


class TrainingDisplay(TrainingCallback):
    """A progress bar over epochs and batches, and one line per epoch, on stderr."""

    epochs: TaskID  # the two bars, from the first `start` on
    batches: TaskID

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )

    def __enter__(self) -> TrainingDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def member(self, index: int, members: int) -> None:
        if members > 1:
            self.progress.console.print(f"member {index + 1} of {members}")

    def start(self, epochs: int, batches: int) -> None:
        if hasattr(self, "epochs"):  # the next member of an ensemble: the same bars, from zero
            self.progress.reset(self.epochs, total=epochs)
            self.progress.reset(self.batches, total=batches)
            return
        # drawn from the first epoch, not before, and only on a terminal: an error found while preparing
        # (a bad --out, no dataset) is then the only line, with no empty display printed above it
        if self.console.is_terminal:
            self.progress.start()
        self.epochs = self.progress.add_task("epochs", total=epochs)
        self.batches = self.progress.add_task("batches", total=batches)

    def batch(self) -> None:
        self.progress.advance(self.batches)

    def epoch(self, record: dict[str, float]) -> None:
        self.progress.console.print(
            f"epoch {record['epoch']:3d}  loss {record['loss']:.4f}  "
            f"train {record['train_accuracy']:.2%}  validation {record['validation_accuracy']:.2%}"
        )
        self.progress.advance(self.epochs)
        self.progress.reset(self.batches)


def epochs_text(config: dict[str, Any]) -> str:
    members = config["training"]["member_epochs"]
    if not members:
        return "no network"
    if len(members) == 1:
        return f"best epoch {members[0]['best_epoch']} of {members[0]['epochs_run']}"
    return f"{len(members)} members, best epochs {', '.join(str(m['best_epoch']) for m in members)}"


PROGRESS_EVERY = 4096  # names between two updates of the count: one predict_stream batch


class Update(Protocol):
    """What `progress` yields: tell the display how many are done, and the total once it is known."""

    def __call__(self, done: int, total: int | None = None) -> None: ...


@contextlib.contextmanager
def progress(wanted: bool, what: str, writes_stdout: bool = False) -> Iterator[Update | None]:
    """On stderr, when it is a terminal: a count of `what` done, and a bar once the total is known.
    Yields `update(done, total=None)`, or None when nothing is shown.

    The display never touches stdout (rich's Progress would redirect it to its own console, stderr,
    by default), and it redraws four times a second from its own thread, so the caller only updates
    a count. When the results go to stdout and stdout is a terminal too, the answers themselves show
    the progress, and nothing is drawn over them."""
    if not (wanted and err.is_terminal) or (writes_stdout and sys.stdout.isatty()):
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn(f"{{task.completed:,}} {what}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
        refresh_per_second=4,
    ) as progress:
        task = progress.add_task(what, total=None)

        def update(done: int, total: int | None = None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


NAME_CELLS = 20  # the name column of a text line, in terminal cells
MOST_NAME_CELLS = 60  # a longer name is cut to this, ending in "..."


def shown_name(name: str) -> str:
    """A name as one text column: on one line, control characters as U+FFFD, at most MOST_NAME_CELLS
    terminal cells, padded to NAME_CELLS. Measured in cells, not characters: a CJK character takes two,
    and the columns after it stay in line."""
    from rich.cells import cell_len, set_cell_size

    shown = name.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    shown = "".join(ch if ch.isprintable() else "\ufffd" for ch in shown)
    if cell_len(shown) > MOST_NAME_CELLS:
        shown = set_cell_size(shown, MOST_NAME_CELLS - 3).rstrip() + "..."
    return shown + " " * max(NAME_CELLS - cell_len(shown), 0)


def text_line(prediction: Prediction) -> str:
    shown = shown_name(prediction.name)
    in_set = f"  set: {', '.join(prediction.set)}" if prediction.set is not None else ""
    in_set += "  unfamiliar" if prediction.unfamiliar else ""  # unlike the training names: trust it less
    if prediction.abstained:
        candidates = "  ".join(f"{language} {p:.1%}" for language, p in prediction.top)
        return f"{shown}  unsure  ({candidates}){in_set}"
    if prediction.language is None:
        reason = prediction.error or prediction.warning or "no answer"
        return f"{shown}  -  ({reason})"
    answer = "  ".join(f"{language} {p:.1%}" for language, p in prediction.top)
    line = f"{shown}  {answer}{in_set}"
    if prediction.warning:
        line += f"  ({prediction.warning})"
    return line


def contribution_style(value: float, scale: float) -> str:
    share = value / scale if scale > 0 else 0.0
    if share >= 0.5:
        return "bold green"
    if share >= 0.15:
        return "green"
    if share <= -0.5:
        return "bold red"
    if share <= -0.15:
        return "red"
    return "dim"


def print_explanation(explanation: Explanation) -> None:
    from rich.text import Text

    if explanation.language is None:  # shortened as predict shortens it: a 10,000-character name is no answer
        reason = explanation.error or explanation.warning or "no answer"
        out.print(Text(f"{shown_name(explanation.name).rstrip()}  -  ({reason})"))
        return
    scale = max(abs(value) for _, value in explanation.characters)
    line = Text()
    for character, value in explanation.characters:
        line.append(one_line(character), style=contribution_style(value, scale))
    line.append(f"  {explanation.language} {explanation.probability:.1%}")
    if explanation.substring is not None:
        telling = explanation.substring
        line.append(f"  most telling: {one_line(telling['text'])!r} {nats(telling['contribution'])}")
    if explanation.warning:
        line.append(f"  ({explanation.warning})")
    out.print(line)
    out.print(Text("  " + "  ".join(f"{one_line(c)} {nats(v)}" for c, v in explanation.characters)))


def nats(value: float) -> str:
    """A contribution: two decimals, or two digits in scientific form for a small one (a sure answer's
    characters each move its log-probability by little)."""
    return f"{value:+.2f}" if abs(value) >= 0.005 or value == 0 else f"{value:+.1e}"


def count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def print_report(report: Report, model: str, skipped: int, labels_are: str = "language") -> None:
    """`evaluate`'s text: its figures, per label and confused with which, a model's labels named as the
    model names them ("per language" for the tutorial's, "per label" for a table's countries)."""
    noun = label_noun(labels_are)
    out.print(
        f"[bold]{escape(model)}[/bold] on {escape(report.source)}: {count(report.count, 'name')}, "
        f"accuracy [bold]{report.accuracy:.2%}[/bold], macro-F1 {report.macro_f1:.3f}"
    )
    if skipped:
        out.print(f"{skipped} line(s) skipped (not name<TAB>{noun}, or a {noun} the model does not know)")
    if report.calibration is not None:  # evaluate_examples always sets it; `score` alone does not
        print_calibration(report.calibration)
    if report.abstention is not None:
        figures = report.abstention
        accuracy = figures["accuracy_answered"]
        out.print(
            f"at --min-confidence {figures['min_confidence']:g}: answered {figures['coverage']:.1%} "
            f"({figures['answered']} names), accuracy on those "
            + (f"[bold]{accuracy:.2%}[/bold]" if accuracy is not None else "- (none answered)")
        )
    if report.sets is not None:
        figures = report.sets
        out.print(
            f"at --coverage {figures['coverage']:g}: the set held the true {noun} for "
            f"[bold]{figures['empirical_coverage']:.1%}[/bold] of names, mean set size {figures['mean_set_size']:.2f} "
            f"of {len(report.labels)} {noun}s"
        )
    per = Table(title=f"per {noun}")
    for column in (noun, "precision", "recall", "F1", "names"):
        per.add_column(column, justify="left" if column == noun else "right")
    left_out = []
    for index, (language, figures) in enumerate(report.per_language.items()):
        predicted = sum(row[index] for row in report.confusion)
        if not figures["support"] and not predicted:  # in no name and no answer: nothing to score
            left_out.append(language)
            continue
        scored = figures["support"] > 0  # recall and F1 need names of the language (macro-F1 skips it too)
        per.add_row(
            language,
            f"{figures['precision']:.3f}" if predicted else "-",
            f"{figures['recall']:.3f}" if scored else "-",
            f"{figures['f1']:.3f}" if scored else "-",
            str(figures["support"]),
        )
    out.print(per)
    if left_out:
        out.print(f"not shown, with no names and no answers: {', '.join(left_out)}")
    out.print(confusion_table(report, noun))


MATRIX_LANGUAGES = 6  # up to this many a full matrix fits 80 columns; beyond, each language's top confusions


def confusion_table(report: Report, noun: str = "language") -> Table:
    """The full matrix for a few languages; for more, per true language the share answered right and
    the three languages it is most often taken for, which stays readable at 80 columns."""
    columns = report.labels + (["none"] if report.unanswered else [])
    if len(report.labels) <= MATRIX_LANGUAGES:
        confusion = Table(title="confusion (rows: true, columns: predicted)")
        confusion.add_column("")
        for label in columns:
            confusion.add_column(label, justify="right")
        for label, row in zip(report.labels, report.confusion):
            confusion.add_row(label, *[str(value) for value in row[: len(columns)]])
        return confusion
    confusion = Table(title=f"confusions (per true {noun}: right, and most often taken for)")
    confusion.add_column(noun)
    confusion.add_column("names", justify="right")
    confusion.add_column("right", justify="right")
    confusion.add_column("most often taken for")
    for index, (label, row) in enumerate(zip(report.labels, report.confusion)):
        total = sum(row)
        if not total:
            continue
        wrong = sorted(
            ((count, columns[j]) for j, count in enumerate(row[: len(columns)]) if j != index and count),
            key=lambda item: -item[0],
        )[:3]
        taken = ", ".join(f"{name} {count / total:.0%}" for count, name in wrong) or "-"
        confusion.add_row(label, str(total), f"{row[index] / total:.0%}", taken)
    return confusion


def print_calibration(figures: dict[str, Any]) -> None:
    before = figures["before"]
    line = "ECE {ece:.3f}, NLL {nll:.3f}, Brier {brier:.3f}"
    if not figures["calibrated"]:
        out.print(f"uncalibrated (saved without a temperature; retrain to calibrate): {line.format(**before)}")
        return
    after = figures["after"]
    out.print(
        f"calibration, temperature {figures['temperature']:.2f}: before {line.format(**before)}; "
        f"after {line.format(**after)}"
    )


def experts_text(experts: dict[str, Any]) -> str:
    """The experts line of a card: the weight and each one's validation accuracy."""
    validation = experts.get("validation") or {}
    shown = {"rnn": "network", "ngram": "n-grams", "combination": "combined"}
    scores = ", ".join(
        f"{shown[name]} {figures['accuracy']:.2%}" for name, figures in validation.items() if name in shown
    )
    counted = experts.get("ngram_parameters")
    size = f" ({counted:,} n-gram parameters)" if isinstance(counted, int) else ""
    weight = f"network and n-grams{size}, weight {experts['weight']:.1f} on the network"
    return f"{weight}; validation accuracy {scores}" if scores else weight


def print_card(figures: dict[str, Any]) -> None:
    """The card as a panel on a terminal, its values wrapped to the width and never cut; piped, as plain
    `field  value` lines of any length, for grep and for reading in a file."""
    fields = card_fields(figures)
    if not out.is_terminal:
        print(figures["model"])
        for name, value in fields:
            print(f"  {name:<12} {value}")
        return
    from rich.panel import Panel
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in fields:
        grid.add_row(name, Text(value))
    out.print(Panel(grid, title=escape(figures["model"]), expand=False), soft_wrap=False)


def network_text(network: dict[str, Any] | None) -> str:
    """The card's network line: cell, layers, direction, members and its parameters."""
    if network is None:
        return "none: the character n-gram model alone"
    members = f", {network['members']} members" if network["members"] > 1 else ""
    direction = "bidirectional" if network["bidirectional"] else "unidirectional"
    parameters = f"{network['parameters']:,}" if isinstance(network["parameters"], int) else "?"
    return (
        f"{network['cell']}, {network['layers']} layer(s) of {network['hidden']}, {direction}{members}; "
        f"{parameters} parameters"
    )


def label_noun(name: str) -> str:
    """One of a model's labels, in a sentence: "language" for the tutorial's, "label" for a table's."""
    return "language" if name == "language" else "label"


def labels_word(name: str) -> str:
    """What a model's labels are called: "languages", or "labels (country)" for a table of countries."""
    return "languages" if name == "language" else f"labels ({name})"


def labels_line(figures: dict[str, Any]) -> tuple[str, str]:
    """`languages  2: German, Italian`, or for a table's model whose labels are countries `labels  2
    (country): Germany, Italy`."""
    name, labels = figures.get("label_name", "language"), figures["languages"]
    heading, _, word = labels_word(name).partition(" ")
    return heading, f"{len(labels)}{' ' + word if word else ''}: {', '.join(labels)}"


def table_text(table: dict[str, Any]) -> str:
    """What a model trained on a table of people read: rows, people, names, and the rows it left out."""
    skipped = ", ".join(f"{rows:,} {why}" for why, rows in table["skipped_rows"].items()) or "none"
    parts = table["split_names"]
    return (
        f"{table['file']}: {table['rows']:,} rows, {table['people']:,} people, {table['names']:,} names "
        f"(train {parts['train']:,}, validation {parts['validation']:,}, test {parts['test']:,}), "
        f"name weight {table['name_weight']}; rows skipped: {skipped}"
    )


def card_fields(figures: dict[str, Any]) -> list[tuple[str, str]]:
    """The card's (field, value) lines, in the order `info` shows them."""
    data, metrics = figures["data"], figures["metrics"]
    calibration, training, made = figures["calibration"], figures["training"], figures["made_by"]
    experts = figures.get("experts") or {}

    def share(value: object) -> str:
        return f"{value:.2%}" if isinstance(value, (int, float)) else "-"

    sizes = data.get("sizes") or {}
    macro_f1 = metrics.get("validation_macro_f1")
    return [
        ("network", network_text(figures["network"])),
        *([("experts", experts_text(experts))] if "ngram" in experts.get("names", []) else []),
        labels_line(figures),
        *([("table", table_text(figures["table"]))] if figures.get("table") else []),
        (
            "vocabulary",
            f"{figures['vocabulary']['size']} slots (one for unknown characters)"
            + (", names lower-cased" if figures["vocabulary"]["fold_case"] else ""),
        ),
        (
            "data",
            f"fingerprint {str(data.get('fingerprint'))[:16]}, split seed {data.get('split_seed')}, "
            + ", ".join(f"{k} {v:,}" for k, v in sizes.items()),
        ),
        (
            "validation",
            f"accuracy {share(metrics.get('validation_accuracy'))}, macro-F1 "
            + (f"{macro_f1:.3f}" if isinstance(macro_f1, float) else "-"),
        ),
        (
            "calibration",
            f"temperature {calibration['temperature']:.2f}, prediction sets from "
            f"{calibration['prediction_set_names']} held-out names"
            if calibration["temperature"] is not None
            else "none (answers at T = 1)",
        ),
        (
            "training",
            f"{training.get('seconds') or '?'} s on {training.get('device')}, best epoch "
            f"{training.get('best_epoch')} of {training.get('epochs_run')}, seed {training.get('seed')}",
        ),
        ("made by", f"{made.get('command') or '-'} ({made.get('nameclf')})"),
        ("files", f"{figures['size_bytes'] / 1e6:.1f} MB") if "size_bytes" in figures else ("files", "-"),
    ]
