"""Fault injection (acceptance 5): each flag happens at about the asked rate, ``--seed``
replays the same sequence, and a fault never half-applies a save."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from conftest import GatewayProcess

Launch = Callable[..., GatewayProcess]


def outcome(client: httpx.Client, params: dict[str, Any]) -> str:
    """What one save looked like to the client."""
    try:
        response = client.post("/json", json={"method": "sip_endpoint.save", "parameters": params})
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return "drop"  # connection closed, no response
    if response.status_code == 500:
        assert response.text == "Internal Server Error"
        return "error"
    body = response.json()
    if response.status_code == 503:
        assert body["error_key"] == "SERVER_BUSY", body
        return "busy"
    if response.status_code == 429:
        assert body["error_key"] == "RATE_LIMITED", body
        assert int(response.headers["retry-after"]) >= 1
        return "rate_limit"
    assert response.status_code == 200 and body["result"] == "success", body
    return "ok"


def run_saves(gw: GatewayProcess, n: int, prefix: str = "f") -> list[tuple[str, str]]:
    """``n`` sequential saves of new names: [(name, outcome)]."""
    with gw.login_client() as client:
        return [(f"{prefix}-{i}", outcome(client, {"name": f"{prefix}-{i}"})) for i in range(n)]


def test_random_faults_at_their_rates_reproducible_by_seed(gateway_server: Launch) -> None:
    flags = ("--error-rate", "0.15", "--busy-rate", "0.15", "--drop-rate", "0.15")
    n = 200
    gw = gateway_server(*flags, "--seed", "42")
    first = run_saves(gw, n)
    counts = Counter(o for _, o in first)
    # Expected 30 of each (binomial sd ~5); the tolerance is wide, the seed makes it fixed.
    for kind in ("error", "busy", "drop"):
        assert 12 <= counts[kind] <= 50, counts
    assert counts["ok"] == n - counts["error"] - counts["busy"] - counts["drop"]

    # The server counted exactly what the client saw ...
    stats = gw.stats()
    assert stats["faults"] == {k: counts[k] for k in ("error", "busy", "drop")}
    # ... and a faulted save changed nothing: only the acknowledged names exist,
    # and only they reached the method.
    acknowledged = {name for name, o in first if o == "ok"}
    assert set(gw.stored()) == acknowledged
    assert stats["calls"] == {"sip_endpoint.save": counts["ok"]}
    assert set(stats["saves_by_name"]) == acknowledged

    # Same seed, fresh server and database: the same sequence, call for call.
    again = gateway_server(*flags, "--seed", "42", db=gw.db.with_name("again.db"))
    assert run_saves(again, n) == first
    # Another seed: another sequence.
    other = gateway_server(*flags, "--seed", "43", db=gw.db.with_name("other.db"))
    assert run_saves(other, n) != first


@pytest.mark.parametrize(
    ("flag", "kind"), [("--error-rate", "error"), ("--busy-rate", "busy"), ("--drop-rate", "drop")]
)
def test_each_fault_flag_alone(gateway_server: Launch, flag: str, kind: str) -> None:
    gw = gateway_server(flag, "0.25", "--seed", "7")
    counts = Counter(o for _, o in run_saves(gw, 160))
    assert set(counts) == {"ok", kind}
    assert 20 <= counts[kind] <= 60, counts  # expected 40


def test_drop_closes_the_connection_without_a_response(gateway_server: Launch) -> None:
    gw = gateway_server("--drop-rate", "1")
    with (
        gw.login_client() as client,
        pytest.raises(httpx.RemoteProtocolError, match="without sending a response"),
    ):
        client.post("/json", json={"method": "sip_endpoints.list"})
    assert gw.stats()["faults"] == {"drop": 1}
    assert "Exception in ASGI application" not in gw.log.read_text()


@pytest.mark.parametrize("flag", ["--drop-rate", "--error-rate"])
def test_fault_after_commit_saves_then_fails(gateway_server: Launch, flag: str) -> None:
    """The "saved, but I did not hear back" case: every save is committed, some answers
    are lost or 500."""
    gw = gateway_server(flag, "0.5", "--seed", "3", "--fault-after-commit")
    results = run_saves(gw, 60, prefix="fac")
    counts = Counter(o for _, o in results)
    kind = "drop" if flag == "--drop-rate" else "error"
    assert 12 <= counts[kind] <= 48 and counts["ok"] + counts[kind] == 60, counts
    assert set(gw.stored()) == {name for name, _ in results}  # all committed
    stats = gw.stats()
    assert stats["calls"] == {"sip_endpoint.save": 60}
    assert stats["faults"] == {kind: counts[kind]}


def test_busy_is_never_deferred_after_commit(gateway_server: Launch) -> None:
    gw = gateway_server("--busy-rate", "1", "--fault-after-commit")
    assert run_saves(gw, 5) == [(f"f-{i}", "busy") for i in range(5)]
    assert gw.stored() == {}


def test_latency_and_jitter(gateway_server: Launch) -> None:
    flags = ("--latency-ms", "40", "--jitter-ms", "20")
    gw = gateway_server(*flags, "--seed", "5")

    def delays(gateway: GatewayProcess) -> list[float]:
        found = []
        with gateway.login_client() as client:
            for _ in range(20):
                started = time.perf_counter()
                response = client.post("/json", json={"method": "sip_endpoints.list"})
                elapsed_ms = (time.perf_counter() - started) * 1000
                injected = float(response.headers["x-injected-delay-ms"])
                assert 20 <= injected <= 60
                assert elapsed_ms >= injected - 1  # the server really waited
                found.append(injected)
        return found

    first = delays(gw)
    assert 30 <= sum(first) / len(first) <= 50  # expected 40
    assert max(first) - min(first) > 10  # jitter varies the delay
    assert gw.stats()["faults"] == {"latency": 20}
    # The same seed replays the delays exactly (another seed differing is shown above for
    # the fault kinds, which come from the same generator).
    assert delays(gateway_server(*flags, "--seed", "5", db=gw.db.with_name("b.db"))) == first


def test_rate_limit(gateway_server: Launch) -> None:
    gw = gateway_server("--rate-limit", "20")
    with gw.login_client() as client:
        # A burst of one second's worth is allowed, then calls beyond the rate get 429
        # (a few more pass as the bucket refills while the burst is sent).
        started = time.monotonic()
        burst = [outcome(client, {"name": f"burst-{i}"}) for i in range(40)]
        refill = 20 * (time.monotonic() - started)
        assert burst[:20] == ["ok"] * 20, burst
        assert burst.count("ok") <= 20 + refill + 1 and "rate_limit" in burst, (burst, refill)
        time.sleep(1.0)  # the bucket refills
        started = time.monotonic()
        seen: Counter[str] = Counter()
        while time.monotonic() - started < 1.5:
            seen[outcome(client, {"name": f"steady-{sum(seen.values())}"})] += 1
        elapsed = time.monotonic() - started
    # About 20 per second plus the refilled burst of 20; never more than the bucket allows
    # (the lower bound is generous: a loaded machine sends fewer calls).
    expected = 20 + 20 * elapsed
    assert expected - 15 <= seen["ok"] <= expected + 1, (seen, elapsed)
    assert seen["rate_limit"] > 0
    stats = gw.stats()
    assert stats["faults"] == {"rate_limit": seen["rate_limit"] + burst.count("rate_limit")}
    # Refused calls never reached the method.
    assert stats["calls"]["sip_endpoint.save"] == seen["ok"] + burst.count("ok")


async def _concurrent(gw: GatewayProcess, n: int) -> list[int]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(
        base_url=gw.url, cookies=gw.login_cookies(), limits=limits, timeout=30
    ) as client:
        responses = await asyncio.gather(
            *(client.post("/json", json={"method": "sip_endpoints.list"}) for _ in range(n))
        )
    for response in responses:
        if response.status_code == 503:
            assert response.json()["error_key"] == "SERVER_BUSY"
    return sorted(r.status_code for r in responses)


def test_max_inflight(gateway_server: Launch) -> None:
    # 16 calls at once, each held 800 ms: the first 4 are served, 12 are turned away.
    gw = gateway_server("--max-inflight", "4", "--latency-ms", "800")
    assert asyncio.run(_concurrent(gw, 16)) == [200] * 4 + [503] * 12
    # Not random, so it repeats exactly.
    assert asyncio.run(_concurrent(gw, 16)) == [200] * 4 + [503] * 12
    assert gw.stats()["faults"] == {"max_inflight": 24, "latency": 8}


# -- anonymous calls and clients that hang up ---------------------------------------------------


async def _saves_among_anonymous_calls(gw: GatewayProcess) -> tuple[list[int], list[float]]:
    """Two logged-in saves and six anonymous calls sent at the same moment: the saves'
    statuses and how long each anonymous call took."""
    limits = httpx.Limits(max_connections=8)
    async with (
        httpx.AsyncClient(base_url=gw.url, cookies=gw.login_cookies(), timeout=30) as user,
        httpx.AsyncClient(base_url=gw.url, limits=limits, timeout=30) as anonymous,
    ):
        # Connections are opened first, so "the same moment" is not spread by TCP handshakes.
        await asyncio.gather(*(c.get("/admin/stats") for c in (user, user, *[anonymous] * 6)))

        async def anonymous_call() -> float:
            started = time.monotonic()
            response = await anonymous.post("/json", json={"method": "sip_endpoints.list"})
            assert response.status_code == 401 and response.json()["error_key"] == "NOT_LOGGED_IN"
            return time.monotonic() - started

        async def save(name: str) -> int:
            body = {"method": "sip_endpoint.save", "parameters": {"name": name}}
            return (await user.post("/json", json=body)).status_code

        results = await asyncio.gather(
            save("anon-a"), save("anon-b"), *(anonymous_call() for _ in range(6))
        )
    return [int(r) for r in results[:2]], [float(r) for r in results[2:]]


def test_anonymous_calls_spend_no_slot_and_no_latency(gateway_server: Launch) -> None:
    gw = gateway_server("--max-inflight", "2", "--latency-ms", "1500")
    statuses, anonymous_s = asyncio.run(_saves_among_anonymous_calls(gw))
    assert statuses == [200, 200]  # both slots were free for the logged-in saves
    assert max(anonymous_s) < 0.75, anonymous_s  # answered at once, not after the latency
    stats = gw.stats()
    assert stats["faults"] == {"latency": 2}
    assert stats["saves_by_name"] == {"anon-a": 1, "anon-b": 1}


def test_anonymous_calls_spend_no_fault_and_no_rate_token(gateway_server: Launch) -> None:
    gw = gateway_server("--rate-limit", "1", "--error-rate", "1")
    with httpx.Client(base_url=gw.url, timeout=10) as anonymous:
        for _ in range(6):
            response = anonymous.post("/json", json={"method": "sip_endpoints.list"})
            assert response.status_code == 401  # not the 500 every call draws, nor a 429
    assert gw.stats()["faults"] == {}
    with gw.login_client() as client:  # the one token of the second is still there
        assert outcome(client, {"name": "after-anonymous"}) == "error"
    assert gw.stats()["faults"] == {"error": 1}


_HANGING_CLIENT = """
import asyncio, sys, httpx

