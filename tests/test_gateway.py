"""The local gateway over real HTTP: login, every error key, renames, deletes, every domain of
SPEC section 3, Example One, concurrency and durability under SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import ROOT, TEST_PASSWORD, TEST_USER, GatewayProcess

from schemas import PARAMETERS

Launch = Callable[..., GatewayProcess]

NOT_LOGGED_IN_BODY = {"result": "error", "error": "not logged in", "error_key": "NOT_LOGGED_IN"}

#: SPEC section 2's Example One, values as in seeds/sip_endpoint.save.txt.
EXAMPLE_ONE: dict[str, Any] = {
    "transport": ["UDP"],
    "nat": "yes",
    "name": "8005555555",
    "secret": "sdlkfj9348jkh7",
    "defaultuser": "38fh48fjh47f",
    "host": "dynamic",
    "qualifyfreq": "60",
}

_names = itertools.count()


def fresh(prefix: str = "ep") -> str:
    """A name no other test uses (tests share one gateway)."""
    return f"{prefix}-{next(_names)}-{time.monotonic_ns() % 10**9}"


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["result"] == "success", body
    return body


def error(response: httpx.Response, key: str, status: int = 200) -> str:
    """Assert an error answer with ``key``; return its text."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["result"] == "error" and body["error_key"] == key, body
    assert isinstance(body["error"], str) and body["error"]
    text: str = body["error"]
    return text


def save(gw: GatewayProcess, **params: Any) -> httpx.Response:
    return gw.call("sip_endpoint.save", _wire(params))


def _wire(params: dict[str, Any]) -> dict[str, Any]:
    # Python names cannot hold '-': session_expires= means session-expires.
    return {k.replace("session_", "session-") if k.startswith("session_") else k: v
            for k, v in params.items()}  # fmt: skip


def get(gw: GatewayProcess, name: str) -> dict[str, Any]:
    endpoint: dict[str, Any] = ok(gw.call("sip_endpoint.list", {"object_name": name}))[
        "sip_endpoint"
    ]
    return endpoint


# -- login and sessions ----------------------------------------------------------------------


def test_login_sets_a_session_cookie(shared_gateway: GatewayProcess) -> None:
    with httpx.Client(base_url=shared_gateway.url) as client:
        response = client.post(
            "/admin/main.html", data={"admin_uid": TEST_USER, "admin_password": TEST_PASSWORD}
        )
        assert response.status_code == 200
        assert response.json() == {"result": "success"}
        assert "httponly" in response.headers["set-cookie"].lower()
        ok(client.post("/json", json={"method": "sip_endpoints.list"}))


@pytest.mark.parametrize(
    "form",
    [
        {"admin_uid": TEST_USER, "admin_password": "wrong"},
        {"admin_uid": "admin", "admin_password": "admin"},
        {"admin_uid": TEST_USER, "admin_password": TEST_PASSWORD + "x"},
        {"admin_uid": TEST_USER},
        {},
    ],
    ids=["wrong-password", "default-admin-not-active", "longer-password", "no-password", "empty"],
)
def test_bad_login_is_login_failed(gateway_server: Launch, form: dict[str, str]) -> None:
    # A gateway of its own: failed logins count towards this address's login throttle.
    with httpx.Client(base_url=gateway_server().url) as client:
        response = client.post("/admin/main.html", data=form)
        error(response, "LOGIN_FAILED", status=401)
        assert "set-cookie" not in response.headers
        # ... and no session came out of it.
        error(client.post("/json", json={"method": "sip_endpoints.list"}), "NOT_LOGGED_IN", 401)


def test_login_wants_a_form(shared_gateway: GatewayProcess) -> None:
    response = httpx.post(
        f"{shared_gateway.url}/admin/main.html",
        json={"admin_uid": TEST_USER, "admin_password": TEST_PASSWORD},
    )
    error(response, "MALFORMED_REQUEST", status=400)


@pytest.mark.parametrize(
    ("verb", "path"), [("POST", "/json"), ("GET", "/admin/stats"), ("GET", "/admin/sip.conf")]
)
def test_no_session_is_401(shared_gateway: GatewayProcess, verb: str, path: str) -> None:
    body = {"method": "sip_endpoints.list"} if verb == "POST" else None
    for cookies in ({}, {"sip_import_session": "forged-token"}):
        with httpx.Client(base_url=shared_gateway.url, cookies=cookies) as client:
            response = client.request(verb, path, json=body)
            assert response.status_code == 401
            assert response.json() == NOT_LOGGED_IN_BODY


