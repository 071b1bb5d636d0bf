"""The served models, loaded once per process and found by name: a request never names a path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nameclf.api import load
from nameclf.cards import card
from nameclf.predict import Predictor
from nameclf.server.problems import Problem
from nameclf.server.settings import ServedModel


@dataclass
class Entry:
    name: str
    predictor: Predictor

    def card(self) -> dict[str, Any]:
        """`nameclf info --json`'s card, named as served and without the folder it lives in on the server."""
        figures = card(self.predictor.saved)
        figures["model"] = self.name
        figures.pop("path", None)
        return figures


class Catalogue:
    def __init__(self, models: tuple[ServedModel, ...]):
        self.entries = {model.name: Entry(model.name, load(model.path)) for model in models}
        self.default = models[0].name
        self._cards = {name: entry.card() for name, entry in self.entries.items()}

    def get(self, name: str | None) -> Entry:
        if name is None or name == "":
            return self.entries[self.default]
        entry = self.entries.get(name)
        if entry is None:
            shown = name if len(name) <= 64 else name[:61] + "..."
            raise Problem(
                404,
                "unknown-model",
                f"no model named {shown!r} is served here; choose one of {', '.join(self.entries)} (GET /v1/models)",
            )
        return entry

    def cards(self) -> dict[str, dict[str, Any]]:
        return self._cards

    def ready(self) -> dict[str, bool]:
        """Each model answers a name: loaded and working."""
        answers = {}
        for name, entry in self.entries.items():
            try:
                answers[name] = entry.predictor.predict(["Rossi"])[0].error is None
            except Exception:  # a broken model is reported not ready, not a 500
                answers[name] = False
        return answers
