"""The gateway's endpoints as columns: one canonical text column per parameter.

``sip_endpoints.list`` of a 100,000-endpoint gateway is about 47 MB of JSON. Parsed whole by
``json`` it is a list of 100,000 dicts (six more per endpoint for ``audio_codecs``): about six
million Python objects, 1.1-1.5 s of CPU whichever decoder builds them (orjson and msgspec
were no faster: building the objects is the cost, not the parsing).

Two readings, one result (tests/test_plan.py holds them equal):

- **Arrow's JSON reader** (``_by_arrow``), for an answer of the plain shape (each key of one
  JSON type, nothing null inside a list): parsed in C++ straight into columns, 0.3 s, and each
  distinct value converted once. That is what gateways answer.
- **The walk** (``_Text``, ``_Builder``), for any other answer: one endpoint at a time (the C
  scanner of the standard ``json`` decodes each), each turned into column entries at once and
  dropped, so the columns and a window of the answer's text are all that is ever held.

Wire -> canonical text goes by column: a plain-text domain's canonical text *is* its wire
string, so those cells are kept as they are; other values are converted once per distinct
value (the walk converts list values once per cell: a hashable key for a list of dicts costs
as much to build as ``from_wire`` itself).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from schemas import PARAMETERS, SECRET_FIELDS, Domain, from_wire

__all__ = [
    "EndpointColumns",
    "UnreadableValue",
    "canonical_column",
    "decode_list_answer",
    "wire_text",
]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
#: The standard decoder's scanner (C): one JSON value at an index -> (value, index after it).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_SCAN_STRING: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_TEXT = pa.large_string()
#: Parameters whose wire strings are already their canonical text (``Domain.from_wire``).
_AS_IS = frozenset(
    name for name, p in PARAMETERS.items() if type(p.domain).from_wire is Domain.from_wire
)


class UnreadableValue(Exception):
    """A value of the gateway's list its parameter's domain cannot read (a codec without an
    ``id``, an order that is no number, ...). ``str()`` names the parameter and shows the
    value, unless it is a secret's."""


def wire_text(name: str, value: Any) -> str:
    """``from_wire(name, value)``, or ``UnreadableValue`` for a value it cannot read."""
    try:
        return from_wire(name, value)
    except (TypeError, ValueError, KeyError, AttributeError):
        shown = "(a secret)" if name in SECRET_FIELDS else json.dumps(value, ensure_ascii=False)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise UnreadableValue(f"{name} {shown}") from None


def canonical_column(name: str, values: Iterable[Any]) -> list[str]:
    """``from_wire(name, v)`` for each ``v``, as one column (see the module's docstring)."""
    as_is = name in _AS_IS
    seen: dict[Any, str] = {}
    out: list[str] = []
    append = out.append
    for value in values:
        kind = value.__class__
        if kind is str and as_is:
            append(value)
        elif kind is list or kind is dict:
            append(wire_text(name, value))
        else:
            # Keyed with its type: 1, 1.0 and True are equal keys but not equal texts.
            key = (kind, value)
            text = seen.get(key)
            if text is None:
                text = seen[key] = wire_text(name, value)
            append(text)
    return out


#: Endpoints read between two moves of their texts into Arrow columns.
_CHUNK = 8192


@dataclass(frozen=True)
class EndpointColumns:
    """The endpoints in the order listed: ``names[i]``, ``ids[i]`` and
    ``values[parameter][i]`` (canonical text, null where the gateway gave none) are endpoint
    ``i``'s. ``ids`` are ``str(object_id)`` ("" when the gateway gave none).

    The texts are Arrow columns: kept as Python strings (one object per cell), reading the
    list of 100,000 endpoints left the process 172 MB bigger; as Arrow, 83 MB (the name and
    id lookups included)."""

    names: list[str]
    ids: list[str]
    values: dict[str, pa.ChunkedArray]
    #: Columns as Python lists, made when ``endpoint`` first needs them.
    _lists: dict[str, list[str | None]] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.names)

    def endpoint(self, i: int) -> dict[str, str]:
        """Endpoint ``i`` as ``{parameter: canonical text}`` plus ``object_id``."""
        found: dict[str, str] = {}
        for key, column in self.values.items():
            texts = self._lists.get(key)
            if texts is None:
                texts = self._lists[key] = column.to_pylist()
            if (text := texts[i]) is not None:
                found[key] = text
        found["object_id"] = self.ids[i]
        return found

    @classmethod
    def from_endpoints(cls, endpoints: Iterable[Mapping[str, Any]]) -> EndpointColumns:
        builder = _Builder()
        for endpoint in endpoints:
            builder.add(endpoint)
        return builder.finish()


