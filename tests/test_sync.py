"""``sip-import sync``: only changes are sent, a crash is resumed without sending anything twice,
prune deletes only when told and only within its guards, and one sync runs at a time."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import read_csv, run_cli, start_cli, write_csv
from test_import import assert_gateway_holds, make_rows

from importer.config import Credentials, GatewaySettings
from importer.errors import InputError
from importer.gateways.client import GatewayClient
from importer.gateways.journal import Journal, JournalRow, values_hash
from importer.gateways.plan import Action, GatewayState, plan_rows, row_values
from importer.gateways.prune import (
    PrunePlan,
    delete_endpoints,
    name_endpoints,
    parse_max_prune,
    plan_prune,
)
from importer.gateways.save import RowOutcome

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


@pytest.mark.slow
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


# One secret end to end in the fast suite; test_plan_sends_a_changed_secret_and_keeps_a_masked_one
# covers the three fields in process.
@pytest.mark.parametrize(
    "field",
    [
        "secret",
        pytest.param("remotesecret", marks=pytest.mark.slow),
        pytest.param("auth", marks=pytest.mark.slow),
    ],
)
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


# --- the plan: what each row sends, on its own -------------------------------------------

GATEWAY_HOLDS = [
    {"object_id": 7, "name": "Desk-1", "host": "dynamic", "secret": "s1", "transport": ["UDP"]},
    {"object_id": 8, "name": "desk-2", "host": "203.0.113.2", "port": "5060", "nat": None},
]


def plan_of(*rows: dict[str, str], state: GatewayState | None = None) -> list[Action]:
    state = GatewayState.from_list(GATEWAY_HOLDS) if state is None else state
    return list(plan_rows(enumerate(rows, start=2), state))


def test_plan_state_keys_names_lowercase_and_reads_wire_values_as_sheet_text() -> None:
    state = GatewayState.from_list(GATEWAY_HOLDS)
    assert state.listed
    assert state.by_name == {
        "desk-1": {
            "object_id": "7", "name": "Desk-1", "host": "dynamic", "secret": "s1",
            "transport": "UDP",
        },
        "desk-2": {"object_id": "8", "name": "desk-2", "host": "203.0.113.2", "port": "5060"},
    }  # fmt: skip
    assert state.by_id == {"7": state.by_name["desk-1"], "8": state.by_name["desk-2"]}
    assert GatewayState.unknown() == GatewayState({}, {}, listed=False)


def test_plan_row_values_leave_empty_cells_out() -> None:
    frame = pd.DataFrame(
        {"name": ["a", "b"], "port": ["5060", None]}, index=pd.Index([2, 4]), dtype="str"
    )
    assert list(row_values(frame)) == [(2, {"name": "a", "port": "5060"}), (4, {"name": "b"})]


def test_plan_sends_only_what_changed() -> None:
    assert plan_of(
        {"name": "Desk-1", "host": "dynamic", "secret": "s1", "transport": "UDP"},
        {"name": "desk-2", "host": "203.0.113.2", "port": "5061"},
        {"name": "desk-2", "transport": "UDP,TCP", "port": "5060"},
        {"name": "new-3", "host": "dynamic", "transport": "TLS"},
    ) == [
        Action(2, "Desk-1", "unchanged"),
        Action(3, "desk-2", "update", {"name": "desk-2", "port": "5061"}, ("port",)),
        Action(
            4, "desk-2", "update", {"name": "desk-2", "transport": ["UDP", "TCP"]}, ("transport",)
        ),
        Action(
            5,
            "new-3",
            "create",
            {"name": "new-3", "host": "dynamic", "transport": ["TLS"]},
            ("host", "transport"),
        ),
    ]


@pytest.mark.parametrize("name", ["DESK-1", "desk-1"])
def test_plan_of_a_name_in_another_case_renames_it(name: str) -> None:
    moved = {"name": name, "host": "sip.example.com", "port": "5070"}
    assert plan_of({"name": name, "host": "dynamic"}, moved) == [
        Action(2, name, "update", {"name": name}, ("name",)),
        Action(3, name, "update", moved, ("name", "host", "port")),
    ]


@pytest.mark.parametrize("field", ["secret", "remotesecret", "auth"])
def test_plan_sends_a_changed_secret_and_keeps_a_masked_one(field: str) -> None:
    holds = [{**GATEWAY_HOLDS[0], "secret": "old", "remotesecret": "old", "auth": "u:old@r"}]
    state = GatewayState.from_list(holds)
    base = {"name": "Desk-1", "secret": "old", "remotesecret": "old", "auth": "u:old@r"}
    assert plan_of({**base, field: "u:new@r"}, state=state) == [
        Action(2, "Desk-1", "update", {"name": "Desk-1", field: "u:new@r"}, (field,))
    ]
    assert plan_of({**base, field: "********"}, state=state) == [Action(2, "Desk-1", "unchanged")]


@pytest.mark.parametrize(
    ("masked", "words"),
    [(["secret"], "secret: the secret is"), (["auth", "secret"], "auth: the auth, secret are")],
)
def test_plan_rejects_a_masked_secret_for_an_endpoint_not_there_yet(
    masked: list[str], words: str
) -> None:
    row = {"name": "new-9", "host": "dynamic", **dict.fromkeys(masked, "********")}
    message = (
        f"{words} masked (********) but 'new-9' does not exist on the gateway yet: re-enter the "
        "real value"
    )
    expected = Action(2, "new-9", "reject", error_key="masked-secret", message=message)
    assert plan_of(row) == [expected]
    # Renamed from an endpoint that is not there either: the same.
    assert plan_of({**row, "old_name": "gone"}) == [expected]


def test_plan_renames_by_old_name_or_object_id() -> None:
    assert plan_of(
        {"name": "desk-9", "old_name": "DESK-2", "host": "203.0.113.2", "port": "5062"},
        {"name": "desk-8", "object_id": "7", "host": "dynamic"},
        # Its own id: no rename (the name built at run time, as a sheet's is: not the very
        # string object the gateway's list holds).
        {"name": "-".join(["Desk", "1"]), "object_id": "7", "host": "dynamic"},
        {"name": "desk-2", "old_name": "Desk-1"},  # onto a taken name: the gateway says no
    ) == [
        Action(
            2,
            "desk-9",
            "rename",
            {"name": "desk-9", "old_name": "DESK-2", "port": "5062"},
            ("name", "port"),
        ),
        Action(3, "desk-8", "rename", {"name": "desk-8", "object_id": "7"}, ("name",)),
        Action(4, "Desk-1", "unchanged"),
        Action(5, "desk-2", "rename", {"name": "desk-2", "old_name": "Desk-1"}, ("name",)),
    ]


@pytest.mark.parametrize("name", ["DESK-1", "desk-1"])
def test_plan_of_an_object_id_whose_name_changes_only_in_case_is_a_rename(name: str) -> None:
    assert plan_of({"name": name, "object_id": "7", "host": "dynamic"}) == [
        Action(2, name, "rename", {"name": name, "object_id": "7"}, ("name",))
    ]


def test_plan_results_are_frozen() -> None:
    (action,) = plan_of({"name": "Desk-1"})
    state = GatewayState.unknown()
    with pytest.raises(dataclasses.FrozenInstanceError):
        action.kind = "create"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.listed = True  # type: ignore[misc]


def test_plan_of_a_rename_already_done_or_from_nowhere() -> None:
    assert plan_of(
        # The old name is gone and the new one is there: renamed by an earlier run.
        {"name": "desk-2", "old_name": "desk-0", "port": "5060"},
        {"name": "Desk-1", "object_id": "99", "host": "sip.example.com"},
        # Neither is there: sent as a rename, and the gateway's ENDPOINT_NOT_FOUND is the outcome.
        {"name": "desk-5", "old_name": "desk-4", "host": "dynamic"},
    ) == [
        Action(2, "desk-2", "unchanged"),
        Action(3, "Desk-1", "update", {"name": "Desk-1", "host": "sip.example.com"}, ("host",)),
        Action(
            4,
            "desk-5",
            "rename",
            {"name": "desk-5", "old_name": "desk-4", "host": "dynamic"},
            ("name", "host"),
        ),
    ]


def test_plan_without_a_gateway_list_sends_every_cell() -> None:
    assert plan_of(
        {"name": "a", "old_name": "b", "secret": "********", "transport": "UDP", "port": "1"},
        state=GatewayState.unknown(),
    ) == [Action(2, "a", "save", {"name": "a", "old_name": "b", "transport": ["UDP"], "port": "1"})]


# --- the journal behind --resume, on its own ----------------------------------------------


def test_journal_values_hash_is_stable_and_order_free() -> None:
    values = {"name": "é-1", "port": "5060"}
    expected = hashlib.sha256('{"name":"é-1","port":"5060"}'.encode()).hexdigest()[:32]
    assert values_hash(values) == values_hash(dict(reversed(values.items()))) == expected
    assert values_hash({**values, "port": "5061"}) != expected


def test_journal_resumes_the_newest_unfinished_run_of_the_same_sheet_and_gateway(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "deeper" / "journal.db"  # directories made as needed
    with Journal.open(path) as journal:
        assert journal.start("sync", "sha-a", "http://gw", resume=True) == {}
        first = journal.run_id
        assert journal.resumed_from is None
        journal.record("ep-1", 2, "h1", "created")
        journal.record("ep-2", 3, "h2", "failed", "transport-error")
        journal.record("ep-1", 2, "h1b", "updated")  # the newer outcome replaces the older
    with Journal.open(path) as journal:
        done = journal.start("sync", "sha-a", "http://gw", resume=True)
        assert journal.run_id == journal.resumed_from == first
        assert done == {
            "ep-1": JournalRow(2, "h1b", "updated"),
            "ep-2": JournalRow(3, "h2", "failed"),
        }
        with pytest.raises(dataclasses.FrozenInstanceError):
            done["ep-1"].outcome = "created"  # type: ignore[misc]
        # Another sheet or another gateway: nothing to resume.
        assert journal.start("sync", "sha-b", "http://gw", resume=True) == {}
        assert journal.start("sync", "sha-a", "http://other", resume=True) == {}
        assert journal.run_id != first
    rows = sqlite3.connect(path).execute("SELECT id, status, pid FROM runs ORDER BY id").fetchall()
    assert rows[0] == (first, "running", os.getpid())


def test_journal_start_without_resume_abandons_the_unfinished_run(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal.open(path) as journal:
        journal.start("import", "sha", "gw", resume=False)
        journal.record("a", 2, "h", "created")
        journal.start("import", "sha", "gw", resume=False)
        journal.record("b", 2, "h", "created")
        journal.finish()
    with Journal.open(path) as journal:
        assert journal.start("import", "sha", "gw", resume=True) == {}  # none left running
    runs = sqlite3.connect(path).execute(
        "SELECT command, status, finished_at IS NOT NULL FROM runs ORDER BY id"
    )
    assert runs.fetchall() == [
        ("import", "abandoned", 0), ("import", "finished", 1), ("import", "running", 0),
    ]  # fmt: skip


def test_rows_found_unchanged_get_no_journal_line_and_a_resume_checks_them_again(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(6, seed=31)
    sheet = write_csv(tmp_path / "master.csv", rows)
    journal = tmp_path / "journal.db"
    assert sync(tmp_path, gateway, sheet, "--journal", str(journal), name="v1")[0].returncode == 0
    proc, results, _ = sync(tmp_path, gateway, sheet, "--journal", str(journal), name="v2")
    assert proc.returncode == 0, proc.stderr
    assert Counter(r["outcome"] for r in results) == {"unchanged": 6}
    db = sqlite3.connect(journal)
    lines = db.execute("SELECT run_id, outcome FROM row_outcomes ORDER BY run_id").fetchall()
    assert lines == [(1, "created")] * 6  # the second run, which sent nothing, wrote none
    # The second run dies before it finishes; meanwhile someone edits an endpoint on the
    # gateway. The resumed run checks the unchanged rows again instead of skipping them.
    with db:
        db.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = 2")
    db.close()
    edited = rows[2]["name"]
    changed_nat = "no" if rows[2]["nat"] != "no" else "yes"
    answer = gateway.call("sip_endpoint.save", {"name": edited, "nat": changed_nat})
    assert answer.json()["result"] == "success", answer.text
    proc, results, summary = sync(
        tmp_path, gateway, sheet, "--journal", str(journal), "--resume", name="v3"
    )
    assert proc.returncode == 0, proc.stderr
    assert summary["resumed_run"] == 2
    assert {r["name"]: r["outcome"] for r in results} == {
        r["name"]: "updated" if r["name"] == edited else "unchanged" for r in rows
    }
    assert gateway.stored()[edited]["nat"] == rows[2]["nat"]


def test_rows_found_unchanged_advance_the_progress_by_their_count_at_once(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    from importer.gateways.upload import JobOptions, run_job

    class Recorded:
        def __init__(self) -> None:
            self.totals: list[int] = []
            self.steps: list[tuple[str, int]] = []

        def start(self, total: int) -> None:
            self.totals.append(total)

        def advance(self, outcome: RowOutcome, count: int = 1) -> None:
            self.steps.append((outcome.outcome, count))

        def stop(self) -> None:
            pass

    gateway = gateway_server()
    sheet = write_csv(tmp_path / "master.csv", make_rows(6, seed=32))
    assert sync(tmp_path, gateway, sheet, name="v1")[0].returncode == 0
    settings = GatewaySettings(gateway.url, Credentials(TEST_USER, TEST_PASSWORD))
    sink = Recorded()
    result = run_job(
        sheet, settings=settings, options=JobOptions(command="sync"),
        report_dir=tmp_path / "reports" / "v2", progress=sink,
    )  # fmt: skip
    assert result.exit_code == 0
    assert sink.totals == [6]
    assert sink.steps == [("unchanged", 6)]


def test_journal_is_durable_on_every_outcome(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.db") as journal:
        assert journal.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert journal.conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        journal.start("sync", "sha", "gw", resume=False)
        journal.record("a", 2, "h", "created")
        # Committed at once: another connection sees it while the run goes on.
        other = sqlite3.connect(tmp_path / "journal.db")
        assert other.execute("SELECT row_key, outcome FROM row_outcomes").fetchall() == [
            ("a", "created")
        ]
        other.close()


@pytest.mark.parametrize(("command", "word"), [("sync", "sync"), ("import", "import")])
def test_journal_lock_names_its_holder_and_dies_with_it(
    tmp_path: Path, command: str, word: str
) -> None:
    path = tmp_path / "journal.db"
    with Journal.open(path, command):
        held = (tmp_path / "journal.db.lock").read_text()
        assert re.fullmatch(rf"{command}\tpid {os.getpid()}, started at \S+Z", held), held
        with pytest.raises(InputError) as caught:
            Journal.open(path)
        assert re.fullmatch(
            rf"another {word} is running \(pid {os.getpid()}, started at \S+Z\)",
            str(caught.value),
        )
    Journal.open(path).close()  # released with its holder


def test_journal_that_is_not_a_database_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(InputError) as caught:
        Journal.open(path)
    assert str(caught.value) == f"journal {path} cannot be used: file is not a database"
    path.unlink()
    Journal.open(path).close()  # the failed open let go of the lock


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


# --- the prune guard, on its own ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "total", "limit"),
    [
        ("25", 200, 25),
        ("0", 50, 0),
        (" 7 ", 3, 7),
        ("10%", 200, 20),
        ("10%", 19, 1),  # rounded down
        ("10%", 9, 0),
        (None, 50, 5),  # the default is 10%
        (" 7 % ", 100, 7),
        ("12.5%", 80, 10),
        ("100%", 7, 7),
        ("50%", 99, 49),
        ("0%", 7, 0),
        ("18.4%", 375, 69),  # 375 * 18.4 / 100 is 68.99999999999999 in floating point
    ],
)
def test_max_prune_is_a_count_or_a_share_rounded_down(
    text: str | None, total: int, limit: int
) -> None:
    assert parse_max_prune(text, total) == limit


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ten", "--max-prune 'ten' is not a count such as 25 or a share such as 10%"),
        ("-1", "--max-prune '-1' is not a count such as 25 or a share such as 10%"),
        ("10%%", "--max-prune '10%%' is not a count such as 25 or a share such as 10%"),
        ("100.5%", "--max-prune '100.5%' is above 100%"),
        ("101%", "--max-prune '101%' is above 100%"),
        ("2.5", "--max-prune '2.5': a count must be a whole number"),
    ],
)
def test_a_bad_max_prune_is_one_sentence(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_max_prune(text, 100)
    assert str(caught.value) == message


def test_prune_candidates_are_the_gateway_names_the_sheet_does_not_keep() -> None:
    plan = plan_prune(["b-2", "A-1", "c-3", "D-4"], ["a-1", "d-4"], "50%", 0)
    assert plan == PrunePlan(candidates=("b-2", "c-3"), limit=2, refused=None)


def test_prune_of_exactly_the_limit_goes_ahead_one_more_is_refused() -> None:
    names = [f"ep-{i}" for i in range(20)]
    assert plan_prune(names, names[2:], None, 0).refused is None
    assert plan_prune(names, names[1:], None, 0).refused is None
    refused = plan_prune(names, names[3:], None, 0)
    assert refused.candidates == ("ep-0", "ep-1", "ep-2")
    assert refused.limit == 2
    assert refused.refused == (
        "prune refused: 3 of the gateway's 20 endpoints (15%) are not in the sheet, more than "
        "--max-prune 10% allows (2); raise --max-prune if that is really intended"
    )
    lone = plan_prune(["only"], [], "0", 0)
    assert lone.refused == (
        "prune refused: 1 of the gateway's 1 endpoints (100%) are not in the sheet, more than "
        "--max-prune 0 allows (0); raise --max-prune if that is really intended"
    )
    rounded = plan_prune(["a", "b", "c"], ["a"], "1", 0)
    assert rounded.refused == (
        "prune refused: 2 of the gateway's 3 endpoints (67%) are not in the sheet, more than "
        "--max-prune 1 allows (1); raise --max-prune if that is really intended"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        rounded.refused = None  # type: ignore[misc]


@pytest.mark.parametrize(
    ("unsafe", "words"), [(1, "1 row was rejected"), (2, "2 rows were rejected")]
)
def test_prune_is_skipped_while_any_row_is_unsafe(unsafe: int, words: str) -> None:
    plan = plan_prune(["a", "b"], ["a"], "100%", unsafe)
    assert plan.candidates == ("b",)
    assert plan.refused == (
        f"prune skipped: {words} or failed, and nothing is deleted until every row of the sheet "
        "is good"
    )


def _delete(settings: GatewaySettings, names: list[str]) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []

    async def run() -> None:
        async with GatewayClient(settings) as client:
            await client.login()
            await delete_endpoints(client, names, outcomes.append)

    asyncio.run(run())
    return outcomes


def test_prune_deletes_each_name_and_reports_one_outcome_each(
    shared_gateway: GatewayProcess,
) -> None:
    shared_gateway.call("sip_endpoint.save", {"name": "prune-unit-1", "host": "dynamic"})
    settings = GatewaySettings(shared_gateway.url, Credentials(TEST_USER, TEST_PASSWORD))
    outcomes = _delete(settings, ["prune-unit-missing", "prune-unit-1"])
    assert outcomes == [
        RowOutcome(
            0,
            "prune-unit-missing",
            "failed",
            "ENDPOINT_NOT_FOUND",
            "not deleted: no sip endpoint with object_name 'prune-unit-missing'",
            1,
        ),
        RowOutcome(0, "prune-unit-1", "deleted", "", "not in the sheet; deleted", 1),
    ]
    assert "prune-unit-1" not in shared_gateway.endpoints()


def test_prune_deletes_that_keep_failing_are_failed_rows(
    gateway_server: Callable[..., GatewayProcess],
) -> None:
    gateway = gateway_server("--error-rate", "1")
    settings = GatewaySettings(gateway.url, Credentials(TEST_USER, TEST_PASSWORD))
    gave_up = settings.with_overrides(retry_attempts=2, retry_wait_initial=0.01)
    assert _delete(gave_up, ["w", "x"]) == [
        RowOutcome(
            0,
            name,
            "failed",
            "transport-error",
            "not deleted: gave up after 2 attempts: HTTP 500",
            2,
        )
        for name in ("w", "x")
    ]
    tripped = gave_up.with_overrides(breaker_threshold=1)
    assert _delete(tripped, ["y", "z"]) == [
        RowOutcome(0, name, "failed", "gateway-unavailable", "not deleted: gateway unavailable")
        for name in ("y", "z")
    ]


class _RulesGateway(BaseHTTPRequestHandler):
    """A real HTTP server answering every call (login, delete) with ``answer`` and a cookie: the
    local gateway has no dial rules, so its deletes never name any left invalid."""

    answer: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps(self.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "sid=1; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("rules", "groups"), [(["r1"], []), ([], ["g2"]), (["r1"], ["g2"])])
def test_prune_delete_that_leaves_invalid_rules_or_groups_says_so(
    rules: list[str], groups: list[str]
) -> None:
    answer = {"result": "success", "invalid_rules": rules, "invalid_groups": groups}
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), type("Handler", (_RulesGateway,), {"answer": answer})
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        outcomes = _delete(GatewaySettings(url, Credentials("u", "p")), ["gone"])
    finally:
        server.shutdown()
        server.server_close()
    message = (
        f"not in the sheet; deleted (the gateway reports invalid_rules {rules}, "
        f"invalid_groups {groups})"
    )
    assert outcomes == [RowOutcome(0, "gone", "deleted", "", message, 1)]


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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_a_prune_names_what_it_would_delete_or_refused_to(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(26, seed=9)
    write_csv(tmp_path / "all.csv", rows)
    proc = sync(tmp_path, gateway, tmp_path / "all.csv", name="all")[0]
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == f"gateway: {gateway.url}"  # sync's first line
    write_csv(tmp_path / "one.csv", rows[:1])
    gone = [r["name"] for r in rows[1:]]  # 25, sorted like the sheet
    first_20 = ", ".join(gone[:20])

    proc = sync(tmp_path, gateway, tmp_path / "one.csv", "--prune", "--max-prune", "100%",
                "--dry-run", name="dry")[0]  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == [
        f"would delete 25 endpoints: {first_20}, … (and 5 more)",
        f"reports: {tmp_path / 'reports' / 'dry'}",
    ]
    assert proc.stderr.splitlines()[0] == f"gateway: {gateway.url}"

    # Refused by --max-prune (10% of 26 is 2): the same names, said the same way.
    proc = sync(tmp_path, gateway, tmp_path / "one.csv", "--prune", name="refused")[0]
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-3:] == [
        "warning: prune refused: 25 of the gateway's 26 endpoints (96%) are not in the sheet, "
        "more than --max-prune 10% allows (2); raise --max-prune if that is really intended",
        f"refused to delete 25 endpoints: {first_20}, … (and 5 more)",
        f"reports: {tmp_path / 'reports' / 'refused'}",
    ]

    # Refused because a row was rejected (its name is still the sheet's); a short list is whole.
    write_csv(tmp_path / "bad.csv", [*rows[:23], {**rows[23], "port": "70000"}])
    proc = sync(tmp_path, gateway, tmp_path / "bad.csv", "--prune", "--max-prune", "100%",
                name="bad")[0]  # fmt: skip
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-2] == (
        f"refused to delete 2 endpoints: {rows[24]['name']}, {rows[25]['name']}"
    )
    assert len(gateway.endpoints()) == 26 and saves(gateway) == 26


@pytest.mark.parametrize(
    ("count", "line"),
    [
        (1, "would delete 1 endpoint: n00"),
        (20, "would delete 20 endpoints: " + ", ".join(f"n{i:02d}" for i in range(20))),
        (21, "would delete 21 endpoints: " + ", ".join(f"n{i:02d}" for i in range(20))
         + ", … (and 1 more)"),
    ],
)  # fmt: skip
def test_prune_lines_show_the_first_20_names_and_the_count(count: int, line: str) -> None:
    from importer.gateways.prune import name_endpoints

    assert name_endpoints("would delete", tuple(f"n{i:02d}" for i in range(count))) == line


def test_prune_names_the_first_endpoints_and_counts_the_rest() -> None:
    names = tuple(f"ep-{i}" for i in range(45))
    said = name_endpoints("would delete", names)
    assert said == "would delete 45 endpoints: " + ", ".join(names[:20]) + ", … (and 25 more)"
    assert name_endpoints("refused to delete", ("a",)) == "refused to delete 1 endpoint: a"
