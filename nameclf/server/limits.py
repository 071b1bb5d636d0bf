"""The limits that protect the server, as one ASGI middleware in front of the app.

Before a request reaches a route: a predict or explain request over the concurrency limit gets 503
with Retry-After; a body to those routes that is not JSON gets 415; a body over the size limit gets
413 (from Content-Length, or as soon as the bytes sent pass it); a body still incomplete
after `body_seconds` gets 408. The body is read here, whole, so the route never waits on a slow
client, and a client that goes away halfway is simply dropped. Refusals before the body has been
read close the connection, so what is left of it is never read as a next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nameclf.server import problems
from nameclf.server.settings import Limits

JSON_ROUTES = ("/v1/predict", "/v1/explain")  # what the concurrency limit counts, and what takes JSON
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# A body over the limit is read to its end (and dropped) up to this size before the 413, as nginx
# does: closing on unread bytes makes the kernel reset the connection, and the client never sees why.
DRAIN_BYTES = 64 * 1024 * 1024


class _Refuse(Protocol):
    def __call__(
        self, status: int, slug: str, detail: str, extra_headers: Iterable[tuple[bytes, bytes]] = (), drain: int = 0
    ) -> Awaitable[None]: ...


class LimitsMiddleware:
    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        path = _route_path(scope)
        counted = path in JSON_ROUTES
        headers = _headers(scope)
        declared = headers.get("content-length")
        pending = (declared not in (None, "0")) or "transfer-encoding" in headers

        async def refuse(
            status: int, slug: str, detail: str, extra_headers: Iterable[tuple[bytes, bytes]] = (), drain: int = 0
        ) -> None:
            """Answer a problem; with `drain`, read and drop up to that many bytes of the body after the
            answer is sent and before the connection closes."""

            async def dropping() -> None:
                await _drain(receive, drain, self.limits.body_seconds)

            await _send_problem(
                send, status, slug, detail, scope["path"], list(extra_headers), pending, dropping if drain else None
            )

        if counted and self.in_flight >= self.limits.max_concurrent:
            await refuse(
                503,
                "busy",
                f"the server is answering {self.limits.max_concurrent:,} "
                f"{'request' if self.limits.max_concurrent == 1 else 'requests'} already; retry in a moment",
                [(b"retry-after", str(self.limits.retry_after_seconds).encode())],
            )
            return
        if not counted:
            await self._guarded(scope, receive, send, headers, pending, refuse)
            return
        self.in_flight += 1
        try:
            await self._guarded(scope, receive, send, headers, pending, refuse)
        finally:
            self.in_flight -= 1

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], pending: bool, refuse: _Refuse
    ) -> None:
        declared = headers.get("content-length")
        if scope["method"] == "POST" and _route_path(scope) in JSON_ROUTES:
            why = _not_json(headers)
            if why is not None:
                await refuse(415, "unsupported-media-type", why, [(b"accept-post", b"application/json")])
                return
        too_large = _too_large(self.limits.max_body_bytes)
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body_bytes:
            # answered at once; a body on its way is then read and dropped (not with 100-continue: the
            # client waits for leave to send it, and gets none)
            drain = DRAIN_BYTES if "expect" not in headers and int(declared) <= DRAIN_BYTES else 0
            await refuse(413, "body-too-large", too_large, drain=drain)
            return
        if scope["method"] in BODY_METHODS or pending:
            chunks: list[bytes] = []
            size = 0
            with anyio.move_on_after(self.limits.body_seconds) as timer:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client went away before its body ended: no one to answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.limits.max_body_bytes:
                        more = DRAIN_BYTES - size if message.get("more_body", False) else 0
                        await refuse(413, "body-too-large", too_large, drain=max(more, 0))
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
            if timer.cancelled_caught:
                await refuse(
                    408,
                    "body-timeout",
                    f"the body did not arrive within {self.limits.body_seconds:g} s; send it whole, then wait",
                )
                return
            receive = _replay(b"".join(chunks), receive)
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}


def _not_json(headers: dict[str, str]) -> str | None:
    """Why a request body is refused as not JSON (None when it is JSON)."""
    given = headers.get("content-type")
    if given is None:
        return "send the body as JSON, with Content-Type: application/json"
    media, _, parameters = given.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return f"send the body as JSON, with Content-Type: application/json (not {media[:60] or 'empty'})"
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return "JSON is UTF-8: send charset=utf-8 or no charset"
    if headers.get("content-encoding", "identity").strip().lower() != "identity":
        return "send the body uncompressed (no Content-Encoding)"
    return None


def _too_large(limit: int) -> str:
    return f"the body is over this server's limit of {limit:,} bytes; send fewer names a request"


async def _drain(receive: Receive, budget: int, seconds: float) -> None:
    """Read and drop what is left of a body, at most `budget` bytes and `seconds`."""
    with anyio.move_on_after(seconds):
        while budget > 0:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            budget -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            message["headers"] = [*message["headers"], (b"x-content-type-options", b"nosniff")]
        await send(message)

    return sending


async def _send_problem(
    send: Send,
    status: int,
    slug: str,
    detail: str,
    instance: str,
    headers: list[tuple[bytes, bytes]],
    close: bool,
    then: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Send the problem whole; `then` runs after its last byte is sent and before the response ends
    (the client has its answer, and the server may still read what it sends)."""
    content = problems.encoded(status, slug, detail, instance)
    headers = [
        (b"content-type", problems.MEDIA_TYPE.encode()),
        (b"content-length", str(len(content)).encode()),
        *headers,
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content, "more_body": then is not None})
    if then is not None:
        await then()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
