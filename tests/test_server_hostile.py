"""Hostile input through the real server: each request gets a 4xx (never a 500, never a traceback in
the log), and the server answers a normal request right after.

The batch follows the CLI's fuzz (tests/test_names_fuzz.py) at the HTTP level: control characters,
10,000-character names, invalid UTF-8, JSON nested a thousand levels deep, a 20 MB body, a body that
stops halfway, wrong content types, and what HTTP itself allows a client to get wrong. Then
hypothesis sends arbitrary bodies and values.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from served import Served

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    launch = "from nameclf.server import serve; serve(['de-it', 'all'], port=0, body_seconds=2.0)"
    with Served([], tmp_path_factory.mktemp("hostile"), launch=launch) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with server.client(timeout=30) as http:
        yield http


@pytest.fixture(autouse=True)
def answers_right_after(request):
    """After every hostile request: a normal one is answered, and the log has no error in it."""
    yield
    if "server" not in request.fixturenames:
        return
    server = request.getfixturevalue("server")
    answer = httpx.get(server.url("/v1/predict"), params={"name": "Tribbiani"}, timeout=30)
    assert answer.status_code == 200
    assert answer.json()["results"][0]["language"] == "Italian"
    log = server.log()
    assert "Traceback" not in log
    assert "ERROR" not in log
    assert '" 500' not in log


def raw(server, data: bytes, then: str = "wait", seconds: float = 10) -> bytes:
    """Send bytes as they are on a new connection; read what comes back until the server closes it
    (or `seconds` pass). `then`: "wait" keeps sending open; "half-close" shuts it after the bytes;
    "first" stops reading at the end of the answer's head."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=seconds) as connection:
        try:
            connection.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if then == "half-close":
            connection.shutdown(socket.SHUT_WR)
        received = b""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received and then == "first":
                break
        return received


def status_of(reply: bytes) -> int | None:
    line = reply.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else None


def request_bytes(body: bytes, headers: dict[str, str] | None = None, path: str = "/v1/predict") -> bytes:
    fields = {"Host": "127.0.0.1", "Content-Type": "application/json", "Content-Length": str(len(body))}
    fields.update(headers or {})
    head = "".join(f"{key}: {value}\r\n" for key, value in fields.items() if value is not None)
    return f"POST {path} HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode("latin-1") + body


# --- names that are no names ----------------------------------------------------------------------


CONTROL = ["Ros\x00si", "\x00", "\x1b[31mRossi\x1b[0m", "\x07\x08\x7f", "Ros\x85si", "\x1b]0;pwned\x07", "\x9b2J"]


@pytest.mark.parametrize("name", CONTROL, ids=[repr(n) for n in CONTROL])
def test_control_characters_are_refused(client, name):
    for response in (
        client.post("/v1/predict", json={"names": ["Rossi", name]}),
        client.get("/v1/predict", params={"name": name}),
        client.post("/v1/explain", json={"names": [name]}),
    ):
        assert response.status_code == 422
        assert "control character" in response.json()["detail"]


def test_tab_and_line_breaks_are_text(client):
    answer = client.post("/v1/predict", json={"names": ["Ros\tsi", "Rossi\r\n", "\nMüller"]})
    assert answer.status_code == 200
    assert [r["language"] for r in answer.json()["results"]] == ["Italian", "Italian", "German"]


@pytest.mark.parametrize("name", ["a" * 10_000, " " * 10_000 + "Rossi", "Ж" * 10_000, "😀" * 10_000])
def test_ten_thousand_character_names_are_refused(client, server, name):
    document = client.post("/v1/predict", json={"names": ["Rossi", name]}).json()
    assert document["status"] == 422 and "10,00" in document["detail"] and document["limit"] == 1000
    target = "/v1/predict?name=" + quote(name)  # up to 40 KB: past what h11 reads of a request line
    reply = raw(server, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert status_of(reply) in (400, 414, 422, 431)
    assert client.post("/v1/explain", json={"names": [name]}).status_code == 422


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "Ros\\ud83dsi"])
def test_lone_surrogates_are_refused(client, escape):
    body = ('{"names": ["' + escape + '"]}').encode()
    assert client.post("/v1/predict", content=body, headers=JSON).status_code == 422
    unknown = ('{"names": ["Rossi"], "model": "' + escape + '"}').encode()
    assert client.post("/v1/predict", content=unknown, headers=JSON).status_code in (404, 422)


