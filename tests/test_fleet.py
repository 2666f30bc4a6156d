"""A fleet: one sheet against many real local gateways (``python -m gateway --fleet N`` and
single ones with their own faults), routed by a ``gateway`` column or ``--gateways``, through
the real CLI."""

from __future__ import annotations

import json
import random
import re
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayLauncher, GatewayProcess
from helpers import read_csv, run_cli, start_cli, write_csv

ENV = {"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD}


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[GatewayLauncher]:
    started = GatewayLauncher(tmp_path)
    try:
        yield started
    finally:
        started.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_inventory(
    path: Path, gateways: list[tuple[str, str, list[str]]], defaults: str = ""
) -> Path:
    lines = ["[defaults]", defaults]
    for name, url, tags in gateways:
        lines += [f"[gateways.{name}]", f'url = "{url}"', f"tags = {json.dumps(tags)}", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_fleet(
    tmp_path: Path, sheet: Path, *flags: str, name: str = "r", command: str = "import"
) -> tuple[Any, list[dict[str, str]], dict[str, Any]]:
    report = tmp_path / "reports" / name
    proc = run_cli(
        command, str(sheet), "--inventory", str(tmp_path / "fleet.toml"), "--report-dir",
        str(report), *flags, cwd=tmp_path, env=ENV,
    )  # fmt: skip
    results = read_csv(report / "results.csv") if (report / "results.csv").exists() else []
    summary = json.loads((report / "summary.json").read_text()) if results else {}
    return proc, results, summary


def lines(results: list[dict[str, str]]) -> list[tuple[str, str, str, str]]:
    return [(r["row"], r["name"], r["gateway"], r["outcome"]) for r in results]


def endpoint(name: str, **extra: str) -> dict[str, str]:
    return {"name": name, "host": "dynamic", "secret": f"Secret-{name}-9x", **extra}


@pytest.fixture
def three(tmp_path: Path, launcher: GatewayLauncher) -> tuple[list[GatewayProcess], int]:
    """lon-1 and par-1 up (one process), par-2 down; the inventory at tmp_path/fleet.toml."""
    up = launcher.fleet(2)
    down = closed_port()
    write_inventory(
        tmp_path / "fleet.toml",
        [
            ("lon-1", up[0].url, ["london"]),
            ("par-1", up[1].url, ["paris"]),
            ("par-2", f"http://127.0.0.1:{down}", ["paris"]),
        ],
        "concurrency = 4",
    )
    return up, down


def test_rows_go_where_their_gateway_cell_says_and_a_down_gateway_fails_only_its_rows(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    (lon, par), down = three
    rows = [
        endpoint("a1", gateway="lon-1"),
        endpoint("a2", gateway="lon-1, par-1"),
        endpoint("a3", gateway="tag:paris"),
        endpoint("a4", gateway="*"),
        endpoint("a5", gateway="nowhere"),
        endpoint("a6", gateway=""),
        endpoint("a7", gateway="lon-1", port="70000"),
    ]
    proc, results, summary = run_fleet(tmp_path, write_csv(tmp_path / "s.csv", rows))
    assert proc.returncode == 3, proc.stderr
    stderr = proc.stderr.strip().splitlines()
    assert stderr[0] == (
        f"gateways: 3 from {tmp_path / 'fleet.toml'}: lon-1 ({lon.url}), par-1 ({par.url}), "
        f"par-2 (http://127.0.0.1:{down})"
    )
    assert stderr[-1] == (
        f"error: par-2: cannot reach the gateway at http://127.0.0.1:{down}: connection "
        "refused or unreachable"
    )
    assert lines(results) == [
        ("2", "a1", "lon-1", "created"),
        ("3", "a2", "lon-1", "created"),
        ("3", "a2", "par-1", "created"),
        ("4", "a3", "par-1", "created"),
        ("4", "a3", "par-2", "failed"),
        ("5", "a4", "lon-1", "created"),
        ("5", "a4", "par-1", "created"),
        ("5", "a4", "par-2", "failed"),
        ("6", "a5", "nowhere", "rejected"),
        ("7", "a6", "", "rejected"),
        ("8", "a7", "lon-1", "rejected"),
    ]
    by_line = {(r["row"], r["gateway"]): r for r in results}
    assert by_line[("4", "par-2")]["message"] == (
        f"not attempted: cannot reach the gateway at http://127.0.0.1:{down}: connection refused "
        "or unreachable"
    )
    assert by_line[("6", "nowhere")]["message"] == "gateway: no gateway is named 'nowhere'"
    assert by_line[("7", "")]["message"] == (
        "gateway: empty; name a gateway, several separated by commas, tag:NAME or *"
    )
    assert by_line[("8", "lon-1")]["message"] == "port: 70000 is above 65535"
    assert sorted(lon.stored()) == ["a1", "a2", "a4"]
    assert sorted(par.stored()) == ["a2", "a3", "a4"]
    assert lon.stored()["a2"]["secret"] == "Secret-a2-9x"
    gateways = summary["fleet"]["gateways"]
    assert {n: g["availability"] for n, g in gateways.items()} == {
        "lon-1": "ok",
        "par-1": "ok",
        "par-2": "unavailable",
    }
    assert gateways["lon-1"]["outcomes"] == {"created": 3}
    assert gateways["lon-1"]["requests"] == {"sip_endpoints.list": 1, "sip_endpoint.save": 3}
    assert summary["rows"] == 7
    assert summary["outcomes"] == {"created": 6, "failed": 2, "rejected": 3}
    # rejections.csv: a row once, however many gateways it failed on.
    rejected = read_csv(tmp_path / "reports" / "r" / "rejections.csv")
    assert [r["_row"] for r in rejected] == ["4", "5", "6", "7", "8"]


def test_without_a_gateway_column_every_row_goes_to_the_gateways_selected(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    (lon, par), _down = three
    sheet = write_csv(tmp_path / "s.csv", [endpoint("b1"), endpoint("b2")])
    proc, results, summary = run_fleet(tmp_path, sheet, "--gateways", "lon-1,par-1")
    assert proc.returncode == 0, proc.stderr
    assert lines(results) == [
        ("2", "b1", "lon-1", "created"),
        ("2", "b1", "par-1", "created"),
        ("3", "b2", "lon-1", "created"),
        ("3", "b2", "par-1", "created"),
    ]
    assert sorted(lon.stored()) == sorted(par.stored()) == ["b1", "b2"]
    # --only narrows any run; a second run changes nothing and sends no save.
    proc, results, summary = run_fleet(tmp_path, sheet, "--only", "tag:paris,lon-1", name="o")
    assert proc.returncode == 3  # par-2, down, is in the run
    assert {(r["name"], r["gateway"], r["outcome"]) for r in results} >= {
        ("b1", "lon-1", "unchanged"),
        ("b1", "par-1", "unchanged"),
    }
    assert summary["fleet"]["gateways"]["par-1"]["requests"] == {"sip_endpoints.list": 1}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--only", "lon-9"), "--only 'lon-9': no gateway is named 'lon-9'"),
        (("--gateways", "tag:rome"), "--gateways 'tag:rome': no gateway has the tag 'rome'"),
        (("--gateway", "http://127.0.0.1:9"), "give --gateway or --inventory, not both"),
        (("--max-connections", "0"), "--max-connections must be at least 1"),
    ],
)
def test_fleet_usage_mistakes_are_one_line_before_any_call(
    tmp_path: Path, three: tuple[list[GatewayProcess], int], flags: tuple[str, ...], message: str
) -> None:
    (lon, par), _down = three
    proc, _results, _summary = run_fleet(
        tmp_path, write_csv(tmp_path / "s.csv", [endpoint("c1")]), *flags
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {message}"
    assert lon.stats()["calls"] == {} and par.stats()["calls"] == {}


def test_a_gateway_column_and_gateways_flag_are_one_or_the_other(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    sheet = write_csv(tmp_path / "s.csv", [endpoint("d1", gateway="lon-1")])
    proc, _results, _summary = run_fleet(tmp_path, sheet, "--gateways", "*")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: --gateways is for sheets without a gateway column; this one has one"
    )


def test_fleet_flags_need_an_inventory(tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "s.csv", [endpoint("e1")])
    proc = run_cli("import", str(sheet), "--only", "lon-1", cwd=tmp_path, env=ENV)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --only is for a fleet: give its --inventory too"


def test_the_inventory_can_come_from_sip_import_toml(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    (lon, _par), _down = three
    (tmp_path / "sip-import.toml").write_text('inventory = "fleet.toml"\n')
    sheet = write_csv(tmp_path / "s.csv", [endpoint("f1", gateway="lon-1")])
    proc = run_cli("import", str(sheet), "--report-dir", "out", cwd=tmp_path, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0].startswith("gateways: 1 from fleet.toml: lon-1 (")
    assert sorted(lon.stored()) == ["f1"]


@pytest.mark.slow
def test_without_a_terminal_each_gateway_gets_a_progress_line(
    tmp_path: Path, launcher: GatewayLauncher
) -> None:
    up = launcher.fleet(2, "--latency-ms", "30")
    write_inventory(
        tmp_path / "fleet.toml",
        [("lon-1", up[0].url, []), ("par-1", up[1].url, [])],
        "concurrency = 1",
    )
    # 200 calls of at least 30 ms each, one at a time per gateway: past the 5 s between lines.
    sheet = write_csv(tmp_path / "s.csv", [endpoint(f"q{i}") for i in range(200)])
    proc, _results, _summary = run_fleet(tmp_path, sheet)
    assert proc.returncode == 0, proc.stderr
    progress = [line for line in proc.stderr.splitlines() if ": saving " in line]
    pattern = (
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (lon-1|par-1): saving \d+/200 rows \([\d,]+ rows/s\)"
    )
    assert progress and all(re.fullmatch(pattern, line) for line in progress), proc.stderr
    assert {line.split()[1] for line in progress} == {"lon-1:", "par-1:"}
    assert "\x1b[" not in proc.stdout + proc.stderr


def test_a_failed_canary_stops_the_rollout(tmp_path: Path, launcher: GatewayLauncher) -> None:
    up = launcher.fleet(2)
    write_inventory(
        tmp_path / "fleet.toml",
        [
            ("gw1", f"http://127.0.0.1:{closed_port()}", []),
            ("gw2", up[0].url, []),
            ("gw3", up[1].url, []),
        ],
    )
    sheet = write_csv(tmp_path / "s.csv", [endpoint("g1"), endpoint("g2")])
    proc, results, summary = run_fleet(tmp_path, sheet, "--canary", "1")
    assert proc.returncode == 3
    assert summary["fleet"]["not_started"] == {
        "gw2": "the canary gw1 failed",
        "gw3": "the canary gw1 failed",
    }
    assert {(r["gateway"], r["outcome"], r["error_key"]) for r in results} == {
        ("gw1", "failed", "not-attempted"),
        ("gw2", "failed", "not-started"),
        ("gw3", "failed", "not-started"),
    }
    assert [r["message"] for r in results if r["gateway"] == "gw2"] == [
        "not started: the canary gw1 failed"
    ] * 2
    assert up[0].stats()["calls"] == {} and up[1].stats()["calls"] == {}


@pytest.mark.slow
def test_max_fail_percent_stops_new_gateways_after_the_failure_that_passes_it(
    tmp_path: Path, launcher: GatewayLauncher
) -> None:
    up = launcher.fleet(7)
    down = [(f"down-{i}", f"http://127.0.0.1:{closed_port()}", []) for i in (1, 2, 3)]
    # Ceilings of 8 in a budget of 8: one gateway at a time, the three down ones first.
    write_inventory(
        tmp_path / "fleet.toml",
        [*down, *((f"up-{i + 1}", g.url, []) for i, g in enumerate(up))],
        "concurrency = 8",
    )
    sheet = write_csv(tmp_path / "s.csv", [endpoint("h1")])
    proc, _results, summary = run_fleet(
        tmp_path, sheet, "--max-fail-percent", "20", "--max-connections", "8"
    )
    assert proc.returncode == 3
    reason = "more than 20% of the 10 gateways failed (3: down-1, down-2, down-3)"
    assert summary["fleet"]["not_started"] == {f"up-{i}": reason for i in range(1, 8)}
    assert all(g.stats()["calls"] == {} for g in up)


def test_sync_prunes_each_gateway_to_its_own_rows(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    (lon, par), _down = three
    write_inventory(
        tmp_path / "fleet.toml", [("lon-1", lon.url, ["london"]), ("par-1", par.url, [])]
    )
    first = [endpoint(f"p{i}", gateway="*") for i in range(10)]
    proc, _results, _summary = run_fleet(tmp_path, write_csv(tmp_path / "a.csv", first))
    assert proc.returncode == 0, proc.stderr
    # The master sheet now keeps p0-p9 on par-1 but only p0-p8 on lon-1.
    second = [endpoint(f"p{i}", gateway="*" if i < 9 else "par-1") for i in range(10)]
    proc, results, summary = run_fleet(
        tmp_path, write_csv(tmp_path / "b.csv", second), "--prune", command="sync", name="s"
    )
    assert proc.returncode == 0, proc.stderr
    assert [(r["name"], r["gateway"], r["outcome"]) for r in results if r["row"] == ""] == [
        ("p9", "lon-1", "deleted")
    ]
    assert sorted(lon.stored()) == [f"p{i}" for i in range(9)]
    assert sorted(par.stored()) == [f"p{i}" for i in range(10)]
    assert summary["fleet"]["gateways"]["lon-1"]["prune"]["deleted"] == ["p9"]


@pytest.mark.slow
def test_a_fleet_exports_to_one_sheet_that_syncs_back_unchanged(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    (lon, par), _down = three
    write_inventory(
        tmp_path / "fleet.toml", [("lon-1", lon.url, ["london"]), ("par-1", par.url, [])]
    )
    rows = [
        endpoint("x1", gateway="*"),
        endpoint("x2", gateway="lon-1"),
        endpoint("x3", gateway="lon-1", port="5070"),
        endpoint("x3", gateway="par-1", port="5080"),  # one name, a version per gateway
    ]
    proc, results, _summary = run_fleet(tmp_path, write_csv(tmp_path / "a.csv", rows))
    assert proc.returncode == 0, proc.stderr
    assert {(r["name"], r["gateway"], r["outcome"]) for r in results} == {
        ("x1", "lon-1", "created"), ("x1", "par-1", "created"), ("x2", "lon-1", "created"),
        ("x3", "lon-1", "created"), ("x3", "par-1", "created"),
    }  # fmt: skip
    assert (lon.stored()["x3"]["port"], par.stored()["x3"]["port"]) == ("5070", "5080")
    proc = run_cli(
        "export", "fleet.csv", "--inventory", "fleet.toml", "--include-secrets",
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "exported 4 endpoint(s) from 2 gateways of fleet.toml to fleet.csv (5 columns)"
    )
    exported = read_csv(tmp_path / "fleet.csv")
    assert [(r["name"], r["port"], r["gateway"]) for r in exported] == [
        ("x1", "", "lon-1,par-1"),
        ("x2", "", "lon-1"),
        ("x3", "5070", "lon-1"),
        ("x3", "5080", "par-1"),
    ]
    proc, results, _summary = run_fleet(tmp_path, tmp_path / "fleet.csv", command="sync", name="b")
    assert proc.returncode == 0, proc.stderr
    assert {r["outcome"] for r in results} == {"unchanged"}
    assert len(results) == 5
    # The same name twice for one gateway is still a duplicate.
    rows.append(endpoint("x2", gateway="lon-1"))
    proc, results, _summary = run_fleet(tmp_path, write_csv(tmp_path / "d.csv", rows), name="d")
    assert proc.returncode == 1
    assert [r["message"] for r in results if r["outcome"] == "rejected"] == [
        "name: 'x2' is also on row 6 for gateway lon-1",
        "name: 'x2' is also on row 3 for gateway lon-1",
    ]


@pytest.mark.slow
def test_a_twelve_gateway_fleet_syncs_6000_rows_and_resumes_after_sigkill(
    tmp_path: Path, launcher: GatewayLauncher
) -> None:
    """Issue 18's acceptance: 12 gateways (one down, one flaky, one slow, one of capacity 2),
    a 6,000-row master sheet routed by names, tags and *."""
    plain = launcher.fleet(8)
    flaky = launcher("--error-rate", "0.2", "--drop-rate", "0.05", "--seed", "3",
                     db=tmp_path / "flaky.db")  # fmt: skip
    slow = launcher("--latency-ms", "200", db=tmp_path / "slow.db")
    small = launcher("--capacity", "2", "--latency-ms", "5", db=tmp_path / "small.db")
    up = [*plain, flaky, slow, small]
    names = [f"gw{i:02d}" for i in range(1, 13)]
    tags = {n: ["east" if i < 6 else "west"] for i, n in enumerate(names)}
    urls = [g.url for g in up] + [f"http://127.0.0.1:{closed_port()}"]
    write_inventory(
        tmp_path / "fleet.toml",
        [(n, u, tags[n]) for n, u in zip(names, urls, strict=True)],
        "concurrency = 16\nretry_attempts = 8",
    )
    rng = random.Random(18)
    rows = []
    for i in range(6000):
        draw = rng.random()
        if draw < 0.02:
            cell = "*"
        elif draw < 0.10:
            cell = rng.choice(["tag:east", "tag:west"])
        elif draw < 0.70:
            cell = rng.choice(names)
        else:
            cell = ",".join(rng.sample(names, 2))
        rows.append(endpoint(f"ep{i:05d}", gateway=cell, port=str(5060 + i % 100)))
    sheet = write_csv(tmp_path / "master.csv", rows)

    def targets(cell: str) -> list[str]:
        if cell == "*":
            return names
        if cell.startswith("tag:"):
            return [n for n in names if cell[4:] in tags[n]]
        return cell.split(",")

    expected: dict[str, dict[str, dict[str, str]]] = {n: {} for n in names}
    for row in rows:
        for name in targets(row["gateway"]):
            expected[name][row["name"]] = row
    pairs = sum(len(v) for v in expected.values())

    proc, results, summary = run_fleet(tmp_path, sheet, command="sync")
    assert proc.returncode == 3, proc.stderr
    assert len(results) == pairs
    assert Counter((r["name"], r["gateway"]) for r in results).most_common(1)[0][1] == 1
    for name, gateway in zip(names, up, strict=False):  # the eleven that are up
        stored = gateway.stored()
        assert sorted(stored) == sorted(expected[name]), name
        for endpoint_name, row in expected[name].items():
            got = stored[endpoint_name]
            assert (got["host"], got["secret"], str(got["port"])) == (
                row["host"], row["secret"], row["port"],
            ), (name, endpoint_name)  # fmt: skip
    down_lines = [r for r in results if r["gateway"] == "gw12"]
    assert len(down_lines) == len(expected["gw12"])
    assert {r["outcome"] for r in down_lines} == {"failed"}
    assert all("cannot reach the gateway" in r["message"] for r in down_lines)
    ok = {r["outcome"] for r in results if r["gateway"] != "gw12"}
    assert ok == {"created"}

    # A second sync sends no save anywhere.
    proc, results, summary = run_fleet(tmp_path, sheet, command="sync", name="again")
    assert proc.returncode == 3
    for name in names[:11]:
        gateway_summary = summary["fleet"]["gateways"][name]
        assert gateway_summary["outcomes"] == {"unchanged": len(expected[name])}, name
        # Only the list (the flaky gateway's may be retried), no save.
        assert set(gateway_summary["requests"]) == {"sip_endpoints.list"}, name

    # Every secret changes; the run is killed midway, then resumed: no successful save twice.
    for row in rows:
        row["secret"] = row["secret"] + "-v2"
    changed = write_csv(tmp_path / "changed.csv", rows)
    before = [Counter(g.stats()["saves_by_name"]) for g in up]
    killed = start_cli(
        "sync", str(changed), "--inventory", str(tmp_path / "fleet.toml"), "--report-dir",
        str(tmp_path / "reports" / "killed"), cwd=tmp_path, env=ENV,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline
        and sum(1 for g in plain[:2] for e in g.stored().values() if e["secret"].endswith("-v2"))
        < 300
    ):
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=10)
    proc, results, summary = run_fleet(tmp_path, changed, "--resume", command="sync", name="res")
    assert proc.returncode == 3, proc.stderr
    for name, gateway, saved_before in zip(names, up, before, strict=False):
        saves = Counter(gateway.stats()["saves_by_name"]) - saved_before
        # Each endpoint of this gateway got its new secret, and exactly one successful save.
        assert sorted(saves) == sorted(expected[name]), name
        stored = gateway.stored()
        assert all(stored[n]["secret"].endswith("-v2") for n in expected[name]), name
        assert set(saves.values()) == {1}, name


def test_a_long_gateway_cell_is_quoted_short(
    tmp_path: Path, three: tuple[list[GatewayProcess], int]
) -> None:
    sheet = write_csv(tmp_path / "s.csv", [endpoint("z1", gateway="n" * 5000)])
    _proc, results, _summary = run_fleet(tmp_path, sheet)
    assert results[0]["message"] == "gateway: no gateway is named '" + "n" * 79 + "…'"
    assert results[0]["gateway"] == "n" * 79 + "…"
