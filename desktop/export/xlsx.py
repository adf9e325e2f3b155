"""Excel (xlsx) export of the appendix table and the consolidated matrix (openpyxl, no Qt).

    with open("phu-luc.xlsx", "wb") as fh:
        write_appendix_xlsx(doc, fh)

Each sheet: title lines, one header row (bold, wrapped, frozen, repeated
on every printed page), Vietnamese column names, wrapped text, percentages
stored as numbers with the ``0.0%`` format, dates as real dates shown
``dd/mm/yyyy``, print setup A4 landscape fitted to the page width with the
NĐ 30 margins.
"""

from __future__ import annotations

import datetime as _dt
from typing import BinaryIO, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .documents import (
    NOT_REPORTED_LABEL,
    ConsolidatedReportDoc,
    Progress,
    UnitReportDoc,
)
from .vnformat import EMPTY, nfc, upper

__all__ = [
    "APPENDIX_COLUMNS",
    "PERCENT_FORMAT",
    "DATE_FORMAT",
    "write_appendix_xlsx",
    "write_consolidated_xlsx",
    "appendix_workbook",
    "consolidated_workbook",
]

FONT_NAME = "Times New Roman"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "dd/mm/yyyy"

#: (header, width in characters)
APPENDIX_COLUMNS: tuple[tuple[str, float], ...] = (
    ("TT", 6),
    ("Mục tiêu, nhiệm vụ", 60),
    ("Chỉ tiêu", 14),
    ("Đơn vị chủ trì/phối hợp", 24),
    ("Thời hạn", 13),
    ("Kết quả (x/y)", 14),
    ("Tỷ lệ (%)", 10),
    ("Tiến độ", 15),
    ("Kết quả thực hiện", 36),
    ("Minh chứng (số tệp)", 11),
    ("Khó khăn, vướng mắc", 30),
    ("Đề xuất, kiến nghị", 30),
)

_THIN = Side(style="thin", color="404040")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="E6E6E6")
_GROUP_FILL = PatternFill("solid", fgColor="F5F5F5")
_STATUS_FILL = {p: p.colour.lstrip("#") for p in Progress}  # the domain's one colour table
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_WRAP_CENTER = Alignment(wrap_text=True, vertical="center", horizontal="center")
_WRAP_CENTER_TOP = Alignment(wrap_text=True, vertical="top", horizontal="center")

# NĐ 30 margins in inches (openpyxl's unit)
_MM = 1 / 25.4


def _font(bold: bool = False, italic: bool = False, size: float = 12) -> Font:
    return Font(name=FONT_NAME, bold=bold, italic=italic, size=size)


def _title_rows(ws: Worksheet, lines: Sequence[tuple[str, Font]], ncols: int) -> int:
    """Write merged, centred title lines; return the row index of the header row."""
    row = 1
    for text, font in lines:
        if not text:
            continue
        ws.cell(row=row, column=1, value=nfc(text)).font = font
        ws.cell(row=row, column=1).alignment = Alignment(horizontal="center", vertical="center",
                                                         wrap_text=True)
        if ncols > 1:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        ws.row_dimensions[row].height = 18 if len(text) < 120 else 33
        row += 1
    return row + 1  # one blank line before the table


def _header_row(ws: Worksheet, row: int, columns: Sequence[tuple[str, float]]) -> None:
    for c, (title, width) in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=c, value=nfc(title))
        cell.font = _font(bold=True, size=11)
        cell.alignment = _WRAP_CENTER
        cell.fill = _HEAD_FILL
        cell.border = _BORDER
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.row_dimensions[row].height = 33


def _print_setup(ws: Worksheet, header_row: int, last_col: int) -> None:
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = 30 * _MM
    ws.page_margins.right = 15 * _MM
    ws.page_margins.top = 20 * _MM
    ws.page_margins.bottom = 20 * _MM
    ws.page_margins.header = 8 * _MM
    ws.page_margins.footer = 8 * _MM
    ws.oddHeader.center.text = "&P"
    ws.oddHeader.center.font = FONT_NAME
    ws.print_area = f"A1:{get_column_letter(last_col)}{max(ws.max_row, header_row)}"