class _Builder:
    """Collects each parameter's values sparsely (positions, values) as endpoints come, and
    every ``_CHUNK`` endpoints moves them into Arrow: Python strings for the cells of a few
    thousand endpoints at most are alive at once.

    List values are converted as they come and their lists dropped: kept until the end, the
    codec lists alone are seven containers per endpoint, and the garbage collector walked
    them again and again while the answer was read (the walk took twice as long)."""

    def __init__(self) -> None:
        self.count = 0
        self.start = 0  # the first endpoint not yet in ``chunks``
        self.ids: list[str] = []
        self.names: list[str] = []
        #: Scalar wire values, converted per distinct value in ``_flush``.
        self.wire: dict[str, tuple[list[int], list[Any]]] = {}
        #: Canonical texts of list (and object) values, converted as they came.
        self.texts: dict[str, tuple[list[int], list[str]]] = {}
        #: Each parameter's Arrow chunks, with the first endpoint each covers.
        self.chunks: dict[str, list[tuple[int, pa.Array]]] = {}

    def add(self, endpoint: Mapping[str, Any]) -> None:
        i = self.count - self.start
        self.count += 1
        self.ids.append(str(endpoint.get("object_id", "")))
        for key, value in endpoint.items():
            if value is None:
                continue
            kind = value.__class__
            into = self.texts if kind is list or kind is dict else self.wire
            slot = into.get(key)
            if slot is None:
                if key not in PARAMETERS:
                    continue
                slot = into[key] = ([], [])
            slot[0].append(i)
            slot[1].append(value if into is self.wire else wire_text(key, value))
        if self.count - self.start == _CHUNK:
            self._flush()

    def _flush(self) -> None:
        size = self.count - self.start
        for key in (*self.wire, *(k for k in self.texts if k not in self.wire)):
            scalar = self.wire.get(key)
            listed = self.texts.get(key)
            if scalar is not None and listed is None and len(scalar[0]) == size:
                column: list[str | None] = list(canonical_column(key, scalar[1]))
            else:
                column = [None] * size
                for positions, texts in (
                    (scalar[0], canonical_column(key, scalar[1])) if scalar else ([], []),
                    listed or ([], []),
                ):
                    for at, text in zip(positions, texts, strict=True):
                        column[at] = text
            if key == "name":
                self.names += [text or "" for text in column]
            self.chunks.setdefault(key, []).append((self.start, pa.array(column, _TEXT)))
        if "name" not in self.wire and "name" not in self.texts:
            self.names += [""] * size
        self.wire, self.texts = {}, {}
        self.start = self.count

    def finish(self) -> EndpointColumns:
        self._flush()
        values: dict[str, pa.ChunkedArray] = {}
        for key, chunks in self.chunks.items():
            parts, at = [], 0
            for start, array in chunks:
                if start > at:  # endpoints before this chunk had no such parameter
                    parts.append(pa.nulls(start - at, _TEXT))
                parts.append(array)
                at = start + len(array)
            if at < self.count:
                parts.append(pa.nulls(self.count - at, _TEXT))
            values[key] = pa.chunked_array(parts, _TEXT)
        self.chunks = {}
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps what was freed
        return EndpointColumns(self.names, self.ids, values)


#: Bytes of the answer decoded at a time: the answer's text is never held whole (47 MB at
#: 100,000 endpoints, besides the 47 MB of the answer's bytes).
_WINDOW = 1 << 20


#: A value read this close to the window's end is read again with the next window too.
_TAIL = 8


def _scan_key(text: str, at: int) -> tuple[str, int]:
    return _SCAN_STRING(text, at + 1)  # ``at`` is the opening quote


