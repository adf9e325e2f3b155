"""Import meets real documents: appendix tables typed from the seed documents' own tables, laid
out the messy ways offices type them — a group numeral without a title, a title and its numeral
on two rows, a heading split over two rows, merged cells, numbering styles, deadlines in words —
as .xlsx (openpyxl) and as the issued .docx (python-docx)."""

from __future__ import annotations

import re
import docx
import pytest
from openpyxl import Workbook

from desktop.export import plan_docx, plan_xlsx
from desktop.models.services import plans
from desktop.models.services.plans import PlanFormatError
from plan_fixtures import installed, seed_text, snapshot  # noqa: F401


def _clean(cell: str) -> str:
    return " ".join(re.sub(r"</?[bi]>", "", cell).split())


def appendix_08() -> tuple[list[str], list[list[str]]]:
    """The 08-KH/ĐU appendix as the seed gives it: (heading lines above, table rows)."""
    src = seed_text("dangu-08-2025")
    start = src.index("**PHỤ LỤC**")
    above = [_clean(x.strip("* ")) for x in src[start:].splitlines()[:6] if x.strip(" *")]
    rows = []
    for line in src[start:].splitlines():
        if "\t" in line or re.fullmatch(r"<b>[IVX]+</b>\t*", line.strip()):
            rows.append([_clean(c) for c in line.split("\t")])
    return above, rows


# what a typist does with the seed's deadlines and numbering
DEADLINE_STYLES = {1: "tháng 11 năm 2025", 2: "Cuối tháng 10/2025", 3: "T12/2025", 5: "Hoàn thành trong tháng 9/2025",
                   8: "Tháng 9/2025 (dự kiến)"}
TT_STYLES = {1: "1.", 2: "(2)", 3: "03", 4: "4)", 6: "6."}
SEED_MONTHS = {1: 11, 2: 10, 3: 12, 4: 12, 5: 9, 6: 9, 7: 10, 8: 9, 9: 10, 10: 12}


def messy_rows() -> list[list[str]]:
    """TT, Tên nhiệm vụ, Chủ trì, Phối hợp, Kết quả, Thời gian — from the seed, restyled."""
    _, rows = appendix_08()
    out = []
    for r in rows[1:]:  # the seed's own header is replaced by a two-row heading
        r = (r + [""] * 6)[:6]
        tt = r[0]
        if tt.isdigit():
            n = int(tt)
            tt = TT_STYLES.get(n, tt)
            r[5] = DEADLINE_STYLES.get(n, r[5])
        if tt == "V":
            tt, r[1] = f"V. {r[1]}", ""  # numeral and title typed into the TT cell
        out.append([tt] + r[1:])
    return out


def build_xlsx(path) -> dict[str, int]:
    """The messy workbook; returns the row numbers of interest."""
    above, _ = appendix_08()
    wb = Workbook()
    ws = wb.active
    ws.title = "Phụ lục"
    for i, line in enumerate(above, start=1):
        ws.cell(i, 1, line)
        ws.merge_cells(start_row=i, start_column=1, end_row=i, end_column=6)
    h = len(above) + 2
    # a heading split over two rows, "Đơn vị thực hiện" merged over Chủ trì | Phối hợp
    for col, text in ((1, "TT"), (2, "Tên nhiệm vụ"), (3, "Đơn vị thực hiện"), (5, "Kết quả"), (6, "Thời gian")):
        ws.cell(h, col, text)
    ws.merge_cells(start_row=h, start_column=3, end_row=h, end_column=4)
    for col, text in ((3, "Chủ trì"), (4, "Phối hợp"), (6, "hoàn thành")):
        ws.cell(h + 1, col, text)
    for col in (1, 2, 5):
        ws.merge_cells(start_row=h, start_column=col, end_row=h + 1, end_column=col)
    r = h + 2
    rows = {}
    for values in messy_rows():
        for c, v in enumerate(values, start=1):
            if v:
                ws.cell(r, c, v)
        if values[0].startswith("V. "):
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
        tt = values[0].strip("().").lstrip("0")
        rows[tt] = r
        r += 1
    # tasks 7 and 8 share their lead unit: one merged cell over both rows (the blank seed row between
    # them is kept)
    ws.merge_cells(start_row=rows["7"], start_column=3, end_row=rows["8"], end_column=3)
    wb.save(path)
    return rows