def _body_cell(ws: Worksheet, row: int, col: int, value, *, center: bool = False,
               number_format: str | None = None, bold: bool = False):
    if isinstance(value, str):
        value = nfc(value)
    cell = ws.cell(row=row, column=col, value=value)
    cell.font = _font(bold=bold, size=11)
    cell.alignment = _WRAP_CENTER_TOP if center else _WRAP_TOP
    cell.border = _BORDER
    if number_format:
        cell.number_format = number_format
    return cell


def _estimate_height(texts: Iterable[tuple[str, float]], line_pt: float = 15) -> float:
    """Row height so that wrapped text is visible when the file is opened (Excel won't autofit)."""
    lines = 1
    for text, width in texts:
        if not text:
            continue
        per_line = max(width * 1.1, 1)
        n = sum(max(1, -(-len(part) // int(per_line))) for part in str(text).split("\n"))
        lines = max(lines, n)
    return min(409, lines * line_pt + 3)


# --------------------------------------------------------------------------- unit appendix


def appendix_workbook(doc: UnitReportDoc) -> Workbook:
    h = doc.header
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    ncols = len(APPENDIX_COLUMNS)
    kind = nfc(h.title).strip().capitalize() or "Báo cáo"
    number = f" số {h.number}" if h.number else ""
    header_row = _title_rows(ws, [
        (upper(h.issuing_unit), _font(bold=True, size=12)),
        (f"PHỤ LỤC: {upper(doc.appendix_title)}", _font(bold=True, size=13)),
        (f"(Kèm theo {kind}{number} {h.date_words} của {h.unit_in_sentence})",
         _font(italic=True, size=12)),
    ], ncols)
    _header_row(ws, header_row, APPENDIX_COLUMNS)
    r = header_row + 1
    group = None
    widths = [w for _, w in APPENDIX_COLUMNS]
    for row in doc.rows:
        if row.group and row.group != group:
            group = row.group
            cell = _body_cell(ws, r, 1, group, bold=True)
            cell.fill = _GROUP_FILL
            for c in range(2, ncols + 1):
                ws.cell(row=r, column=c).border = _BORDER
                ws.cell(row=r, column=c).fill = _GROUP_FILL
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
            r += 1
        deadline = row.deadline
        values = [
            (row.tt, True, None),
            (row.target_text, False, None),
            (row.indicator, True, None),
            (row.units, False, None),
            (deadline if isinstance(deadline, _dt.date) else row.deadline_text, True,
             DATE_FORMAT if isinstance(deadline, _dt.date) else None),
            (row.result_text, True, None),
            (row.percent, True, PERCENT_FORMAT),
            (row.status_text, True, None),
            (row.result_detail, False, None),
            (row.evidence_count, True, None),
            (row.difficulties, False, None),
            (row.proposals, False, None),
        ]
        for c, (value, center, fmt) in enumerate(values, start=1):
            if value == "":
                value = None
            _body_cell(ws, r, c, value, center=center, number_format=fmt)
        ws.row_dimensions[r].height = _estimate_height(
            (str(v[0] or ""), w) for v, w in zip(values, widths))
        r += 1
    _print_setup(ws, header_row, ncols)
    wb.properties.title = nfc(f"Phụ lục - {h.title} {h.number}".strip())
    wb.properties.creator = "VKS CĐS"
    return wb


def write_appendix_xlsx(doc: UnitReportDoc, stream: BinaryIO) -> None:
    """Write the unit report's appendix table as an xlsx workbook to a binary stream."""
    appendix_workbook(doc).save(stream)


# --------------------------------------------------------------------------- consolidated


def _matrix_sheet(wb: Workbook, doc: ConsolidatedReportDoc, title: str, heading: str,
                  values: bool) -> Worksheet:
    ws = wb.create_sheet(title)
    targets = list(doc.targets)
    columns = [("TT", 6), ("Đơn vị", 32)] + [(t.code, 11 if values else 9) for t in targets]
    columns.append(("Tỷ lệ hoàn thành", 12))
    ncols = len(columns)
    h = doc.header
    header_row = _title_rows(ws, [
        (upper(h.issuing_unit), _font(bold=True)),
        (heading, _font(bold=True, size=13)),
        (f"(Kèm theo {nfc(h.title).strip().capitalize() or 'Báo cáo'}"
         f"{' số ' + h.number if h.number else ''} {h.date_words})", _font(italic=True)),
    ], min(ncols, 12))
    _header_row(ws, header_row, columns)
    r = header_row + 1
    for i, u in enumerate(doc.units, start=1):
        _body_cell(ws, r, 1, i, center=True)
        _body_cell(ws, r, 2, u.name)
        for c, t in enumerate(targets, start=3):
            cell = doc.cell(u.code, t.code)
            if values:
                v = cell.value if cell.value is not None else None
                fmt = PERCENT_FORMAT if isinstance(v, (int, float)) else None
                out = _body_cell(ws, r, c, v, center=True, number_format=fmt)
            else:
                out = _body_cell(ws, r, c, cell.abbrev, center=True)
            status = Progress.coerce(cell.status)  # identity: the cell holds a Progress or None
            if status is not None:
                out.fill = PatternFill("solid", fgColor=_STATUS_FILL[status])
        done, total = doc.unit_completion(u.code)
        sub = doc.submissions.get(u.code)
        reported = sub is None or sub.submitted_on is not None
        _body_cell(ws, r, ncols, done / total if total and reported else None, center=True,
                   number_format=PERCENT_FORMAT)
        ws.row_dimensions[r].height = 18 if len(u.name) <= 38 else 33
        r += 1
    _body_cell(ws, r, 1, None)
    _body_cell(ws, r, 2, "Tỷ lệ đơn vị hoàn thành", bold=True)
    for c, t in enumerate(targets, start=3):
        done, total = doc.target_completion(t.code)
        _body_cell(ws, r, c, done / total if total else None, center=True, bold=True,
                   number_format=PERCENT_FORMAT)
    _body_cell(ws, r, ncols, None)
    r += 2
    legend = "; ".join(f"{s.abbrev}: {s.label}" for s in Progress) + f"; {EMPTY}: {NOT_REPORTED_LABEL}"
    ws.cell(row=r, column=2, value=nfc(f"Ký hiệu: {legend}")).font = _font(italic=True, size=11)
    _print_setup(ws, header_row, ncols)
    ws.print_area = f"A1:{get_column_letter(ncols)}{r}"
    ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    return ws


def consolidated_workbook(doc: ConsolidatedReportDoc) -> Workbook:
    h = doc.header
    wb = Workbook()
    wb.remove(wb.active)

    # 1. reporting rate per unit
    ws = wb.create_sheet("Tình hình báo cáo")
    columns = [("TT", 6), ("Đơn vị", 45), ("Ngày gửi báo cáo", 16), ("Thời hạn", 12),
               ("Mục tiêu hoàn thành", 14), ("Mục tiêu áp dụng", 14), ("Tỷ lệ hoàn thành", 14)]
    r_ = doc.reporting
    rate = f"{r_.received}/{r_.expected}"
    header_row = _title_rows(ws, [
        (upper(h.issuing_unit), _font(bold=True)),
        (f"TÌNH HÌNH BÁO CÁO - {upper(h.subject)}" if h.subject else "TÌNH HÌNH BÁO CÁO",
         _font(bold=True, size=13)),
        (f"Đã báo cáo {rate} đơn vị; đúng hạn {r_.on_time}, chậm {r_.late}, "
         f"chưa báo cáo {r_.missing}.", _font(italic=True)),
    ], len(columns))
    _header_row(ws, header_row, columns)
    r = header_row + 1
    for i, u in enumerate(doc.units, start=1):
        sub = doc.submissions.get(u.code)
        _body_cell(ws, r, 1, i, center=True)
        _body_cell(ws, r, 2, u.name)
        if sub is not None and sub.submitted_on is not None:
            done, total = doc.unit_completion(u.code)
            _body_cell(ws, r, 3, sub.submitted_on, center=True, number_format=DATE_FORMAT)
            timing = None if sub.on_time is None else "Đúng hạn" if sub.on_time else "Chậm"
            _body_cell(ws, r, 4, timing, center=True)
            _body_cell(ws, r, 5, done, center=True)
            _body_cell(ws, r, 6, total, center=True)
            _body_cell(ws, r, 7, done / total if total else None, center=True,
                       number_format=PERCENT_FORMAT)
        else:
            _body_cell(ws, r, 3, NOT_REPORTED_LABEL if doc.submissions else None, center=True)
            for c in range(4, 8):
                _body_cell(ws, r, c, None)
        r += 1
    _body_cell(ws, r, 1, None)
    _body_cell(ws, r, 2, "Tỷ lệ báo cáo", bold=True)
    _body_cell(ws, r, 3, r_.rate, center=True, bold=True, number_format=PERCENT_FORMAT)
    for c in range(4, 8):
        _body_cell(ws, r, c, None)
    _print_setup(ws, header_row, len(columns))

    # 2-3. the matrices
    _matrix_sheet(wb, doc, "Tiến độ", "KẾT QUẢ THEO ĐƠN VỊ VÀ MỤC TIÊU (TIẾN ĐỘ)", values=False)
    _matrix_sheet(wb, doc, "Giá trị", "KẾT QUẢ THEO ĐƠN VỊ VÀ MỤC TIÊU (TỶ LỆ, GIÁ TRỊ)",
                  values=True)

    # 4. target list
    ws = wb.create_sheet("Danh mục mục tiêu")
    columns = [("Mã", 10), ("Mục tiêu, nhiệm vụ", 70), ("Nhóm", 30),
               ("Số đơn vị hoàn thành", 14), ("Số đơn vị báo cáo", 14), ("Tỷ lệ", 10)]
    header_row = _title_rows(ws, [(upper(h.issuing_unit), _font(bold=True)),
                                  ("DANH MỤC MỤC TIÊU, NHIỆM VỤ", _font(bold=True, size=13))],
                             len(columns))
    _header_row(ws, header_row, columns)
    r = header_row + 1
    for t in doc.targets:
        done, total = doc.target_completion(t.code)
        vals = [(t.code, True, None), (t.text, False, None), (t.group, False, None),
                (done, True, None), (total, True, None),
                (done / total if total else None, True, PERCENT_FORMAT)]
        for c, (v, center, fmt) in enumerate(vals, start=1):
            _body_cell(ws, r, c, v if v != "" else None, center=center, number_format=fmt)
        ws.row_dimensions[r].height = _estimate_height([(t.text, 70), (t.group, 30)])
        r += 1
    _print_setup(ws, header_row, len(columns))

    wb.properties.title = nfc(f"Tổng hợp - {h.title} {h.number}".strip())
    wb.properties.creator = "VKS CĐS"
    wb.active = 0
    return wb


def write_consolidated_xlsx(doc: ConsolidatedReportDoc, stream: BinaryIO) -> None:
    """Write the consolidated report (reporting rate, matrices, target list) to a binary stream."""
    consolidated_workbook(doc).save(stream)


def write_table_xlsx(title: str, headers: Sequence[str], rows: Iterable[Sequence], stream: BinaryIO) -> None:
    """A plain list (the audit log, say) as one sheet: bold frozen header, dates as dd/mm/yyyy
    hh:mm:ss cells, columns sized to their content, filters on the header row."""
    wb = Workbook()
    ws = wb.active
    ws.title = nfc(title)[:31]
    ws.append([nfc(h) for h in headers])
    for cell in ws[1]:
        cell.font = _font(bold=True)
    widths = [len(h) for h in headers]
    for row in rows:
        values = [nfc(v) if isinstance(v, str) else v for v in row]
        ws.append(values)
        for i, v in enumerate(values):
            if isinstance(v, _dt.datetime):
                ws.cell(ws.max_row, i + 1).number_format = "dd/mm/yyyy hh:mm:ss"
                widths[i] = max(widths[i], 19)
            else:
                widths[i] = max(widths[i], min(60, len(str(v if v is not None else ""))))
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w + 2
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wb.save(stream)
