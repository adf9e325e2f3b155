"""The report workflow as one state machine (desktop/models/domain/workflow.py)."""

from __future__ import annotations

import pytest

from desktop.models.domain import workflow
from desktop.models.domain.errors import ValidationError
from desktop.models.domain.workflow import ReportState, Tone


def test_every_state_has_a_vietnamese_label_and_a_tone():
    for st in ReportState:
        assert st.label and st.label != st.value
        assert isinstance(st.tone, Tone)
    assert ReportState.ACCEPTED.label == "Đã chấp nhận"
    assert ReportState.RETURNED.label == "Bị trả lại"
    assert ReportState.RETURNED.superior_label == "Đã trả lại"
    assert workflow.label(None, at_superior=True) == "Chưa gửi"
    assert workflow.label("trang_thai_la") == "trang_thai_la"  # unknown: shown, never hidden


def test_states_compare_and_hash_like_the_stored_text():
    assert "nhap" in workflow.EDITABLE and "da_duyet" not in workflow.EDITABLE
    assert {ReportState.SENT: 1}.get("da_gui") == 1
    assert workflow.is_editable("bi_tra_lai") and not workflow.is_editable(None)


@pytest.mark.parametrize("source,target", [
    ("nhap", "cho_duyet"), ("bi_tra_lai", "cho_duyet"), ("cho_duyet", "da_duyet"), ("cho_duyet", "nhap"),
    ("da_duyet", "da_gui"), ("da_gui", "da_nhan"), ("da_gui", "bi_tra_lai"), ("da_nhan", "da_chap_nhan"),
    (None, "nhap"), (None, "da_nhan"),
])
def test_allowed_moves(source, target):
    assert workflow.allowed(source, target)
    assert workflow.check(source, target).name


@pytest.mark.parametrize("source,target", [
    ("nhap", "da_duyet"), ("da_chap_nhan", "da_nhan"), ("da_chap_nhan", "bi_tra_lai"), ("da_duyet", "nhap"),
    (None, "da_duyet"), ("nhap", "khong_co"),
])
def test_refused_moves_say_why_in_vietnamese(source, target):
    assert not workflow.allowed(source, target)
    with pytest.raises(ValidationError) as err:
        workflow.check(source, target)
    assert "Không thể chuyển báo cáo" in err.value.user_text()


def test_next_states_follow_the_table():
    assert set(workflow.next_states("cho_duyet")) == {ReportState.APPROVED, ReportState.DRAFT}
    assert workflow.next_states("da_chap_nhan") == []


def test_frozen_means_the_approved_snapshot_is_what_counts():
    assert [s for s in ReportState if s.frozen] == [ReportState.APPROVED, ReportState.SENT, ReportState.RECEIVED,
                                                    ReportState.ACCEPTED]
