"""Batch plan edits (plans.apply_edits): one transaction, one version, one audit record; a refused
batch (permission, validation, unknown target) changes nothing at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desktop.models.services import plans
from desktop.models.domain.errors import NotFound, PermissionDenied, ValidationError
from desktop.models.storage.schema import AuditRecord
from plan_fixtures import entry_session, installed, snapshot  # noqa: F401

PID = "kv1-cds-2025"


@pytest.fixture
def own(installed):
    plans.create_own_plan(installed, "thanhhoa-cds-2025", PID)
    return installed


def _targets(session) -> dict[str, tuple[str, dict]]:
    doc = plans.get_plan_document(session, PID)
    return {t["code"]: (g["code"], t) for g in doc["groups"] for t in g["targets"]}


def _audit(session) -> list[AuditRecord]:
    with session.db.session() as s:
        rows = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "plan.edit")))
        s.expunge_all()
        return rows


def test_a_batch_is_one_version_and_one_audit_record(own):
    before = _targets(own)
    first, second, last = list(before)[0], list(before)[1], list(before)[-1]
    groups = [g.code for g in plans.list_groups(own, PID)]
    version = plans.apply_edits(own, PID, [
        plans.UpdatePlanInfo({"title": "Kế hoạch CĐS 2025 của KV1", "submission_deadlines": {"month": 4}}),
        plans.UpdateTarget(first, {"text": "Nội dung mới", "lead_units": ["Văn phòng"], "expected_result": None}),
        plans.UpdateTarget(second, {"code": "KV1-99"}, group_code=groups[-1]),
        plans.RemoveTarget(last),
        plans.AddTarget(groups[0], {"code": "KV1-01", "text": "Rà soát chữ ký số",
                                    "deadline": {"type": "month", "year": 2025, "month": 6},
                                    "measure": {"type": "milestone"}}),
    ], note="Điều chỉnh theo chỉ đạo")
    assert version == 2
    after = _targets(own)
    assert after[first][1]["text"] == "Nội dung mới" and after[first][1]["lead_units"] == ["Văn phòng"]
    assert "expected_result" not in after[first][1]
    assert second not in after and after["KV1-99"][0] == groups[-1]
    assert last not in after and after["KV1-01"][0] == groups[0]
    doc = plans.get_plan_document(own, PID)
    assert doc["title"] == "Kế hoạch CĐS 2025 của KV1" and doc["submission_deadlines"] == {"month": 4}
    versions = plans.list_versions(own, PID)
    assert [v.version for v in versions] == [2, 1] and versions[0].note == "Điều chỉnh theo chỉ đạo"
    records = _audit(own)
    assert len(records) == 1 and records[0].subject == PID
    changes = plans.diff_versions(own, PID, 1, 2)
    plan_fields = {f.field: f for f in next(c for c in changes if c.kind == "plan").fields}
    assert plan_fields["submission_deadlines"].new == "Tháng: 4 ngày"  # as a user reads it, not JSON
    kinds = {(c.kind, c.code) for c in changes}
    assert {("added", "KV1-01"), ("removed", last), ("added", "KV1-99"), ("removed", second),
            ("changed", first)} <= kinds


def test_codes_name_targets_as_before_the_batch(own):
    a, b = list(_targets(own))[:2]
    texts = {code: t["text"] for code, (_g, t) in _targets(own).items()}
    plans.apply_edits(own, PID, [plans.UpdateTarget(a, {"code": b}), plans.UpdateTarget(b, {"code": a})])
    after = _targets(own)
    assert after[a][1]["text"] == texts[b] and after[b][1]["text"] == texts[a]
    assert plans.list_versions(own, PID)[0].note == "Sửa 2 mục tiêu"


def test_an_empty_or_unchanging_batch_keeps_the_version(own):
    before = snapshot(own)
    first = next(iter(_targets(own)))
    assert plans.apply_edits(own, PID, []) == 1
    text = _targets(own)[first][1]["text"]
    assert plans.apply_edits(own, PID, [plans.UpdateTarget(first, {"text": text})]) == 1
    assert snapshot(own) == before


def test_a_clerk_is_refused_and_nothing_changes(own, entry_session):
    first = next(iter(_targets(own)))
    before = snapshot(own)
    for edits in ([plans.UpdateTarget(first, {"text": "x"})], [plans.RemoveTarget(first)],
                  [plans.UpdatePlanInfo({"title": "x"})]):
        with pytest.raises(PermissionDenied):
            plans.apply_edits(entry_session, PID, edits)
    assert snapshot(own) == before


def test_one_bad_edit_refuses_the_whole_batch(own):
    codes = list(_targets(own))
    before = snapshot(own)
    with pytest.raises(plans.PlanEditError) as info:
        plans.apply_edits(own, PID, [
            plans.UpdatePlanInfo({"title": "Tên mới"}),
            plans.RemoveTarget(codes[-1]),
            plans.UpdateTarget(codes[0], {"text": "Sửa hợp lệ"}),
            plans.UpdateTarget(codes[1], {"code": codes[2]}),             # duplicate code
            plans.UpdateTarget(codes[3], {"deadline": {"type": "month", "year": 2025, "month": 13}}),
        ])
    err = info.value
    text = err.user_text()
    assert "Chưa lưu kế hoạch “Kế hoạch chuyển đổi số năm 2025" in text and "có 2 lỗi" in text
    assert f"Mục tiêu {codes[2]}, Mã: Mã mục tiêu '{codes[2]}' bị trùng" in text
    assert f"Mục tiêu {codes[3]}, Thời gian hoàn thành:" in text
    assert "groups[" not in text and PID not in text  # no JSON path, no plan id
    assert "vẫn còn nguyên" in err.hint
    assert isinstance(err, plans.PlanFormatError)
    assert snapshot(own) == before


@pytest.mark.parametrize("edits, error, words", [
    (lambda c: [plans.UpdateTarget(c[0], {"text": "x"}), plans.UpdateTarget("KHONG-CO", {"text": "y"})],
     NotFound, "không có mục tiêu KHONG-CO"),
    (lambda c: [plans.RemoveTarget(c[0]), plans.UpdateTarget(c[0], {"text": "y"})], NotFound, "đã bị xóa"),
    (lambda c: [plans.AddTarget("NHOM-MOI", {"code": "KV1-01", "text": "x"})], NotFound, "không có nhóm NHOM-MOI"),
    (lambda c: [plans.RemoveTarget(x) for x in c], ValidationError, "ít nhất một mục tiêu"),
    (lambda c: [plans.UpdateTarget(c[0], {"khong_co": 1})], ValidationError, "Không có trường 'khong_co'"),
    (lambda c: [plans.UpdatePlanInfo({"id": "khac"})], ValidationError, "Không sửa được trường 'id'"),
])
def test_refusals_name_the_problem_and_change_nothing(own, edits, error, words):
    codes = list(_targets(own))
    before = snapshot(own)
    with pytest.raises(error) as info:
        plans.apply_edits(own, PID, edits(codes))
    assert words in info.value.user_text() and PID not in info.value.user_text()
    assert snapshot(own) == before


def test_a_new_group_and_read_only_plans(own):
    v = plans.apply_edits(own, PID, [plans.AddTarget("KV1", {"code": "KV1-01", "text": "Việc riêng"},
                                                     group_title="Nhiệm vụ riêng của đơn vị")])
    assert v == 2 and plans.list_groups(own, PID)[-1].title == "Nhiệm vụ riêng của đơn vị"
    before = snapshot(own)
    with pytest.raises(plans.PlanReadOnly):
        plans.apply_edits(own, "thanhhoa-cds-2025", [plans.RemoveTarget("TH-2.1-01")])
    assert snapshot(own) == before
