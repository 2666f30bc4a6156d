"""The fast path held to the rules: the vectorized checks big sheets take must say, row by row,
exactly what the per-value checks (``Domain.problem``, the ones the gateway shares, and
``Rule.fails``) say. Sheets here carry every kind of bad value of every parameter."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandera.pandas as pandera
import pytest
from helpers import read_csv, write_csv

from importer.pipeline import validate_file
from importer.sheets.load import load_sheet
from importer.sheets.normalize import NormalizedSheet, normalize
from importer.validate import (
    ONE_BY_ONE_ROWS,
    Problem,
    _check_columns,
    _failures,
    check_one_by_one,
    check_rows,
)
from schemas import PARAMETERS
from schemas.domains import (
    MASK,
    Address,
    Choice,
    CodecOrder,
    CodecSet,
    Flag,
    Integer,
    Milliseconds,
    Name,
    Text,
    Token,
    Transport,
)
from schemas.sheet import domain_schema
from schemas.text import column_letter

# Cells any column may get: blanks, whitespace of every kind, controls, quotes, formulas,
# Excel's scientific notation, very long text, non-ASCII.
_ANY = (
    "", " ", "\u00a0", "x\u2028y", "a\tb", "a\x01b", "a\x7fb", "'=1+1", "=SUM(A1)", "'@x", "-",
    "8.00556E+09", "1e3", "NaN", "None", "null", "é", "日本", "é\x01", "日\x7f", "x" * 81, "x" * 600, "0", "-0",
    "+1", "01", "1.0", "1.5", " 7 ", "******", MASK,
)  # fmt: skip


def _values(field: str) -> list[str]:
    """Good, borderline and bad texts for ``field``, as a person might type them."""
    domain = PARAMETERS[field].domain
    out: list[str] = list(_ANY)
    if isinstance(domain, Choice):
        for v in domain.values:
            out += [v, v.upper(), v.title(), f" {v} ", v + "x", v.replace("_", " ")]
    elif isinstance(domain, Flag):
        out += ["1", "0", "yes", "No", "TRUE", "false", "y", "N", "on", "OFF", "2", "ja"]
    elif isinstance(domain, Integer):
        lo = domain.minimum if domain.minimum is not None else 0
        hi = domain.maximum if domain.maximum is not None else 10**18
        step = domain.step or 1
        for n in (lo, lo + step, lo - 1, lo + 1, hi, hi - step, hi + 1, hi * 10, (lo + hi) // 2):
            out += [str(n), f"+{n}", f"0{n}", f"{n}.0", f"{n}.00", f"-{n}"]
        out += ["9" * 18, "9" * 19, "1" + "0" * 25, "12a", "١٢"]
    elif isinstance(domain, Milliseconds):
        out += ["500", "500ms", "500 ms", "500MS", "0ms", "1", "ms", "-5ms", "5s", "9" * 19]
        out += ["0" * 18 + "500", "0" * 16 + "500ms"]
    elif isinstance(domain, Transport):
        out += ["udp", "UDP,TCP", "tcp; tls", "UDP,UDP", "udp/tcp", "SCTP", "UDP,", "tls , udp"]
    elif isinstance(domain, CodecSet):
        out += ["ulaw,alaw", "none", "NONE", "g729", "alaw;ulaw", "ulaw&alaw", "ulaw,ulaw", "opus"]
        out += ["gsm,g726,g722", "ULAW , G729"]
    elif isinstance(domain, CodecOrder):
        out += ["ulaw", "g729,ulaw", "alaw, g722", "gsm", "ulaw,opus", "ulaw ulaw", "g729,g729"]
    elif isinstance(domain, Address):
        out += [
            "dynamic", "DYNAMIC", "203.0.113.7", "203.0.113.256", "10.0.0", "2001:db8::1",
            "2001:db8::g", "::1", "fe80::1%eth0", "::ffff:192.0.2.1", "sip.example.com",
            "sip_gw.example.com", "a..b", "-a.example", "a" * 64 + ".com", "host.", "1.2.3.4.5",
        ]  # fmt: skip
    elif isinstance(domain, Name):
        out += [
            "trunk-1", "Trunk.2", "a+b_c", "general", "GENERAL", "authentication", "a b",
            "a/b", "a@b", "x" * 80,
        ]  # fmt: skip
    elif isinstance(domain, Token):
        out += ["john", "00001234", "john smith", "a\u2003b", "x" * 592, "x" * 593]
    elif isinstance(domain, Text):
        out += ["s3cret!", "with space", "x" * 80, "ÿ"]
    return out


# Rows that make each rule fire, or just not fire.
_RULE_ROWS: tuple[dict[str, str], ...] = (
    {"session-expires": "900", "session-minse": "1800"},
    {"session-expires": "1800", "session-minse": "1800"},
    {"session-expires": "60"},
    {"session-minse": "2000"},
    {"audio_codecs": "ulaw,alaw", "codec_order": "g729,ulaw"},
    {"audio_codecs": "none", "codec_order": "ulaw"},
    {"audio_codecs": "ulaw", "codec_order": "opus"},
    {"codec_order": "gsm"},
    {"old_name": "t-1", "object_id": "7"},
    {"old_name": "same", "name": "same"},
    {"old_name": "a b", "name": "a b"},
    {"host": "dynamic"},
    {"host": "dynamic", "auth": "x"},
    {"host": "dynamic", "remotesecret": "x"},
    {"host": "dynamic", "secret": "s", "remotesecret": "x"},
    {"registration": "out"},
    {"registration": "OUT", "host": "sip.example.com", "defaultuser": "u", "secret": "s"},
    {"registration": "out", "host": "dynamic", "defaultuser": "u", "secret": "s"},
    {"registration": "out", "host": "dynamic", "secret": "s"},
    {"timerb": "1000", "timert1": "500"},
    {"timerb": "31800", "timert1": "500"},
    {"timerb": "32000", "timert1": "500"},
    {"timerb": "100000"},
    {"timert1": "200"},
    {"timert1": "300", "t1min": "400ms"},
    {"timert1": "400", "t1min": "400"},
    {"t1min": "600"},
    {"secret": MASK},
    {"remotesecret": MASK, "auth": MASK},
)


def _sheet(count: int, seed: int) -> list[dict[str, str]]:
    """``count`` rows: mostly valid, every parameter now and then given a value of its pool,
    the rule rows mixed in, names repeating at times."""
    rng = random.Random(seed)
    pools = {field: _values(field) for field in PARAMETERS}
    rows = []
    for i in range(count):
        row = {"name": f"ep-{i}", "host": "203.0.113.9"}
        for field in rng.sample(sorted(PARAMETERS), rng.choice((0, 0, 0, 0, 1, 1, 2, 4))):
            row[field] = rng.choice(pools[field])
        if rng.random() < 0.2:
            row.update(rng.choice(_RULE_ROWS))
        rows.append(row)
    return rows


def _normalized(tmp_path: Path, rows: list[dict[str, str]]) -> NormalizedSheet:
    headers = list(PARAMETERS)
    path = write_csv(tmp_path / "sheet.csv", rows, headers)
    return normalize(load_sheet(path))


def _frame(tmp_path: Path, rows: list[dict[str, str]]) -> pd.DataFrame:
    return _normalized(tmp_path, rows).frame


def _by_row(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.row, p.severity != "error", p.field))


@pytest.mark.parametrize("strict", [False, True])
def test_every_bad_value_of_every_parameter_gets_the_same_problems_both_ways(
    tmp_path: Path, strict: bool
) -> None:
    sheet = _normalized(tmp_path, _sheet(6_000, seed=7))
    frame = sheet.frame
    # As the command runs them: columns of few values checked once per distinct value.
    assert {"transport", "port", "nat"} <= set(sheet.distinct)
    by_columns = _by_row(_check_columns(frame, strict, sheet.distinct))
    one_by_one = _by_row(check_one_by_one(frame, strict=strict))
    assert by_columns == one_by_one
    # The sheet does reach every kind of problem and every rule.
    codes = {p.code for p in one_by_one}
    assert codes >= {
        "invalid-value", "scientific-notation", "session-expires-below-minse",
        "codec-not-enabled", "rename-conflict", "rename-to-same-name", "open-registration",
        "registration-incomplete", "timerb-below-64-timert1", "timert1-below-t1min",
        "masked-secret",
    }  # fmt: skip
    assert {p.field for p in one_by_one if p.code == "invalid-value"} == set(PARAMETERS)


@pytest.mark.parametrize(
    "columns",
    [
        ("codec_order",), ("audio_codecs", "codec_order"), ("registration",),
        ("registration", "host"), ("registration", "host", "defaultuser", "secret"),
        ("host", "auth"), ("old_name",), ("old_name", "object_id"), ("session-expires",),
        ("timerb",), ("timert1", "t1min"), ("remotesecret",),
    ],
    ids="+".join,
)  # fmt: skip
def test_a_sheet_with_some_of_a_rules_columns_gets_the_same_problems_both_ways(
    tmp_path: Path, columns: tuple[str, ...]
) -> None:
    """The rules read a column the sheet lacks as empty on both paths."""
    headers = ["name", *columns]
    rows = [{k: v for k, v in row.items() if k in headers} for row in _sheet(2_000, seed=13)]
    sheet = normalize(load_sheet(write_csv(tmp_path / "sheet.csv", rows, headers)))
    by_columns = _by_row(_check_columns(sheet.frame, False, sheet.distinct))
    assert by_columns == _by_row(check_one_by_one(sheet.frame, strict=False))


def test_every_pair_of_codec_lists_gets_the_same_verdict_both_ways(tmp_path: Path) -> None:
    """The column path decides each distinct (codec_order, audio_codecs) pair once: every pair,
    empty cells among them, is decided as the row path decides it."""
    orders = ["", "ulaw", "g729,ulaw", "alaw,g722", "gsm", "ulaw,alaw,gsm", "g726", "g722"]
    # Eight lists and the empty cell: nine codes, not a power of two.
    enableds = ["", "ulaw,alaw", "none", "g729", "gsm,g726,g722", "ulaw", "alaw,g722,ulaw", "g726"]
    enableds.append("gsm")
    pairs = [(o, e) for o in orders for e in enableds] * 2
    rows = [
        {"name": f"ep-{i}", "codec_order": o, "audio_codecs": e} for i, (o, e) in enumerate(pairs)
    ]
    headers = ["name", "codec_order", "audio_codecs"]
    sheet = normalize(load_sheet(write_csv(tmp_path / "sheet.csv", rows, headers)))
    by_columns = _by_row(_check_columns(sheet.frame, False, sheet.distinct))
    assert by_columns == _by_row(check_one_by_one(sheet.frame, strict=False))
    assert sum(p.code == "codec-not-enabled" for p in by_columns) == 2 * 46


def test_an_outbound_registration_is_incomplete_only_for_an_empty_or_dynamic_host(
    tmp_path: Path,
) -> None:
    """Hosts that sort before and after 'dynamic' (an address, a name), each complete otherwise:
    the column path, as the row path, flags only the empty host and 'dynamic'."""
    hosts = ["203.0.113.9", "alpha.example.com", "dynamic", "sip.example.com", "", "2001:db8::1"]
    rows = [
        {"name": f"ep-{i}", "registration": "out", "host": h, "defaultuser": "u", "secret": "s"}
        for i, h in enumerate(hosts)
    ]
    headers = ["name", "registration", "host", "defaultuser", "secret"]
    sheet = normalize(load_sheet(write_csv(tmp_path / "sheet.csv", rows, headers)))
    by_columns = _by_row(_check_columns(sheet.frame, False, sheet.distinct))
    assert by_columns == _by_row(check_one_by_one(sheet.frame, strict=False))
    flagged = [(sheet.frame.loc[p.row, "name"], p.code) for p in by_columns]
    assert flagged == [("ep-2", "registration-incomplete"), ("ep-4", "registration-incomplete")]


@pytest.mark.slow
def test_a_50k_row_sheet_is_rejected_row_by_row_as_the_per_value_checks_say(
    tmp_path: Path,
) -> None:
    """Acceptance of the speed work: the command's verdicts (read in chunks, vectorized) equal a
    row-by-row run of the per-value checks on the same rows."""
    rows = _sheet(50_000, seed=11)
    headers = list(PARAMETERS)
    path = write_csv(tmp_path / "sheet.csv", rows, headers)
    result = validate_file(path, report_dir=tmp_path / "reports")
    lines = read_csv(result.paths.results_csv)
    got = {int(line["row"]): line["error_key"] for line in lines if line["outcome"] == "rejected"}

    frame = normalize(load_sheet(path)).frame
    problems = check_one_by_one(frame)
    for row in frame.index[frame["name"].isna()]:
        problems.append(Problem(int(row), "name", "missing-name", "", "error"))
    keys = frame["name"].str.lower()
    for row in keys[keys.notna() & keys.duplicated(keep=False)].index:
        problems.append(Problem(int(row), "name", "duplicate-name", "", "error"))
    # results.csv names a row's first error (problems sorted by row, errors first, field).
    expected: dict[int, str] = {}
    for p in _by_row(problems):
        if p.severity == "error":
            expected.setdefault(p.row, p.code)
    assert 5_000 < len(got) < 40_000
    assert got == expected


def test_the_direct_run_finds_what_pandera_lazy_validation_finds(tmp_path: Path) -> None:
    sheet = _normalized(tmp_path, _sheet(3_000, seed=3))
    frame = sheet.frame
    schema = domain_schema(frame.columns)
    ours = _failures(schema, frame, sheet.distinct)
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        theirs = exc.failure_cases
    else:  # pragma: no cover
        pytest.fail("the sheet has bad values")
    as_set = {
        (f.column, f.check, str(row), str(case))
        for f in ours
        for row, case in zip(f.rows.tolist(), f.cases, strict=True)
    }
    pandera_set = {
        tuple(x)
        for x in theirs[["column", "check", "index", "failure_case"]]
        .astype(str)
        .itertuples(index=False)
    }
    assert as_set == pandera_set
    assert len(as_set) > 1_000


def test_small_sheets_are_checked_one_by_one_and_large_ones_by_columns(tmp_path: Path) -> None:
    """Both ways run in the command: the size decides, and the answers agree."""
    rows = _sheet(ONE_BY_ONE_ROWS + 1, seed=5)
    path = write_csv(tmp_path / "sheet.csv", rows, list(PARAMETERS))
    sheet = normalize(load_sheet(path))
    large = _by_row(check_rows(sheet))
    small = normalize(load_sheet(write_csv(tmp_path / "s.csv", rows[:-1], list(PARAMETERS))))
    assert _by_row(check_rows(small)) == [p for p in large if p.row <= ONE_BY_ONE_ROWS + 1]


@pytest.mark.parametrize("number", [1, 2, 26, 27, 52, 53, 702, 703, 16384])
def test_column_letters_match_openpyxls(number: int) -> None:
    from openpyxl.utils import get_column_letter

    assert column_letter(number) == get_column_letter(number)


@pytest.mark.parametrize(("extra", "imported"), [(0, False), (1, True)])
def test_pandera_is_imported_only_past_the_one_by_one_size(
    tmp_path: Path, extra: int, imported: bool
) -> None:
    """Up to ONE_BY_ONE_ROWS rows need no pandera (its import alone outweighs a small sheet)."""
    rows = [{"name": f"ep-{i}", "host": "203.0.113.9", "port": "5060"} for i in range(2_000)]
    path = write_csv(tmp_path / "s.csv", rows[: ONE_BY_ONE_ROWS + extra])
    program = (
        "import sys\n"
        "from importer.sheets.load import load_sheet\n"
        "from importer.sheets.normalize import normalize\n"
        "from importer.validate import check_rows\n"
        f"assert not check_rows(normalize(load_sheet({str(path)!r})))\n"
        "print('pandera' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == str(imported)


def test_a_text_judged_in_one_column_is_judged_again_in_another(tmp_path: Path) -> None:
    # Chunks of more than ONE_BY_ONE_ROWS rows take the column checks, which remember each
    # distinct text's verdict for the run: per column, so '300' (a fine port and qualifyfreq)
    # is still too many max_forwards, in a later chunk and in a later run alike.
    bad = range(1_200, 1_300)  # in the second of three chunks of 1,100 rows
    rows = [[f"ext-{i}", "300", "300", "300" if i in bad else "70"] for i in range(3_300)]
    write_csv(tmp_path / "s.csv", rows, headers=["name", "port", "qualifyfreq", "max_forwards"])
    for run in ("first", "again"):
        result = validate_file(tmp_path / "s.csv", report_dir=tmp_path / run, chunk_rows=1_100)
        assert result.summary["outcomes"] == {"valid": 3_200, "rejected": 100}
        rejected = [r for r in read_csv(tmp_path / run / "results.csv") if r["outcome"] != "valid"]
        assert {(r["row"], r["message"]) for r in rejected} == {
            (str(i + 2), "max_forwards: 300 is above 255") for i in bad
        }
