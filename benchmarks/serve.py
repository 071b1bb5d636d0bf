"""`nameclf serve` under load (issue 21): a real server on 127.0.0.1 and a real load generator, wrk (Debian's
`wrk`), sharing the machine's cores with each other and whatever else runs (load averages recorded).

    .venv/bin/python benchmarks/serve.py            # about 3.5 min; writes benchmarks/results/serve.json
    .venv/bin/python benchmarks/serve.py --quick    # a few seconds a phase: a check, not figures

Phases against one `nameclf serve --model de-it` (one worker), on names drawn from the dataset (seed 0):
1. batches, 4 rounds of 3 parts of 5 s: one 1,000-name batch answered in this process (the server idle),
   then POSTed to /v1/predict back to back from 1 connection, then 2; target: served / in-process names/s,
   1 connection, median over the paired rounds, at least 70%;
2. single names: GET /v1/predict?name=..., a different name each time, 16 connections; target: wrk's p99
   latency at most 50 ms;
3. soak: a mix (single names, 100-name batches, explain, models, deliberate 404s and 422s), 16 connections,
   10 s warm-up then 60 s; target: resident memory at the end (and at its highest) within 10% of after
   warm-up, and no failed request but the deliberate 4xx and any 503.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import common
from common import say

ROOT = common.ROOT
MODEL = "de-it"
ROUNDS = 4  # in-process and served batches measured in turn, so both see the same machine
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")

# wrk's Lua: each thread keeps its own counts; `done` adds them up and prints one JSON line
LUA_COMMON = r"""
threads = {}
ok, client_errors, busy, server_errors, other, deliberate = 0, 0, 0, 0, 0, 0
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status == 200 then ok = ok + 1
  elseif status == 503 then busy = busy + 1
  elseif status >= 500 then server_errors = server_errors + 1
  elseif status >= 400 then client_errors = client_errors + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local totals = {ok = 0, client_errors = 0, busy = 0, server_errors = 0, other = 0, deliberate = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do totals[key] = totals[key] + thread:get(key) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.6f, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "non_2xx": %d, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "mean_ms": %.3f, "ok": %d, "client_errors": %d, "busy": %d, "server_errors": %d, ' ..
    '"other": %d, "deliberate": %d}\n',
    summary.requests, summary.duration / 1e6, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, totals.ok, totals.client_errors, totals.busy,
    totals.server_errors, totals.other, totals.deliberate))
end
"""


def lua_bytes(text: str) -> str:
    """A Lua string literal holding `text` as UTF-8, every non-ASCII byte as a decimal escape."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if byte < 128 and char not in '"\\' and char.isprintable():
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")  # three digits: Lua reads up to three
    return '"' + "".join(out) + '"'


def batch_script(names: list[str]) -> str:
    body = json.dumps({"names": names}, ensure_ascii=False)
    return (
        LUA_COMMON
        + f"""
wrk.method = "POST"
wrk.body = {lua_bytes(body)}
wrk.headers["Content-Type"] = "application/json"
"""
    )


