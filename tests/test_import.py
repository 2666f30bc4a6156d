"""``sip-import import`` end to end: the real console script against the real local gateway
(a subprocess speaking HTTP on loopback, with its SQLite file), reports read back from disk."""

from __future__ import annotations

import json
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import _cli_env, read_csv, run_cli, start_cli, write_csv

CODECS = ("ulaw", "alaw", "g722", "g726", "g729", "gsm")
ENV = {"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD}


def expected_wire(row: dict[str, str]) -> dict[str, Any]:
    """What the gateway must hold for a sheet row written in canonical form."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if not value or key in ("old_name", "object_id"):
            continue
        if key == "transport":
            out[key] = value.split(",")
        elif key == "audio_codecs":
            on = set(value.split(","))
            out[key] = [{"id": c, "value": "1" if c in on else "0"} for c in CODECS]
        elif key == "codec_order":
            out[key] = [{"id": c, "order": str(i)} for i, c in enumerate(value.split(","), 1)]
        else:
            out[key] = value
    return out


def assert_gateway_holds(gateway: GatewayProcess, rows: list[dict[str, str]]) -> None:
    stored = gateway.endpoints()
    for row in rows:
        endpoint = stored[row["name"]]
        for key, value in expected_wire(row).items():
            assert endpoint.get(key) == value, (row["name"], key, endpoint.get(key), value)


def make_rows(count: int, seed: int = 7, bad_share: float = 0.0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        kind = rng.choice(["ip", "reg", "phone"])
        row = {
            "name": f"ep-{seed}-{i:05d}",
            "host": "dynamic" if kind == "phone" else f"203.0.113.{i % 250 + 1}",
            "defaultuser": f"00{i:06d}" if kind != "ip" else "",
            "secret": f"pw-{seed}-{i}-x" if kind != "ip" else "",
            "registration": {"ip": "none", "reg": "out", "phone": "in"}[kind],
            "transport": rng.choice(["UDP", "TCP", "UDP,TCP", "TLS,UDP"]),
            "nat": rng.choice(["no", "yes", "force_rport", "comedia"]),
            "port": str(rng.choice([5060, 5061, 5080])) if kind != "phone" else "",
            "qualify": rng.choice(["0", "1"]),
            "qualifyfreq": str(rng.randrange(10, 120)),
            "dtmfmode": rng.choice(["auto", "info", "rfc2833", "inband"]),
            "audio_codecs": "ulaw,alaw,g729",
            "codec_order": rng.choice(["g729,ulaw", "alaw,ulaw", "ulaw"]),
            "session-expires": str(rng.choice([1800, 3600])),
        }
        if rng.random() < bad_share:
            row["port"] = "70000"  # rejected by the sheet check, never sent
        rows.append(row)
    return rows


def run_import(
    tmp_path: Path, gateway: GatewayProcess | None, sheet: Path, *extra: str, name: str = "r"
) -> tuple[Any, list[dict[str, str]], dict[str, Any]]:
    report = tmp_path / "reports" / name
    args = ["import", str(sheet), "--report-dir", str(report), *extra]
    if gateway is not None:
        args += ["--gateway", gateway.url]
    proc = run_cli(*args, cwd=tmp_path, env=ENV)
    results = read_csv(report / "results.csv") if (report / "results.csv").exists() else []
    summary = json.loads((report / "summary.json").read_text()) if results else {}
    return proc, results, summary


def start_import_and_wait(
    tmp_path: Path, gateway: GatewayProcess, rows: list[dict[str, str]], name: str
) -> tuple[Path, Path, Any]:
    """Start an import of ``rows`` at concurrency 4; return once 200 rows are on the gateway."""
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    report = tmp_path / "reports" / name
    proc = start_cli(
        "import", str(sheet), "--gateway", gateway.url, "--report-dir", str(report),
        "--concurrency", "4", cwd=tmp_path, env=ENV,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(gateway.stored()) < 200:
        time.sleep(0.05)
    return sheet, report, proc


def outcomes(results: list[dict[str, str]]) -> Counter[str]:
    return Counter(r["outcome"] for r in results)


def test_first_import_creates_second_sends_nothing(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(60)
    sheet = write_csv(tmp_path / "sheet.csv", rows)

    proc, results, summary = run_import(tmp_path, gateway, sheet, name="first")
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"created": 60}
    assert [r["row"] for r in results] == [str(i) for i in range(2, 62)]
    assert summary["outcomes"] == {"created": 60}
    assert_gateway_holds(gateway, rows)
    saves = gateway.stats()["calls"]["sip_endpoint.save"]
    assert saves == 60

    proc, results, summary = run_import(tmp_path, gateway, sheet, name="second")
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"unchanged": 60}
    assert summary["requests"] == {"sip_endpoints.list": 1}
    assert summary["plan"] == {"unchanged": 60}
    assert gateway.stats()["calls"]["sip_endpoint.save"] == 60


def test_changed_cells_update_only_their_rows(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(10)
    write_csv(tmp_path / "v1.csv", rows)
    assert run_import(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    rows[3]["nat"] = "comedia" if rows[3]["nat"] != "comedia" else "no"
    rows[7]["transport"] = "TLS"
    # An empty cell is "not managed by the sheet": it must not blank the gateway's value.
    qualifyfreq_before = rows[5]["qualifyfreq"]
    rows[5]["qualifyfreq"] = ""
    write_csv(tmp_path / "v2.csv", rows)
    proc, results, _ = run_import(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert proc.returncode == 0, proc.stderr
    assert {r["name"]: r["outcome"] for r in results if r["outcome"] != "unchanged"} == {
        rows[3]["name"]: "updated",
        rows[7]["name"]: "updated",
    }
    assert gateway.stats()["calls"]["sip_endpoint.save"] == 12
    rows[5]["qualifyfreq"] = qualifyfreq_before
    assert_gateway_holds(gateway, rows)


def test_renames_and_a_rename_onto_a_taken_name(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(5)
    write_csv(tmp_path / "v1.csv", rows)
    assert run_import(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    names = [r["name"] for r in rows]
    rows[0] = {**rows[0], "name": "renamed-0", "old_name": names[0]}
    rows[1] = {**rows[1], "name": names[2], "old_name": names[1]}  # onto an existing name
    del rows[2]  # the sheet no longer lists it, but the gateway still has it
    write_csv(tmp_path / "v2.csv", rows)
    proc, results, _summary = run_import(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert proc.returncode == 1
    by_row = {r["row"]: r for r in results}
    assert by_row["2"]["outcome"] == "renamed"
    assert (by_row["3"]["outcome"], by_row["3"]["error_key"]) == (
        "rejected",
        "ENDPOINT_NAME_EXISTS",
    )
    assert [by_row[r]["outcome"] for r in ("4", "5")] == ["unchanged"] * 2
    stored = gateway.endpoints()
    assert "renamed-0" in stored and names[0] not in stored and names[1] in stored
    rejections = read_csv(tmp_path / "reports" / "v2" / "rejections.csv")
    assert [(r["_row"], r["_error_key"]) for r in rejections] == [("3", "ENDPOINT_NAME_EXISTS")]
    # Running the same sheet again: the rename already happened, nothing is sent for it.
    proc, results, _ = run_import(tmp_path, gateway, tmp_path / "v2.csv", name="v3")
    assert {r["row"]: r["outcome"] for r in results}["2"] == "unchanged"


def test_gateway_not_running_exits_3_quickly_with_one_line(tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(3))
    started = time.monotonic()
    proc = run_cli(
        "import", str(sheet), "--gateway", "http://127.0.0.1:9", "--report-dir",
        str(tmp_path / "r"), cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert time.monotonic() - started < 10
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: cannot reach the gateway at http://127.0.0.1:9: connection refused or unreachable"
    )
    results = read_csv(tmp_path / "r" / "results.csv")
    assert {(r["outcome"], r["message"]) for r in results} == {
        ("failed", "not attempted: gateway unavailable")
    }


@pytest.mark.slow
def test_gateway_killed_mid_run_trips_the_breaker_and_a_rerun_finishes(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--latency-ms", "20")
    rows = make_rows(1500)
    sheet, report, proc = start_import_and_wait(tmp_path, gateway, rows, "killed")
    gateway.kill()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert "stopped answering" in err.strip().splitlines()[-1]
    results = read_csv(report / "results.csv")
    assert len(results) == 1500
    saved = {r["name"] for r in results if r["outcome"] == "created"}
    stored = set(gateway.stored())
    # Every row reported created is on the gateway; rows in flight at the kill may be there too.
    assert saved <= stored
    assert len(stored - saved) <= 4
    counts = outcomes(results)
    assert set(counts) == {"created", "failed"}
    assert counts["failed"] == 1500 - len(saved)

    restarted = gateway_server("--latency-ms", "5", db=gateway.db)
    proc2, results2, _ = run_import(tmp_path, restarted, sheet, "--concurrency", "8", name="again")
    assert proc2.returncode == 0, proc2.stderr
    again = outcomes(results2)
    assert again["unchanged"] >= len(saved)
    assert again["created"] + again["unchanged"] == 1500
    assert_gateway_holds(restarted, rows)


@pytest.mark.slow
def test_ctrl_c_mid_run_reports_every_row_and_resume_finishes(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--latency-ms", "20")
    rows = make_rows(1500)
    sheet, report, proc = start_import_and_wait(tmp_path, gateway, rows, "interrupted")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "error: interrupted: the rows not sent or not confirmed are marked failed in the "
        "reports; run the same command with --resume to finish"
    )
    assert "Traceback" not in err

    results = read_csv(report / "results.csv")
    assert sorted(int(r["row"]) for r in results) == list(range(2, 1502))  # each row once
    by_key = Counter(r["error_key"] for r in results if r["outcome"] == "failed")
    assert set(by_key) <= {"interrupted", "not-attempted"}
    assert by_key["not-attempted"] > 0, "the run finished before the interruption"
    assert by_key["interrupted"] <= 4  # at most one row in flight per worker
    saved = {r["name"] for r in results if r["outcome"] == "created"}
    in_flight = {r["name"] for r in results if r["error_key"] == "interrupted"}
    unsent = [r for r in results if r["error_key"] == "not-attempted"]
    assert {r["message"] for r in unsent} == {"not attempted: the run was interrupted"}
    assert {r["message"] for r in results if r["error_key"] == "interrupted"} <= {
        "interrupted before the gateway answered: this row may or may not be saved; "
        "run the same command with --resume to finish"
    }
    stored = set(gateway.stored())
    assert saved <= stored
    assert stored - saved <= in_flight  # a row in flight may have landed; no unsent row did
    assert len(saved) + len(in_flight) + len(unsent) == 1500
    summary = json.loads((report / "summary.json").read_text())
    assert summary["interrupted"] is True

    # Resumed while the gateway is down: the rows the interrupted run saved are still
    # `skipped` (they need no gateway), and only the others are unsent.
    gateway.kill()
    proc_down, results_down, _ = run_import(
        tmp_path, gateway, sheet, "--resume", name="resumed-down"
    )
    assert proc_down.returncode == 3, proc_down.stderr
    assert proc_down.stderr.strip().splitlines()[-1] == (
        f"error: cannot reach the gateway at {gateway.url}: connection refused or unreachable"
    )
    assert " saving " not in proc_down.stderr  # no progress line: nothing was being saved
    down = {(r["name"], r["outcome"], r["message"]) for r in results_down}
    assert {(n, o) for n, o, _ in down if o == "skipped"} == {(n, "skipped") for n in saved}
    assert {(o, m) for _, o, m in down if o != "skipped"} == {
        ("failed", "not attempted: gateway unavailable")
    }
    assert len(results_down) == 1500
    port = gateway.url.rsplit(":", 1)[1]
    gateway = gateway_server("--latency-ms", "20", "--port", port, db=gateway.db)

    proc2, results2, _ = run_import(
        tmp_path, gateway, sheet, "--concurrency", "8", "--resume", name="resumed"
    )
    assert proc2.returncode == 0, proc2.stderr
    again = outcomes(results2)
    assert again["skipped"] == len(saved)
    assert again["skipped"] + again["unchanged"] + again["created"] == 1500
    assert_gateway_holds(gateway, rows)


@pytest.mark.slow
def test_expired_sessions_are_renewed_without_failing_a_row(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--session-ttl", "2", "--latency-ms", "10")
    rows = make_rows(400)
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    proc, results, _ = run_import(tmp_path, gateway, sheet, "--concurrency", "2")
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"created": 400}
    # 400 calls at ~20 a second on two workers take longer than two sessions' lifetime.
    assert gateway.stats()["calls"]["sip_endpoint.save"] == 400


def test_a_gateway_whose_sessions_never_last_is_unavailable_after_a_few_logins(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    # Every session is over before its first call: the client logs in again, a few times for
    # one row (another worker's session may have run out meanwhile), then says so and stops.
    gateway = gateway_server("--session-ttl", "0.000001")
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(3))
    proc, results, summary = run_import(tmp_path, gateway, sheet, "--concurrency", "1")
    assert proc.returncode == 3
    assert proc.stderr.splitlines()[-1] == (
        "error: the gateway keeps answering 'not logged in' right after a login"
    )
    # The first answer, then one after each of the three logins a call may ask for.
    assert summary["requests"] == {"sip_endpoints.list": 4}
    # The gateway's list of endpoints (read before any save) is what it refused.
    assert {(r["outcome"], r["message"]) for r in results} == {
        ("failed", "not attempted: gateway unavailable")
    }
    assert len(results) == 3


def test_dry_run_sends_nothing_and_reports_the_plan(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(6)
    write_csv(tmp_path / "v1.csv", rows[:3])
    assert run_import(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    rows[0]["nat"] = "comedia" if rows[0]["nat"] != "comedia" else "no"
    write_csv(tmp_path / "v2.csv", rows)
    proc, results, summary = run_import(
        tmp_path, gateway, tmp_path / "v2.csv", "--dry-run", name="d"
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["outcome"] for r in results] == ["updated", "unchanged", "unchanged"] + [
        "created"
    ] * 3
    assert results[0]["message"] == "dry run, not sent; would change nat"
    assert summary["dry_run"] is True
    assert summary["plan"] == {"update": 1, "unchanged": 2, "create": 3}
    assert gateway.stats()["calls"].get("sip_endpoint.save", 0) == 3


def test_masked_secret_keeps_the_gateway_secret_and_rejects_new_endpoints(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(3)
    rows = [
        {**r, "host": "dynamic", "registration": "in", "secret": f"real-secret-{i}"}
        for i, r in enumerate(rows)
    ]
    write_csv(tmp_path / "v1.csv", rows)
    assert run_import(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    masked = [{**r, "secret": "********"} for r in rows]
    masked[1]["nat"] = "comedia" if masked[1]["nat"] != "comedia" else "no"
    masked.append({**masked[0], "name": "brand-new"})
    write_csv(tmp_path / "v2.csv", masked)
    proc, results, _ = run_import(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert proc.returncode == 1
    assert [r["outcome"] for r in results] == ["unchanged", "updated", "unchanged", "rejected"]
    assert results[3]["error_key"] == "masked-secret"
    assert results[3]["message"] == (
        "secret: the secret is masked (********) but 'brand-new' does not exist on the gateway "
        "yet: re-enter the real value"
    )
    stored = gateway.endpoints()
    assert [stored[r["name"]]["secret"] for r in rows] == [f"real-secret-{i}" for i in range(3)]
    assert "brand-new" not in stored


def test_form_bodies_work_too(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(5)
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    proc, _results, _ = run_import(tmp_path, gateway, sheet, "--body", "form")
    assert proc.returncode == 0, proc.stderr
    assert_gateway_holds(gateway, rows)


def test_no_credentials_for_a_remote_gateway_is_an_input_error(tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(1))
    proc = run_cli(
        "import", str(sheet), "--gateway", "http://127.0.0.1:9", cwd=tmp_path,
        env={"SIP_IMPORT_USER": None, "SIP_IMPORT_PASSWORD": None},
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: no credentials for http://127.0.0.1:9: set SIP_IMPORT_USER and "
        "SIP_IMPORT_PASSWORD, or put user and password under [gateway] in sip-import.toml"
    )


def test_wrong_password_exits_3(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(1))
    proc = run_cli(
        "import", str(sheet), "--gateway", gateway.url, "--report-dir", str(tmp_path / "r"),
        cwd=tmp_path, env={"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": "wrong"},
    )  # fmt: skip
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: the gateway at {gateway.url} refused the login for user '{TEST_USER}'; check "
        "SIP_IMPORT_USER and SIP_IMPORT_PASSWORD"
    )


def test_secrets_never_appear_in_output_logs_or_reports(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(8)
    secrets = [f"Zq9-secret-{i}-Xw" for i in range(8)]
    for row, secret in zip(rows, secrets, strict=True):
        row["secret"] = secret
        row["remotesecret"] = secret + "-remote"
        row["auth"] = f"user{secret}:pw@realm"
    rows[2]["port"] = "70000"  # a rejected row: its secrets are in rejections.csv/xlsx
    rows[3]["secret"] = "x" * 81  # a rejected secret: the message must not quote it
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    proc, _results, _ = run_import(tmp_path, gateway, sheet, "--verbose", name="v")
    assert proc.returncode == 1, proc.stderr
    # --verbose really logged: the client's line for every call, and the libraries' debug lines.
    assert "DEBUG sip_import.client: sip_endpoint.save: HTTP 200 (attempt 1)" in proc.stderr
    # httpx's own log line for every request (its logger is on with --verbose).
    assert f'INFO httpx: HTTP Request: POST {gateway.url}/json "HTTP/1.1 200 OK"' in proc.stderr
    needles = [TEST_PASSWORD, *secrets, "x" * 81] + [s + "-remote" for s in secrets]
    haystacks = {"stdout": proc.stdout, "stderr": proc.stderr}
    for path in (tmp_path / "reports" / "v").iterdir():
        haystacks[path.name] = path.read_bytes().decode("latin-1")
    for name, text in haystacks.items():
        for needle in needles:
            assert needle not in text, f"{needle!r} found in {name}"


@pytest.mark.slow
def test_5000_rows_through_a_flaky_gateway_all_land(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server(
        "--error-rate", "0.2", "--drop-rate", "0.05", "--busy-rate", "0.05",
        "--rate-limit", "300", "--latency-ms", "20", "--seed", "1",
    )  # fmt: skip
    rows = make_rows(5000, seed=11, bad_share=0.05)
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    proc, results, summary = run_import(tmp_path, gateway, sheet, "--concurrency", "16")
    bad = {r["name"] for r in rows if r["port"] == "70000"}
    assert proc.returncode == 1, proc.stderr
    counts = outcomes(results)
    assert counts == {"created": 5000 - len(bad), "rejected": len(bad)}
    assert sum(counts.values()) == len(rows) == summary["rows"]
    assert {r["name"] for r in results if r["outcome"] == "rejected"} == bad
    faults = gateway.stats()["faults"]
    assert faults["error"] > 500 and faults["drop"] > 100 and faults["busy"] > 100
    good = [r for r in rows if r["name"] not in bad]
    assert_gateway_holds(gateway, good)
    assert set(gateway.endpoints()) == {r["name"] for r in good}


@pytest.mark.parametrize(("flag", "fault"), [("--busy-rate", "busy"), ("--error-rate", "error")])
def test_a_gateway_answering_503_or_500_to_a_third_of_the_calls_loses_no_row(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess], flag: str, fault: str
) -> None:
    # 503 SERVER_BUSY and a bare 500 carry no API answer: they are retried until the row lands.
    gateway = gateway_server(flag, "0.3", "--seed", "3")
    rows = make_rows(60, seed=12)
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    proc, results, summary = run_import(tmp_path, gateway, sheet, "--concurrency", "4")
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"created": 60}
    faults = gateway.stats()["faults"]
    assert set(faults) == {fault} and faults[fault] >= 10
    # Every failed call was sent again, and each row's attempts count its own tries.
    assert sum(summary["requests"].values()) == 61 + faults[fault]
    attempts = sum(int(r["attempts"]) for r in results)
    assert attempts + summary["requests"]["sip_endpoints.list"] == 61 + faults[fault]
    # Read from the database file: a list call through the API could draw a fault itself.
    stored = gateway.stored()
    assert sorted(stored) == sorted(r["name"] for r in rows)
    for row in rows:
        for key, value in expected_wire(row).items():
            assert stored[row["name"]].get(key) == value, (row["name"], key)


@pytest.mark.slow
def test_max_rps_caps_the_request_rate(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(40))
    started = time.monotonic()
    proc, results, summary = run_import(tmp_path, gateway, sheet, "--max-rps", "20")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"created": 40}
    # 41 requests (the list, then 40 saves) at most 20 a second cannot take less than 2 s.
    assert summary["requests"] == {"sip_endpoints.list": 1, "sip_endpoint.save": 40}
    assert elapsed >= 2.0


@pytest.mark.slow
def test_the_pace_is_learned_below_the_ceiling_unless_fixed(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(60))
    proc, results, summary = run_import(tmp_path, gateway, sheet, "--concurrency", "6")
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"created": 60}
    pace = summary["concurrency"]
    assert (pace["ceiling"], pace["adaptive"]) == (6, True)
    # It starts at 2 and never passes the ceiling.
    assert pace["history"][0] == [0.0, 2]
    assert all(1 <= limit <= 6 for _, limit in pace["history"])
    assert 2 <= pace["peak"] <= 6 and 1 <= pace["final"] <= 6

    gateway_sheet = write_csv(tmp_path / "again.csv", make_rows(60, seed=5))
    proc, results, summary = run_import(
        tmp_path, gateway, gateway_sheet, "--concurrency", "4", "--fixed-concurrency", name="f"
    )
    assert proc.returncode == 0, proc.stderr
    assert summary["concurrency"] == {
        "ceiling": 4, "adaptive": False, "peak": 4, "final": 4, "history": [[0.0, 4]],
    }  # fmt: skip


@pytest.mark.slow
def test_credentials_from_a_config_file_and_a_warning_when_others_can_read_it(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    config = tmp_path / "sip-import.toml"
    config.write_text(
        f'[gateway]\nurl = "{gateway.url}"\nuser = "{TEST_USER}"\npassword = "{TEST_PASSWORD}"\n'
    )
    config.chmod(0o644)
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(3))
    proc = run_cli(
        "import", str(sheet), "--report-dir", str(tmp_path / "r"), cwd=tmp_path,
        env={"SIP_IMPORT_USER": None, "SIP_IMPORT_PASSWORD": None},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (
        "warning: sip-import.toml holds a password and other users can read it; run: chmod 600 "
        "sip-import.toml"
    ) in proc.stderr
    assert TEST_PASSWORD not in proc.stdout + proc.stderr
    config.chmod(0o600)
    proc = run_cli(
        "import", str(sheet), "--report-dir", str(tmp_path / "r2"), cwd=tmp_path,
        env={"SIP_IMPORT_USER": None, "SIP_IMPORT_PASSWORD": None},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    assert read_csv(tmp_path / "r2" / "results.csv")[0]["outcome"] == "unchanged"


@pytest.mark.slow
def test_a_rename_whose_answer_was_lost_after_commit_is_still_renamed(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    setup = gateway_server()
    rows = make_rows(30, seed=12)
    write_csv(tmp_path / "v1.csv", rows)
    assert run_import(tmp_path, setup, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    setup.kill()
    # Half the answers are lost after the save committed: the retry of a rename then finds no
    # old name, and the client must see that the rename went through rather than reject it.
    gateway = gateway_server(
        "--fault-after-commit", "--drop-rate", "0.5", "--seed", "3", db=setup.db
    )
    renamed = [{**r, "name": f"new-{r['name']}", "old_name": r["name"]} for r in rows]
    write_csv(tmp_path / "v2.csv", renamed)
    proc, results, _ = run_import(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert proc.returncode == 0, proc.stderr
    assert outcomes(results) == {"renamed": 30}
    assert gateway.stats()["faults"]["drop"] > 5
    assert sorted(gateway.stored()) == sorted(r["name"] for r in renamed)


# -- which gateway ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_first_line_names_the_gateway(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    sheet = write_csv(tmp_path / "sheet.csv", make_rows(2))
    # --json too: its stdout stays one JSON object.
    for extra in ([], ["--json"], ["--dry-run"]):
        proc, _, _ = run_import(tmp_path, gateway, sheet, *extra)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.splitlines()[0] == f"gateway: {gateway.url}", extra
    assert json.loads(run_import(tmp_path, gateway, sheet, "--json")[0].stdout)["rows"] == 2
    proc, _, _ = run_import(tmp_path, gateway, sheet, "--quiet")  # quiet: errors only
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    # The local gateway: its URL, and that it was started for this run.
    proc, _, _ = run_import(tmp_path, None, sheet, name="local")
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[0]
    assert re.fullmatch(
        r"gateway: http://127\.0\.0\.1:[0-9]+ \(no --gateway given: the local gateway, started "
        r"for this run; database \.sip-import/gateway\.db\)",
        first,
    ), proc.stderr
    # Unusable input never reaches a gateway: its one error line is all there is.
    proc, _, _ = run_import(tmp_path, gateway, tmp_path / "missing.csv")
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: ")


@pytest.mark.slow
def test_make_run_never_touches_the_gateway_the_environment_names(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    """What ``make run`` runs, on a host set up for the nightly sync: the environment and
    ./sip-import.toml both name a gateway (production, there)."""
    gateway = gateway_server()
    config = tmp_path / "sip-import.toml"
    config.write_text(
        f'[gateway]\nurl = "{gateway.url}"\nuser = "{TEST_USER}"\npassword = "{TEST_PASSWORD}"\n'
    )
    config.chmod(0o600)
    env = {**ENV, "SIP_IMPORT_GATEWAY": gateway.url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "importer.run_samples"], cwd=tmp_path, env=_cli_env(env),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert gateway.stats() == {"calls": {}, "saves_by_name": {}, "faults": {}}
    assert gateway.stored() == {}
    first = proc.stderr.splitlines()[0]
    assert first.startswith("gateway: http://127.0.0.1:") and "the local gateway" in first
    assert gateway.url not in proc.stdout + proc.stderr
    # The samples went to the embedded gateway's database, here in the working directory.
    with closing(sqlite3.connect(tmp_path / ".sip-import" / "gateway.db")) as conn:
        (count,) = conn.execute("SELECT count(*) FROM endpoints").fetchone()
    assert count == 50
