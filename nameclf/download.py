"""Download the names dataset (or install the bundled copy) into `DEST/names/`.

The archive is streamed into a temporary file in DEST with a size cap, checked (a real zip,
no unsafe member paths), and only its `names/<Language>.txt` members are read, each with its
own size cap and as UTF-8, into a temporary folder that then replaces `DEST/names` in one
rename. Nothing is ever half-written: on any failure, Ctrl-C included, the dataset that was
there before is left exactly as it was and every temporary file is removed.

A host that cannot be reached at all (DNS failure, connection refused, connect timeout) makes
`download` install the copy of the dataset shipped inside the package, unless `fallback=False`.
A host that answers with something wrong (HTTP 404 or 500, a damaged or hostile archive, a body
cut short or stalled) is an error either way.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlparse

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from urllib3.util import Retry

from nameclf import data, paths
from nameclf.archive import MAX_MEMBER_BYTES, extract_names
from nameclf.errors import DataError, NetworkError, UsageError

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

DEFAULT_URL = "https://download.pytorch.org/tutorial/data.zip"
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024  # archive size cap
MAX_RETRY_AFTER = 10.0  # never sleep longer than this on a server's Retry-After header
CHUNK_SIZE = 64 * 1024


@dataclass
class DownloadResult:
    names_dir: Path  # DEST/names
    source: str  # "url", "bundled" (the fallback was used) or "existing" (already there, no force)
    message: str | None  # e.g. the one-line reason the fallback was used
    summary: list[tuple[str, int, int]]  # data.summarise(names_dir)


class _BoundedRetry(Retry):
    """urllib3's Retry, but a server's Retry-After header can make it wait a few seconds at most."""

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


class _Unreachable(Exception):
    """The host could not be reached at all; `reason` is a few words for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _BodyFailed(Exception):
    """The response body broke off (cut short, stalled, reset): worth another try."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def download(
    url: str = DEFAULT_URL,
    dest: Path | None = None,
    *,
    force: bool = False,
    fallback: bool = True,
    timeout: tuple[float, float] = (5.0, 30.0),
    retries: int = 3,
    backoff: float = 0.5,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    progress: bool = True,
    console: Console | None = None,
) -> DownloadResult:
    """Fetch the zip at `url` and install its `names/<Language>.txt` files as `dest/names/`.

    With a dataset already in `dest/names` and no `force`, nothing is fetched.
    """
    dest = Path(dest) if dest is not None else paths.default_data_dir()
    names_dir = dest / "names"
    if not force and names_dir.is_dir() and any(names_dir.glob("*.txt")):
        return DownloadResult(names_dir, "existing", None, data.summarise(names_dir))

    host = _check_url(url)
    _make_dir(dest)
    archive_path = _temp_file(dest)
    try:
        try:
            _fetch(url, archive_path, host, timeout, retries, backoff, max_bytes, progress, console)
        except _Unreachable as unreachable:
            if not fallback:
                raise NetworkError(
                    f"could not reach {host} ({unreachable.reason}); check the network or --url, "
                    "or drop --no-fallback to install the bundled copy"
                ) from None
            if names_dir.is_dir() and any(names_dir.glob("*.txt")):
                # --force while offline: what the user has may be their own data; never swap it out
                raise NetworkError(
                    f"could not reach {host} ({unreachable.reason}); kept the dataset already in {names_dir}"
                ) from None
            _install(dest, _copy_bundled)
            message = f"could not reach {host} ({unreachable.reason}); installed the bundled copy of the dataset"
            return DownloadResult(names_dir, "bundled", message, data.summarise(names_dir))
        _install(dest, lambda tmp: extract_names(archive_path, tmp, url, max_member_bytes))
    finally:
        _remove(archive_path)
    return DownloadResult(names_dir, "url", None, data.summarise(names_dir))


# --- fetching -----------------------------------------------------------------------------------


def _check_url(url: str) -> str:
    """The URL's host name; a UsageError for anything that is not an http(s) URL."""
    try:
        parts = urlparse(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"--url must be an http:// or https:// URL, not {url!r}")
    return host


