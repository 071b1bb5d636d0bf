"""A real HTTP server on 127.0.0.1 for the download tests, with the ways a server can misbehave.

    with LocalServer() as server:
        url = server.route("/data.zip", body=archive)               # 200 with the body
        url = server.route("/gone.zip", status=404)                 # 404
        url = server.route("/flaky.zip", body=archive, fail_first=2)  # 500, 500, then 200
        url = server.route("/cut.zip", body=archive, send=100)      # Content-Length lies, closes
        url = server.route("/slow.zip", body=archive, send=100, then="stall")
        url = server.route("/rst.zip", body=archive, send=100, then="reset")
        url = server.route("/rst0.zip", reset_before_headers=True)
        url = server.route("/mute.zip", stall_before_headers=True)  # connects, never answers
        server.hits["/flaky.zip"]  # how many requests that path got

Paths with no route answer 404. A stalled reply waits at most `stall_seconds`, and less when
the server is closed, so no test can hang on it.
"""

from __future__ import annotations

import io
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LENGTH_OF_BODY = -1


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    fail_first: int = 0  # answer 500 to this many requests first
    content_length: int | None = LENGTH_OF_BODY  # None: send no Content-Length header
    send: int | None = None  # send only this many bytes of the body, then do `then`
    then: str = "close"  # "close", "stall" or "reset"
    reset_before_headers: bool = False
    stall_before_headers: bool = False
    stall_seconds: float = 5.0
    content_type: str = "application/zip"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection; the body ends when it closes
    server: _Server

    def log_message(self, *args):  # keep the test output quiet
        pass

    def do_GET(self):
        app = self.server.app
        path = self.path.split("?", 1)[0]
        with app.lock:
            app.hits[path] += 1
            count = app.hits[path]
        route = app.routes.get(path) or Route(body=b"not found\n", status=404)
        try:
            self._reply(route, count)
        except OSError:
            pass  # the client went away (e.g. after its read timeout)

    def _reply(self, route: Route, count: int) -> None:
        if route.reset_before_headers:
            self._reset()
            return
        if route.stall_before_headers:
            self.server.app.stopping.wait(route.stall_seconds)
            return
        if count <= route.fail_first:
            self._simple(500, b"try again\n")
            return
        body = route.body
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        length = len(body) if route.content_length == LENGTH_OF_BODY else route.content_length
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body if route.send is None else body[: route.send])
        self.wfile.flush()
        if route.send is None or route.then == "close":
            return
        if route.then == "stall":
            self.server.app.stopping.wait(route.stall_seconds)
        elif route.then == "reset":
            self._reset()
        else:
            raise ValueError(f"unknown then={route.then!r}")

    def _simple(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with SO_LINGER 0, so the client gets a TCP RST instead of a clean end."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.wfile.close()
        self.connection.close()  # the last reference: the RST goes out now
        self.wfile = io.BytesIO()  # for the flush http.server still does after do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: LocalServer


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 and a free port; use as a context manager."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route(self, path: str, **behaviour) -> str:
        """Serve `path` as described by `Route(**behaviour)`; the full URL."""
        self.routes[path] = Route(**behaviour)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @staticmethod
    def closed_port_url(path: str = "/data.zip") -> str:
        """A URL on 127.0.0.1 whose port refuses connections."""
        return f"http://127.0.0.1:{closed_port()}{path}"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.stopping.set()  # end any stalled reply now
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that was just bound and closed, so connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
