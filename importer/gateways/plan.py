"""Plan: compare each valid row with what the gateway holds and decide what to send.

A cell left empty is "not managed by the sheet": it is neither sent nor compared. A secret cell
holding the mask keeps the gateway's secret: it is not sent and not compared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas import MASK, SECRET_FIELDS, to_wire
from schemas.text import quote

from .state import EndpointColumns

__all__ = ["Action", "GatewayState", "plan_rows", "row_values", "unchanged_rows"]

Kind = Literal["create", "update", "rename", "unchanged", "reject", "save"]

_TEXT = pa.large_string()
#: Columns that address an endpoint rather than describe it.
_ADDRESSING = ("name", "old_name", "object_id")


class _Lookup(Mapping[str, dict[str, str]]):
    """``{key: endpoint}`` over ``EndpointColumns``: an endpoint's dict is built when first
    asked for and kept (so the same key gives the same dict), never for the endpoints a plan
    does not look at one by one."""

    def __init__(self, columns: EndpointColumns, index: dict[str, int], cache: dict[int, Any]):
        self._columns = columns
        self._index = index
        self._cache = cache

    def __getitem__(self, key: str) -> dict[str, str]:
        i = self._index[key]
        found = self._cache.get(i)
        if found is None:
            found = self._cache[i] = self._columns.endpoint(i)
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


@dataclass(frozen=True)
class GatewayState:
    """The gateway's endpoints, as canonical sheet text, keyed by lowercase name."""

    by_name: Mapping[str, dict[str, str]]
    by_id: Mapping[str, dict[str, str]]
    #: False when the gateway has no ``sip_endpoints.list``: every row is sent as it is.
    listed: bool = True
    #: The same endpoints as columns, and each lowercase name's position in them.
    columns: EndpointColumns | None = field(default=None, compare=False, repr=False)
    positions: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_list(cls, endpoints: Iterable[Mapping[str, Any]]) -> GatewayState:
        return cls.from_columns(EndpointColumns.from_endpoints(endpoints))

    @classmethod
    def from_columns(cls, columns: EndpointColumns) -> GatewayState:
        # A later endpoint with the same lowercase name (or id) wins, as it always did.
        by_name = {name.lower(): i for i, name in enumerate(columns.names)}
        by_id = dict(zip(columns.ids, range(len(columns.ids)), strict=True))
        cache: dict[int, Any] = {}
        return cls(
            _Lookup(columns, by_name, cache), _Lookup(columns, by_id, cache), True, columns, by_name
        )

    def names(self) -> Iterator[str]:
        """Each endpoint's name as the gateway spells it (one per lowercase name)."""
        if self.columns is None:
            return (values["name"] for values in self.by_name.values())
        return (self.columns.names[i] for i in self.positions.values())

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


def _text(column: pd.Series) -> pa.Array:
    """The column as an Arrow text array (null where ``row_values`` sees no text)."""
    if isinstance(column.dtype, pd.StringDtype):
        values = pa.array(column)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        return values.cast(_TEXT)
    return pa.array([v if isinstance(v, str) else None for v in column.tolist()], _TEXT)


def unchanged_rows(frame: pd.DataFrame, state: GatewayState) -> np.ndarray:
    """Which of ``frame``'s rows ``plan_rows`` would find ``unchanged``, found column by column.

    A row is unchanged here when it neither renames (no ``old_name`` or ``object_id`` cell),
    the gateway holds its name spelled the same, and every other cell it has equals the
    gateway's canonical text (a masked secret cell aside): exactly ``_plan_one``'s
    "unchanged". Only such rows are marked; every other row is left for ``plan_rows``, which
    decides it as before (tests/test_sync.py holds the two to the same actions)."""
    count = len(frame)
    columns = state.columns
    if not state.listed or columns is None or not count or "name" not in frame.columns:
        return np.zeros(count, dtype=bool)
    names = frame["name"]
    index = state.positions
    at = pa.array(
        [index.get(key) if isinstance(key, str) else None for key in names.str.lower().tolist()],
        pa.int64(),
    )
    ok = at.is_valid().to_numpy(zero_copy_only=False)
    for column in ("old_name", "object_id"):
        if column in frame.columns:
            ok &= _text(frame[column]).is_null().to_numpy(zero_copy_only=False)

    def same(sheet: pa.Array, held: pa.ChunkedArray | None) -> np.ndarray:
        if held is None:
            return np.zeros(count, dtype=bool)
        equal = pc.equal(sheet, held.take(at))
        return pc.fill_null(equal, False).to_numpy(zero_copy_only=False)

    ok &= same(_text(names), columns.values.get("name"))
    for column in frame.columns:
        if column in _ADDRESSING or not ok.any():
            continue
        sheet = _text(frame[column])
        present = sheet.is_valid().to_numpy(zero_copy_only=False)
        differs = present & ~same(sheet, columns.values.get(column))
        if column in SECRET_FIELDS:
            # A masked secret keeps the gateway's: never a change.
            differs &= ~pc.fill_null(pc.equal(sheet, MASK), False).to_numpy(zero_copy_only=False)
        ok &= ~differs
    return ok
