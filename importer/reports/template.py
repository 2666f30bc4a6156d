"""``sip-import template``: an empty endpoints workbook that prevents mistakes as people type.

One column per ``sip_endpoint.save`` parameter (the common ones first, in ``PARAMETERS`` order;
``old_name`` and ``object_id``, which only rename, last), with:

* Excel data validation wherever the domain is fixed: dropdowns for choices and 0/1 flags,
  whole-number ranges for numbers, length limits for bounded texts;
* an input message on each header cell (and on the cells below it) saying what the field means,
  what is allowed and what the gateway does when the cell is empty;
* ID and secret columns formatted as Text, so Excel keeps ``0012`` and ``8005555555`` as typed;
* a frozen header row (and name column), a bold header, column widths that fit;
* a ``help`` sheet with the parameter table.

``sip-import export`` writes its XLSX through the same helpers, so an export has the same
layout, validations and help as the template.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from schemas import ID_COLUMNS, MASK, PARAMETERS, SECRET_FIELDS, Param
from schemas.domains import (
    Choice,
    CodecOrder,
    CodecSet,
    Flag,
    Integer,
    Name,
    Text,
    Transport,
)

from ..errors import InputError

__all__ = [
    "COMMON_COLUMNS",
    "HELP_SHEET",
    "LISTS_SHEET",
    "RENAME_COLUMNS",
    "TEMPLATE_COLUMNS",
    "TEMPLATE_ROWS",
    "TEMPLATE_SHEET",
    "TEXT_COLUMNS",
    "add_help_sheet",
    "check_writable",
    "endpoint_workbook",
    "input_message",
    "save_workbook",
    "text_cell",
    "unwritable",
    "write_template",
]

TEMPLATE_SHEET = "endpoints"
HELP_SHEET = "help"
#: Hidden sheet holding dropdown lists whose values contain commas (``yes,fec``).
LISTS_SHEET = "lists"
#: Rows 2..TEMPLATE_ROWS carry the validations; the Text format is the columns' style. No cell
#: below the header exists, so a tool that appends rows (openpyxl's ``ws.append``) starts at 2.
TEMPLATE_ROWS = 5000
#: Columns that only rename an endpoint: at the end of the sheet, after everything a row describes.
RENAME_COLUMNS: tuple[str, ...] = ("old_name", "object_id")
COMMON_COLUMNS: tuple[str, ...] = (
    "name", "host", "defaultuser", "secret", "registration", "transport", "nat", "port",
)  # fmt: skip
TEMPLATE_COLUMNS: tuple[str, ...] = (
    *(p for p in PARAMETERS if p not in RENAME_COLUMNS),
    *RENAME_COLUMNS,
)
#: Columns formatted as Text: identifiers Excel would turn into numbers, and secrets (a
#: password such as ``0012`` or ``1e5`` must reach the gateway as typed).
TEXT_COLUMNS: frozenset[str] = ID_COLUMNS | SECRET_FIELDS

_TEXT_FORMAT = "@"
#: Excel refuses (and "repairs") workbooks whose validation texts exceed these lengths.
_MAX_PROMPT = 255
_MAX_TITLE = 32
_MAX_INLINE_LIST = 255

_BOLD = Font(bold=True)
_HEADER_FONT = Font(bold=True, color="FF1F2D3D")
_FILL_COMMON = PatternFill(start_color="FFBDD7EE", end_color="FFBDD7EE", fill_type="solid")
_FILL_OTHER = PatternFill(start_color="FFDDEBF7", end_color="FFDDEBF7", fill_type="solid")
_FILL_RENAME = PatternFill(start_color="FFE7E6E6", end_color="FFE7E6E6", fill_type="solid")
_FILL_SECRET = PatternFill(start_color="FFFCE4D6", end_color="FFFCE4D6", fill_type="solid")
_HEADER_BORDER = Border(bottom=Side(style="medium", color="FF5B7FA6"))
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")

#: Widths (characters) of columns whose values are longer than their header.
_WIDTHS = {
    "name": 24, "host": 24, "defaultuser": 16, "secret": 18, "transport": 13,
    "auth": 26, "fromuser": 14, "fromdomain": 24, "remotesecret": 18, "outboundproxy": 24,
    "callingpres": 24, "audio_codecs": 32, "codec_order": 24, "t38pt_udptl": 16,
    "t1min": 9, "extension": 12, "old_name": 24,
}  # fmt: skip


def _header_fill(name: str) -> PatternFill:
    if name in RENAME_COLUMNS:
        return _FILL_RENAME
    if name in SECRET_FIELDS:
        return _FILL_SECRET
    return _FILL_COMMON if name in COMMON_COLUMNS else _FILL_OTHER


def _width(param: Param) -> float:
    # The dropdown arrow covers the right end of a cell: leave room for it.
    width = max(len(param.name) + 3, 8)
    if isinstance(param.domain, Choice):
        width = max(width, max(len(v) for v in param.domain.values) + 4)
    return float(min(max(width, _WIDTHS.get(param.name, 0)), 34))


def _allowed(param: Param) -> str:
    allowed = param.domain.allowed()
    unit = getattr(param.domain, "unit", "")
    return f"{allowed} ({unit})" if unit else allowed


def _default(param: Param) -> str:
    if param.default is not None:
        return param.default
    if param.name == "t38pt_udptl":
        return "yes,redundancy if a fax-capable codec is enabled, else no"
    return ""


def _sheet_form(param: Param) -> str:
    """How a multi-value column is written, for the input message."""
    domain = param.domain
    if isinstance(domain, Transport):
        return "Example: UDP or UDP,TCP."
    if isinstance(domain, CodecSet):
        return "Example: ulaw,alaw,g729 (order does not matter; none disables all)."
    if isinstance(domain, CodecOrder):
        return "Example: g729,ulaw (most preferred first)."
    return ""


def input_message(param: Param) -> str:
    """What a person reads when they select the column's header or one of its cells.

    Never longer than Excel's limit of 255 characters: the optional parts go first.
    """
    domain = param.domain
    form = _sheet_form(param)
    if form:
        allowed_line = form  # the help already names the values; an example says more
    elif isinstance(domain, Flag):
        allowed_line = "Pick 0 or 1 from the list."
    elif isinstance(domain, Choice):
        allowed_line = f"Pick from the list: {' / '.join(domain.values)}."
    else:
        allowed_line = f"Allowed: {_allowed(param)}."
    if isinstance(domain, Integer) and domain.step is not None:
        allowed_line += " (Excel checks the range only.)"
    if param.name in RENAME_COLUMNS or param.name == "name":
        empty = ""  # the help says when to fill it
    elif param.default:
        empty = f"Empty: not sent (default {param.default})."
    else:
        empty = "Empty: not sent."
    essential = [t for t in (param.help, allowed_line, empty) if t]
    optional: list[str] = []
    if param.secret:
        optional.append(f"{MASK} keeps the gateway's current value.")
    if param.name in ID_COLUMNS:
        optional.append("Text cells: leading zeros stay.")
    while optional:
        text = " ".join([*essential, *optional])
        if len(text) <= _MAX_PROMPT:
            return text
        optional.pop()
    text = " ".join(essential)
    if len(text) > _MAX_PROMPT and isinstance(domain, Choice):
        text = " ".join(t for t in (param.help, "Pick a value from the list.", empty) if t)
    return text[:_MAX_PROMPT]


def _inline_list(values: Sequence[str]) -> str | None:
    """The ``"a,b,c"`` formula of a dropdown, or None when a value holds a comma or it is long."""
    if any("," in v or '"' in v for v in values):
        return None
    formula = '"' + ",".join(values) + '"'
    return formula if len(formula) <= _MAX_INLINE_LIST else None


def _error_text(param: Param) -> tuple[str, str]:
    return param.name[:_MAX_TITLE], f"{param.name}: {_allowed(param)}."[:_MAX_PROMPT]


class _Lists:
    """Columns of the hidden ``lists`` sheet, for dropdowns that cannot be written inline."""

    def __init__(self) -> None:
        self.columns: list[tuple[str, tuple[str, ...]]] = []

    def reference(self, name: str, values: tuple[str, ...]) -> str:
        self.columns.append((name, values))
        letter = get_column_letter(len(self.columns))
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"


def _column_validation(param: Param, cells: str, lists: _Lists) -> DataValidation:
    """The validation of a column's data cells; type None (any value) just shows the message."""
    domain = param.domain
    kind: dict[str, Any] = {}
    if isinstance(domain, Flag):
        kind = {"type": "list", "formula1": '"0,1"'}
    elif isinstance(domain, Choice):
        formula = _inline_list(domain.values) or lists.reference(param.name, domain.values)
        kind = {"type": "list", "formula1": formula}
    elif isinstance(domain, Integer) and domain.minimum is not None:
        if domain.maximum is not None:
            kind = {
                "type": "whole", "operator": "between",
                "formula1": str(domain.minimum), "formula2": str(domain.maximum),
            }  # fmt: skip
        else:
            kind = {
                "type": "whole",
                "operator": "greaterThanOrEqual",
                "formula1": str(domain.minimum),
            }
    elif isinstance(domain, Name) and domain.reserved:
        # Excel has no "not one of" rule: a formula on the range's first cell, relative to it.
        first = cells.split(":")[0]
        refused = ",".join(f'LOWER({first})<>"{word}"' for word in domain.reserved)
        kind = {
            "type": "custom",
            "formula1": f"AND(LEN({first})>=1,LEN({first})<={domain.max_len},{refused})",
        }
    elif isinstance(domain, Name):
        kind = {
            "type": "textLength",
            "operator": "between",
            "formula1": "1",
            "formula2": str(domain.max_len),
        }
    elif isinstance(domain, Text) and domain.max_len is not None:
        kind = {
            "type": "textLength", "operator": "between",
            "formula1": str(max(domain.min_len, 1)), "formula2": str(domain.max_len),
        }  # fmt: skip
    title, error = _error_text(param)
    validation = DataValidation(
        allow_blank=True,
        showInputMessage=True,
        promptTitle=param.name[:_MAX_TITLE],
        prompt=input_message(param),
        showErrorMessage=bool(kind),
        errorStyle="stop" if kind else None,
        errorTitle=title if kind else None,
        error=error if kind else None,
        **kind,
    )
    validation.add(cells)
    return validation


