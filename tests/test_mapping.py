"""Mapping files and presets: aliases, ignored columns, value translations, skipped rows, and
the FreePBX / Switchvox exports they exist for. Through the real console script, reports read
back from disk; imports and syncs against the real local gateway."""

from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import read_csv, run_cli, write_csv

from importer.pipeline import validate_file
from importer.sheets.load import load_sheet
from importer.sheets.mapping import load_mapping
from importer.sheets.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
ENV = {"SIP_IMPORT_USER": TEST_USER, "SIP_IMPORT_PASSWORD": TEST_PASSWORD}


def _exports() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pbx_exports", ROOT / "samples/pbx_exports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pbx_exports"] = module
    spec.loader.exec_module(module)
    return module


pbx = _exports()


def validate(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    proc = run_cli("validate", *args, "--json", "--report-dir", "r", cwd=tmp_path)
    summary = json.loads(proc.stdout) if proc.stdout else None
    return proc, summary


def results(tmp_path: Path, report: str = "r") -> list[tuple[str, str, str, str]]:
    return [
        (r["row"], r["name"], r["outcome"], r["message"])
        for r in read_csv(tmp_path / report / "results.csv")
    ]


# --- mapping files --------------------------------------------------------------------------


def test_ignore_values_separators_and_skip(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "pbx.csv",
        [
            ["1001", "Ana Alvarez", "pjsip", "ulaw&alaw", "PAI", "s3cret-1001", "x", "y"],
            ["1002", "Ben Brown", "DAHDI", "", "", "", "x", "y"],
            ["1003", "Chen Chloé", "pjsip", "g729 & ulaw", "no", "s3cret-1003", "", ""],
        ],
        headers=["Ext", "name", "tech", "allow", "sendrpid", "secret", "note", "note"],
    )
    (tmp_path / "map.toml").write_text(
        '[aliases]\nExt = "name"\nname = "ignore"\nallow = "audio_codecs"\n'
        '[values.sendrpid]\npai = "yes"\nno = "0"\n'
        '[separators]\naudio_codecs = "&"\n'
        '[skip]\ntech = ["dahdi", "iax2"]\n',
        encoding="utf-8",
    )
    proc, summary = validate(tmp_path, "pbx.csv", "--mapping", "map.toml")
    assert proc.returncode == 0, proc.stderr
    assert summary["outcomes"] == {"valid": 2, "skipped": 1}
    # 'tech' is no parameter (one warning); the two 'note' columns repeat but block nothing.
    assert summary["warnings"] == [
        "columns C ('tech'), G ('note'), H ('note (column H)') are not sip_endpoint parameters "
        "and were ignored"
    ]
    assert results(tmp_path) == [
        ("2", "1001", "valid", ""),
        ("3", "1002", "skipped", "tech is 'DAHDI': the mapping skips these rows"),
        ("4", "1003", "valid", ""),
    ]
    mapping = load_mapping(tmp_path / "map.toml")
    frame = normalize(load_sheet(tmp_path / "pbx.csv", name_keys=mapping.name_keys,
                                 parameter_keys=mapping.parameter_keys), mapping).frame  # fmt: skip
    assert frame.loc[2, ["audio_codecs", "sendrpid"]].tolist() == ["ulaw,alaw", "1"]
    assert frame.loc[4, ["audio_codecs", "sendrpid"]].tolist() == ["ulaw,g729", "0"]
    assert frame.index.tolist() == [2, 4]


def test_the_same_cells_read_under_other_mappings_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A column's distinct cells are read once a run and remembered: what is remembered belongs
    # to one mapping's [values] and [separators], never to another's, nor to no mapping.
    write_csv(
        tmp_path / "pbx.csv",
        [["1001", "PAI", "ulaw&alaw"], ["1002", "no", "alaw"], ["1003", "PAI", "ulaw&alaw"]],
        headers=["name", "sendrpid", "audio_codecs"],
    )
    (tmp_path / "a.toml").write_text(
        '[values.sendrpid]\npai = "yes"\n[separators]\naudio_codecs = "&"\n', encoding="utf-8"
    )
    (tmp_path / "b.toml").write_text('[values.sendrpid]\npai = "no"\n', encoding="utf-8")

    def read(mapping_file: str | None) -> list[list[str]]:
        mapping = load_mapping(tmp_path / mapping_file) if mapping_file else None
        loaded = load_sheet(tmp_path / "pbx.csv")
        frame = normalize(loaded, mapping).frame
        return frame[["sendrpid", "audio_codecs"]].astype(object).values.tolist()

    for _ in range(2):  # the second round reads what the first one remembered
        assert read("a.toml") == [["1", "ulaw,alaw"], ["0", "alaw"], ["1", "ulaw,alaw"]]
        assert read("b.toml") == [["0", "ulaw&alaw"], ["0", "alaw"], ["0", "ulaw&alaw"]]
        assert read(None) == [["PAI", "ulaw&alaw"], ["0", "alaw"], ["PAI", "ulaw&alaw"]]
    # A column of ever new cells: what is remembered is dropped, and every answer stays right.
    monkeypatch.setattr("importer.sheets.normalize._CANONICAL.kept", 2)
    assert read("a.toml") == [["1", "ulaw,alaw"], ["0", "alaw"], ["1", "ulaw,alaw"]]
    assert read(None) == [["PAI", "ulaw&alaw"], ["0", "alaw"], ["PAI", "ulaw&alaw"]]


def test_repeated_parameter_column_still_blocks_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", [["a", "x", "y"]], headers=["name", "host", "Host"])
    (tmp_path / "map.toml").write_text('[aliases]\nnote = "ignore"\n')
    proc, _ = validate(tmp_path, "a.csv", "--mapping", "map.toml")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: columns B and C of a.csv both mean 'host' ('host' and 'Host')"
    ]


