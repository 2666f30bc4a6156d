"""Plan: compare each valid row with what the gateway holds and decide what to send.

A cell left empty is "not managed by the sheet": it is neither sent nor compared. A secret cell
holding the mask keeps the gateway's secret: it is not sent and not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from schemas import MASK, PARAMETERS, SECRET_FIELDS, from_wire, to_wire
from schemas.text import quote

__all__ = ["Action", "GatewayState", "plan_rows", "row_values"]

Kind = Literal["create", "update", "rename", "unchanged", "reject", "save"]

#: Columns that address an endpoint rather than describe it.
_ADDRESSING = ("name", "old_name", "object_id")


@dataclass(frozen=True)
class GatewayState:
    """The gateway's endpoints, as canonical sheet text, keyed by lowercase name."""

    by_name: dict[str, dict[str, str]]
    by_id: dict[str, dict[str, str]]
    #: False when the gateway has no ``sip_endpoints.list``: every row is sent as it is.
    listed: bool = True

    @classmethod
    def from_list(cls, endpoints: Iterable[Mapping[str, Any]]) -> GatewayState:
        by_name: dict[str, dict[str, str]] = {}
        by_id: dict[str, dict[str, str]] = {}
        for endpoint in endpoints:
            values = {
                key: from_wire(key, value)
                for key, value in endpoint.items()
                if key in PARAMETERS and value is not None
            }
            values["object_id"] = str(endpoint.get("object_id", ""))
            by_name[values["name"].lower()] = values
            by_id[values["object_id"]] = values
        return cls(by_name, by_id)

    @classmethod
    def unknown(cls) -> GatewayState:
        return cls({}, {}, listed=False)


@dataclass(frozen=True)
class Action:
    row: int
    name: str
    kind: Kind
    #: Wire parameters to send (empty for unchanged/reject).
    payload: dict[str, Any] = field(default_factory=dict)
    changed: tuple[str, ...] = ()
    error_key: str = ""
    message: str = ""


def row_values(frame: pd.DataFrame) -> Iterable[tuple[int, dict[str, str]]]:
    """(row number, {parameter: canonical text}) for each row, empty cells left out."""
    columns = list(frame.columns)
    # Whole columns to Python lists first: itertuples boxes Arrow-backed strings one at a time,
    # about three times slower (it was most of the plan's time).
    cells = [frame[c].tolist() for c in columns]
    for row, *values in zip(frame.index.tolist(), *cells, strict=True):
        yield (
            int(row),
            {
                c: v
                for c, v in zip(columns, values, strict=True)
                if isinstance(v, str)  # missing cells are NaN/NA, never text
            },
        )


def _wire(values: Mapping[str, str], fields: Iterable[str]) -> dict[str, Any]:
    return {f: to_wire(f, values[f]) for f in fields}


def _diff(desired: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    return [f for f, v in desired.items() if current.get(f) != v]


def _plan_one(row: int, values: dict[str, str], state: GatewayState) -> Action:
    name = values["name"]
    masked = sorted(f for f in SECRET_FIELDS if values.get(f) == MASK)
    desired = {f: v for f, v in values.items() if f not in _ADDRESSING and f not in masked}
    how: dict[str, str] = {k: values[k] for k in ("old_name", "object_id") if k in values}
    if not state.listed:
        # Nothing to compare with: send every cell; a masked secret is simply not sent.
        return Action(row, name, "save", {"name": name, **how, **_wire(desired, desired)})

    target = state.by_name.get(name.lower())
    source: dict[str, str] | None = None
    if "old_name" in how:
        source = state.by_name.get(how["old_name"].lower())
    elif "object_id" in how:
        source = state.by_id.get(how["object_id"])

    if how and not (source is None and target is not None):
        if source is not None and source is target and source["name"] == name:
            pass  # the id points at this very endpoint: a plain update
        else:
            # A rename. Onto a taken name, or from an endpoint that is not there, the gateway
            # answers ENDPOINT_NAME_EXISTS / ENDPOINT_NOT_FOUND, and that answer is the outcome.
            if masked and source is None:
                return _masked_reject(row, name, masked)
            changed = _diff(desired, source or {})
            payload = {"name": name, **how, **_wire(desired, changed)}
            return Action(row, name, "rename", payload, ("name", *changed))
    # From here on the row describes `target` (renamed already, if old_name no longer exists).
    if target is None:
        if masked:
            return _masked_reject(row, name, masked)
        return Action(
            row, name, "create", {"name": name, **_wire(desired, desired)}, tuple(desired)
        )
    changed = _diff(desired, target)
    if target["name"] != name:
        changed.insert(0, "name")
    if not changed:
        return Action(row, name, "unchanged")
    fields = [f for f in changed if f != "name"]
    return Action(row, name, "update", {"name": name, **_wire(desired, fields)}, tuple(changed))


def _masked_reject(row: int, name: str, masked: list[str]) -> Action:
    fields = ", ".join(masked)
    return Action(
        row,
        name,
        "reject",
        error_key="masked-secret",
        message=(
            f"{masked[0]}: the {fields} {'is' if len(masked) == 1 else 'are'} masked ({MASK}) but "
            f"{quote(name)} does not exist on the gateway yet: re-enter the real value"
        ),
    )


def plan_rows(rows: Iterable[tuple[int, dict[str, str]]], state: GatewayState) -> Iterator[Action]:
    """One action per row, in the order given, each planned when it is asked for (the saves
    start while later rows are still being planned); ``rows`` are ``row_values`` pairs."""
    for row, values in rows:
        yield _plan_one(row, values, state)