def _header_validation(param: Param, cell: str) -> DataValidation:
    validation = DataValidation(
        showInputMessage=True,
        promptTitle=param.name[:_MAX_TITLE],
        prompt=input_message(param),
    )
    validation.add(cell)
    return validation


def text_cell(sheet: Any, value: str | None, column: str) -> Cell:
    """A data cell for ``column``: always a string (never a formula), Text format where needed."""
    cell = WriteOnlyCell(sheet, value=value)
    if value is not None:
        cell.data_type = "s"  # '=...' stays text
    if column in TEXT_COLUMNS:
        cell.number_format = _TEXT_FORMAT
    return cell


def endpoint_workbook(columns: Sequence[str], last_row: int) -> tuple[Workbook, Any]:
    """A write-only workbook: the ``endpoints`` sheet with its header row written, the ``help``
    sheet, and (hidden) the ``lists`` sheet some dropdowns need.

    The endpoints sheet has widths, Text formats, validations on rows 2..``last_row``, the frozen
    header and print settings; the caller appends data rows (cells from ``text_cell``) to the
    returned sheet and saves with ``save_workbook``.
    """
    unknown = [c for c in columns if c not in PARAMETERS]
    if unknown:
        raise InputError(f"unknown parameter column(s): {', '.join(unknown)}")
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(TEMPLATE_SHEET)
    lists = _Lists()
    for index, name in enumerate(columns, start=1):
        param = PARAMETERS[name]
        letter = get_column_letter(index)
        dimension = sheet.column_dimensions[letter]
        dimension.width = _width(param)
        if name in TEXT_COLUMNS:
            dimension.number_format = _TEXT_FORMAT
        sheet.data_validations.append(_header_validation(param, f"{letter}1"))
        sheet.data_validations.append(
            _column_validation(param, f"{letter}2:{letter}{last_row}", lists)
        )
    sheet.freeze_panes = "B2"  # the header row and the name column stay in view
    sheet.print_title_rows = "1:1"
    sheet.print_title_cols = "A:A"
    sheet.print_options.gridLines = True
    sheet.page_setup.orientation = "landscape"
    header = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.data_type = "s"
        cell.font = _HEADER_FONT
        cell.fill = _header_fill(name)
        cell.border = _HEADER_BORDER
        cell.number_format = _TEXT_FORMAT
        header.append(cell)
    sheet.append(header)
    add_help_sheet(workbook, columns)
    if lists.columns:
        _write_lists(workbook, lists)
    return workbook, sheet


