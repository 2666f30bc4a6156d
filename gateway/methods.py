"""The four API methods of SPEC.md section 2.

Each method is split in two: ``check`` looks only at the request (cheap, reuses the one
parameter table in ``schemas``), and ``apply`` runs inside a database transaction (for a save,
in the store's group commit), where it can judge what only a server knows: existing names,
object ids and the values already stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas import CODECS, PARAMETERS, check_wire_value
from schemas.text import quote

from . import store
from .errors import (
    ENDPOINT_NAME_EXISTS,
    ENDPOINT_NOT_FOUND,
    INVALID_PARAMETER,
    MISSING_PARAMETER,
    UNKNOWN_PARAMETER,
    ApiError,
)

__all__ = ["METHODS", "Method"]

#: Parameters that address an endpoint in a save; they are not stored with it.
_ADDRESSING = ("name", "old_name", "object_id")
_DELETE_PARAMS = ("object_name", "object_id", "object_type")
_LOOKUP_PARAMS = ("object_name", "object_id")

Params = dict[str, Any]
Result = dict[str, Any]


@dataclass(frozen=True)
class Method:
    name: str
    #: Whether ``apply`` needs the write lock (and a durable commit).
    writes: bool
    check: Callable[[Params], None]
    apply: Callable[[sqlite3.Connection, Params], Result]
    #: When set, the answer as JSON bytes, for the server to send as they are (same content
    #: as ``apply``'s result encoded).
    encoded: Callable[[sqlite3.Connection, Params], bytes] | None = None


def _invalid(message: str) -> ApiError:
    return ApiError(INVALID_PARAMETER, message)


def _reject_unknown(params: Params, known: tuple[str, ...] | dict[str, Any], method: str) -> None:
    unknown = [key for key in params if key not in known]
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise ApiError(UNKNOWN_PARAMETER, f"unknown parameter{plural} {names} for {method}")


def _check_values(params: Params) -> None:
    """Every domain of SPEC section 3, with the table's own wording; all problems at once."""
    reasons = [reason for key, value in params.items() if (reason := check_wire_value(key, value))]
    if reasons:
        raise _invalid("; ".join(reasons))


def _check_lookup(params: Params, method: str) -> None:
    """``object_name`` / ``object_id``: at least one, each well formed."""
    if "object_name" not in params and "object_id" not in params:
        raise ApiError(MISSING_PARAMETER, f"{method} needs object_name or object_id")
    reasons = []
    if "object_name" in params:
        # The name domain's reason, relabelled: the client sent it as object_name.
        problem = PARAMETERS["name"].domain.wire_problem(params["object_name"])
        if problem:
            reasons.append(
                f"object_name: {problem} (allowed: {PARAMETERS['name'].domain.allowed()})"
            )
    if "object_id" in params and (problem := check_wire_value("object_id", params["object_id"])):
        reasons.append(problem)
    if reasons:
        raise _invalid("; ".join(reasons))


def _find(conn: sqlite3.Connection, params: Params) -> store.Row:
    """The endpoint named by object_name and/or object_id (both must agree when both given)."""
    name: str | None = params.get("object_name")
    raw_id: str | None = params.get("object_id")
    if raw_id is not None:
        row = store.by_id(conn, int(raw_id))
    else:
        assert name is not None  # check() demanded one of the two
        row = store.by_name(conn, name)
    if row is None or (name is not None and row.name.lower() != name.lower()):
        what = " and ".join(
            f"{key} {params[key]!r}" for key in _LOOKUP_PARAMS if params.get(key) is not None
        )
        raise ApiError(ENDPOINT_NOT_FOUND, f"no sip endpoint with {what}")
    return row


# -- sip_endpoint.save --------------------------------------------------------------------------


def _check_save(params: Params) -> None:
    _reject_unknown(params, PARAMETERS, "sip_endpoint.save")
    if "name" not in params:
        raise ApiError(MISSING_PARAMETER, "name: required (the endpoint's name)")
    _check_values(params)
    if "old_name" in params and "object_id" in params:
        raise _invalid("old_name: not allowed together with object_id; give one of them to rename")
    if params.get("old_name") == params["name"]:
        # Case-only renames ('abc' -> 'ABC') are fine: they differ, and hit the same row.
        raise _invalid("old_name: equals name; send old_name only to rename an endpoint")


def _merge_codecs(stored: list[dict[str, str]] | None, sent: list[dict[str, str]]) -> list[Any]:
    """Per-codec merge, all six in the table's order: a client that sends one codec's switch
    changes that codec only, as the gateway's six checkboxes would."""
    enabled = {codec: "1" for codec in CODECS}
    for item in (stored or []) + sent:
        enabled[item["id"]] = item["value"]
    return [{"id": codec, "value": enabled[codec]} for codec in CODECS]


