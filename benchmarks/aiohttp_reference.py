"""A bare aiohttp client doing what the product's import does on the wire, as a reference.

It logs in, reads ``sip_endpoints.list`` once and sends one ``sip_endpoint.save`` per row with
``concurrency`` workers on one ``aiohttp.ClientSession`` (a connection per worker): no httpx, no
retries, no breaker, no planning, no reports. Beside the product's save figure
(benchmarks/run.py, section 3) it shows what the httpx layer and the product's own per-row work
cost: the product's client is httpx over httpx-aiohttp's transport, which runs on aiohttp.

The rows are the payloads the product's own load, normalize and plan make of the sheet for an
empty gateway, built before the timed part, so both clients send the same parameters.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

__all__ = ["ReferenceRun", "payloads", "save_with_aiohttp"]


@dataclass(frozen=True)
class ReferenceRun:
    rows: int
    #: From the login to the last answer (what run_job's "save" lap covers).
    seconds: float
    client_cpu: float


def payloads(sheet: Path) -> list[dict[str, Any]]:
    """The wire parameters the importer would send for each row of ``sheet`` (the benchmark's
    sheets have no bad rows), planned for an empty gateway."""
    from importer.gateways.plan import GatewayState, plan_rows, row_values
    from importer.sheets.load import load_sheet
    from importer.sheets.normalize import normalize

    frame = normalize(load_sheet(sheet)).frame
    return [action.payload for action in plan_rows(row_values(frame), GatewayState.from_list([]))]


async def _save_all(
    url: str, user: str, password: str, rows: list[dict[str, Any]], concurrency: int
) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=5.0)
    jar = aiohttp.CookieJar(unsafe=True)  # the gateway is addressed by IP
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as session:
        login = {"admin_uid": user, "admin_password": password}
        async with session.post(f"{url}/admin/main.html", data=login) as response:
            response.raise_for_status()

        async def call(method: str, parameters: dict[str, Any]) -> dict[str, Any]:
            body = json.dumps({"method": method, "parameters": parameters}).encode()
            async with session.post(f"{url}/json", data=body, headers=headers) as response:
                answer: dict[str, Any] = json.loads(await response.read())
            if answer.get("result") != "success":
                raise RuntimeError(f"{method}: {answer}")
            return answer

        await call("sip_endpoints.list", {})
        todo = iter(rows)

        async def worker() -> None:
            for parameters in todo:
                await call("sip_endpoint.save", parameters)

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def save_with_aiohttp(
    url: str, user: str, password: str, rows: list[dict[str, Any]], concurrency: int
) -> ReferenceRun:
    cpu_before, started = time.process_time(), time.perf_counter()
    asyncio.run(_save_all(url, user, password, rows, concurrency))
    return ReferenceRun(len(rows), time.perf_counter() - started, time.process_time() - cpu_before)
