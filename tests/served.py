"""A real `nameclf serve` in a subprocess, on a free loopback port, for the server's tests.

    with Served(["--model", "de-it"], tmp_path) as server:
        httpx.get(server.url("/healthz"))
        server.log()                 # everything it printed so far
        server.stop()                # SIGTERM; returns the exit code

Port 0 lets the system choose a free port; the port is read from uvicorn's "Uvicorn running on"
line, so two tests never race for one. `launch` runs `nameclf.server.serve(...)` from Python instead
of the CLI, for limits the CLI leaves at their defaults (the body timeout).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

RUNNING = re.compile(r"Uvicorn running on http://([^:\s]+|\[[^\]]+\]):(\d+)")
START_SECONDS = 90  # two cores shared with other jobs: importing numpy and FastAPI can take a while


def clean_environment(home: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("NAMECLF_")}
    environment.update(PYTHONUNBUFFERED="1", HOME=str(home), NO_COLOR="1")
    return environment


class Served:
    def __init__(self, arguments: list[str], folder: Path, launch: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "home").mkdir(exist_ok=True)
        self.log_path = self.folder / "server.log"
        if launch is None:
            command = [sys.executable, "-m", "nameclf", "serve", "--port", "0", *arguments]
        else:
            command = [sys.executable, "-c", launch]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.folder,
            env=clean_environment(self.folder / "home"),
        )
        host, self.port = self._wait_for_port()
        # reach a server bound to every interface through loopback, IPv4 or IPv6 as it was bound
        self.host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
        self.base = f"http://{self.host}:{self.port}"
        self._wait_until_answering()

    def _wait_for_port(self) -> tuple[str, int]:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            found = RUNNING.search(self.log())
            if found:
                return found.group(1), int(found.group(2))
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"the server did not start in {START_SECONDS} s:\n{self.log()}")

    def _wait_until_answering(self) -> None:
        """With several workers the port is bound before any worker listens on it."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url("/healthz"), timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer in {START_SECONDS} s:\n{self.log()}")

    def url(self, path: str) -> str:
        return self.base + path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=options.pop("timeout", 60), **options)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