# --- bodies that are no JSON ----------------------------------------------------------------------


INVALID_UTF8 = [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"Ros\x80si"]


@pytest.mark.parametrize("bad", INVALID_UTF8, ids=[bad.hex() for bad in INVALID_UTF8])
def test_invalid_utf8_is_400(client, bad):
    body = b'{"names": ["' + bad + b'"]}'
    # a surrogate written as UTF-8 (ed a0 80) reads as the lone surrogate, which is no text: 422
    status = 422 if bad == b"\xed\xa0\x80" else 400
    response = client.post("/v1/predict", content=body, headers=JSON)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert client.post("/v1/explain", content=body, headers=JSON).status_code == status


def test_invalid_utf8_in_the_query_is_400(client):
    assert raw_status_get(client, "/v1/predict?name=Ros%FFsi") == 400
    assert raw_status_get(client, "/v1/predict?name=%ED%A0%80") == 400
    assert raw_status_get(client, "/v1/predict?name=Ross%C3%AC") == 200


def raw_status_get(client, target: str) -> int:
    return client.get(httpx.URL(target)).status_code


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"names": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        b'{"a": ' * 1000 + b"1" + b"}" * 1000,
        b"[" * 100_000,
        b'{"names": ["Rossi"], "top_k": ' + b"9" * 5000 + b"}",
    ],
    ids=["list-1000", "names-1000", "object-1000", "open-100000", "number-5000-digits"],
)
def test_json_nested_a_thousand_deep_or_too_big_to_read_is_400(client, body):
    response = client.post("/v1/predict", content=body, headers=JSON)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def test_json_nested_within_reach_is_422(client):
    body = b'{"names": ' + b"[" * 200 + b"]" * 200 + b"}"
    assert client.post("/v1/predict", content=body, headers=JSON).status_code == 422


@pytest.mark.parametrize(
    "body",
    [b"{}", b"null", b"true", b"1e400", b'"names"', b'{"names": ["Rossi"], "top_k": 1e400}', b'{"names": {}}'],
)
def test_json_of_the_wrong_shape_is_422(client, body):
    assert client.post("/v1/predict", content=body, headers=JSON).status_code == 422


# --- bodies too big, too slow, cut short ------------------------------------------------------------


@pytest.mark.slow
def test_a_20_mb_body_is_413(client, server):
    body = b'{"names": ["' + b"a" * 20_000_000 + b'"]}'
    assert client.post("/v1/predict", content=body, headers=JSON).status_code == 413

    def pieces():
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    assert client.post("/v1/predict", content=pieces(), headers=JSON).status_code == 413
    # declared and never sent: answered at once (the server then waits the body time for it, and closes)
    started = time.monotonic()
    reply = raw(server, request_bytes(b"", {"Content-Length": "20000000"}), "first")
    assert status_of(reply) == 413 and time.monotonic() - started < 1.5
    reply = raw(server, request_bytes(b"", {"Content-Length": "20000000"}))
    assert status_of(reply) == 413 and b"body-too-large" in reply and time.monotonic() - started < 8
    # declared, with Expect: 100-continue: refused at once, before any byte of it
    started = time.monotonic()
    reply = raw(server, request_bytes(b"", {"Content-Length": "20000000", "Expect": "100-continue"}))
    assert status_of(reply) == 413 and time.monotonic() - started < 1.5


