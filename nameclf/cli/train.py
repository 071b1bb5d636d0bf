"""`nameclf train`: train a classifier and save it."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nameclf.choices import Cell, Device, Impl, SharedNames, task_default_text
from nameclf.cli.common import PLOT_INSTALL, DataOption, ExpertsOption, _raise_interrupt, handled
from nameclf.cli.render import TrainingDisplay, epochs_text, err, labels_word

if TYPE_CHECKING:
    from nameclf.labelled import TableSource

EPILOG = (
    "Examples: nameclf train  ·  nameclf train --languages all --plot curves.png  ·  "
    "nameclf train --file people.csv --column surname --label-column country"
)


def train(
    cell: Annotated[
        Cell | None,
        typer.Option(
            help="Recurrent cell (the gru_*/lstm_* variants need --impl scratch).",
            show_default=task_default_text("cell"),
        ),
    ] = None,
    impl: Annotated[Impl, typer.Option(help="torch: fused nn.* cells; scratch: the seeds' equations.")] = Impl.torch,
    hidden: Annotated[
        int | None,
        typer.Option(
            help="Hidden units per direction.",
            show_default=task_default_text("hidden") + "; with --file, 32 under 20,000 training names",
        ),
    ] = None,
    layers: Annotated[
        int | None, typer.Option(help="Stacked recurrent layers.", show_default=task_default_text("layers"))
    ] = None,
    bidirectional: Annotated[
        bool | None,
        typer.Option(
            "--bidirectional/--unidirectional",
            help="Read names both ways.",
            show_default=task_default_text("bidirectional"),
        ),
    ] = None,
    dropout: Annotated[
        float | None, typer.Option(help="Dropout between stacked layers.", show_default=task_default_text("dropout"))
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            help="Most epochs to train.",
            show_default=task_default_text("epochs") + "; with --file, fewer past 66,000 training examples",
        ),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(
            help="Stop after this many epochs without validation gain.", show_default=task_default_text("patience")
        ),
    ] = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Names per batch (each batch holds names of one length).", show_default=task_default_text("batch_size")
        ),
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.", show_default=task_default_text("lr"))] = None,
    average: Annotated[
        float | None,
        typer.Option(
            help="Validate and save a moving average of the weights with this decay; 0: off.",
            show_default=task_default_text("average"),
        ),
    ] = None,
    char_dropout: Annotated[
        float | None,
        typer.Option(
            help="Share of training characters swapped for the unknown slot.",
            show_default=task_default_text("char_dropout"),
        ),
    ] = None,
    label_smoothing: Annotated[
        float | None,
        typer.Option(
            help="Share of each target spread over all languages.", show_default=task_default_text("label_smoothing")
        ),
    ] = None,
    fold_case: Annotated[
        bool | None,
        typer.Option(
            "--fold-case/--keep-case",
            help="Lower-case names before reading them.",
            show_default=task_default_text("fold_case"),
        ),
    ] = None,
    members: Annotated[
        int | None,
        typer.Option(
            help="1: one network; K: an ensemble of K networks, each validated on its own fold of train and "
            "validation.",
            show_default=task_default_text("members"),
        ),
    ] = None,
    experts: ExpertsOption = None,
    seed: Annotated[int, typer.Option(help="Seed for the split, the initial weights and the shuffling.")] = 0,
    device: Annotated[Device, typer.Option(help="auto tries cuda, then mps, then cpu.")] = Device.auto,
    threads: Annotated[
        int | None,
        typer.Option(
            help="CPU threads for torch (one is the fastest on a busy machine).",
            show_default="the OMP_NUM_THREADS variable, else 1",
        ),
    ] = None,
    languages: Annotated[str, typer.Option(help="Comma-separated languages, or `all`.")] = "German,Italian",
    shared_names: Annotated[
        SharedNames, typer.Option(help="Names in several languages: drop them, keep them as multi-label, or auto.")
    ] = SharedNames.auto,
    data: DataOption = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Train on your own labelled table instead: CSV, TSV or Parquet, one row per person (`-`: CSV "
            "on stdin); with --column and --label-column.",
            show_default="the tutorial's files",
        ),
    ] = None,
    column: Annotated[str | None, typer.Option(help="With --file: the column holding the names.")] = None,
    label_column: Annotated[str | None, typer.Option(help="With --file: the column holding the labels.")] = None,
    count_column: Annotated[
        str | None,
        typer.Option(help="With --file: a column saying how many people a row is.", show_default="one per row"),
    ] = None,
    label_name: Annotated[
        str | None,
        typer.Option(
            help="With --file: what the labels are (country, group, ...), as outputs name them.",
            show_default="the label column's name",
        ),
    ] = None,
    name_weight: Annotated[
        str,
        typer.Option(
            help="With --file: how a name's people weigh in training: count, sqrt, log or one (every name alike)."
        ),
    ] = "sqrt",
    workers: Annotated[
        int | None,
        typer.Option(help="With --file: sum the table per name on a local Dask cluster of N processes.", metavar="N"),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="With --file: sum the table per name on the Dask cluster whose scheduler is at ADDRESS.",
            metavar="ADDRESS",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Model folder (env var NAMECLF_MODELS: the folder that replaces ./models).",
            show_default="a folder in ./models named for the cell and languages",
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw the learning curves (loss and accuracy per epoch, the kept epoch marked) to this "
            "PNG, SVG or PDF (needs " + PLOT_INSTALL + " )",
            show_default="no picture",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something goes wrong.")] = False,
) -> None:
    """Train a classifier and save it as the model [bold]predict[/bold] and [bold]evaluate[/bold] use."""
    options = dict(locals())  # every option by its name, which is TrainConfig's field name
    with handled():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            from nameclf import plots
            from nameclf.train_config import TrainConfig
            from nameclf.training import train as run_training

            plots.check(plot)
            table = table_source(file, column, label_column, count_column, label_name, name_weight, options)

            fields = {field.name for field in dataclasses.fields(TrainConfig)}
            # each option has its field's type (typer parsed it), which mypy cannot follow from a name
            settings: dict[str, Any] = {name: _plain(value) for name, value in options.items() if name in fields}
            config = TrainConfig(**settings)
            import shlex

            command = shlex.join(["nameclf", *sys.argv[1:]])
            with summed_on_dask(table, workers, scheduler) as table:
                if quiet:
                    result = run_training(config, data, out_dir, command=command, table=table)
                else:
                    with TrainingDisplay(err) as callback:
                        result = run_training(config, data, out_dir, callback=callback, command=command, table=table)
        finally:
            signal.signal(signal.SIGTERM, previous)
        if plot is not None:
            best = [member["best_epoch"] for member in result.config["training"]["member_epochs"]]
            plots.learning_curves(result.history, best, plot, f"{result.model_dir}")
            if not quiet:
                err.print(f"wrote {plot}")
        if quiet:
            return
        metrics, training = result.config["metrics"], result.config["training"]
        names = result.config["experts"]["names"]
        made_of = {"rnn": training["cell"], "ngram": "n-grams"}
        print(
            f"saved {result.model_dir}  ({' + '.join(made_of[n] for n in names)}, "
            f"{len(result.config['labels'])} {labels_word(result.config['data'].get('label_name', 'language'))}, "
            f"{epochs_text(result.config)}, "
            f"{'out-of-fold ' if len(training['member_epochs']) > 1 else ''}"
            f"validation accuracy {metrics['validation_accuracy']:.2%}, "
            f"{result.config['training_seconds']:.1f} s on {training['device']})"
        )


@contextlib.contextmanager
def summed_on_dask(
    table: TableSource | None, workers: int | None, scheduler: str | None
) -> Iterator[TableSource | None]:
    """With --workers or --scheduler, the table summed per name and label on Dask (`on_dask.summed_people`)
    into a temporary Parquet file that training reads instead; the table itself otherwise."""
    if workers is None and scheduler is None:
        yield table
        return
    from nameclf.errors import UsageError
    from nameclf.labelled import TableSource

    if table is None:
        raise UsageError("--workers and --scheduler sum a table of people: give it with --file TABLE")
    from nameclf.on_dask import summed_people

    with tempfile.TemporaryDirectory(prefix="nameclf-people-") as folder:
        out = Path(folder) / "people.parquet"
        columns = summed_people(Path(table.path), table.columns, out, workers, scheduler)
        summed = f"{Path(table.path).name}, summed per name and label on Dask"
        yield TableSource(str(out), columns, table.labels_are, table.weighting, shown_as=summed)


def table_source(
    file: Path | None,
    column: str | None,
    label_column: str | None,
    count_column: str | None,
    label_name: str | None,
    name_weight: str,
    options: dict[str, Any],
) -> TableSource | None:
    """The labelled table `--file` names, with its options checked; None for the tutorial's files."""
    from nameclf.errors import UsageError
    from nameclf.labelled import WEIGHTINGS, Columns, TableSource

    given = [f"--{flag}" for flag, value in (("column", column), ("label-column", label_column)) if value]
    given += [f"--{flag}" for flag, value in (("count-column", count_column), ("label-name", label_name)) if value]
    if file is None:
        if given or name_weight != "sqrt":
            raise UsageError(f"{(given or ['--name-weight'])[0]} reads a table: give it with --file TABLE")
        return None
    if column is None or label_column is None:
        raise UsageError("--file TABLE needs --column (the names) and --label-column (the labels)")
    if options["data"] is not None or options["languages"] != "German,Italian":
        raise UsageError("--file trains on the table's labels: leave out --data and --languages")
    if name_weight not in WEIGHTINGS:
        raise UsageError(f"--name-weight must be one of {', '.join(WEIGHTINGS)}, not {name_weight!r}")
    return TableSource(str(file), Columns(column, label_column, count_column), label_name, name_weight)


def _plain(value: object) -> object:
    """An option's value as TrainConfig takes it: a choice by its name."""
    return value.value if isinstance(value, enum.Enum) else value
