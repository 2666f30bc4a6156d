"""``sip-import export``: every endpoint on a gateway as a sheet that imports back unchanged.

The gateway's values go through the same conversion the importer diffs against
(``GatewayState.from_list``), so an exported row is, cell for cell, what ``import`` compares with:
``transport``, ``audio_codecs`` and ``codec_order`` come out in the sheet form (``UDP,TCP``,
``ulaw,alaw``, ``g729,ulaw``), and importing the file back reports every row ``unchanged``.

Secrets (``secret``, ``remotesecret``, ``auth``) are written as the mask unless the caller asks
for them; a masked cell imported back keeps the gateway's secret. Cells that a spreadsheet could
run as a formula are written as text (XLSX) or with a leading ``'`` (CSV), as the reports do;
the importer reads both back as the original value.
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import stamina.instrumentation

from schemas import MASK, PARAMETERS, SECRET_FIELDS
from schemas.text import quote

from ..config import GatewaySettings, redact_url
from ..errors import GatewayUnavailable, InputError
from ..gateways.client import GatewayClient, list_endpoints, unreadable_list
from ..gateways.plan import GatewayState
from ..gateways.state import UnreadableValue
from .report import neutralize
from .template import (
    GATEWAY_COLUMN,
    TEMPLATE_ROWS,
    TEXT_COLUMNS,
    check_writable,
    endpoint_workbook,
    save_workbook,
    text_cell,
    unwritable,
)

__all__ = [
    "EXPORT_FORMATS",
    "ExportResult",
    "export_columns",
    "export_endpoints",
    "export_fleet",
    "merge_fleet_rows",
]

EXPORT_FORMATS = (".csv", ".xlsx")
#: Never exported: they address an endpoint for a rename; a row describes the endpoint itself.
_NOT_EXPORTED = frozenset({"object_id", "old_name"})
#: What the importer does to a cell before its domain sees it (normalize.py): strip, and drop
#: the ``'`` that keeps a formula-like cell from running.
_QUOTE_PREFIX = r"^'(?=[=+\-@])"
#: Extra validated rows below the data in an XLSX export, for endpoints people add.
_SPARE_ROWS = 1000


@dataclass(frozen=True)
class ExportResult:
    path: Path
    #: Data rows written (one per endpoint).
    rows: int
    columns: tuple[str, ...]
    #: Secret cells written as the mask (0 with ``include_secrets``).
    secrets_masked: int
    #: Rows holding at least one masked secret.
    rows_masked: int
    #: Redacted URL of the gateway read (the embedded one's loopback URL when none was given).
    gateway: str
    warnings: tuple[str, ...] = ()


def export_columns(rows: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
    """``name`` first, then the parameters some row uses, in ``PARAMETERS`` (template) order."""
    used = {key for row in rows for key, value in row.items() if value != ""}
    return tuple(p for p in PARAMETERS if p not in _NOT_EXPORTED and (p == "name" or p in used))


async def _list_endpoints(settings: GatewaySettings) -> list[dict[str, Any]]:
    # One call: one connection, one session login.
    async with GatewayClient(settings.with_overrides(concurrency=1)) as client:
        await client.login()
        endpoints = await list_endpoints(client)
    if endpoints is None:
        raise GatewayUnavailable(
            "the gateway has no sip_endpoints.list method, so its endpoints cannot be exported"
        )
    return endpoints


def _canonical_rows(endpoints: list[dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    """Sheet rows in the gateway's order, and warnings about what could not be exported."""
    warnings = []
    unknown = sorted({k for e in endpoints for k in e if k not in PARAMETERS})
    if unknown:
        warnings.append(
            "the gateway returned fields sip-import does not know, not exported: "
            + ", ".join(unknown)
        )
    try:
        state = GatewayState.from_list(endpoints)
    except UnreadableValue as exc:
        raise GatewayUnavailable(unreadable_list(exc)) from None
    if len(state.by_name) != len(endpoints):
        warnings.append(
            f"the gateway listed {len(endpoints)} endpoints but only {len(state.by_name)} "
            "distinct names (case-insensitive); each name is exported once"
        )
    rows = [
        {k: v for k, v in values.items() if k not in _NOT_EXPORTED and v != ""}
        for values in state.by_name.values()
    ]
    return rows, warnings