class _Text:
    """The answer's text, decoded a window at a time; ``text[at:]`` is what is left of it."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        decoder = codecs.getincrementaldecoder(json.detect_encoding(content))
        self.decoder = decoder("surrogatepass")
        self.fed = 0
        self.text = ""
        self.at = 0
        self.more()

    def more(self) -> bool:
        """Decode the next window (what is already read is dropped); False at the end."""
        if self.fed >= len(self.content):
            return False
        chunk = self.content[self.fed : self.fed + _WINDOW]
        self.fed += len(chunk)
        final = self.fed >= len(self.content)
        self.text = self.text[self.at :] + self.decoder.decode(chunk, final)
        self.at = 0
        return True

    def skip(self) -> str:
        """Skip whitespace; the next character ("" at the end)."""
        while True:
            match = _WHITESPACE.match(self.text, self.at)
            self.at = match.end() if match else self.at
            if self.at < len(self.text) or not self.more():
                return self.text[self.at : self.at + 1]

    def expect(self, char: str) -> None:
        if self.skip() != char:
            raise ValueError(f"expected {char!r}")
        self.at += 1

    def value(self, scan: Callable[[str, int], tuple[Any, int]]) -> Any:
        """The value at ``at``, read with ``scan``; a value the window cuts short is read
        again with the next window too."""
        self.skip()
        while True:
            try:
                found, end = scan(self.text, self.at)
            except (StopIteration, ValueError):
                if self.more():
                    continue
                raise ValueError("expected a value") from None
            if len(self.text) - end < _TAIL and self.more():
                continue  # a number may go on in the next window ('1' of '1.5e3' ends at '1.')
            self.at = end
            return found


def _endpoints(text: _Text, builder: _Builder) -> bool:
    """Walk the array at ``text.at``; whether all its elements were objects."""
    text.expect("[")
    objects = True
    if text.skip() == "]":
        text.at += 1
        return objects
    while True:
        item = text.value(_SCAN)
        if isinstance(item, dict):
            builder.add(item)
        else:
            objects = False
        if text.skip() == "]":
            text.at += 1
            return objects
        text.expect(",")


def decode_list_answer(content: bytes, *, by_arrow: bool = True) -> dict[str, Any]:
    """A ``sip_endpoints.list`` answer as ``json.loads`` would give it, except that a
    ``sip_endpoints`` array of objects comes as ``EndpointColumns`` (and one holding anything
    else as ``False``). Raises ``ValueError`` when ``content`` is not a JSON object.

    An answer of the plain shape (see ``_by_arrow``) is read by Arrow's JSON reader, any other
    (or with ``by_arrow=False``) by walking it with the standard decoder: the same result."""
    if by_arrow and (read := _by_arrow(content)) is not None:
        return read
    text = _Text(content)
    text.expect("{")
    answer: dict[str, Any] = {}
    if text.skip() != "}":
        while True:
            if text.skip() != '"':
                raise ValueError("expected a key")
            key = text.value(_scan_key)
            text.expect(":")
            if key == "sip_endpoints" and text.skip() == "[":
                builder = _Builder()
                objects = _endpoints(text, builder)
                answer[key] = builder.finish() if objects else False
            else:
                answer[key] = text.value(_SCAN)
            if text.skip() == "}":
                break
            text.expect(",")
    text.at += 1
    if text.skip():
        raise ValueError("extra data after the answer")
    return answer


# -- Arrow's JSON reader ------------------------------------------------------------------------
#
# Walking the answer builds a Python object for every value (about 6 million at 100,000
# endpoints: 1.1 s of CPU, whichever decoder builds them). Arrow's reader parses it in C++ into
# columns (0.3 s). It reads a sequence of objects, so the whole answer is one row whose
# ``sip_endpoints`` is a list of structs: one struct field per parameter. Its reading is exact
# where every value has one JSON type per key and nothing is null inside a list; anything else
# (numbers of two kinds, a null codec, an object value, duplicate keys, UTF-16, ...) returns
# None and is walked as before, so both ways give the same result (tests/test_plan.py).

#: Types whose values Arrow gives back as ``json`` does (numbers of one kind only: a column
#: of ``1`` and ``1.5`` is all doubles in Arrow, ``1`` stays an int for ``json``).
_EXACT_SCALARS = (pa.types.is_string, pa.types.is_int64, pa.types.is_boolean)


def _exact_scalar(kind: pa.DataType) -> bool:
    return any(test(kind) for test in _EXACT_SCALARS)


def _reader_pool() -> pa.MemoryPool:
    """The reader's own allocator, which hands its working set (60 MB at 100,000 endpoints,
    besides the answer) back as soon as it is freed: the default pool (mimalloc) and malloc
    both kept it, on top of the columns built next."""
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc
        return pa.system_memory_pool()
    pa.jemalloc_set_decay_ms(0)
    return pool


def _by_arrow(content: bytes) -> dict[str, Any] | None:
    try:
        table = pa_json.read_json(
            pa.BufferReader(content),
            # One block holds the whole answer (an empty one, or one past the block size's
            # int32, is refused, and walked).
            read_options=pa_json.ReadOptions(block_size=len(content)),
            parse_options=pa_json.ParseOptions(newlines_in_values=True),
            memory_pool=_reader_pool(),
        )
        if table.num_rows != 1:
            return None
        for array in table.columns:  # the reader does not check UTF-8 (json does)
            array.validate(full=True)
        answer: dict[str, Any] = {}
        for key in table.column_names:
            (column,) = table.column(key).chunks  # one row, one chunk
            if key == "sip_endpoints" and pa.types.is_list(column.type):
                if column.null_count or not pa.types.is_struct(column.type.value_type):
                    return None
                read = _columns_by_arrow(column.flatten())
                if read is None:
                    return None
                answer[key] = read
            elif _exact_scalar(column.type) or pa.types.is_null(column.type):
                (answer[key],) = column.to_pylist()
            else:
                return None
    except Exception:  # any shape this reading did not foresee: the walk decides
        return None
    return answer


def _columns_by_arrow(endpoints: pa.StructArray) -> EndpointColumns | None:
    count = len(endpoints)  # 1 or more: an empty array is typed list<null>, not of structs
    if endpoints.null_count:  # a null in the array: not all objects
        return None
    fields = {f.name: array for f, array in zip(endpoints.type, endpoints.flatten(), strict=True)}
    ids = _ids(fields.get("object_id"), count)
    if ids is None:
        return None
    values: dict[str, pa.ChunkedArray] = {}
    for key, array in fields.items():
        if key not in PARAMETERS or pa.types.is_null(array.type):
            continue  # unknown keys are left out; a key null everywhere is as if absent
        texts = _canonical_by_arrow(key, array)
        if texts is None:
            return None
        values[key] = pa.chunked_array([texts], _TEXT)
    name = values.get("name")
    names = [text or "" for text in name.to_pylist()] if name is not None else [""] * count
    pa.default_memory_pool().release_unused()
    return EndpointColumns(names, ids, values)


def _ids(array: pa.Array | None, count: int) -> list[str] | None:
    """``str(endpoint.get("object_id", ""))`` of each endpoint."""
    if array is None:
        return [""] * count
    if array.null_count:  # absent ("") or null ("None"): Arrow cannot tell them apart
        return None
    if pa.types.is_string(array.type) or pa.types.is_int64(array.type):
        return [str(v) for v in array.to_pylist()]
    return None


def _canonical_by_arrow(key: str, array: pa.Array) -> pa.Array | None:
    """``canonical_column`` of one parameter's column (null where the endpoint gave none)."""
    if _exact_scalar(array.type):
        if key in _AS_IS and pa.types.is_string(array.type):
            return array.cast(_TEXT)
        distinct = array.dictionary_encode()
        texts = [wire_text(key, v) for v in distinct.dictionary.to_pylist()]
        return pa.array(texts, _TEXT).take(distinct.indices)
    return _list_texts(key, array)


