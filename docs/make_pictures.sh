#!/usr/bin/env bash
# Render docs/template.png and docs/rejections.png, the two pictures the README shows.
#
#   docs/make_pictures.sh            (from the repository root or anywhere)
#
# Needs the project's .venv (make setup), LibreOffice Calc and poppler-utils:
#   apt-get install -y libreoffice-calc poppler-utils
#
# template.png:   `sip-import template` with a few example rows typed in (an empty sheet makes a
#                 dull picture), first page of the endpoints sheet.
# rejections.png: the rejections.xlsx that `sip-import validate` writes for the messy sample.
# Each workbook goes LibreOffice (headless) -> PDF -> pdftoppm -> PNG of page 1 at 80 dpi.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$root/.venv}"
docs="$root/docs"
for tool in libreoffice pdftoppm; do
    command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install -y libreoffice-calc poppler-utils)" >&2; exit 2; }
done
[[ -x "$venv/bin/sip-import" ]] || { echo "error: $venv/bin/sip-import is missing (make setup)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

"$venv/bin/sip-import" template "$work/template.xlsx"
# validate exits 1 because the messy sample has rejected rows: that is the point here.
"$venv/bin/sip-import" validate "$root/samples/carrier_onboarding_messy.csv" \
    --report-dir "$work/report" --quiet || [[ $? -eq 1 ]]

# Picture-only page setup (the files users get are unchanged): a few example rows typed into the
# template, readable column widths and row heights in the rejections, and one landscape page each.
"$venv/bin/python" - "$work" <<'PY'
import math
import sys
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import Alignment
from openpyxl.worksheet.page import PageMargins

work = Path(sys.argv[1])
EXAMPLES = [
    ["acme-ipt-01", "203.0.113.10", None, None, "none", "UDP", "no", "5060"],
    ["acme-ipt-02", "sbc2.acme-voice.example.net", None, None, "none", "UDP,TCP", "no", "5060"],
    ["globex-reg-01", "sip.globex-voice.example.net", "0012345678", "Xk4m9Qp2vT", "out", "TLS", "yes", "5061"],
    ["initech-reg-02", "sip.initech.example.com", "0087654321", "h7Rw2LsQ9e", "out", "UDP", "yes", "5060"],
    ["phone-1001", "dynamic", "1001", "pw-1001-aZ3", "in", "UDP,TCP", "force_rport", None],
    ["phone-1002", "dynamic", "1002", "pw-1002-bY4", "in", "UDP", "force_rport", None],
]


def one_page(sheet, area: str) -> None:
    sheet.print_area = area
    sheet.print_title_rows = None
    sheet.print_title_cols = None
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.2, right=0.2, top=0.2, bottom=0.2, header=0, footer=0)
    sheet.print_options.gridLines = True


book = load_workbook(work / "template.xlsx")
sheet = book["endpoints"]
for r, values in enumerate(EXAMPLES, start=2):
    for c, value in enumerate(values, start=1):
        if value is not None:
            sheet.cell(row=r, column=c, value=value)
one_page(sheet, f"A1:I{len(EXAMPLES) + 2}")
book.save(work / "template-picture.xlsx")

book = load_workbook(work / "report" / "rejections.xlsx")
sheet = book["rejections"]
last = min(sheet.max_row, 14)
sheet.column_dimensions["B"].hidden = True  # _sheet: the same file name on every row
widths = {"A": 6, "C": 9, "D": 17, "E": 58}
for column in sheet.iter_cols(min_col=6, max_col=12, max_row=last):
    widths[column[0].column_letter] = min(max(len(str(c.value or "")) for c in column) + 2, 26)
for letter, width in widths.items():
    sheet.column_dimensions[letter].width = width
for row in sheet.iter_rows(min_row=2, max_row=last, max_col=12):
    for cell in row:
        cell.alignment = Alignment(wrap_text=cell.column == 5, vertical="top")
    cell = row[4]
    lines = math.ceil(len(str(cell.value or "")) / (widths["E"] * 1.15))
    sheet.row_dimensions[cell.row].height = 15 * max(lines, 1)
one_page(sheet, f"A1:L{last}")
book.save(work / "rejections-picture.xlsx")
PY

render() {  # render WORKBOOK OUT.png: page 1, cropped to the printed cells
    local stem box
    stem="$(basename "$1" .xlsx)"
    libreoffice -env:UserInstallation="file://$work/lo-profile" --headless \
        --convert-to pdf --outdir "$work" "$1" >/dev/null 2>&1
    # Crop to the printed rows: the full page width (the sheet is fitted to it), and from the
    # first to the last word on the page (pdftotext -bbox, in points) plus a margin, in pixels.
    box="$(pdftotext -f 1 -l 1 -bbox "$work/$stem.pdf" - | "$venv/bin/python" -c '
import re, sys
text = sys.stdin.read()
page = float(re.search(r"<page width=\"([\d.]+)\"", text).group(1))
words = re.findall(r"<word xMin=\"[\d.]+\" yMin=\"([\d.]+)\" xMax=\"[\d.]+\" yMax=\"([\d.]+)\"", text)
top = min(float(w[0]) for w in words)
bottom = max(float(w[1]) for w in words)
scale, pad = 80 / 72, 10
print(0, max(int(top * scale) - pad, 0), int(page * scale), int((bottom - top) * scale) + 2 * pad)')"
    read -r x y w h <<<"$box"
    pdftoppm -png -r 80 -f 1 -l 1 -singlefile -x "$x" -y "$y" -W "$w" -H "$h" \
        "$work/$stem.pdf" "$work/$stem"
    cp "$work/$stem.png" "$2"
    echo "wrote $2"
}
render "$work/template-picture.xlsx" "$docs/template.png"
render "$work/rejections-picture.xlsx" "$docs/rejections.png"
