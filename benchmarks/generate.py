"""Fixed-seed generator of realistic endpoint sheets, about 5% of rows bad, as CSV or XLSX.

Rows are a mix of IP-authenticated carrier trunks (IPv4, IPv6 or host name, no secret), trunks
that register out (host name, user, secret) and dynamic phones (``host=dynamic``, user, secret,
extension). A bad row carries exactly one mistake, chosen so that both ``sip-import`` and
frictionless-py with ``benchmarks/frictionless_schema.json`` can see it (out-of-range numbers,
words outside an enum, characters a name or user may not hold, broken addresses, an empty name,
an ID in scientific notation, and two cross-field rules: ``host=dynamic`` without a secret and a
``codec_order`` naming a disabled codec). The generator knows which rows it broke: that set is
written next to the sheet (``.bad`` file) and the benchmark checks both tools against it.

The 20-column variants (``variant="wide"`` or ``"plain"``, issue 19) add five real
``sip_endpoint.save`` parameters a carrier sheet has (``fromuser``, ``fromdomain``,
``progressinband``, ``session-timers``, ``max_forwards``) and five more mistakes, one per new
column. "plain" sheets carry only the mistakes a plain Table Schema sees in one cell
(``PLAIN_KINDS``: no cross-field ones), so frictionless-py needs no Python row checks for them.

Files are cached under ``benchmarks/data/`` (gitignored), keyed by format, row count, seed, bad
share and ``VERSION``; they are written row by row (1M rows need no memory) to a temporary name and
renamed, so an interrupted run never leaves a half file in the cache.

    .venv/bin/python -m benchmarks.generate --rows 100000 --format csv xlsx
    .venv/bin/python -m benchmarks.generate --rows 300000 --variant plain --bad-share 0.01
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import string
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COLUMNS",
    "DATA_DIR",
    "PLAIN_KINDS",
    "WIDE_COLUMNS",
    "Sheet",
    "generate_rows",
    "sheet",
]

#: Bump when the rows change, so cached files are rebuilt.
VERSION = 1
#: The same for the 20-column sheets (their own version: bumping it leaves the others cached).
WIDE_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"
COLUMNS = (
    "name", "host", "defaultuser", "secret", "registration", "transport", "nat", "port",
    "qualify", "qualifyfreq", "dtmfmode", "audio_codecs", "codec_order", "session-expires",
    "extension",
)  # fmt: skip
#: The 20-column variant: five more real ``sip_endpoint.save`` parameters a carrier sheet has.
WIDE_COLUMNS = (
    *COLUMNS,
    "fromuser",
    "fromdomain",
    "progressinband",
    "session-timers",
    "max_forwards",
)
_COL = {name: i for i, name in enumerate(WIDE_COLUMNS)}

_TRANSPORTS = ("UDP", "UDP", "UDP", "TCP", "UDP,TCP", "TLS", "TLS,UDP")
_NATS = ("no", "yes", "yes", "force_rport", "comedia")
_DTMF = ("auto", "rfc2833", "rfc2833", "info", "inband")
_QUALIFY = ("0", "1", "1", "yes", "no")
_CODEC_SETS = (
    ("ulaw", "alaw"),
    ("ulaw", "alaw", "g729"),
    ("alaw", "g729"),
    ("ulaw", "alaw", "g722"),
    ("g722", "ulaw"),
    ("ulaw", "alaw", "g722", "g726", "g729", "gsm"),
)
_CARRIERS = ("voxbone", "telnyx", "bandwidth", "colt", "sipgate", "orange-biz", "bt-wholesale")
_ALL_CODECS = ("ulaw", "alaw", "g722", "g726", "g729", "gsm")
_SECRET_CHARS = string.ascii_letters + string.digits + "!#%*_.~"
_NAME_BREAKERS = (" ", "/", "#", "@", ":", "é")

#: Kinds of mistakes a bad row carries (one each), with how often each is picked.
BAD_KINDS = (
    "port-out-of-range",
    "transport-not-allowed",
    "nat-not-allowed",
    "dtmfmode-not-allowed",
    "name-bad-character",
    "host-bad-address",
    "qualifyfreq-out-of-range",
    "session-expires-too-low",
    "name-missing",
    "defaultuser-has-space",
    "extension-scientific",
    "open-registration",
    "codec-not-enabled",
)
#: Mistakes in the five extra columns of the 20-column sheets.
WIDE_BAD_KINDS = (
    "max-forwards-out-of-range",
    "progressinband-not-allowed",
    "session-timers-not-allowed",
    "fromuser-has-space",
    "fromdomain-bad-address",
)
#: The two mistakes only a rule across fields sees (section 4 of SPEC.md).
_CROSS_FIELD = ("open-registration", "codec-not-enabled")
#: Mistakes a plain Table Schema sees in one cell (types, enums, ranges, patterns, a required
#: name): the 20-column sheets of the plain comparison break rows with these only.
PLAIN_KINDS = tuple(k for k in BAD_KINDS if k not in _CROSS_FIELD) + WIDE_BAD_KINDS


def _good_row(i: int, rng: random.Random) -> list[str]:
    roll = rng.random()
    kind = "ip" if roll < 0.35 else "reg" if roll < 0.6 else "phone"
    carrier = _CARRIERS[i % len(_CARRIERS)]
    codecs = _CODEC_SETS[rng.randrange(len(_CODEC_SETS))]
    enabled = list(codecs)
    rng.shuffle(enabled)
    order = ",".join(enabled[: rng.randint(1, len(enabled))]) if rng.random() < 0.7 else ""
    if kind == "ip":
        name = f"{carrier}-trunk-{i:07d}"
        pick = rng.random()
        if pick < 0.7:
            host = f"{rng.choice(('203.0.113', '198.51.100', '192.0.2'))}.{rng.randint(1, 254)}"
        elif pick < 0.85:
            host = f"2001:db8:{rng.randint(0, 0xFFFF):x}::{rng.randint(1, 0xFFFF):x}"
        else:
            host = f"sip{rng.randint(1, 9)}.{carrier}.example.net"
        user = secret = extension = ""
        registration = "none"
        port = rng.choice(("5060", "5060", "5061", "5080"))
    elif kind == "reg":
        name = f"{carrier}.reg+{i:07d}"
        host = f"reg{rng.randint(1, 4)}.{carrier}.example.com"
        user = f"{rng.randint(0, 99_999_999):08d}"  # leading zeros: must stay text
        secret = "".join(rng.choices(_SECRET_CHARS, k=rng.randint(12, 24)))
        registration, extension = "out", ""
        port = rng.choice(("5060", "5061"))
    else:
        name = f"ext_{i:07d}"
        host = "dynamic"
        user = f"{1000 + i % 9000}{rng.choice(('', 'a', 'b'))}"
        secret = "".join(rng.choices(_SECRET_CHARS, k=rng.randint(10, 20)))
        registration, port, extension = "in", "", str(1000 + i % 9000)
    return [
        name,
        host,
        user,
        secret,
        registration,
        _TRANSPORTS[rng.randrange(len(_TRANSPORTS))],
        _NATS[rng.randrange(len(_NATS))],
        port,
        _QUALIFY[rng.randrange(len(_QUALIFY))],
        str(rng.randint(10, 300)) if rng.random() < 0.8 else "",
        _DTMF[rng.randrange(len(_DTMF))],
        ",".join(codecs),
        order,
        rng.choice(("1800", "3600", "900", "")),
        extension,
    ]


def _wide_cells(row: list[str], rng: random.Random) -> list[str]:
    """The five extra cells of a 20-column row, fitting the row's kind (trunk or phone)."""
    trunk = row[_COL["host"]] != "dynamic"
    carrier = row[_COL["name"]].split("-", 1)[0].split(".", 1)[0]
    fromuser = f"{rng.randint(10**9, 10**10 - 1)}" if trunk and rng.random() < 0.6 else ""
    fromdomain = f"sip.{carrier}.example.com" if trunk and rng.random() < 0.5 else ""
    return [
        fromuser,
        fromdomain,
        rng.choice(("yes", "no", "never", "never", "")),
        rng.choice(("originate", "accept", "accept", "refuse", "")),
        str(rng.randint(1, 70)) if rng.random() < 0.6 else "",
    ]