def _read_back_problems(
    path: Path, rows: list[dict[str, str]], columns: Sequence[str]
) -> list[str]:
    """Read the written file the way ``import`` does (load, normalize, validate) and say which
    cells would not come back as exported: rejected, or read as a different value.

    The local gateway only stores values that pass the sheet rules; a real gateway may hold
    values set through its web page that the rules refuse.
    """
    from ..sheets.load import load_sheet
    from ..sheets.normalize import normalize
    from ..validate import validate

    if not rows:
        return []
    # A fleet's sheet may name an endpoint once per version (the fleet run checks names per
    # gateway); its gateway column is routing, not a parameter to compare.
    fleet = GATEWAY_COLUMN in columns
    columns = [c for c in columns if c != GATEWAY_COLUMN]
    try:
        sheet = normalize(load_sheet(path))
    except InputError as exc:
        return [f"the file cannot be read back ({exc})"]
    # A masked secret imports as "keep the gateway's": stand in a value for the checks across
    # fields (host=dynamic needs a secret) without a masked-secret warning on every such row.
    checked = sheet.frame.copy()
    for field in SECRET_FIELDS & set(checked.columns):
        checked[field] = checked[field].where(checked[field] != MASK, "kept")
    found: list[str] = []
    for problem in validate(replace(sheet, frame=checked)).problems:
        if fleet and problem.code == "duplicate-name":
            continue
        if problem.severity == "error":
            name = rows[problem.row - 2]["name"] if 2 <= problem.row < len(rows) + 2 else "?"
            if problem.field in SECRET_FIELDS:
                found.append(f"{name}: {problem.field}: the value is not allowed (not shown)")
            else:
                found.append(f"{name}: {problem.message}")
    got = sheet.frame.reindex(columns=list(columns)).astype(object)
    want = pd.DataFrame(rows, columns=list(columns), index=got.index, dtype=object)
    differs = got.fillna("").astype(str) != want.fillna("").astype(str)
    for column in columns:
        for index in differs.index[differs[column].to_numpy()]:
            who = str(want.at[index, "name"])
            if column in SECRET_FIELDS:
                found.append(f"{who}: {column}: would be read differently (not shown)")
            else:
                found.append(
                    f"{who}: {column}: {quote(want.at[index, column])} would be read as "
                    f"{quote(got.at[index, column])}"
                )
    return found


def _mask(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], int, int]:
    cells = rows_hit = 0
    out = []
    for row in rows:
        secret = [f for f in SECRET_FIELDS if row.get(f)]
        if secret:
            rows_hit += 1
            cells += len(secret)
            row = {**row, **dict.fromkeys(secret, MASK)}
        out.append(row)
    return out, cells, rows_hit


