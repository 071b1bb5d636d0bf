"""The command line: each command parses its options, calls one stage's function and prints.

One module per command (`download`, `train`, `predict`, `explain`, `evaluate`, `models` for info and
models, `compare`, `serve`), registered on the app in `entry`; `common` holds what they share (the
options declared once, the error handling), `render` everything drawn on a terminal. Reading names
and tables is `nameclf.tables`, shared with the Python API, Dask and the server.

torch is imported only inside `train` (and `predict --backend torch`), so `--help`, `--version`,
`download`, `predict` and `evaluate` never pay for it.
"""

from typing import Any

from nameclf.cli.entry import main

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole typer app, built on first use (`main` builds only the command it runs)
        from nameclf.cli.entry import full_app

        return full_app()
    raise AttributeError(name)