def _break(row: list[str], kind: str, rng: random.Random) -> None:
    c = _COL
    if kind == "max-forwards-out-of-range":
        row[c["max_forwards"]] = rng.choice(("0", "256", "300"))
    elif kind == "progressinband-not-allowed":
        row[c["progressinband"]] = rng.choice(("always", "maybe", "ringing"))
    elif kind == "session-timers-not-allowed":
        row[c["session-timers"]] = rng.choice(("refresh", "on", "uac"))
    elif kind == "fromuser-has-space":
        row[c["fromuser"]] = "main line"
    elif kind == "fromdomain-bad-address":
        row[c["fromdomain"]] = rng.choice(("sip_gw.example.com", "carrier..example.net", "10.0.0"))
    elif kind == "port-out-of-range":
        row[c["port"]] = rng.choice(("70000", "0", "65536"))
    elif kind == "transport-not-allowed":
        row[c["transport"]] = rng.choice(("SCTP", "UDP,SCTP", "WS"))
    elif kind == "nat-not-allowed":
        row[c["nat"]] = rng.choice(("maybe", "route", "auto"))
    elif kind == "dtmfmode-not-allowed":
        row[c["dtmfmode"]] = rng.choice(("tone", "sipinfo", "rfc4733"))
    elif kind == "name-bad-character":
        name = row[c["name"]]
        at = rng.randint(1, len(name) - 1)
        row[c["name"]] = name[:at] + rng.choice(_NAME_BREAKERS) + name[at:]
    elif kind == "host-bad-address":
        row[c["host"]] = rng.choice(
            ("203.0.113.256", "10.0.0", "sip_gw.example.com", "carrier..example.net")
        )
    elif kind == "qualifyfreq-out-of-range":
        row[c["qualifyfreq"]] = rng.choice(("0", "90000"))
    elif kind == "session-expires-too-low":
        row[c["session-expires"]] = rng.choice(("60", "30"))
    elif kind == "name-missing":
        row[c["name"]] = ""
    elif kind == "defaultuser-has-space":
        row[c["defaultuser"]] = "john smith"
    elif kind == "extension-scientific":
        row[c["extension"]] = rng.choice(("8.00556E+09", "4.4207946E+11"))
    elif kind == "open-registration":
        row[c["host"]], row[c["secret"]] = "dynamic", ""
    elif kind == "codec-not-enabled":
        enabled = [x for x in row[c["audio_codecs"]].split(",") if x != "gsm"]  # never all six
        off = [codec for codec in _ALL_CODECS if codec not in enabled]
        row[c["audio_codecs"]] = ",".join(enabled)
        row[c["codec_order"]] = f"{enabled[0]},{rng.choice(off)}"
    else:  # pragma: no cover
        raise ValueError(kind)


