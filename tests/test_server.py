"""`nameclf serve` through a real uvicorn in a subprocess on 127.0.0.1, talked to with httpx: every
endpoint, every error status, answers equal to the Python API's, the limits, and the ways to stop it.

The hostile inputs and the fuzz are in test_server_hostile.py, the page in test_server_browser.py.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from figures import json_differences
from served import Served, clean_environment

import nameclf
from nameclf.cards import card
from nameclf.checkpoint import load
from nameclf.explain import explain
from nameclf.paths import bundled_names_dir
from nameclf.shipped import path_of

PROBLEM = "application/problem+json"


def dataset_names(count: int) -> list[str]:
    names: list[str] = []
    for language in ("German", "Italian", "French", "Japanese"):
        names += (bundled_names_dir() / f"{language}.txt").read_text(encoding="utf-8").split()
    return [names[(i * 7919) % len(names)] for i in range(count)]


def as_json(value):
    return json.loads(json.dumps(value))


def expected_predictions(model: str, names: list[str], *args) -> list[dict]:
    """What the Python API answers, with PredictOptions's arguments in order (top_k, min_confidence, ...)."""
    predictions = nameclf.load(model).predict(names, nameclf.PredictOptions(*args))
    return as_json([{**p.to_dict(), "model": model} for p in predictions])


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    document = response.json()
    assert document["status"] == status
    assert document["type"] and document["title"] and document["detail"]
    for word in words:
        assert word in document["detail"], document["detail"]
    return document


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Served(
        ["--model", "de-it", "--model", "all", "--cors-origin", "https://app.example"],
        tmp_path_factory.mktemp("server"),
    ) as running:
        yield running
    assert "Traceback" not in running.log()


@pytest.fixture(scope="module")
def client(server):
    with server.client() as http:
        yield http


# --- answers ------------------------------------------------------------------------------------


def test_get_predict_answers_as_the_python_api(client):
    names = ["Tribbiani", "Rossi", "Müller", "Schwarzenegger"]
    response = client.get("/v1/predict", params={"name": names, "top_k": 2, "min_confidence": 0.9, "coverage": 0.9})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["model"] == "de-it"
    assert answer["results"] == expected_predictions("de-it", names, 2, 0.9, 0.9)
    assert answer["results"][0]["language"] == "Italian"


def test_post_predict_a_batch_in_order_with_its_own_errors(client):
    names = dataset_names(995) + ["", "   ", "x" * 300, "1234567890", "Ros\tsi"]
    response = client.post("/v1/predict", json={"names": names, "model": "all", "top_k": 3, "coverage": 0.8})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["name"] for r in results] == names
    assert results == expected_predictions("all", names, 3, None, 0.8)
    errors = {r["name"]: r["error"] or r["warning"] for r in results[-5:]}
    assert errors[""] == "empty name"
    assert "the limit is 256" in errors["x" * 300]
    assert "unknown to this model" in errors["1234567890"]
    assert all(r["model"] == "all" for r in results)


def test_answers_have_the_fields_of_predict_json(client):
    cli = subprocess.run(
        [sys.executable, "-m", "nameclf", "predict", "--json", "--model", "de-it", "-k", "2", "Tribbiani"],
        capture_output=True,
        text=True,
        check=True,
    )
    printed = json.loads(cli.stdout)
    served = client.post("/v1/predict", json={"names": ["Tribbiani"], "top_k": 2}).json()["results"][0]
    assert set(served) == set(printed)
    assert {k: v for k, v in served.items() if k != "model"} == {k: v for k, v in printed.items() if k != "model"}
    assert (served["model"], printed["model"]) == ("de-it", "de-it (shipped)")


def test_explain_gives_what_explain_json_gives(client):
    names = ["Tribbiani", "Müller", "", "Nguyen"]
    response = client.post("/v1/explain", json={"names": names, "model": "all"})
    assert response.status_code == 200
    expected = [{**e.to_dict(), "model": "all"} for e in explain(nameclf.load("all"), names)]
    assert response.json() == {"model": "all", "results": as_json(expected)}
    first = response.json()["results"][0]
    assert "".join(c["character"] for c in first["characters"]) == "Tribbiani"
    assert first["substring"]["text"] in "Tribbiani"


