"""HTTPS: the importer checks the gateway's certificate by default, trusts a CA bundle it is
given, and skips the check only when told to. The gateway is the real local one serving TLS
with a certificate from a throwaway CA (trustme)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import read_csv, run_cli, write_csv

ENV = {"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD}
ROWS = [{"name": f"tls-{i}", "host": "dynamic", "secret": f"Secret-{i}x"} for i in range(5)]


@pytest.fixture
def https_gateway(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> tuple[GatewayProcess, Path]:
    """A gateway serving HTTPS for 127.0.0.1, and the PEM file of the CA that signed it."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    cert, key, ca_pem = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    server.private_key_pem.write_to_path(str(key))
    server.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_pem))
    trust = ssl.create_default_context(cafile=str(ca_pem))
    gateway = gateway_server("--tls-cert", str(cert), "--tls-key", str(key), verify=trust)
    assert gateway.url.startswith("https://127.0.0.1:")
    return gateway, ca_pem


def _import(tmp_path: Path, gateway: GatewayProcess, *flags: str) -> tuple[int, str, str]:
    sheet = write_csv(tmp_path / "sheet.csv", ROWS)
    report = tmp_path / "reports" / "-".join(f.strip("-") for f in flags if f.startswith("--"))
    proc = run_cli(
        "import", str(sheet), "--gateway", gateway.url, "--report-dir", str(report), *flags,
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def test_an_untrusted_certificate_stops_the_run_with_advice(
    tmp_path: Path, https_gateway: tuple[GatewayProcess, Path]
) -> None:
    gateway, _ca = https_gateway
    started = time.monotonic()
    code, _out, err = _import(tmp_path, gateway)
    assert code == 3, err
    assert err.strip().splitlines()[-1] == (
        f"error: cannot reach the gateway at {gateway.url}: its TLS certificate is not trusted; "
        "give the gateway's CA certificate with --ca-bundle FILE, or --insecure to skip the check"
    )
    # Not retried: a certificate is no more trusted a second later.
    assert time.monotonic() - started < 10
    assert gateway.stored() == {}


def test_the_ca_bundle_given_is_trusted(
    tmp_path: Path, https_gateway: tuple[GatewayProcess, Path]
) -> None:
    gateway, ca = https_gateway
    code, _out, err = _import(tmp_path, gateway, "--ca-bundle", str(ca))
    assert code == 0, err
    assert "warning" not in err
    assert sorted(gateway.stored()) == sorted(r["name"] for r in ROWS)
    results = read_csv(tmp_path / "reports" / "ca-bundle" / "results.csv")
    assert {r["outcome"] for r in results} == {"created"}


def test_the_system_store_is_what_ssl_cert_file_names(
    tmp_path: Path, https_gateway: tuple[GatewayProcess, Path]
) -> None:
    """Without --ca-bundle the client trusts the system's CA store as OpenSSL finds it, so an
    operator's SSL_CERT_FILE (or a CA added to the system store) is honoured; the same import
    with the default store fails (the test above)."""
    gateway, ca = https_gateway
    sheet = write_csv(tmp_path / "sheet.csv", ROWS)
    proc = run_cli(
        "import", str(sheet), "--gateway", gateway.url, "--report-dir", "out",
        cwd=tmp_path, env={**ENV, "SSL_CERT_FILE": str(ca)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(gateway.stored()) == sorted(r["name"] for r in ROWS)


def test_insecure_skips_the_check_and_says_so(
    tmp_path: Path, https_gateway: tuple[GatewayProcess, Path]
) -> None:
    gateway, _ca = https_gateway
    code, _out, err = _import(tmp_path, gateway, "--insecure")
    assert code == 0, err
    assert "warning: TLS certificate checks are off (--insecure)" in err.splitlines()
    assert sorted(gateway.stored()) == sorted(r["name"] for r in ROWS)


def test_a_plain_http_gateway_behind_an_https_url_is_a_clear_handshake_failure(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    wrong = GatewayProcess(
        url=gateway.url.replace("http://", "https://"),
        db=gateway.db,
        proc=gateway.proc,
        log=gateway.log,
        user=gateway.user,
        password=gateway.password,
    )
    code, _out, err = _import(tmp_path, wrong)
    assert code == 3, err
    assert err.strip().splitlines()[-1] == (
        f"error: cannot reach the gateway at {wrong.url}: the TLS handshake failed: the gateway "
        "does not speak HTTPS there (try http://)"
    )


def test_a_tls_certificate_without_its_key_is_refused_in_one_line(tmp_path: Path) -> None:
    cert = tmp_path / "server.pem"
    cert.write_text("not used")
    proc = run_cli("gateway", "--port", "0", "--tls-cert", str(cert), cwd=tmp_path, env=ENV)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: invalid gateway settings: give both a TLS certificate and its key, or neither"
    )