def _session(retries: int, backoff: float) -> requests.Session:
    retry = _BoundedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods={"GET"},
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _fetch(
    url: str,
    target: Path,
    host: str,
    timeout: tuple[float, float],
    retries: int,
    backoff: float,
    max_bytes: int,
    progress: bool,
    console: Console | None,
) -> None:
    """Stream `url` into `target`, fetching again a body that breaks off.

    urllib3 retries connection failures and 5xx answers until the headers arrive; a body that
    breaks off after that is fetched again from the start, up to `retries` more times.
    """
    console = console if console is not None else Console(stderr=True)
    with _session(retries, backoff) as session:
        for attempt in range(retries + 1):
            try:
                _fetch_once(
                    session,
                    url,
                    target,
                    host,
                    timeout,
                    max_bytes,
                    progress,
                    console,
                    attempt,
                    retries,
                )
                return
            except _BodyFailed as failure:
                if attempt >= retries:
                    tries = f" after {retries + 1} tries" if retries else ""
                    raise NetworkError(
                        f"download from {host} failed{tries}: {failure.reason}; try again later"
                    ) from None
                if backoff > 0:
                    time.sleep(backoff * 2**attempt)


def _fetch_once(
    session: requests.Session,
    url: str,
    target: Path,
    host: str,
    timeout: tuple[float, float],
    max_bytes: int,
    progress: bool,
    console: Console,
    attempt: int,
    retries: int,
) -> None:
    """One GET; an unreachable host on the first attempt raises _Unreachable."""
    try:
        response = session.get(url, stream=True, timeout=timeout, headers={"Accept-Encoding": "identity"})
    except requests.RequestException as error:
        reason = _unreachable_reason(error, timeout)
        if reason is not None and attempt == 0:
            raise _Unreachable(reason) from None
        if reason is None:
            reason = _failure_reason(error, timeout)
        chain = _causes(error)
        retried = retries and any(isinstance(e, urllib3.exceptions.MaxRetryError) for e in chain)
        tries = f" after {retries + 1} tries" if retried else ""
        raise NetworkError(f"download from {host} failed{tries}: {reason}; try again later") from None

    with response:
        if response.status_code >= 500:  # urllib3 has already retried these
            tries = f" after {retries + 1} tries" if retries else ""
            raise NetworkError(
                f"download failed{tries}: HTTP {response.status_code} (a server error) from {url}; try again later"
            )
        if not 200 <= response.status_code < 300:
            raise NetworkError(f"download failed: HTTP {response.status_code} from {url}; check --url")
        expected = _content_length(response)
        if expected is not None and expected > max_bytes:
            raise NetworkError(f"{url} is {expected} bytes, more than the {max_bytes}-byte limit; check --url")
        received = 0
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with (
            Progress(*columns, console=console, transient=True, disable=not progress) as bar,
            open(target, "wb") as out,
        ):
            task = bar.add_task(f"downloading {host}", total=expected)
            for chunk in _body(response, timeout):
                received += len(chunk)
                if received > max_bytes:
                    raise NetworkError(f"{url} sent more than the {max_bytes}-byte limit; check --url")
                _write(out, chunk, target)
                bar.update(task, advance=len(chunk))
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if expected is not None and not encoded and received != expected:
            raise _BodyFailed(f"the body ended after {received} of {expected} bytes")


def _body(response: requests.Response, timeout: tuple[float, float]) -> Iterator[bytes]:
    """The response body in chunks; any way it breaks off becomes _BodyFailed."""
    chunks = response.iter_content(chunk_size=CHUNK_SIZE)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            raise _BodyFailed(_failure_reason(error, timeout)) from None
        if chunk:
            yield chunk


def _write(out: BinaryIO, chunk: bytes, target: Path) -> None:
    try:
        out.write(chunk)
    except OSError as error:
        raise DataError(f"cannot write {target}: {error.strerror or error}") from None


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, and every error it wraps (args, .reason, __cause__, __context__), each once."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__]
        inner += list(getattr(current, "args", ()))
        stack += [item for item in inner if isinstance(item, BaseException)]


