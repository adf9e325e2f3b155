"""Plans as issued, targets as assigned (issue 16): who reports on each target, recurrence windows,
and the transcription fixes of the built-in plans — one test per fixed fact, then the services
(entry form list, consolidation, chasing, printed reports, editing the assignment)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest

from desktop.models.services import assignment, plans, progress, reporting, units
from desktop.models.services import consolidation as cons
from desktop.models.domain.plan import (ReportingPeriod, UnitIdentity, UnitRef, plan_from_document, target_role,
                                   targets_applicable, unit_key)
from desktop.models.domain.errors import PermissionDenied
from desktop.models.storage.keyslots import KdfParams
from desktop.models.services.plans import PlanReadOnly
from desktop.models.domain.status import Progress, evaluate
from desktop.models.storage.vault import UnitIdentity as VaultUnit
from desktop.models.storage.vault import Vault
from plan_fixtures import entry_session, installed, load_doc, seed_text, snapshot  # noqa: F401

THA = UnitIdentity("VKS-THA", "tinh", ("Viện kiểm sát nhân dân tỉnh Thanh Hóa", "VKSND tỉnh Thanh Hóa"))
QNI = UnitIdentity("VKS-QNI", "tinh", ("Viện kiểm sát nhân dân tỉnh Quảng Ninh",))
KV1 = UnitIdentity("VKS-KV1-THA", "khu_vuc", ("Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa", "KV1"))
TCKS = UnitIdentity("TCKS", "toi_cao", ("Tạp chí Kiểm sát",))


def plan(pid):
    return plan_from_document(load_doc(pid))


# ------------------------------------------------------------------ assignment facts
def test_th_2_2_06_is_the_provinces_own_task():
    p = plan("thanhhoa-cds-2025")
    t = p.target("TH-2.2-06")
    assert "DTI" in t.text and t.applies_to_levels == ("tinh",)
    assert target_role(t, p, THA) == "lead"  # "VKSND tỉnh Thanh Hóa" leads it
    assert target_role(t, p, KV1) is None  # the districts receive the roll-out, they do not report it
    assert t not in targets_applicable(p, KV1)
    assert p.target("TH-IV.1-01") in targets_applicable(p, KV1)  # their own plan before 10/03/2025 is theirs
    assert ("TH-2.2-06 applies_to_levels", "tinh, khu_vuc", "tinh") in p.ocr_fixes


def test_mt08_is_coordinated_by_quang_ninh_and_reported_by_every_province():
    p = plan("vkstc-cds-2024")
    t = p.target("MT08")
    assert t.lead_units == ("Tạp chí Kiểm sát",)
    assert "VKSND tỉnh Quảng Ninh" in t.coordinating_units
    assert [u for u in t.coordinating_units if "tỉnh" in u] == ["VKSND tỉnh Quảng Ninh"]  # the only province named
    assert target_role(t, p, QNI) == "coordinating"
    assert target_role(t, p, THA) == "reporting"  # every province reports, named or not
    assert target_role(t, p, TCKS) == "lead"
    assert target_role(t, p, KV1) is None
    assert "mọi VKSND tỉnh" in t.assignment_note


def test_qb_3_1_b_office_coordinates_and_districts_report_monthly():
    p = plan("quangbinh-hd136-2024")
    t = p.target("QB-3.1-B")
    src = seed_text("quangbinh-hd136-2024")
    assert "Hằng tháng, Văn phòng VKSND tỉnh sẽ kiểm tra" in src and "Hằng tháng, Văn phòng VKSND tỉnh" in t.text
    assert t.coordinating_units == ("Văn phòng VKSND tỉnh",)
    assert t.applies_to_levels == ("khu_vuc",)
    qb_province = UnitIdentity("VKS-QBI", "tinh", ("Viện kiểm sát nhân dân tỉnh Quảng Bình",))
    qb_district = UnitIdentity("VKS-KV1-QBI", "khu_vuc", ("Viện kiểm sát nhân dân khu vực 1 - Quảng Bình",))
    assert target_role(t, p, qb_province) is None and target_role(t, p, qb_district) == "reporting"
    assert t.effective_recurrence.every == "month"
    assert len(t.effective_recurrence.due_periods(2024, t.deadline)) == 12
    assert ("QB-3.1-B applies_to_levels", "tinh, khu_vuc", "khu_vuc") in p.ocr_fixes


def test_unit_names_match_however_they_are_spelt():
    assert unit_key("VKSND tỉnh Quảng Ninh") == unit_key("Viện kiểm sát nhân dân tỉnh  Quảng Ninh")
    assert unit_key("VKSND tỉnh Quảng Ninh") != unit_key("VKSND tỉnh Quảng Nam")
    assert QNI.is_named(UnitRef("VKSND tỉnh Quảng Ninh"))
    assert not QNI.is_named(UnitRef("Viện kiểm sát nhân dân tỉnh Quảng Ninh", "VKS-OTHER"))  # a code decides


# ------------------------------------------------------------------ recurrence facts
def test_td_2_02_is_a_100_percent_ratio_each_quarter_of_the_pilot():
    p = plan("cuc2-thidiem-2023")
    t = p.target("TD-2-02")
    assert "định kỳ mỗi quý/1 lần" in t.text
    assert (t.measure.type, t.measure.target_percent) == ("ratio", 100)
    rec = t.effective_recurrence
    assert rec.every == "quarter" and (rec.start, rec.end) == (date(2023, 9, 1), date(2023, 11, 30))
    assert [q.key for q in rec.due_periods(2023, t.deadline)] == ["2023-Q3", "2023-Q4"]


def test_td_nv_03_recurs_only_within_the_pilot():
    p = plan("cuc2-thidiem-2023")
    t = p.target("TD-NV-03")
    assert "01/9/2023 đến ngày 30/11/2023" in seed_text("cuc2-thidiem-2023")
    assert [q.key for q in t.effective_recurrence.due_periods(2023, t.deadline)] == ["2023-Q3", "2023-Q4"]
    # the old transcription reported "chậm tiến độ — Quý I/2023, Quý II/2023 chưa thực hiện" in July
    r = evaluate(t, 2023, [], date(2023, 7, 11), submission_days=dict(p.submission_deadlines))
    assert r.status is Progress.CHUA_THUC_HIEN and "Quý I/" not in r.reason and "Quý II/" not in r.reason
    r = evaluate(t, 2023, [], date(2023, 10, 20), submission_days=dict(p.submission_deadlines))
    assert r.status is Progress.CHAM_TIEN_DO and [q.key for q in r.missed_periods] == ["2023-Q3"]
    assert "TD-NV-03" in p.notes and "Quý III/2023" in p.notes


# ------------------------------------------------------------------ 08-KH/ĐU transcription facts
def test_08_group_iv_title_is_not_invented():
    p = plan("dangu-08-2025")
    g = p.group("IV")
    assert g.title_missing and g.title == "Nhóm IV" and "chưa rõ tên" in g.display_title
    assert "Về dữ liệu" not in g.display_title
    assert {"where": "group IV title", "original": "Về dữ liệu", "fixed": "Nhóm IV (chưa rõ tên)"} in \
        load_doc("dangu-08-2025")["ocr_fixes"]


def test_08_group_iii_title_was_inferred_and_is_flagged_too():
    p = plan("dangu-08-2025")
    g = p.group("III")
    src = seed_text("dangu-08-2025")
    assert re.search(r"^<b>III</b>\t*$", src, re.M)  # the numeral alone, no title in the source row
    assert g.title_missing and g.title == "Nhóm III" and "Về nền tảng" not in g.display_title
    assert ("group III title", "Về nền tảng", "Nhóm III (chưa rõ tên)") in p.ocr_fixes
    assert not p.group("II").title_missing and p.group("II").title == "Về hạ tầng kỹ thuật, công nghệ"


def _bullets(section: str) -> list[str]:
    return [line[2:].strip() for line in section.splitlines() if line.startswith("- ")]


def test_08_body_tasks_of_ii_1_to_ii_5_are_transcribed():
    p = plan("dangu-08-2025")
    src = seed_text("dangu-08-2025")
    body = src[src.index("## **II. NHIỆM VỤ VÀ GIẢI PHÁP**"):src.index("### III. TỔ CHỨC THỰC HIỆN")]
    bullets = _bullets(body)
    assert len(bullets) == 22  # the 22 items of II.1–II.5; II.4 is a paragraph without bullets
    tasks = [t for g in p.groups if g.code.startswith("NV-II.") for t in g.targets]
    assert len(tasks) == 23
    fixes = {(w, o, f) for w, o, f in p.ocr_fixes}
    as_written = [t.text for t in tasks if t.code != "HD08-II4-01"]
    for text, bullet in zip(as_written, bullets):
        restored = text
        for where, original, fixed in fixes:
            restored = restored.replace(fixed, original) if where.endswith(" text") and fixed in text else restored
        assert restored == bullet
    assert p.target("HD08-II4-01").text.startswith("Ưu tiên bố trí kinh phí")
    assert all(t.deadline.end_date(2025) == date(2025, 12, 31) for t in tasks)


def test_08_two_body_items_are_100_percent_ratio_targets():
    p = plan("dangu-08-2025")
    ratios = [t for g in p.groups if g.code.startswith("NV-II.") for t in g.targets if t.measure.type == "ratio"]
    assert [t.code for t in ratios] == ["HD08-II3A-01", "HD08-II3B-01"]
    assert all(t.measure.target_percent == 100 and "cho 100%" in t.text for t in ratios)
    assert all(t.applies_to_levels == ("toi_cao", "tinh", "khu_vuc") for t in ratios)


def test_08_the_five_assignments_of_iii_are_transcribed():
    p = plan("dangu-08-2025")
    g = p.group("TCTH")
    assert [t.code for t in g.targets] == [f"HD08-III-{i:02d}" for i in range(1, 6)]
    leads = [t.lead_units for t in g.targets]
    assert leads == [("Các cấp ủy Đảng trong Đảng bộ", "Thủ trưởng các đơn vị thuộc VKSND tối cao"),
                     ("Văn phòng Đảng ủy VKSND tối cao",), ("Vụ pháp chế",), ("Cục Tài chính",), ("Cục 2",)]
    src = seed_text("dangu-08-2025")
    for i, t in enumerate(g.targets, 1):
        line = next(x for x in src.splitlines() if x.startswith(f"{i}. ") and ("Giao" in x or "cấp ủy" in x))
        assert line[3:].rstrip("/.") .rstrip(".") == t.text.rstrip("."), t.code
    assert g.targets[4].effective_recurrence.every == "year"  # "sơ kết đánh giá … hàng năm"


def test_08_ocr_slips_in_the_body_are_fixed_and_recorded():
    p = plan("dangu-08-2025")
    assert "tổ tụng" not in p.target("HD08-II1A-01").text and "tố tụng" in p.target("HD08-II1A-01").text
    assert "chuyển đổi số" in p.target("HD08-II3B-02").text
    assert ("HD08-II1A-01 text", "hoạt động tổ tụng", "hoạt động tố tụng") in p.ocr_fixes
    assert "23 nhiệm vụ" in p.notes and "chưa rõ tên" in p.notes


def test_old_format_plans_still_load_and_new_fields_need_the_new_format():
    doc = load_doc("thanhhoa-cds-2025")
    old = json.loads(json.dumps(doc))
    old["format"] = "vks-cds-plan/1"
    for g in old["groups"]:
        for t in g["targets"]:
            for k in ("reporting_units", "assignment_note", "recurrence"):
                t.pop(k, None)
    assert plans.validate_document(old, "cu.json") == []
    old["groups"][0]["targets"][0]["recurrence"] = {"every": "month"}
    problems = plans.validate_document(old, "cu.json")
    assert len(problems) == 1 and "vks-cds-plan/2" in problems[0].message


# ------------------------------------------------------------------ services
def test_entry_form_lists_only_the_units_targets(entry_session):  # noqa: F811
    report = progress.open_report(entry_session, "thanhhoa-cds-2025", "2025-03")
    codes = [t.code for t in progress.report_targets(entry_session, report)]
    assert "TH-2.2-06" not in codes and "TH-IV.1-01" in codes
    assert codes == [t.code for t in assignment.applicable_targets(entry_session, plan("thanhhoa-cds-2025"))]


PW = "mat-khau-tinh-2025"
SMALL = "tha-phan-cong-2025"


def _small_plan() -> dict:
    def t(code, **kw):
        return {"code": code, "kind": "nhiem_vu", "text": f"Nhiệm vụ {code}", "deadline": {"type": "year"},
                "measure": {"type": "milestone"}, **kw}
    return {"format": "vks-cds-plan/2", "id": SMALL, "kind": "ke_hoach", "number": None, "symbol": "KH-VKS-VP",
            "title": "Kế hoạch phân công thử", "issuing_unit": {"code": "VKS-THA", "name": "VKSND tỉnh Thanh Hóa"},
            "year": 2025, "version": 1, "period_types": ["month"], "submission_deadlines": {"month": 5},
            "groups": [{"code": "I", "title": "Nhóm thử", "targets": [
                t("P-ALL", applies_to_levels=["khu_vuc"]),
                t("P-KV1", applies_to_levels=["khu_vuc"],
                  reporting_units=[{"code": "VKS-KV1-THA", "name": "VKSND khu vực 1 - Thanh Hóa"}]),
                t("P-TINH", applies_to_levels=["tinh"])]}]}


@pytest.fixture
def province(tmp_path):
    v = Vault(tmp_path / "province")
    s, _ = v.create(VaultUnit("VKS-THA", "Viện kiểm sát nhân dân tỉnh Thanh Hóa", parent_code="VKSTC",
                              parent_name="Viện kiểm sát nhân dân tối cao", place_name="Thanh Hóa",
                              doc_symbol="VKS-VP", level="tinh"), "quantri", PW,
                    kdf=KdfParams(1, 8192, 1, b"\0" * 16))
    for i in (1, 2, 3):
        units.add_unit(s, f"VKS-KV{i}-THA", f"Viện kiểm sát nhân dân khu vực {i} - Thanh Hóa", short_name=f"KV{i}",
                       place_name="Thanh Hóa", doc_symbol=f"VKSKV{i}")
    path = tmp_path / f"{SMALL}.json"
    path.write_text(json.dumps(_small_plan(), ensure_ascii=False), "utf-8")
    plans.import_file(s, path)
    yield s
    if s.is_unlocked:
        s.lock()


def test_consolidation_counts_only_units_that_must_report(province):
    s = province
    p = plans.get_plan(s, SMALL)
    per_unit = cons.unit_targets(s, p)
    assert {k: [t.code for t in v] for k, v in per_unit.items()} == {
        "VKS-KV1-THA": ["P-ALL", "P-KV1"], "VKS-KV2-THA": ["P-ALL"], "VKS-KV3-THA": ["P-ALL"]}
    progress.store_received_report(s, "VKS-KV1-THA", SMALL, p.version, "2025-03",
                                   {"P-ALL": {"done": "1", "done_date": "2025-03-02"}, "P-KV1": {"done": None}},
                                   received_at=datetime(2025, 4, 2))
    progress.store_received_report(s, "VKS-KV2-THA", SMALL, p.version, "2025-03",
                                   {"P-ALL": {"done": "1", "done_date": "2025-03-02"}}, received_at=datetime(2025, 4, 2))
    for u in ("VKS-KV1-THA", "VKS-KV2-THA"):
        cons.refresh_unit(s, SMALL, u)
    m = cons.matrix(s, SMALL, "2025-03")
    assert [c.code for c in m.targets] == ["P-ALL", "P-KV1"]  # P-TINH is the province's own
    assert not m.applicable("VKS-KV2-THA", "P-KV1") and ("VKS-KV2-THA", "P-KV1") not in m.cells
    rows = {u.code: u for u in m.units}
    assert rows["VKS-KV2-THA"].completion == 1.0  # 1 of its 1 target, not 1 of 2
    assert rows["VKS-KV1-THA"].completion == 0.5
    # P-ALL limited to KV1 too: KV2 and KV3 have nothing left to report and are neither expected nor chased
    assignment.set_assignment(s, SMALL, "P-ALL", reporting_units=[UnitRef("VKSND khu vực 1 - Thanh Hóa", "VKS-KV1-THA")])
    m = cons.matrix(s, SMALL, "2025-03")
    assert [u.code for u in m.units] == ["VKS-KV1-THA"] and m.expected == 1
    assert cons.missing_reports(s, SMALL, "2025-03", today=date(2025, 4, 20)) == []
    doc = reporting.consolidated_report_doc(s, SMALL, ReportingPeriod.parse("2025-03"), as_of=date(2025, 4, 20))
    assert [u.code for u in doc.units] == ["VKS-KV1-THA"] and {t.code for t in doc.targets} == {"P-ALL", "P-KV1"}


def test_entries_stay_keyed_by_code_across_versions(province):
    s = province
    p = plans.get_plan(s, SMALL)
    progress.store_received_report(s, "VKS-KV1-THA", SMALL, p.version, "2025-03",
                                   {"P-KV1": {"done": "1", "done_date": "2025-03-02"}}, received_at=datetime(2025, 4, 2))
    v2 = assignment.set_assignment(s, SMALL, "P-KV1", coordinating_units=["Văn phòng VKSND tỉnh"],
                                   assignment_note="Văn phòng kiểm tra hằng tháng")
    assert v2 == 2 and plans.get_plan(s, SMALL).target("P-KV1").coordinating_units == ("Văn phòng VKSND tỉnh",)
    cons.refresh_unit(s, SMALL, "VKS-KV1-THA")
    cell = cons.matrix(s, SMALL, "2025-03").cells[("VKS-KV1-THA", "P-KV1")]
    assert cell.status is Progress.HOAN_THANH  # the version-1 entry still counts under the same code
    changes = plans.diff_versions(s, SMALL, 1, 2)
    assert [(c.code, [f.field for f in c.fields]) for c in changes] == [
        ("P-KV1", ["coordinating_units", "assignment_note"])]


def test_assignment_changes_are_refused_without_right_or_on_a_builtin_plan(province, tmp_path):
    s = province
    plans.install_builtin_plans(s)
    before = snapshot(s)
    with pytest.raises(PlanReadOnly):
        assignment.set_assignment(s, "thanhhoa-cds-2025", "TH-2.2-06", levels=["tinh", "khu_vuc"])
    from desktop.models.services import accounts
    from desktop.models.storage.vault import Role

    accounts.add_user(s, "nhap", "Người nhập", Role.DATA_ENTRY, PW + "n")
    before = snapshot(s)
    s.lock()
    v = Vault(tmp_path / "province")
    e = v.unlock("nhap", PW + "n")
    with pytest.raises(PermissionDenied):
        assignment.set_assignment(e, SMALL, "P-ALL", levels=["tinh"])
    e.lock()
    s2 = v.unlock("quantri", PW)
    after = snapshot(s2)
    assert after["documents"] == before["documents"] and after["versions"] == before["versions"]
    s2.lock()