def build_docx(path, rows: list[list[str]] | None = None, header: list[str] | None = None) -> None:
    above, seed_rows = appendix_08()
    d = docx.Document()
    d.add_paragraph("KẾ HOẠCH HÀNH ĐỘNG (trích)")
    for line in above:
        d.add_paragraph(line)
    rows = messy_rows() if rows is None else rows
    header = header or seed_rows[0]
    t = d.add_table(rows=1 + len(rows), cols=6)
    for c, text in enumerate(header):
        t.cell(0, c).text = text
    for i, values in enumerate(rows, start=1):
        for c, v in enumerate(values):
            t.cell(i, c).text = v
        if values[0].startswith("V. ") or (values[0] in ("I", "VI") and values[1]):
            # a group row: the title spans every column after TT, as in Word appendices
            title = values[0] if values[0].startswith("V. ") else values[1]
            merged = t.cell(i, 0 if values[0].startswith("V. ") else 1).merge(t.cell(i, 5))
            merged.text = title
    idx = {v[0].strip("().").lstrip("0"): i for i, v in enumerate(rows, start=1)}
    if "7" in idx and "8" in idx:
        top = t.cell(idx["7"], 2).merge(t.cell(idx["8"], 2))  # shared lead unit, vertically merged
        top.text = "Văn phòng VKSND tối cao"
    d.save(path)


def _check_08(doc: dict, untitled_expected=("III", "IV")) -> None:
    targets = [t for g in doc["groups"] for t in g["targets"]]
    assert len(targets) == 10
    _, seed_rows = appendix_08()
    seed = [r for r in seed_rows if r[0].isdigit()]
    for t, row in zip(targets, seed):
        assert t["text"] == row[1]
        assert t["lead_units"] == [row[2]]
        n = int(row[0])
        assert (t["deadline"]["type"], t["deadline"]["month"], t["deadline"]["year"]) == ("month", SEED_MONTHS[n],
                                                                                           2025), t["code"]
    groups = {g["code"]: g for g in doc["groups"]}
    assert list(groups) == ["I", "II", "III", "IV", "V", "VI"]
    assert groups["II"]["title"] == "Về hạ tầng kỹ thuật, công nghệ"  # title row above the numeral row
    assert groups["V"]["title"] == "Về phát triển nguồn nhân lực"  # "V. …" typed in the TT cell
    assert [c for c, g in groups.items() if g.get("title_missing")] == list(untitled_expected)
    assert [len(g["targets"]) for g in doc["groups"]] == [3, 1, 1, 3, 1, 1]
    assert (doc["kind"], doc["number"], doc["symbol"], doc["issue_date"]) == (
        "ke_hoach_hanh_dong", "08", "KH/ĐU", "2025-08-26")  # from "(Kèm theo Kế hoạch hành động số 08-KH/ĐU …)"


def test_messy_xlsx_of_the_08_appendix_reads_with_two_questions(tmp_path):
    path = tmp_path / "phu-luc-08.xlsx"
    rows = build_xlsx(path)
    preview = plans.preview_xlsx(path)
    assert preview.problems == [], [str(p) for p in preview.problems]
    assert preview.ok and [c for c, _ in preview.untitled_groups] == ["III", "IV"]
    assert [w.row for w in preview.warnings] == [rows["III"], rows["IV"]]
    assert all("chưa có tên" in w.message and w.cell.startswith("B") for w in preview.warnings)
    _check_08(preview.document)
    doc = preview.document
    assert doc["title"].startswith("Các nhiệm vụ trọng tâm") and "Đơn vị thực hiện" not in doc["title"]
    g3 = next(g for g in doc["groups"] if g["code"] == "III")
    assert g3["title"] == "Nhóm III" and doc["format"] == "vks-cds-plan/2"
    seven = next(t for g in doc["groups"] for t in g["targets"] if t["text"].startswith("Ban hành quy định về số"))
    eight = next(t for g in doc["groups"] for t in g["targets"] if t["text"].startswith("Xây dựng, ban hành quy"))
    assert seven["lead_units"] == eight["lead_units"] == ["Văn phòng VKSND tối cao"]  # the merged cell