def _unreachable_reason(error: BaseException, timeout: tuple[float, float]) -> str | None:
    """A few words when the error means no connection could be made at all, else None."""
    chain = list(_causes(error))
    if any(isinstance(item, requests.exceptions.SSLError) for item in chain):
        return None  # something answered, but not with the right certificate
    if any(isinstance(item, urllib3.exceptions.ProxyError) for item in chain):
        return "the proxy could not be reached"
    for item in chain:
        if isinstance(item, urllib3.exceptions.NameResolutionError):
            return "host name not found"
    for item in chain:
        if isinstance(item, urllib3.exceptions.NewConnectionError):
            return _os_reason(chain) or "cannot connect"
    for item in chain:
        if isinstance(item, (urllib3.exceptions.ConnectTimeoutError, requests.ConnectTimeout)):
            return f"no connection within {timeout[0]:g} s"
    for item in chain:  # connected, but not a byte of an answer: as good as unreachable
        if isinstance(item, (urllib3.exceptions.ReadTimeoutError, requests.ReadTimeout)):
            return f"no answer within {timeout[1]:g} s"
    return None


def _os_reason(chain: list[BaseException]) -> str | None:
    for item in chain:
        if isinstance(item, socket.gaierror):
            return "host name not found"
        if isinstance(item, OSError) and item.errno is not None:
            return (item.strerror or os.strerror(item.errno)).lower()
    return None


def _failure_reason(error: BaseException, timeout: tuple[float, float]) -> str:
    """A few words for a failure after the host was reached."""
    chain = list(_causes(error))
    for item in chain:
        if isinstance(item, (urllib3.exceptions.ReadTimeoutError, requests.ReadTimeout)):
            return f"no data for {timeout[1]:g} s"
        if isinstance(item, (socket.timeout, TimeoutError)):
            return f"no data for {timeout[1]:g} s"
    for item in chain:
        if isinstance(item, OSError) and item.errno == errno.ECONNRESET:
            return "the connection was reset"
    for item in chain:
        if isinstance(item, urllib3.exceptions.IncompleteRead):
            return "the body was cut short"
    for item in chain:
        if isinstance(item, requests.exceptions.SSLError):
            return "TLS error"
        if isinstance(item, requests.TooManyRedirects):
            return "too many redirects"
    for item in chain:
        if isinstance(item, urllib3.exceptions.ProtocolError):
            return "the connection broke off"
    return type(error).__name__


def _copy_bundled(tmp: Path) -> None:
    sources = sorted(paths.bundled_names_dir().glob("*.txt"))
    if not sources:
        raise DataError(f"the bundled dataset is missing from {paths.bundled_names_dir()}")
    for source in sources:
        shutil.copyfile(source, tmp / source.name)


# --- installing ---------------------------------------------------------------------------------


def _make_dir(dest: Path) -> None:
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create {dest}: {error.strerror or error}") from None


def _temp_file(dest: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=".download-", suffix=".zip.part", dir=dest)
    except OSError as error:
        raise DataError(f"cannot write to {dest}: {error.strerror or error}") from None
    os.close(fd)
    return Path(name)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def _install(dest: Path, fill: Callable[[Path], None]) -> None:
    """Fill a temporary folder in `dest`, then swap it in as `dest/names`.

    The old `names/` is renamed aside, the new one renamed into place, then the old one removed;
    if anything fails before the new folder is in place, the old one is put back untouched.
    """
    names = dest / "names"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=".names-tmp-", dir=dest))
    except OSError as error:
        raise DataError(f"cannot write to {dest}: {error.strerror or error}") from None
    old_parent: Path | None = None
    moved = installed = restored = False
    try:
        fill(tmp)
        try:
            if os.path.lexists(names):
                old_parent = Path(tempfile.mkdtemp(prefix=".names-old-", dir=dest))
                os.rename(names, old_parent / "names")
                moved = True
            os.rename(tmp, names)
            installed = True
        except OSError as error:
            raise DataError(f"cannot replace {names}: {error.strerror or error}") from None
    finally:
        if moved and not installed and old_parent is not None:  # moved: old_parent is set
            try:
                os.rename(old_parent / "names", names)
                restored = True
            except OSError:
                pass  # keep the old dataset where it is rather than lose it
        if old_parent is not None and (installed or restored or not moved):
            _remove(old_parent)
        if not installed:
            _remove(tmp)
