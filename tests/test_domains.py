"""Value domains (schemas/domains.py) on their own: the verdict and the exact sentence for a value,
the same verdict from the column check, the canonical text a sheet's spelling becomes, and the
wire form the gateway is sent and answers with. test_params.py runs one case per parameter
through the whole pipeline; these pin each domain's edges, which the parameter table shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from schemas.domains import (
    Address,
    Choice,
    CodecOrder,
    CodecSet,
    Domain,
    Flag,
    Integer,
    Milliseconds,
    Name,
    Text,
    Token,
    Transport,
    contains,
    fullmatch,
    spread_distinct,
    spread_texts,
)
from schemas.text import quote


def _verdict(domain: Domain, value: str) -> str | None:
    """``domain.problem(value)``, after checking that the column check agrees on it, alone and
    among repeats of other values (Address checks such a column once per distinct value)."""
    reason = domain.problem(value)
    alone = domain.bad(pd.Series([value], dtype="str")).tolist()
    repeated = domain.bad(pd.Series(["x", value, "x", "x", "x", value], dtype="str")).tolist()
    other = domain.problem("x") is not None
    assert alone == [reason is not None]
    assert repeated == [other, reason is not None, other, other, other, reason is not None]
    return reason


def _normalized(domain: Domain, texts: list[str]) -> list[Any]:
    """The canonical text of each of ``texts``, alone and in a column that repeats them, with a
    missing cell kept missing."""
    single = [domain.normalize_one(t) for t in texts]
    column = pd.Series([*texts, *texts, *texts, None], dtype="str")
    spread = domain.normalize(column).tolist()
    assert spread[:-1] == single * 3
    assert pd.isna(spread[-1])
    return single


TEXT = Text(min_len=1, max_len=5)


@pytest.mark.parametrize(
    ("domain", "value", "reason"),
    [
        (TEXT, "", "is empty"),
        (TEXT, "a", None),
        (TEXT, "abcde", None),
        (TEXT, "abcdef", "is 6 characters long; at most 5 are allowed"),
        (TEXT, "ab\tcdef", "is 7 characters long; at most 5 are allowed"),
        (Text(min_len=3), "ab", "is shorter than 3 characters"),
        (Text(min_len=3), "abc", None),
        (Text(min_len=3), "a\t", "is shorter than 3 characters"),
        (Text(), "", None),
        (Text(), "x" * 10_000, None),
        (TEXT, "a b", None),
        (TEXT, "a\tb", "contains a tab, which is not allowed here"),
        (TEXT, "a\nb", "contains a line break, which is not allowed here"),
        (TEXT, "a\rb", "contains a line break, which is not allowed here"),
        (TEXT, "a\x01b", "contains a control character, which is not allowed here"),
        (TEXT, "a\x7fb", "contains a control character, which is not allowed here"),
        (TEXT, "a\x1fb", "contains a control character, which is not allowed here"),
        (Token(max_len=5), "a b", "contains a space, which is not allowed here"),
        (Token(max_len=5), "a\xa0b", "contains '\xa0', which is not allowed here"),
        (Token(max_len=5), "a\u3000b", "contains '\u3000', which is not allowed here"),
        (Token(max_len=5), "a\tb", "contains a tab, which is not allowed here"),
        (Token(max_len=5), "a!b@c", None),
        (Token(max_len=5), "abcdef", "is 6 characters long; at most 5 are allowed"),
    ],
)
def test_text_and_token_verdicts(domain: Domain, value: str, reason: str | None) -> None:
    assert _verdict(domain, value) == reason


@pytest.mark.parametrize(
    ("domain", "value", "reason"),
    [
        (Name(), "Acme-1_b.c+d", None),
        (Name(), "x" * 80, None),
        (Name(), "x" * 81, "is 81 characters long; at most 80 are allowed"),
        (Name(max_len=3), "abcd", "is 4 characters long; at most 3 are allowed"),
        (Name(), "a b", "'a b' contains a space; a name may only hold ASCII letters, digits and . _ - +"),
        (Name(), "a\tb", "'a\\x09b' contains a tab; a name may only hold ASCII letters, digits and . _ - +"),
        (Name(), "a\nb", "'a\\x0ab' contains a line break; a name may only hold ASCII letters, digits and . _ - +"),
        (Name(), "a\x02b", "'a\\x02b' contains a control character; a name may only hold ASCII letters, digits and . _ - +"),
        (Name(), "ab/c", "'ab/c' contains '/'; a name may only hold ASCII letters, digits and . _ - +"),
        (Name(), "société", "'société' contains 'é'; a name may only hold ASCII letters, digits and . _ - +"),
        (Name(reserved=("general",)), "General", "'General' is reserved: chan_sip reads a [general] section as its own settings, not as an endpoint"),
        (Name(reserved=("general",)), "general-1", None),
        (Name(), "general", None),
    ],
)  # fmt: skip
def test_name_verdicts(domain: Domain, value: str, reason: str | None) -> None:
    assert _verdict(domain, value) == reason


def test_an_empty_name_is_refused() -> None:
    # A sheet's empty cell is missing, never ''; the gateway checks what it is sent.
    assert Name().problem("") == "is empty"
    assert Name().bad(pd.Series([""], dtype="str")).tolist() == [True]


CHOICE = Choice(values=("originate", "accept", "refuse"))


def test_choice_matches_any_case_and_keeps_what_it_does_not_know() -> None:
    texts = ["Originate", "ACCEPT", "refuse", "always"]
    assert _normalized(CHOICE, texts) == ["originate", "accept", "refuse", "always"]
    assert _verdict(CHOICE, "accept") is None
    assert _verdict(CHOICE, "Accept") == "'Accept' is not one of originate, accept, refuse"
    assert _verdict(CHOICE, "always") == "'always' is not one of originate, accept, refuse"
    assert CHOICE.allowed() == "one of originate, accept, refuse"


def test_flag_words_become_0_or_1() -> None:
    words = ["1", "0", "Yes", "NO", "true", "False", "y", "N", "on", "OFF", "2", "maybe"]
    expected = ["1", "0", "1", "0", "1", "0", "1", "0", "1", "0", "2", "maybe"]
    assert _normalized(Flag(), words) == expected
    assert _verdict(Flag(), "1") is None
    assert _verdict(Flag(), "0") is None
    assert _verdict(Flag(), "2") == "'2' is not 0 or 1 (yes/no, true/false, on/off also work)"
    assert _verdict(Flag(), "yes") == "'yes' is not 0 or 1 (yes/no, true/false, on/off also work)"
    assert Flag().allowed() == "0 or 1"


PORT = Integer(minimum=1, maximum=65535)


def test_integer_spellings_become_plain_numbers() -> None:
    texts = ["060", "+60", "60.0", "60.00", "000", "+0", "-5", "-05", "6e1", "60.5", "0x1", "1 0"]
    expected = ["60", "60", "60", "60", "0", "0", "-5", "-05", "6e1", "60.5", "0x1", "1 0"]
    assert _normalized(PORT, texts) == expected
    assert _normalized(PORT, ["abc"]) == ["abc"]


@pytest.mark.parametrize(
    ("domain", "value", "reason"),
    [
        (PORT, "1", None),
        (PORT, "65535", None),
        (PORT, "0", "0 is below 1"),
        (PORT, "65536", "65536 is above 65535"),
        (PORT, "-1", "-1 is below 1"),
        (PORT, "abc", "'abc' is not a whole number"),
        (PORT, "", "'' is not a whole number"),
        (PORT, "-", "'-' is not a whole number"),
        (PORT, "1.5", "'1.5' is not a whole number"),
        (PORT, "--1", "'--1' is not a whole number"),
        (PORT, "1" * 19, f"'{'1' * 19}' is too large; at most 65535 is allowed"),
        (Integer(), "9" * 18, None),
        (Integer(), "-" + "9" * 18, None),
        (Integer(), "1" + "0" * 18, f"'1{'0' * 18}' is too large; at most 18 digits are allowed"),
        (Integer(), "0" * 30 + "5", f"'{'0' * 30}5' is not written as a plain whole number"),
        (Integer(), "007", "'007' is not written as a plain whole number"),
        (Integer(), "00", "'00' is not written as a plain whole number"),
        (Integer(), "-00", "'-00' is not written as a plain whole number"),
        (Integer(), "-0", "'-0' is not written as a plain whole number"),
        (Integer(), "0", None),
        (Integer(), "-7", None),
        (Integer(minimum=20, maximum=20, unit="ms"), "20", None),
        (Integer(minimum=20, maximum=20, unit="ms"), "30", "30 is not allowed; it must be exactly 20"),
        (Integer(minimum=20, maximum=20, unit="ms"), "10", "10 is not allowed; it must be exactly 20"),
        (Integer(minimum=10, maximum=200, step=10, unit="ms"), "5", "5 is below 10 ms"),
        (Integer(minimum=10, maximum=200, step=10, unit="ms"), "210", "210 is above 200 ms"),
        (Integer(minimum=10, maximum=200, step=10, unit="ms"), "25", "25 is not a multiple of 10"),
        (Integer(minimum=10, maximum=200, step=10, unit="ms"), "200", None),
        (Integer(minimum=10, maximum=200, step=10, unit="ms"), "10", None),
        (Integer(minimum=-5), "-5", None),
        (Integer(minimum=-5), "-6", "-6 is below -5"),
        (Integer(maximum=5), "-100", None),
        (Integer(maximum=5), "6", "6 is above 5"),
        (Integer(step=3), "-9", None),
        (Integer(step=3), "-8", "-8 is not a multiple of 3"),
    ],
)  # fmt: skip
def test_integer_verdicts(domain: Domain, value: str, reason: str | None) -> None:
    assert _verdict(domain, value) == reason


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        (Integer(minimum=20, maximum=20), "exactly 20"),
        (Integer(minimum=10, maximum=200, step=10), "a whole number from 10 to 200 in steps of 10"),
        (Integer(minimum=1, maximum=65535), "a whole number from 1 to 65535"),
        (Integer(minimum=1), "a whole number of at least 1"),
        (Integer(maximum=5), "a whole number"),
        (Integer(), "a whole number"),
        (Integer(step=5), "a whole number in steps of 5"),
        (Integer(minimum=0, maximum=0), "exactly 0"),
    ],
)
def test_integer_allowed_words(domain: Domain, words: str) -> None:
    assert domain.allowed() == words


def test_milliseconds_spellings_and_verdicts() -> None:
    texts = ["500", "500ms", "500MS", "500 ms", "500\tMs", "fast", "5 00ms"]
    expected = ["500", "500ms", "500ms", "500ms", "500ms", "fast", "5 00ms"]
    assert _normalized(Milliseconds(), texts) == expected
    assert _verdict(Milliseconds(), "1") is None
    assert _verdict(Milliseconds(), "1ms") is None
    assert _verdict(Milliseconds(), "9" * 18) is None
    assert _verdict(Milliseconds(), "0") == "'0' is below 1 ms"
    assert _verdict(Milliseconds(), "0ms") == "'0ms' is below 1 ms"
    assert _verdict(Milliseconds(), "000ms") == "'000ms' is below 1 ms"
    message = "is not a number of milliseconds such as 500 or 500ms"
    assert _verdict(Milliseconds(), "ms") == f"'ms' {message}"
    assert _verdict(Milliseconds(), "-1") == f"'-1' {message}"
    assert _verdict(Milliseconds(), "5s") == f"'5s' {message}"
    assert _verdict(Milliseconds(), "500msms") == f"'500msms' {message}"
    assert Milliseconds.millis("250ms") == 250
    assert Milliseconds.millis("250") == 250
    assert Milliseconds().allowed() == "milliseconds, e.g. 500 or 500ms"


HOST = Address(dynamic=True)
DOMAIN = Address()


def test_address_reads_dynamic_in_any_case_only_where_it_is_allowed() -> None:
    assert _normalized(HOST, ["DYNAMIC", "Dynamic", "example.com"]) == [
        "dynamic",
        "dynamic",
        "example.com",
    ]
    assert _normalized(DOMAIN, ["DYNAMIC"]) == ["DYNAMIC"]
    assert _verdict(HOST, "dynamic") is None
    assert _verdict(DOMAIN, "dynamic") is None  # a host name like any other
    assert HOST.allowed() == "'dynamic', an IP address or a host name"
    assert DOMAIN.allowed() == "an IP address or a host name"


_LABEL_63 = "a" * 63
_NAME_253 = ".".join([_LABEL_63, _LABEL_63, _LABEL_63, "a" * 61])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("203.0.113.7", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("256.1.1.1", False),
        ("10.0.0.256", False),
        ("1.2.3", False),
        ("1.2.3.4.5", False),
        ("01.2.3.4", False),
        ("1..2.3", False),
        ("2001:db8::1", True),
        ("::1", True),
        ("::", True),
        ("1:2:3:4:5:6:7:8", True),
        ("1:2:3:4:5:6:7::", True),
        ("fe80::1%eth0", True),
        ("::ffff:192.0.2.1", True),
        ("1:2:3:4:5:6:7:8:9", False),
        ("2001:db8:::1", False),
        ("12345::1", False),
        ("g::1", False),
        ("example.com", True),
        ("example.com.", True),
        ("a-b.example", True),
        ("sip1", True),
        ("-a.example", False),
        ("a-.example", False),
        ("a_b.example", False),
        ("a..b", False),
        ("a b", False),
        (_LABEL_63 + ".example", True),
        ("a" * 64 + ".example", False),
        (_NAME_253, True),
        (_NAME_253 + ".", True),
        (_NAME_253 + "a", True),  # 254 characters: the most, with or without the root dot
        (_NAME_253 + "aa", False),
        (_NAME_253 + "a.", False),
        ("1.2.3.4a", True),
        ("123", False),
    ],
)
def test_address_verdicts(value: str, ok: bool) -> None:
    shown = quote(value)  # a long name is cut to 80 characters
    assert _verdict(DOMAIN, value) == (
        None if ok else f"{shown} is not an IP address or a host name"
    )
    assert _verdict(HOST, value) == (
        None if ok else f"{shown} is not 'dynamic', an IP address or a host name"
    )


TRANSPORT = Transport()


def test_transport_lists() -> None:
    texts = ["udp", "udp, tcp", "TLS ;udp", "udp\t,\ttcp", "udp/tcp", "tcp  tls"]
    expected = ["UDP", "UDP,TCP", "TLS,UDP", "UDP,TCP", "UDP/TCP", "TCP  TLS"]
    assert _normalized(TRANSPORT, texts) == expected
    assert _verdict(TRANSPORT, "UDP,TCP,TLS") is None
    assert _verdict(TRANSPORT, "UDP") is None
    assert _verdict(TRANSPORT, "TLS,TCP") is None
    assert _verdict(TRANSPORT, "SCTP") == "'SCTP' is not one of UDP, TCP, TLS"
    assert _verdict(TRANSPORT, "UDP,SCTP") == "'SCTP' is not one of UDP, TCP, TLS"
    assert _verdict(TRANSPORT, "UDP,") == "'' is not one of UDP, TCP, TLS"
    assert _verdict(TRANSPORT, "UDP/TCP") == (
        "'UDP/TCP' is not one of UDP, TCP, TLS; separate them with commas (UDP,TCP)"
    )
    assert _verdict(TRANSPORT, "TCP  TLS") == (
        "'TCP  TLS' is not one of UDP, TCP, TLS; separate them with commas (TCP,TLS)"
    )
    assert _verdict(TRANSPORT, "UDP/SCTP") == "'UDP/SCTP' is not one of UDP, TCP, TLS"
    assert _verdict(TRANSPORT, "UDP/") == "'UDP/' is not one of UDP, TCP, TLS"
    assert _verdict(TRANSPORT, "UDP,TCP,UDP") == "names UDP twice"
    assert _verdict(TRANSPORT, "TLS,TLS") == "names TLS twice"
    assert _verdict(TRANSPORT, "UDP,UDP,SCTP") == "'SCTP' is not one of UDP, TCP, TLS"
    assert TRANSPORT.allowed() == "one or more of UDP, TCP, TLS"


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (["UDP", "TLS"], None),
        (["UDP"], None),
        ([], "must be a non-empty array of UDP, TCP, TLS"),
        ("UDP", "must be a non-empty array of UDP, TCP, TLS"),
        (["UDP", 1], "must be a non-empty array of UDP, TCP, TLS"),
        (["udp"], "'udp' is not one of UDP, TCP, TLS"),
        (["UDP", "UDP"], "names UDP twice"),
    ],
)
def test_transport_on_the_wire(wire: Any, reason: str | None) -> None:
    assert TRANSPORT.wire_problem(wire) == reason


def test_transport_wire_form() -> None:
    assert TRANSPORT.to_wire("UDP,TLS") == ["UDP", "TLS"]
    assert TRANSPORT.from_wire(["TCP", "UDP"]) == "TCP,UDP"
    assert TRANSPORT.from_wire("UDP") == "UDP"


CODECS_ON = CodecSet()
ORDER = CodecOrder()
_NOT_A_CODEC = "is not a codec; use ulaw, alaw, g722, g726, g729, gsm"


_SEPARATE = "is not a codec; separate codecs with commas (ulaw,alaw)"


def test_codec_set_is_sorted_into_the_gateways_order() -> None:
    texts = ["G729; ulaw", "gsm,alaw,ulaw", "ulaw,gsm,alaw", "NONE", "ulaw & alaw", "opus,ulaw"]
    expected = ["ulaw,g729", "ulaw,alaw,gsm", "ulaw,alaw,gsm", "none", "ulaw & alaw", "opus,ulaw"]
    assert _normalized(CODECS_ON, texts) == expected
    assert CODECS_ON.allowed() == (
        "a comma list of enabled codecs (ulaw, alaw, g722, g726, g729, gsm) or none"
    )


def test_codec_order_keeps_the_order_given() -> None:
    texts = ["G729, ULAW", "gsm;alaw", "ulaw/alaw", "none"]
    assert _normalized(ORDER, texts) == ["g729,ulaw", "gsm,alaw", "ulaw/alaw", "none"]
    assert ORDER.allowed() == (
        "a comma list of codecs in order of preference (ulaw, alaw, g722, g726, g729, gsm)"
    )


@pytest.mark.parametrize(
    ("domain", "value", "reason"),
    [
        (CODECS_ON, "none", None),
        (CODECS_ON, "ulaw,alaw,g722,g726,g729,gsm", None),
        (CODECS_ON, "g729", None),
        (CODECS_ON, "alaw,gsm", None),
        (CODECS_ON, "opus", f"'opus' {_NOT_A_CODEC}"),
        (CODECS_ON, "ulaw,none", f"'none' {_NOT_A_CODEC}"),
        (CODECS_ON, "ulaw&alaw", f"'ulaw&alaw' {_SEPARATE}"),
        (CODECS_ON, "ulaw,ulaw", "names ulaw twice"),
        (CODECS_ON, "ulaw,ulaw,opus", f"'opus' {_NOT_A_CODEC}"),
        (CODECS_ON, "ulaw&", f"'ulaw&' {_NOT_A_CODEC}"),
        (ORDER, "g729,ulaw", None),
        (ORDER, "gsm", None),
        (ORDER, "gsm,g726,g729,g722,alaw,ulaw", None),
        (ORDER, "none", f"'none' {_NOT_A_CODEC}"),
        (ORDER, "ulaw/alaw", f"'ulaw/alaw' {_SEPARATE}"),
        (ORDER, "ulaw,alaw,ulaw", "names ulaw twice"),
    ],
)
def test_codec_list_verdicts(domain: Domain, value: str, reason: str | None) -> None:
    assert _verdict(domain, value) == reason


def test_codec_set_wire_form() -> None:
    assert CODECS_ON.to_wire("alaw,gsm") == [
        {"id": "ulaw", "value": "0"},
        {"id": "alaw", "value": "1"},
        {"id": "g722", "value": "0"},
        {"id": "g726", "value": "0"},
        {"id": "g729", "value": "0"},
        {"id": "gsm", "value": "1"},
    ]
    assert [c["value"] for c in CODECS_ON.to_wire("ulaw,g729")] == ["1", "0", "0", "0", "1", "0"]
    assert CODECS_ON.to_wire("none") == [{"id": c, "value": "0"} for c in CODECS_ON.codecs]
    wire = [{"id": "gsm", "value": "1"}, {"id": "ulaw", "value": 1}, {"id": "alaw", "value": "0"}]
    assert CODECS_ON.from_wire(wire) == "ulaw,gsm"
    assert CODECS_ON.from_wire([{"id": "ulaw", "value": "0"}]) == "none"
    assert CODECS_ON.from_wire([]) == "none"
    assert CODECS_ON.from_wire(None) == "none"


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ([{"id": "ulaw", "value": "1"}, {"id": "alaw", "value": "0"}], None),
        ([], None),
        ({"id": "ulaw"}, "must be an array of {id, value} objects"),
        (["ulaw"], "must be an array of {id, value} objects"),
        ([{"id": "ulaw"}], "must be an array of {id, value} objects"),
        ([{"id": "ulaw", "value": "1", "x": 1}], "must be an array of {id, value} objects"),
        ([{"id": "opus", "value": "1"}], f"'opus' {_NOT_A_CODEC}"),
        ([{"id": "ulaw", "value": 1}], "value of ulaw must be '0' or '1'"),
        ([{"id": "ulaw", "value": "2"}], "value of ulaw must be '0' or '1'"),
        ([{"id": "ulaw", "value": "1"}, {"id": "ulaw", "value": "0"}], "names ulaw twice"),
    ],
)
def test_codec_set_on_the_wire(wire: Any, reason: str | None) -> None:
    assert CODECS_ON.wire_problem(wire) == reason


def test_codec_order_wire_form() -> None:
    assert ORDER.to_wire("g729,ulaw") == [
        {"id": "g729", "order": "1"},
        {"id": "ulaw", "order": "2"},
    ]
    ranked = [{"id": c, "order": str(i)} for i, c in [(10, "gsm"), (2, "alaw"), (9, "ulaw")]]
    assert ORDER.from_wire(ranked) == "alaw,ulaw,gsm"
    assert ORDER.from_wire([{"id": "gsm"}, {"id": "ulaw", "order": "1"}]) == "gsm,ulaw"
    assert ORDER.from_wire(None) == ""


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ([{"id": "g729", "order": "1"}, {"id": "ulaw", "order": "2"}], None),
        ([{"id": c, "order": str(i)} for i, c in enumerate(ORDER.codecs * 2, start=1)],
         "names ulaw twice"),
        ([], "must be a non-empty array of {id, order} objects"),
        ({"id": "ulaw", "order": "1"}, "must be a non-empty array of {id, order} objects"),
        ([{"id": "ulaw"}], "must be an array of {id, order} objects"),
        ([{"id": "ulaw", "order": "1", "x": "1"}], "must be an array of {id, order} objects"),
        (["ulaw"], "must be an array of {id, order} objects"),
        ([{"id": "ulaw", "order": 1}], "id and order must be strings"),
        ([{"id": 1, "order": "1"}], "id and order must be strings"),
        ([{"id": "ulaw", "order": "2"}], "orders must be 1..1, each once"),
        ([{"id": "ulaw", "order": "1"}, {"id": "alaw", "order": "1"}], "orders must be 1..2, each once"),
        ([{"id": "ulaw", "order": "0"}, {"id": "alaw", "order": "1"}], "orders must be 1..2, each once"),
        ([{"id": "ulaw", "order": "01"}], "orders must be 1..1, each once"),
        ([{"id": "opus", "order": "1"}], f"'opus' {_NOT_A_CODEC}"),
    ],
)  # fmt: skip
def test_codec_order_on_the_wire(wire: Any, reason: str | None) -> None:
    assert ORDER.wire_problem(wire) == reason


@pytest.mark.parametrize(
    ("wire", "reason"),
    [("text", None), (5, "must be a string, not int"), (None, "must be a string, not NoneType")],
)
def test_a_plain_domain_wants_a_string_on_the_wire(wire: Any, reason: str | None) -> None:
    assert Text().wire_problem(wire) == reason
    assert Domain().to_wire("x") == "x"
    assert Domain().from_wire(5) == "5"
    assert Domain().allowed() == "a string"
    assert Domain().bad(pd.Series(["x", "x"], dtype="str")).tolist() == [False, False]


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        (Text(max_len=80), "text without control characters, at most 80 characters"),
        (Text(), "text without control characters"),
        (Token(max_len=40), "text without spaces or control characters, at most 40 characters"),
        (Token(), "text without spaces or control characters"),
        (Name(), "1-80 ASCII letters, digits or . _ - +"),
        (Name(reserved=("general", "authentication")),
         "1-80 ASCII letters, digits or . _ - +, not general or authentication"),
    ],
)  # fmt: skip
def test_allowed_words(domain: Domain, words: str) -> None:
    assert domain.allowed() == words


def test_spread_distinct_answers_each_distinct_value_once() -> None:
    seen: list[list[str]] = []

    def lengths(texts: pd.Series) -> Any:
        seen.append(texts.tolist())
        return texts.str.len().to_numpy(float)

    column = pd.Series(["ab", "c", None, "ab", "c", "ab"], dtype="str")
    assert spread_distinct(column, lengths, -1.0).tolist() == [2, 1, -1, 2, 1, 2]
    assert seen == [["ab", "c"]]
    assert np.asarray(spread_distinct(column, lengths, np.nan))[2] != 0


def test_address_answers_alike_on_both_paths_missing_cells_too() -> None:
    """A column of mostly repeated hosts is checked once per distinct value; the verdicts,
    a missing cell's too, are those of the column path (mostly distinct hosts)."""
    domain = Address()
    distinct = domain.bad(pd.Series([None, "a.example", "b_c", "10.0.0.1"], dtype="str"))
    repeated = domain.bad(pd.Series([None, "a.example", "b_c", "b_c", "b_c", "b_c"], dtype="str"))
    assert distinct.tolist() == [True, False, True, False]
    assert repeated.tolist() == [True, False, True, True, True, True]


