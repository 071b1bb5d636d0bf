"""`nameclf.download` against a real HTTP server on 127.0.0.1 (tests/servers.py), no mocks.

Every failure case checks three things: the right error, the dataset already in DEST/names left
byte-for-byte as it was, and no temporary file or folder left behind in DEST.
"""

from __future__ import annotations

import io
import re
import signal
import threading
import time
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from nameclf import data, download, paths
from nameclf.errors import DataError, NetworkError, UsageError

try:
    from servers import LocalServer, closed_port
except ImportError:  # tests/ became a package
    from tests.servers import LocalServer, closed_port

FAST = {"retries": 1, "backoff": 0.0, "progress": False, "timeout": (2.0, 2.0)}
OLD_FILES = {"Klingon.txt": "Worf\nKor\nKang\n", "Elvish.txt": "Arwen\nElrond\n"}


def make_zip(members: dict[str, bytes], directories: tuple[str, ...] = ()) -> bytes:
    """A zip archive, built in memory, with these members (and directory entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for directory in directories:
            zf.writestr(zipfile.ZipInfo(directory), b"")
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def bundled_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(paths.bundled_names_dir().glob("*.txt"))}


def official_zip() -> bytes:
    """Laid out like the real data.zip: data/names/<Language>.txt plus data/eng-fra.txt."""
    members = {f"data/names/{name}": content for name, content in bundled_files().items()}
    members["data/eng-fra.txt"] = b"Go.\tVa !\nRun!\tCours !\n"
    members["data/names/9lives.txt"] = b"not a language\n"  # not <Language>.txt: ignored
    return make_zip(members, directories=("data/", "data/names/"))


def tiny_zip() -> bytes:
    return make_zip(
        {
            "data/names/German.txt": "Müller\nSchmidt\nMüller\n".encode(),
            "names/Italian.txt": b"Rossi\n",
        }
    )


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under `folder` (hidden ones too), files with their bytes."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name != "names")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Talk to 127.0.0.1 directly whatever proxy the environment names."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


@pytest.fixture
def dest(tmp_path) -> Path:
    """A DEST that already holds a (made-up) dataset in names/."""
    folder = tmp_path / "data"
    (folder / "names").mkdir(parents=True)
    for name, text in OLD_FILES.items():
        (folder / "names" / name).write_text(text, encoding="utf-8")
    return folder


def fails_cleanly(dest: Path, error: type[Exception], match: str, **kwargs) -> pytest.ExceptionInfo:
    """Run a forced download that must fail; check the old dataset and DEST are untouched."""
    before = snapshot(dest)
    assert before["names/Klingon.txt"] == OLD_FILES["Klingon.txt"].encode()
    with pytest.raises(error, match=match) as info:
        download.download(dest=dest, force=True, **{**FAST, **kwargs})
    assert snapshot(dest) == before
    assert leftovers(dest) == []
    assert "\n" not in str(info.value)
    return info


# --- success ------------------------------------------------------------------------------------


def test_official_layout_installs_the_names_and_ignores_the_rest(server, tmp_path):
    url = server.route("/data.zip", body=official_zip())
    result = download.download(url, tmp_path / "data", **FAST)
    names = tmp_path / "data" / "names"
    assert result.source == "url" and result.message is None
    assert result.names_dir == names
    installed = {p.name: p.read_bytes() for p in names.iterdir()}
    assert installed == bundled_files()  # eng-fra.txt and 9lives.txt left out
    assert result.summary == data.summarise(paths.bundled_names_dir())
    assert len(result.summary) == 18 and sum(row[1] for row in result.summary) == 20074
    assert leftovers(tmp_path / "data") == []
    assert server.hits["/data.zip"] == 1


def test_progress_bar_and_no_content_length(server, tmp_path):
    url = server.route("/data.zip", body=tiny_zip(), content_length=None)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    result = download.download(url, tmp_path, retries=0, backoff=0.0, progress=True, console=console)
    assert result.summary == [("German", 3, 2), ("Italian", 1, 1)]
    assert (tmp_path / "names" / "German.txt").read_text(encoding="utf-8") == "Müller\nSchmidt\nMüller\n"
    assert "downloading 127.0.0.1" in out.getvalue()
    assert leftovers(tmp_path) == []


def test_utf8_bom_is_dropped(server, tmp_path):
    url = server.route("/bom.zip", body=make_zip({"names/Czech.txt": "\ufeffNovák\nDvořák\n".encode()}))
    result = download.download(url, tmp_path, **FAST)
    assert (tmp_path / "names" / "Czech.txt").read_bytes() == "Novák\nDvořák\n".encode()
    assert result.summary == [("Czech", 2, 2)]


def test_existing_dataset_without_force_makes_no_request(server, dest):
    url = server.route("/data.zip", body=tiny_zip())
    before = snapshot(dest)
    result = download.download(url, dest, **FAST)
    assert result.source == "existing"
    assert result.summary == [("Elvish", 2, 2), ("Klingon", 3, 3)]
    assert server.hits["/data.zip"] == 0
    assert snapshot(dest) == before


def test_force_replaces_the_existing_dataset(server, dest):
    url = server.route("/data.zip", body=tiny_zip())
    result = download.download(url, dest, force=True, **FAST)
    assert result.source == "url"
    assert sorted(p.name for p in (dest / "names").iterdir()) == ["German.txt", "Italian.txt"]
    assert result.summary == [("German", 3, 2), ("Italian", 1, 1)]
    assert leftovers(dest) == []
    assert server.hits["/data.zip"] == 1


def test_500_then_200_is_retried(server, dest):
    url = server.route("/flaky.zip", body=tiny_zip(), fail_first=2)
    result = download.download(url, dest, force=True, **{**FAST, "retries": 3})
    assert result.source == "url"
    assert result.summary == [("German", 3, 2), ("Italian", 1, 1)]
    assert server.hits["/flaky.zip"] == 3  # two 500s, then the 200
    assert leftovers(dest) == []


# --- the host cannot be reached -----------------------------------------------------------------


def test_connection_refused_installs_the_bundled_copy(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/data.zip"
    result = download.download(url, tmp_path / "data", **FAST)
    assert result.source == "bundled"
    assert result.message is not None and "\n" not in result.message
    assert "could not reach 127.0.0.1 (connection refused)" in result.message
    assert "bundled copy" in result.message
    names = tmp_path / "data" / "names"
    assert {p.name: p.read_bytes() for p in names.iterdir()} == bundled_files()
    assert result.summary == data.summarise(paths.bundled_names_dir())
    assert len(result.summary) == 18 and sum(row[1] for row in result.summary) == 20074
    assert leftovers(tmp_path / "data") == []


def test_forced_download_while_offline_keeps_the_existing_dataset(dest):
    """The fallback only fills an empty DEST: a dataset already there may be the user's own."""
    url = f"http://127.0.0.1:{closed_port()}/data.zip"
    info = fails_cleanly(dest, NetworkError, "could not reach 127.0.0.1", url=url)
    assert "kept the dataset" in str(info.value)


