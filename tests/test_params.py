"""Every parameter of SPEC.md section 3: a value the sheet may hold, one it may not, and the exact
sentence the person fixing the sheet reads. Run through the real pipeline, file to report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from helpers import read_csv, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.pipeline import validate_file
from schemas import PARAMETERS, check_wire_value, to_wire

# parameter: (accepted sheet text, canonical value it becomes, rejected text, message)
CASES: dict[str, tuple[str, str, str, str]] = {
    "name": ("Acme-Trunk_1.b+", "Acme-Trunk_1.b+", "acme trunk",
             "name: 'acme trunk' contains a space; a name may only hold ASCII letters, digits and . _ - +"),
    "host": ("SIP.Example.com", "SIP.Example.com", "exa mple",
             "host: 'exa mple' is not 'dynamic', an IP address or a host name"),
    "defaultuser": ("0012", "0012", "john doe",
                    "defaultuser: contains a space, which is not allowed here"),
    "secret": ("pa55 word!", "pa55 word!", "x" * 81,
               "secret: is 81 characters long; at most 80 are allowed"),
    "registration": ("In", "in", "both", "registration: 'both' is not one of in, out, none"),
    "transport": ("udp, tls", "UDP,TLS", "SCTP", "transport: 'SCTP' is not one of UDP, TCP, TLS"),
    "nat": ("Force_RPort", "force_rport", "maybe",
            "nat: 'maybe' is not one of no, yes, force_rport, comedia"),
    "port": ("5060", "5060", "70000", "port: 70000 is above 65535"),
    "old_name": ("old-trunk", "old-trunk", "old/trunk",
                 "old_name: 'old/trunk' contains '/'; a name may only hold ASCII letters, digits and . _ - +"),
    "object_id": ("17", "17", "0", "object_id: 0 is below 1"),
    "auth": ("bob:pw@example.com", "bob:pw@example.com", "bob pw",
             "auth: contains a space, which is not allowed here"),
    "fromuser": ("0044123", "0044123", "a\tb", "fromuser: contains a tab, which is not allowed here"),
    "fromdomain": ("2001:db8::1", "2001:db8::1", "sip..example.com",
                   "fromdomain: 'sip..example.com' is not an IP address or a host name"),
    "remotesecret": ("r3mote", "r3mote", "a\tb",
                     "remotesecret: contains a tab, which is not allowed here"),
    "qualify": ("Yes", "1", "maybe",
                "qualify: 'maybe' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "qualifyfreq": ("060", "60", "86401", "qualifyfreq: 86401 is above 86400 s"),
    "dtmfmode": ("RFC2833", "rfc2833", "touchtone",
                 "dtmfmode: 'touchtone' is not one of auto, info, rfc2833, inband"),
    "trustrpid": ("on", "1", "2", "trustrpid: '2' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "sendrpid": ("off", "0", "-1", "sendrpid: '-1' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "rpid_format": ("RPID", "rpid", "pai", "rpid_format: 'pai' is not one of pass, rpid"),
    "callingpres": ("Prohib", "prohib", "hidden",
                    "callingpres: 'hidden' is not one of allowed_not_screened, "
                    "allowed_passed_screen, allowed_failed_screen, allowed, prohib_not_screened, "
                    "prohib_passed_screen, prohib_failed_screen, prohib, unavailable"),
    "progressinband": ("Never", "never", "always",
                       "progressinband: 'always' is not one of yes, no, never"),
    "allowoverlap": ("TRUE", "1", "yes please",
                     "allowoverlap: 'yes please' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "usereqphone": ("n", "0", "x", "usereqphone: 'x' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "use_q850_reason": ("y", "1", "10",
                        "use_q850_reason: '10' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "registertrying": ("false", "0", "t",
                       "registertrying: 't' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "honorsdpversion": ("1", "1", "on/off",
                        "honorsdpversion: 'on/off' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "max_forwards": ("70", "70", "256", "max_forwards: 256 is above 255"),
    "outboundproxy": ("proxy.example.net", "proxy.example.net", "proxy_1.example.net",
                      "outboundproxy: 'proxy_1.example.net' is not an IP address or a host name"),
    "timert1": ("500", "500", "199", "timert1: 199 is below 200 ms"),
    "timerb": ("32000", "32000", "fast", "timerb: 'fast' is not a whole number"),
    "session-timers": ("Originate", "originate", "always",
                       "session-timers: 'always' is not one of originate, accept, refuse"),
    "session-minse": ("90", "90", "89", "session-minse: 89 is below 90 s"),
    "session-expires": ("1800", "1800", "1800.5", "session-expires: '1800.5' is not a whole number"),
    "session-refresher": ("UAC", "uac", "both", "session-refresher: 'both' is not one of uac, uas"),
    "audio_codecs": ("G729; ulaw", "ulaw,g729", "opus",
                     "audio_codecs: 'opus' is not a codec; use ulaw, alaw, g722, g726, g729, gsm"),
    "codec_order": ("G729, ULAW", "g729,ulaw", "ulaw,alaw,ulaw", "codec_order: names ulaw twice"),
    "alaw_pr": ("30", "30", "25", "alaw_pr: 25 is not a multiple of 10"),
    "ulaw_pr": ("50", "50", "60", "ulaw_pr: 60 is above 50 ms"),
    "gsm_pr": ("20", "20", "30", "gsm_pr: 30 is not allowed; it must be exactly 20"),
    "g722_pr": ("40", "40", "5", "g722_pr: 5 is below 10 ms"),
    "g726_pr": ("200", "200", "210", "g726_pr: 210 is above 200 ms"),
    "g729_pr": ("10", "10", "15", "g729_pr: 15 is not a multiple of 10"),
    "g726nonstandard": ("no", "0", "nope",
                        "g726nonstandard: 'nope' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "preferred_codec_only": ("YES", "1", "si",
                             "preferred_codec_only: 'si' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "t38pt_udptl": ("Yes,FEC", "yes,fec", "yes",
                    "t38pt_udptl: 'yes' is not one of yes,fec, yes,redundancy, no"),
    "t1min": ("500MS", "500ms", "fast",
              "t1min: 'fast' is not a number of milliseconds such as 500 or 500ms"),
    "allowtransfer": ("0", "0", "maybe",
                      "allowtransfer: 'maybe' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "promiscredir": ("1", "1", "3", "promiscredir: '3' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "insecure": ("on", "1", "port,invite",
                 "insecure: 'port,invite' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "enable_advanced": ("off", "0", "advanced",
                        "enable_advanced: 'advanced' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "rtptimeout": ("1", "1", "60", "rtptimeout: '60' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "rtpholdtimeout": ("0", "0", "300",
                       "rtpholdtimeout: '300' is not 0 or 1 (yes/no, true/false, on/off also work)"),
    "t38transport": ("UDPTL", "udptl", "tcp", "t38transport: 'tcp' is not one of udptl"),
    "extension": ("0100", "0100", "10\r\n01", "extension: contains a line break, which is not allowed here"),
    "rtpjittermode": ("Static", "static", "fixed", "rtpjittermode: 'fixed' is not one of static, adaptive"),
    "rtpjitterdelay": ("100", "100", "101", "rtpjitterdelay: 101 is above 100 ms"),
}  # fmt: skip


# Where the sheet's bad text has no wire form of its own (the wire always lists all six codecs).
WIRE_REJECTED = {"audio_codecs": [{"id": "opus", "value": "1"}]}


def test_every_parameter_has_a_case() -> None:
    assert set(CASES) == set(PARAMETERS)


def _validate_one(tmp_path: Path, param: str, text: str) -> dict[str, str]:
    row = {"name": "probe-1", "host": "203.0.113.1", param: text}
    if param == "name":
        row = {"name": text, "host": "203.0.113.1"}
    sheet = write_csv(tmp_path / "sheet.csv", [row])
    result = validate_file(sheet, report_dir=tmp_path / "reports")
    (line,) = read_csv(result.paths.results_csv)
    return line


@pytest.mark.parametrize("param", sorted(CASES))
def test_accepted_value(tmp_path: Path, param: str) -> None:
    accepted, _canonical, _rejected, _message = CASES[param]
    line = _validate_one(tmp_path, param, accepted)
    assert (line["outcome"], line["message"]) == ("valid", "")


@pytest.mark.parametrize("param", sorted(CASES))
def test_rejected_value_and_message(tmp_path: Path, param: str) -> None:
    _accepted, _canonical, rejected, message = CASES[param]
    line = _validate_one(tmp_path, param, rejected)
    assert line["outcome"] == "rejected"
    assert line["error_key"] == "invalid-value"
    assert line["message"] == message


@pytest.mark.parametrize("param", sorted(CASES))
def test_normalized_value_passes_the_gateway_check(param: str) -> None:
    accepted, canonical, rejected, message = CASES[param]
    domain = PARAMETERS[param].domain
    assert domain.normalize_one(accepted) == canonical
    assert check_wire_value(param, to_wire(param, canonical)) is None
    # The gateway answers with the same reason the sheet report gives, plus what is allowed.
    wire_rejected = WIRE_REJECTED.get(param, to_wire(param, domain.normalize_one(rejected)))
    wire_reason = check_wire_value(param, wire_rejected)
    assert wire_reason is not None and wire_reason.startswith(message)


_cell_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24
) | st.sampled_from(
    [
        "0",
        "1",
        "60",
        "060",
        "-5",
        "20",
        "70000",
        "udp,tcp",
        "UDP,UDP",
        "ulaw,g729",
        "dynamic",
        "10.0.0.1",
        "::1",
        "a.b",
        "500ms",
        "yes,fec",
        "none",
        "8.1E+09",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    param=st.sampled_from(sorted(PARAMETERS)), values=st.lists(_cell_text, min_size=1, max_size=6)
)
def test_vectorized_check_agrees_with_scalar_check(param: str, values: list[str]) -> None:
    """The column check (what the sheet schema runs) and the one-value check (what the gateway
    and the messages use) give the same verdict on every value."""
    domain = PARAMETERS[param].domain
    cleaned = [v.strip() for v in values if v.strip()]
    if not cleaned:
        return
    column = domain.normalize(pd.Series(cleaned, dtype="str"))
    vector = domain.bad(column).tolist()
    scalar = [domain.problem(v) is not None for v in column]
    assert vector == scalar, list(zip(column, vector, scalar, strict=True))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("société-trunk", "'société-trunk'"),
        ("中国人", "'中国人'"),
        ("bad\x01name\n", "'bad\\x01name\\x0a'"),
        ("x" * 80, "'" + "x" * 80 + "'"),
        ("x" * 81, "'" + "x" * 79 + "…'"),
        ("\x00" * 200, "'" + "\\x00" * 19 + "…'"),
        # Escaped, exactly as long as the limit: shown whole; one character more is cut.
        ("a" * 76 + "\x01", "'" + "a" * 76 + "\\x01'"),
        ("a" * 77 + "\x01", "'" + "a" * 77 + "…'"),
        # Exactly as long as the limit, a control character last: cut before it, not shown raw.
        ("a" * 79 + "\x01", "'" + "a" * 79 + "…'"),
        ("a\u2028b\x9f", "'a\\u2028b\\x9f'"),
    ],
)
def test_values_are_quoted_as_typed_and_capped(value: str, shown: str) -> None:
    from schemas.text import quote

    assert quote(value) == shown


def test_docs_api_lists_every_parameter() -> None:
    # docs/api.md is the repository's own statement of the API: it must name every parameter.
    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    table = text[text.index("## `sip_endpoint.save` parameters") :]
    missing = [name for name in PARAMETERS if f"`{name}`" not in table]
    assert missing == []


SCIENTIFIC = (
    "looks like a number Excel wrote in scientific notation, so the real digits are lost; format "
    "the column as Text and type the value again"
)


@pytest.mark.parametrize("param", ["name", "defaultuser", "old_name", "fromuser", "extension"])
def test_scientific_notation_is_refused_in_every_id_column(tmp_path: Path, param: str) -> None:
    line = _validate_one(tmp_path, param, "8.00556E+09")
    assert (line["outcome"], line["message"]) == (
        "rejected",
        f"{param}: '8.00556E+09' {SCIENTIFIC}",
    )


@pytest.mark.parametrize("param", ["secret", "remotesecret", "auth"])
def test_scientific_looking_text_is_fine_outside_id_columns(tmp_path: Path, param: str) -> None:
    line = _validate_one(tmp_path, param, "8.00556E+09")
    assert (line["outcome"], line["message"]) == ("valid", "")


@pytest.mark.parametrize("param", ["defaultuser", "secret", "remotesecret"])
def test_text_limits_hold_at_their_boundary(tmp_path: Path, param: str) -> None:
    assert _validate_one(tmp_path, param, "a" * 80)["outcome"] == "valid"
    (tmp_path / "long").mkdir()
    line = _validate_one(tmp_path / "long", param, "a" * 81)
    assert line["message"] == f"{param}: is 81 characters long; at most 80 are allowed"


# SPEC.md section 3's limits, written out here so that a limit changed in the table is caught:
# parameter -> (lowest allowed, highest allowed or None, step or None).
INTEGER_LIMITS: dict[str, tuple[int, int | None, int | None]] = {
    "port": (1, 65535, None),
    "object_id": (1, None, None),
    "qualifyfreq": (1, 86400, None),
    "max_forwards": (1, 255, None),
    "timert1": (200, 2_147_483_647, None),  # a C int
    "timerb": (200, 2_147_483_647, None),  # a C int
    "session-minse": (90, 2_147_483_647, None),  # a C int
    "session-expires": (90, 2_147_483_647, None),  # a C int
    "alaw_pr": (10, 50, 10),
    "ulaw_pr": (10, 50, 10),
    "gsm_pr": (20, 20, None),
    "g722_pr": (10, 40, 10),
    "g726_pr": (10, 200, 10),
    "g729_pr": (10, 40, 10),
    "rtpjitterdelay": (10, 100, None),
}
# parameter -> (shortest, longest or None) in characters.
TEXT_LIMITS: dict[str, tuple[int, int | None]] = {
    "defaultuser": (1, 80),
    "secret": (1, 80),
    "remotesecret": (1, 80),
    "auth": (1, 592),
    "fromuser": (1, 80),
}


@pytest.mark.parametrize("param", sorted(INTEGER_LIMITS))
def test_integer_limits_hold_at_their_boundaries(param: str) -> None:
    low, high, step = INTEGER_LIMITS[param]
    domain = PARAMETERS[param].domain
    assert domain.problem(str(low)) is None
    if low == high:  # one allowed value: both neighbours are told which
        for wrong in (low - 1, low + 1):
            assert domain.problem(str(wrong)) == f"{wrong} is not allowed; it must be exactly {low}"
        return
    assert (domain.problem(str(low - 1)) or "").startswith(f"{low - 1} is below {low}")
    if high is None:
        assert domain.problem(str(low * 1000)) is None
    else:
        assert domain.problem(str(high)) is None
        assert (domain.problem(str(high + 1)) or "").startswith(f"{high + 1} is above {high}")
    if step is not None:
        assert domain.problem(str(low + step)) is None
        assert (
            domain.problem(str(low + step // 2)) == f"{low + step // 2} is not a multiple of {step}"
        )


@pytest.mark.parametrize("param", sorted(TEXT_LIMITS))
def test_text_lengths_hold_at_their_boundaries(param: str) -> None:
    shortest, longest = TEXT_LIMITS[param]
    domain = PARAMETERS[param].domain
    assert domain.problem("a" * shortest) is None
    # An empty cell is missing and never checked, but the gateway checks what it is sent.
    assert domain.problem("a" * (shortest - 1)) == "is empty"
    if longest is not None:
        assert domain.problem("a" * longest) is None
        assert domain.problem("a" * (longest + 1)) is not None
    else:
        assert domain.problem("a" * 1000) is None


@pytest.mark.parametrize("param", ["secret", "remotesecret", "auth"])
def test_every_secret_column_may_hold_the_mask(tmp_path: Path, param: str) -> None:
    line = _validate_one(tmp_path, param, "********")
    assert (line["outcome"], line["message"]) == (
        "valid",
        f"warning: {param}: is masked (********); import and sync keep the gateway's current "
        f"{param}, and reject the row if the endpoint does not exist yet",
    )


def test_the_parameter_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        PARAMETERS["port"].secret = True  # type: ignore[misc]
