"""The gateway inside another process (the importer's embedded mode) and its settings."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import ROOT, GatewayProcess

from gateway import GatewayConfig, GatewayStartError, resolve_credentials, start_local_gateway

Launch = Callable[..., GatewayProcess]


def _login(client: httpx.Client, user: str, password: str) -> None:
    response = client.post("/admin/main.html", data={"admin_uid": user, "admin_password": password})
    assert response.status_code == 200, response.text


def test_start_local_gateway_serves_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIP_IMPORT_USER", "embedded")
    monkeypatch.setenv("SIP_IMPORT_PASSWORD", "embedded-pw")
    db = tmp_path / "sub" / "gw.db"  # parent folders are created
    with start_local_gateway(db, seed=1) as gw:
        assert gw.url.startswith("http://127.0.0.1:")
        assert (gw.user, gw.password) == ("embedded", "embedded-pw")
        assert "embedded-pw" not in repr(gw)
        with httpx.Client(base_url=gw.url) as client:
            _login(client, gw.user, gw.password)
            body = {"method": "sip_endpoint.save", "parameters": {"name": "embedded-1"}}
            assert client.post("/json", json=body).json() == {
                "result": "success",
                "object_id": "1",
            }
        port = urlsplit(gw.url).port
    assert db.exists()
    # Stopped: nothing listens on the port any more.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    # The same database again: the endpoint is still there.
    with start_local_gateway(db) as gw, httpx.Client(base_url=gw.url) as client:
        _login(client, gw.user, gw.password)
        listed = client.post("/json", json={"method": "sip_endpoints.list"}).json()
        assert [e["name"] for e in listed["sip_endpoints"]] == ["embedded-1"]


def test_start_local_gateway_reports_a_failed_start(tmp_path: Path) -> None:
    not_a_db = tmp_path / "folder"
    not_a_db.mkdir()
    with (
        pytest.raises(GatewayStartError, match="did not start"),
        start_local_gateway(not_a_db, user="u", password="p"),
    ):
        pass


def test_sigterm_stops_cleanly(gateway_server: Launch) -> None:
    gw = gateway_server()
    gw.call("sip_endpoint.save", {"name": "before-term"})
    gw.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why.
    assert gw.proc.wait(timeout=15) in (0, -signal.SIGTERM)
    assert "Finished server process" in gw.log.read_text()
    assert "before-term" in gw.stored()


@pytest.mark.parametrize(
    "settings",
    [
        {"error_rate": 1.5},
        {"error_rate": 0.5, "busy_rate": 0.3, "drop_rate": 0.3},
        {"rate_limit": 0},
        {"max_inflight": 0},
        {"latency_ms": -1},
        {"session_ttl": 0},
        {"port": 70000},
        {"user": "only-user"},
    ],
)
def test_config_rejects_bad_settings(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="invalid gateway settings"):
        GatewayConfig(**settings)  # type: ignore[arg-type]


def test_credentials_resolution() -> None:
    assert resolve_credentials(GatewayConfig(), {}).is_default
    creds = resolve_credentials(
        GatewayConfig(), {"SIP_IMPORT_USER": "u", "SIP_IMPORT_PASSWORD": "p"}
    )
    assert (creds.user, creds.password, creds.is_default) == ("u", "p", False)
    assert "p" not in repr(creds).replace("repr", "")
    with pytest.raises(ValueError, match="SIP_IMPORT_USER is not set"):
        resolve_credentials(GatewayConfig(), {"SIP_IMPORT_PASSWORD": "p"})


def test_command_line_rejects_bad_flags(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "gateway", "--db", str(tmp_path / "x.db"), "--error-rate", "2"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "probability" in done.stderr and done.stdout == ""
