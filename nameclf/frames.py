"""Batch prediction on tables, engine-neutral: a pandas Series or a pyarrow array of names in, a pandas
DataFrame of results out, in one fixed schema (`meta`), on the input's index. Dask (`nameclf.dask`)
and the CLI's `--out` path call it per partition; any other engine can too.

The schema:

| column | dtype | meaning |
|---|---|---|
| `language` | string (nullable) | the answer; null when there is none or the model abstained |
| `probability` | float32 | the top calibrated probability; NaN when there is no answer |
| `abstained` | bool | below `min_confidence`: no language, though `probability` is filled |
| `unknown_characters` | int32 | characters the model never saw |
| `error` | string (nullable) | why there is no answer (empty or missing name, too long, mostly unknown) |
| `p_<language>` | float32 | with `probabilities=True`: each language's calibrated probability |

pandas (and pyarrow for Arrow input) come with the `dask` extra: `pip install 'nameclf[dask]'`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nameclf.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from nameclf.predict import Predictor

INSTALL = "pip install 'nameclf[dask]'"
CHUNK = 65_536  # names answered at a time: the per-name answers of a chunk are what memory holds
DTYPES = {
    "language": "string",
    "probability": "float32",
    "abstained": "bool",
    "unknown_characters": "int32",
    "error": "string",
}


def free_column(name: str, taken) -> str:
    """A result column's name, with `nameclf_` in front while the input already has a column of that name."""
    while name in taken:
        name = f"nameclf_{name}"
    return name


def require_pandas():
    try:
        import pandas
    except ImportError:
        raise UsageError(
            f"table prediction needs pandas, which is not installed; install it with `{INSTALL}`"
        ) from None
    return pandas


def result_columns(languages: Sequence[str] | None = None) -> dict[str, str]:
    """Column name -> dtype of a result table (with one `p_<language>` column each when `languages`)."""
    columns = dict(DTYPES)
    for language in languages or ():
        columns[f"p_{language}"] = "float32"
    return columns


def meta(languages: Sequence[str] | None = None, index: Any = None) -> pd.DataFrame:
    """An empty result table with the schema's dtypes: what Dask's `meta=` needs."""
    pd = require_pandas()
    index = index if index is not None else pd.RangeIndex(0)
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype, index=index[:0]) for name, dtype in result_columns(languages).items()},
        index=index[:0],
    )


def _names_and_index(names: Any):
    """A list of names (None for a missing one) and the index to put the results on."""
    pd = require_pandas()
    if isinstance(names, pd.Series):
        values = names.astype(object).where(names.notna(), None).tolist()
        return values, names.index
    try:
        import pyarrow as pa
    except ImportError:
        pa = None
    if pa is not None and isinstance(names, (pa.Array, pa.ChunkedArray)):
        return names.to_pylist(), pd.RangeIndex(len(names))
    if isinstance(names, (list, tuple)):
        return list(names), pd.RangeIndex(len(names))
    raise UsageError(f"predict_frame takes a pandas Series or a pyarrow array of names, not {type(names).__name__}")


def predict_frame(
    predictor: Predictor, names: Any, probabilities: bool = False, min_confidence: float | None = None
) -> pd.DataFrame:
    """The result table for `names` (see the module's schema), row for row, on their index."""
    import numpy as np

    from nameclf.predict import Unreadable

    pd = require_pandas()
    values, index = _names_and_index(names)
    missing = Unreadable.because("missing name")
    parts: dict[str, list] = {name: [] for name in ("language", "probability", "abstained", "unknown", "error")}
    matrices = []
    for start in range(0, max(len(values), 1), CHUNK):  # bounded memory: a chunk's answers at a time
        chunk = values[start : start + CHUNK]
        inputs = [missing if value is None else value if isinstance(value, str) else str(value) for value in chunk]
        predictions, matrix = predictor.predict_with_probabilities(inputs, min_confidence=min_confidence)
        parts["language"] += [p.language for p in predictions]
        parts["probability"].append(
            np.array([np.nan if p.probability is None else p.probability for p in predictions], dtype=np.float32)
        )
        parts["abstained"].append(np.array([p.abstained for p in predictions], dtype=bool))
        parts["unknown"].append(np.array([p.unknown_characters for p in predictions], dtype=np.int32))
        parts["error"] += [
            p.error or (p.warning if p.language is None and not p.abstained else None) for p in predictions
        ]
        if probabilities:
            matrices.append(matrix)
    columns: dict[str, Any] = {
        "language": pd.array(parts["language"], dtype="string"),
        "probability": np.concatenate(parts["probability"]),
        "abstained": np.concatenate(parts["abstained"]),
        "unknown_characters": np.concatenate(parts["unknown"]),
        "error": pd.array(parts["error"], dtype="string"),
    }
    if probabilities:
        matrix = np.concatenate(matrices)
        for column, language in enumerate(predictor.languages):
            columns[f"p_{language}"] = matrix[:, column]
    return pd.DataFrame(columns, index=index)