def test_models_lists_each_served_model_with_its_card(client):
    answer = client.get("/v1/models").json()
    assert answer["default"] == "de-it"
    assert [m["name"] for m in answer["models"]] == ["de-it", "all"]
    assert [m["default"] for m in answer["models"]] == [True, False]
    for model in answer["models"]:
        expected = as_json(card(load(path_of(model["name"]))))
        expected["model"] = model["name"]
        del expected["path"]  # the server's folders are not the clients' business
        assert model["card"] == expected
        assert model["languages"] == expected["languages"]
    assert len(answer["models"][1]["languages"]) == 18
    assert answer["limits"]["max_names"] == 1000
    assert answer["limits"]["model_name_characters"] == 256
    assert str(path_of("de-it")) not in json.dumps(answer)


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "models": {"de-it": True, "all": True}}


# --- schema, docs and page ------------------------------------------------------------------------


def test_openapi_schema_documents_the_api(client):
    schema = client.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths["/v1/predict"]) == {"get", "post"}
    for path in ("/v1/explain", "/v1/models", "/healthz", "/readyz"):
        assert path in paths
    post = paths["/v1/predict"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PredictRequest")
    assert {"400", "404", "408", "413", "415", "422", "503"} <= set(post["responses"])
    problem = post["responses"]["422"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert problem == "#/components/schemas/Problem"
    assert {"type", "title", "status", "detail"} <= set(schema["components"]["schemas"]["Problem"]["properties"])
    fields = schema["components"]["schemas"]["PredictionResult"]["properties"]
    assert set(fields) == {
        "name", "label", "language", "probability", "top", "unknown_characters", "error", "warning", "abstained", "set",
        "unfamiliar", "novelty_p", "model",
    }  # fmt: skip
    answered = client.post("/v1/predict", json={"names": ["Rossi"]}).json()["results"][0]
    assert set(answered) == set(fields)  # the schema names every field an answer carries, and no other
    assert "unfamiliar" in schema["components"]["schemas"]["PredictRequest"]["properties"]


def test_the_unfamiliar_level_is_a_parameter_and_answers_as_the_python_api(client):
    names = dataset_names(40) + ["Nguyen", "Smith", "Xiong", "Kowalczyk"]
    default = client.post("/v1/predict", json={"names": names, "model": "de-it"}).json()["results"]
    loose = client.post("/v1/predict", json={"names": names, "model": "de-it", "unfamiliar": 0.5}).json()["results"]
    got = client.get("/v1/predict", params={"name": names, "model": "de-it", "unfamiliar": 0.5}).json()["results"]
    assert loose == got == expected_predictions("de-it", names, 1, None, None, 0.5)
    assert default == expected_predictions("de-it", names)
    assert [r["novelty_p"] for r in loose] == [r["novelty_p"] for r in default]  # the level moves the flag only
    assert sum(r["unfamiliar"] for r in loose) > sum(r["unfamiliar"] for r in default)
    for bad in (0, 1, 1.5, -0.1):
        assert_problem(client.post("/v1/predict", json={"names": ["Rossi"], "unfamiliar": bad}), 422)
        assert_problem(client.get("/v1/predict", params={"name": "Rossi", "unfamiliar": bad}), 422)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_are_served_from_the_package_with_no_cdn(client, page):
    html = client.get(page)
    assert html.status_code == 200
    assert "http://" not in html.text and "https://" not in html.text
    assets = [part.split('"')[0] for part in html.text.split('src="')[1:]] + [
        part.split('"')[0] for part in html.text.split('href="')[1:]
    ]
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        fetched = client.get("/" + asset)  # named relative to the page, so a path prefix works
        assert fetched.status_code == 200, asset
        assert len(fetched.content) > 100


def test_page_and_its_files_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("static/app.js", "static/style.css", "static/favicon.svg"):
        assert asset in page.text
        fetched = client.get("/" + asset)
        assert fetched.status_code == 200
        assert "https://" not in fetched.text and "http://" not in fetched.text.replace("http://www.w3.org", "")
    assert page.headers["x-content-type-options"] == "nosniff"


def test_cors_only_for_the_origins_given(client):
    allowed = client.options(
        "/v1/predict",
        headers={"origin": "https://app.example", "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type"},
    )  # fmt: skip
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    simple = client.get("/v1/predict", params={"name": "Rossi"}, headers={"origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    other = client.get("/v1/predict", params={"name": "Rossi"}, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


# --- every error status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"names": [',
        b"{names: []}",
        b"",
        b"\xff\xfe\x00garbage",
        b'{"names": ["\xc3\x28"]}',
        b"[" * 1000 + b"]" * 1000,
    ],
    ids=["truncated", "unquoted", "empty", "binary", "invalid-utf8", "nested-1000"],
)
def test_400_for_malformed_json(client, body):
    response = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    if body == b"":
        assert_problem(response, 422)  # no body at all: the names are missing
    else:
        assert_problem(response, 400, "not valid JSON")


def test_413_for_a_body_over_the_limit(client):
    big = json.dumps({"names": ["Rossi"] * 400_000}).encode()
    assert len(big) > 2 * 1024 * 1024
    response = client.post("/v1/predict", content=big, headers={"content-type": "application/json"})
    assert_problem(response, 413, "2,097,152 bytes")

    def chunks():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413)


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/xml"},
        {"content-type": "application/json; charset=latin-1"},
        {"content-type": "application/json", "content-encoding": "gzip"},
        {},
    ],
    ids=["text", "form", "multipart", "xml", "latin-1", "gzip", "none"],
)
def test_415_for_a_body_that_is_not_json(client, headers):
    response = client.post("/v1/predict", content=b'{"names": ["Rossi"]}', headers=headers)
    assert_problem(response, 415, "JSON" if "content-encoding" not in headers else "uncompressed")
    assert response.headers["accept-post"] == "application/json"
    explained = client.post("/v1/explain", content=b'{"names": ["Rossi"]}', headers=headers)
    assert_problem(explained, 415)


