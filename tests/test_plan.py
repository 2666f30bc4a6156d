"""The plan against the gateway's list read as columns: the list walked into Arrow columns,
wire -> canonical by column, unchanged rows found column by column and hashed by column, all
held to what the row-by-row code they replace says, value by value and row by row."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TEST_PASSWORD, TEST_USER, GatewayProcess
from helpers import write_csv
from test_import import make_rows
from test_sync import _RulesGateway, sync

from importer.config import Credentials, GatewaySettings
from importer.errors import GatewayUnavailable
from importer.gateways import journal, state
from importer.gateways.client import GatewayClient, list_endpoint_columns, list_endpoints
from importer.gateways.journal import row_hashes, values_hash
from importer.gateways.plan import Action, GatewayState, plan_rows, row_values, unchanged_rows
from importer.gateways.state import EndpointColumns, canonical_column, decode_list_answer
from importer.pipeline import prepare_sheet
from importer.sheets.limits import DEFAULT_LIMITS
from schemas import CODECS, MASK, PARAMETERS, from_wire, to_wire


def _row_wise_state(endpoints: list[dict[str, Any]]) -> GatewayState:
    """``GatewayState.from_list`` as it was before the columns: a ``from_wire`` dict per
    endpoint (the reference the column-wise state is held to)."""
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
    return GatewayState(by_name, by_id)


def _read_list(url: str) -> tuple[EndpointColumns | None, list[dict[str, Any]] | None]:
    async def read() -> tuple[EndpointColumns | None, list[dict[str, Any]] | None]:
        async with GatewayClient(GatewaySettings(url, Credentials(TEST_USER, TEST_PASSWORD))) as c:
            await c.login()
            return await list_endpoint_columns(c), await list_endpoints(c)

    return asyncio.run(read())


def _endpoints(columns: EndpointColumns) -> list[dict[str, str]]:
    return [columns.endpoint(i) for i in range(len(columns))]


def _column_plan(frame: pd.DataFrame, state: GatewayState) -> dict[int, Action]:
    """What a sync now does: unchanged rows found by column, the rest planned row by row."""
    unchanged = unchanged_rows(frame, state)
    actions = {
        int(row): Action(int(row), str(name), "unchanged")
        for row, name in zip(frame.index[unchanged], frame["name"][unchanged], strict=True)
    }
    actions.update((a.row, a) for a in plan_rows(row_values(frame[~unchanged]), state))
    return actions


def _other(value: str, choices: tuple[str, ...]) -> str:
    return next(c for c in choices if c != value)


def test_column_plan_equals_the_row_plan_for_every_kind_of_difference(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(120, seed=21)
    for i, row in enumerate(rows):
        row["remotesecret"] = f"Rem-{i}-é" if i % 3 == 0 else ""  # non-ASCII, stored escaped
        row["auth"] = f"u{i}:A-{i}@realm" if i % 4 == 0 else ""
    headers = [*rows[0], "old_name", "object_id", "extension"]
    write_csv(tmp_path / "v1.csv", rows, headers)
    assert sync(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    ids = {name: e["object_id"] for name, e in gateway.endpoints().items()}

    v2 = [dict(r) for r in rows]
    v2[1]["nat"] = _other(v2[1]["nat"], ("no", "yes", "comedia"))
    v2[2]["secret"] = "New-secret-2"  # only a secret changed
    v2[3]["remotesecret"] = "New-rem-3"
    v2[4]["auth"] = "u4:New-4@realm"
    v2[5]["secret"] = MASK  # masked: keeps the gateway's
    v2[6]["remotesecret"] = MASK  # masked where the gateway has none: still kept
    v2[7]["name"] = v2[7]["name"].upper()  # a case-only change of the name
    v2[8] = {**v2[8], "name": "renamed-8", "old_name": rows[8]["name"]}
    v2[9]["object_id"] = ids[rows[9]["name"]]  # the id of this very endpoint: no rename
    v2[10] = {**v2[10], "name": "renamed-10", "object_id": ids[rows[10]["name"]]}
    v2[11]["old_name"] = rows[12]["name"]  # a rename onto a taken name
    v2[13]["old_name"] = "not-there-13"  # renamed already: the row describes its target
    v2[14]["audio_codecs"] = "g729, alaw,ULAW"  # the same set, written otherwise
    v2[15]["transport"] = _other(v2[15]["transport"], ("UDP", "TCP", "TLS,UDP"))
    v2[16]["codec_order"] = _other(v2[16]["codec_order"], ("g729,ulaw", "alaw,ulaw"))
    v2[17].update(port="", qualify="", secret="")  # emptied: not managed, not a change
    v2[18]["extension"] = "4018"  # a value the gateway does not hold
    v2[20]["object_id"] = "999999"  # an id the gateway does not have
    v2 += [
        {**rows[0], "name": "brand-new-1"},
        {**rows[1], "name": "brand-new-2", "secret": MASK},  # masked, nothing to keep
        {**rows[2], "name": "ghost", "old_name": "ghost-old", "remotesecret": MASK},
    ]
    write_csv(tmp_path / "v2.csv", v2, headers)

    normalized, validation, _ = prepare_sheet(
        tmp_path / "v2.csv", None, None, False, None, DEFAULT_LIMITS
    )
    assert not validation.rejected_rows
    frame = normalized.frame
    columns, endpoints = _read_list(gateway.url)
    assert columns is not None and endpoints is not None
    state = GatewayState.from_columns(columns)

    before = list(plan_rows(row_values(frame), _row_wise_state(endpoints)))
    now = _column_plan(frame, state)
    assert [now[a.row] for a in before] == before  # row by row, payloads included
    kinds = {a.row - 2: a.kind for a in before if a.kind != "unchanged"}  # by index in v2
    assert kinds == {
        **dict.fromkeys((1, 2, 3, 4, 7, 15, 16, 18), "update"),
        **dict.fromkeys((8, 10, 11), "rename"),
        120: "create",
        **dict.fromkeys((121, 122), "reject"),
    }  # 5, 6, 9, 13, 14, 17 and 20 are unchanged
    # Every unchanged row that does not address by old_name or object_id is found by column.
    addressed = frame[["old_name", "object_id"]].notna().any(axis=1)
    found = set(frame.index[unchanged_rows(frame, state)])
    assert found == {a.row for a in before if a.kind == "unchanged" and not addressed[a.row]}

    # The same sync through the command line: only the planned changes are sent.
    proc, results, summary = sync(tmp_path, gateway, tmp_path / "v2.csv", name="v2")
    assert summary["plan"] == {"unchanged": 109, "update": 8, "rename": 3, "create": 1, "reject": 2}
    assert Counter(r["outcome"] for r in results) == {
        "unchanged": 109, "updated": 8, "renamed": 2, "rejected": 3, "created": 1,
    }  # fmt: skip
    assert {r["name"]: r["error_key"] for r in results if r["outcome"] == "rejected"} == {
        rows[11]["name"]: "ENDPOINT_NAME_EXISTS", "brand-new-2": "masked-secret",
        "ghost": "masked-secret",
    }  # fmt: skip
    assert proc.returncode == 1


def test_column_state_equals_the_row_state(
    tmp_path: Path, gateway_server: Callable[..., GatewayProcess]
) -> None:
    gateway = gateway_server()
    rows = make_rows(40, seed=22)
    for i, row in enumerate(rows[::2]):
        row.update(remotesecret=f'Ré-{i}\\"x', extension=str(100 + i))
    write_csv(tmp_path / "v1.csv", rows)
    assert sync(tmp_path, gateway, tmp_path / "v1.csv", name="v1")[0].returncode == 0
    # The list SQLite writes is the stored records, values as stored (escapes included).
    listed = gateway.call("sip_endpoints.list")
    assert listed.headers["content-type"] == "application/json"
    assert {e["name"]: e for e in listed.json()["sip_endpoints"]} == gateway.stored()
    assert [e["object_id"] for e in listed.json()["sip_endpoints"]] == [
        str(i) for i in range(1, 41)
    ]
    columns, endpoints = _read_list(gateway.url)
    assert columns is not None and endpoints is not None
    reference = _row_wise_state(endpoints)
    state = GatewayState.from_columns(columns)
    assert dict(state.by_name) == reference.by_name
    assert dict(state.by_id) == reference.by_id
    assert sorted(state.names()) == sorted(r["name"] for r in rows)
    assert state.by_id[columns.ids[3]] is state.by_name[columns.names[3].lower()]
    assert _endpoints(columns) == [reference.by_id[str(e["object_id"])] for e in endpoints]


#: Desk-1 and desk-3 have a nat and a secret, desk-2 neither: their columns hold a null there.
_HELD = [
    {"object_id": 7, "name": "Desk-1", "host": "dynamic", "secret": "Sec-7-x", "nat": "yes"},
    {"object_id": 8, "name": "desk-2", "host": "203.0.113.2", "port": "5060"},
    {"object_id": 9, "name": "desk-3", "host": "dynamic", "secret": "Sec-9-x", "nat": "no"},
]


def test_state_read_as_columns_equals_the_state_given_as_dicts() -> None:
    state = GatewayState.from_list(_HELD)
    as_dicts = GatewayState(dict(state.by_name), dict(state.by_id))
    assert state == as_dicts  # the columns behind the lookups are not part of the state
    assert list(state.names()) == list(as_dicts.names()) == ["Desk-1", "desk-2", "desk-3"]
    assert "Sec-" not in repr(state)  # the columns hold the gateway's secrets in clear


@pytest.mark.parametrize("cells", ["text", "objects"])
def test_unchanged_rows_are_the_rows_the_row_plan_finds_unchanged(cells: str) -> None:
    state = GatewayState.from_list(_HELD)
    frame = pd.DataFrame(
        {
            "name": ["Desk-1", "desk-2", "desk-2", "desk-3", "DESK-3", "desk-4", "desk-3"],
            "host": ["dynamic", "203.0.113.2", None, "dynamic", "dynamic", "dynamic", None],
            # desk-2 holds no nat while the others do: a nat on its row is a change.
            "nat": ["yes", None, "yes", "no", None, None, None],
            "secret": ["Sec-7-x", None, None, MASK, None, None, "Sec-9-y"],
            "port": [None, "5060", None, None, None, None, None],
        },
        index=pd.RangeIndex(2, 9),
        dtype="str" if cells == "text" else object,
    )
    if cells == "objects":
        # Only text is a cell's value, as for row_values: a number or NaN is an empty cell.
        frame.loc[3, "port"] = 5061
        frame.loc[5, "host"] = np.nan
    actions = list(plan_rows(row_values(frame), state))
    assert [a.kind for a in actions] == [
        "unchanged", "unchanged", "update", "unchanged", "update", "create", "update"
    ]  # fmt: skip
    assert unchanged_rows(frame, state).tolist() == [a.kind == "unchanged" for a in actions]
    # Without the gateway's columns, or a name column, every row is left to plan_rows.
    as_dicts = GatewayState(dict(state.by_name), dict(state.by_id))
    assert unchanged_rows(frame, as_dicts).tolist() == [False] * 7
    assert unchanged_rows(frame.drop(columns="name"), state).tolist() == [False] * 7
    assert unchanged_rows(frame, GatewayState.unknown()).tolist() == [False] * 7


def _wire_values(name: str) -> list[Any]:
    """Wire values the gateway can store for parameter ``name`` (each passes its checks)."""
    domain = PARAMETERS[name].domain
    kind = type(domain).__name__
    if kind == "Transport":
        values: list[Any] = [
            list(p) for n in (1, 2, 3) for p in itertools.permutations(("UDP", "TCP", "TLS"), n)
        ]
    elif kind == "CodecSet":
        subsets = [c for n in range(7) for c in itertools.combinations(CODECS, n)]
        values = [to_wire(name, ",".join(s) or "none") for s in subsets]
        values += [list(reversed(v)) for v in values]  # any order of the six
    elif kind == "CodecOrder":
        values = [
            to_wire(name, ",".join(p)) for n in (1, 2, 3) for p in itertools.permutations(CODECS, n)
        ]
        values += [list(reversed(v)) for v in values]
    else:
        values = ["", "0", "1", "20", "30", "50", "90", "200", "3600", "5060", "500ms", "dynamic"]
        values += [
            "desk-1",
            "203.0.113.9",
            "2001:db8::1",
            "é",
            "x y",
            *getattr(domain, "values", ()),
        ]
    return [v for v in values if domain.wire_problem(v) is None] * 2


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_canonical_column_equals_from_wire_on_every_storable_value(name: str) -> None:
    values = _wire_values(name)
    assert values
    assert canonical_column(name, values) == [from_wire(name, v) for v in values]


def test_canonical_column_keeps_equal_numbers_of_other_types_apart() -> None:
    # 1, 1.0 and True are equal dict keys; their texts differ (no gateway stores them).
    values = [1, 1.0, True, "1", 1, True]
    assert canonical_column("port", values) == ["1", "1.0", "True", "1", "1", "True"]


# 10: a number cut where a window ends ('{"n": 1234' of '{"n": 12345'), past _TAIL characters.
@pytest.fixture(params=[1, 2, 7, 10, 1 << 20], ids=lambda size: f"window{size}")
def window(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """The answer decoded this many bytes at a time (values cut anywhere, é included)."""
    monkeypatch.setattr(state, "_WINDOW", request.param)
    return int(request.param)


_LISTED = [
    {"object_id": "7", "name": "Desk-1", "host": "dynamic", "transport": ["UDP", "TLS"]},
    {"object_id": "8", "name": "desk-2", "secret": 's\u00e9"\\', "nat": None, "x-unknown": 1},
    {"object_id": 9, "name": "desk-3", "audio_codecs": [{"id": "gsm", "value": "1"}]},
]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"result": "success", "sip_endpoints": _LISTED}),
        json.dumps({"sip_endpoints": _LISTED, "result": "success"}, indent=2),
        json.dumps({"result": "success", "sip_endpoints": _LISTED}, ensure_ascii=False),
        r'{"n": 12345, "sip_endpoints": [], "t": true, "f": 1.5e3, "s": "\u00e9\\"}',
        # Another array of objects, under a key that sorts before or after sip_endpoints.
        '{"errors": [{"name": "x"}], "sip_endpoints": [{"object_id": "1", "name": "a"}]}',
        '{"sip_endpoints": [{"object_id": "1", "name": "a"}], "warnings": [{"name": "x"}]}',
        ' \n{ "result" : "success" , "sip_endpoints" : [ ] }\r\n',
        '{"sip_endpoints": [], "sip_endpoints": ' + json.dumps(_LISTED) + ', "result": "success"}',
    ],
)
def test_list_answer_is_read_as_json_reads_it(text: str, window: int) -> None:
    expected = json.loads(text)
    got = decode_list_answer(text.encode(), by_arrow=False)  # the walk, by windows
    assert decode_list_answer(text.encode()) == got  # and Arrow's reading, where it reads
    columns = got.pop("sip_endpoints")
    assert got == {k: v for k, v in expected.items() if k != "sip_endpoints"}
    assert isinstance(columns, EndpointColumns)
    assert _endpoints(columns) == _endpoints(
        EndpointColumns.from_endpoints(expected["sip_endpoints"])
    )
    assert _endpoints(columns) == list(_row_wise_state(expected["sip_endpoints"]).by_id.values())


#: Each parameter in another pattern: first endpoints only, last only, middle only, every other.
_SPARSE = [
    {"object_id": str(i), "name": f"s{i}"}
    | ({"host": f"h{i}"} if i < 2 else {})
    | ({"secret": f"pw{i}"} if 5 <= i <= 6 else {})
    | ({"nat": "yes"} if i in (0, 1, 2, 5) else {})
    | ({"port": "5060" if i % 2 else 5061} if 2 <= i <= 4 else {})
    | ({"transport": ["UDP", "TCP"][: 1 + i % 2]} if i % 2 else {})
    | ({"audio_codecs": [{"id": "ulaw", "value": str(i % 2)}]} if i == 6 else {})
    for i in range(10)
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 8192])
def test_the_walk_fills_parameters_an_endpoint_lacks_across_its_chunks(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "_CHUNK", chunk)
    text = json.dumps({"result": "success", "sip_endpoints": _SPARSE})
    columns = decode_list_answer(text.encode(), by_arrow=False)["sip_endpoints"]
    assert _endpoints(columns) == list(_row_wise_state(_SPARSE).by_id.values())
    assert {key: len(values) for key, values in columns.values.items()} == {
        key: 10
        for key in (
            "object_id", "name", "host", "secret", "nat", "port", "transport", "audio_codecs"
        )
    }  # fmt: skip
    assert columns.values["secret"].to_pylist() == [None] * 5 + ["pw5", "pw6"] + [None] * 3
    assert columns.values["nat"].to_pylist() == ["yes"] * 3 + [None] * 2 + ["yes"] + [None] * 4


def test_a_window_that_ends_between_two_values_far_into_the_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoints = [{"object_id": str(i), "name": f"desk-{i:03d}"} for i in range(20)]
    text = json.dumps({"result": "success", "sip_endpoints": endpoints})
    # The first window ends right after a value past the 256th character, at a comma.
    cut = next(i for i in range(300, len(text)) if text[i] == "," and text[i - 1] == "}")
    monkeypatch.setattr(state, "_WINDOW", cut)
    columns = decode_list_answer(text.encode(), by_arrow=False)["sip_endpoints"]
    assert columns.names == [e["name"] for e in endpoints]


@pytest.mark.parametrize("where", ["before the answer", "before the end of the list"])
def test_a_window_that_ends_in_white_space_far_into_the_answer(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoints = [{"object_id": str(i), "name": f"desk-{i:03d}"} for i in range(20)]
    text = json.dumps({"result": "success", "sip_endpoints": endpoints}, indent=12)
    if where == "before the answer":
        text = " " * 300 + text
        cut = 300
    else:
        cut = text.rindex("]")  # after the last endpoint and the 13 white spaces that follow it
    assert text[cut - 9 : cut].isspace() and cut > 256
    monkeypatch.setattr(state, "_WINDOW", cut)
    answer = decode_list_answer(text.encode(), by_arrow=False)
    assert answer.pop("sip_endpoints").names == [e["name"] for e in endpoints]
    assert answer == {"result": "success"}


@pytest.mark.parametrize("window", [255, 256, 1023])
def test_a_number_cut_where_a_window_ends_far_into_the_answer(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = '{"result": "success", "total":'
    # The window ends after '12345' of the total, which white space has moved that far.
    text = head + " " * (window - len(head) - 5) + '1234567890, "sip_endpoints": []}'
    assert text[window - 5 : window] == "12345"
    monkeypatch.setattr(state, "_WINDOW", window)
    answer = decode_list_answer(text.encode(), by_arrow=False)
    assert answer.pop("sip_endpoints").names == []
    assert answer == {"result": "success", "total": 1234567890}


def _codecs(*enabled: str) -> list[dict[str, str]]:
    return [{"id": c, "value": "1" if c in enabled else "0"} for c in CODECS]


#: Answers of the plain shape, which Arrow's JSON reader reads.
_PLAIN = {
    "strings": [
        {"object_id": "1", "name": "a", "host": "dynamic", "transport": ["UDP", "TLS"],
         "audio_codecs": _codecs("ulaw"), "codec_order": [{"id": "ulaw", "order": "1"}]},
        {"object_id": "2", "name": "B", "secret": 's\u00e9"\\x', "port": "5060",
         "audio_codecs": _codecs("alaw", "g729"), "transport": ["TCP"]},
        {"object_id": "3", "name": "c", "nat": None, "x-unknown": "1", "transport": []},
        {"object_id": "4", "name": "d", "audio_codecs": _codecs("ulaw"), "codec_order": []},
        {"object_id": "5", "name": "e\ud83d\ude00", "transport": ["UDP", "TLS"],
         "audio_codecs": [], "codec_order": [{"id": "g729", "order": "2"},
                                             {"id": "alaw", "order": "1"}]},
    ],
    # Whole numbers and booleans of one kind per key come back as json reads them.
    "numbers": [
        {"object_id": 7, "name": "n1", "port": 5060, "qualify": True},
        {"object_id": 8, "name": "n2", "port": 5061, "qualify": False},
    ],
    # A list held apart from another only by where its items split ("a,b" vs "a", "b").
    "look-alike lists": [
        {"object_id": "1", "name": "x", "transport": ["UDP,TCP"]},
        {"object_id": "2", "name": "y", "transport": ["UDP", "TCP"]},
        {"object_id": "3", "name": "z", "transport": ["UDP", "TCP"]},
    ],
    "no names": [{"object_id": "1", "host": "h"}, {"object_id": "2"}],
    "no ids": [{"name": "a", "host": "h"}, {"name": "b"}],
    # A key that is no parameter, and one null everywhere, before the parameters.
    "unknown keys first": [
        {"zz": "1", "nat": None, "object_id": "1", "name": "a", "host": "h"},
        {"zz": "2", "nat": None, "object_id": "2", "name": "b", "host": "i"},
    ],
    # A list cell missing before the second distinct list is first seen.
    "a gap first": [
        {"object_id": "1", "name": "a"},
        {"object_id": "2", "name": "b", "transport": ["UDP"]},
    ],
    "lists after a gap": [
        {"object_id": "1", "name": "a", "transport": ["UDP"]},
        {"object_id": "2", "name": "b"},
        {"object_id": "3", "name": "c", "transport": ["TCP"]},
        {"object_id": "4", "name": "d", "transport": ["TCP"]},
    ],
}  # fmt: skip
for _i in range(3 * state._CHUNK // 2):  # past one slice of the list columns
    _PLAIN.setdefault("long", []).append(
        {"object_id": str(_i), "name": f"p{_i}", "transport": [["UDP"], ["TCP", "UDP"]][_i % 2],
         "audio_codecs": _codecs(*CODECS[: _i % 4])}
    )  # fmt: skip

#: Answers Arrow cannot read exactly: each is walked instead, to the same result.
_ODD = {
    "ints and floats": '{"sip_endpoints": [{"name": "a", "port": 5060}, {"name": "b", "port": 1.5}]}',
    "text and number": '{"sip_endpoints": [{"name": "a", "port": "5060"}, {"name": "b", "port": 5}]}',
    "a null in a codec": (
        '{"sip_endpoints": [{"name": "a", "audio_codecs": [{"id": "ulaw", "value": null}]}]}'
    ),
    "a codec item short a key": (
        '{"sip_endpoints": [{"name": "a", "audio_codecs": [{"id": "ulaw", "value": "1"}, '
        '{"id": "alaw"}]}]}'
    ),
    "an empty codec object": '{"sip_endpoints": [{"name": "a", "audio_codecs": [{}]}]}',
    "a numeric order": (
        '{"sip_endpoints": [{"name": "a", "codec_order": [{"id": "ulaw", "order": 1}]}]}'
    ),
    "an object value": '{"sip_endpoints": [{"name": "a", "host": {"x": "1"}}]}',
    "a key twice": '{"sip_endpoints": [{"name": "a", "name": "b"}]}',
    "a null object_id": '{"sip_endpoints": [{"name": "a", "object_id": null}]}',
    "a null endpoint": '{"sip_endpoints": [{"name": "a"}, null]}',
    "no endpoints": '{"result": "success", "sip_endpoints": []}',
    "a float at the top": '{"result": "success", "n": 1.5, "sip_endpoints": [{"name": "a"}]}',
    "an object at the top": '{"result": {"a": "1"}, "sip_endpoints": [{"name": "a"}]}',
    "huge number": '{"sip_endpoints": [{"name": "a", "port": 123456789012345678901234}]}',
}  # fmt: skip


@pytest.mark.parametrize("name", list(_PLAIN))
def test_arrow_reads_a_plain_list_answer_as_the_walk_does(name: str) -> None:
    text = json.dumps({"result": "success", "sip_endpoints": _PLAIN[name]})
    by_arrow = state._by_arrow(text.encode())
    assert by_arrow is not None  # this shape is Arrow's to read
    walked = decode_list_answer(text.encode(), by_arrow=False)
    assert by_arrow == walked
    walked["sip_endpoints"].endpoint(0)  # its lists, made once asked for, do not count
    assert by_arrow == walked
    assert decode_list_answer(text.encode()) == walked
    listed = json.loads(text)["sip_endpoints"]
    if all("name" in e and "object_id" in e for e in listed):  # what the row-wise reading needs
        expected = list(_row_wise_state(listed).by_id.values())
        assert _endpoints(by_arrow["sip_endpoints"]) == expected


def test_endpoint_columns_are_frozen() -> None:
    text = json.dumps({"sip_endpoints": _PLAIN["strings"]})
    for by_arrow in (True, False):
        columns = decode_list_answer(text.encode(), by_arrow=by_arrow)["sip_endpoints"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            columns.names = []


@pytest.mark.parametrize("text", list(_ODD.values()), ids=list(_ODD))
def test_a_list_answer_arrow_cannot_read_exactly_is_walked(text: str) -> None:
    assert state._by_arrow(text.encode()) is None
    assert decode_list_answer(text.encode()) == decode_list_answer(text.encode(), by_arrow=False)


@pytest.mark.parametrize(
    ("endpoint", "shown"),
    [
        ({"transport": ["UDP", None]}, 'transport ["UDP", null]'),
        ({"transport": [["UDP"]]}, 'transport [["UDP"]]'),
        ({"audio_codecs": "ulaw"}, 'audio_codecs "ulaw"'),
        ({"audio_codecs": [{"value": "1", "note": "n" * 53}]},
         'audio_codecs [{"value": "1", "note": "' + "n" * 52 + "..."),
        # Shown whole up to 80 characters, cut to 77 and "..." past them.
        ({"audio_codecs": [{"value": "1", "note": "n" * 52}]},
         'audio_codecs [{"value": "1", "note": "' + "n" * 52 + '"}]'),
        ({"codec_order": [{"id": "é", "order": "x"}]}, 'codec_order [{"id": "é", "order": "x"}]'),
        ({"audio_codecs": [{"value": "1"}]}, 'audio_codecs [{"value": "1"}]'),
        ({"codec_order": [{"id": "ulaw", "order": "first"}]},
         'codec_order [{"id": "ulaw", "order": "first"}]'),
        ({"audio_codecs": [{"value": "1", "note": "no id"}] * 4},
         'audio_codecs [{"value": "1", "note": "no id"}, {"value": "1", "note": "no id"}, '
         '{"value": ...'),
    ],
)  # fmt: skip
def test_a_value_no_domain_can_read_is_named_either_way(
    endpoint: dict[str, Any], shown: str
) -> None:
    text = json.dumps({"result": "success", "sip_endpoints": [{"name": "a", **endpoint}]})
    for by_arrow in (True, False):
        with pytest.raises(state.UnreadableValue) as caught:
            decode_list_answer(text.encode(), by_arrow=by_arrow)
        assert str(caught.value) == shown


@pytest.mark.parametrize(
    "content",
    [
        b'{"sip_endpoints": [{"name": "\xff"}]}',  # not UTF-8
        b'{"sip_endpoints": [{"name": "a", "host": "h\xff"}]}',  # nor here, in a column kept as is
        b'{"sip_endpoints": [{"name": "\\ud800"}]}',  # a lone surrogate
        '{"sip_endpoints": [{"name": "a"}]}'.encode("utf-16"),
        b'{"sip_endpoints": [{"name": "a"}]}\n{"sip_endpoints": []}',  # two objects
        b'{"sip_endpoints": [{"name": "a"}]} x',
        b"",
        b'{"sip_endpoints": [{"name": "a"}]}\xc3',  # a character cut short at the very end
        b'{"sip_endpoints": [{"name": "' + b"a" * 300 + b'"}]}\xc3',  # of a longer answer
    ],
    ids=[
        "latin-1",
        "latin-1-kept-as-is",
        "surrogate",
        "utf-16",
        "two-objects",
        "trailing",
        "empty",
        "cut-short",
        "cut-short-long",
    ],
)
def test_bytes_arrow_refuses_are_left_to_the_walk(content: bytes) -> None:
    assert state._by_arrow(content) is None
    try:
        json.loads(content)
        readable = True
    except ValueError:  # UnicodeDecodeError included
        readable = False
    if not readable:  # (json reads a lone surrogate; Arrow's columns cannot hold one)
        with pytest.raises(ValueError):
            decode_list_answer(content, by_arrow=False)
    try:
        walked: Any = decode_list_answer(content, by_arrow=False)
    except (ValueError, UnicodeDecodeError) as exc:
        walked = type(exc)
    try:
        read: Any = decode_list_answer(content)
    except (ValueError, UnicodeDecodeError) as exc:
        read = type(exc)
    assert read == walked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"result": "success", "sip_endpoints": [1, {}]}', {"result": "success", "sip_endpoints": False}),
        ('{"result": "success", "sip_endpoints": {"a": 1}}', {"result": "success", "sip_endpoints": {"a": 1}}),
        ('{"result": "success", "sip_endpoints": "none"}', {"result": "success", "sip_endpoints": "none"}),
        ('{"result": "error", "error_key": "X"}', {"result": "error", "error_key": "X"}),
        ("{}", {}),
    ],
)  # fmt: skip
def test_list_answer_without_an_endpoint_array(
    text: str, expected: dict[str, Any], window: int
) -> None:
    assert decode_list_answer(text.encode(), by_arrow=False) == expected
    assert decode_list_answer(text.encode()) == expected


@pytest.mark.parametrize(
    "text",
    [
        *("", "[]", '"x"', "{", '{"a": 1,}', '{"a" 1}', '{"a": 1} x', '{"a": 1}}'),
        *('{"sip_endpoints": [{}, ]}', '{"sip_endpoints": [{} {}]}', '{"a": tru}', '{"a": "x}'),
        # A character that sorts just before or after the one expected there.
        *('{"a"! 1}', '{"a": 1! "b": 2}', '{"sip_endpoints": [{}! {}]}', "{!", "{~", '{"a": 1 ~'),
        *('{"sip_endpoints": [{}}, "x": 1}', '{"sip_endpoints"! []}', '{"sip_endpoints": [{}~'),
        '{a": 1}',  # no quote where a key starts
        '{!": 1}',
        '{"a"~ 1}',
        " \n",  # nothing but white space
    ],
)
def test_list_answer_that_is_not_a_json_object_is_refused(text: str, window: int) -> None:
    with pytest.raises(ValueError):
        decode_list_answer(text.encode(), by_arrow=False)
    with pytest.raises(ValueError):
        decode_list_answer(text.encode())


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"result": "success", "sip_endpoints": [{"name": "a"}, "b"]}, "no endpoint list"),
        ({"result": "success"}, "no endpoint list"),
        ({"result": "success", "sip_endpoints": {"name": "a"}}, "no endpoint list"),
        ({"result": "error", "error": "nope", "error_key": "UNKNOWN_METHOD"}, None),
        ({"result": "error", "error": "busy", "error_key": "X"}, "refused: busy (X)"),
        (
            {
                "result": "success",
                "sip_endpoints": [{"name": "a", "audio_codecs": [{"value": "1"}]}],
            },
            "unreadable",
        ),
    ],
)
def test_list_columns_from_a_gateway_answering_otherwise(
    answer: Mapping[str, Any], expected: str | None
) -> None:
    class Handler(_RulesGateway):
        def do_POST(self) -> None:
            # The login succeeds; every call gets ``answer``.
            self.answer = {"result": "success"} if self.path == "/admin/main.html" else answer
            super().do_POST()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    async def read() -> EndpointColumns | None:
        async with GatewayClient(GatewaySettings(url, Credentials("u", "p"))) as client:
            await client.login()
            return await list_endpoint_columns(client)

    try:
        if expected is None:
            assert asyncio.run(read()) is None
        else:
            with pytest.raises(GatewayUnavailable) as caught:
                asyncio.run(read())
            message = {
                "no endpoint list": "the gateway's sip_endpoints.list answer has no endpoint list",
                "refused: busy (X)": "the gateway refused to list its endpoints: busy (X)",
                "unreadable": "the gateway's endpoint list holds a value sip-import cannot "
                'read: audio_codecs [{"value": "1"}]',
            }[expected]
            assert str(caught.value) == message
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("chunk", [1, 2, 16384])
def test_row_hashes_equal_values_hash_row_by_row(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "_HASH_ROWS", chunk)
    frame = pd.DataFrame(
        {
            "name": ["a", "b", None, "d\u00e9", 'q"\\'],
            "secret": ["x\n\t\x01\u2028", None, None, "plain", "\x1f"],
            "port": [None, "5060", None, None, "1"],
        },
        dtype="str",
    )
    expected = [values_hash(values) for _, values in row_values(frame)]
    assert row_hashes(frame) == expected
    assert row_hashes(frame[[]]) == [values_hash({})] * 5
    mixed = pd.DataFrame({"b": ["x", np.nan, 5], "a": [None, "y", 1.5]}, dtype=object)
    assert row_hashes(mixed) == [values_hash(values) for _, values in row_values(mixed)]
