"""The command line: each command parses its options, calls one stage's function and prints.

One module per command (`download`, `train`, `predict`, `explain`, `evaluate`, `models` for info and
models, `compare`, `serve`), registered on the app in `app`; `common` holds what they share (the
options declared once, the error handling), `render` everything drawn on a terminal. Reading names
and tables is `nameclf.tables`, shared with the Python API, Dask and the server.

torch is imported only inside `train` (and `predict --backend torch`), so `--help`, `--version`,
`download`, `predict` and `evaluate` never pay for it.
"""

from nameclf.cli.app import app, main

__all__ = ["app", "main"]
