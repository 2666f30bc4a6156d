"""``sip-import sync``: only changes are sent, a crash is resumed without sending anything twice,
prune deletes only when told and only within its guards, and one sync runs at a time."""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import read_csv, run_cli, start_cli, write_csv
from test_import import assert_gateway_holds, make_rows

ENV = {"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD}


def sync(
    tmp_path: Path, gateway: GatewayProcess, sheet: Path, *extra: str, name: str = "r"
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]], dict[str, Any]]:
    report = tmp_path / "reports" / name
    proc = run_cli(
        "sync", str(sheet), "--gateway", gateway.url, "--report-dir", str(report), *extra,
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    results = read_csv(report / "results.csv") if (report / "results.csv").exists() else []
    summary = json.loads((report / "summary.json").read_text()) if results else {}
    return proc, results, summary


def saves(gateway: GatewayProcess) -> int:
    return int(gateway.stats()["calls"].get("sip_endpoint.save", 0))


def test_second_sync_of_2000_rows_sends_nothing(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(2000, seed=3)
    sheet = write_csv(tmp_path / "master.csv", rows)
    proc, results, _ = sync(tmp_path, gateway, sheet, "--concurrency", "16", name="first")
    assert proc.returncode == 0, proc.stderr
    assert Counter(r["outcome"] for r in results) == {"created": 2000}
    assert saves(gateway) == 2000

    proc, results, summary = sync(tmp_path, gateway, sheet, "--json", name="second")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcomes"] == {"unchanged": 2000}
    assert summary["outcomes"] == {"unchanged": 2000}
    assert saves(gateway) == 2000


def test_three_changes_two_new_rows_and_a_rename_send_exactly_six_saves(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(300, seed=4)
    write_csv(tmp_path / "v1.csv", rows)
    assert sync(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    before = saves(gateway)
    rows[10]["nat"] = "comedia" if rows[10]["nat"] != "comedia" else "no"
    rows[20]["qualifyfreq"] = "99"
    rows[30]["dtmfmode"] = "info" if rows[30]["dtmfmode"] != "info" else "auto"
    rows.append({**rows[0], "name": "new-endpoint-1"})
    rows.append({**rows[1], "name": "new-endpoint-2"})
    old = rows[40]["name"]
    rows[40] = {**rows[40], "name": "renamed-endpoint", "old_name": old}
    write_csv(tmp_path / "v2.csv", rows)
    proc, results, _ = sync(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert proc.returncode == 0, proc.stderr
    assert saves(gateway) - before == 6
    changed = {r["name"]: r["outcome"] for r in results if r["outcome"] != "unchanged"}
    assert changed == {
        rows[10]["name"]: "updated",
        rows[20]["name"]: "updated",
        rows[30]["name"]: "updated",
        "new-endpoint-1": "created",
        "new-endpoint-2": "created",
        "renamed-endpoint": "renamed",
    }
    # The rename is idempotent: the same sheet again changes nothing.
    proc, results, _ = sync(tmp_path, gateway, tmp_path / "v2.csv", name="v3")
    assert Counter(r["outcome"] for r in results) == {"unchanged": 302}
    assert saves(gateway) - before == 6
    assert_gateway_holds(gateway, [{k: v for k, v in r.items() if k != "old_name"} for r in rows])


@pytest.mark.parametrize("field", ["secret", "remotesecret", "auth"])
def test_a_changed_secret_alone_is_sent_and_stored(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess], field: str
) -> None:
    # The nightly sync of a master sheet where only a password changed must send that password.
    gateway = gateway_server()
    rows = make_rows(6, seed=13)
    for i, row in enumerate(rows):
        row.update(secret=f"Sec-{i}-old", remotesecret=f"Rem-{i}-old", auth=f"u{i}:Old-{i}@realm")
    write_csv(tmp_path / "v1.csv", rows)
    assert sync(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    before = saves(gateway)
    new = {"secret": "Sec-4-NEW", "remotesecret": "Rem-4-NEW", "auth": "u4:New-4@realm"}[field]
    rows[4][field] = new
    write_csv(tmp_path / "v2.csv", rows)
    proc, results, summary = sync(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert proc.returncode == 0, proc.stderr
    assert {r["name"]: r["outcome"] for r in results if r["outcome"] != "unchanged"} == {
        rows[4]["name"]: "updated"
    }
    assert summary["outcomes"] == {"unchanged": 5, "updated": 1}
    assert saves(gateway) - before == 1
    assert gateway.stats()["saves_by_name"][rows[4]["name"]] == 2
    assert gateway.endpoints()[rows[4]["name"]][field] == new
    assert gateway.stored()[rows[4]["name"]][field] == new
    assert_gateway_holds(gateway, rows)


def _start_sync(
    tmp_path: Path, gateway: GatewayProcess, sheet: Path, *extra: str
) -> subprocess.Popen[str]:
    return start_cli(
        "sync", str(sheet), "--gateway", gateway.url, "--quiet", *extra, cwd=tmp_path, env=ENV
    )


@pytest.mark.slow
def test_ten_sigkills_and_resumes_send_nothing_twice(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--latency-ms", "20")
    rows = make_rows(3000, seed=5)
    sheet = write_csv(tmp_path / "master.csv", rows)
    rng = random.Random(2026)
    concurrency = 8
    kills = 0
    args: tuple[str, ...] = ("--concurrency", str(concurrency))
    while kills < 10:
        proc = _start_sync(tmp_path, gateway, sheet, *args, *(("--resume",) if kills else ()))
        # Kill at a random moment of the saving (not during start-up, which sends nothing).
        before = saves(gateway)
        deadline = time.monotonic() + 60
        while saves(gateway) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.0))
        if proc.poll() is not None:
            break  # finished before this kill: nothing left to interrupt
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills >= 5, "the sync finished too fast to be interrupted"
    proc2, results, summary = sync(tmp_path, gateway, sheet, "--resume", *args, name="final")
    assert proc2.returncode == 0, proc2.stderr
    counts = Counter(r["outcome"] for r in results)
    assert sum(counts.values()) == 3000
    assert set(counts) <= {"skipped", "created", "unchanged"}
    assert counts["skipped"] > 0 and summary["resumed_run"] is not None
    assert_gateway_holds(gateway, rows)
    assert set(gateway.endpoints()) == {r["name"] for r in rows}
    by_name = gateway.stats()["saves_by_name"]
    resent = {name: n for name, n in by_name.items() if n > 1}
    # Only a row in flight at a kill may be sent again, so at most `concurrency` per kill.
    assert sum(n - 1 for n in resent.values()) <= kills * concurrency, resent


def test_prune_guards_dry_run_and_an_allowed_prune(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(20, seed=6)
    write_csv(tmp_path / "all.csv", rows)
    assert sync(tmp_path, gateway, tmp_path / "all.csv", name="all")[0].returncode == 0
    half = rows[:10]
    gone = sorted(r["name"] for r in rows[10:])

    # A rejected row: nothing is deleted, and the summary says why.
    bad = [*half[:9], {**half[9], "port": "70000"}]
    write_csv(tmp_path / "bad.csv", bad)
    proc, results, summary = sync(tmp_path, gateway, tmp_path / "bad.csv", "--prune", name="bad")
    assert proc.returncode == 1
    assert summary["prune"]["deleted"] == []
    assert summary["prune"]["refused"] == (
        "prune skipped: 1 row was rejected or failed, and nothing is deleted until every row of "
        "the sheet is good"
    )
    assert len(gateway.endpoints()) == 20

    # Half the gateway missing from the sheet: refused at the default 10%.
    write_csv(tmp_path / "half.csv", half)
    proc, results, summary = sync(tmp_path, gateway, tmp_path / "half.csv", "--prune", name="h1")
    assert proc.returncode == 1
    assert summary["prune"]["refused"] == (
        "prune refused: 10 of the gateway's 20 endpoints (50%) are not in the sheet, more than "
        "--max-prune 10% allows (2); raise --max-prune if that is really intended"
    )
    assert "prune refused" in proc.stdout
    assert len(gateway.endpoints()) == 20

    # --dry-run lists exactly what would go, and deletes nothing.
    proc, results, summary = sync(
        tmp_path, gateway, tmp_path / "half.csv", "--prune", "--max-prune", "50%", "--dry-run",
        name="h2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert summary["prune"]["candidates"] == gone
    assert sorted(r["name"] for r in results if r["outcome"] == "deleted") == gone
    assert gateway.stats()["calls"].get("sip_endpoint.delete", 0) == 0
    assert len(gateway.endpoints()) == 20

    # Allowed: exactly those are deleted, each reported as outcome deleted without a row number.
    proc, results, summary = sync(
        tmp_path, gateway, tmp_path / "half.csv", "--prune", "--max-prune", "10", name="h3"
    )
    assert proc.returncode == 0, proc.stderr
    deleted = [r for r in results if r["outcome"] == "deleted"]
    assert sorted(r["name"] for r in deleted) == gone
    assert {r["row"] for r in deleted} == {""}
    assert summary["rows"] == 10 and summary["deleted"] == 10
    assert sorted(gateway.endpoints()) == sorted(r["name"] for r in half)
    assert gateway.stats()["calls"]["sip_endpoint.delete"] == 10


def test_a_second_sync_while_one_runs_exits_2_and_a_dead_holder_is_taken_over(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--latency-ms", "50")
    sheet = write_csv(tmp_path / "master.csv", make_rows(400, seed=8))
    first = _start_sync(tmp_path, gateway, sheet, "--concurrency", "2")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not gateway.stored():
        time.sleep(0.05)
    second = run_cli("sync", str(sheet), "--gateway", gateway.url, cwd=tmp_path, env=ENV)
    assert second.returncode == 2
    line = second.stderr.strip()
    match = re.fullmatch(r"error: another sync is running \(pid (\d+), started at (\S+)\)", line)
    assert match, line
    assert int(match.group(1)) == first.pid
    assert "Traceback" not in second.stderr

    first.send_signal(signal.SIGKILL)  # the lock dies with its holder
    first.wait()
    proc, results, _ = sync(
        tmp_path, gateway, sheet, "--resume", "--concurrency", "8", name="after"
    )
    assert proc.returncode == 0, proc.stderr
    assert len(results) == 400


def test_log_lines_carry_utc_timestamps_when_not_a_terminal(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server("--latency-ms", "30")
    # 200 calls of at least 30 ms each outlast the 5 s between progress lines.
    sheet = write_csv(tmp_path / "master.csv", make_rows(200, seed=9))
    proc, _results, _ = sync(tmp_path, gateway, sheet, "--concurrency", "1")
    assert proc.returncode == 0, proc.stderr
    progress = [line for line in proc.stderr.splitlines() if " saving " in line]
    assert progress, proc.stderr
    assert all(
        re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ saving \d+/200 rows", p) for p in progress
    )
    assert "\x1b[" not in proc.stdout + proc.stderr  # no colour codes for cron mail
