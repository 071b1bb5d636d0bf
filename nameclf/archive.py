"""The dataset's zip archive, checked and extracted: only its `names/<Language>.txt` members, each
path checked against traversal (absolute, a drive, `..`) before anything is written, each member's size
counted as it is read (a zip bomb stops at the cap), every member UTF-8, and never two files for one
language. `download` fetches the archive; this reads it."""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from pathlib import Path

from nameclf.errors import DataError

MAX_MEMBER_BYTES = 16 * 1024 * 1024  # per names/*.txt member, uncompressed, counted as read
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # all names/*.txt members together, uncompressed
CHUNK_SIZE = 64 * 1024
NAMES_MEMBER = re.compile(r"(?:^|.*/)names/([A-Za-z][A-Za-z_ -]*)\.txt")
DRIVE = re.compile(r"^[A-Za-z]:")
UTF8_BOM = codecs.BOM_UTF8


def _show(name: str) -> str:
    return name if name.isprintable() else repr(name)


def _unsafe(name: str) -> bool:
    parts = re.split(r"[/\\]", name)
    return name.startswith(("/", "\\")) or bool(DRIVE.match(name)) or ".." in parts


def extract_names(archive: Path, tmp: Path, url: str, max_member_bytes: int = MAX_MEMBER_BYTES) -> None:
    """Check the archive and write its names/<Language>.txt members into `tmp`."""
    if not zipfile.is_zipfile(archive):
        raise DataError(f"{url} did not return a zip archive; check --url")
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            for info in members:
                if _unsafe(info.filename):
                    raise DataError(f"unsafe path in archive: {_show(info.filename)}")
            chosen: dict[str, zipfile.ZipInfo] = {}
            for info in members:
                match = NAMES_MEMBER.fullmatch(info.filename)
                if match is None or info.is_dir():
                    continue
                language = match.group(1)
                clash = next((k for k in chosen if k.lower() == language.lower()), None)
                if clash is not None:
                    raise DataError(
                        f"archive has two files for {language}: "
                        f"{_show(chosen[clash].filename)} and {_show(info.filename)}"
                    )
                chosen[language] = info
            if not chosen:
                raise DataError("archive has no names/<Language>.txt files; check --url")
            total = 0
            for language, info in sorted(chosen.items()):
                total += _copy_member(zf, info, tmp / f"{language}.txt", max_member_bytes)
                if total > MAX_TOTAL_BYTES:
                    raise DataError(f"archive's names/*.txt files hold more than {MAX_TOTAL_BYTES} bytes")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as error:
        raise DataError(f"damaged archive from {url}: {error}") from None
    except (NotImplementedError, RuntimeError) as error:  # unknown compression, encryption
        raise DataError(f"cannot read the archive from {url}: {error}") from None


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, cap: int) -> int:
    """Copy one member, checking its size as it is read and that it is UTF-8; its size."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    first = True
    name = _show(info.filename)
    try:
        with zf.open(info) as source, open(target, "wb") as out:
            while chunk := source.read(CHUNK_SIZE):
                size += len(chunk)
                if size > cap:
                    raise DataError(f"{name} in the archive is larger than {cap} bytes")
                decoder.decode(chunk)
                if first and chunk.startswith(UTF8_BOM):
                    chunk = chunk[len(UTF8_BOM) :]
                first = False
                out.write(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise DataError(f"{name} in the archive is not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise DataError(f"cannot extract {name} to {target}: {error.strerror or error}") from None
    return size
