"""The one place a device name becomes a torch device: `auto` tries cuda, then mps, then cpu."""

from __future__ import annotations

import torch

from nameclf.errors import UsageError


def resolve_device(name: str) -> torch.device:
    """`auto` → cuda, then mps, then cpu; an explicit device that is not there is a UsageError."""
    name = name.lower()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu or auto")
        return torch.device(name)
    if name == "mps":
        if not mps_ok:
            raise UsageError("--device mps: Apple's MPS is not available here; use --device cpu or auto")
        return torch.device("mps")
    raise UsageError(f"unknown device {name!r}; choose auto, cpu, cuda or mps")
