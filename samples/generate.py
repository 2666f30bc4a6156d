"""Regenerate the sample sheets: ``python samples/generate.py`` (deterministic).

carrier_onboarding.xlsx        about 50 clean rows, as a carrier onboarding team would fill them
carrier_onboarding_messy.csv   an Excel export full of the mistakes real sheets have
carrier_title_block.xlsx       a carrier's sheet with a title, a version line and a blank row
                               above the header
freepbx_export.csv             a FreePBX Bulk Handler extension export (--preset freepbx)
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).parent

CLEAN_HEADERS = [
    "name", "host", "defaultuser", "secret", "registration", "transport", "nat", "port",
    "fromuser", "fromdomain", "qualify", "qualifyfreq", "dtmfmode", "insecure",
    "audio_codecs", "codec_order", "session-timers", "session-expires", "extension",
    "t38pt_udptl", "callingpres",
]  # fmt: skip
TEXT_COLUMNS = {"name", "defaultuser", "fromuser", "extension", "secret"}


def _secret(rng: random.Random) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(16))


def clean_rows() -> list[dict[str, str]]:
    rng = random.Random(20261126)
    rows: list[dict[str, str]] = []
    carriers = ["acme", "globex", "initech", "umbrella", "hooli", "vandelay"]
    # IP-authenticated carrier trunks: the carrier sends calls from known addresses.
    for i in range(16):
        carrier = carriers[i % len(carriers)]
        rows.append({
            "name": f"{carrier}-ipt-{i + 1:02d}",
            "host": f"203.0.113.{10 + i}" if i % 2 == 0 else f"sbc{i}.{carrier}-voice.example.net",
            "registration": "none", "transport": "UDP", "nat": "no", "port": "5060",
            "fromdomain": f"{carrier}-voice.example.net", "qualify": "1", "qualifyfreq": "30",
            "dtmfmode": "rfc2833", "insecure": "1",
            "audio_codecs": rng.choice(["ulaw,alaw", "ulaw,alaw,g729", "alaw,g722,g729"]),
            "session-timers": "accept", "session-expires": "1800", "t38pt_udptl": "yes,redundancy",
        })
        enabled = rows[-1]["audio_codecs"].split(",")
        rows[-1]["codec_order"] = ",".join(reversed(enabled))
    # Trunks that register out to the carrier with an account number (leading zeros matter).
    for i in range(14):
        carrier = carriers[(i + 2) % len(carriers)]
        account = f"00{rng.randrange(10**7, 10**8)}"
        rows.append({
            "name": f"{carrier}-reg-{i + 1:02d}",
            "host": f"sip.{carrier}-voice.example.net",
            "defaultuser": account, "secret": _secret(rng), "registration": "out",
            "transport": rng.choice(["UDP", "TCP", "TLS", "UDP,TCP"]), "nat": "yes",
            "port": "5061" if i % 5 == 0 else "5060", "fromuser": account,
            "fromdomain": f"{carrier}-voice.example.net", "qualify": "1", "qualifyfreq": "60",
            "dtmfmode": "auto", "audio_codecs": "ulaw,alaw", "codec_order": "ulaw,alaw",
            "session-timers": "originate", "session-expires": "3600",
        })
    # Phones and softphones that register to the gateway from anywhere.
    for i in range(20):
        ext = str(1001 + i)
        rows.append({
            "name": f"ext-{ext}", "host": "dynamic", "defaultuser": ext, "secret": _secret(rng),
            "registration": "in", "transport": "UDP" if i % 3 else "TLS,UDP",
            "nat": "force_rport", "qualify": "1", "qualifyfreq": "60", "dtmfmode": "rfc2833",
            "audio_codecs": "ulaw,alaw,g722", "codec_order": "g722,ulaw,alaw",
            "extension": ext, "callingpres": "allowed_not_screened",
        })
    return rows


def write_clean(path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "endpoints"
    sheet.append(CLEAN_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in clean_rows():
        sheet.append([row.get(h) or None for h in CLEAN_HEADERS])
    for column, header in enumerate(CLEAN_HEADERS, start=1):
        if header in TEXT_COLUMNS:
            for (cell,) in sheet.iter_rows(min_col=column, max_col=column, min_row=2):
                cell.number_format = "@"
    # A numeric port as Excel stores it: a number cell, read back as '5060' without '.0'.
    for (cell,) in sheet.iter_rows(min_col=CLEAN_HEADERS.index("port") + 1,
                                   max_col=CLEAN_HEADERS.index("port") + 1, min_row=2):
        if cell.value:
            cell.value = int(cell.value)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("notes")
    notes.append(["This workbook's endpoints sheet is what sip-import reads."])
    workbook.save(path)


MESSY_HEADERS = [
    "Name", "Host", "Default User", "SECRET", "Registration", "Transport", "NAT", "Port",
    "Qualify", "DTMF Mode", "Session Timers", "Session_MinSE", "SESSION-EXPIRES", "Timer T1",
    "TimerB", "Audio Codecs", "Codec Order", "Max-Forwards", "Notes",
]  # fmt: skip


def messy_rows() -> list[list[str]]:
    def row(**kw: str) -> list[str]:
        keys = {
            "name": "Name", "host": "Host", "user": "Default User", "secret": "SECRET",
            "reg": "Registration", "transport": "Transport", "nat": "NAT", "port": "Port",
            "qualify": "Qualify", "dtmf": "DTMF Mode", "st": "Session Timers",
            "minse": "Session_MinSE", "expires": "SESSION-EXPIRES", "t1": "Timer T1",
            "timerb": "TimerB", "codecs": "Audio Codecs", "order": "Codec Order",
            "maxfwd": "Max-Forwards", "notes": "Notes",
        }  # fmt: skip
        values = {keys[k]: v for k, v in kw.items()}
        return [values.get(h, "") for h in MESSY_HEADERS]

    return [
        # Fine rows, written the way people type them.
        row(name="Carrier-A-01", host="203.0.113.5", reg="None", transport="udp", nat="No",
            port="5060", qualify="TRUE", dtmf="RFC2833", st="Accept", codecs="ULAW, ALAW",
            order="alaw,ulaw", notes="primary"),
        row(name="carrier-b-reg", host="sip.carrier-b.example.com", user="0012345678",
            secret="s3cr3t-Pa55", reg="OUT", transport="udp, tcp", nat="yes", port="5060",
            qualify="yes", dtmf="auto", st="originate", minse="90", expires="1800"),
        row(name="ext-2001", host="DYNAMIC", user="2001", secret="phone-2001-pw", reg="in",
            nat="force_rport", qualify="FALSE", dtmf="inband", codecs="g722,ulaw"),
        [""] * len(MESSY_HEADERS),  # a blank row in the middle: skipped, not the end of data
        # Mistakes, one kind a row.
        row(name="carrier c trunk", host="203.0.113.6", notes="space in the name"),
        row(name="carrier-d", host="203.0.113.7", port="70000", notes="port out of range"),
        row(name="carrier-e", host="203.0.113.8", transport="SCTP", notes="no such transport"),
        row(name="8.00556E+09", host="dynamic", user="8005561234", secret="pw-8005561234",
            notes="Excel turned the name into a number"),
        row(name="ext-2002", host="dynamic", reg="in", notes="phone with no secret"),
        row(name="carrier-f", host="203.0.113.9", st="accept", minse="1800", expires="900",
            notes="session-expires below session-minse"),
        row(name="carrier-g", host="203.0.113.10", codecs="ulaw,alaw", order="g729,ulaw",
            notes="codec order names a disabled codec"),
        row(name="ext-2001", host="dynamic", user="2001b", secret="other-pw",
            notes="same name as row 4"),
        row(name="carrier-h", host="203.0.113.11", qualify="maybe", dtmf="touchtone"),
        row(name="carrier-i", host="300.1.2.3", maxfwd="0"),
        row(name="carrier-j-reg", host="sip.carrier-j.example.com", reg="out",
            secret="j-secret-99", notes="registers out without a user (warning only)"),
        row(name="carrier-k", host="203.0.113.12", t1="1000", timerb="32000",
            notes="timerb below 64 x T1 (warning only)"),
        row(name="carrier-l", host="203.0.113.13", secret="********",
            notes="masked secret: keep the gateway's (warning only)"),
        row(name="=HYPERLINK(\"http://evil.example\",\"click\")", host="203.0.113.14",
            notes="a formula where a name should be"),
        row(name="carrier-m", host="203.0.113.15", notes="+15551234 is fine as a note"),
    ]


def write_messy(path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(MESSY_HEADERS)
    rows = messy_rows()
    for values in rows:
        writer.writerow(values)
    # A row with more cells than the header: someone typed into the column after Notes.
    stray = ["carrier-n", "203.0.113.16"] + [""] * (len(MESSY_HEADERS) - 3)
    writer.writerow([*stray, "typed past the last column", "stray cell"])
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


def write_title_block(path: Path) -> None:
    """A carrier's own sheet: a title block above the header, spreadsheet-style headers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "SIP trunks"
    sheet.append(["Globex Telecom: SIP trunk provisioning sheet"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["Version 4.2", "Issued 2026-11-02", "Contact: noc@globex.example.net"])
    sheet.append([])
    sheet.append(["Name", "Host", "Port", "Transport", "DTMF Mode", "Audio Codecs"])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    rng = random.Random(42)
    for i in range(12):
        sheet.append(
            [
                f"globex-sip-{i + 1:02d}",
                f"198.51.100.{20 + i}",
                rng.choice([5060, 5060, 5061]),
                rng.choice(["UDP", "UDP,TCP", "TLS"]),
                "RFC2833",
                rng.choice(["ulaw,alaw", "ulaw,alaw,g729"]),
            ]
        )
    # Two mistakes a carrier makes: a port typed with a letter, a codec list with '/'.
    sheet["C9"] = "5O60"
    sheet["F12"] = "ulaw/g729"
    book.save(path)


def write_freepbx(path: Path) -> None:
    from pbx_exports import freepbx_rows, write  # beside this file

    write(path, *freepbx_rows(40))


if __name__ == "__main__":
    write_clean(HERE / "carrier_onboarding.xlsx")
    write_messy(HERE / "carrier_onboarding_messy.csv")
    write_title_block(HERE / "carrier_title_block.xlsx")
    write_freepbx(HERE / "freepbx_export.csv")
    print("wrote the samples in", HERE)
