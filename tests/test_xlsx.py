"""Excel export (desktop.export.xlsx), read back with openpyxl."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import unicodedata

import openpyxl
import pytest

import report_samples as rs
from desktop.export.documents import Progress
from desktop.export.xlsx import (
    APPENDIX_COLUMNS,
    DATE_FORMAT,
    PERCENT_FORMAT,
    write_appendix_xlsx,
    write_consolidated_xlsx,
)

HEADERS = [h for h, _ in APPENDIX_COLUMNS]


def roundtrip(write, doc) -> openpyxl.Workbook:
    buf = io.BytesIO()
    write(doc, buf)
    data = buf.getvalue()
    assert data[:2] == b"PK"
    return openpyxl.load_workbook(io.BytesIO(data))


def find_row(ws, first_value: str) -> int:
    for row in ws.iter_rows():
        if row[0].value == first_value:
            return row[0].row
    raise AssertionError(f"{first_value!r} not found in {ws.title}")


@pytest.fixture(scope="module")
def appendix():
    doc = rs.sample_unit_report(60)
    return doc, roundtrip(write_appendix_xlsx, doc)


@pytest.fixture(scope="module")
def consolidated():
    doc = rs.sample_consolidated_report(12, 12)
    return doc, roundtrip(write_consolidated_xlsx, doc)


def test_appendix_headers_and_title(appendix):
    doc, wb = appendix
    ws = wb.active
    assert ws.title == "Phụ lục"
    assert ws["A1"].value == rs.UNIT
    assert ws["A2"].value == "PHỤ LỤC: KẾT QUẢ THỰC HIỆN CÁC MỤC TIÊU, NHIỆM VỤ CHUYỂN ĐỔI SỐ"
    assert "05/BC-VKSKV1" in ws["A3"].value
    hr = find_row(ws, "TT")
    assert [c.value for c in ws[hr]] == HEADERS
    assert HEADERS == ["TT", "Mục tiêu, nhiệm vụ", "Chỉ tiêu", "Đơn vị chủ trì/phối hợp",
                       "Thời hạn", "Kết quả (x/y)", "Tỷ lệ (%)", "Tiến độ",
                       "Kết quả thực hiện", "Minh chứng (số tệp)", "Khó khăn, vướng mắc", "Đề xuất, kiến nghị"]
    assert all(c.font.b for c in ws[hr])
    assert all(c.alignment.wrap_text for c in ws[hr])


def test_appendix_freeze_and_print_setup(appendix):
    _, wb = appendix
    ws = wb.active
    hr = find_row(ws, "TT")
    assert ws.freeze_panes == f"A{hr + 1}"
    assert ws.print_title_rows == f"${hr}:${hr}"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.page_margins.left == pytest.approx(30 / 25.4)
    assert ws.page_margins.right == pytest.approx(15 / 25.4)


def test_appendix_column_widths(appendix):
    _, wb = appendix
    ws = wb.active
    widths = {letter: ws.column_dimensions[letter].width for letter in "ABCDEFGHIJ"}
    assert widths["B"] == 60  # the target text gets the room
    assert widths["A"] < widths["C"] < widths["B"]
    for (_, expected), letter in zip(APPENDIX_COLUMNS, "ABCDEFGHIJ"):
        assert widths[letter] == expected


def test_appendix_values_and_formats(appendix):
    doc, wb = appendix
    ws = wb.active
    hr = find_row(ws, "TT")
    by_tt = {}
    for row in ws.iter_rows(min_row=hr + 1):
        if row[1].value is not None:
            by_tt[row[0].value] = row
    assert len(by_tt) == 60
    for r in doc.rows:
        cells = by_tt[r.tt]
        assert cells[1].value == r.target_text
        assert unicodedata.is_normalized("NFC", cells[1].value)
        assert cells[1].alignment.wrap_text
        assert cells[5].value == r.result_text
        assert cells[6].value == pytest.approx(r.percent)
        assert cells[6].number_format == PERCENT_FORMAT
        assert cells[7].value == r.status.label
    first = by_tt[next(r.tt for r in doc.rows if r.code == "MT01")]
    assert first[5].value == "3.316/3.429"
    assert first[6].value == pytest.approx(3316 / 3429)
    # a tall target text gets a tall row so the wrapped text is visible on opening
    assert ws.row_dimensions[first[0].row].height >= 30


def test_appendix_group_rows_are_merged(appendix):
    _, wb = appendix
    ws = wb.active
    r = find_row(ws, "I. HẠ TẦNG SỐ, AN TOÀN THÔNG TIN")
    assert f"A{r}:L{r}" in {str(m) for m in ws.merged_cells.ranges}
    assert ws.cell(row=r, column=1).font.b


def test_appendix_real_dates(tmp_path):
    doc = rs.sample_unit_report(2)
    rows = [dataclasses.replace(doc.rows[0], deadline=dt.date(2026, 6, 30)), *doc.rows[1:]]
    wb = roundtrip(write_appendix_xlsx, dataclasses.replace(doc, rows=rows))
    ws = wb.active
    cell = ws.cell(row=find_row(ws, rows[0].tt), column=5)
    assert cell.value == dt.datetime(2026, 6, 30)
    assert cell.number_format == DATE_FORMAT


def test_consolidated_sheets(consolidated):
    _, wb = consolidated
    assert wb.sheetnames == ["Tình hình báo cáo", "Tiến độ", "Giá trị", "Danh mục mục tiêu"]
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
        assert ws.print_title_rows
        assert ws.freeze_panes


def test_consolidated_matrix(consolidated):
    doc, wb = consolidated
    ws = wb["Tiến độ"]
    hr = find_row(ws, "TT")
    header = [c.value for c in ws[hr]]
    assert header[:2] == ["TT", "Đơn vị"]
    assert header[2:-1] == [t.code for t in doc.targets]
    assert header[-1] == "Tỷ lệ hoàn thành"
    assert ws.freeze_panes == f"C{hr + 1}"
    for i, u in enumerate(doc.units):
        row = ws[hr + 1 + i]
        assert row[1].value == u.name
        for j, t in enumerate(doc.targets):
            assert row[2 + j].value == doc.cell(u.code, t.code).abbrev
        done, total = doc.unit_completion(u.code)
        if doc.submissions[u.code].submitted_on is not None:
            assert row[-1].value == pytest.approx(done / total)
            assert row[-1].number_format == PERCENT_FORMAT
    hht = next(c for c in ws[hr + 1] if c.value == Progress.HOAN_THANH.abbrev)
    assert hht.fill.fgColor.rgb.endswith("D6EDD6")


def test_consolidated_values_are_numbers(consolidated):
    doc, wb = consolidated
    ws = wb["Giá trị"]
    hr = find_row(ws, "TT")
    u, t = doc.units[0], doc.targets[0]
    cell = ws.cell(row=hr + 1, column=3)
    expected = doc.cell(u.code, t.code).value
    if expected is None:
        assert cell.value is None
    else:
        assert cell.value == pytest.approx(expected)
        assert cell.number_format == PERCENT_FORMAT


def test_consolidated_reporting_sheet(consolidated):
    doc, wb = consolidated
    ws = wb["Tình hình báo cáo"]
    hr = find_row(ws, "TT")
    assert [c.value for c in ws[hr]][:4] == ["TT", "Đơn vị", "Ngày gửi báo cáo", "Thời hạn"]
    first = ws[hr + 1]
    assert first[2].value == dt.datetime(2026, 1, 3)
    assert first[2].number_format == DATE_FORMAT
    missing = ws[hr + len(doc.units)]
    assert missing[2].value == "Chưa báo cáo"
    rate_row = hr + len(doc.units) + 1
    assert ws.cell(row=rate_row, column=2).value == "Tỷ lệ báo cáo"
    assert ws.cell(row=rate_row, column=3).value == pytest.approx(11 / 12)


def test_consolidated_target_list(consolidated):
    doc, wb = consolidated
    ws = wb["Danh mục mục tiêu"]
    hr = find_row(ws, "Mã")
    texts = [ws.cell(row=hr + 1 + i, column=2).value for i in range(len(doc.targets))]
    assert texts == [t.text for t in doc.targets]
    assert ws.column_dimensions["B"].width == 70