def test_fullmatch_and_contains_answer_false_on_a_missing_cell() -> None:
    column = pd.Series(["ab", None, "xab", "AB"], dtype="str")
    assert fullmatch(column, "a.").tolist() == [True, False, False, False]
    assert fullmatch(column, "a.", ignore_case=True).tolist() == [True, False, False, True]
    assert contains(column, "a.").tolist() == [True, False, True, False]
    # A column of Python objects marks a missing cell with NaN.
    objects = pd.Series(["ab", np.nan, "xab"], dtype=object)
    assert fullmatch(objects, "a.").tolist() == [True, False, False]


def test_domains_are_frozen_values() -> None:
    """The parameter table shares domain objects (the timers' one Integer): a domain is a value,
    equal to another of the same kind and settings, and cannot be changed in place."""
    assert Flag() == Flag()
    assert hash(Token(max_len=5)) == hash(Token(max_len=5))
    assert Token(max_len=5) != Token(max_len=6)
    assert Flag() != Milliseconds()
    with pytest.raises(AttributeError):
        Token(max_len=5).max_len = 6  # type: ignore[misc]


def test_a_transport_domain_takes_its_names_as_a_setting() -> None:
    narrow = Transport(values=("UDP", "TCP"))
    assert narrow.problem("TLS") == "'TLS' is not one of UDP, TCP"
    assert narrow.bad(pd.Series(["TLS", "TCP,UDP"], dtype="str")).tolist() == [True, False]


def test_spread_texts_takes_texts_by_codes_missing_ones_too() -> None:
    """-1 picks a missing cell; a text missing among the values (NaN in a column of Python
    objects) stays missing wherever it is taken."""
    values = pd.Series(["a", np.nan, "c"], dtype=object)
    codes = np.array([2, -1, 0, 1, 2])
    spread = spread_texts(values, codes, pd.RangeIndex(10, 15))
    assert spread.index.tolist() == [10, 11, 12, 13, 14]
    assert spread.str.len().tolist()[::2] == [1, 1, 1]
    assert spread.tolist()[::2] == ["c", "a", "c"]
    assert spread.isna().tolist() == [False, True, False, True, False]