def _merge(stored: dict[str, Any], sent: Params) -> dict[str, Any]:
    """Parameters not sent keep their stored values (SPEC section 3)."""
    merged = dict(stored)
    for key, value in sent.items():
        if key in _ADDRESSING:
            continue
        if key == "audio_codecs":
            value = _merge_codecs(stored.get("audio_codecs"), value)
        merged[key] = value
    # Table order, so stored records (and sip.conf) read the same whatever order clients send.
    return {key: merged[key] for key in PARAMETERS if key in merged}


def _effective(data: dict[str, Any], key: str) -> str:
    value = data.get(key, PARAMETERS[key].default)
    assert isinstance(value, str), key  # only called for scalar keys that have defaults
    return value


def _check_effective(data: dict[str, Any]) -> None:
    """Checks across fields that need the stored values (SPEC section 4)."""
    expires = int(_effective(data, "session-expires"))
    minse = int(_effective(data, "session-minse"))
    if expires < minse:
        raise _invalid(
            f"session-expires: {expires} is below session-minse {minse} "
            "(allowed: at least the endpoint's session-minse, RFC 4028)"
        )
    enabled = {c["id"] for c in _merge_codecs(data.get("audio_codecs"), []) if c["value"] == "1"}
    disabled = [c["id"] for c in data.get("codec_order", []) if c["id"] not in enabled]
    if disabled:
        raise _invalid(
            f"codec_order: names {', '.join(disabled)}, which audio_codecs disables "
            "(allowed: enabled codecs only)"
        )


def _apply_save(conn: sqlite3.Connection, params: Params) -> Result:
    name = params["name"]
    if "object_id" in params:
        target = store.by_id(conn, int(params["object_id"]))
        if target is None:
            raise ApiError(
                ENDPOINT_NOT_FOUND, f"no sip endpoint with object_id {params['object_id']!r}"
            )
    elif "old_name" in params:
        target = store.by_name(conn, params["old_name"])
        if target is None:
            raise ApiError(ENDPOINT_NOT_FOUND, f"no sip endpoint named {params['old_name']!r}")
    else:
        target = store.by_name(conn, name)  # upsert: None means create
    if target is not None:
        holder = store.by_name(conn, name)
        if holder is not None and holder.object_id != target.object_id:
            raise ApiError(
                ENDPOINT_NAME_EXISTS,
                f"name {name!r} is already used by endpoint {holder.object_id}; "
                f"cannot rename {target.name!r} onto it",
            )
    data = _merge(target.data if target else {}, params)
    _check_effective(data)
    if target is None:
        object_id = store.insert(conn, name, data)
    else:
        # The name as last sent wins, so a case change in the sheet reaches the gateway.
        store.update(conn, target.object_id, name, data)
        object_id = target.object_id
    return {"result": "success", "object_id": str(object_id)}


# -- sip_endpoint.delete ------------------------------------------------------------------------


def _check_delete(params: Params) -> None:
    _reject_unknown(params, _DELETE_PARAMS, "sip_endpoint.delete")
    _check_lookup(params, "sip_endpoint.delete")
    if "object_type" in params and params["object_type"] != "sip_endpoint":
        raise _invalid(
            f"object_type: {quote(str(params['object_type']))} is not allowed "
            "(allowed: sip_endpoint)"
        )


def _apply_delete(conn: sqlite3.Connection, params: Params) -> Result:
    row = _find(conn, params)
    store.delete(conn, row.object_id)
    # The real gateway lists routing rules/groups the delete broke; this one has none.
    return {"result": "success", "invalid_rules": [], "invalid_groups": []}


# -- sip_endpoint.list / sip_endpoints.list -----------------------------------------------------


def _check_list_one(params: Params) -> None:
    _reject_unknown(params, _LOOKUP_PARAMS, "sip_endpoint.list")
    _check_lookup(params, "sip_endpoint.list")


def _apply_list_one(conn: sqlite3.Connection, params: Params) -> Result:
    return {"result": "success", "sip_endpoint": _find(conn, params).to_wire()}


def _check_list_all(params: Params) -> None:
    _reject_unknown(params, (), "sip_endpoints.list")


def _apply_list_all(conn: sqlite3.Connection, params: Params) -> Result:
    return {"result": "success", "sip_endpoints": [row.to_wire() for row in store.all_rows(conn)]}


def _encoded_list_all(conn: sqlite3.Connection, params: Params) -> bytes:
    return store.list_answer(conn)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("sip_endpoint.save", True, _check_save, _apply_save),
        Method("sip_endpoint.delete", True, _check_delete, _apply_delete),
        Method("sip_endpoint.list", False, _check_list_one, _apply_list_one),
        Method("sip_endpoints.list", False, _check_list_all, _apply_list_all, _encoded_list_all),
    )
}