def _write_csv(path: Path, rows: list[dict[str, str]], columns: Sequence[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([neutralize(row.get(c, "")) for c in columns])


def _write_xlsx(path: Path, rows: list[dict[str, str]], columns: Sequence[str]) -> None:
    workbook, sheet = endpoint_workbook(columns, max(TEMPLATE_ROWS, len(rows) + 1 + _SPARE_ROWS))
    plain = [c not in TEXT_COLUMNS for c in columns]
    for row in rows:
        values = [row.get(c) for c in columns]
        # A plain str is a string cell unless it starts with '=' (openpyxl: a formula).
        sheet.append([
            v if fast and (v is None or not v.startswith("=")) else text_cell(sheet, v, c)
            for v, c, fast in zip(values, columns, plain, strict=True)
        ])  # fmt: skip
    save_workbook(workbook, path)


def _check_target(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise InputError(f"{out}: cannot tell the format from the name; end it in .xlsx or .csv")
    check_writable(out)
    return suffix


def export_endpoints(
    out: str | Path,
    *,
    settings: GatewaySettings | None,
    tuning: dict[str, Any] | None = None,
    include_secrets: bool = False,
    notice: Callable[[str], None] = lambda _: None,
    announce: Callable[[str], None] = lambda _: None,
) -> ExportResult:
    """Write every endpoint of the gateway to ``out`` (.csv or .xlsx, told by the name).

    ``settings=None`` reads the embedded local gateway (as ``import`` without ``--gateway``).
    Secrets are masked unless ``include_secrets``; then ``notice`` gets a warning and the file is
    made readable by its owner only (POSIX). ``announce`` gets the gateway's line (see
    ``upload.gateway_line``) before the first call to it. Raises ``InputError`` (bad file name,
    cannot write) or ``GatewayUnavailable``.
    """
    out = Path(out)
    suffix = _check_target(out)
    # stamina logs each retry through stdlib logging by default; one error line is enough here.
    stamina.instrumentation.set_on_retry_hooks([])
    from ..gateways.upload import embedded_gateway, gateway_line

    if settings is None:
        with embedded_gateway(announce, tuning or {}) as local:
            endpoints = asyncio.run(_list_endpoints(local))
            url = local.url
    else:
        announce(gateway_line(settings.url))
        endpoints = asyncio.run(_list_endpoints(settings))
        url = settings.url

    rows, warnings = _canonical_rows(endpoints)
    return _write_export(out, suffix, rows, export_columns(rows), warnings, include_secrets,
                         notice, redact_url(url))  # fmt: skip


def _write_export(
    out: Path,
    suffix: str,
    rows: list[dict[str, str]],
    columns: tuple[str, ...],
    warnings: list[str],
    include_secrets: bool,
    notice: Callable[[str], None],
    gateway: str,
) -> ExportResult:
    """Write the rows (masked unless ``include_secrets``), read them back, say what would not
    import back exactly."""
    masked = rows_masked = 0
    written = rows
    if not include_secrets:
        written, masked, rows_masked = _mask(rows)

    if include_secrets and out.exists():
        out.unlink()  # recreate, so the owner-only mode below is the file's first mode
    try:
        if include_secrets and os.name == "posix":
            # Create the file owner-only before a secret is written into it.
            os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        if suffix == ".csv":
            _write_csv(out, written, columns)
        else:
            _write_xlsx(out, written, columns)
        if include_secrets and os.name == "posix":
            out.chmod(0o600)
    except OSError as exc:
        raise InputError(unwritable(out, exc)) from None
    problems = _read_back_problems(out, written, columns)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        warnings.append(
            f"{len(problems)} cell(s) hold values the importer would reject or read differently, "
            f"so importing this file back would not be exact: {shown}"
        )
    if include_secrets:
        owner = " (readable by you only)" if os.name == "posix" else ""
        notice(
            f"warning: {out} holds the endpoints' secrets in clear{owner}; keep it safe and "
            "delete it when done"
        )
    for warning in warnings:
        notice(f"warning: {warning}")
    return ExportResult(
        path=out,
        rows=len(rows),
        columns=columns,
        secrets_masked=masked,
        rows_masked=rows_masked,
        gateway=gateway,
        warnings=tuple(warnings),
    )


def merge_fleet_rows(by_gateway: Mapping[str, list[dict[str, str]]]) -> list[dict[str, str]]:
    """One row per endpoint that is the same on several gateways, naming them all (in the
    order given); an endpoint that differs between gateways is one row per version. Rows are
    in name order, each name's versions in the order their first gateway comes."""
    merged: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for gateway, rows in by_gateway.items():
        for row in rows:
            key = tuple(sorted(row.items()))
            if key in merged:
                merged[key][GATEWAY_COLUMN] += f",{gateway}"
            else:
                merged[key] = {**row, GATEWAY_COLUMN: gateway}
    return sorted(merged.values(), key=lambda r: r["name"].lower())


def export_fleet(
    out: str | Path,
    *,
    gateways: Sequence[tuple[str, GatewaySettings]],
    include_secrets: bool = False,
    notice: Callable[[str], None] = lambda _: None,
    announce: Callable[[str], None] = lambda _: None,
    where: str = "",
) -> ExportResult:
    """Every endpoint of every gateway (``(name, settings)`` pairs) in one sheet with a
    ``gateway`` column (last): an endpoint identical on several gateways is one row naming them
    all, so the file syncs back to the same fleet with ``--inventory``. Any gateway that cannot
    be read stops the export (``GatewayUnavailable`` naming it): a partial export would look
    whole. ``where`` names the fleet in the result (e.g. the inventory's path)."""
    out = Path(out)
    suffix = _check_target(out)
    stamina.instrumentation.set_on_retry_hooks([])

    async def read_all() -> list[list[dict[str, Any]] | BaseException]:
        return await asyncio.gather(
            *(_list_endpoints(settings) for _name, settings in gateways), return_exceptions=True
        )

    announce(f"gateways: {len(gateways)}{f' from {where}' if where else ''}: "
             + ", ".join(f"{name} ({redact_url(s.url)})" for name, s in gateways[:10])
             + (f", and {len(gateways) - 10} more" if len(gateways) > 10 else ""))  # fmt: skip
    listed = asyncio.run(read_all())
    by_gateway: dict[str, list[dict[str, str]]] = {}
    warnings: list[str] = []
    for (name, _settings), endpoints in zip(gateways, listed, strict=True):
        if isinstance(endpoints, GatewayUnavailable):
            raise GatewayUnavailable(f"{name}: {endpoints}") from None
        if isinstance(endpoints, BaseException):
            raise endpoints
        rows, found = _canonical_rows(endpoints)
        by_gateway[name] = rows
        warnings += [f"{name}: {w}" for w in found]
    rows = merge_fleet_rows(by_gateway)
    columns = (*export_columns(rows), GATEWAY_COLUMN)
    return _write_export(
        out, suffix, rows, columns, warnings, include_secrets, notice,
        f"{len(gateways)} gateways" + (f" of {where}" if where else ""),
    )  # fmt: skip
