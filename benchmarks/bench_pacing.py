"""Pacing and fleet figures: the adaptive limit against a gateway of limited capacity, and one
client driving 50 gateways.

Pacing: ``python -m gateway --capacity C --latency-ms 20`` (at most C calls processed at once,
the rest queue, so latency grows with load as on a real box), fresh for every run. The product's
own client (``GatewayClient``) saves the same payloads with ``W`` workers at a fixed concurrency
(1, 2, 4, ... 64) or adaptive with a ceiling of 64. Each call's latency is the time the pacer
saw it take (the gateway's queue plus its work, not the client's own wait for a slot); a call
refused with 429/503 is retried by the client and counted.

Fleet: ``python -m gateway --fleet 50 --latency-ms 20`` (one process, 50 gateways) and the
real fleet job (``run_fleet``) saving a 200-row sheet to every one of them.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bench_gateway import PASSWORD, USER
from .bench_gateway import gateway as gateway_process

__all__ = ["FleetRun", "PaceRun", "fleet_once", "pace_once"]


@dataclass(frozen=True)
class PaceRun:
    concurrency: str
    rows: int
    seconds: float
    latencies: list[float]
    refused: int
    #: (seconds, limit) at each change of the limit.
    history: list[tuple[float, int]]

    @property
    def rate(self) -> float:
        return self.rows / self.seconds

    @property
    def median_latency(self) -> float:
        return statistics.median(self.latencies)


async def _save(url: str, rows: list[dict[str, Any]], ceiling: int, fixed: bool) -> PaceRun:
    from importer.config import Credentials, GatewaySettings
    from importer.gateways.client import GatewayClient

    settings = GatewaySettings(
        url, Credentials(USER, PASSWORD), concurrency=ceiling, fixed_concurrency=fixed
    )
    latencies: list[float] = []
    async with GatewayClient(settings) as client:
        pacer = client.pacer
        release = pacer.release

        def timed(started: float, **kwargs: Any) -> None:
            if kwargs.get("answered", True):
                latencies.append(pacer.clock() - started)
            release(started, **kwargs)

        pacer.release = timed  # type: ignore[method-assign]
        await client.login()
        latencies.clear()
        todo = iter(rows)
        began = time.perf_counter()

        async def worker() -> None:
            for parameters in todo:
                await client.call("sip_endpoint.save", parameters)

        await asyncio.gather(*(worker() for _ in range(ceiling)))
        seconds = time.perf_counter() - began
        refused = client.requests["sip_endpoint.save"] - len(rows)
        history = list(pacer.history)
    label = str(ceiling) if fixed else f"adaptive (ceiling {ceiling})"
    return PaceRun(label, len(rows), seconds, latencies, refused, history)


def pace_once(
    rows: list[dict[str, Any]], capacity: int, ceiling: int, fixed: bool, tmp: Path, index: int
) -> PaceRun:
    db = tmp / f"pace-c{capacity}-{ceiling}-{fixed}-{index}.db"
    flags = ("--capacity", str(capacity), "--latency-ms", "20")
    with gateway_process(db, *flags) as (url, _pid):
        return asyncio.run(_save(url, rows, ceiling, fixed))


@dataclass(frozen=True)
class FleetRun:
    gateways: int
    saves: int
    seconds: float
    client_cpu: float

    @property
    def rate(self) -> float:
        return self.saves / self.seconds


def fleet_once(count: int, rows: int, tmp: Path) -> FleetRun:
    """``run_fleet`` saving ``rows`` rows to each of ``count`` gateways of one
    ``python -m gateway --fleet`` process (20 ms latency)."""
    import os
    import subprocess
    import sys

    from importer.gateways.fleet import FleetOptions, run_fleet
    from importer.gateways.inventory import load_inventory
    from importer.gateways.upload import JobOptions

    from .generate import sheet as make_sheet

    env = {**os.environ, "SIP_IMPORT_USER": USER, "SIP_IMPORT_PASSWORD": PASSWORD}
    cmd = [sys.executable, "-m", "gateway", "--port", "0", "--db", str(tmp / "fleet.db"),
           "--fleet", str(count), "--latency-ms", "20"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout is not None
        urls = [proc.stdout.readline().split()[-1] for _ in range(count)]
        inventory = tmp / "fleet.toml"
        inventory.write_text(
            "[defaults]\nconcurrency = 8\n"
            + "".join(f'[gateways.gw{i:02d}]\nurl = "{u}"\n' for i, u in enumerate(urls))
        )
        sheet = make_sheet(rows, "csv", seed=3, bad_share=0.0)
        saved = dict(os.environ)
        os.environ.update({"SIP_IMPORT_USER": USER, "SIP_IMPORT_PASSWORD": PASSWORD})
        try:
            cpu, began = time.process_time(), time.perf_counter()
            result = run_fleet(
                sheet.path,
                fleet=FleetOptions(load_inventory(inventory)),
                options=JobOptions("import", journal=None),
                report_dir=tmp / "reports",
            )
            seconds, client_cpu = time.perf_counter() - began, time.process_time() - cpu
        finally:
            os.environ.clear()
            os.environ.update(saved)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    outcomes = result.summary["outcomes"]
    if outcomes != {"created": rows * count}:
        raise RuntimeError(f"fleet import ended {outcomes}, not all created")
    saves = rows * count
    return FleetRun(count, saves, seconds, client_cpu)


def plot(runs: dict[str, PaceRun], path: Path) -> None:
    """The adaptive limit over time, one line per gateway capacity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4), dpi=100)
    for label, run in runs.items():
        times = [t for t, _ in run.history] + [run.seconds]
        limits = [limit for _, limit in run.history] + [run.history[-1][1]]
        axes.step(times, limits, where="post", label=label)
    axes.set_xlabel("seconds since the first save")
    axes.set_ylabel("calls in flight allowed")
    axes.set_title("Adaptive pacing against the local gateway (--latency-ms 20, ceiling 64)")
    axes.legend()
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def temporary() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="bench-pacing-")
