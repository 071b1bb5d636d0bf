"""Lists of strings in safetensors files, which hold arrays only: the UTF-8 bytes of the strings
joined, and the offset where each one ends. The n-gram model's vocabulary and the unfamiliar-name
language model's n-grams are saved this way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack_strings(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A list of strings as two arrays for safetensors: their UTF-8 bytes joined (uint8) and the
    offset where each one ends (int32: a vocabulary is far below 2 GiB)."""
    encoded = [text.encode("utf-8") for text in strings]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    return data, np.cumsum([len(text) for text in encoded], dtype=np.int64).astype(np.int32)


def unpack_strings(data: np.ndarray, ends: np.ndarray) -> list[str]:
    """The list `pack_strings` packed."""
    raw = np.asarray(data, dtype=np.uint8).tobytes()
    offsets = np.asarray(ends, dtype=np.int64).tolist()
    if offsets and (offsets[-1] != len(raw) or any(b < a for a, b in zip(offsets, offsets[1:]))):
        raise ValueError("packed strings: the offsets do not fit the bytes")
    return [raw[start:end].decode("utf-8") for start, end in zip([0, *offsets[:-1]], offsets)]