def test_alias_onto_a_column_the_sheet_already_has(tmp_path: Path) -> None:
    # FreePBX's layout without the preset: 'extension' as the name collides with 'name'.
    write_csv(tmp_path / "a.csv", [["1001", "Ana"]], headers=["extension", "name"])
    (tmp_path / "map.toml").write_text('[aliases]\nextension = "name"\n')
    proc, _ = validate(tmp_path, "a.csv", "--mapping", "map.toml")
    assert proc.stderr.splitlines() == [
        "error: columns A and B both mean 'name' ('extension' and 'name'); keep one of them, "
        'or map the other to "ignore" in a mapping file'
    ]
    (tmp_path / "map.toml").write_text('[aliases]\nextension = "name"\nname = "ignore"\n')
    proc, summary = validate(tmp_path, "a.csv", "--mapping", "map.toml")
    assert (proc.returncode, summary["outcomes"]) == (0, {"valid": 1})
    assert results(tmp_path) == [("2", "1001", "valid", "")]


def test_skip_with_a_reason_and_a_name_header_from_the_mapping(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "a.csv",
        [["t1", "active", "203.0.113.1"], ["t2", "Retired", "203.0.113.2"]],
        headers=["Trunk", "status", "host"],
    )
    (tmp_path / "map.toml").write_text(
        '[aliases]\nTrunk = "name"\nstatus = "ignore"\n'
        '[skip.status]\nvalues = ["retired"]\nreason = "no longer in service"\n'
    )
    proc, summary = validate(tmp_path, "a.csv", "--mapping", "map.toml")
    assert proc.returncode == 0, proc.stderr
    assert summary["warnings"] == []
    assert results(tmp_path) == [
        ("2", "t1", "valid", ""),
        ("3", "t2", "skipped", "status is 'Retired': no longer in service"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[aliases]\nTrunk = "context"\n',
         "mapping file map.toml maps 'Trunk' to 'context', which is not a sip_endpoint parameter "
         '(map it to "ignore" to leave the column out)'),
        ('[skip]\ntech = "dahdi"\n',
         'mapping file map.toml: [skip] tech must be a list of values, e.g. ["dahdi", "iax2"]'),
        ("[values]\nsendrpid = 1\n",
         'mapping file map.toml: [values.sendrpid] must map values to values, e.g. "pai" = "yes"'),
        ("[separators]\nallow = 1\n",
         'mapping file map.toml: [separators] allow must be text, e.g. "&"'),
    ],
)  # fmt: skip
def test_bad_mapping_entries(tmp_path: Path, text: str, message: str) -> None:
    write_csv(tmp_path / "a.csv", [["a"]], headers=["name"])
    (tmp_path / "map.toml").write_text(text)
    proc, _ = validate(tmp_path, "a.csv", "--mapping", "map.toml")
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [f"error: {message}"])