def test_session_expires(gateway_server: Launch) -> None:
    ttl = 1.5  # long enough that a loaded machine still makes the first call in time
    gw = gateway_server("--session-ttl", str(ttl))
    with gw.login_client() as client:
        logged_in = time.monotonic()  # the server's session started before this
        ok(client.post("/json", json={"method": "sip_endpoints.list"}))
        time.sleep(max(0.0, logged_in + ttl + 0.2 - time.monotonic()))
        response = client.post("/json", json={"method": "sip_endpoints.list"})
        assert response.status_code == 401 and response.json() == NOT_LOGGED_IN_BODY
    with gw.login_client() as client:  # logging in again is all it takes
        ok(client.post("/json", json={"method": "sip_endpoints.list"}))


def test_default_credentials_when_both_variables_unset(gateway_server: Launch) -> None:
    gw = gateway_server(env={"SIP_IMPORT_USER": None, "SIP_IMPORT_PASSWORD": None})
    assert (gw.user, gw.password) == ("admin", "admin")
    ok(gw.call("sip_endpoints.list"))
    assert gw.log.read_text().count("accepts user 'admin' with password 'admin'") == 1


def test_one_credential_variable_alone_is_refused(tmp_path: Any) -> None:
    env = {"PATH": "/usr/bin:/bin", "SIP_IMPORT_USER": "someone"}
    cmd = [sys.executable, "-m", "gateway", "--port", "0", "--db", str(tmp_path / "gw.db")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "SIP_IMPORT_PASSWORD is not set" in done.stderr


# -- request shape -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"this is not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"sip_endpoints.list"', "application/json"),
        (b"null", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b'{"parameters": {}}', "application/json"),
        (b'{"method": 7}', "application/json"),
        (b'{"method": "sip_endpoints.list", "parameters": []}', "application/json"),
        (b'{"method": "sip_endpoints.list", "parameters": "x"}', "application/json"),
        (b"other=1", "application/x-www-form-urlencoded"),
        (b"request=%5B%5D", "application/x-www-form-urlencoded"),
        (b"request=nope", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_request_is_400(
    shared_gateway: GatewayProcess, content: bytes, content_type: str
) -> None:
    response = shared_gateway.client.post(
        "/json", content=content, headers={"content-type": content_type}
    )
    error(response, "MALFORMED_REQUEST", status=400)


def test_form_body_works_like_json(shared_gateway: GatewayProcess) -> None:
    name = fresh("form")
    request = json.dumps({"method": "sip_endpoint.save", "parameters": {"name": name}})
    ok(shared_gateway.client.post("/json", data={"request": request}))
    assert get(shared_gateway, name)["name"] == name


def test_parameters_may_be_omitted_for_the_full_list(shared_gateway: GatewayProcess) -> None:
    ok(shared_gateway.client.post("/json", json={"method": "sip_endpoints.list"}))
    ok(shared_gateway.client.post("/json", json={"method": "sip_endpoints.list", "parameters": {}}))


# -- every error key ---------------------------------------------------------------------------


def _scenario_endpoint(gw: GatewayProcess) -> tuple[str, str]:
    name = fresh("keys")
    return name, ok(save(gw, name=name))["object_id"]


ERROR_SCENARIOS: dict[str, Callable[[GatewayProcess], httpx.Response]] = {
    "UNKNOWN_METHOD": lambda gw: gw.call("sip_endpoint.frobnicate", {}),
    "MISSING_PARAMETER:save": lambda gw: gw.call("sip_endpoint.save", {"host": "dynamic"}),
    "MISSING_PARAMETER:delete": lambda gw: gw.call("sip_endpoint.delete", {}),
    "MISSING_PARAMETER:list": lambda gw: gw.call("sip_endpoint.list", {}),
    "UNKNOWN_PARAMETER:save": lambda gw: save(gw, name=fresh(), colour="blue"),
    "UNKNOWN_PARAMETER:delete": lambda gw: gw.call("sip_endpoint.delete", {"name": "x"}),
    "UNKNOWN_PARAMETER:list-all": lambda gw: gw.call("sip_endpoints.list", {"name": "x"}),
    "INVALID_PARAMETER": lambda gw: save(gw, name=fresh(), port="0"),
    "ENDPOINT_NOT_FOUND:old_name": lambda gw: save(gw, name=fresh(), old_name=fresh("none")),
    "ENDPOINT_NOT_FOUND:object_id": lambda gw: save(gw, name=fresh(), object_id="999999999"),
    "ENDPOINT_NOT_FOUND:delete": lambda gw: gw.call(
        "sip_endpoint.delete", {"object_name": fresh("none")}
    ),
    "ENDPOINT_NOT_FOUND:list": lambda gw: gw.call("sip_endpoint.list", {"object_id": "999999"}),
    "ENDPOINT_NAME_EXISTS": lambda gw: save(
        gw, name=_scenario_endpoint(gw)[0], old_name=_scenario_endpoint(gw)[0]
    ),
}


@pytest.mark.parametrize("scenario", ERROR_SCENARIOS)
def test_error_key(shared_gateway: GatewayProcess, scenario: str) -> None:
    error(ERROR_SCENARIOS[scenario](shared_gateway), scenario.split(":")[0])


def test_every_spec_error_key_has_a_test() -> None:
    spec_keys = {
        "NOT_LOGGED_IN", "LOGIN_FAILED", "UNKNOWN_METHOD", "MALFORMED_REQUEST",
        "MISSING_PARAMETER", "INVALID_PARAMETER", "UNKNOWN_PARAMETER", "ENDPOINT_NOT_FOUND",
        "ENDPOINT_NAME_EXISTS", "SERVER_BUSY", "RATE_LIMITED",
    }  # fmt: skip
    here = {s.split(":")[0] for s in ERROR_SCENARIOS}
    # The rest are tested above (login, sessions, request shape) and in test_gateway_faults.py.
    elsewhere = {
        "NOT_LOGGED_IN",
        "LOGIN_FAILED",
        "MALFORMED_REQUEST",
        "SERVER_BUSY",
        "RATE_LIMITED",
    }
    assert here | elsewhere == spec_keys


def test_unknown_method_is_not_counted_as_a_call(shared_gateway: GatewayProcess) -> None:
    error(shared_gateway.call("nope.nothing"), "UNKNOWN_METHOD")
    assert "nope.nothing" not in shared_gateway.stats()["calls"]


# -- every domain of SPEC section 3, server side ---------------------------------------------

#: One value per parameter that its domain must refuse (with a valid name alongside).
BAD_VALUES: dict[str, Any] = {
    "name": "has space",
    "host": "not a host!",
    "defaultuser": "two words",
    "secret": "line\nbreak",
    "registration": "both",
    "transport": ["SCTP"],
    "nat": "maybe",
    "port": "70000",
    "old_name": "bad/old",
    "object_id": "0",
    "auth": "user:pw@realm with space",
    "fromuser": "from user",
    "fromdomain": "-bad-.example",
    "remotesecret": "",
    "qualify": "yes",
    "qualifyfreq": "0",
    "dtmfmode": "rfc4733",
    "trustrpid": "2",
    "sendrpid": "true",
    "rpid_format": "pai",
    "callingpres": "hidden",
    "progressinband": "maybe",
    "allowoverlap": "2",
    "usereqphone": "2",
    "use_q850_reason": "2",
    "registertrying": "2",
    "honorsdpversion": "2",
    "max_forwards": "256",
    "outboundproxy": "proxy..example",
    "timert1": "199",
    "timerb": "100",
    "session-timers": "always",
    "session-minse": "89",
    "session-expires": "89",
    "session-refresher": "both",
    "audio_codecs": [{"id": "opus", "value": "1"}],
    "codec_order": [{"id": "ulaw", "order": "2"}],
    "alaw_pr": "15",
    "ulaw_pr": "60",
    "gsm_pr": "30",
    "g722_pr": "50",
    "g726_pr": "210",
    "g729_pr": "45",
    "g726nonstandard": "2",
    "preferred_codec_only": "2",
    "t38pt_udptl": "yes",
    "t1min": "0",
    "allowtransfer": "2",
    "promiscredir": "2",
    "insecure": "2",
    "enable_advanced": "2",
    "rtptimeout": "60",
    "rtpholdtimeout": "60",
    "t38transport": "tcp",
    "extension": "12\r\n34",
    "rtpjittermode": "fixed",
    "rtpjitterdelay": "5",
}


def test_bad_values_cover_the_whole_table() -> None:
    assert set(BAD_VALUES) == set(PARAMETERS)


@pytest.mark.parametrize("field", list(BAD_VALUES))
def test_every_domain_is_enforced(shared_gateway: GatewayProcess, field: str) -> None:
    name = fresh("domain")
    params = {"name": name, field: BAD_VALUES[field]}
    text = error(shared_gateway.call("sip_endpoint.save", params), "INVALID_PARAMETER")
    assert text.startswith(f"{field}: "), text
    assert "(allowed: " in text
    error(shared_gateway.call("sip_endpoint.list", {"object_name": name}), "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize("value", [5060, None, True, ["5060"], {"v": "5060"}])
def test_scalars_must_be_strings(shared_gateway: GatewayProcess, value: Any) -> None:
    text = error(save(shared_gateway, name=fresh(), port=value), "INVALID_PARAMETER")
    assert text.startswith("port: ")


def test_all_problems_are_reported_at_once(shared_gateway: GatewayProcess) -> None:
    text = error(save(shared_gateway, name=fresh(), port="0", nat="x"), "INVALID_PARAMETER")
    assert "port: " in text and "nat: " in text


# -- checks that need the stored values --------------------------------------------------------


def test_old_name_with_object_id_is_invalid(shared_gateway: GatewayProcess) -> None:
    name = fresh()
    object_id = ok(save(shared_gateway, name=name))["object_id"]
    text = error(
        save(shared_gateway, name=fresh(), old_name=name, object_id=object_id),
        "INVALID_PARAMETER",
    )
    assert text.startswith("old_name: ")


def test_old_name_equal_to_name_is_invalid(shared_gateway: GatewayProcess) -> None:
    name = fresh()
    ok(save(shared_gateway, name=name))
    text = error(save(shared_gateway, name=name, old_name=name), "INVALID_PARAMETER")
    assert text.startswith("old_name: ")


def test_session_expires_against_effective_minse(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("timers")
    text = error(
        save(gw, name=name, session_minse="600", session_expires="300"), "INVALID_PARAMETER"
    )
    assert text.startswith("session-expires: 300 is below session-minse 600")
    ok(save(gw, name=name, session_minse="600"))  # default expires 1800 is fine
    # The stored minse counts when only expires is sent ...
    error(save(gw, name=name, session_expires="599"), "INVALID_PARAMETER")
    ok(save(gw, name=name, session_expires="600"))
    # ... and the stored expires counts when only minse is sent.
    error(save(gw, name=name, session_minse="601"), "INVALID_PARAMETER")
    # The defaults (90) count for a new endpoint.
    ok(save(gw, name=fresh("timers"), session_expires="90"))
    assert get(gw, name)["session-expires"] == "600"


def test_codec_order_must_name_enabled_codecs(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("codecs")
    off = [{"id": "g729", "value": "0"}]
    order = [{"id": "ulaw", "order": "1"}, {"id": "g729", "order": "2"}]
    text = error(save(gw, name=name, audio_codecs=off, codec_order=order), "INVALID_PARAMETER")
    assert text.startswith("codec_order: names g729")
    ok(save(gw, name=name, audio_codecs=off))
    error(save(gw, name=name, codec_order=order), "INVALID_PARAMETER")  # stored codecs count
    ok(save(gw, name=name, codec_order=order[:1]))
    # Disabling a codec the stored order names is refused as well.
    error(save(gw, name=name, audio_codecs=[{"id": "ulaw", "value": "0"}]), "INVALID_PARAMETER")


def test_audio_codecs_merge_per_codec(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("codecs")
    ok(save(gw, name=name, audio_codecs=[{"id": "gsm", "value": "0"}]))
    ok(save(gw, name=name, audio_codecs=[{"id": "g729", "value": "0"}]))
    stored = {c["id"]: c["value"] for c in get(gw, name)["audio_codecs"]}
    assert stored == {"ulaw": "1", "alaw": "1", "g722": "1", "g726": "1", "g729": "0", "gsm": "0"}


# -- save, merge, upsert ----------------------------------------------------------------------


def test_example_one(shared_gateway: GatewayProcess) -> None:
    """Acceptance 1: Example One answers success; the full list returns it with strings."""
    response = shared_gateway.call("sip_endpoint.save", EXAMPLE_ONE)
    body = ok(response)
    assert set(body) <= {"result", "object_id"} and body["object_id"].isdigit()
    print("Example One answered:", response.text)
    # The form-field body style gives the same answer (it updates the same endpoint).
    request = json.dumps({"method": "sip_endpoint.save", "parameters": EXAMPLE_ONE})
    assert ok(shared_gateway.client.post("/json", data={"request": request})) == body

    listed = ok(shared_gateway.call("sip_endpoints.list"))["sip_endpoints"]
    (endpoint,) = [e for e in listed if e["name"] == "8005555555"]
    print("sip_endpoints.list returned:", json.dumps(endpoint))
    assert endpoint == {"object_id": body["object_id"], **EXAMPLE_ONE}
    assert endpoint["transport"] == ["UDP"]
    assert all(isinstance(v, str) for k, v in endpoint.items() if k != "transport")


def test_save_merges_with_stored_values(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("merge")
    first = ok(save(gw, name=name, nat="no", secret="s3cret", transport=["UDP", "TLS"]))
    second = ok(save(gw, name=name, port="5061", nat="force_rport"))
    assert first["object_id"] == second["object_id"]
    assert get(gw, name) == {
        "object_id": first["object_id"],
        "name": name,
        "secret": "s3cret",
        "transport": ["UDP", "TLS"],
        "nat": "force_rport",
        "port": "5061",
    }


def test_names_are_unique_case_insensitively(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("Case")
    object_id = ok(save(gw, name=name, port="5060"))["object_id"]
    assert ok(save(gw, name=name.upper(), port="5070"))["object_id"] == object_id
    endpoint = get(gw, name.lower())
    # One endpoint, with the spelling last sent and the values merged.
    assert (endpoint["object_id"], endpoint["name"], endpoint["port"]) == (
        object_id,
        name.upper(),
        "5070",
    )


def test_list_one_by_name_and_by_id(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("list")
    object_id = ok(save(gw, name=name, host="10.0.0.1"))["object_id"]
    by_name = ok(gw.call("sip_endpoint.list", {"object_name": name}))
    by_id = ok(gw.call("sip_endpoint.list", {"object_id": object_id}))
    assert by_name == by_id
    assert by_id["sip_endpoint"] == {"object_id": object_id, "name": name, "host": "10.0.0.1"}


# -- rename ---------------------------------------------------------------------------------------


def test_rename_by_old_name(shared_gateway: GatewayProcess) -> None:
    gw, old, new = shared_gateway, fresh("old"), fresh("new")
    object_id = ok(save(gw, name=old, port="5060"))["object_id"]
    assert ok(save(gw, name=new, old_name=old, nat="no"))["object_id"] == object_id
    assert get(gw, new) == {"object_id": object_id, "name": new, "port": "5060", "nat": "no"}
    error(gw.call("sip_endpoint.list", {"object_name": old}), "ENDPOINT_NOT_FOUND")


def test_rename_by_object_id(shared_gateway: GatewayProcess) -> None:
    gw, old, new = shared_gateway, fresh("old"), fresh("new")
    object_id = ok(save(gw, name=old, port="5060"))["object_id"]
    assert ok(save(gw, name=new, object_id=object_id))["object_id"] == object_id
    assert get(gw, new) == {"object_id": object_id, "name": new, "port": "5060"}
    error(gw.call("sip_endpoint.list", {"object_name": old}), "ENDPOINT_NOT_FOUND")


def test_rename_changing_only_case(shared_gateway: GatewayProcess) -> None:
    gw, old = shared_gateway, fresh("lower")
    object_id = ok(save(gw, name=old))["object_id"]
    assert ok(save(gw, name=old.upper(), old_name=old))["object_id"] == object_id
    assert get(gw, old)["name"] == old.upper()


@pytest.mark.parametrize("by", ["old_name", "object_id"])
def test_rename_onto_a_used_name(shared_gateway: GatewayProcess, by: str) -> None:
    gw, first, second = shared_gateway, fresh("a"), fresh("b")
    first_id = ok(save(gw, name=first, port="1"))["object_id"]
    ok(save(gw, name=second, port="2"))
    address = {"old_name": first} if by == "old_name" else {"object_id": first_id}
    text = error(save(gw, name=second.upper(), **address), "ENDPOINT_NAME_EXISTS")
    assert second.upper() in text
    assert get(gw, first)["port"] == "1" and get(gw, second)["port"] == "2"


@pytest.mark.parametrize("by", ["old_name", "object_id"])
def test_rename_of_unknown_endpoint(shared_gateway: GatewayProcess, by: str) -> None:
    address = {"old_name": fresh("ghost")} if by == "old_name" else {"object_id": "987654321"}
    new = fresh()
    error(save(shared_gateway, name=new, **address), "ENDPOINT_NOT_FOUND")
    error(shared_gateway.call("sip_endpoint.list", {"object_name": new}), "ENDPOINT_NOT_FOUND")


# -- delete ---------------------------------------------------------------------------------------

DELETED = {"result": "success", "invalid_rules": [], "invalid_groups": []}


def test_delete_by_name(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("del")
    ok(save(gw, name=name))
    response = gw.call("sip_endpoint.delete", {"object_name": name.upper()})
    assert response.status_code == 200 and response.json() == DELETED
    error(gw.call("sip_endpoint.list", {"object_name": name}), "ENDPOINT_NOT_FOUND")
    error(gw.call("sip_endpoint.delete", {"object_name": name}), "ENDPOINT_NOT_FOUND")


def test_delete_by_id_with_object_type(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("del")
    object_id = ok(save(gw, name=name))["object_id"]
    params = {"object_id": object_id, "object_type": "sip_endpoint"}
    assert gw.call("sip_endpoint.delete", params).json() == DELETED
    error(gw.call("sip_endpoint.list", {"object_id": object_id}), "ENDPOINT_NOT_FOUND")
    # Ids are never reused: a new endpoint gets a new one.
    assert int(ok(save(gw, name=name))["object_id"]) > int(object_id)


def test_delete_checks_its_parameters(shared_gateway: GatewayProcess) -> None:
    gw, name = shared_gateway, fresh("del")
    object_id = ok(save(gw, name=name))["object_id"]
    error(gw.call("sip_endpoint.delete", {"object_name": name, "object_type": "trunk"}),
          "INVALID_PARAMETER")  # fmt: skip
    error(gw.call("sip_endpoint.delete", {"object_id": "x"}), "INVALID_PARAMETER")
    error(gw.call("sip_endpoint.delete", {"object_name": "a b"}), "INVALID_PARAMETER")
    # Name and id that point at different endpoints: nothing is deleted.
    error(gw.call("sip_endpoint.delete", {"object_name": fresh(), "object_id": object_id}),
          "ENDPOINT_NOT_FOUND")  # fmt: skip
    assert get(gw, name)["object_id"] == object_id


# -- stats ----------------------------------------------------------------------------------------


def test_stats_count_calls_and_saves(gateway_server: Launch) -> None:
    gw = gateway_server()
    ok(save(gw, name="one"))
    ok(save(gw, name="one", port="5060"))
    error(save(gw, name="two", port="x"), "INVALID_PARAMETER")
    ok(gw.call("sip_endpoints.list"))
    assert gw.stats() == {
        "calls": {"sip_endpoint.save": 3, "sip_endpoints.list": 1},
        "saves_by_name": {"one": 2},
        "faults": {},
    }


# -- concurrency ----------------------------------------------------------------------------------


async def _concurrent_saves(gw: GatewayProcess, bodies: list[dict[str, Any]]) -> list[Any]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(
        base_url=gw.url, cookies=gw.login_cookies(), limits=limits, timeout=30
    ) as client:
        start = asyncio.Event()

        async def one(params: dict[str, Any]) -> Any:
            await start.wait()
            response = await client.post(
                "/json", json={"method": "sip_endpoint.save", "parameters": params}
            )
            return response.json()

        tasks = [asyncio.create_task(one(b)) for b in bodies]
        await asyncio.sleep(0)
        start.set()
        return await asyncio.gather(*tasks)


def test_64_concurrent_saves_of_distinct_names_all_land(shared_gateway: GatewayProcess) -> None:
    prefix = fresh("conc")
    names = [f"{prefix}-{i}" for i in range(64)]
    answers = asyncio.run(_concurrent_saves(shared_gateway, [{"name": n} for n in names]))
    assert all(a["result"] == "success" for a in answers), answers
    assert len({a["object_id"] for a in answers}) == 64
    stored = shared_gateway.endpoints()
    assert all(n in stored for n in names)


def test_64_concurrent_saves_of_one_name_leave_one_endpoint(
    shared_gateway: GatewayProcess,
) -> None:
    name = fresh("same")
    # Different spellings and values: still one endpoint (case-insensitive names).
    spellings = [name, name.upper(), name.capitalize()]
    bodies = [{"name": spellings[i % 3], "port": str(5000 + i)} for i in range(64)]
    answers = asyncio.run(_concurrent_saves(shared_gateway, bodies))
    assert all(a["result"] == "success" for a in answers), answers
    assert len({a["object_id"] for a in answers}) == 1
    matching = [n for n in shared_gateway.endpoints() if n.lower() == name.lower()]
    assert len(matching) == 1
    with sqlite3.connect(shared_gateway.db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM endpoints WHERE name = ?", (name,)).fetchone()
    assert count == 1
    stats = shared_gateway.stats()["saves_by_name"]
    assert sum(stats.get(s, 0) for s in spellings) == 64


# -- durability -----------------------------------------------------------------------------------


async def _save_until_killed(gw: GatewayProcess, kill_after: int) -> set[str]:
    """Save continuously from 16 workers; SIGKILL the gateway once ``kill_after`` saves were
    answered success; return every name that was answered success."""
    acknowledged: set[str] = set()
    counter = itertools.count()
    async with httpx.AsyncClient(base_url=gw.url, cookies=gw.login_cookies(), timeout=10) as client:

        async def worker() -> None:
            while gw.proc.poll() is None:
                name = f"durable-{next(counter)}"
                body = {"method": "sip_endpoint.save", "parameters": {"name": name, "port": "5060"}}
                try:
                    response = await client.post("/json", json=body)
                except httpx.TransportError:
                    return  # the gateway is gone
                if response.json()["result"] == "success":
                    acknowledged.add(name)
                    if len(acknowledged) == kill_after:
                        gw.kill()
                        return

        await asyncio.gather(*(worker() for _ in range(16)))
    return acknowledged


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_sigkill_loses_no_acknowledged_save(gateway_server: Launch, synchronous: str) -> None:
    gw = gateway_server("--synchronous", synchronous)
    acknowledged = asyncio.run(_save_until_killed(gw, kill_after=150))
    assert gw.proc.returncode == -9
    assert len(acknowledged) >= 150
    restarted = gateway_server("--synchronous", synchronous, db=gw.db)
    stored = restarted.endpoints()
    missing = acknowledged - set(stored)
    assert not missing, f"{len(missing)} acknowledged saves lost: {sorted(missing)[:5]}"
    with sqlite3.connect(restarted.db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# -- hostile clients: login guessing, malformed requests, slow clients --------------------------


def _login(client: httpx.Client, password: str) -> httpx.Response:
    return client.post(
        "/admin/main.html", data={"admin_uid": TEST_USER, "admin_password": password}
    )


def test_sixth_wrong_login_within_a_minute_is_429(gateway_server: Launch) -> None:
    gw = gateway_server()
    with httpx.Client(base_url=gw.url) as client:
        for _ in range(5):
            error(_login(client, "guess"), "LOGIN_FAILED", 401)
        for password in ("guess", TEST_PASSWORD):  # locked out: not even the right one is read
            response = _login(client, password)
            text = error(response, "RATE_LIMITED", 429)
            assert text == "too many failed logins from 127.0.0.1; retry in 30 s"
            assert response.headers["retry-after"] == "30"
            assert "set-cookie" not in response.headers
    assert "Traceback" not in gw.log.read_text()


def test_a_good_login_resets_the_count(gateway_server: Launch) -> None:
    gw = gateway_server()
    with httpx.Client(base_url=gw.url) as client:
        for _ in range(4):
            error(_login(client, "guess"), "LOGIN_FAILED", 401)
        assert _login(client, TEST_PASSWORD).status_code == 200
        for _ in range(5):
            error(_login(client, "guess"), "LOGIN_FAILED", 401)
        error(_login(client, "guess"), "RATE_LIMITED", 429)


def test_login_lockouts_double_while_failures_go_on() -> None:
    from gateway.throttle import LoginThrottle

    now = [0.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(4):
        throttle.failed("10.0.0.1")
        assert throttle.retry_after("10.0.0.1") is None
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 30
    assert throttle.retry_after("10.0.0.2") is None  # per address
    waits = []
    for _ in range(9):  # one more failure each time the lockout ends
        now[0] += throttle.retry_after("10.0.0.1") or 0
        assert throttle.retry_after("10.0.0.1") is None
        throttle.failed("10.0.0.1")
        waits.append(throttle.retry_after("10.0.0.1"))
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    # A quiet minute after the lockout ended forgets the address: five tries again.
    now[0] += 3600 + 60
    for _ in range(4):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") is None
    throttle.succeeded("10.0.0.1")  # and a good login forgets it at once
    for _ in range(4):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") is None


DEEP = 3000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * DEEP + "]" * DEEP, "the request is nested deeper than 16 levels"),
        ('{"a":' * DEEP + "1" + "}" * DEEP, "the request is nested deeper than 16 levels"),
        (
            '{"method": "sip_endpoint.save", "parameters": {"name": "deep", "transport": '
            + "[" * DEEP
            + "]" * DEEP
            + "}}",
            "the request is nested deeper than 16 levels",
        ),
        # Just past the limit, where the parser itself would still cope.
        ("[" * 17 + "]" * 17, "the request is nested deeper than 16 levels"),
        (
            '{"method": "sip_endpoints.list", "parameters": {"x": NaN}}',
            "the request is not valid JSON: NaN is not JSON",
        ),
    ],
    ids=["array-3000", "object-3000", "parameter-3000", "17-levels", "nan"],
)
def test_malformed_json_of_any_depth_is_400(
    shared_gateway: GatewayProcess, content: str, message: str
) -> None:
    for body in ({"content": content.encode()}, {"data": {"request": content}}):
        response = shared_gateway.client.post(
            "/json", headers={"content-type": "application/json"} if "content" in body else {},
            **body,  # type: ignore[arg-type]
        )  # fmt: skip
        assert response.status_code == 400, response.text
        assert response.json() == {
            "result": "error", "error": message, "error_key": "MALFORMED_REQUEST"
        }  # fmt: skip
    assert "Traceback" not in shared_gateway.log.read_text()


NINES_30 = "9" * 30


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        # JSON numbers are refused while parsing, whatever the parameter table says.
        (
            "sip_endpoint.save",
            f'{{"name": "big", "object_id": {NINES_30}}}',
            "the request holds a number of 30 digits; at most 19 are allowed",
        ),
        (
            "sip_endpoint.delete",
            f'{{"object_id": {NINES_30}}}',
            "the request holds a number of 30 digits; at most 19 are allowed",
        ),
        (
            "sip_endpoint.save",
            '{"name": "big", "port": -' + "9" * 5000 + "}",
            "the request holds a number of 5000 digits; at most 19 are allowed",
        ),
        # A value the table's checks let through but no method can use (here int() refuses
        # 5,000 digits, leading zeros included) is caught at the method layer.
        (
            "sip_endpoint.save",
            '{"name": "big", "port": "' + "0" * 4999 + '5"}',
            "a parameter value cannot be used: Exceeds the limit (4300 digits) for integer string "
            "conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the "
            "limit",
        ),
    ],
    ids=[
        "save-object_id-30-digits",
        "delete-object_id-30-digits",
        "port-5000-digits",
        "port-5000-digits-with-leading-zeros",
    ],
)
def test_numbers_of_any_size_are_400(
    shared_gateway: GatewayProcess, method: str, params: str, message: str
) -> None:
    response = shared_gateway.client.post(
        "/json",
        content=f'{{"method": "{method}", "parameters": {params}}}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {
        "result": "error",
        "error": message,
        "error_key": "INVALID_PARAMETER",
    }
    error(shared_gateway.call("sip_endpoint.list", {"object_name": "big"}), "ENDPOINT_NOT_FOUND")
    assert "Traceback" not in shared_gateway.log.read_text()


def _raw(gw: GatewayProcess, request: bytes, pause_s: float = 0.0) -> tuple[bytes, float]:
    """Send ``request`` byte by byte, ``pause_s`` apart, then read until the server closes;
    returns what it sent and when it closed (seconds after the first byte)."""
    host, port = gw.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        started = time.monotonic()
        chunks = [request[i : i + 1] for i in range(len(request))] if pause_s else [request]
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # closed by the server while we were still sending
                break
            time.sleep(pause_s)
        received = b""
        while data := sock.recv(65536):
            received += data
        return received, time.monotonic() - started


def test_slow_request_headers_are_cut_off(gateway_server: Launch) -> None:
    gw = gateway_server("--header-timeout", "1")
    # One header byte every 0.2 s would take 10 s; the deadline does not restart per byte.
    trickle = b"POST /json HTTP/1.1\r\nHost: gateway\r\nX-Slow: " + b"x" * 40
    answer, closed_after = _raw(gw, trickle, pause_s=0.2)
    assert (
        answer == b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    assert closed_after < 5
    silent, _ = _raw(gw, b"")  # a connection that never sends a byte is closed too
    assert silent.startswith(b"HTTP/1.1 408 ")
    huge = b"POST /json HTTP/1.1\r\n" + b"X-Big: " + b"x" * 100_000 + b"\r\n"
    answer, _ = _raw(gw, huge)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    log = gw.log.read_text()
    assert log.count("did not send complete request headers within 1 s") == 2
    assert "sent more than 65536 bytes of request headers" in log
    assert "Traceback" not in log
    ok(gw.call("sip_endpoints.list"))  # everyone else is served as before


@pytest.mark.parametrize("path", ["/json", "/admin/main.html"])
def test_a_stalled_body_is_408_and_closes_the_connection(gateway_server: Launch, path: str) -> None:
    gw = gateway_server("--body-timeout", "1")
    cookie = gw.login_cookies()["sip_import_session"]
    head = (
        f"POST {path} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/x-www-form-urlencoded"
        f"\r\nContent-Length: 100\r\nCookie: sip_import_session={cookie}\r\n\r\n"
    ).encode()
    answer, _ = _raw(gw, head + b"request=")  # 8 of the 100 bytes, then nothing
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower().split(b"\r\n")
    assert json.loads(body) == {
        "result": "error",
        "error": "the request body did not arrive within 1 s",
        "error_key": "MALFORMED_REQUEST",
    }
    assert "Traceback" not in gw.log.read_text()
