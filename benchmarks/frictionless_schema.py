"""The Table Schema that makes frictionless-py check what ``sip-import validate`` checks.

SPEC.md section 3, for the columns the benchmark sheet has (``benchmarks.generate.COLUMNS``), as
Table Schema types and constraints: ``enum`` for the word lists, ``minimum``/``maximum`` for the
numbers, ``pattern`` for names, users, secrets, addresses and comma lists, ``required`` and
``unique`` for ``name``. Section 4's cross-field rules cannot be said in a Table Schema; the two
that apply to these columns (``host=dynamic`` needs a secret; ``codec_order`` may only name
enabled codecs) are frictionless ``row-constraint`` checks in ``CHECKS``.

Patterns follow frictionless-py, which compiles ``^<pattern>$`` with Python's ``re``: lookahead and
back-references are available (a Table Schema consumer using XML Schema regexes would need other
patterns). Limits of the equivalence, none of which the generated sheets exercise: frictionless
does not strip cells or fold the case of enum words (sip-import does both), ``unique`` is
case-sensitive and flags only the later rows of a duplicate (sip-import flags every row of a name,
case-insensitively), and Python's ``$`` also matches before a final newline.

``frictionless_plain_schema.json`` is the same for the 20-column sheets
(``benchmarks.generate.WIDE_COLUMNS``): what a user would write for such a sheet (types, enums,
ranges, patterns, a required and unique name), with no Python row checks. The whole-process
comparison (issue 19) runs frictionless-py with it alone on sheets whose mistakes all sit in one
cell, and with it plus ``CHECKS`` on sheets that also break the two cross-field rules.

``DRIVER`` is the program that comparison runs with ``python -c``: it validates one sheet and
prints the rejected row numbers.

    .venv/bin/python -m benchmarks.frictionless_schema   # rewrites both .json files
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CHECKS", "DRIVER", "PLAIN_SCHEMA_PATH", "SCHEMA_PATH", "descriptor", "load"]

SCHEMA_PATH = Path(__file__).resolve().parent / "frictionless_schema.json"
PLAIN_SCHEMA_PATH = Path(__file__).resolve().parent / "frictionless_plain_schema.json"

_CODECS = ("ulaw", "alaw", "g722", "g726", "g729", "gsm")
# An ID cell that Excel turned into scientific notation (8.00556E+09): rejected in ID columns.
_SCIENTIFIC = r"[+-]?[0-9](?:\.[0-9]+)?[eE][+-]?[0-9]+"
_NOT_SCIENTIFIC = rf"(?!{_SCIENTIFIC}$)"
_CONTROL = r"\x00-\x1f\x7f"
# sip-import's "whitespace" for tokens: ASCII controls and space plus Unicode spaces.
_CONTROL_OR_SPACE = r"\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H = r"[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    (
        rf"(?:{_H}:){{7}}{_H}",
        rf"(?:{_H}:){{1,7}}:",
        rf"(?:{_H}:){{1,6}}:{_H}",
        rf"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
        rf"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
        rf"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
        rf"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
        rf"{_H}:(?::{_H}){{1,6}}",
        rf":(?:(?::{_H}){{1,7}}|:)",
        rf"(?:{_H}:){{6}}{_IPV4}",
        rf"::(?:[Ff]{{4}}(?::0{{1,4}})?:)?{_IPV4}",
        rf"(?:{_H}:){{1,4}}:{_IPV4}",
    )
)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# RFC 1123 host name of at most 254 characters; all-digit dotted names are broken IPv4 addresses.
_HOSTNAME = rf"(?=.{{1,254}}$)(?![0-9.]+$){_LABEL}(?:\.{_LABEL})*\.?"


def _words_list(words: tuple[str, ...], *, allow_none: bool = False) -> str:
    """A comma list of ``words``, each at most once."""
    alt = "|".join(words)
    listed = rf"(?!.*\b({alt})\b.*\b\1\b)(?:{alt})(?:,(?:{alt}))*"
    return rf"(?:none|{listed})" if allow_none else listed


def _flag(name: str) -> dict[str, Any]:
    true = ["1", "yes", "true", "y", "on"]
    false = ["0", "no", "false", "n", "off"]
    return {
        "name": name,
        "type": "boolean",
        "trueValues": [
            v for word in true for v in dict.fromkeys((word, word.title(), word.upper()))
        ],
        "falseValues": [
            v for word in false for v in dict.fromkeys((word, word.title(), word.upper()))
        ],
    }


def _text(name: str, pattern: str, **constraints: Any) -> dict[str, Any]:
    return {"name": name, "type": "string", "constraints": {**constraints, "pattern": pattern}}


def _integer(name: str, minimum: int, maximum: int | None = None) -> dict[str, Any]:
    constraints: dict[str, Any] = {"minimum": minimum}
    if maximum is not None:
        constraints["maximum"] = maximum
    return {"name": name, "type": "integer", "constraints": constraints}


def _enum(name: str, *values: str) -> dict[str, Any]:
    return {"name": name, "type": "string", "constraints": {"enum": list(values)}}


def _fields() -> list[dict[str, Any]]:
    """Every field the benchmark sheets have, in ``benchmarks.generate.WIDE_COLUMNS`` order."""
    address = rf"(?:{_IPV4}|{_IPV6}|{_HOSTNAME})"
    return [
        _text(
            "name",
            rf"{_NOT_SCIENTIFIC}[A-Za-z0-9._+\-]{{1,80}}",
            required=True,
            unique=True,
        ),
        _text("host", rf"(?:dynamic|{_IPV4}|{_IPV6}|{_HOSTNAME})"),
        _text("defaultuser", rf"{_NOT_SCIENTIFIC}[^{_CONTROL_OR_SPACE}]{{1,80}}"),
        _text("secret", rf"[^{_CONTROL}]{{1,80}}"),
        _enum("registration", "in", "out", "none"),
        _text("transport", _words_list(("UDP", "TCP", "TLS"))),
        _enum("nat", "no", "yes", "force_rport", "comedia"),
        _integer("port", 1, 65535),
        _flag("qualify"),
        _integer("qualifyfreq", 1, 86400),
        _enum("dtmfmode", "auto", "info", "rfc2833", "inband"),
        _text("audio_codecs", _words_list(_CODECS, allow_none=True)),
        _text("codec_order", _words_list(_CODECS)),
        # >= 90 and >= session-minse; the sheet has no session-minse, whose default is 90.
        _integer("session-expires", 90),
        _text("extension", rf"{_NOT_SCIENTIFIC}[^{_CONTROL}]*"),
        _text("fromuser", rf"{_NOT_SCIENTIFIC}[^{_CONTROL_OR_SPACE}]{{1,80}}"),
        _text("fromdomain", address),
        _enum("progressinband", "yes", "no", "never"),
        _enum("session-timers", "originate", "accept", "refuse"),
        _integer("max_forwards", 1, 255),
    ]


def descriptor(wide: bool = False) -> dict[str, Any]:
    """The Table Schema for the 15-column sheets, or the 20-column ones if ``wide``."""
    fields = _fields()
    return {"fields": fields if wide else fields[:15], "missingValues": [""]}


#: Section 4 rules as frictionless row-constraint formulas (simpleeval, one row at a time).
CHECKS: list[dict[str, str]] = [
    {"type": "row-constraint", "formula": "host != 'dynamic' or secret is not None"},
    {
        "type": "row-constraint",
        "formula": (
            "codec_order is None or not [c for c in codec_order.split(',') "
            f"if c not in (audio_codecs or '{','.join(_CODECS)}').split(',')]"
        ),
    },
]


#: ``python -c DRIVER SHEET SCHEMA [CHECKS]``: frictionless-py validates SHEET with the schema
#: file (and the row-constraint checks, a JSON list) and prints each rejected row number on a line;
#: errors not tied to a row go to stderr and make it exit 3.
DRIVER = """
import json, sys
from pathlib import Path
from frictionless import Checklist, Resource, Schema
sheet = Path(sys.argv[1])
schema = Schema.from_descriptor(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
checks = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
resource = Resource(path=sheet.name, basepath=str(sheet.parent), schema=schema)
report = resource.validate(Checklist.from_descriptor({"checks": checks}), limit_errors=10**9)
rows, other = set(), []
for number, kind, note in report.flatten(["rowNumber", "type", "note"]):
    if number is None:
        other.append(f"{kind}: {note}")
    else:
        rows.add(number)
sys.stdout.write("".join(f"{n}\\n" for n in sorted(rows)))
if other:
    sys.exit("frictionless: " + "; ".join(other[:5]))
"""


def load(wide: bool = False) -> dict[str, Any]:
    """The schema as stored in its .json file (rewritten if it is stale)."""
    wanted = descriptor(wide)
    path = PLAIN_SCHEMA_PATH if wide else SCHEMA_PATH
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    if stored != wanted:
        write()
    return wanted


def write() -> list[Path]:
    for path, wide in ((SCHEMA_PATH, False), (PLAIN_SCHEMA_PATH, True)):
        path.write_text(json.dumps(descriptor(wide), indent=2) + "\n", encoding="utf-8")
    return [SCHEMA_PATH, PLAIN_SCHEMA_PATH]


if __name__ == "__main__":
    print(*write(), sep="\n")
