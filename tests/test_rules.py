"""SPEC.md section 4: checks across the fields of one row, and across rows (duplicate names)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers import read_csv, write_csv

from importer.pipeline import validate_file
from schemas.sheet import RULES

BASE = {"name": "trunk-1", "host": "203.0.113.1"}


def _run(tmp_path: Path, rows: list[dict[str, str]], strict: bool = False) -> list[dict[str, str]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    result = validate_file(sheet, report_dir=tmp_path / "reports", strict=strict)
    return read_csv(result.paths.results_csv)


ERRORS = [
    pytest.param(
        {"session-minse": "1800", "session-expires": "900"},
        "session-expires-below-minse",
        "session-expires: 900 is below session-minse 1800; RFC 4028 needs it at least as long",
        id="session-expires-below-minse",
    ),
    pytest.param(
        {"audio_codecs": "ulaw,alaw", "codec_order": "g729,ulaw"},
        "codec-not-enabled",
        "codec_order: g729 is not enabled in audio_codecs (ulaw,alaw); enable it there or drop "
        "it from codec_order",
        id="codec-order-disabled-codec",
    ),
    pytest.param(
        {"audio_codecs": "none", "codec_order": "ulaw,alaw"},
        "codec-not-enabled",
        "codec_order: ulaw, alaw are not enabled in audio_codecs (none); enable it there or drop "
        "it from codec_order",
        id="codec-order-all-disabled",
    ),
    pytest.param(
        {"codec_order": "ulaw,g729,ulaw"},
        "invalid-value",
        "codec_order: names ulaw twice",
        id="codec-order-twice",
    ),
    pytest.param(
        {"old_name": "trunk-0", "object_id": "7"},
        "rename-conflict",
        "old_name: old_name and object_id are both set; rename with one of them",
        id="old-name-with-object-id",
    ),
    pytest.param(
        {"old_name": "trunk-1"},
        "rename-to-same-name",
        "old_name: 'trunk-1' is the same as name; leave old_name empty unless the endpoint is "
        "being renamed",
        id="old-name-equals-name",
    ),
    pytest.param(
        {"host": "dynamic"},
        "open-registration",
        "host: dynamic with no secret, remotesecret or auth would let anyone register as this "
        "endpoint; add a secret",
        id="dynamic-without-secret",
    ),
]


@pytest.mark.parametrize(("cells", "code", "message"), ERRORS)
def test_cross_field_errors_reject_the_row(
    tmp_path: Path, cells: dict[str, str], code: str, message: str
) -> None:
    (line,) = _run(tmp_path, [{**BASE, **cells}])
    assert (line["outcome"], line["error_key"], line["message"]) == ("rejected", code, message)


@pytest.mark.parametrize("secret_field", ["secret", "remotesecret", "auth"])
def test_dynamic_host_with_any_secret_is_fine(tmp_path: Path, secret_field: str) -> None:
    (line,) = _run(tmp_path, [{**BASE, "host": "dynamic", secret_field: "s3cr3t"}])
    assert (line["outcome"], line["message"]) == ("valid", "")


def test_session_expires_equal_to_minse_is_fine(tmp_path: Path) -> None:
    (line,) = _run(tmp_path, [{**BASE, "session-minse": "600", "session-expires": "600"}])
    assert line["outcome"] == "valid"


def test_duplicate_names_reject_every_copy_naming_the_others(tmp_path: Path) -> None:
    rows = [
        {"name": "Acme-1", "host": "203.0.113.1"},
        {"name": "other", "host": "203.0.113.2"},
        {"name": "acme-1", "host": "203.0.113.3"},
        {"name": "ACME-1", "host": "203.0.113.4"},
    ]
    lines = _run(tmp_path, rows)
    assert [(x["row"], x["outcome"], x["message"]) for x in lines] == [
        ("2", "rejected", "name: 'Acme-1' is also used on rows 4, 5"),
        ("3", "valid", ""),
        ("4", "rejected", "name: 'acme-1' is also used on rows 2, 5"),
        ("5", "rejected", "name: 'ACME-1' is also used on rows 2, 4"),
    ]
    assert {x["error_key"] for x in lines if x["outcome"] == "rejected"} == {"duplicate-name"}


WARNINGS = [
    pytest.param(
        {"host": "sip.carrier.example", "registration": "out", "secret": "pw"},
        "registration-incomplete",
        "registration: out needs a defaultuser to register",
        id="register-out-without-user",
    ),
    pytest.param(
        {"host": "dynamic", "registration": "out", "defaultuser": "u", "secret": "pw"},
        "registration-incomplete",
        "registration: out needs a host other than dynamic to register",
        id="register-out-to-dynamic",
    ),
    pytest.param(
        {"registration": "out"},
        "registration-incomplete",
        "registration: out needs a defaultuser, a secret, remotesecret or auth to register",
        id="register-out-with-nothing",
    ),
    pytest.param(
        {"timert1": "1000", "timerb": "32000"},
        "timerb-below-64-timert1",
        "timerb: 32000 is below 64 x timert1 (1000); chan_sip will raise it to 64 x timert1",
        id="timerb-below-64-t1",
    ),
    pytest.param(
        {"timert1": "1000"},
        "timerb-below-64-timert1",
        "timerb: 32000 (default) is below 64 x timert1 (1000); chan_sip will raise it to 64 x "
        "timert1",
        id="default-timerb-below-64-t1",
    ),
    pytest.param(
        {"timert1": "1000", "timerb": "63500"},
        "timerb-below-64-timert1",
        "timerb: 63500 is below 64 x timert1 (1000); chan_sip will raise it to 64 x timert1",
        id="timerb-just-below-64-t1",
    ),
    pytest.param(
        {"timert1": "300", "timerb": "19200", "t1min": "400ms"},
        "timert1-below-t1min",
        "timert1: 300 is below t1min (400ms); calls to this endpoint may time out",
        id="timert1-below-t1min",
    ),
]


@pytest.mark.parametrize(("cells", "code", "message"), WARNINGS)
def test_warnings_keep_the_row_unless_strict(
    tmp_path: Path, cells: dict[str, str], code: str, message: str
) -> None:
    (line,) = _run(tmp_path / "lenient", [{**BASE, **cells}])
    assert (line["outcome"], line["error_key"], line["message"]) == (
        "valid",
        "",
        f"warning: {message}",
    )
    (strict,) = _run(tmp_path / "strict", [{**BASE, **cells}], strict=True)
    assert (strict["outcome"], strict["error_key"], strict["message"]) == (
        "rejected",
        code,
        message,
    )


def test_masked_secret_is_a_warning_even_when_strict(tmp_path: Path) -> None:
    for strict in (False, True):
        (line,) = _run(tmp_path / str(strict), [{**BASE, "secret": "********"}], strict=strict)
        assert line["outcome"] == "valid"
        assert line["message"] == (
            "warning: secret: is masked (********); import and sync keep the gateway's current "
            "secret, and reject the row if the endpoint does not exist yet"
        )


def test_a_rule_does_not_pile_onto_a_value_its_domain_already_rejected(tmp_path: Path) -> None:
    (line,) = _run(tmp_path, [{**BASE, "session-minse": "lots", "session-expires": "100"}])
    assert line["message"] == "session-minse: 'lots' is not a whole number"


@pytest.mark.parametrize(
    "cells",
    [
        {"host": "sip.carrier.example", "registration": "out", "defaultuser": "u", "secret": "pw"},
        {"host": "203.0.113.9", "registration": "out", "defaultuser": "u", "remotesecret": "pw"},
        {"host": "sip.carrier.example", "registration": "out", "defaultuser": "u", "auth": "a:b"},
        {"host": "dynamic", "registration": "in", "secret": "pw"},
        {"host": "dynamic", "secret": "pw", "remotesecret": "pw2"},
        {"codec_order": "g729,ulaw"},
        {"audio_codecs": "ulaw", "codec_order": "ulaw"},
        {"timert1": "500", "timerb": "32000"},
        {"timert1": "500", "t1min": "500"},
    ],
    ids=[
        "out-secret",
        "out-remotesecret",
        "out-auth",
        "in-dynamic",
        "dynamic-two-secrets",
        "order-alone",
        "order-on",
        "timerb-exactly-64-timert1",
        "timert1-equal-to-t1min",
    ],
)
def test_rows_that_break_no_rule_get_no_message(tmp_path: Path, cells: dict[str, str]) -> None:
    (line,) = _run(tmp_path, [{**BASE, **cells}], strict=True)
    assert (line["outcome"], line["error_key"], line["message"]) == ("valid", "", "")


def test_a_row_without_registration_is_not_checked_for_it(tmp_path: Path) -> None:
    # The column is there (another row registers out), this row's cell is empty.
    rows = [
        {**BASE, "registration": "out", "defaultuser": "u", "secret": "pw"},
        {**BASE, "name": "t-2"},
    ]
    lines = _run(tmp_path, rows, strict=True)
    assert [(x["outcome"], x["message"]) for x in lines] == [("valid", ""), ("valid", "")]


def test_rules_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES[0].code = "other"  # type: ignore[misc]
