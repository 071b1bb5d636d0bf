"""What the operator chose at startup: the served models by name, where to listen, and the limits.

Plain data, no FastAPI: the CLI builds it, `serve` checks it, and each worker process reads it back
from the environment (`to_environment` / `from_environment`) to build its own app.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nameclf.errors import UsageError

SETTINGS_ENV = "NAMECLF_SERVE_SETTINGS"  # how `serve --workers N` hands the settings to its workers
EVERY_INTERFACE = {"0.0.0.0", "::", "", "[::]"}
SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class ServedModel:
    """A model the server answers with: `name` is what requests say, `path` stays on the server."""

    name: str
    path: str


@dataclass(frozen=True)
class Limits:
    """What one request may ask. Names over `name_characters` (or holding control characters) refuse
    the request with 422; a name over the model's own 256 characters gets its own error in a 200."""

    max_names: int = 1000  # names in one predict request (GET or POST)
    max_body_bytes: int = 2 * 1024 * 1024  # 1,000 names of 256 characters, each \\u-escaped, fit
    name_characters: int = 1000  # one name, as sent
    explain_names: int = 100  # names in one explain request: it scores each name 4 x its length times
    explain_characters: int = 1000  # all the names of one explain request together
    max_concurrent: int = 64  # predict and explain requests in flight; more get 503 with Retry-After
    body_seconds: float = 10.0  # a body still incomplete after this gets 408 (a client that stalls)
    retry_after_seconds: int = 1

    def check(self) -> None:
        if not 1 <= self.max_names <= 100_000:
            raise UsageError("--max-names must be between 1 and 100,000")
        if not 1 <= self.max_concurrent <= 10_000:
            raise UsageError("--max-concurrent must be between 1 and 10,000")
        if self.max_body_bytes < 1024 or self.body_seconds <= 0:
            raise UsageError("the body limit must be at least 1 KiB and its time positive")


@dataclass(frozen=True)
class Settings:
    models: tuple[ServedModel, ...]
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cors_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    @property
    def default_model(self) -> str:
        return self.models[0].name

    @property
    def every_interface(self) -> bool:
        return self.host in EVERY_INTERFACE

    def to_environment(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls, text: str | None = None) -> Settings:
        raw = json.loads(text if text is not None else os.environ[SETTINGS_ENV])
        return cls(
            models=tuple(ServedModel(**model) for model in raw["models"]),
            host=raw["host"],
            port=raw["port"],
            workers=raw["workers"],
            cors_origins=tuple(raw["cors_origins"]),
            limits=Limits(**raw["limits"]),
        )


def served_models(specs: list[str] | None) -> tuple[ServedModel, ...]:
    """`--model` values as served models, the first being the default: a shipped name (`de-it`,
    `all`), a model folder (served under its folder's name) or `NAME=FOLDER`; none given, the model
    `predict` would use ($NAMECLF_MODEL, the last one trained, else de-it)."""
    from nameclf import shipped
    from nameclf.registry import resolve_model_dir

    chosen: list[ServedModel] = []
    wanted: Sequence[str | None] = specs or [None]
    for spec in wanted:
        if spec is not None and "=" in spec:
            name, folder = spec.split("=", 1)
            path = resolve_model_dir(folder)
        else:
            path = resolve_model_dir(spec)
            name = shipped.name_of(path) or Path(path).resolve().name
        if not SERVED_NAME.match(name):
            raise UsageError(
                f"cannot serve {path} as {name!r}: a served name is 1-64 letters, digits, '.', '_' or '-'; "
                "give one with --model NAME=FOLDER"
            )
        if any(model.name == name for model in chosen):
            raise UsageError(f"two models would be served as {name!r}; name one with --model NAME=FOLDER")
        chosen.append(ServedModel(name=name, path=str(Path(path).resolve())))
    return tuple(chosen)