def test_json_media_types_with_suffix_and_charset_are_accepted(client):
    for media in ("application/json; charset=utf-8", "application/problem+json", "Application/JSON"):
        response = client.post("/v1/predict", content=b'{"names": ["Rossi"]}', headers={"content-type": media})
        assert response.status_code == 200, media


def test_422_for_too_many_names_with_the_limit_in_the_message(client):
    document = assert_problem(client.post("/v1/predict", json={"names": ["Rossi"] * 1001}), 422, "1,001", "1,000")
    assert document["limit"] == 1000
    assert_problem(client.get("/v1/predict", params={"name": ["Rossi"] * 1001}), 422, "at most 1,000")
    assert_problem(client.post("/v1/explain", json={"names": ["Rossi"] * 101}), 422, "at most 100")
    assert_problem(client.post("/v1/explain", json={"names": ["R" * 200] * 6}), 422, "1,200 characters")
    assert client.post("/v1/predict", json={"names": ["Rossi"] * 1000}).status_code == 200


@pytest.mark.parametrize(
    "body, word",
    [
        ({"names": ["Rossi"], "top_k": 0}, "top_k"),
        ({"names": ["Rossi"], "top_k": "three"}, "top_k"),
        ({"names": ["Rossi"], "coverage": 1.5}, "coverage"),
        ({"names": ["Rossi"], "coverage": 0}, "coverage"),
        ({"names": ["Rossi"], "min_confidence": -0.1}, "min_confidence"),
        ({"names": ["Rossi"], "min_confidence": "NaN"}, "min_confidence"),
        ({"names": ["Rossi"], "colour": True}, "colour"),
        ({"names": "Rossi"}, "names"),
        ({"names": ["Rossi", 7]}, "names.1"),
        ({"names": [["Rossi"]]}, "names.0"),
        ({"name": ["Rossi"]}, "names"),
        ({"names": []}, "at least one name"),
        ({"names": ["Rossi"], "model": 3}, "model"),
        (["Rossi"], "body"),
        ("Rossi", "body"),
        (None, "body"),
    ],
)
def test_422_for_a_bad_parameter(client, body, word):
    response = client.post("/v1/predict", content=json.dumps(body), headers={"content-type": "application/json"})
    assert_problem(response, 422, word)


@pytest.mark.parametrize(
    "params, word",
    [
        ({}, "name"),
        ({"name": "Rossi", "top_k": "0"}, "top_k"),
        ({"name": "Rossi", "top_k": "10000000000000000000000"}, "top_k"),
        ({"name": "Rossi", "coverage": "1"}, "coverage"),
        ({"name": "Rossi", "min_confidence": "lots"}, "min_confidence"),
        ({"name": "Rossi", "model": "m" * 65}, "model"),
    ],
)
def test_422_for_a_bad_query_parameter(client, params, word):
    assert_problem(client.get("/v1/predict", params=params), 422, word)


@pytest.mark.parametrize(
    "model",
    [
        "xx",
        "de-it (shipped)",
        str(path_of("de-it")),
        "nameclf/shipped/de-it",
        "../shipped/all",
        "./de-it",
        "DE-IT",
        "de-it\x00",
    ],
)
def test_404_for_an_unknown_model_and_never_a_path(client, model):
    document = assert_problem(client.post("/v1/predict", json={"names": ["Rossi"], "model": model}), 404)
    assert "de-it, all" in document["detail"]
    assert_problem(client.get("/v1/predict", params={"name": "Rossi", "model": model}), 404)
    assert_problem(client.post("/v1/explain", json={"names": ["Rossi"], "model": model}), 404)


