"""HEAD wherever GET is: a HEAD request is answered as the GET would be, headers and all, without the
body (RFC 9110, 9.3.2), so `curl -I` and HEAD-based health probes work on every page and endpoint.

FastAPI's routes take only the methods they declare; Starlette's plain routes add HEAD to GET, and
this does the same for the whole app, in front of it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