def _list_texts(key: str, array: pa.Array) -> pa.Array | None:
    """``canonical_column`` of a column of lists: each distinct list is read back from its
    first cell and converted once (a few dozen at most), a slice of ``_CHUNK`` endpoints at a
    time (the keys of the whole codec column at once were 30 MB more at the run's peak)."""
    texts: dict[str, str] = {}
    parts = []
    for start in range(0, len(array), _CHUNK):
        piece = array.slice(start, _CHUNK)
        keys = _list_keys(piece)
        if keys is None:
            return None
        distinct = keys.dictionary_encode()
        seen = distinct.dictionary.to_pylist()
        if any(k not in texts for k in seen):
            codes = pc.fill_null(distinct.indices, -1).to_numpy()
            found, first = np.unique(codes, return_index=True)
            lists = piece.take(pa.array(first[found >= 0])).to_pylist()
            for k, value in zip(seen, lists, strict=True):
                if k not in texts:
                    texts[k] = wire_text(key, value)
        parts.append(pa.array([texts[k] for k in seen], _TEXT).take(distinct.indices))
    pa.default_memory_pool().release_unused()
    return pa.concat_arrays(parts)


def _netstrings(values: pa.Array) -> pa.Array:
    """``len:value`` of each text: joined, they still tell every sequence apart."""
    lengths = pc.cast(pc.binary_length(values), pa.string())
    return pc.binary_join_element_wise(lengths, values, ":")


def _list_keys(array: pa.Array) -> pa.Array | None:
    """A text per cell equal only for equal lists (null for a null cell), for lists of texts
    and lists of objects of texts without nulls; None for any other column."""
    if not pa.types.is_list(array.type):
        return None
    offsets = array.offsets  # into array.values, which a slice shares whole
    first = offsets[0].as_py()
    items = array.values.slice(first, offsets[-1].as_py() - first)
    offsets = pc.subtract(offsets, pa.scalar(first, offsets.type))
    kind = items.type
    if items.null_count:
        return None
    if pa.types.is_string(kind):
        parts = _netstrings(items)
    elif pa.types.is_null(kind):  # only empty lists (an item would be a null, refused above)
        parts = pa.array([], pa.string())
    elif (
        pa.types.is_struct(kind)
        and kind.num_fields
        and all(pa.types.is_string(f.type) for f in kind)
    ):
        children = items.flatten()
        if any(child.null_count for child in children):
            return None
        parts = pc.binary_join_element_wise(*(_netstrings(c) for c in children), "")
    else:
        return None
    listed = pa.ListArray.from_arrays(offsets, parts, mask=array.is_null())
    return pc.binary_join(listed, "")
