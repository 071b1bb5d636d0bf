"""Figures printed in the docs against the same figures computed now, on whatever CPU runs the test.

A printed float is compared to the digits it prints: the live value may differ from it by at most one
unit of its last printed digit (BLAS and torch kernels differ between processors in the last bits, and
a figure that rounds 0.0001081515 one way on one machine rounds it the other way on the next). Every
other value (text, integers, booleans, null, the shape of lists and objects) must be equal.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def last_digit_unit(printed: Decimal) -> Decimal:
    """One unit of the last digit `printed` shows: 0.000108152 -> 1e-9, 98.8 -> 0.1, 3E+2 -> 100."""
    return Decimal(1).scaleb(printed.as_tuple().exponent)  # type: ignore[arg-type]


def differences(printed: Any, live: Any, where: str = "$") -> list[str]:
    """Every place `live` strays from `printed` (parsed with Decimal floats) beyond one unit of the last
    printed digit, one line each; empty when they agree."""
    if isinstance(printed, Decimal):
        if isinstance(live, bool) or not isinstance(live, (int, float)):
            return [f"{where}: {live!r} where {printed} is printed"]
        gap = abs(Decimal(repr(float(live))) - printed)
        unit = last_digit_unit(printed)
        return [] if gap <= unit else [f"{where}: {live!r} is {gap:.1E} from the printed {printed} (allowed {unit})"]
    if isinstance(printed, dict):
        if not isinstance(live, dict) or sorted(printed) != sorted(live):
            keys = sorted(live) if isinstance(live, dict) else type(live).__name__
            return [f"{where}: {keys} where {sorted(printed)} is printed"]
        return [line for key in printed for line in differences(printed[key], live[key], f"{where}.{key}")]
    if isinstance(printed, list):
        if not isinstance(live, list) or len(live) != len(printed):
            return [f"{where}: {live!r} where {len(printed)} items are printed"]
        return [line for i, (a, b) in enumerate(zip(printed, live)) for line in differences(a, b, f"{where}[{i}]")]
    if type(printed) is not type(live) or printed != live:
        return [f"{where}: {live!r} where {printed!r} is printed"]
    return []


def json_differences(printed_text: str, live: Any) -> list[str]:
    """`differences` for a JSON document as printed in the docs."""
    return differences(json.loads(printed_text, parse_float=Decimal), live)