def generate_rows(
    count: int, seed: int = 1, bad_share: float = 0.05, variant: str = ""
) -> Iterator[tuple[int, list[str], str | None]]:
    """Yield (spreadsheet row number, cells, bad kind or None).

    ``variant`` "" is the 15-column sheet (``COLUMNS``, ``BAD_KINDS``); "wide" the 20-column one
    (``WIDE_COLUMNS``) with every kind of mistake; "plain" the 20-column one with the mistakes of
    ``PLAIN_KINDS`` only."""
    kinds = {"": BAD_KINDS, "wide": BAD_KINDS + WIDE_BAD_KINDS, "plain": PLAIN_KINDS}[variant]
    rng = random.Random(seed)
    for i in range(count):
        row = _good_row(i, rng)
        if variant:
            row += _wide_cells(row, rng)
        kind = None
        if rng.random() < bad_share:
            kind = kinds[rng.randrange(len(kinds))]
            _break(row, kind, rng)
        yield i + 2, row, kind


@dataclass(frozen=True)
class Sheet:
    path: Path
    rows: int
    #: Spreadsheet row numbers (header = 1) of the rows the generator broke.
    bad_rows: frozenset[int]
    seconds_to_build: float  # 0.0 when it came from the cache


def _xlsx_cell(text: str) -> str | int:
    # Realistic workbooks: people type numbers into number cells (ports, timers, extensions);
    # IDs with leading zeros stay text, as the template formats them.
    if text.isdigit() and (text == "0" or text[0] != "0") and len(text) < 10:
        return int(text)
    return text


def _write(
    path: Path, fmt: str, count: int, seed: int, bad_share: float, variant: str
) -> list[int]:
    bad: list[int] = []
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    columns = WIDE_COLUMNS if variant else COLUMNS
    if fmt == "csv":
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for number, row, kind in generate_rows(count, seed, bad_share, variant):
                writer.writerow(row)
                if kind:
                    bad.append(number)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        ws = book.create_sheet("endpoints")
        ws.append(list(columns))
        for number, row, kind in generate_rows(count, seed, bad_share, variant):
            ws.append([_xlsx_cell(v) if v else None for v in row])
            if kind:
                bad.append(number)
        book.save(tmp)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    tmp.replace(path)
    return bad


def sheet(
    count: int, fmt: str = "csv", seed: int = 1, bad_share: float = 0.05, variant: str = ""
) -> Sheet:
    """The cached sheet for these parameters, built first if needed (``variant``: see
    ``generate_rows``)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    kind = f"endpoints20-{variant}-v{WIDE_VERSION}" if variant else f"endpoints-v{VERSION}"
    stem = f"{kind}-{count}rows-seed{seed}-bad{round(bad_share * 1000)}pm"
    path = DATA_DIR / f"{stem}.{fmt}"
    truth = DATA_DIR / f"{stem}.{fmt}.bad"
    if path.exists() and truth.exists():
        text = truth.read_text()
        bad = frozenset(int(x) for x in text.split())
        return Sheet(path, count, bad, 0.0)
    started = time.perf_counter()
    bad_list = _write(path, fmt, count, seed, bad_share, variant)
    truth.write_text("\n".join(map(str, bad_list)) + "\n")
    return Sheet(path, count, frozenset(bad_list), time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build (or find cached) benchmark sheets.")
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--format", nargs="+", default=["csv"], choices=["csv", "xlsx"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-share", type=float, default=0.05)
    parser.add_argument(
        "--variant",
        choices=["", "wide", "plain"],
        default="",
        help="'' 15 columns; 'wide' 20 columns, every mistake; 'plain' 20 columns, per-cell ones",
    )
    args = parser.parse_args(argv)
    for rows in args.rows:
        for fmt in args.format:
            built = sheet(rows, fmt, args.seed, args.bad_share, args.variant)
            how = f"built in {built.seconds_to_build:.1f}s" if built.seconds_to_build else "cached"
            print(f"{built.path} ({len(built.bad_rows)} bad rows, {how})", file=sys.stderr)


if __name__ == "__main__":
    main()
