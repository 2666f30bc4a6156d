"""The gateway client against the real local gateway: timeouts from the config file reach the
client, and a call that keeps timing out ends with the reason the reports show."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import run_cli, write_csv

from importer.client import GatewayClient, GaveUp
from importer.config import Credentials, GatewaySettings, resolve_settings
from importer.errors import InputError

CONFIG = """[gateway]
url = "http://127.0.0.1:9"
user = "u"
password = "p"
connect_timeout = 2
read_timeout = 0.5
pool_timeout = 7.5
"""


def test_timeouts_from_the_config_file_reach_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "sip-import.toml"
    config.write_text(CONFIG)
    config.chmod(0o600)
    settings, _tuning, _warnings = resolve_settings(None, config)
    assert settings is not None
    assert (settings.connect_timeout, settings.read_timeout, settings.pool_timeout) == (
        2.0,
        0.5,
        7.5,
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("read_timeout = 0", "read_timeout must be above 0 seconds"),
        ("read_timeout = -1.5", "read_timeout must be above 0 seconds"),
        ('read_timeout = "soon"', "config file sip-import.toml: read_timeout must be a number"),
    ],
)
def test_a_bad_timeout_is_one_line_and_exit_2(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "sip-import.toml").write_text(CONFIG.replace("read_timeout = 0.5", line))
    (tmp_path / "sip-import.toml").chmod(0o600)
    sheet = write_csv(tmp_path / "s.csv", [{"name": "a", "host": "dynamic"}])
    proc = run_cli("import", str(sheet), cwd=tmp_path, env={})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {message}"]
    with pytest.raises(InputError):
        resolve_settings(None, tmp_path / "sip-import.toml")


def test_a_call_that_keeps_timing_out_gives_up_saying_so(
    gateway_server: Callable[..., GatewayProcess],
) -> None:
    gateway = gateway_server("--latency-ms", "1500")
    settings = GatewaySettings(
        gateway.url, Credentials(TEST_USER, TEST_PASSWORD), concurrency=1
    ).with_overrides(read_timeout=0.3, retry_attempts=2, retry_wait_initial=0.01)

    async def call() -> GaveUp:
        async with GatewayClient(settings) as client:
            await client.login()
            with pytest.raises(GaveUp) as caught:
                await client.call("sip_endpoints.list", {})
            return caught.value

    gave_up = asyncio.run(call())
    assert str(gave_up) == "gave up after 2 attempts: timed out"
    assert gave_up.attempts == 2