def test_404_and_405_off_the_api(client):
    assert_problem(client.get("/v2/predict"), 404, "/v1")
    assert_problem(client.get("/static/../../pyproject.toml"), 404)
    assert_problem(client.delete("/v1/predict"), 405, "DELETE")
    assert_problem(client.get("/v1/explain"), 405)


# --- the limits and the process -------------------------------------------------------------------


# 1,000 distinct names of 237 characters (the predictor answers each distinct name of a batch once)
SLOW_NAMES = ["abcdefghijklmnopqrstuvwxyz" * 9 + "".join(tail) for tail in itertools.product("abcdefghij", repeat=3)]


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    """A server that takes one predict or explain request at a time and waits 1 s for a body."""
    launch = (
        "from nameclf.server import serve; serve(['de-it'], port=0, max_concurrent=1, body_seconds=1.0, max_names=1000)"
    )
    with Served([], tmp_path_factory.mktemp("tight"), launch=launch) as running:
        yield running
    assert "Traceback" not in running.log()


@pytest.mark.slow
def test_503_with_retry_after_over_the_concurrency_limit(tight):
    outcome = {}

    def slow_batch():
        with tight.client() as http:
            for _ in range(50):  # until it is the one request in flight
                outcome["slow"] = http.post("/v1/predict", json={"names": SLOW_NAMES})
                if outcome["slow"].status_code != 503:
                    return

    worker = threading.Thread(target=slow_batch)
    worker.start()
    time.sleep(0.3)  # the slow batch goes first
    refused = None
    with tight.client() as http:
        deadline = time.monotonic() + 30
        while refused is None and worker.is_alive() and time.monotonic() < deadline:
            answer = http.get("/v1/predict", params={"name": "Rossi"})
            if answer.status_code == 503:
                refused = answer
            time.sleep(0.01)
        assert http.get("/healthz").status_code == 200  # health is never refused
        assert http.get("/v1/models").status_code == 200
        worker.join()
        assert refused is not None, "the slow batch ended before a second request came"
        assert_problem(refused, 503, "retry")
        assert "answering 1 request already" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "1"
        assert outcome["slow"].status_code == 200
        assert len(outcome["slow"].json()["results"]) == 1000
        assert http.get("/v1/predict", params={"name": "Rossi"}).status_code == 200


def test_408_for_a_body_that_stops_halfway(tight):
    import socket

    with socket.create_connection(("127.0.0.1", tight.port), timeout=10) as connection:
        connection.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            + b'{"names": ["Ros'
        )
        started = time.monotonic()
        reply = connection.recv(65536)
        assert b" 408 " in reply.split(b"\r\n")[0]
        assert b"application/problem+json" in reply
        assert 0.8 < time.monotonic() - started < 8
    with tight.client() as http:
        assert http.get("/v1/predict", params={"name": "Rossi"}).status_code == 200


def test_binds_loopback_by_default(server):
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in server.log()
    assert "serving de-it (default), all" in server.log()


@pytest.mark.slow
@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_warns_when_listening_on_every_interface(tmp_path, host):
    with Served(["--model", "de-it", "--host", host], tmp_path) as running:
        assert "WARNING" in running.log() and "every interface" in running.log()
        assert running.host == ("127.0.0.1" if host == "0.0.0.0" else "[::1]")
        assert httpx.get(running.url("/healthz"), timeout=30).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_during_a_slow_batch_finishes_it_and_exits_0(tmp_path, sig):
    running = Served(["--model", "de-it"], tmp_path)
    outcome = {}

    def slow_batch():
        with running.client() as http:
            outcome["response"] = http.post("/v1/predict", json={"names": SLOW_NAMES})
            outcome["at"] = time.monotonic()

    worker = threading.Thread(target=slow_batch)
    worker.start()
    time.sleep(0.5)
    signalled = time.monotonic()
    code = running.stop(sig)
    worker.join()
    assert code == 0, running.log()
    assert outcome["at"] > signalled, "the batch was answered before the signal: make it slower"
    assert outcome["response"].status_code == 200
    assert [r["name"] for r in outcome["response"].json()["results"]] == SLOW_NAMES
    log = running.log()
    assert "Shutting down" in log and "Finished server process" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_several_workers_answer_and_stop_cleanly(tmp_path):
    with Served(["--model", "de-it", "--workers", "2"], tmp_path) as running:
        with running.client() as http:
            for _ in range(6):
                answer = http.get("/v1/predict", params={"name": "Tribbiani"}, headers={"connection": "close"})
                assert answer.json()["results"] == expected_predictions("de-it", ["Tribbiani"])
        assert running.stop() == 0
        assert running.log().count("Started server process") == 2


