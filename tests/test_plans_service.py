"""The plans service: validation, storage, search and filters, own plans, versions, permissions,
and refusals that leave the database exactly as it was."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import unicodedata
from datetime import date

import pytest

from desktop.models.services import plans
from desktop.models.domain.plan import Deadline, Measure
from desktop.models.domain.errors import NotFound, PermissionDenied, ValidationError
from desktop.models.domain.i18n import fold
from plan_fixtures import entry_session, installed, load_doc, snapshot, thanhhoa_doc  # noqa: F401


def _problem(problems, field):
    found = [p for p in problems if p.field == field]
    assert found, f"no problem at {field}: {[str(p) for p in problems]}"
    return found[0]


# ------------------------------------------------------------------ validation
def test_schema_violations_name_file_target_and_field(thanhhoa_doc):
    doc = thanhhoa_doc
    g, t = doc["groups"][2], doc["groups"][2]["targets"][1]
    t["deadline"] = {"type": "month", "year": 2025, "month": 13}
    del doc["groups"][0]["targets"][0]["text"]
    doc["groups"][1]["targets"][0]["lead_unit"] = ["Văn phòng"]
    doc["groups"][1]["targets"][1]["measure"] = {"type": "ratio", "target_percent": 150}
    doc["groups"][1]["targets"][2]["measure"] = {"type": "percent"}
    doc["groups"][3]["targets"][0]["deadline"] = {"type": "date", "date": "2025-02-30"}
    doc["groups"][4]["targets"][0]["code"] = "th 1"
    problems = plans.validate_document(doc, "thanhhoa-cds-2025.json")

    month = _problem(problems, "groups[2].targets[1].deadline.month")
    assert month.file == "thanhhoa-cds-2025.json" and month.target == t["code"] == "TH-2.3-02"
    assert month.group == g["code"] and "12" in month.message
    assert "thanhhoa-cds-2025.json" in str(month) and "TH-2.3-02" in str(month)
    missing = _problem(problems, "groups[0].targets[0].text")
    assert missing.target == "TH-2.1-01" and "Thiếu trường bắt buộc" in missing.message
    extra = _problem(problems, "groups[1].targets[0].lead_unit")
    assert "lead_unit" in extra.message and extra.target == "TH-2.2-01"
    assert "100" in _problem(problems, "groups[1].targets[1].measure.target_percent").message
    kind = _problem(problems, "groups[1].targets[2].measure.type")
    assert "percent" in kind.message and "ratio" in kind.message
    assert "2025-02-30" in _problem(problems, "groups[3].targets[0].deadline.date").message
    assert "th 1" in _problem(problems, "groups[4].targets[0].code").message
    assert len(problems) == 7, [str(p) for p in problems]


def test_semantic_checks(thanhhoa_doc):
    doc = thanhhoa_doc
    doc["groups"][1]["targets"][1]["code"] = doc["groups"][1]["targets"][0]["code"]
    doc["groups"][2]["code"] = doc["groups"][1]["code"]
    doc["groups"][0]["targets"][1]["text"] = unicodedata.normalize("NFD", "Chữ ký số")
    doc["groups"][3]["targets"][1]["deadline"] = {"type": "month", "year": 2030, "month": 3}
    doc["groups"][4]["targets"][0]["deadline"] = {"type": "period", "start": "2025-09-01", "end": "2025-01-31"}
    problems = plans.validate_document(doc, "x.json")
    fields = {p.field: p for p in problems}
    assert "trùng" in fields["groups[1].targets[1].code"].message
    assert "trùng" in fields["groups[2].code"].message
    assert "NFC" in fields["groups[0].targets[1].text"].message
    assert "2030" in fields["groups[3].targets[1].deadline.year"].message
    assert "groups[4].targets[0].deadline.end" in fields
    assert len(problems) == 5


def test_load_plan_file_reports_every_problem(tmp_path, thanhhoa_doc):
    bad = tmp_path / "hong.json"
    bad.write_text('{"format": "vks-cds-plan/1",\n "id": }', "utf-8")
    with pytest.raises(plans.PlanFormatError) as info:
        plans.load_plan_file(bad)
    assert info.value.problems[0].file == "hong.json" and "dòng 2" in info.value.problems[0].message
    thanhhoa_doc["year"] = "2025"
    thanhhoa_doc["groups"][0]["targets"][0]["deadline"] = {"type": "recurring", "every": "week"}
    (tmp_path / "sai.json").write_text(json.dumps(thanhhoa_doc, ensure_ascii=False), "utf-8")
    with pytest.raises(plans.PlanFormatError) as info:
        plans.load_plan_file(tmp_path / "sai.json")
    assert {p.field for p in info.value.problems} == {"year", "groups[0].targets[0].deadline.every"}
    assert "sai.json" in info.value.message and "chưa lưu" in info.value.message


# ------------------------------------------------------------------ reading
def test_list_show_describe(installed):
    items = plans.list_plans(installed)
    assert {p.id for p in items} >= {"thanhhoa-cds-2025", "quangbinh-hd136-2024"}
    th = next(p for p in items if p.id == "thanhhoa-cds-2025")
    assert th.to_json()["target_count"] == th.target_count == 42
    doc = plans.get_plan_document(installed, "thanhhoa-cds-2025")
    assert doc["version"] == 1 and doc["id"] == "thanhhoa-cds-2025"
    text = plans.describe(doc)
    assert "KẾ HOẠCH CHUYỂN ĐỔI SỐ NGÀNH KIỂM SÁT THANH HÓA NĂM 2025" in text and "TH-IV.1-01" in text
    assert "10/03/2025" in text
    with pytest.raises(NotFound):
        plans.get_plan_document(installed, "khong-co")


def test_accent_insensitive_search(installed):
    rows = plans.list_targets(installed, "thanhhoa-cds-2025", search="chu ky so")
    assert [r.code for r in rows] == ["TH-2.2-02"]
    assert all("chu ky so" in fold(r.text) for r in rows)
    assert "chữ ký số" in rows[0].text
    assert [r.code for r in plans.list_targets(installed, "thanhhoa-cds-2025", search="CHỮ KÝ SỐ")] == ["TH-2.2-02"]
    qb = plans.list_targets(installed, "quangbinh-hd136-2024", search="chu ky so")
    assert qb and all("chu ky so" in fold(r.text + " ".join(r.lead_units)) for r in qb)
    assert [r.code for r in plans.list_targets(installed, "vkstc-cds-2024", search="mt20")] == ["MT20"]
    assert plans.list_targets(installed, "vkstc-cds-2024", search="100%_") == []  # LIKE wildcards escaped
    everything = plans.list_targets(installed, "thanhhoa-cds-2025")
    assert len(everything) == 42 and [r.position for r in everything] == list(range(1, 43))


def test_filters(installed):
    vk = "vkstc-cds-2024"
    assert {r.group_code for r in plans.list_targets(installed, vk, group="IV")} == {"IV"}
    cuc2 = plans.list_targets(installed, vk, lead_unit="Cục 2")
    assert cuc2 and all("Cục 2" in r.lead_units for r in cuc2)
    assert "Cục 2" in plans.lead_units(installed, vk)
    march = plans.list_targets(installed, vk, deadline_from=date(2024, 3, 1), deadline_to=date(2024, 3, 31))
    assert sorted(r.code for r in march) == ["MT01", "MT06", "MT17"]
    ratios = plans.list_targets(installed, vk, measure_type="ratio")
    assert ratios and all(r.measure.type == "ratio" for r in ratios)
    combined = plans.list_targets(installed, vk, search="100%", lead_unit="Cục 2", measure_type="ratio")
    assert [r.code for r in combined] == ["MT06", "MT19"]
    assert [g.code for g in plans.list_groups(installed, vk)][:5] == ["I", "II", "III", "IV", "V"]


# ------------------------------------------------------------------ own plans, edits, versions
def test_create_own_plan_from_the_province_plan(installed):
    pid = plans.create_own_plan(installed, "thanhhoa-cds-2025", "kv1-cds-2025")
    doc = plans.get_plan_document(installed, pid)
    assert doc["issuing_unit"] == {"code": "VKS-KV1-THA", "name": "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa"}
    assert doc["parent_unit"]["code"] == "VKS-THA" and doc["year"] == 2025 and doc["version"] == 1
    summary = plans.plan_summary(installed, pid)
    assert (summary.origin, summary.derived_from, summary.editable) == ("own", "thanhhoa-cds-2025", True)
    province = load_doc("thanhhoa-cds-2025")
    for_district = [t["code"] for g in province["groups"] for t in g["targets"]
                    if "khu_vuc" in t.get("applies_to_levels", ["khu_vuc"])]
    assert [t["code"] for g in doc["groups"] for t in g["targets"]] == for_district
    own = {t["code"]: t for g in doc["groups"] for t in g["targets"]}
    assert own["TH-IV.1-01"]["deadline"]["date"] == "2025-03-10"
    assert "TH-2.2-01" not in own  # the VNPT agreement is the province's own task
    assert plans.get_plan_document(installed, "thanhhoa-cds-2025")["version"] == 1  # the source is untouched
    with pytest.raises(ValidationError):
        plans.create_own_plan(installed, "thanhhoa-cds-2025", "kv1-cds-2025")
    with pytest.raises(ValidationError):
        plans.create_own_plan(installed, "thanhhoa-cds-2025", "Kế hoạch 1")


def test_create_own_plan_for_another_year_moves_deadlines(installed):
    pid = plans.create_own_plan(installed, "vkstc-cds-2024", "kv1-cds-2026", title="Kế hoạch CĐS năm 2026", year=2026)
    doc = plans.get_plan_document(installed, pid)
    own = {t["code"]: t for g in doc["groups"] for t in g["targets"]}
    assert doc["title"] == "Kế hoạch CĐS năm 2026"
    assert own["MT03"]["deadline"] == {"type": "month", "year": 2026, "month": 6}
    assert own["NV-V-02"]["deadline"]["date"] == "2025-12-31"


def test_edit_own_plan_keeps_versions_and_diffs_fields(installed):
    pid = plans.create_own_plan(installed, "thanhhoa-cds-2025", "kv1-cds-2025")
    v2 = plans.update_target(installed, pid, "TH-III.1-02",
                             {"lead_units": ["Viện trưởng"], "deadline": Deadline("recurring", every="quarter"),
                              "measure": Measure("count", minimum=1, per="quarter", cumulative=False)},
                             note="Họp hàng quý")
    v3 = plans.add_target(installed, pid, "III.1", {"code": "KV1-01", "kind": "nhiem_vu",
                                                    "text": "Rà soát chữ ký số của lãnh đạo đơn vị.",
                                                    "deadline": {"type": "month", "year": 2025, "month": 6},
                                                    "measure": {"type": "milestone"}})
    v4 = plans.remove_target(installed, pid, "TH-2.1-01")
    v5 = plans.update_plan_info(installed, pid, {"submission_deadlines": {"month": 3, "quarter": 7}})
    assert (v2, v3, v4, v5) == (2, 3, 4, 5)
    assert plans.update_plan_info(installed, pid, {"submission_deadlines": {"month": 3, "quarter": 7}}) == 5

    versions = plans.list_versions(installed, pid)
    assert [v.version for v in versions] == [5, 4, 3, 2, 1] and versions[0].is_current
    assert versions[-2].note == "Họp hàng quý" and versions[0].created_by == "Nguyễn Văn Quản"
    assert plans.get_plan_document(installed, pid, version=1)["groups"][0]["targets"][0]["code"] == "TH-2.1-01"

    changes = {(c.kind, c.code): c for c in plans.diff_versions(installed, pid, 1, 5)}
    edited = {f.field: f for f in changes[("changed", "TH-III.1-02")].fields}
    assert (edited["lead_units"].old, edited["lead_units"].new) == ("Lãnh đạo đơn vị", "Viện trưởng")
    assert (edited["deadline"].old, edited["deadline"].new) == ("Năm 2025", "Hàng quý")
    assert (edited["measure"].old, edited["measure"].new) == ("Tối thiểu 4 lần/năm", "Tối thiểu 1 lần/quý")
    assert edited["lead_units"].label == "Đơn vị chủ trì"
    assert ("added", "KV1-01") in changes and ("removed", "TH-2.1-01") in changes
    assert changes[("plan", "")].fields[0].field == "submission_deadlines"
    assert plans.diff_versions(installed, pid, 5, 5) == []
    assert [r.code for r in plans.list_targets(installed, pid, search="chu ky so")] == ["TH-2.2-02", "KV1-01"]

    with pytest.raises(plans.PlanFormatError) as info:
        plans.update_target(installed, pid, "KV1-01", {"code": "TH-2.2-02"})
    assert any("trùng" in p.message for p in info.value.problems)
    assert plans.plan_summary(installed, pid).version == 5


def test_builtin_plans_are_read_only(installed):
    before = snapshot(installed)
    for call in (lambda: plans.update_target(installed, "thanhhoa-cds-2025", "TH-2.1-01", {"text": "x"}),
                 lambda: plans.remove_target(installed, "thanhhoa-cds-2025", "TH-2.1-01"),
                 lambda: plans.save_new_version(installed, "thanhhoa-cds-2025", load_doc("thanhhoa-cds-2025"))):
        with pytest.raises(plans.PlanReadOnly) as info:
            call()
        assert "không sửa được" in info.value.message and "Tạo kế hoạch của đơn vị" in info.value.hint
    assert snapshot(installed) == before


def test_data_entry_user_cannot_change_plans(entry_session, tmp_path):
    session = entry_session
    assert plans.list_plans(session)  # reading is allowed
    plans.export_file(session, "thanhhoa-cds-2025", tmp_path / "ok.json")  # so is exporting
    before = snapshot(session)
    good = tmp_path / "ke-hoach.json"
    doc = load_doc("thanhhoa-cds-2025")
    doc["id"] = "ke-hoach-moi"
    good.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    for call in (lambda: plans.create_own_plan(session, "thanhhoa-cds-2025", "kv1-cds-2025"),
                 lambda: plans.import_file(session, good),
                 lambda: plans.install_builtin_plans(session),
                 lambda: plans.update_target(session, "thanhhoa-cds-2025", "TH-2.1-01", {"text": "x"}),
                 lambda: plans.save_new_version(session, "thanhhoa-cds-2025", doc),
                 lambda: plans.preview_import(session, good)):
        with pytest.raises(PermissionDenied):
            call()
    assert snapshot(session) == before


# ------------------------------------------------------------------ import and export
def test_import_json_then_reimport(installed, tmp_path):
    doc = load_doc("quangbinh-hd136-2024")
    doc["id"] = "qb-136-ban-sao"
    path = tmp_path / "qb.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    result = plans.import_file(installed, path)
    assert (result.id, result.version, result.target_count, result.created) == ("qb-136-ban-sao", 1, 26, True)
    assert plans.plan_summary(installed, "qb-136-ban-sao").origin == "imported"
    again = plans.import_file(installed, path)
    assert (again.version, again.changed) == (1, False)
    doc["groups"][0]["targets"][0]["text"] += " (bổ sung)"
    path.write_text(json.dumps(doc, ensure_ascii=False), "utf-8")
    assert plans.import_file(installed, path).version == 2
    assert [c.kind for c in plans.diff_versions(installed, "qb-136-ban-sao", 1, 2)] == ["changed"]


def test_refused_imports_change_nothing(installed, tmp_path):
    before = snapshot(installed)
    same_id = tmp_path / "trung.json"
    same_id.write_text(json.dumps(load_doc("vkstc-cds-2024"), ensure_ascii=False), "utf-8")
    with pytest.raises(ValidationError) as info:
        plans.import_file(installed, same_id)
    assert "không ghi đè" in info.value.message

    broken = copy.deepcopy(load_doc("vkstc-cds-2024"))
    broken["id"] = "kh-loi"
    broken["groups"][0]["targets"][0]["deadline"]["month"] = 0
    broken["groups"][1]["targets"][3]["measure"] = {"type": "count", "minimum": 0, "per": "year"}
    bad = tmp_path / "loi.json"
    bad.write_text(json.dumps(broken, ensure_ascii=False), "utf-8")
    with pytest.raises(plans.PlanFormatError) as info:
        plans.import_file(installed, bad)
    assert {(p.target, p.field) for p in info.value.problems} == {
        ("MT01", "groups[0].targets[0].deadline.month"), ("MT06", "groups[1].targets[3].measure.minimum")}

    not_xlsx = tmp_path / "gia.xlsx"
    not_xlsx.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(plans.PlanFormatError) as info:
        plans.import_file(installed, not_xlsx)
    assert "Excel" in info.value.problems[0].message
    with pytest.raises(ValidationError):
        plans.import_file(installed, tmp_path / "ke-hoach.csv")
    assert snapshot(installed) == before


def test_export_json_is_the_stored_document(installed, tmp_path):
    out = plans.export_file(installed, "dangu-08-2025", tmp_path / "dangu.json")
    assert json.loads(out.read_text("utf-8")) == plans.get_plan_document(installed, "dangu-08-2025")
    from desktop.models.storage import audit

    with installed.db.session() as s:
        last = audit.recent(s, 1)[0]
    assert (last.action, last.subject) == ("plan.export", "dangu-08-2025")
    with pytest.raises(ValidationError):
        plans.export_file(installed, "dangu-08-2025", tmp_path / "dangu.pdf")


def test_models_and_export_never_import_qt():
    code = ("import sys; import desktop.models.services.plans, desktop.models.domain.plan, desktop.export.plan_xlsx; "
            "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt loaded'")
    subprocess.run([sys.executable, "-c", code], check=True)