def _write_lists(workbook: Workbook, lists: _Lists) -> None:
    sheet = workbook.create_sheet(LISTS_SHEET)
    sheet.sheet_state = "hidden"
    height = max(len(values) for _, values in lists.columns)
    sheet.append([name for name, _ in lists.columns])
    for i in range(height):
        sheet.append([values[i] if i < len(values) else None for _, values in lists.columns])


_HELP_HEADERS = ("parameter", "column", "allowed values", "default", "meaning", "secret")
_HELP_WIDTHS = (22, 8, 50, 30, 70, 8)
_LINE_HEIGHT = 15.0  # points, one line of the default 11 pt font
_HELP_NOTES = (
    "How to fill the endpoints sheet:",
    "- One endpoint a row; name is required. Columns you do not need may be deleted or left empty.",
    "- An empty cell is not sent: a new endpoint gets the default, an existing one keeps its "
    "value.",
    "- 0/1 columns also accept yes/no, true/false, on/off; choices are not case-sensitive.",
    f"- secret, auth and remotesecret are masked as {MASK} in every report and export. A cell "
    f"holding {MASK} keeps the gateway's current secret (it is not sent).",
    "- old_name and object_id are only for renaming an endpoint; leave them empty otherwise.",
    "- Check the sheet before sending it: sip-import validate FILE.xlsx",
)


