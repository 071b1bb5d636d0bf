"""/v1/models: the served models with their cards (as `nameclf info --json`), and the limits."""

from __future__ import annotations

from fastapi import APIRouter, Request

from nameclf.predict import MAX_NAME_LENGTH
from nameclf.server import schemas

router = APIRouter(prefix="/v1", tags=["models"])


@router.get("/models", response_model=schemas.ModelsResponse, summary="The served models")
async def models(request: Request) -> dict[str, object]:
    """Each served model by the name requests give it, its languages and its card; which one
    answers when a request names none; and what one request may ask."""
    catalogue = request.app.state.catalogue
    limits = request.app.state.settings.limits
    return {
        "default": catalogue.default,
        "models": [
            {
                "name": name,
                "default": name == catalogue.default,
                "languages": card["languages"],
                "card": card,
            }
            for name, card in catalogue.cards().items()
        ],
        "limits": {
            "max_names": limits.max_names,
            "name_characters": limits.name_characters,
            "model_name_characters": MAX_NAME_LENGTH,
            "explain_names": min(limits.explain_names, limits.max_names),
            "explain_characters": limits.explain_characters,
            "max_body_bytes": limits.max_body_bytes,
            "max_concurrent": limits.max_concurrent,
        },
    }