def test_connection_refused_without_fallback_is_an_error(dest):
    url = f"http://127.0.0.1:{closed_port()}/data.zip"
    info = fails_cleanly(dest, NetworkError, "could not reach 127.0.0.1", url=url, fallback=False)
    assert "connection refused" in str(info.value) and "--no-fallback" in str(info.value)
    assert info.value.exit_code == 4


def test_host_that_never_answers_installs_the_bundled_copy(server, tmp_path):
    """Connected, but no answer within the read timeout on any try: treated as unreachable."""
    url = server.route("/mute.zip", stall_before_headers=True, stall_seconds=8)
    start = time.monotonic()
    result = download.download(url, tmp_path / "data", **{**FAST, "timeout": (1.0, 0.5)})
    assert time.monotonic() - start < 4
    assert result.source == "bundled"
    assert "could not reach 127.0.0.1 (no answer within 0.5 s)" in result.message
    assert server.hits["/mute.zip"] == 2  # the first try and one retry
    assert {p.name: p.read_bytes() for p in (tmp_path / "data" / "names").iterdir()} == bundled_files()


def test_host_that_never_answers_without_fallback_is_an_error(server, dest):
    url = server.route("/mute.zip", stall_before_headers=True, stall_seconds=8)
    info = fails_cleanly(dest, NetworkError, r"no answer within 0\.5 s", url=url, timeout=(1.0, 0.5), fallback=False)
    assert "--no-fallback" in str(info.value)


# --- the host answers with something wrong: an error even with the fallback on ------------------


def test_http_404(server, dest):
    url = server.route("/gone.zip", status=404, body=b"no such file\n")
    fails_cleanly(dest, NetworkError, r"HTTP 404 from http://127\.0\.0\.1.*check --url", url=url)
    assert server.hits["/gone.zip"] == 1  # a 404 is not retried


def test_500_forever(server, dest):
    url = server.route("/down.zip", body=tiny_zip(), fail_first=10**6)
    info = fails_cleanly(dest, NetworkError, "after 3 tries: HTTP 500 \\(a server error\\)", url=url, retries=2)
    assert "try again later" in str(info.value) and "--url" not in str(info.value)
    assert server.hits["/down.zip"] == 3  # the first try and two retries