def test_lists_with_another_separator_get_a_hint(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "a.csv",
        [["a", "ulaw&alaw", "udp/tls"], ["b", "g729 alaw", "UDP"], ["c", "ulaw&opus", "sctp"]],
        headers=["name", "audio_codecs", "transport"],
    )
    proc, _ = validate(tmp_path, "a.csv")
    assert proc.returncode == 1
    assert [line[3] for line in results(tmp_path)] == [
        "audio_codecs: 'ulaw&alaw' is not a codec; separate codecs with commas (ulaw,alaw); "
        "transport: 'UDP/TLS' is not one of UDP, TCP, TLS; separate them with commas (UDP,TLS)",
        "audio_codecs: 'g729 alaw' is not a codec; separate codecs with commas (g729,alaw)",
        "audio_codecs: 'ulaw&opus' is not a codec; use ulaw, alaw, g722, g726, g729, gsm; "
        "transport: 'SCTP' is not one of UDP, TCP, TLS",
    ]


# --- presets --------------------------------------------------------------------------------


def test_presets_lists_the_shipped_mappings(tmp_path: Path) -> None:
    proc = run_cli("presets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "freepbx: FreePBX Bulk Handler extension export (13+) and the 2.x devinfo_* layout",
        "switchvox: Switchvox extension export (Setup > Extensions > Manage > Export Extensions)",
    ]


