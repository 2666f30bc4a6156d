"""Saves per second of the local gateway at concurrency 1, 8 and 64 (no injected faults).

Runs ``python -m gateway`` as a subprocess on a fresh database per SQLite mode and drives it
with one ``httpx.AsyncClient`` (a connection per concurrent worker). Every save creates a new
endpoint (Example One's parameters, distinct names). Each cell is the median of 3 runs.

    .venv/bin/python benchmarks/bench_gateway.py [--saves 1000] [--modes FULL NORMAL]

Prints a markdown table and writes it to benchmarks/results/gateway.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "gateway.md"
CONCURRENCY = (1, 8, 64)
RUNS = 3
USER, PASSWORD = "bench", "bench-password"


@dataclass
class Run:
    saves_per_s: float
    #: CPU seconds per save, in the gateway process and in this (client) process.
    server_cpu_ms: float
    client_cpu_ms: float


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def gateway(db: Path, *flags: str) -> Iterator[tuple[str, int]]:
    """``python -m gateway`` on a free port with ``flags``; yields (url, pid)."""
    env = {**os.environ, "SIP_IMPORT_USER": USER, "SIP_IMPORT_PASSWORD": PASSWORD}
    cmd = [sys.executable, "-m", "gateway", "--port", "0", "--db", str(db), *flags]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("gateway listening on "):
            raise RuntimeError(f"gateway did not start: {line!r}")
        yield line.split()[-1], proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _params(name: str) -> dict[str, object]:
    return {
        "transport": ["UDP"],
        "nat": "yes",
        "name": name,
        "secret": "sdlkfj9348jkh7",
        "defaultuser": "38fh48fjh47f",
        "host": "dynamic",
        "qualifyfreq": "60",
    }


async def one_run(url: str, concurrency: int, saves: int, prefix: str) -> float:
    """Saves per second for ``saves`` new endpoints sent by ``concurrency`` workers."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        login = await client.post(
            "/admin/main.html", data={"admin_uid": USER, "admin_password": PASSWORD}
        )
        login.raise_for_status()
        counter = iter(range(saves))

        async def worker() -> None:
            for i in counter:  # shared iterator: each index is taken by exactly one worker
                body = {"method": "sip_endpoint.save", "parameters": _params(f"{prefix}-{i}")}
                response = await client.post("/json", json=body)
                if response.json().get("result") != "success":
                    raise RuntimeError(response.text)

        # Warm the connections up so the timing is steady-state saving, not TCP setup.
        await asyncio.gather(*(client.get("/admin/stats") for _ in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return saves / (time.perf_counter() - started)


def timed_run(url: str, pid: int, concurrency: int, saves: int, prefix: str) -> Run:
    server_before, client_before = process_cpu_s(pid), time.process_time()
    rate = asyncio.run(one_run(url, concurrency, saves, prefix))
    server = process_cpu_s(pid) - server_before
    client = time.process_time() - client_before
    return Run(rate, server / saves * 1000, client / saves * 1000)


def measure(saves: int, modes: list[str]) -> dict[tuple[str, int], list[Run]]:
    results: dict[tuple[str, int], list[Run]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            with gateway(Path(tmp) / f"bench-{mode}.db", "--synchronous", mode) as (url, pid):
                for concurrency in CONCURRENCY:
                    runs = [
                        timed_run(url, pid, concurrency, saves, f"{mode}-c{concurrency}-r{r}")
                        for r in range(RUNS)
                    ]
                    results[(mode, concurrency)] = runs
                    shown = [round(r.saves_per_s) for r in runs]
                    print(f"  {mode} c={concurrency}: {shown} saves/s", file=sys.stderr)
    return results


def table(results: dict[tuple[str, int], list[Run]], saves: int, load: str) -> str:
    lines = [
        "## Local gateway: saves per second",
        "",
        f"{saves} saves of new endpoints per run, median of {RUNS} runs, no injected faults; "
        "client (httpx.AsyncClient) and gateway (uvicorn + SQLite WAL) on the same machine "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}; 1-minute load average "
        f"{load}: other work on the machine lowers and spreads the numbers).",
        "",
        "| SQLite synchronous | concurrency | saves/s (median) | min | max "
        "| gateway CPU ms/save | client CPU ms/save |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (mode, concurrency), runs in results.items():
        rates = [r.saves_per_s for r in runs]
        server = statistics.median(r.server_cpu_ms for r in runs)
        client = statistics.median(r.client_cpu_ms for r in runs)
        lines.append(
            f"| {mode} | {concurrency} | {statistics.median(rates):.0f} | {min(rates):.0f} "
            f"| {max(rates):.0f} | {server:.2f} | {client:.2f} |"
        )
    lines += [
        "",
        "CPU columns: the gateway process's and the benchmark client's CPU time per save. When",
        "the client's is the larger, the numbers measure httpx as much as the gateway.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=1000, help="saves per run")
    parser.add_argument(
        "--modes", nargs="+", default=["FULL", "NORMAL"], choices=["FULL", "NORMAL"]
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = measure(args.saves, args.modes)
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    text = table(results, args.saves, load)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(f"written to {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