async def main(url, cookie):
    async with httpx.AsyncClient(base_url=url, cookies={"sip_import_session": cookie}) as c:
        calls = [c.post("/json", json={"method": "sip_endpoint.save",
                                       "parameters": {"name": f"gone-{i}"}}) for i in range(4)]
        tasks = [asyncio.ensure_future(call) for call in calls]
        await asyncio.sleep(0.5)
        print("sent", flush=True)
        await asyncio.gather(*tasks)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_a_client_killed_mid_call_is_one_info_line(gateway_server: Launch) -> None:
    gw = gateway_server("--latency-ms", "1500")
    cookie = gw.login_cookies()["sip_import_session"]
    client = subprocess.Popen(
        [sys.executable, "-c", _HANGING_CLIENT, gw.url, cookie], stdout=subprocess.PIPE, text=True
    )
    assert client.stdout is not None and client.stdout.readline() == "sent\n"
    client.kill()  # SIGKILL while its four calls wait in the injected latency
    client.wait(timeout=10)
    deadline = time.monotonic() + 20
    while gw.log.read_text().count("disconnected before") < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [line for line in gw.log.read_text().splitlines() if "disconnected before" in line]
    assert len(lines) == 4, gw.log.read_text()
    for line in lines:
        assert line.split(" ", 2)[2].startswith("INFO gateway: 127.0.0.1:"), line
        assert line.endswith(" disconnected before POST /json was answered"), line
    assert "Traceback" not in gw.log.read_text()
    assert "Exception in ASGI application" not in gw.log.read_text()
    assert gw.stored() == {}  # the calls never reached a method


def test_a_call_cut_short_by_shutdown_is_a_503_and_one_info_line(gateway_server: Launch) -> None:
    gw = gateway_server("--latency-ms", "20000")
    with gw.login_client(timeout=30) as client, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(client.post, "/json", json={"method": "sip_endpoints.list"})
        deadline = time.monotonic() + 10
        while "latency" not in gw.stats()["faults"] and time.monotonic() < deadline:
            time.sleep(0.05)
        gw.proc.send_signal(signal.SIGTERM)  # uvicorn waits 5 s, then cancels the call
        response = pending.result(timeout=25)
    assert response.status_code == 503
    assert response.json() == {
        "result": "error",
        "error": "the gateway is shutting down; retry later",
        "error_key": "SERVER_BUSY",
    }
    assert gw.proc.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    log = gw.log.read_text()
    assert "INFO gateway: cancelled POST /json in progress: the gateway is shutting down" in log
    assert "Traceback" not in log