def test_models_from_folders_by_their_names(tmp_path):
    import shutil

    folder = tmp_path / "models" / "mine"
    shutil.copytree(path_of("de-it"), folder)
    with Served(["--model", str(folder), "--model", f"second={folder}", "--model", "all"], tmp_path / "run") as running:
        with running.client() as http:
            models = http.get("/v1/models")
            assert [m["name"] for m in models.json()["models"]] == ["mine", "second", "all"]
            assert str(tmp_path) not in models.text
            answer = http.post("/v1/predict", json={"names": ["Tribbiani"], "model": "second"}).json()
            assert answer["results"][0]["model"] == "second"
            assert answer["results"] == [{**r, "model": "second"} for r in expected_predictions("de-it", ["Tribbiani"])]
            assert_problem(http.post("/v1/predict", json={"names": ["Rossi"], "model": "models/mine"}), 404)
            by_path = http.post("/v1/predict", json={"names": ["Rossi"], "model": str(folder)})
            assert by_path.status_code in (404, 422)  # no such name; over 64 characters, none can be


@pytest.mark.parametrize(
    "arguments, code, words",
    [
        (["--model", "no/such/folder"], 5, "no model at"),
        (["--model", "de-it", "--model", "de-it"], 2, "two models would be served as 'de-it'"),
        (["--model", "a b=de-it"], 2, "a served name is"),
        (["--max-names", "0"], 2, "--max-names"),
        (["--workers", "0"], 2, "--workers"),
    ],
)
@pytest.mark.slow
def test_a_bad_start_is_one_line_before_the_port_opens(tmp_path, arguments, code, words):
    done = subprocess.run(
        [sys.executable, "-m", "nameclf", "serve", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_environment(tmp_path),
        cwd=tmp_path,
    )
    assert done.returncode == code
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Uvicorn running" not in done.stderr + done.stdout


def test_a_port_already_taken_is_one_line_and_a_usage_error(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "nameclf", "serve", "--model", "de-it", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_environment(tmp_path),
            cwd=tmp_path,
        )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is taken by another program; choose another with --port (0: any free one)"
    )


def test_without_the_extra_serve_is_one_line_naming_the_install(tmp_path):
    blocked = (
        "import sys; sys.modules['fastapi'] = None; sys.argv = ['nameclf', 'serve']; "
        "from nameclf.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: nameclf serve needs fastapi, which is not installed; install it with `pip install 'nameclf[serve]'`"
    ]


def test_cold_predict_never_imports_the_server(tmp_path):
    probe = (
        "import sys; sys.argv = ['nameclf', 'predict', '--model', 'de-it', 'Tribbiani']\n"
        "from nameclf.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'fastapi_offline', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/<pid>/maps (Linux)")
def test_the_running_server_has_not_loaded_torch(server, client):
    assert client.post("/v1/predict", json={"names": ["Rossi"], "model": "all", "coverage": 0.9}).status_code == 200
    assert client.post("/v1/explain", json={"names": ["Rossi"]}).status_code == 200
    assert client.get("/v1/models").status_code == 200
    assert client.get("/readyz").status_code == 200
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "_multiarray_umath" in maps  # the check can see the libraries: numpy's is there
    assert "libtorch" not in maps and "/torch/" not in maps


@pytest.mark.cross_machine
def test_the_serving_pages_curl_examples_print_what_the_server_answers(client):
    """Each `curl` under "The API" on docs/serving.md (those not piped elsewhere) is sent again, here, and its
    answer compared to the digits the page prints (tests/test_docs_examples.py runs them too, within a looser
    tolerance)."""
    import re
    import shlex

    page = (Path(__file__).resolve().parents[1] / "docs" / "serving.md").read_text(encoding="utf-8")
    section = page[page.index("## The API") :]
    block = re.search(r"```console\n(\$ curl .*?)```", section, re.S).group(1)
    checked = 0
    for command, printed in re.findall(r"^\$ (curl .*?(?:\\\n.*?)*)\n(.*?)\n", block, re.M):
        command = command.replace("\\\n", " ")
        if "|" in command or ";" in command:
            continue
        words = shlex.split(command)
        url = next(word for word in words if word.startswith("http://127.0.0.1:8000"))
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        headers = dict(words[i + 1].split(": ", 1) for i, word in enumerate(words) if word == "-H")
        body = words[words.index("-d") + 1].encode() if "-d" in words else None
        answer = client.request(method, url.replace("http://127.0.0.1:8000", ""), content=body, headers=headers)
        assert json_differences(printed, answer.json()) == [], command
        checked += 1
    assert checked >= 4
