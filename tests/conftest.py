"""Shared fixtures. ``gateway_server`` starts the real local gateway as a subprocess
(``python -m gateway``) on a free loopback port, so tests talk real HTTP to a real SQLite
database and can SIGKILL it."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_USER = "tester"
TEST_PASSWORD = "correct horse battery staple"
_START_TIMEOUT_S = 30.0


@dataclass
class GatewayProcess:
    """One running ``python -m gateway``."""

    url: str
    db: Path
    proc: subprocess.Popen[str]
    #: The gateway's stderr (uvicorn and gateway logs).
    log: Path
    user: str
    password: str = field(repr=False)
    #: What this process's own httpx clients trust (an SSLContext for an HTTPS gateway).
    verify: Any = field(default=True, repr=False)
    _client: httpx.Client | None = field(default=None, repr=False)

    def login_cookies(self) -> httpx.Cookies:
        """A fresh session (for an ``httpx.AsyncClient(cookies=...)``)."""
        with httpx.Client(base_url=self.url, timeout=10, verify=self.verify) as client:
            response = client.post(
                "/admin/main.html",
                data={"admin_uid": self.user, "admin_password": self.password},
            )
            assert response.status_code == 200, response.text
            return httpx.Cookies(client.cookies)

    def login_client(self, **kwargs: Any) -> httpx.Client:
        """A new ``httpx.Client`` holding a fresh session (use it in ``with``)."""
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("verify", self.verify)
        return httpx.Client(base_url=self.url, cookies=self.login_cookies(), **kwargs)

    @property
    def client(self) -> httpx.Client:
        """A logged-in client kept for this process (closed at teardown)."""
        if self._client is None:
            self._client = self.login_client()
        return self._client

    def call(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"method": method}
        if params is not None:
            body["parameters"] = params
        return self.client.post("/json", json=body)

    def stats(self) -> dict[str, Any]:
        with self.login_client() as client:
            response = client.get("/admin/stats")
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Every stored endpoint by name, via ``sip_endpoints.list``."""
        with self.login_client() as client:
            response = client.post("/json", json={"method": "sip_endpoints.list"})
            assert response.json()["result"] == "success", response.text
            return {e["name"]: e for e in response.json()["sip_endpoints"]}

    def stored(self) -> dict[str, dict[str, Any]]:
        """Every endpoint in the database file, read directly (no HTTP, so no faults)."""
        with closing(sqlite3.connect(self.db)) as conn:
            rows = conn.execute("SELECT object_id, name, data FROM endpoints").fetchall()
        return {name: {"object_id": str(i), "name": name, **json.loads(d)} for i, name, d in rows}

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.kill()


def _env(overrides: dict[str, str | None]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_IMPORT_")}
    env["SIP_IMPORT_USER"] = TEST_USER
    env["SIP_IMPORT_PASSWORD"] = TEST_PASSWORD
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _wait_for_url(proc: subprocess.Popen[str], log: Path) -> str:
    """Read the one stdout line; fail with the gateway's log if it never comes."""
    return _wait_for_urls(proc, log, 1)[0]


def _wait_for_urls(proc: subprocess.Popen[str], log: Path, count: int) -> list[str]:
    """Read ``count`` listening lines (straight from the pipe: a buffered reader could hold
    the later lines where the selector cannot see them); fail with the log if they never come."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + _START_TIMEOUT_S
    pending = b""
    urls: list[str] = []
    try:
        while time.monotonic() < deadline and len(urls) < count:
            if selector.select(timeout=0.1):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                pending += chunk
                while b"\n" in pending and len(urls) < count:
                    raw, pending = pending.split(b"\n", 1)
                    line = raw.decode()
                    if not line.startswith(
                        ("gateway listening on http://", "gateway listening on https://")
                    ):
                        raise AssertionError(f"unexpected gateway output {line!r}")
                    urls.append(line.strip().rsplit(" ", 1)[-1])
            elif proc.poll() is not None:
                break
    finally:
        selector.close()
    if len(urls) == count:
        return urls
    proc.kill()
    proc.wait()
    raise AssertionError(f"gateway did not start (rc={proc.returncode}):\n{log.read_text()}")


class GatewayLauncher:
    """Starts gateways in ``directory`` and kills every one of them at ``close``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[GatewayProcess] = []

    def __call__(
        self,
        *flags: str,
        db: Path | None = None,
        env: dict[str, str | None] | None = None,
        verify: Any = True,
    ) -> GatewayProcess:
        n = len(self.started)
        db = db if db is not None else self.directory / "gw.db"
        log = self.directory / f"gateway-{n}.log"
        merged_env = _env(env or {})
        cmd = [sys.executable, "-m", "gateway", "--port", "0", "--db", str(db), *flags]
        with log.open("w") as err:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=merged_env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        url = _wait_for_url(proc, log)
        gateway = GatewayProcess(
            url=url,
            db=db,
            proc=proc,
            log=log,
            user=merged_env.get("SIP_IMPORT_USER", "admin"),
            password=merged_env.get("SIP_IMPORT_PASSWORD", "admin"),
            verify=verify,
        )
        self.started.append(gateway)
        return gateway

    def fleet(self, count: int, *flags: str, name: str = "fleet") -> list[GatewayProcess]:
        """``python -m gateway --fleet COUNT``: COUNT gateways in one process (databases
        ``NAME-1.db`` ...; the listening lines come in that order). Killing one kills all."""
        n = len(self.started)
        db = self.directory / f"{name}.db"
        log = self.directory / f"gateway-{n}.log"
        merged_env = _env({})
        cmd = [sys.executable, "-m", "gateway", "--port", "0", "--db", str(db), "--fleet",
               str(count), *flags]  # fmt: skip
        with log.open("w") as err:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=merged_env, stdout=subprocess.PIPE, stderr=err, text=True
            )
        urls = _wait_for_urls(proc, log, count)
        members = [
            GatewayProcess(
                url=url,
                db=db.with_name(f"{name}-{i + 1}.db"),
                proc=proc,
                log=log,
                user=TEST_USER,
                password=TEST_PASSWORD,
            )
            for i, url in enumerate(urls)
        ]
        self.started.extend(members)
        return members

    def close(self) -> None:
        for gateway in self.started:
            gateway.close()


@pytest.fixture
def gateway_server(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: ``gateway_server("--error-rate", "0.1", db=..., env={...})`` starts a gateway
    (database ``tmp_path/gw.db`` unless ``db`` is given, credentials TEST_USER/TEST_PASSWORD
    unless ``env`` overrides them; ``None`` unsets a variable). All are killed at teardown."""
    launcher = GatewayLauncher(tmp_path)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="session")
def shared_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """One fault-free gateway for the tests that only need a working server (use unique
    endpoint names per test)."""
    launcher = GatewayLauncher(tmp_path_factory.mktemp("shared-gateway"))
    try:
        yield launcher()
    finally:
        launcher.close()
