"""Plans as Excel: exact round trips, appendix-style sheets, and row-by-row problems."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook

from desktop.export import plan_xlsx
from desktop.models.services import plans
from plan_fixtures import PLANS_DIR, installed, load_doc, snapshot  # noqa: F401

BUILTIN_IDS = sorted(p.stem for p in PLANS_DIR.glob("*.json") if p.name != plans.SCHEMA_FILE)
HEADER = ["TT", "MỤC TIÊU", "ĐƠN VỊ CHỦ TRÌ", "ĐƠN VỊ PHỐI HỢP", "THỜI GIAN HOÀN THÀNH"]


def _roundtrip(doc: dict) -> plan_xlsx.ReadResult:
    buf = io.BytesIO()
    plan_xlsx.write_plan(doc, buf)
    buf.seek(0)
    return plan_xlsx.read_plan(buf, "ke-hoach.xlsx")


def _sheet(rows, above=("PHỤ LỤC", "PHÂN CÔNG THỰC HIỆN CÁC MỤC TIÊU KẾ HOẠCH CHUYỂN ĐỔI SỐ NĂM 2024"), header=HEADER):
    wb = Workbook()
    ws = wb.active
    for line in above:
        ws.append([line])
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return wb, buf


APPENDIX = [
    ["I", "CHUYỂN ĐỔI SỐ TRONG CÔNG TÁC ĐẢNG", None, None, None],
    [1, "MT01: Trình Ban cán sự đảng VKSND tối cao ban hành một Nghị quyết riêng về chuyển đổi số.", "Cục 2",
     "Văn phòng Ban cán sự đảng VKSND tối cao", "3/2024"],
    [2, "MT02: 100% chi bộ trực thuộc Đảng bộ VKSND tối cao thực hiện sinh hoạt chi bộ định kỳ",
     "Văn phòng Đảng ủy VKSND tối cao", "Cục 2", "9/2024"],
    ["II", "CHUYỂN ĐỔI SỐ TRONG CÔNG TÁC QUẢN LÝ, CHỈ ĐẠO ĐIỀU HÀNH", None, None, None],
    [1, "MT03: 100% văn bản trao đổi, xử lý công việc hành chính được thực hiện trên môi trường mạng, có chữ ký "
        "số chuyên dùng (trừ văn bản mật theo quy định của pháp luật và của Ngành)", "Văn phòng VKSND tối cao",
     "Cục 2, VKS các cấp", "6/2024"],
    [2, "MT13: 20% tổng số án hình sự phát sinh được xử lý toàn trình trên nền tảng quản lý án hình sự.", "Cục 2",
     "Văn phòng VKSND tối cao, VKS các cấp", "12/2024"],
    [3, "MT20: Rà quét, phân tích, tổng hợp thông tin và có báo cáo hàng tháng", "Báo Bảo vệ pháp luật",
     "Cục 2, Văn phòng VKSND tối cao", "Hàng tháng"],
    # the appendix repeats its header on every printed page
    HEADER,
    [4, "Định kỳ tổ chức cuộc họp về CNTT, chuyển đổi số (tối thiểu 04 lần/01 năm).", "Lãnh đạo đơn vị", None, "Năm 2024"],
    [5, "Khuyến khích sáng tạo trong ứng dụng CNTT", None, None, None],
]


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize("plan_id", BUILTIN_IDS)
def test_export_import_gives_back_the_identical_document(plan_id):
    doc = load_doc(plan_id)
    res = _roundtrip(doc)
    assert res.problems == []
    assert res.document == doc


def test_round_trip_through_the_service(installed, tmp_path):
    path = plans.export_file(installed, "thanhhoa-cds-2025", tmp_path / "th.xlsx")
    preview = plans.preview_xlsx(path)
    assert preview.ok and preview.document == plans.get_plan_document(installed, "thanhhoa-cds-2025")
    wb = load_workbook(path)
    ws = wb["Kế hoạch"]
    header = [c.value for c in ws[4]]
    assert header == ["TT", "Mã", "Mục tiêu/nhiệm vụ", "Đơn vị chủ trì", "Đơn vị phối hợp", "Thời gian hoàn thành",
                      "Kết quả", "Chỉ tiêu/đo lường"]
    assert [ws.cell(5, c).value for c in (1, 2)] == ["I", "2.1"]
    assert wb["_vks_cds"].sheet_state == "hidden" and "Thông tin" in wb.sheetnames


def test_cells_edited_in_excel_are_read_afresh(tmp_path):
    doc = load_doc("vkstc-cds-2024")
    buf = io.BytesIO()
    plan_xlsx.write_plan(doc, buf)
    buf.seek(0)
    wb = load_workbook(buf)
    ws = wb["Kế hoạch"]
    rows = {ws.cell(r, 2).value: r for r in range(5, ws.max_row + 1)}
    ws.cell(rows["MT01"], 6).value = "Tháng 10/2024"
    ws.cell(rows["MT02"], 4).value = "Cục 2\nVăn phòng Đảng ủy VKSND tối cao"
    ws.cell(rows["MT13"], 8).value = "Tỷ lệ ≥ 25%"
    info = wb["Thông tin"]
    title_row = next(r for r in range(2, info.max_row + 1) if info.cell(r, 3).value == "title")
    info.cell(title_row, 2).value = "Kế hoạch CĐS năm 2024 (bản sửa)"
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    res = plan_xlsx.read_plan(out, "sua.xlsx")
    assert res.problems == []
    new = {t["code"]: t for g in res.document["groups"] for t in g["targets"]}
    old = {t["code"]: t for g in doc["groups"] for t in g["targets"]}
    assert new["MT01"]["deadline"] == {"type": "month", "year": 2024, "month": 10, "text": "Tháng 10/2024"}
    assert new["MT02"]["lead_units"] == ["Cục 2", "Văn phòng Đảng ủy VKSND tối cao"]
    assert new["MT13"]["measure"]["target_percent"] == 25
    assert res.document["title"] == "Kế hoạch CĐS năm 2024 (bản sửa)"
    untouched = [c for c in old if c not in ("MT01", "MT02", "MT13")]
    assert all(new[c] == old[c] for c in untouched)
    assert new["MT01"]["measure"] == old["MT01"]["measure"] and new["MT13"]["source_ref"] == old["MT13"]["source_ref"]


# ------------------------------------------------------------------ appendix-style sheets
def test_reads_an_appendix_laid_out_like_the_documents():
    _, buf = _sheet(APPENDIX)
    res = plan_xlsx.read_plan(buf, "phu-luc-vkstc-2024.xlsx", defaults={"issuing_unit": {"name": "VKSND tối cao"}})
    assert res.problems == []
    doc = res.document
    assert plans.validate_document(doc, "x") == []
    assert (doc["id"], doc["year"], doc["issuing_unit"]["name"]) == ("phu-luc-vkstc-2024", 2024, "VKSND tối cao")
    assert "PHÂN CÔNG THỰC HIỆN" in doc["title"]
    assert [(g["code"], len(g["targets"])) for g in doc["groups"]] == [("I", 2), ("II", 5)]
    t = {x["code"]: x for g in doc["groups"] for x in g["targets"]}
    assert list(t) == ["MT01", "MT02", "MT03", "MT13", "MT20", "MT04", "MT05"]  # codes from "MT01:", then free ones
    assert t["MT01"]["text"].startswith("Trình Ban cán sự đảng") and t["MT01"]["lead_units"] == ["Cục 2"]
    assert t["MT01"]["deadline"] == {"type": "month", "year": 2024, "month": 3, "text": "3/2024"}
    assert t["MT01"]["measure"] == {"type": "milestone"}
    assert t["MT02"]["measure"] == {"type": "ratio", "target_percent": 100, "comparison": ">="}
    assert t["MT03"]["coordinating_units"] == ["Cục 2", "VKS các cấp"]
    assert t["MT03"]["exclusion_note"] == "trừ văn bản mật theo quy định của pháp luật và của Ngành"
    assert t["MT13"]["measure"]["target_percent"] == 20
    assert t["MT20"]["deadline"]["type"] == "recurring" and t["MT20"]["measure"] == {"type": "recurring",
                                                                                   "every": "month"}
    assert t["MT04"]["measure"] == {"type": "count", "minimum": 4, "per": "year", "cumulative": True}
    assert t["MT04"]["deadline"] == {"type": "year", "text": "Năm 2024"}
    assert t["MT05"]["measure"] == {"type": "qualitative"} and t["MT05"]["evidence_required"] is False
    assert [r.kind for r in res.rows] == ["group", "target", "target", "group"] + ["target"] * 5


def test_reads_a_task_appendix_with_results_and_date_cells():
    header = ["TT", "Tên nhiệm vụ", "Đơn vị chủ trì", "Đơn vị phối hợp", "Kết quả", "Thời gian hoàn thành"]
    rows = [
        ["I", "Hoàn thiện thể chế và hành lang pháp lý", None, None, None, None],
        [1, "Ban hành Quy hoạch dữ liệu số ngành Kiểm sát nhân dân", "Cục 2",
         "Vụ 14; Viện Khoa học kiểm sát; các đơn vị liên quan", "Quy hoạch dữ liệu số được ban hành", "Tháng 10/2025"],
        [None, "Về hạ tầng kỹ thuật, công nghệ", None, None, None, None],
        ["II", None, None, None, None, None],
        [2, "Hoàn thành mua sắm trang thiết bị", "Văn phòng VKSND tối cao", None, "Hoàn thành", datetime(2025, 12, 31)],
        [3, "Kết nối dữ liệu dân cư", "Cục 2", None, None, datetime(2025, 9, 1)],
    ]
    wb, _ = _sheet(rows, above=["Các nhiệm vụ trọng tâm năm 2025"], header=header)
    wb.active["F8"].number_format = "mm/yyyy"
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    res = plan_xlsx.read_plan(buf, "nhiem-vu.xlsx")
    assert res.problems == []
    doc = res.document
    assert [(g["code"], g["title"]) for g in doc["groups"]] == [("I", "Hoàn thiện thể chế và hành lang pháp lý"),
                                                               ("II", "Về hạ tầng kỹ thuật, công nghệ")]
    t = [x for g in doc["groups"] for x in g["targets"]]
    assert [x["kind"] for x in t] == ["nhiem_vu"] * 3
    assert t[0]["coordinating_units"] == ["Vụ 14", "Viện Khoa học kiểm sát", "các đơn vị liên quan"]
    assert t[0]["expected_result"] == "Quy hoạch dữ liệu số được ban hành"
    assert t[1]["deadline"] == {"type": "date", "date": "2025-12-31", "text": "31/12/2025"}
    assert (t[2]["deadline"]["type"], t[2]["deadline"]["month"]) == ("month", 9)


def test_every_problem_is_reported_with_row_and_column(tmp_path):
    rows = [
        ["I", "Nhóm một", None, None, None],                             # row 3 (title row 1, header row 2)
        [1, "MT01: Nội dung hợp lệ", "Cục 2", None, "13/2024"],          # row 4: month out of range
        [2, None, "Cục 2", None, "3/2024"],                              # row 5: no text
        ["x1", "Một dòng lạ", None, None, "3/2024"],                     # row 6: unknown TT
        [3, "MT01: Trùng mã", "Cục 2", None, "31/2/2024"],              # row 7: bad date (and duplicate code)
        ["II", "Nhóm trống", None, None, None],                          # row 8: empty group
    ]
    wb, buf = _sheet(rows, above=["Kế hoạch năm 2024"])
    res = plan_xlsx.read_plan(buf, "loi.xlsx")
    got = {(p.row, p.column) for p in res.problems}
    assert got == {(4, "THỜI GIAN HOÀN THÀNH"), (5, "MỤC TIÊU"), (6, "TT"), (7, "THỜI GIAN HOÀN THÀNH"), (8, "MỤC TIÊU")}
    assert all(p.file == "loi.xlsx" and p.message for p in res.problems)
    # the service adds what only the whole document shows (the duplicate code on row 7), once per cell
    wb.save(tmp_path / "loi.xlsx")
    preview = plans.preview_xlsx(tmp_path / "loi.xlsx")
    assert {(p.row, p.column) for p in preview.problems} == got | {(7, "MỤC TIÊU")}
    assert len(preview.problems) == len(got) + 1
    assert any("trùng" in p.message and p.row == 7 for p in preview.problems)
    month = next(p for p in res.problems if p.row == 4)
    assert "Tháng 13" in month.message and month.target == "MT01"
    assert "dòng 4" in str(month) and "THỜI GIAN HOÀN THÀNH" in str(month)


def test_document_level_problems_land_on_their_rows(tmp_path):
    rows = [["I", "Nhóm", None, None, None],
            [1, "MT01: Một", "Cục 2", None, "3/2024"],
            [2, "MT01: Hai", "Cục 2", None, "5/2030"]]
    wb, _ = _sheet(rows, above=["Kế hoạch năm 2024"])
    path = tmp_path / "trung-ma.xlsx"
    wb.save(path)
    preview = plans.preview_xlsx(path)
    assert not preview.ok
    where = {(p.row, p.column) for p in preview.problems}
    assert where == {(5, "MỤC TIÊU"), (5, "THỜI GIAN HOÀN THÀNH")}  # duplicate code; 2030 outside the plan year


def test_unreadable_sheets(tmp_path):
    _, buf = _sheet([[1, "x", None]], header=["Số", "Ghi chú", "Người ký"])
    res = plan_xlsx.read_plan(buf, "khong-co-tieu-de.xlsx")
    assert res.document is None and "dòng tiêu đề" in res.problems[0].message
    res = plan_xlsx.read_plan(io.BytesIO(b"not a zip"), "rac.xlsx")
    assert res.document is None and "Excel" in res.problems[0].message


def test_bad_spreadsheet_is_never_half_imported(installed, tmp_path):
    before = snapshot(installed)
    rows = [["I", "Nhóm", None, None, None]] + [[i, f"Mục tiêu {i}", "Cục 2", None, f"{i}/2024"] for i in range(1, 13)]
    rows.append([13, "Mục tiêu cuối", "Cục 2", None, "13/2024"])
    wb, _ = _sheet(rows, above=["Kế hoạch năm 2024"])
    path = tmp_path / "gan-dung.xlsx"
    wb.save(path)
    with pytest.raises(plans.PlanFormatError) as info:
        plans.import_file(installed, path)
    assert [(p.row, p.column) for p in info.value.problems] == [(16, "THỜI GIAN HOÀN THÀNH")]
    assert snapshot(installed) == before
    rows[-1][-1] = "12/2024"
    wb, _ = _sheet(rows, above=["Kế hoạch năm 2024"])
    wb.save(path)
    result = plans.import_file(installed, path)
    assert (result.id, result.target_count, result.created) == ("gan-dung", 13, True)
    doc = plans.get_plan_document(installed, "gan-dung")
    assert doc["issuing_unit"]["code"] == "VKS-KV1-THA"  # a bare appendix belongs to this unit