def test_truncated_body(server, dest):
    body = official_zip()
    url = server.route("/cut.zip", body=body, send=len(body) // 2)
    fails_cleanly(dest, NetworkError, "failed after 2 tries: the body was cut short", url=url)
    assert server.hits["/cut.zip"] == 2  # fetched again from the start once


def test_stall_mid_body_times_out(server, dest):
    body = official_zip()
    url = server.route("/slow.zip", body=body, send=1000, then="stall", stall_seconds=8)
    start = time.monotonic()
    info = fails_cleanly(dest, NetworkError, "no data for 0.5 s", url=url, timeout=(1.0, 0.5))
    assert time.monotonic() - start < 4
    assert "could not reach" not in str(info.value)  # an error, not the fallback
    assert server.hits["/slow.zip"] == 2


def test_connection_reset_before_the_response(server, dest):
    url = server.route("/rst.zip", reset_before_headers=True)
    fails_cleanly(dest, NetworkError, "after 2 tries: the connection was reset", url=url)
    assert server.hits["/rst.zip"] == 2  # urllib3 retried once


def test_connection_reset_mid_body(server, dest):
    body = official_zip()
    url = server.route("/rst.zip", body=body, send=len(body) // 3, then="reset")
    fails_cleanly(dest, NetworkError, "after 2 tries: the connection was reset", url=url)
    assert server.hits["/rst.zip"] == 2


def test_body_over_max_bytes_by_content_length(server, dest):
    body = official_zip()
    url = server.route("/big.zip", body=body)
    limit = f"is {len(body)} bytes, more than the 10000-byte limit"
    fails_cleanly(dest, NetworkError, limit, url=url, max_bytes=10_000)
    assert server.hits["/big.zip"] == 1


def test_body_over_max_bytes_without_content_length(server, dest):
    url = server.route("/big.zip", body=official_zip(), content_length=None)
    fails_cleanly(dest, NetworkError, "sent more than the 10000-byte limit", url=url, max_bytes=10_000)
    assert server.hits["/big.zip"] == 1


def test_body_that_is_not_a_zip(server, dest):
    url = server.route("/page.html", body=b"<html>Sign in to the Wi-Fi</html>", content_type="text/html")
    fails_cleanly(dest, DataError, "did not return a zip archive", url=url)


@pytest.mark.parametrize(
    "unsafe",
    [
        "../names/German.txt",
        "/names/German.txt",
        "data/../../names/German.txt",
        "C:/names/German.txt",
        "..\\names\\German.txt",
    ],
)
def test_unsafe_member_paths_are_rejected(server, dest, unsafe):
    archive = make_zip({"data/names/Italian.txt": b"Rossi\n", unsafe: b"Schmidt\n"})
    assert unsafe in zipfile.ZipFile(io.BytesIO(archive)).namelist()  # really in the archive
    url = server.route("/evil.zip", body=archive)
    fails_cleanly(dest, DataError, re.escape(f"unsafe path in archive: {unsafe}"), url=url)
    assert not (dest.parent / "names").exists()


def test_zip_without_names(server, dest):
    url = server.route("/other.zip", body=make_zip({"data/eng-fra.txt": b"Go.\tVa !\n"}))
    fails_cleanly(dest, DataError, r"archive has no names/<Language>\.txt files", url=url)


def test_two_files_for_one_language(server, dest):
    archive = make_zip({"a/names/German.txt": b"Abel\n", "b/names/german.txt": b"Bach\n"})
    url = server.route("/twice.zip", body=archive)
    fails_cleanly(dest, DataError, "two files for german", url=url)


def test_member_over_the_size_cap(server, dest):
    archive = make_zip({"data/names/German.txt": b"Schmidt\n" * 500, "names/Italian.txt": b"Rossi\n"})
    url = server.route("/bomb.zip", body=archive)
    fails_cleanly(
        dest,
        DataError,
        "German.txt in the archive is larger than 1000 bytes",
        url=url,
        max_member_bytes=1000,
    )


def test_member_that_is_not_utf8(server, dest):
    archive = make_zip({"names/German.txt": "Müller\n".encode("latin-1"), "names/Italian.txt": b"Rossi\n"})
    url = server.route("/latin1.zip", body=archive)
    fails_cleanly(dest, DataError, "German.txt in the archive is not UTF-8", url=url)


def test_damaged_member(server, dest):
    content = b"Schmidt\nSchulz\n" * 50
    archive = make_zip({"names/German.txt": content})
    crc = zipfile.ZipFile(io.BytesIO(archive)).getinfo("names/German.txt").CRC.to_bytes(4, "little")
    assert archive.count(crc) == 2
    url = server.route("/bad.zip", body=archive.replace(crc, b"\0\0\0\0"))
    fails_cleanly(dest, DataError, "damaged archive", url=url)


def test_not_an_http_url(dest):
    fails_cleanly(dest, UsageError, "--url must be an http", url="ftp://example.org/data.zip")


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_ctrl_c_mid_download_leaves_nothing_behind(server, dest):
    body = official_zip()
    url = server.route("/slow.zip", body=body, send=len(body) // 2, then="stall", stall_seconds=8)
    main = threading.get_ident()
    timer = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
    before = snapshot(dest)
    # Ctrl-C as in a terminal, even where the tests run with SIGINT ignored (a background job)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            download.download(url, dest, force=True, **{**FAST, "timeout": (2.0, 5.0)})
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert server.hits["/slow.zip"] == 1
    assert snapshot(dest) == before
    assert leftovers(dest) == []


def test_default_dest_is_the_data_dir(server, tmp_path, monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "elsewhere"))
    url = server.route("/data.zip", body=tiny_zip())
    result = download.download(url, **FAST)
    assert result.names_dir == tmp_path / "elsewhere" / "names"
    assert (tmp_path / "elsewhere" / "names" / "Italian.txt").read_bytes() == b"Rossi\n"
