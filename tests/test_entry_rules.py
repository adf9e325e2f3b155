"""The rules of entering progress (desktop.models.domain.plan.entry_rules), without Qt or a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from desktop.models.domain.entry_rules import (COMMENT_STATES, default_period, period_in_work, return_comment,
                                               ENTRY_FIELDS, EarlierDone, FieldProblem, earlier_count,
                                               earlier_done, empty_values, field_batches, fold, is_entered,
                                               matches_search, not_entered, redated_warning, report_date,
                                               same_value, saveable, status_of, validate_entry, values_of)
from desktop.models.services.progress import EntryView
from desktop.models.domain.plan import Deadline, Measure, ReportingPeriod, Target
from desktop.models.domain.status import Progress

RATIO = Target(code="TH-1.1", kind="chi_tieu", text="Tỷ lệ hồ sơ số hóa", group_code="I",
               deadline=Deadline(type="date", date=date(2025, 12, 31)),
               measure=Measure(type="ratio", target_percent=100))
COUNT = Target(code="TH-1.2", kind="chi_tieu", text="Tổ chức họp giao ban trực tuyến", group_code="I",
               deadline=Deadline(type="date", date=date(2025, 12, 31)),
               measure=Measure(type="count", minimum=1, per="month", unit_label="cuộc"))
MILESTONE = Target(code="NV-2.1", kind="nhiem_vu", text="Ban hành quy chế chuyển đổi số", group_code="II",
                   deadline=Deadline(type="date", date=date(2025, 6, 30)), measure=Measure(type="milestone"))
Q1, Q2, Q3 = (ReportingPeriod("quarter", 2025, q) for q in (1, 2, 3))
M4 = ReportingPeriod("month", 2025, 4)
TODAY = date(2025, 7, 20)


def Entry(**values) -> EntryView:
    return EntryView(target_code="x", **values)


@dataclass
class Report:
    period: ReportingPeriod
    entries: dict = field(default_factory=dict)


def test_validation_reasons_are_vietnamese_and_specific():
    p = validate_entry(RATIO, 2025, {"numerator": 12, "denominator": 0}, Q2, TODAY)
    assert [(x.field, x.message) for x in p] == [
        ("denominator", "Mẫu số phải lớn hơn 0: có 12 việc đã đạt thì tổng số việc phải có ít nhất 12.")]
    p = validate_entry(RATIO, 2025, {"numerator": 5, "denominator": 4}, Q2, TODAY)
    assert p[0].field == "numerator" and "không được lớn hơn mẫu số (4)" in p[0].message
    assert validate_entry(RATIO, 2025, {"numerator": 0, "denominator": 0}, Q2, TODAY) == []
    p = validate_entry(COUNT, 2025, {"count": 99_999}, M4, TODAY)
    assert p[0].field == "count" and "99.999 cuộc trong một kỳ 1 tháng" in p[0].message and "tối đa 1.000" in p[0].message
    assert validate_entry(COUNT, 2025, {"count": 2_999}, Q2, TODAY) == []    # a quarter allows 3.000
    assert validate_entry(COUNT, 2025, {"count": -1}, Q2, TODAY)[0].message == "Không được nhập số âm."
    p = validate_entry(MILESTONE, 2025, {"done": True, "done_date": date(2024, 12, 31)}, Q2, TODAY)
    assert p[0].message == "Ngày hoàn thành phải trong năm 2025 của kế hoạch."
    p = validate_entry(MILESTONE, 2025, {"done": True, "done_date": date(2025, 7, 21)}, Q3, TODAY)
    assert p[0].message == "Ngày hoàn thành không được sau hôm nay."
    assert validate_entry(MILESTONE, 2025, {"done": True, "done_date": TODAY}, Q3, TODAY) == []


def test_the_service_validates_with_the_same_rule():
    from desktop.models.services import progress

    assert progress.validate_entry is validate_entry and progress.FieldProblem is FieldProblem
    assert progress.ENTRY_FIELDS == ENTRY_FIELDS


def test_what_counts_as_entered():
    empty = empty_values()
    assert not is_entered(RATIO, empty) and not is_entered(COUNT, empty) and not is_entered(MILESTONE, empty)
    assert is_entered(RATIO, {**empty, "denominator": 0})          # 0/0 is a figure: nothing to do this period
    assert is_entered(COUNT, {**empty, "count": 0})                 # "no meeting" is an answer
    assert is_entered(MILESTONE, {**empty, "done": True})
    assert is_entered(MILESTONE, {**empty, "result_text": "Đang dự thảo"})
    assert not is_entered(MILESTONE, {**empty, "result_text": "   ", "difficulties": "Thiếu kinh phí"})
    assert not is_entered(COUNT, {**empty, "numerator": 3})         # not this measure's figure
    values = {"TH-1.1": {"numerator": 1, "denominator": 2}}
    assert not_entered([RATIO, COUNT, MILESTONE], values) == ["TH-1.2", "NV-2.1"]


def test_values_and_sameness():
    assert values_of(None) == empty_values()
    assert values_of(Entry(count=3))["count"] == 3
    assert same_value("result_text", "  Đa\u0303 xong ", "Đã xong")      # NFD typed, NFC stored, stripped
    assert same_value("done", None, False) and not same_value("done", True, None)
    assert not same_value("count", 0, None)


def test_saveable_keeps_only_the_invalid_part_pending():
    saved = empty_values()
    pending = {"numerator": 5, "denominator": 4, "result_text": "Đã số hóa"}
    assert saveable(RATIO, 2025, Q2, saved, pending, TODAY) == {"result_text": "Đã số hóa"}
    assert saveable(RATIO, 2025, Q2, saved, {"numerator": 3, "denominator": 4}, TODAY) == \
        {"numerator": 3, "denominator": 4}
    assert saveable(RATIO, 2025, Q2, saved, {"numerator": 5, "denominator": 4}, TODAY) == {}


def test_field_batches_order_each_save_valid():
    saved = {**empty_values(), "numerator": 3, "denominator": 4}
    batches = field_batches(RATIO, 2025, Q2, saved, {"numerator": 8, "denominator": 10}, TODAY)
    assert batches == [{"denominator": 10}, {"numerator": 8}]
    state = dict(saved)
    for b in batches:
        state.update(b)
        assert validate_entry(RATIO, 2025, state, Q2, TODAY) == []
    # both sides moving past each other: only valid together
    saved = {**empty_values(), "numerator": 0, "denominator": 0}
    assert field_batches(RATIO, 2025, Q2, saved, {"numerator": 2}, TODAY) == [{"numerator": 2}]


def test_earlier_reports_of_the_year():
    m = [ReportingPeriod("month", 2025, i) for i in (1, 2, 3, 5)]
    others = [Report(m[0], {"TH-1.2": Entry(count=2)}), Report(m[1], {"TH-1.2": Entry(count=1)}),
              Report(Q1, {"TH-1.2": Entry(count=9)}),          # another period type: not added
              Report(m[3], {"TH-1.2": Entry(count=4)})]        # after April: not earlier
    assert earlier_count("TH-1.2", M4, others) == 3
    assert earlier_count("TH-1.1", M4, others) == 0
    done = [Report(Q1, {"NV-2.1": Entry(done=True, done_date=date(2025, 3, 14))}),
            Report(ReportingPeriod("month", 2025, 2), {"NV-2.1": Entry(done=False)})]
    first = earlier_done("NV-2.1", Q2, done)
    assert first == EarlierDone(Q1, date(2025, 3, 14))
    assert earlier_done("NV-2.1", Q1, done) is None


def test_completed_milestone_re_dated_is_warned():
    earlier = EarlierDone(Q1, date(2025, 3, 14))
    assert redated_warning(earlier, {"done": True, "done_date": date(2025, 3, 14)}) == ""
    assert redated_warning(earlier, {"done": False, "done_date": None}) == ""
    assert redated_warning(None, {"done": True, "done_date": date(2025, 4, 2)}) == ""
    w = redated_warning(earlier, {"done": True, "done_date": date(2025, 4, 2)})
    assert w == ("Ngày đang nhập (02/04/2025) khác ngày đã báo hoàn thành (14/03/2025, báo cáo " + Q1.label
                 + "); nếu ngày trước là sai, hãy ghi rõ lý do ở ô “Khó khăn, vướng mắc”.")


def test_live_status_uses_typed_values_and_earlier_reports():
    assert report_date(TODAY, Q2) == date(2025, 6, 30) and report_date(date(2025, 5, 2), Q2) == date(2025, 5, 2)
    others = [Report(Q1, {"NV-2.1": Entry(done=True, done_date=date(2025, 3, 14))})]
    r = status_of(MILESTONE, 2025, Q2, empty_values(), others, date(2025, 6, 30))
    assert r.status is Progress.HOAN_THANH                      # done in Q1 counts in Q2
    r = status_of(RATIO, 2025, Q2, {**empty_values(), "numerator": 10, "denominator": 10}, [], date(2025, 6, 30))
    assert r.status is Progress.HOAN_THANH and r.percent == 1.0
    r = status_of(MILESTONE, 2025, Q3, empty_values(), [], date(2025, 7, 20))
    assert r.status is Progress.QUA_HAN


def test_search_ignores_case_and_diacritics():
    assert fold("Đạt CHỈ ĐẠO") == "dat chi dao"
    assert matches_search("chi dao", "NV-1", "Công tác chỉ đạo")
    assert matches_search("họp giao", "TH-1.2", COUNT.text)
    assert matches_search("th-1.2", "TH-1.2", COUNT.text)
    assert matches_search("", "x")
    assert not matches_search("hop quy che", "TH-1.2", COUNT.text)


def test_which_period_a_unit_works_on():
    assert default_period(2025, "month", date(2025, 5, 15)) == ReportingPeriod("month", 2025, 5)
    assert default_period(2025, "quarter", date(2026, 2, 1)) == ReportingPeriod("quarter", 2025, 4)   # plan year over
    assert default_period(2025, "month", date(2024, 12, 1)) == ReportingPeriod("month", 2025, 1)      # not begun

    @dataclass
    class Summary:
        status: str
        period_key: str
        updated_at: datetime

    approved = [Summary("da_duyet", "2025-03", datetime(2025, 4, 2)), Summary("da_gui", "2025-04", datetime(2025, 5, 3))]
    assert period_in_work(2025, approved, date(2025, 5, 15)) == ReportingPeriod("month", 2025, 5)   # the next one
    assert period_in_work(2025, approved, date(2025, 4, 30)) == ReportingPeriod("month", 2025, 4)   # May not begun
    returned = approved + [Summary("bi_tra_lai", "2025-02", datetime(2025, 5, 10))]
    assert period_in_work(2025, returned, date(2025, 5, 15)) == ReportingPeriod("month", 2025, 2)   # to correct


def test_return_comments_apply_while_correcting():
    @dataclass
    class R:
        status: str
        return_comments: dict

    comments = {"general": "Bo\u0302\u0309 sung minh chứng", "targets": {"TH-1.1": "Kiểm tra mẫu số"}}
    for state in COMMENT_STATES:
        r = R(state.value, comments)
        assert return_comment(r) == "Bổ sung minh chứng" and return_comment(r, "TH-1.1") == "Kiểm tra mẫu số"
        assert return_comment(r, "TH-9") == ""
    assert return_comment(R("da_duyet", comments), "TH-1.1") == "" and return_comment(R("da_gui", comments)) == ""
    assert return_comment(R("nhap", {}), "TH-1.1") == ""
