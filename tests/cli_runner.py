"""Running nameclf as a user does: the installed script in a subprocess, in an environment of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("nameclf")


def run(*args: str, env: dict | None = None, stdin: str | None = None, cwd: Path | None = None):
    command = [str(SCRIPT), *args] if SCRIPT.exists() else [sys.executable, "-m", "nameclf", *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, input=stdin, cwd=cwd, timeout=300, encoding="utf-8"
    )


def user_env(models: Path, data: Path | None = None) -> dict[str, str]:
    """This process's environment without any NAMECLF_ setting, with private model (and data) folders
    and a wide terminal, so output is not wrapped."""
    values = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    values.update(NAMECLF_MODELS=str(models), COLUMNS="200")
    if data is not None:
        values["NAMECLF_DATA"] = str(data)
    return values
