"""benchmarks/serve.py really runs: a real server and wrk, a few seconds a phase (figures not checked:
they depend on the machine). Skipped, saying why, where Debian's wrk is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "serve.py"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs the load generator wrk (Debian: apt-get install wrk)")
def test_the_serve_benchmark_runs_and_records_its_figures(tmp_path):
    out = tmp_path / "serve.json"
    subprocess.run([sys.executable, str(BENCHMARK), "--quick", "--out", str(out)], check=True, timeout=300)
    figures = json.loads(out.read_text())
    assert figures["quick"] is True
    assert figures["server"].endswith("exit code 0 after SIGTERM")
    assert figures["server_log_tracebacks"] == 0
    rounds = figures["batches"]["rounds"]
    assert rounds and all(r["one_connection"]["ok"] == r["one_connection"]["requests"] > 0 for r in rounds)
    assert figures["single_names"]["ok"] == figures["single_names"]["requests"] > 0
    soak = figures["soak"]
    assert soak["failed_requests"] == 0 and soak["deliberate_4xx_sent"] > 0
    assert soak["four_xx_received"] >= soak["deliberate_4xx_sent"] - 16  # the last ones may be in flight
    assert soak["rss_mib_after_warm_up"] > 0
    assert isinstance(figures["batches"]["met"], bool) and isinstance(figures["single_names"]["met"], bool)