def add_help_sheet(workbook: Workbook, columns: Sequence[str]) -> None:
    """The ``help`` sheet: the parameter table (every parameter, in column order) and notes."""
    sheet = workbook.create_sheet(HELP_SHEET)
    for index, width in enumerate(_HELP_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "B2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    header = []
    for text in _HELP_HEADERS:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = _HEADER_FONT
        cell.fill = _FILL_COMMON
        cell.border = _HEADER_BORDER
        header.append(cell)
    sheet.append(header)
    position = {name: get_column_letter(i) for i, name in enumerate(columns, start=1)}
    ordered = [*columns, *(p for p in TEMPLATE_COLUMNS if p not in position)]
    for row_number, name in enumerate(ordered, start=2):
        param = PARAMETERS[name]
        values = (
            name, position.get(name, ""), _allowed(param), _default(param),
            param.help + (" (rename only)" if name in RENAME_COLUMNS else ""),
            "yes" if param.secret else "no",
        )  # fmt: skip
        row = []
        lines = 1
        for i, value in enumerate(values):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            cell.alignment = _WRAP_TOP if i in (2, 3, 4) else _TOP
            if i == 0:
                cell.font = _BOLD
            if i in (2, 3, 4):
                lines = max(lines, _lines(value, _HELP_WIDTHS[i]))
            row.append(cell)
        if lines > 1:
            # Spreadsheets do not grow a row to fit wrapped text written by openpyxl.
            sheet.row_dimensions[row_number].height = _LINE_HEIGHT * lines
        sheet.append(row)
    sheet.append([])
    for note in _HELP_NOTES:
        cell = WriteOnlyCell(sheet, value=note)
        if note.endswith(":"):
            cell.font = _BOLD
        sheet.append([cell])


def _lines(text: str, width: float) -> int:
    """Lines a wrapped cell of ``width`` characters needs for ``text`` (a safe estimate)."""
    per_line = max(int(width * 1.2), 1)  # proportional text: narrower than the "0" of a width unit
    lines, used = 1, 0
    for word in text.replace(",", ", ").split():
        if used and used + 1 + len(word) > per_line:
            lines, used = lines + 1, 0
        used += len(word) + (1 if used else 0)
        while used > per_line:
            lines, used = lines + 1, used - per_line
    return lines


def write_template(path: Path) -> None:
    """Write the empty endpoints template to ``path`` (an .xlsx file)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path}: the template is an Excel workbook; name it *.xlsx")
    check_writable(path)
    workbook, _sheet = endpoint_workbook(TEMPLATE_COLUMNS, TEMPLATE_ROWS)
    save_workbook(workbook, path)


def check_writable(path: Path) -> None:
    """Fail early, before a workbook is built, when ``path`` cannot be written."""
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: the folder {path.parent} does not exist")


def _discard(workbook: Workbook) -> None:
    """Close a write-only workbook that could not be saved, quietly (its sheets' writers would
    otherwise complain on stderr when garbage-collected)."""
    for sheet in workbook.worksheets:
        rows = getattr(sheet, "_rows", None)
        if rows is not None:
            with contextlib.suppress(Exception):
                rows.close()
        writer = getattr(sheet, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()


def save_workbook(workbook: Workbook, path: Path) -> None:
    """Save, turning a file system failure into one ``InputError`` sentence."""
    try:
        workbook.save(path)
    except OSError as exc:
        _discard(workbook)
        raise InputError(unwritable(path, exc)) from None


def unwritable(path: Path, exc: OSError) -> str:
    """Why ``path`` could not be written, in one sentence."""
    if isinstance(exc, FileNotFoundError):
        return f"cannot write {path}: the folder {path.parent} does not exist"
    if isinstance(exc, PermissionError):
        return f"cannot write {path} (permission denied)"
    if isinstance(exc, IsADirectoryError):
        return f"cannot write {path}: it is a directory"
    return f"cannot write {path} ({exc.strerror or type(exc).__name__})"
