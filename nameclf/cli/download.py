"""`nameclf download`: fetch the dataset and show what it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nameclf.cli.common import handled
from nameclf.cli.render import err, out
from nameclf.paths import DATA_ENV

EPILOG = "Examples: nameclf download  ·  nameclf download --dest ~/names-data --force"


def download(
    url: Annotated[
        str | None, typer.Option(help="Archive to fetch.", show_default="the PyTorch tutorial's data.zip")
    ] = None,
    dest: Annotated[
        Path | None, typer.Option(help="Folder to put names/ in.", envvar=DATA_ENV, show_default="./data")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if the dataset is there.")] = False,
    no_fallback: Annotated[
        bool, typer.Option("--no-fallback", help="Fail instead of installing the bundled copy when offline.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Fetch the names dataset into [bold]DEST/names/[/bold] and show what it holds."""
    with handled():
        from nameclf import download as downloader

        result = downloader.download(
            url or downloader.DEFAULT_URL, dest, force=force, fallback=not no_fallback, progress=not quiet, console=err
        )
        if result.message:
            err.print(f"[yellow]{escape(result.message)}[/yellow]")
        where = {"url": "downloaded to", "bundled": "installed to", "existing": "already in"}[result.source]
        table = Table(title=f"names dataset {where} {result.names_dir}")
        table.add_column("language")
        table.add_column("names", justify="right")
        table.add_column("unique names", justify="right")
        for language, names, unique in result.summary:
            table.add_row(language, str(names), str(unique))
        table.add_row(
            "[bold]total[/bold]",
            str(sum(row[1] for row in result.summary)),
            str(sum(row[2] for row in result.summary)),
        )
        out.print(table)
        if result.source == "existing":
            err.print("use --force to download it again")