def test_user_names_one_group_keeps_the_other_and_nothing_is_saved_before(installed, tmp_path):  # noqa: F811
    path = tmp_path / "phu-luc-08.xlsx"
    build_xlsx(path)
    before = snapshot(installed)
    preview = plans.preview_import(installed, path)
    assert snapshot(installed) == before  # the preview saves nothing
    named = preview.named({"III": "Về nền tảng số"})
    assert [c for c, _ in named.untitled_groups] == ["IV"] and [w.group for w in named.warnings] == ["IV"]
    result = plans.import_previewed(installed, preview, {"III": "Về nền tảng số", "IV": "  "})
    stored = plans.get_plan(installed, result.id)
    assert stored.group("III").title == "Về nền tảng số" and not stored.group("III").title_missing
    assert stored.group("IV").title == "Nhóm IV" and stored.group("IV").display_title == "Nhóm IV (chưa rõ tên)"
    assert result.target_count == 10 and result.created


def test_issued_docx_appendix_imports_straight(installed, tmp_path):  # noqa: F811
    path = tmp_path / "08-KH-DU.docx"
    build_docx(path)
    preview = plans.preview_import(installed, path)
    assert preview.problems == [], [str(p) for p in preview.problems]
    _check_08(preview.document)
    assert [w.cell for w in preview.warnings] == ["bảng 1", "bảng 1"]
    result = plans.import_file(installed, path, {"IV": "Về dữ liệu và số hóa"})
    doc = plans.get_plan_document(installed, result.id)
    assert [g["title"] for g in doc["groups"]][2:4] == ["Nhóm III", "Về dữ liệu và số hóa"]
    assert doc["groups"][2]["title_missing"] is True


def test_docx_with_the_vkstc_table_repeated_header_and_mt_prefixes(tmp_path):
    src = seed_text("vkstc-cds-2024")
    lines = [line for line in src.splitlines() if "\t" in line]
    rows = [(_clean_row := [_clean(c) for c in line.split("\t")]) + [""] * (6 - len(_clean_row)) for line in lines]
    header = rows[0]
    path = tmp_path / "phu-luc-vkstc-2024.docx"
    d = docx.Document()
    d.add_paragraph("PHỤ LỤC MỤC TIÊU CHUYỂN ĐỔI SỐ NGÀNH KIỂM SÁT NHÂN DÂN NĂM 2024")
    t = d.add_table(rows=len(rows), cols=6)
    for i, r in enumerate(rows):
        for c, v in enumerate(r[:6]):
            t.cell(i, c).text = v
    d.save(path)
    res = plan_docx.read_plan_docx(path.open("rb"), path.name)
    assert res.problems == [], [str(p) for p in res.problems]
    targets = {t["code"]: t for g in res.document["groups"] for t in g["targets"]}
    assert [c for c in targets if c.startswith("MT")] == [f"MT{i:02d}" for i in range(1, 21)]
    assert targets["MT08"]["coordinating_units"] == ["Cục 2", "Cục 3", "Văn phòng VKSND tối cao",
                                                    "VKSND tỉnh Quảng Ninh"]
    assert targets["MT20"]["deadline"] == {"type": "recurring", "every": "month", "text": "Hàng tháng"}
    assert res.document["year"] == 2024 and header[0] == "TT"


def test_every_refusal_names_the_row_and_the_cell(installed, tmp_path):  # noqa: F811
    rows = messy_rows()
    bad = [list(r) for r in rows]
    i_deadline = next(i for i, r in enumerate(bad) if r[0] == "(2)")
    bad[i_deadline][5] = "Tháng 13/2025"
    i_tt = next(i for i, r in enumerate(bad) if r[0] == "4)")
    bad[i_tt][0] = "4x"
    # xlsx
    wb = Workbook()
    ws = wb.active
    ws.append(["TT", "Tên nhiệm vụ", "Đơn vị chủ trì", "Đơn vị phối hợp", "Kết quả", "Thời gian hoàn thành"])
    for r in bad:
        ws.append(r)
    xlsx = tmp_path / "loi.xlsx"
    wb.save(xlsx)
    before = snapshot(installed)
    with pytest.raises(PlanFormatError) as err:
        plans.import_file(installed, xlsx)
    where = {(p.row, p.cell) for p in err.value.problems}
    assert (i_deadline + 2, f"F{i_deadline + 2}") in where and (i_tt + 2, f"A{i_tt + 2}") in where
    text = str(err.value)
    assert f"dòng {i_deadline + 2}, cột 'Thời gian hoàn thành' (ô F{i_deadline + 2})" in text
    assert "Tháng 13" in text and "'4x'" in text
    # docx
    path = tmp_path / "loi.docx"
    build_docx(path, bad)
    with pytest.raises(PlanFormatError) as err:
        plans.import_file(installed, path)
    located = [p.location for p in err.value.problems]
    assert any(f"bảng 1, dòng {i_deadline + 2}, cột 'Thời gian hoàn thành'" in x for x in located), located
    assert any(f"bảng 1, dòng {i_tt + 2}, cột 'TT'" in x for x in located), located
    assert snapshot(installed) == before  # nothing saved


