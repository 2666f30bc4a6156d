"""``sip-import export`` and the spreadsheet round trip, end to end: the real console script against
the real local gateway (a subprocess on loopback with its SQLite file), files read back from disk.

The gateway is filled by importing a generated sheet of 500 varied endpoints (every stored
parameter used somewhere, messy spellings included, cells that look like formulas, leading
zeros, non-ASCII secrets).
"""

from __future__ import annotations

import csv
import html
import json
import random
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayLauncher, GatewayProcess
from helpers import read_csv, run_cli, write_csv
from openpyxl import load_workbook

from importer.config import Credentials, GatewaySettings
from importer.reports.export import export_endpoints
from schemas import MASK, PARAMETERS, SECRET_FIELDS

ENV = {"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD}
CODECS = ("ulaw", "alaw", "g722", "g726", "g729", "gsm")
COUNT = 500
#: Parameters a gateway stores (the other two only address an endpoint in a save).
STORED = [p for p in PARAMETERS if p not in ("old_name", "object_id")]
_SECRET_CHARS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789!#$%&*+-=@^_~.:;/?ü€ "


# -- the generated sheet ------------------------------------------------------------------------


def _secret(rng: random.Random, i: int) -> str:
    length = rng.choice([6, 8, 16, 40, 80])
    body = "".join(rng.choice(_SECRET_CHARS) for _ in range(length)).strip() or "x"
    lead = rng.choice(["", "", "", "=", "+", "-", "@", "00"])  # formula-like, leading zeros
    text = (lead + body)[:80]
    # Unique per row, so a secret showing up in a file is always a real leak.
    tag = f"{i:03d}"
    return (text[: 80 - len(tag)].rstrip() + tag) if len(text) + len(tag) > 80 else text + tag


def _host(rng: random.Random, i: int) -> str:
    return rng.choice(
        [f"198.51.100.{i % 250 + 1}", f"2001:db8::{i:x}", f"sbc{i}.carrier.example.net"]
    )


def make_rows(count: int, seed: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(sheet rows as a person might type them, the canonical values the gateway must hold)."""
    rng = random.Random(seed)
    pairs = [_make_row(rng, seed, i) for i in range(count)]
    return [typed for typed, _ in pairs], [want for _, want in pairs]


def _make_row(rng: random.Random, seed: int, i: int) -> tuple[dict[str, str], dict[str, str]]:
    """One row: ``put`` records the canonical value and a way a person may type it."""
    typed: dict[str, str] = {}
    want: dict[str, str] = {}

    def put(key: str, canonical: str, *spellings: str) -> None:
        want[key] = canonical
        typed[key] = rng.choice([canonical, canonical, *spellings])

    def maybe() -> bool:
        return rng.random() < 0.5

    name = rng.choice([
        f"rt-{seed}-{i:04d}", f"00{i:04d}-lead-{seed}", f"+1555{seed}{i:06d}",
        f"-dash-{seed}-{i}", f"Mixed.Case_{seed}_{i}",
    ])  # fmt: skip
    put("name", name)
    kind = rng.choice(["phone", "trunk-out", "trunk-ip"])
    if kind == "phone":
        put("host", "dynamic", "DYNAMIC", "Dynamic")
        put("registration", "in", "IN")
        put("secret", _secret(rng, i))
    elif kind == "trunk-out":
        put("host", _host(rng, i))
        put("registration", "out", "Out")
        put("defaultuser", rng.choice([f"00{i:08d}", f"acct{i}", f"@user{i}"]))
        put("secret", _secret(rng, i))
    else:
        put("host", _host(rng, i))
        if maybe():
            put("registration", "none", "NONE")
    if "defaultuser" not in want and maybe():
        put("defaultuser", rng.choice([f"00{i:06d}", f"u{i}", f"-u{i}"]))
    if maybe():
        order = rng.sample(["UDP", "TCP", "TLS"], rng.randint(1, 3))
        put("transport", ",".join(order), ", ".join(order).lower(), ";".join(order))
    if maybe():
        put("nat", rng.choice(["no", "yes", "force_rport", "comedia"]))
    if maybe():
        port = rng.randint(1, 65535)
        put("port", str(port), f"0{port}", f"{port}.0")
    if maybe():
        put("auth", rng.choice([f"u{i}:pw{i}@realm.example", f"=u{i}:x@r", f"+{i}:s@r"]))
    if maybe():
        put("fromuser", rng.choice([f"+4930{i:06d}", f"00{i}", f"from{i}"]))
    if maybe():
        put("fromdomain", rng.choice(["carrier.example.net", "192.0.2.5", "2001:db8::5"]))
    if maybe():
        put("remotesecret", _secret(rng, i))
    for flag in (p for p, v in PARAMETERS.items() if v.domain.allowed() == "0 or 1"):
        if maybe():
            value = rng.choice(["0", "1"])
            put(
                flag,
                value,
                *(["yes", "TRUE", "on", "y"] if value == "1" else ["no", "false", "Off"]),
            )
    if maybe():
        put("qualifyfreq", str(rng.randint(1, 86400)))
    for choice in ("dtmfmode", "rpid_format", "callingpres", "progressinband",
                   "session-timers", "session-refresher", "t38pt_udptl", "t38transport",
                   "rtpjittermode"):  # fmt: skip
        if maybe():
            value = rng.choice(PARAMETERS[choice].domain.values)  # type: ignore[attr-defined]
            put(choice, value, value.upper())
    if maybe():
        put("max_forwards", str(rng.randint(1, 255)))
    if maybe():
        put("outboundproxy", rng.choice(["proxy.example.net", "203.0.113.77"]))
    # Timers, consistent so no row carries a warning (SPEC.md section 4).
    t1 = 500
    t1_set = maybe()
    if t1_set:  # then t1min and timerb must fit it (their defaults may not)
        t1 = rng.randint(200, 1000)
        put("timert1", str(t1))
    if t1_set or maybe():
        put("timerb", str(rng.randint(64 * t1, 64 * t1 + 100000)))
    if t1_set or maybe():
        ms = rng.randint(1, 200)
        if maybe():
            put("t1min", f"{ms}ms", f"{ms} MS", f" {ms}Ms")
        else:
            put("t1min", str(ms))
    minse = 90
    if maybe():
        minse = rng.randint(90, 1800)
        put("session-minse", str(minse))
    if maybe():
        put("session-expires", str(rng.randint(minse, 7200)))
    enabled = list(CODECS)
    if maybe():
        enabled = [c for c in CODECS if rng.random() < 0.5]
        if enabled:
            shuffled = rng.sample(enabled, len(enabled))
            put(
                "audio_codecs",
                ",".join(enabled),
                ", ".join(shuffled).upper(),
                ";".join(shuffled),
            )
        else:
            put("audio_codecs", "none", "NONE")
    if enabled and maybe():
        order = rng.sample(enabled, rng.randint(1, len(enabled)))
        put("codec_order", ",".join(order), ", ".join(order).upper())
    for codec, (low, high) in {"alaw": (10, 50), "ulaw": (10, 50), "g722": (10, 40),
                               "g726": (10, 200), "g729": (10, 40)}.items():  # fmt: skip
        if maybe():
            put(f"{codec}_pr", str(rng.randrange(low, high + 1, 10)))
    if maybe():
        put("gsm_pr", "20")
    if maybe():
        put("extension", rng.choice([f"0{i:03d}", f"+4930{i:05d}", f"=ext{i}", f"Zürich {i}"]))
    if maybe():
        put("rtpjitterdelay", str(rng.randint(10, 100)))
    return typed, want


def test_generated_sheet_uses_every_stored_parameter() -> None:
    _, canonical = make_rows(COUNT, seed=1)
    used = {k for row in canonical for k in row}
    assert used == set(STORED)
    assert {row["name"].lower() for row in canonical}.__len__() == COUNT


# -- helpers ------------------------------------------------------------------------------------


def run(tmp_path: Path, *args: str) -> Any:
    return run_cli(*args, cwd=tmp_path, env=ENV)


def import_sheet(
    tmp_path: Path, gateway: GatewayProcess, sheet: Path, name: str, command: str = "import"
) -> tuple[Any, list[dict[str, str]], dict[str, Any]]:
    report = tmp_path / "reports" / name
    proc = run(tmp_path, command, str(sheet), "--gateway", gateway.url, "--report-dir", str(report))
    assert (report / "results.csv").exists(), proc.stdout + proc.stderr
    results = read_csv(report / "results.csv")
    summary = json.loads((report / "summary.json").read_text())
    return proc, results, summary


def export(tmp_path: Path, gateway: GatewayProcess, out: Path, *flags: str) -> Any:
    proc = run(tmp_path, "export", str(out), "--gateway", gateway.url, *flags)
    assert proc.returncode == 0, proc.stderr
    return proc


def read_export(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows as the importer will read them (empty cells left out)."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.reader(handle))
        header, body = records[0], records[1:]

        def cell(text: str) -> str:  # the importer drops the quote that stops formulas
            return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@") else text

        rows = [{h: cell(v) for h, v in zip(header, r, strict=True) if v} for r in body]
        return header, rows
    sheet = load_workbook(path)["endpoints"]
    grid = [[c.value for c in row] for row in sheet.iter_rows()]
    header = [str(h) for h in grid[0]]
    rows = []
    for values in grid[1:]:
        if any(v is not None for v in values):
            assert all(isinstance(v, str) for v in values if v is not None)  # string cells only
            rows.append({h: v for h, v in zip(header, values, strict=True) if v is not None})
    return header, rows


def expected_columns(rows: list[dict[str, str]]) -> list[str]:
    used = {k for row in rows for k in row}
    return [p for p in STORED if p in used]


def secrets_of(gateway: GatewayProcess) -> dict[str, dict[str, Any]]:
    return {
        name: {k: e.get(k) for k in sorted(SECRET_FIELDS)} for name, e in gateway.stored().items()
    }


# -- one gateway with 500 endpoints, shared by the tests that do not change it --------------------


@pytest.fixture(scope="module")
def filled(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[GatewayProcess, list[dict[str, str]]]]:
    directory = tmp_path_factory.mktemp("export-gateway")
    launcher = GatewayLauncher(directory)
    try:
        gateway = launcher()
        typed, canonical = make_rows(COUNT, seed=1)
        sheet = write_csv(directory / "seed.csv", typed, headers=["name", *STORED[1:]])
        proc, results, _ = import_sheet(directory, gateway, sheet, "seed")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert Counter(r["outcome"] for r in results) == {"created": COUNT}
        assert all(r["message"] == "" for r in results)  # no warnings: the rows are consistent
        yield gateway, canonical
    finally:
        launcher.close()


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_with_secrets_then_import_sends_no_save(
    filled: tuple[GatewayProcess, list[dict[str, str]]], tmp_path: Path, suffix: str
) -> None:
    gateway, canonical = filled
    out = tmp_path / f"export{suffix}"
    proc = export(tmp_path, gateway, out, "--include-secrets")
    assert proc.stdout.strip() == (
        f"exported {COUNT} endpoint(s) from {gateway.url} to {out} "
        f"({len(expected_columns(canonical))} columns)"
    )
    assert proc.stderr.splitlines() == [
        f"gateway: {gateway.url}",
        f"warning: {out} holds the endpoints' secrets in clear (readable by you only); keep it "
        "safe and delete it when done",
    ]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    # The same values, canonical, in template order: name first, no object_id / old_name.
    header, rows = read_export(out)
    assert header == expected_columns(canonical)
    assert header[0] == "name" and "object_id" not in header and "old_name" not in header
    assert sorted(rows, key=lambda r: r["name"]) == sorted(canonical, key=lambda r: r["name"])

    # Importing the export back changes nothing and sends nothing.
    saves = gateway.stats()["calls"]["sip_endpoint.save"]
    before = gateway.stored()
    proc, results, summary = import_sheet(tmp_path, gateway, out, f"back{suffix}", "sync")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Counter(r["outcome"] for r in results) == {"unchanged": COUNT}
    assert summary["outcomes"] == {"unchanged": COUNT}
    assert summary["warnings"] == []
    assert gateway.stats()["calls"]["sip_endpoint.save"] == saves
    assert gateway.stored() == before


def test_xlsx_export_has_the_template_layout(
    filled: tuple[GatewayProcess, list[dict[str, str]]], tmp_path: Path
) -> None:
    gateway, _ = filled
    out = tmp_path / "export.xlsx"
    export(tmp_path, gateway, out)
    book = load_workbook(out)
    assert book.sheetnames[:2] == ["endpoints", "help"]
    sheet = book["endpoints"]
    assert sheet.freeze_panes == "B2"
    header = [c.value for c in sheet[1]]
    kinds = {}
    for dv in sheet.data_validations.dataValidation:
        kinds[str(dv.sqref).split(":")[0]] = dv.type
    for i, name in enumerate(header):
        letter = chr(ord("A") + i) if i < 26 else "A" + chr(ord("A") + i - 26)
        if name in ("qualify", "nat", "dtmfmode"):
            assert kinds[f"{letter}2"] == "list", name
        if name in ("port", "qualifyfreq"):
            assert kinds[f"{letter}2"] == "whole", name
        column = [row[i] for row in sheet.iter_rows(min_row=2, max_row=COUNT + 1)]
        if name in ("name", "defaultuser", "fromuser", "extension", *SECRET_FIELDS):
            assert all(c.number_format == "@" for c in column), name
        assert all(c.data_type == "s" for c in column if c.value is not None), name
    names = [c.value for c in next(sheet.iter_cols(min_col=1, max_col=1, min_row=2))]
    assert any(str(n).startswith("00") for n in names)  # leading zeros kept, as text
    assert any(str(n).startswith("-dash") for n in names)  # formula-like, stored as a string


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_masked_export_holds_no_secret_and_keeps_the_gateways(
    filled: tuple[GatewayProcess, list[dict[str, str]]], tmp_path: Path, suffix: str
) -> None:
    gateway, canonical = filled
    out = tmp_path / f"masked{suffix}"
    proc = export(tmp_path, gateway, out)
    with_secret = [r for r in canonical if SECRET_FIELDS & r.keys()]
    cells = sum(len(SECRET_FIELDS & r.keys()) for r in canonical)
    assert proc.stdout.strip().endswith(
        f"; {cells} secret(s) masked in {len(with_secret)} row(s) (--include-secrets writes them)"
    )
    assert proc.stderr == f"gateway: {gateway.url}\n"

    # No secret anywhere in the file: the raw bytes, and every member of the XLSX zip.
    secrets = {r[f] for r in canonical for f in SECRET_FIELDS if f in r}
    blobs = [out.read_bytes()]
    if suffix == ".xlsx":
        with zipfile.ZipFile(out) as archive:
            blobs += [archive.read(member) for member in archive.namelist()]
    for blob in blobs:
        text = html.unescape(blob.decode("utf-8", errors="replace"))  # XML escapes & < >
        leaked = [s for s in secrets if s in text]
        assert not leaked, leaked[:3]
    _, rows = read_export(out)
    by_name = {r["name"]: r for r in rows}
    for row in canonical:
        for field in SECRET_FIELDS:
            assert by_name[row["name"]].get(field) == (MASK if field in row else None)

    # Importing it keeps every secret the gateway holds: nothing blanked, nothing overwritten.
    before = secrets_of(gateway)
    saves = gateway.stats()["calls"]["sip_endpoint.save"]
    proc, results, summary = import_sheet(tmp_path, gateway, out, f"masked{suffix}", "sync")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Counter(r["outcome"] for r in results) == {"unchanged": COUNT}
    assert summary["masked_secrets_kept"] == len(with_secret)  # the summary counts such rows
    assert gateway.stats()["calls"]["sip_endpoint.save"] == saves
    assert secrets_of(gateway) == before
    assert sum(1 for s in before.values() if any(s.values())) == len(with_secret)


@pytest.mark.slow
def test_import_then_export_gives_back_the_same_values(
    gateway_server: Callable[..., GatewayProcess], tmp_path: Path
) -> None:
    gateway = gateway_server()
    typed, canonical = make_rows(COUNT, seed=2)
    sheet = write_csv(tmp_path / "sheet.csv", typed)
    proc, results, _ = import_sheet(tmp_path, gateway, sheet, "first")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Counter(r["outcome"] for r in results) == {"created": COUNT}

    for suffix in (".xlsx", ".csv"):
        out = tmp_path / f"after-import{suffix}"
        export(tmp_path, gateway, out, "--include-secrets")
        header, rows = read_export(out)
        assert header == expected_columns(canonical)
        assert sorted(rows, key=lambda r: r["name"]) == sorted(canonical, key=lambda r: r["name"])

    # An edit in the masked export: nat changes, the masked secret stays; renames via old_name.
    out = tmp_path / "edit.csv"
    export(tmp_path, gateway, out)
    header, rows = read_export(out)
    edited = [r for r in canonical if "secret" in r][:5]
    renamed = [r for r in canonical if r not in edited][:5]
    changed = {r["name"] for r in edited}
    new_names = {r["name"]: f"renamed-{i}" for i, r in enumerate(renamed)}
    for row in rows:
        if row["name"] in changed:
            row["nat"] = "comedia" if row.get("nat") != "comedia" else "no"
        if row["name"] in new_names:
            row["old_name"], row["name"] = row["name"], new_names[row["name"]]
    before = secrets_of(gateway)
    edit_sheet = write_csv(tmp_path / "edited.csv", rows, headers=[*header, "old_name"])
    proc, results, _ = import_sheet(tmp_path, gateway, edit_sheet, "edit")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert Counter(r["outcome"] for r in results) == {
        "unchanged": COUNT - 10,
        "updated": 5,
        "renamed": 5,
    }
    after = secrets_of(gateway)
    for name in changed:
        assert after[name] == before[name] and after[name]["secret"]  # masked: kept, not blanked
    for old, new in new_names.items():
        assert after[new] == before[old]

    # ... and the next export shows exactly the edits.
    out = tmp_path / "after-edit.csv"
    export(tmp_path, gateway, out, "--include-secrets")
    _, rows_after = read_export(out)
    want = []
    for row in canonical:
        row = dict(row)
        if row["name"] in changed:
            row["nat"] = "comedia" if row.get("nat") != "comedia" else "no"
        row["name"] = new_names.get(row["name"], row["name"])
        want.append(row)
    assert sorted(rows_after, key=lambda r: r["name"]) == sorted(want, key=lambda r: r["name"])


def test_export_api(filled: tuple[GatewayProcess, list[dict[str, str]]], tmp_path: Path) -> None:
    gateway, canonical = filled
    settings = GatewaySettings(gateway.url, Credentials(gateway.user, gateway.password))
    lines: list[str] = []
    result = export_endpoints(
        tmp_path / "api.csv", settings=settings, include_secrets=False, notice=lines.append
    )
    assert result.rows == COUNT and result.path == tmp_path / "api.csv"
    assert result.columns == tuple(expected_columns(canonical))
    assert result.secrets_masked == sum(len(SECRET_FIELDS & r.keys()) for r in canonical)
    assert result.rows_masked == sum(1 for r in canonical if SECRET_FIELDS & r.keys())
    assert result.gateway == gateway.url and result.warnings == () and lines == []


def test_export_without_gateway_reads_the_local_one(tmp_path: Path) -> None:
    sheet = write_csv(tmp_path / "two.csv", [
        {"name": "local-1", "host": "dynamic", "secret": "s-1", "transport": "udp, tcp"},
        {"name": "local-2", "host": "192.0.2.1", "audio_codecs": "G729,ulaw"},
    ])  # fmt: skip
    proc = run_cli("import", str(sheet), "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "local.csv"
    proc = run_cli("export", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"gateway: http://127\.0\.0\.1:[0-9]+ \(no --gateway given: the local gateway, started "
        r"for this run; database \.sip-import/gateway\.db\)",
        proc.stderr.splitlines()[0],
    ), proc.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "name,host,secret,transport,audio_codecs"
    assert sorted(lines[1:]) == [
        'local-1,dynamic,********,"UDP,TCP",',
        'local-2,192.0.2.1,,,"ulaw,g729"',
    ]
    proc = run_cli("export", str(out), "--quiet", cwd=tmp_path)
    # Quiet means quiet: not even the local gateway's admin/admin warning.
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_export_errors_are_one_line(
    gateway_server: Callable[..., GatewayProcess], tmp_path: Path
) -> None:
    gateway = gateway_server()
    proc = run(tmp_path, "export", str(tmp_path / "out.txt"), "--gateway", gateway.url)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"error: {tmp_path / 'out.txt'}: cannot tell the format from the name; "
        "end it in .xlsx or .csv"
    )
    assert gateway.stats()["calls"].get("sip_endpoints.list", 0) == 0
    proc = run(tmp_path, "export", str(tmp_path / "none" / "out.csv"), "--gateway", gateway.url)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    proc = run_cli(
        "export", str(tmp_path / "out.csv"), "--gateway", gateway.url, cwd=tmp_path,
        env={"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": "wrong"},
    )  # fmt: skip
    assert proc.returncode == 3
    assert proc.stderr.splitlines() == [
        f"gateway: {gateway.url}",
        f"error: the gateway at {gateway.url} refused the login for user '{TEST_USER}'; check "
        "SIP_IMPORT_USER and SIP_IMPORT_PASSWORD",
    ]
    assert not (tmp_path / "out.csv").exists()
    proc = run(tmp_path, "export", str(tmp_path / "out.csv"), "--gateway", "http://127.0.0.1:9")
    assert proc.returncode == 3
    assert proc.stderr.startswith("gateway: http://127.0.0.1:9\nerror: cannot reach the gateway")
    assert "Traceback" not in proc.stderr


def test_export_warns_when_the_file_would_not_import_back(
    gateway_server: Callable[..., GatewayProcess], tmp_path: Path
) -> None:
    """Values a real gateway may hold (set through its web page) that the sheet rules refuse or
    read differently: the export says so, and never shows a secret doing it."""
    gateway = gateway_server()
    for params in (
        {"name": "padded", "host": "192.0.2.1", "secret": "  spaces around  "},
        {"name": "open", "host": "dynamic"},
        {"name": "fine", "host": "192.0.2.2", "secret": "ok-secret"},
    ):
        assert gateway.call("sip_endpoint.save", params).json()["result"] == "success"
    out = tmp_path / "odd.csv"
    proc = export(tmp_path, gateway, out, "--include-secrets")
    warning = proc.stderr.splitlines()[-1]
    assert warning.startswith(
        "warning: 2 cell(s) hold values the importer would reject or read differently, so "
        "importing this file back would not be exact: "
    )
    assert "padded: secret: would be read differently (not shown)" in warning
    assert "open: host: dynamic with no secret" in warning
    assert "spaces around" not in proc.stderr + proc.stdout