def test_unknown_preset(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", [["a"]], headers=["name"])
    proc, _ = validate(tmp_path, "a.csv", "--preset", "asterisk")
    assert proc.stderr.splitlines() == [
        "error: there is no preset 'asterisk' (presets: freepbx, switchvox; sip-import presets "
        "lists them)"
    ]
    assert proc.returncode == 2


def _write_export(tmp_path: Path, kind: str, count: int) -> Path:
    rows = {"freepbx": pbx.freepbx_rows, "freepbx2": pbx.freepbx2_rows,
            "switchvox": pbx.switchvox_rows}[kind](count)  # fmt: skip
    return pbx.write(tmp_path / f"{kind}.csv", *rows)


def _tech_counts(path: Path, column: str) -> Counter[str]:
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    if encoding == "utf-8-sig":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            encoding = "cp1252"
    with path.open(newline="", encoding=encoding) as handle:
        return Counter(row[column] for row in csv.DictReader(handle))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_freepbx_export_of_500_extensions(tmp_path: Path, encoding: str) -> None:
    path = _write_export(tmp_path, "freepbx", 500)
    # FreePBX writes UTF-8; the same export saved again by Excel or an editor is in another.
    path.write_text(path.read_text(encoding="utf-8"), encoding=encoding, newline="")
    techs = _tech_counts(path, "tech")
    proc, summary = validate(tmp_path, path.name, "--preset", "freepbx")
    assert proc.returncode == 1, proc.stderr
    non_sip = sum(n for tech, n in techs.items() if tech not in ("pjsip", "sip"))
    assert summary["outcomes"] == {"valid": 500 - non_sip - 2, "skipped": non_sip, "rejected": 2}
    assert summary["warnings"] == []  # both chanunavail_cid columns are ignored, silently
    lines = results(tmp_path)
    assert [line for line in lines if line[2] == "rejected"] == [
        ("6", "1004", "rejected",
         "audio_codecs: 'opus' is not a codec; use ulaw, alaw, g722, g726, g729, gsm"),
        ("11", "1009", "rejected",
         "host: dynamic with no secret, remotesecret or auth would let anyone register as this "
         "endpoint; add a secret"),
    ]  # fmt: skip
    skipped = Counter(line[3] for line in lines if line[2] == "skipped")
    assert skipped == {
        f"tech is '{tech}': not a SIP device": n
        for tech, n in techs.items()
        if tech not in ("pjsip", "sip")
    }


def test_freepbx_values_are_translated(tmp_path: Path) -> None:
    header = pbx.FREEPBX_HEADER
    path = tmp_path / "f.csv"
    _h, rows = pbx.freepbx_rows(3)
    rows[0][header.index("allow")] = "ulaw&alaw&g722"
    rows[0][header.index("dtmfmode")] = "rfc4733"
    rows[0][header.index("sendrpid")] = "pai"
    rows[0][header.index("transport")] = "0.0.0.0-tcp"
    rows[0][header.index("timers")] = "always"
    rows[0][header.index("timers_min_se")] = "120"
    rows[1][header.index("tech")] = "sip"
    rows[1][header.index("transport")] = "udp,tcp,tls"
    rows[1][header.index("nat")] = "force_rport,comedia"
    rows[1][header.index("dtmfmode")] = "rfc2833"
    pbx.write(path, header, rows)
    mapping = load_mapping(preset="freepbx")
    loaded = load_sheet(path, name_keys=mapping.name_keys, parameter_keys=mapping.parameter_keys)
    frame = normalize(loaded, mapping).frame
    first = frame.loc[2].dropna().to_dict()
    wanted = {
        "name": "1000",
        "audio_codecs": "ulaw,alaw,g722",
        "dtmfmode": "rfc2833",
        "sendrpid": "1",
        "transport": "TCP",
        "session-timers": "originate",
        "session-minse": "120",
    }
    assert {k: first[k] for k in wanted} == wanted
    second = frame.loc[3].dropna().to_dict()
    assert (second["transport"], second["nat"], second["dtmfmode"]) == (
        "UDP,TCP,TLS",
        "yes",
        "rfc2833",
    )
    assert "display" not in str(frame.columns)


def test_freepbx_2x_devinfo_export_of_500_extensions(tmp_path: Path) -> None:
    path = _write_export(tmp_path, "freepbx2", 500)
    techs = _tech_counts(path, "tech")
    proc, summary = validate(tmp_path, path.name, "--preset", "freepbx")
    assert proc.returncode == 1, proc.stderr
    non_sip = sum(n for tech, n in techs.items() if tech != "sip")
    # Row 5 (extension 203) is marked 'del' in the action column: skipped too.
    assert summary["outcomes"] == {
        "valid": 500 - non_sip - 2,
        "skipped": non_sip + 1,
        "rejected": 1,
    }
    assert summary["warnings"] == []
    lines = results(tmp_path)
    assert [line for line in lines if line[2] == "rejected"] == [
        ("8", "206", "rejected", "port: '5O60' is not a whole number")
    ]
    assert lines[3] == ("5", "203", "skipped", "action is 'del': the export marks it for deletion")


def test_switchvox_export_of_500_extensions(tmp_path: Path) -> None:
    path = _write_export(tmp_path, "switchvox", 500)
    virtual = _tech_counts(path, "extension_type")["virtual"]
    proc, summary = validate(tmp_path, path.name, "--preset", "switchvox")
    assert proc.returncode == 1, proc.stderr
    assert summary["outcomes"] == {"valid": 500 - virtual - 2, "skipped": virtual, "rejected": 2}
    assert summary["warnings"] == []
    assert [line for line in results(tmp_path) if line[2] == "rejected"] == [
        ("4", "102", "rejected", "name: '102' is also used on row 5"),
        ("5", "102", "rejected", "name: '102' is also used on row 4"),
    ]


def test_chunked_validate_skips_the_same_rows(tmp_path: Path) -> None:
    # A long sheet is read chunk by chunk (streamed by Arrow): skip rules, and duplicate names
    # that ignore skipped rows, must come out as in one piece.
    header, rows = pbx.freepbx_rows(60)
    rows[30][0] = rows[7][0]  # 1007 is virtual (skipped): its number again on a SIP row
    pbx.write(tmp_path / "f.csv", header, rows)
    whole = validate_file(tmp_path / "f.csv", preset="freepbx", report_dir=tmp_path / "a")
    parts = validate_file(
        tmp_path / "f.csv", preset="freepbx", report_dir=tmp_path / "b", chunk_rows=7
    )
    assert read_csv(tmp_path / "a" / "results.csv") == read_csv(tmp_path / "b" / "results.csv")
    assert whole.summary["outcomes"] == parts.summary["outcomes"]
    line = read_csv(tmp_path / "a" / "results.csv")[30]
    assert (line["name"], line["outcome"]) == ("1007", "valid")


def test_a_mapping_file_extends_a_preset(tmp_path: Path) -> None:
    path = _write_export(tmp_path, "freepbx", 30)
    (tmp_path / "more.toml").write_text(
        '[aliases]\ncontext = "ignore"\n[values.audio_codecs]\n"opus&ulaw" = "ulaw"\n'
        '[skip.tech]\nvalues = ["dahdi", "iax2", "custom", "virtual", "sip"]\n'
        'reason = "chan_sip phones move later"\n'
    )
    proc, _ = validate(tmp_path, path.name, "--preset", "freepbx", "--mapping", "more.toml")
    lines = results(tmp_path)
    # The opus row is translated; the open chan_sip phone is skipped with the new reason.
    assert proc.returncode == 0, (proc.stderr, [line for line in lines if line[2] == "rejected"])
    assert ("11", "1009", "skipped", "tech is 'sip': chan_sip phones move later") in lines
    assert ("6", "1004", "valid", "") in lines


# --- skipped rows in import and sync: exactly one outcome, never sent, never pruned -----------


def _run(tmp_path: Path, gateway: GatewayProcess, command: str, sheet: Path, name: str,
         *extra: str) -> tuple[int, list[dict[str, str]], dict[str, Any]]:  # fmt: skip
    report = tmp_path / "reports" / name
    proc = run_cli(
        command, str(sheet), "--gateway", gateway.url, "--report-dir", str(report),
        "--preset", "freepbx", "--journal", str(tmp_path / "journal.db"), *extra,
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr
    summary = json.loads((report / "summary.json").read_text())
    return proc.returncode, read_csv(report / "results.csv"), summary


def test_import_and_sync_skip_non_sip_rows(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    path = _write_export(tmp_path, "freepbx", 30)
    techs = _tech_counts(path, "tech")
    non_sip = sum(n for tech, n in techs.items() if tech not in ("pjsip", "sip"))
    sip = 30 - non_sip

    code, lines, summary = _run(tmp_path, gateway, "import", path, "import")
    assert code == 1
    assert summary["outcomes"] == {"created": sip - 2, "rejected": 2, "skipped": non_sip}
    assert [line["row"] for line in lines] == [str(r) for r in range(2, 32)]
    stored = gateway.endpoints()
    assert len(stored) == sip - 2
    skipped_names = {line["name"] for line in lines if line["outcome"] == "skipped"}
    assert not skipped_names & set(stored)
    first = stored["1000"]
    with path.open(newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert first["secret"] == row["secret"]
    assert first["dtmfmode"] == {"rfc4733": "rfc2833"}.get(row["dtmfmode"], row["dtmfmode"])

    # A skipped extension that exists on the gateway is not the sheet's to prune.
    gateway.call("sip_endpoint.save", {"name": sorted(skipped_names)[0]})
    fixed = tmp_path / "fixed.csv"
    header, rows = pbx.freepbx_rows(30)
    rows = [r for r in rows if r[0] not in ("1004", "1009")]
    pbx.write(fixed, header, rows)
    code, lines, summary = _run(tmp_path, gateway, "sync", fixed, "sync", "--prune",
                                "--max-prune", "100%")  # fmt: skip
    assert code == 0, summary
    assert summary["outcomes"] == {"unchanged": sip - 2, "skipped": non_sip}
    assert summary["prune"]["deleted"] == []
    assert sorted(skipped_names)[0] in gateway.endpoints()


def test_presets_ship_as_package_data() -> None:
    # A wheel holds only the files pyproject.toml names: the presets must be among them.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["setuptools"]["package-data"]["importer.sheets.presets"] == ["*.toml"]
    assert sorted(p.name for p in (ROOT / "importer" / "sheets" / "presets").glob("*.toml")) == [
        "freepbx.toml",
        "switchvox.toml",
    ]