def singles_script(names: list[str]) -> str:
    paths = ",\n".join(lua_bytes("/v1/predict?name=" + quote(name)) for name in names)
    return (
        LUA_COMMON
        + f"""
paths = {{ {paths} }}
counter = 0
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""
    )


def soak_script(names: list[str]) -> str:
    """20 requests a round: 12 single names, 3 batches of 100, 2 explain, 1 models, and 2 deliberate
    client errors (an unknown model: 404; 1,001 names: 422)."""
    json_headers = '{["Content-Type"] = "application/json"}'
    kinds = [("GET", "/v1/predict?name=" + quote(names[i]), None, False) for i in range(12)]
    kinds += [("POST", "/v1/predict", json.dumps({"names": names[100 * i : 100 * (i + 1)]}), False) for i in range(3)]
    kinds += [("POST", "/v1/explain", json.dumps({"names": [names[200 + i]]}), False) for i in range(2)]
    kinds.append(("GET", "/v1/models", None, False))
    kinds.append(("GET", "/v1/predict?name=Rossi&model=no-such-model", None, True))
    kinds.append(("POST", "/v1/predict", json.dumps({"names": ["Rossi"] * 1001}), True))
    rows = []
    for method, path, body, deliberate in kinds:
        body_lua = lua_bytes(body) if body is not None else "nil"
        headers = json_headers if body is not None else "{}"
        rows.append(
            f'{{method = "{method}", path = {lua_bytes(path)}, body = {body_lua}, headers = {headers}, '
            f"deliberate = {'true' if deliberate else 'false'}}}"
        )
    return (
        LUA_COMMON
        + f"""
kinds = {{ {", ".join(rows)} }}
counter = 0
function request()
  counter = counter + 1
  local kind = kinds[(counter % #kinds) + 1]
  if kind.deliberate then deliberate = deliberate + 1 end
  return wrk.format(kind.method, kind.path, kind.headers, kind.body)
end
"""
    )


def wrk_command(url: str, script: str, connections: int, seconds: float, folder: Path, name: str) -> list[str]:
    """wrk's command line, its Lua `script` written to <folder>/<name>.lua."""
    path = folder / f"{name}.lua"
    path.write_text(script, encoding="utf-8")
    return ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(path), url]


def shown(command: list[str]) -> str:
    """A wrk command as recorded: the script by its name, the URL left out."""
    return " ".join(command[:-3]) + f" -s {Path(command[-2]).name} URL"


def wrk_figures(stdout: str) -> dict:
    """The figures the Lua `done` printed, with the rate and the socket errors summed."""
    figures = json.loads(next(line for line in stdout.splitlines() if line.startswith("WRK "))[4:])
    figures["requests_per_second"] = figures["requests"] / figures["seconds"]
    figures["socket_errors"] = sum(figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return figures


def wrk(url: str, script: str, connections: int, seconds: float, folder: Path, name: str) -> dict:
    command = wrk_command(url, script, connections, seconds, folder, name)
    figures = wrk_figures(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    return {**figures, "command": shown(command)}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def in_process(names: list[str], seconds: float) -> float:
    """Names/s of the numpy predictor in this process on the batch, over about `seconds`."""
    import nameclf

    predictor = nameclf.load(MODEL)
    predictor.predict(names)
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        predictor.predict(names)
        done += len(names)
    return done / (time.perf_counter() - started)


class Server:
    def __init__(self, folder: Path):
        self.log_path = folder / "server.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115
        command = [sys.executable, "-m", "nameclf", "serve", "--model", MODEL, "--port", "0"]
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=environment, cwd=folder)
        deadline = time.monotonic() + 120
        while not (found := RUNNING.search(self.log_path.read_text(errors="replace"))):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + self.log_path.read_text(errors="replace"))
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{found.group(1)}"

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self.log.close()
        return code


def soak(server: Server, script: str, warm_seconds: float, soak_seconds: float, folder: Path) -> dict:
    warm = wrk(server.url, script, 16, warm_seconds, folder, "warm-up")
    after_warm_up = rss_mib(server.process.pid)
    samples: list[float] = []
    command = wrk_command(server.url, script, 16, soak_seconds, folder, "soak")
    runner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while runner.poll() is None:
        samples.append(rss_mib(server.process.pid))
        time.sleep(1)
    figures = wrk_figures(runner.communicate()[0])
    end = rss_mib(server.process.pid)
    highest = max(samples + [end])
    unexplained_4xx = max(0, figures["client_errors"] - figures["deliberate"])
    failed = figures["socket_errors"] + figures["server_errors"] + figures["other"] + unexplained_4xx
    return {
        "warm_up": {key: warm[key] for key in ("requests", "seconds", "requests_per_second", "socket_errors")},
        "soak": figures,
        "command": shown(command),
        "rss_mib_after_warm_up": round(after_warm_up, 1),
        "rss_mib_at_end": round(end, 1),
        "rss_mib_highest": round(highest, 1),
        "rss_change_at_end": round(end / after_warm_up - 1, 4),
        "rss_change_highest": round(highest / after_warm_up - 1, 4),
        "rss_samples_mib": [round(s, 1) for s in samples],
        "failed_requests": failed,
        "deliberate_4xx_sent": figures["deliberate"],
        "four_xx_received": figures["client_errors"],
        "five_oh_three": figures["busy"],
    }


def versions() -> dict:
    from importlib.metadata import version

    wrk_line = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    found = {name: version(name) for name in ("nameclf", "fastapi", "starlette", "uvicorn", "h11", "numpy")}
    return {**found, "python": platform.python_version(), "wrk": wrk_line}


def batch_rounds(server: Server, batch: list[str], count: int, phase: float, folder: Path) -> list[dict]:
    """Phase 1: in-process names/s, then served from 1 and from 2 connections, in turn, `count` rounds."""
    rounds = []
    for number in range(count):
        alone = in_process(batch, phase / 4)
        one, two = (
            wrk(server.url + "/v1/predict", batch_script(batch), c, phase / 4, folder, "batches") for c in (1, 2)
        )
        for figures in (one, two):
            if figures["ok"] != figures["requests"] or figures["socket_errors"]:
                raise SystemExit(f"a batch request failed: {figures}")
        rounds.append(
            {
                "in_process_names_per_second": round(alone),
                "one_connection_names_per_second": round(one["requests_per_second"] * len(batch)),
                "two_connections_names_per_second": round(two["requests_per_second"] * len(batch)),
                "one_connection": one,
                "two_connections": two,
            }
        )
        say(
            f"round {number + 1}: in process {alone:,.0f} names/s; served "
            f"{rounds[-1]['one_connection_names_per_second']:,} (1 connection), "
            f"{rounds[-1]['two_connections_names_per_second']:,} (2)"
        )
    return rounds


def measure(quick: bool, folder: Path) -> tuple[list[dict], dict, dict, int, str]:
    """The three phases against one server: batch rounds, single names, soak; its exit code and log."""
    phase = 3.0 if quick else 20.0
    names = common.draw_names(5000)
    server = Server(folder)
    try:
        say(f"server at {server.url}, pid {server.process.pid}")
        rounds = batch_rounds(server, names[:1000], 1 if quick else ROUNDS, phase, folder)
        singles = wrk(server.url, singles_script(names[1000:3000]), 16, phase, folder, "singles")
        if singles["ok"] != singles["requests"] or singles["socket_errors"]:
            raise SystemExit(f"a single-name request failed: {singles}")
        say(f"single names: {singles['requests_per_second']:,.0f} requests/s, p50 {singles['p50_ms']:.1f} ms, "
            f"p99 {singles['p99_ms']:.1f} ms")  # fmt: skip
        soaked = soak(server, soak_script(names[3000:]), *((2.0, 5.0) if quick else (10.0, 60.0)), folder)
        say(
            f"soak: {soaked['soak']['requests']:,} requests, RSS {soaked['rss_mib_after_warm_up']} -> "
            f"{soaked['rss_mib_at_end']} MiB (highest {soaked['rss_mib_highest']}), "
            f"{soaked['failed_requests']} failed"
        )
    finally:
        code = server.stop()
    return rounds, singles, soaked, code, (folder / "server.log").read_text(errors="replace")


def batch_figures(rounds: list[dict], size: int) -> dict:
    kinds = ("in_process", "one_connection", "two_connections")
    medians = {k: statistics.median(r[f"{k}_names_per_second"] for r in rounds) for k in kinds}
    shares = {
        k: statistics.median(r[f"{k}_names_per_second"] / r["in_process_names_per_second"] for r in rounds)
        for k in kinds[1:]
    }
    return {
        "names_per_request": size,
        "rounds": rounds,
        **{f"{k}_names_per_second_median": round(medians[k]) for k in kinds},
        "share_of_in_process_one_connection": round(shares["one_connection"], 4),
        "share_of_in_process_two_connections": round(shares["two_connections"], 4),
        "target": "names/s at least 70% of in-process (median over rounds of served / in-process, 1 connection)",
        "met": shares["one_connection"] >= 0.7,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds a phase: a check, not figures")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serve.json")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks/serve.py needs wrk: apt-get install wrk")
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="nameclf-serve-bench-") as folder:
        rounds, singles, soaked, code, log = measure(args.quick, Path(folder))
    results = {
        "command": "python benchmarks/serve.py" + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "started": started_at,
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "note": "the server (one process) and wrk (one thread) share the machine's cores, and with any "
            "other work running on it",
        },
        "versions": versions(),
        "model": MODEL,
        "server": f"nameclf serve --model {MODEL} (1 worker, defaults), exit code {code} after SIGTERM",
        "server_log_tracebacks": log.count("Traceback"),
        "batches": batch_figures(rounds, 1000),
        "single_names": {**singles, "connections": 16, "target": "p99 at most 50 ms", "met": singles["p99_ms"] <= 50},
        "soak": {
            **soaked,
            "target": "RSS within 10% of after warm-up; no failed request but deliberate 4xx or 503",
            "met": abs(soaked["rss_change_at_end"]) <= 0.10
            and soaked["rss_change_highest"] <= 0.10
            and soaked["failed_requests"] == 0,
        },
    }
    common.write_json(args.out, results, indent=2)
    say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