@pytest.mark.slow
def test_a_body_that_stops_halfway(server):
    whole = json.dumps({"names": ["Rossi"] * 100}).encode()
    started = time.monotonic()
    stalled = raw(server, request_bytes(whole[: len(whole) // 2], {"Content-Length": str(len(whole))}))
    assert status_of(stalled) == 408
    assert 1.5 < time.monotonic() - started < 8
    # the client shuts its side halfway: nobody is left to answer, and nothing breaks
    closed = raw(server, request_bytes(whole[: len(whole) // 2], {"Content-Length": str(len(whole))}), "half-close")
    assert status_of(closed) in (None, 400, 408)
    # a chunked body cut inside a chunk, then a chunk size that is not hexadecimal
    chunked = request_bytes(b"", {"Content-Length": None, "Transfer-Encoding": "chunked"})
    assert status_of(raw(server, chunked + b"100\r\n" + b'{"names": ["Ros', seconds=6)) == 408
    assert status_of(raw(server, chunked + b"zz\r\n{}\r\n0\r\n\r\n")) == 400


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/html",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=----x",
        "application/octet-stream",
        "image/png",
        "application/jsonx",
        "json",
        "",
        "application/json; charset=utf-16",
    ],
)
def test_wrong_content_types_are_415(client, content_type):
    body = b'{"names": ["Rossi"]}'
    assert client.post("/v1/predict", content=body, headers={"content-type": content_type}).status_code == 415


@pytest.mark.parametrize(
    "data",
    [
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"GET /v1/predict?name=Rossi HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 1_000_000 + b"\r\n\r\n",
        b"GET /v1/pre\xffdict HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
        b"BREW /v1/predict HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["smuggling", "length-not-a-number", "two-lengths", "huge-header", "bad-target", "tls", "brew"],
)
@pytest.mark.slow
def test_broken_http_is_4xx(server, data):
    status = status_of(raw(server, data, seconds=6))
    assert status is None or 400 <= status < 500


def test_paths_out_of_the_static_folder_are_404(client):
    for path in ("/static/..%2f..%2fpyproject.toml", "/static/%2e%2e/%2e%2e/settings.py", "/docs-assets/../core.py"):
        assert client.get(httpx.URL(path)).status_code == 404


# --- fuzz ------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=10), children, max_size=6),
    max_leaves=30,
)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=st.binary(max_size=300))
def test_fuzz_any_bytes(client, body):
    for path in ("/v1/predict", "/v1/explain"):
        assert client.post(path, content=body, headers=JSON).status_code in (200, 400, 422)


@FUZZ
@given(
    names=st.lists(st.text(max_size=30), max_size=8) | json_values,
    top_k=json_values,
    coverage=json_values,
    model=st.sampled_from(["de-it", "all", None]) | json_values,
)
def test_fuzz_any_values(client, names, top_k, coverage, model):
    body = {"names": names, "top_k": top_k, "coverage": coverage, "model": model}
    for path in ("/v1/predict", "/v1/explain"):
        response = client.post(path, content=json.dumps(body).encode("utf-8", "surrogatepass"), headers=JSON)
        assert response.status_code in (200, 400, 404, 422), response.text
        if response.status_code == 200:
            assert len(response.json()["results"]) == len(names)


@FUZZ
@given(names=st.lists(st.text(max_size=30), min_size=1, max_size=5), top_k=st.text(max_size=5))
def test_fuzz_the_query(client, names, top_k):
    response = client.get("/v1/predict", params={"name": names, "top_k": top_k or "1"})
    assert response.status_code in (200, 400, 422)


# --- methods ------------------------------------------------------------------------------------------


def test_a_method_a_path_does_not_take_is_405_naming_every_method_it_does(client):
    for method, path, allowed in (
        ("DELETE", "/v1/predict", "GET, HEAD, POST"),
        ("PUT", "/v1/explain", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
    ):
        answer = client.request(method, path)
        assert answer.status_code == 405
        assert answer.headers["allow"] == allowed
    assert (
        client.delete("/v1/predict").json()["detail"] == "DELETE is not allowed on /v1/predict; use GET, HEAD or POST"
    )
    assert client.put("/v1/explain").json()["detail"] == "PUT is not allowed on /v1/explain; use POST"


def test_head_is_answered_wherever_get_is_without_a_body(client):
    for path in ("/healthz", "/readyz", "/", "/v1/models", "/v1/predict?name=Rossi", "/openapi.json"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == got.headers["content-length"]
    assert client.head("/nothing").status_code == 404
