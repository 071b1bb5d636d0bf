"""/v1/predict (GET for a few names, POST for batches) and /v1/explain: check the request, call the
same predictor and explainer as the CLI, answer with the fields of `predict --json` / `explain --json`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from nameclf.errors import NameclfError
from nameclf.options import BOUNDS, UNFAMILIAR, PredictOptions
from nameclf.server import schemas
from nameclf.server.catalogue import Catalogue, Entry
from nameclf.server.problems import Problem
from nameclf.server.settings import Limits

router = APIRouter(prefix="/v1", tags=["predictions"])
ERRORS: dict[int | str, dict[str, Any]] = {  # FastAPI's `responses`: an OpenAPI response object per status
    status: {"description": description, "content": {"application/problem+json": {"schema": schemas.PROBLEM_REF}}}
    for status, description in (
        (400, "Malformed JSON (or a query string that is not UTF-8)"),
        (404, "No served model of that name"),
        (408, "The body did not arrive in time"),
        (413, "Body over the size limit"),
        (415, "Body not JSON"),
        (422, "Too many names, a name that is no text, or a bad parameter"),
        (503, "Over the concurrency limit: see Retry-After"),
    )
}
INLINE_NAMES, INLINE_CHARACTERS, INLINE_EXPLAINED = 16, 256, 24  # about a millisecond of work
# what no name is: C0 and C1 control characters (tab, line feed and carriage return aside, which
# surround pasted names) and lone surrogates, which are not text and cannot be encoded back
NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_names(names: list[str], limits: Limits, explaining: bool = False) -> None:
    """Refuse the whole request (422) for what is no name at all; a name the model cannot answer
    (empty, over its 256 characters, mostly unknown characters) gets its own error instead."""
    most = min(limits.explain_names, limits.max_names) if explaining else limits.max_names
    if not names:
        raise Problem(422, "no-names", "give at least one name")
    if len(names) > most:
        raise Problem(
            422,
            "too-many-names",
            f"{len(names):,} names in one request; this server takes at most {most:,}: send them in batches",
            limit=most,
        )
    for index, name in enumerate(names):
        if len(name) > limits.name_characters:
            raise Problem(
                422,
                "name-too-long",
                f"name {index} is {len(name):,} characters long; this server takes at most {limits.name_characters:,}",
                limit=limits.name_characters,
            )
        found = NOT_TEXT.search(name)
        if found is not None:
            raise Problem(
                422,
                "not-text",
                f"name {index} holds U+{ord(found.group()):04X}, a control character or lone surrogate: "
                "send names as plain text",
            )
    if explaining and sum(map(len, names)) > limits.explain_characters:
        raise Problem(
            422,
            "too-many-characters",
            f"{sum(map(len, names)):,} characters to explain in one request; this server takes at most "
            f"{limits.explain_characters:,}: send fewer names",
            limit=limits.explain_characters,
        )


def _answer(content: bytes) -> Response:
    return Response(content, media_type="application/json")


def _predicted(entry: Entry, names: list[str], options: PredictOptions) -> bytes:
    """Runs in a worker thread: the prediction and its JSON, so the event loop keeps answering."""
    try:
        predictions = entry.predictor.predict(names, options)
    except NameclfError:  # the parameters are checked already: coverage on a model saved without the scores
        raise Problem(
            422,
            "invalid-parameter",
            f"model {entry.name!r} was saved without the held-out scores prediction sets need: leave out coverage",
        ) from None
    results = [{**prediction.to_dict(), "model": entry.name} for prediction in predictions]
    return _encoded(entry, results)


def _explained(entry: Entry, names: list[str]) -> bytes:
    from nameclf.explain import explain

    results = [{**explanation.to_dict(), "model": entry.name} for explanation in explain(entry.predictor, names)]
    return _encoded(entry, results)


def _encoded(entry: Entry, results: list[dict[str, Any]]) -> bytes:
    """The answer's JSON: orjson (in the serve extra) writes 1,000 answers in under 1 ms, the standard
    library in 4-10 ms, a tenth to a fifth of predicting them."""
    content = {"model": entry.name, "results": results}
    try:
        import orjson
    except ImportError:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return orjson.dumps(content)


def _state(request: Request) -> tuple[Catalogue, Limits]:
    return request.app.state.catalogue, request.app.state.settings.limits


async def _run(work: Callable[..., bytes], *args: object, inline: bool) -> bytes:
    """Small work runs on the event loop (a thread hop would cost as much as answering one name);
    the rest in a worker thread, so /healthz and small requests keep being answered meanwhile."""
    return work(*args) if inline else await anyio.to_thread.run_sync(work, *args)


async def _predict(request: Request, names: list[str], model: str | None, options: PredictOptions) -> Response:
    catalogue, limits = _state(request)
    check_names(names, limits)
    entry = catalogue.get(model)
    small = len(names) <= INLINE_NAMES and sum(map(len, names)) <= INLINE_CHARACTERS
    return _answer(await _run(_predicted, entry, names, options, inline=small))


@router.get("/predict", response_model=schemas.PredictResponse, responses=ERRORS, summary="Predict a few names")
async def predict_get(
    request: Request,
    name: Annotated[list[str], Query(description="A name; repeat for several (`?name=Rossi&name=Müller`).")],
    model: Annotated[str | None, Query(max_length=64, description="A served model's name.")] = None,
    top_k: Annotated[int, Query(**BOUNDS["top_k"].schema(), description="List the k likeliest languages.")] = 1,
    min_confidence: Annotated[
        float | None, Query(**BOUNDS["min_confidence"].schema(), description="Abstain below this probability.")
    ] = None,
    coverage: Annotated[
        float | None, Query(**BOUNDS["coverage"].schema(), description="Give prediction sets at this coverage.")
    ] = None,
    unfamiliar: Annotated[
        float, Query(**BOUNDS["unfamiliar"].schema(), description="Flag names whose novelty_p is at most this.")
    ] = UNFAMILIAR,
) -> Response:
    """The language of each name, in order, with the fields of `nameclf predict --json`."""
    try:  # the query string's bytes as sent: Starlette would turn invalid UTF-8 into U+FFFD unseen
        unquote_to_bytes(request.scope.get("query_string", b"").decode("latin-1")).decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(400, "malformed-query", "the query string is not UTF-8 once percent-decoded") from None
    return await _predict(request, name, model, PredictOptions(top_k, min_confidence, coverage, unfamiliar))


@router.post("/predict", response_model=schemas.PredictResponse, responses=ERRORS, summary="Predict a batch")
async def predict_post(request: Request, body: schemas.PredictRequest) -> Response:
    """The language of each name, in order, with the fields of `nameclf predict --json`. One name
    that cannot be answered gets its own `error`; the rest are answered."""
    return await _predict(request, body.names, body.model, body.options())


@router.post("/explain", response_model=schemas.ExplainResponse, responses=ERRORS, summary="Explain names")
async def explain_post(request: Request, body: schemas.ExplainRequest) -> Response:
    """How much each character moved the answer (in nats) and the most telling run of 2-4
    characters, as `nameclf explain --json` gives them."""
    catalogue, limits = _state(request)
    check_names(body.names, limits, explaining=True)
    entry = catalogue.get(body.model)
    small = sum(map(len, body.names)) <= INLINE_EXPLAINED  # explain scores a name 4 x its length times
    return _answer(await _run(_explained, entry, body.names, inline=small))
