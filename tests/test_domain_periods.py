"""Reporting periods, deadlines and measures of the plan domain (no database, no Qt)."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.models.domain.plan import (Deadline, DeadlineParseError, Measure, ReportingPeriod, infer_measure,
                                   parse_deadline, parse_measure, plan_from_document)
from plan_fixtures import load_doc


# ------------------------------------------------------------------ reporting periods
@pytest.mark.parametrize("key, start, end, label", [
    ("2025-03", date(2025, 3, 1), date(2025, 3, 31), "Tháng 03/2025"),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "Tháng 02/2024"),
    ("2025-Q1", date(2025, 1, 1), date(2025, 3, 31), "Quý I/2025"),
    ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31), "Quý IV/2025"),
    ("2025-H1", date(2025, 1, 1), date(2025, 6, 30), "6 tháng đầu năm 2025"),
    ("2025-H2", date(2025, 7, 1), date(2025, 12, 31), "6 tháng cuối năm 2025"),
    ("2025", date(2025, 1, 1), date(2025, 12, 31), "Năm 2025"),
])
def test_period_key_bounds_and_label(key, start, end, label):
    p = ReportingPeriod.parse(key)
    assert (p.start, p.end, p.label, p.key) == (start, end, label, key)
    assert ReportingPeriod.parse(p.key) == p
    assert p.contains(start) and p.contains(end) and not p.contains(date(end.year + 1, 1, 1))


def test_periods_of_year_tile_the_year():
    for kind, n in (("month", 12), ("quarter", 4), ("half_year", 2), ("year", 1)):
        periods = ReportingPeriod.periods_of_year(kind, 2025)
        assert len(periods) == n
        assert periods[0].start == date(2025, 1, 1) and periods[-1].end == date(2025, 12, 31)
        for a, b in zip(periods, periods[1:]):
            assert (b.start - a.end).days == 1
            assert a.next() == b and b.previous() == a
    assert [p.key for p in ReportingPeriod.periods_of_year("quarter", 2025)] == \
        ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert ReportingPeriod("month", 2024, 12).next().key == "2025-01"
    assert ReportingPeriod("quarter", 2025, 1).previous().key == "2024-Q4"


def test_submission_deadline_counts_days_after_the_period_end():
    assert ReportingPeriod.parse("2025-03").submission_deadline(5) == date(2025, 4, 5)
    assert ReportingPeriod.parse("2025-Q4").submission_deadline(10) == date(2026, 1, 10)
    assert ReportingPeriod.parse("2024-H1").submission_deadline(15) == date(2024, 7, 15)
    assert ReportingPeriod.parse("2024").submission_deadline(20) == date(2025, 1, 20)


def test_containing_and_bad_keys():
    assert ReportingPeriod.containing("quarter", date(2025, 5, 15)).key == "2025-Q2"
    assert ReportingPeriod.containing("half_year", date(2025, 7, 1)).key == "2025-H2"
    for bad in ("2025-13", "2025-Q5", "2025-H3", "25-01", "", "2025-M3"):
        with pytest.raises(ValueError):
            ReportingPeriod.parse(bad)
    with pytest.raises(ValueError):
        ReportingPeriod("week", 2025, 1)


def test_plan_submission_deadline_uses_the_owner_setting():
    plan = plan_from_document(load_doc("thanhhoa-cds-2025"))
    days = plan.submission_days("quarter")
    assert days is not None
    q1 = ReportingPeriod("quarter", 2025, 1)
    assert plan.submission_deadline(q1) == q1.submission_deadline(days)
    assert len(plan.reporting_periods("month")) == 12


# ------------------------------------------------------------------ deadlines
@pytest.mark.parametrize("text, kind, end", [
    ("3/2024", "month", date(2024, 3, 31)),
    ("Tháng 12/2025", "month", date(2025, 12, 31)),
    ("tháng 2 năm 2024", "month", date(2024, 2, 29)),
    ("Tháng 11", "month", date(2025, 11, 30)),
    ("31/8/2023", "date", date(2023, 8, 31)),
    ("Hoàn thành trước ngày 31/8/2023", "date", date(2023, 8, 31)),
    ("trước 10/03/2025", "date", date(2025, 3, 10)),
    ("từ ngày 01/9/2023 đến ngày 30/11/2023", "period", date(2023, 11, 30)),
    ("Quý II/2025", "period", date(2025, 6, 30)),
    ("6 tháng đầu năm 2025", "period", date(2025, 6, 30)),
    ("Hàng tháng", "recurring", date(2025, 12, 31)),
    ("định kỳ hàng quý", "recurring", date(2025, 12, 31)),
    ("Năm 2025", "year", date(2025, 12, 31)),
    ("", "none", None),
])
def test_parse_deadline_forms_and_end_date(text, kind, end):
    d = parse_deadline(text, 2025)
    assert d.type == kind
    assert d.end_date(2025) == end
    assert Deadline.from_json(d.to_json()) == d


def test_spreadsheet_date_cells():
    assert parse_deadline(date(2023, 8, 31)).to_json() == {"type": "date", "date": "2023-08-31", "text": "31/08/2023"}
    month = parse_deadline(date(2024, 3, 1), date_only_month=True)
    assert (month.type, month.year, month.month) == ("month", 2024, 3)


@pytest.mark.parametrize("text, fragment", [
    ("13/2024", "Tháng 13"),
    ("31/2/2024", "không tồn tại"),
    ("sớm nhất có thể", "Không hiểu thời hạn"),
    ("từ ngày 30/11/2023 đến ngày 01/9/2023", "kết thúc trước"),
])
def test_bad_deadlines_explain_themselves_in_vietnamese(text, fragment):
    with pytest.raises(DeadlineParseError) as info:
        parse_deadline(text, 2024)
    assert fragment in str(info.value)


def test_deadline_labels_and_recurring_periods():
    assert Deadline("month", year=2024, month=3).label() == "Tháng 03/2024"
    assert Deadline("date", date=date(2023, 8, 31)).label() == "31/08/2023"
    assert Deadline("recurring", every="month").label() == "Hàng tháng"
    assert Deadline("year").label(2025) == "Năm 2025"
    assert Deadline("none").end_date(2025) is None
    assert len(Deadline("recurring", every="month").due_periods(2024)) == 12
    assert Deadline("year").due_periods(2024) == []


# ------------------------------------------------------------------ measures
def test_measures_have_direction_and_threshold():
    ratio = Measure("ratio", target_percent=100)
    assert (ratio.direction, ratio.threshold) == ("at_least", 100)
    assert ratio.ratio_met(50, 50) is True and ratio.ratio_met(49, 50) is False
    assert ratio.ratio_met(0, 0) is None  # nothing to measure yet
    twenty = Measure("ratio", target_percent=20)
    assert twenty.meets(20.0) and not twenty.meets(19.9)
    exact = Measure("ratio", target_percent=100, comparison="=")
    assert exact.direction == "exactly"

    meetings = Measure("count", minimum=4, per="year", cumulative=True)
    assert (meetings.direction, meetings.threshold) == ("at_least", 4)
    assert meetings.meets(4) and not meetings.meets(3)
    assert meetings.minimum_for(ReportingPeriod("year", 2025)) == 4
    assert meetings.minimum_for(ReportingPeriod("quarter", 2025, 1)) is None  # judged on the whole year
    assert meetings.expected_by(date(2025, 6, 30)) == 2
    assert meetings.expected_by(date(2025, 12, 31)) == 4
    per_quarter = Measure("count", minimum=4, per="year", cumulative=False)
    assert per_quarter.minimum_for(ReportingPeriod("quarter", 2025, 2)) == 1

    assert Measure("milestone").direction == "done"
    monthly = Measure("recurring", every="month")
    assert monthly.direction == "every_period" and len(monthly.due_periods(2025)) == 12
    assert Measure("qualitative").threshold is None and Measure("qualitative").meets(1) is None


@pytest.mark.parametrize("measure", [
    Measure("ratio", target_percent=100), Measure("ratio", target_percent=20.5, comparison="="),
    Measure("count", minimum=4, per="year", cumulative=True),
    Measure("count", minimum=2, per="plan", cumulative=True, unit_label="mô hình phòng họp thông minh"),
    Measure("milestone"), Measure("recurring", every="month"), Measure("recurring", every="quarter"),
    Measure("qualitative"),
])
def test_measure_label_parses_back(measure):
    assert parse_measure(measure.label) == measure
    assert Measure.from_json(measure.to_json()) == measure


def test_infer_measure_from_wording():
    year = Deadline("year")
    assert infer_measure("100% văn bản được ký số", year) == Measure("ratio", target_percent=100)
    assert infer_measure("hoàn thành số hóa ít nhất 30% tài liệu lưu trữ", year).target_percent == 30
    count = infer_measure("Định kỳ hoặc đột xuất tổ chức cuộc họp (tối thiểu 04 lần/01 năm).", year)
    assert (count.type, count.minimum, count.per) == ("count", 4, "year")
    assert infer_measure("Báo cáo", Deadline("recurring", every="month")) == Measure("recurring", every="month")
    assert infer_measure("Ban hành quy chế", Deadline("month", year=2024, month=3)).type == "milestone"
    assert infer_measure("Khuyến khích sáng tạo", Deadline("none")).type == "qualitative"
    with pytest.raises(ValueError):
        parse_measure("khoảng chừng")