def test_not_a_word_file_is_refused_cleanly(installed, tmp_path):  # noqa: F811
    fake = tmp_path / "ke-hoach.docx"
    fake.write_bytes(b"PK\x03\x04 not really")
    preview = plans.preview_import(installed, fake)
    assert not preview.ok and "Word (.docx)" in preview.problems[0].message
    empty = tmp_path / "khong-bang.docx"
    d = docx.Document()
    d.add_paragraph("Chỉ có chữ, không có bảng")
    d.save(empty)
    assert "không có bảng" in plans.preview_import(installed, empty).problems[0].message


@pytest.mark.parametrize("text, expected", [
    ("Tháng 9-10/2025", {"type": "period", "start": "2025-09-01", "end": "2025-10-31"}),
    ("Hoàn thành trong tháng 9/2025", {"type": "month", "year": 2025, "month": 9}),
    ("Cuối tháng 10/2025", {"type": "month", "year": 2025, "month": 10}),
    ("Tháng 12/2025 (dự kiến)", {"type": "month", "year": 2025, "month": 12}),
    ("Thường xuyên", {"type": "year"}),
    ("T12/2025", {"type": "month", "year": 2025, "month": 12}),
])
def test_free_text_months(text, expected):
    from desktop.models.domain.plan import parse_deadline

    got = parse_deadline(text, 2025).to_json()
    got.pop("text")
    assert got == expected


def test_numbering_styles():
    split = plan_xlsx._split_tt
    assert split("Phần II", "") == ("II", "", "group")
    assert split("III.", "") == ("III", "", "group")
    assert split("II. Về hạ tầng", "") == ("II", "Về hạ tầng", "group")
    assert split("(3)", "x")[::2] == ("3", "target") and split("03", "x")[::2] == ("3", "target")
    assert split("1.2", "x")[::2] == ("1.2", "target") and split("b)", "x")[::2] == ("b", "target")
    assert split("-", "x")[2] == "bullet" and split("x9", "")[2] == "unknown"


def test_command_line_imports_the_docx_and_names_a_group(tmp_path):
    import os
    import subprocess
    import sys

    def run(*args, stdin=""):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        env.pop("VKS_CDS_DATA_DIR", None)
        return subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(tmp_path / "data"), *args],
                              input=stdin, capture_output=True, text=True, timeout=120, env=env)

    pw = "mat-khau-quan-tri-2025"
    r = run("init", "--unit-code", "VKS-THA", "--unit-name", "Viện kiểm sát nhân dân tỉnh Thanh Hóa", "--admin",
            "quantri", "--password-stdin", stdin=pw + "\n")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "08-KH-DU.docx"
    build_docx(path)
    r = run("plans", "import", str(path), "--group-title", "III=Về nền tảng số", "--user", "quantri",
            "--password-stdin", stdin=pw + "\n")
    assert r.returncode == 0, r.stderr
    assert "10 mục tiêu" in r.stdout and "Nhóm IV chỉ có số" in r.stdout and "Nhóm III chỉ có số" not in r.stdout
    r = run("plans", "show", "08-kh-du", "--user", "quantri", "--password-stdin", stdin=pw + "\n")
    assert r.returncode == 0, r.stderr
    assert "III. Về nền tảng số" in r.stdout and "IV. Nhóm IV (chưa rõ tên)" in r.stdout
    r = run("plans", "import", str(path), "--group-title", "bad", "--user", "quantri", "--password-stdin",
            stdin=pw + "\n")
    assert r.returncode != 0 and "NHÓM=TÊN" in (r.stderr + r.stdout) and "Traceback" not in r.stderr
