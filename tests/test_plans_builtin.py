"""The plans shipped in resources/plans: each loads, and its content matches the source document.

Counts and samples are pinned from the source texts (/work/shared/seeds); where the source is
available the test also re-derives them from it (appendix rows, bullet counts), so a transcription
slip shows up as a failing assertion naming the target.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from desktop.models.services import plans
from desktop.models.domain.plan import plan_from_document
from desktop.models.storage.schema import AuditRecord
from plan_fixtures import PLANS_DIR, load_doc, plan_file, seed_text, targets_by_code

BUILTIN_FILES = sorted(p for p in PLANS_DIR.glob("*.json") if p.name != plans.SCHEMA_FILE)
EXPECTED = {  # plan id: (groups, targets) as transcribed from the source documents
    "vkstc-cds-2024": (13, 55),
    "thanhhoa-cds-2025": (12, 42),
    "quangbinh-hd136-2024": (5, 26),
    "cuc2-thidiem-2023": (8, 29),
    "dangu-08-2025": (13, 41),  # appendix 10 + targets 3 + body II.1–II.5 23 + assignments III 5
}


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i)]


def _bullets(text: str) -> int:
    return len(re.findall(r"^- ", text, re.M))


# ------------------------------------------------------------------ every file present
@pytest.mark.parametrize("path", BUILTIN_FILES, ids=lambda p: p.stem)
def test_each_builtin_file_loads_cleanly(path):
    doc = plans.load_plan_file(path)  # raises PlanFormatError naming every problem
    assert doc["id"] == path.stem, "the file name is the plan id"
    plan = plan_from_document(doc)
    assert plan.groups and plan.targets
    for _, t in plan.iter_targets():
        assert t.text.strip() and unicodedata.is_normalized("NFC", t.text)
        assert t.deadline.type != "month" or plan.year - 1 <= t.deadline.year <= plan.year + 1


def test_all_five_plans_are_shipped():
    missing = [pid for pid in EXPECTED if not plan_file(pid).exists()]
    if missing:
        pytest.skip(f"still being transcribed: {', '.join(missing)}")
    assert {p.stem for p in BUILTIN_FILES} >= set(EXPECTED)


@pytest.mark.parametrize("plan_id", sorted(EXPECTED))
def test_group_and_target_counts(plan_id):
    plan = plan_from_document(load_doc(plan_id))
    assert (len(plan.groups), len(plan.targets)) == EXPECTED[plan_id]


def test_install_is_complete_and_idempotent(admin_session):
    first = plans.install_builtin_plans(admin_session)
    assert first.problems == []
    assert sorted(first.installed) == sorted(p.stem for p in BUILTIN_FILES)
    with admin_session.db.session() as s:
        audits = s.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "plan.import"))
    assert audits == len(BUILTIN_FILES)

    again = plans.install_builtin_plans(admin_session)
    assert again.installed == [] and again.updated == []
    assert sorted(again.unchanged) == sorted(first.installed)
    with admin_session.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditRecord)
                        .where(AuditRecord.action == "plan.import")) == audits
    listed = {p.id: p for p in plans.list_plans(admin_session)}
    for path in BUILTIN_FILES:
        p = listed[path.stem]
        assert p.origin == "builtin" and not p.editable and p.version == 1
        assert p.target_count == len(plan_from_document(load_doc(path.stem)).targets)


# ------------------------------------------------------------------ VKSTC plan 2024 (seed 001)
def test_vkstc_2024_appendix_mt01_to_mt20():
    doc = load_doc("vkstc-cds-2024")
    plan = plan_from_document(doc)
    mt = [t for t in plan.targets if t.code.startswith("MT")]
    assert [t.code for t in mt] == [f"MT{i:02d}" for i in range(1, 21)]
    by_group = {g.code: [t.code for t in g.targets] for g in plan.groups}
    assert [len(by_group[g]) for g in ("I", "II", "III", "IV", "V")] == [2, 9, 2, 4, 3]
    t = plan.target("MT01")
    assert t.lead_units == ("Cục 2",) and (t.deadline.type, t.deadline.year, t.deadline.month) == ("month", 2024, 3)
    assert t.deadline.end_date(2024) == date(2024, 3, 31)
    assert plan.target("MT04").lead_units == ("Vụ Tổ chức cán bộ",)
    assert plan.target("MT11").lead_units == ("Vụ 12",)
    assert plan.target("MT10").lead_units == ("Trường ĐHKSHN",)  # OCR "Trưởng ĐHKSHN" fixed
    mt13 = plan.target("MT13").measure
    assert (mt13.type, mt13.target_percent) == ("ratio", 20)
    mt20 = plan.target("MT20")
    assert (mt20.deadline.type, mt20.deadline.every, mt20.deadline.text) == ("recurring", "month", "Hàng tháng")
    assert mt20.measure.type == "recurring" and mt20.lead_units == ("Báo Bảo vệ pháp luật",)
    fixes = {(f[0], f[1]) for f in plan.ocr_fixes}
    assert ("MT20 lead_units", "Bảo Bảo vệ pháp luật") in fixes


def test_vkstc_2024_matches_the_appendix_rows_of_the_source():
    src = seed_text("vkstc-cds-2024")
    rows = re.findall(r"^\d+\tMT(\d\d):[^\t\n]*\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)$", src, re.M)
    assert len(rows) == 20
    targets = targets_by_code(load_doc("vkstc-cds-2024"))
    for num, lead, _coord, when in rows:
        t = targets[f"MT{num}"]
        dl = t["deadline"]
        if when == "Hàng tháng":
            assert dl["type"] == "recurring" and dl["every"] == "month", num
        else:
            month, year = map(int, when.split("/"))
            assert (dl["type"], dl["month"], dl["year"]) == ("month", month, year), f"MT{num}"
        if lead in ("Cục 2", "Vụ 12", "Vụ Tổ chức cán bộ", "Văn phòng VKSND tối cao", "Tạp chí Kiểm sát"):
            assert t["lead_units"] == [lead], f"MT{num}"


def test_vkstc_2024_tasks_of_section_iii_are_all_there():
    src = seed_text("vkstc-cds-2024")
    section = _section(src, "III. NHIỆM VỤ, GIẢI PHÁP", "IV. KINH PHÍ")
    per_part = [_bullets(p) for p in re.split(r"^\d\. ", section, flags=re.M)[1:]]
    plan = plan_from_document(load_doc("vkstc-cds-2024"))
    groups = [g for g in plan.groups if g.code.startswith("NV-III")]
    assert [len(g.targets) for g in groups] == per_part == [5, 3, 5, 3, 3, 7, 3]


# ------------------------------------------------------------------ Thanh Hóa plan 2025 (seed 000)
def test_thanhhoa_2025_district_plan_milestone_and_meetings():
    plan = plan_from_document(load_doc("thanhhoa-cds-2025"))
    assert (plan.issuing_unit.name, plan.year, plan.symbol) == (
        "Viện kiểm sát nhân dân tỉnh Thanh Hóa", 2025, "KH-VKS-VP")
    milestones = [t for t in plan.targets if t.measure.type == "milestone" and t.deadline.type == "date"
                  and t.deadline.date == date(2025, 3, 10)]
    assert [t.code for t in milestones] == ["TH-IV.1-01"]
    district = milestones[0]
    assert "Kế hoạch chuyển đổi số năm 2025" in district.text
    assert district.lead_units == ("VKSND cấp huyện",) and district.applies_to_levels == ("khu_vuc",)
    meetings = [t for t in plan.targets if t.measure.type == "count"]
    assert len(meetings) == 1 and meetings[0].code == "TH-III.1-02"
    m = meetings[0].measure
    assert (m.minimum, m.per, m.cumulative) == (4, "year", True)
    assert "tối thiểu 04 lần/01 năm" in meetings[0].text
    signed = plan.target("TH-2.2-02")
    assert signed.measure.type == "ratio" and signed.measure.target_percent == 100
    assert "chữ ký số" in signed.text and signed.exclusion_note.startswith("trừ văn bản mật")


def test_thanhhoa_2025_one_target_per_bullet_of_the_source():
    src = seed_text("thanhhoa-cds-2025")
    plan = plan_from_document(load_doc("thanhhoa-cds-2025"))
    counts = {g.code: len(g.targets) for g in plan.groups}
    for code, start, end in (("2.1", "2.1. Chuyển đổi số trong hoạt động", "2.2."),
                             ("2.2", "2.2. Chuyển đổi số trong công tác", "2.3."),
                             ("2.3", "2.3. Hạ tầng", "2.4."), ("2.4", "2.4. Một số", "III. NHIỆM VỤ")):
        assert counts[code] == _bullets(_section(src, start, end)), code
    parts = re.split(r"^\d\. ", _section(src, "III. NHIỆM VỤ, GIẢI PHÁP", "IV. TỔ CHỨC"), flags=re.M)[1:]
    assert [counts[f"III.{i}"] for i in range(1, 8)] == [_bullets(p) for p in parts] == [6, 4, 3, 3, 2, 2, 2]
    assert "trước 10/03/2025" in src


# ------------------------------------------------------------------ Quảng Bình guidance 136 (seed 002)
def test_quangbinh_136_lettered_points():
    doc = load_doc("quangbinh-hd136-2024")
    plan = plan_from_document(doc)
    assert (plan.number, plan.symbol, plan.reference, plan.kind) == ("136", "HD-VKS-VP", "136/HD-VKS-VP", "huong_dan")
    assert plan.issue_date == date(2024, 1, 23)
    g31, g32 = plan.group("3.1"), plan.group("3.2")
    assert [t.code for t in g31.targets] == [f"QB-3.1-{c}" for c in "ABCDEFGHI"]
    assert [t.code for t in g32.targets] == [f"QB-3.2-{c}" for c in "ABCDEF"]
    signed = plan.target("QB-3.1-A")
    assert signed.measure.type == "ratio" and "chữ ký số" in signed.text
    monthly = plan.target("QB-3.1-B")
    assert (monthly.deadline.type, monthly.deadline.every) == ("recurring", "month")
    src = seed_text("quangbinh-hd136-2024")
    assert len(re.findall(r"^\*?[a-i]\)", _section(src, "3.1. Sử dụng", "3.2. Về"), re.M)) == len(g31.targets)
    assert len(re.findall(r"^\*?[a-f]\)", _section(src, "3.2. Về", "III. TỔ CHỨC"), re.M)) == len(g32.targets)


# ------------------------------------------------------------------ Cục 2 pilot 2023 (seed 003)
def test_cuc2_pilot_three_groups_of_five_and_dated_tasks():
    plan = plan_from_document(load_doc("cuc2-thidiem-2023"))
    for prefix in ("TD-1-", "TD-2-", "TD-3-"):
        assert [t.code for t in plan.targets if t.code.startswith(prefix)] == [f"{prefix}{i:02d}" for i in range(1, 6)]
    assert len(re.findall(r"\(5 mục tiêu\)", seed_text("cuc2-thidiem-2023"))) == 3
    dated = {t.code: t.deadline.date for t in plan.targets if t.deadline.type == "date"}
    assert dated["TD-NV-02"] == date(2023, 8, 31)
    assert dated["TD-NV-07"] == date(2023, 9, 15)
    assert dated["TD-NV-14"] == date(2023, 11, 25)
    pilot = plan.target("TD-1-01").deadline
    assert (pilot.type, pilot.start, pilot.end) == ("period", date(2023, 9, 1), date(2023, 11, 30))
    assert plan.target("TD-3-01").lead_units == ("Phòng 1",)
    rooms = plan.target("TD-1-05").measure
    assert (rooms.type, rooms.minimum, rooms.per) == ("count", 2, "plan")
    quarterly = plan.target("TD-NV-03")  # "Định kỳ hàng quý" within the pilot only
    assert (quarterly.measure.type, quarterly.measure.every) == ("recurring", "quarter")
    assert (quarterly.recurrence.every, quarterly.recurrence.start, quarterly.recurrence.end) == (
        "quarter", date(2023, 9, 1), date(2023, 11, 30))


# ------------------------------------------------------------------ Đảng ủy action plan 08 (seed 004)
def test_dangu_08_appendix_ten_tasks_match_the_source():
    doc = load_doc("dangu-08-2025")
    plan = plan_from_document(doc)
    assert (plan.reference, plan.kind, plan.issue_date) == ("08-KH/ĐU", "ke_hoach_hanh_dong", date(2025, 8, 26))
    appendix = [t for t in plan.targets if re.fullmatch(r"HD08-\d\d", t.code)]
    assert [t.code for t in appendix] == [f"HD08-{i:02d}" for i in range(1, 11)]
    assert plan.target("HD08-01").lead_units == ("Cục 2",)
    assert (plan.target("HD08-01").deadline.month, plan.target("HD08-01").deadline.year) == (11, 2025)
    assert plan.target("HD08-09").lead_units == ("Vụ 15",)
    objectives = [t for t in plan.targets if t.group_code == "MT"]
    ratios = sorted(t.measure.target_percent for t in objectives if t.measure.type == "ratio")
    assert ratios == [30, 100]  # ≥ 30% historical archives digitised; 100% non-secret records electronic
    assert all(t.deadline.end_date(2025) == date(2025, 12, 31) for t in objectives)

    src = seed_text("dangu-08-2025")
    rows = [line.split("\t") for line in src.splitlines() if re.match(r"^\d+\t", line)]
    assert len(rows) == 10
    for i, row in enumerate(rows, start=1):
        t = plan.target(f"HD08-{i:02d}")
        lead, when = row[2].strip(), row[5].strip()
        assert t.lead_units == (lead,), t.code
        month, year = map(int, re.match(r"Tháng (\d+)/(\d{4})", when).groups())
        assert (t.deadline.type, t.deadline.month, t.deadline.year) == ("month", month, year), t.code
        assert t.expected_result, t.code
