"""Status rules (desktop.models.domain.status): a table of cases per measure type, the edge cases, and
property tests. The rules are documented in docs/status-rules.md."""

from __future__ import annotations

import functools
import subprocess
import sys
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.models.domain.plan import Deadline, Measure, Recurrence, ReportingPeriod, Target, plan_from_document
from desktop.models.domain.status import (EVALUATED, RANK, EntryValue, Progress, StatusResult, completion_rate, evaluate,
                                   summarise)
from plan_fixtures import load_doc

HT, DTD, CTD, QH, CTH = (Progress.HOAN_THANH, Progress.DUNG_TIEN_DO, Progress.CHAM_TIEN_DO, Progress.QUA_HAN,
                         Progress.CHUA_THUC_HIEN)
PLAN_IDS = ("vkstc-cds-2024", "thanhhoa-cds-2025", "cuc2-thidiem-2023", "quangbinh-hd136-2024", "dangu-08-2025")


# ------------------------------------------------------------------ helpers
@functools.lru_cache(maxsize=None)
def plan(plan_id: str):
    return plan_from_document(load_doc(plan_id))


def real(plan_id: str, code: str):
    """A real target, resolved lazily (skips when the plan file is not there)."""
    return ("real", plan_id, code)


def synth(measure: Measure, deadline: Deadline, code: str = "X"):
    return Target(code=code, kind="chi_tieu", text="Chỉ tiêu thử", deadline=deadline, measure=measure)


def resolve(spec):
    if isinstance(spec, tuple) and spec[0] == "real":
        t = plan(spec[1]).target(spec[2])
        assert t is not None, f"{spec[2]} missing from {spec[1]}"
        return t
    return spec


def M(y, m):
    return ReportingPeriod("month", y, m)


def Q(y, q):
    return ReportingPeriod("quarter", y, q)


def H(y, h):
    return ReportingPeriod("half_year", y, h)


def Y(y):
    return ReportingPeriod("year", y, 1)


def ratio(p, n, d):
    return EntryValue(p, numerator=n, denominator=d)


def cnt(p, c):
    return EntryValue(p, count=c)


def did(p, done=True, when=None, text=""):
    return EntryValue(p, done=done, done_date=when, text=text)


def note(p, text="Đang triển khai"):
    return EntryValue(p, text=text)


SUB = {"month": 5, "quarter": 10, "half_year": 15, "year": 20}   # the built-in plans' submission days

# synthetic targets
EXACT_100 = synth(Measure("ratio", target_percent=100, comparison="="), Deadline("month", year=2025, month=6))
EXACT_30 = synth(Measure("ratio", target_percent=30, comparison="="), Deadline("year"))
AT_LEAST_20_5 = synth(Measure("ratio", target_percent=20.5), Deadline("year"))
MONTHLY_1 = synth(Measure("count", minimum=1, per="month", cumulative=False), Deadline("year"))
YEAR_4_PER_PERIOD = synth(Measure("count", minimum=4, per="year", cumulative=False), Deadline("year"))
QUARTER_2_CUM = synth(Measure("count", minimum=2, per="quarter", cumulative=True), Deadline("year"))
MILESTONE_MAR = synth(Measure("milestone"), Deadline("month", year=2025, month=3))
MILESTONE_FEB_LEAP = synth(Measure("milestone"), Deadline("month", year=2024, month=2))
MILESTONE_NONE = synth(Measure("milestone"), Deadline("none"))
QUAL_YEAR = synth(Measure("qualitative"), Deadline("year"))
HALF_YEARLY = synth(Measure("recurring", every="half_year"), Deadline("recurring", every="half_year"))
QUARTERLY = synth(Measure("recurring", every="quarter"), Deadline("recurring", every="quarter"))
RATIO_EACH_QUARTER = Target(code="X", kind="chi_tieu", text="Tỷ lệ mỗi quý", deadline=Deadline("year"),
                            measure=Measure("ratio", target_percent=90), recurrence=Recurrence("quarter"))
COUNT_EACH_MONTH = Target(code="X", kind="chi_tieu", text="Tối thiểu 2 lần mỗi tháng", deadline=Deadline("year"),
                          measure=Measure("count", minimum=2, per="month"), recurrence=Recurrence("month"))

MT03 = real("vkstc-cds-2024", "MT03")              # ratio ≥ 100%, due 6/2024
MT20 = real("vkstc-cds-2024", "MT20")              # monthly report
MT01 = real("vkstc-cds-2024", "MT01")              # milestone, 3/2024
NV_V_01 = real("vkstc-cds-2024", "NV-V-01")        # milestone dated 31/12/2023 in the 2024 plan
TH_MEET = real("thanhhoa-cds-2025", "TH-III.1-02")  # at least 4 meetings a year, cumulative
TH_RATIO = real("thanhhoa-cds-2025", "TH-2.1-02")  # ratio ≥ 100%, year 2025
TH_QUAL_NONE = real("thanhhoa-cds-2025", "TH-III.1-01")
TD_ROOMS = real("cuc2-thidiem-2023", "TD-1-05")    # 2 smart meeting rooms, 01/09–30/11/2023, whole plan
TD_RATIO = real("cuc2-thidiem-2023", "TD-1-01")    # ratio 100%, 01/09–30/11/2023
TD_TEAM = real("cuc2-thidiem-2023", "TD-NV-02")    # milestone dated 31/08/2023
TD_QUARTERLY = real("cuc2-thidiem-2023", "TD-NV-03")  # every quarter within the pilot 01/09–30/11/2023
TD_TRAINING = real("cuc2-thidiem-2023", "TD-2-02")  # ratio 100% "định kỳ mỗi quý/1 lần" in the pilot
QB_QUAL = real("quangbinh-hd136-2024", "QB-1-01")  # qualitative, no deadline
QB_MONTHLY = real("quangbinh-hd136-2024", "QB-3.1-B")

ALL_MONTHS_2024 = [did(M(2024, m)) for m in range(1, 13)]

# id, target, plan year, entries, as_of, period, submission days, expected status, reason fragment
CASES = [
    # ---------------------------------------------------------------- ratio
    ("ratio-no-data-before-deadline", MT03, 2024, [], date(2024, 3, 15), None, None, CTH, "Chưa có số liệu"),
    ("ratio-no-data-after-deadline", MT03, 2024, [], date(2024, 7, 1), None, None, QH, "quá hạn 30/06/2024"),
    ("ratio-no-denominator-yet", MT03, 2024, [ratio(Q(2024, 1), 12, None)], date(2024, 4, 10), None, None,
     CTH, "Chưa có số liệu"),
    ("ratio-denominator-zero", MT03, 2024, [ratio(Q(2024, 1), 0, 0)], date(2024, 4, 10), None, None,
     CTH, "mẫu số bằng 0"),
    ("ratio-denominator-zero-after-deadline", MT03, 2024, [ratio(Q(2024, 2), 0, 0)], date(2024, 7, 5), None, None,
     QH, "mẫu số bằng 0"),
    ("ratio-on-track-linear", MT03, 2024, [ratio(Q(2024, 1), 29, 30)], date(2024, 4, 5), None, None,
     DTD, "Đạt 96,7%, chỉ tiêu 100%"),
    ("ratio-behind-linear", MT03, 2024, [ratio(Q(2024, 1), 10, 30)], date(2024, 4, 5), None, None,
     CTD, "Đạt 33,3%"),
    ("ratio-last-day-of-deadline-month", MT03, 2024, [ratio(Q(2024, 2), 29, 30)], date(2024, 6, 30), None, None,
     CTD, "Đạt 96,7%"),
    ("ratio-day-after-deadline", MT03, 2024, [ratio(Q(2024, 2), 29, 30)], date(2024, 7, 1), None, None,
     QH, "quá hạn 30/06/2024"),
    ("ratio-100-of-100-percent", MT03, 2024, [ratio(Q(2024, 2), 30, 30)], date(2024, 6, 30), None, None,
     HT, "Đạt 100%"),
    ("ratio-99.9-is-not-100", MT03, 2024, [ratio(Q(2024, 2), 999, 1000)], date(2024, 6, 30), None, None,
     CTD, "Đạt 99,9%"),
    ("ratio-99.96-never-prints-100", MT03, 2024, [ratio(Q(2024, 2), 9996, 10000)], date(2024, 7, 2), None, None,
     QH, "Đạt 99,9%"),
    ("ratio-met-late", MT03, 2024, [ratio(Q(2024, 2), 29, 30), ratio(Q(2024, 3), 30, 30)], date(2024, 10, 5),
     None, None, HT, "hoàn thành muộn"),
    ("ratio-numerator-above-denominator-not-validated", MT03, 2024, [ratio(Q(2024, 1), 31, 30)],
     date(2024, 4, 5), None, None, HT, "Đạt 103,3%"),
    ("ratio-latest-figures-govern", MT03, 2024, [ratio(Q(2024, 1), 30, 30), ratio(Q(2024, 2), 25, 30)],
     date(2024, 7, 5), None, None, QH, "Đạt 83,3%"),
    ("ratio-latest-with-denominator", MT03, 2024, [ratio(Q(2024, 1), 25, 30), ratio(M(2024, 4), 3, None)],
     date(2024, 5, 1), None, None, DTD, "Đạt 83,3%"),
    ("ratio-period-ignores-later-entries", MT03, 2024, [ratio(Q(2024, 1), 10, 30), ratio(Q(2024, 2), 30, 30)],
     date(2024, 4, 5), Q(2024, 1), None, CTD, "Đạt 33,3%"),
    ("ratio-future-entry-ignored", MT03, 2024, [ratio(Q(2024, 3), 30, 30)], date(2024, 6, 1), None, None,
     CTH, "Chưa có số liệu"),
    ("ratio-exact-100-met", EXACT_100, 2025, [ratio(H(2025, 1), 50, 50)], date(2025, 7, 10), None, None,
     HT, "chỉ tiêu = 100%"),
    ("ratio-exact-30-met", EXACT_30, 2025, [ratio(Q(2025, 2), 30, 100)], date(2025, 7, 10), None, None,
     HT, "Đạt 30,0%"),
    ("ratio-exact-30-over-is-not-met", EXACT_30, 2025, [ratio(Q(2025, 2), 40, 100)], date(2025, 7, 10), None,
     None, CTD, "vượt chỉ tiêu = 30%"),
    ("ratio-exact-30-over-after-year", EXACT_30, 2025, [ratio(Y(2025), 40, 100)], date(2026, 1, 15), None,
     None, QH, "quá hạn 31/12/2025"),
    ("ratio-at-least-equal-threshold-float", AT_LEAST_20_5, 2025, [ratio(Q(2025, 1), 41, 200)],
     date(2025, 4, 2), None, None, HT, "Đạt 20,5%"),
    ("ratio-year-deadline-on-track", TH_RATIO, 2025, [ratio(H(2025, 1), 120, 200)], date(2025, 7, 10),
     H(2025, 1), None, DTD, "Đạt 60,0%"),
    ("ratio-period-deadline-starts-in-september", TD_RATIO, 2023, [ratio(M(2023, 9), 25, 100)],
     date(2023, 9, 20), None, None, DTD, "Đạt 25,0%"),
    ("ratio-period-deadline-last-day", TD_RATIO, 2023, [ratio(M(2023, 11), 95, 100)], date(2023, 11, 30), None,
     None, CTD, "Đạt 95,0%"),
    ("ratio-period-deadline-next-day", TD_RATIO, 2023, [ratio(M(2023, 11), 95, 100)], date(2023, 12, 1), None,
     None, QH, "quá hạn 30/11/2023"),
    # ---------------------------------------------------------------- count (Thanh Hóa: ≥ 4 meetings/year)
    ("count-nothing-yet-january", TH_MEET, 2025, [], date(2025, 1, 15), None, None, CTH, "0/4 lần"),
    ("count-one-per-quarter-on-track-q1", TH_MEET, 2025, [cnt(Q(2025, 1), 1)], date(2025, 4, 5), Q(2025, 1),
     None, DTD, "Đã thực hiện 1/4 lần, còn 9 tháng"),
    ("count-zero-at-end-of-q1-behind", TH_MEET, 2025, [cnt(Q(2025, 1), 0)], date(2025, 3, 31), None, None,
     CTD, "Mới 0/4 lần (cần 1)"),
    ("count-one-per-quarter-on-track-q3", TH_MEET, 2025, [cnt(Q(2025, q), 1) for q in (1, 2, 3)],
     date(2025, 10, 5), Q(2025, 3), None, DTD, "3/4 lần, còn 3 tháng"),
    ("count-two-by-q3-behind", TH_MEET, 2025, [cnt(Q(2025, 1), 1), cnt(Q(2025, 2), 1)], date(2025, 9, 30),
     None, None, CTD, "Mới 2/4 lần (cần 3), còn 3 tháng"),
    ("count-zero-by-q3-late", TH_MEET, 2025, [cnt(Q(2025, q), 0) for q in (1, 2, 3)], date(2025, 10, 5),
     Q(2025, 3), None, CTD, "Mới 0/4 lần (cần 3)"),
    ("count-four-by-q4-done", TH_MEET, 2025, [cnt(Q(2025, q), 1) for q in (1, 2, 3, 4)], date(2026, 1, 10),
     Q(2025, 4), None, HT, "Đạt 4/4 lần"),
    ("count-cumulative-all-in-q1", TH_MEET, 2025, [cnt(Q(2025, 1), 4)], date(2025, 4, 5), None, None,
     HT, "Đạt 4/4 lần"),
    ("count-monthly-entries-add-up", TH_MEET, 2025, [cnt(M(2025, m), 1) for m in (2, 5, 7, 11)],
     date(2025, 12, 1), None, None, HT, "Đạt 4/4 lần"),
    ("count-quarter-supersedes-its-months", TH_MEET, 2025,
     [cnt(M(2025, 1), 1), cnt(M(2025, 2), 1), cnt(Q(2025, 1), 2)], date(2025, 4, 5), None, None,
     DTD, "2/4 lần"),
    ("count-short-on-last-day-of-year", TH_MEET, 2025, [cnt(Q(2025, q), 1) for q in (1, 2, 3)],
     date(2025, 12, 31), None, None, CTD, "Mới 3/4 lần"),
    ("count-short-day-after-year", TH_MEET, 2025, [cnt(Q(2025, q), 1) for q in (1, 2, 3)], date(2026, 1, 1),
     None, None, QH, "Chỉ đạt 3/4 lần, quá hạn 31/12/2025"),
    ("count-other-year-not-counted", TH_MEET, 2025, [cnt(Q(2024, 4), 4)], date(2025, 1, 20), None, None,
     CTH, "0/4 lần"),
    ("count-per-period-missed-month", MONTHLY_1, 2025, [cnt(M(2025, 1), 1), cnt(M(2025, 2), 0)],
     date(2025, 3, 10), None, None, CTD, "Tháng 02/2025: 0/1"),
    ("count-per-period-every-month-so-far", MONTHLY_1, 2025, [cnt(M(2025, m), 1) for m in (1, 2, 3)],
     date(2025, 4, 1), None, None, DTD, "3/12 lần"),
    ("count-per-period-whole-year", MONTHLY_1, 2025, [cnt(M(2025, m), 2) for m in range(1, 13)],
     date(2025, 12, 31), None, None, HT, "24/12 lần"),
    ("count-per-period-quarter-entry-needs-three", MONTHLY_1, 2025, [cnt(Q(2025, 1), 2)], date(2025, 4, 5),
     None, None, CTD, "Quý I/2025: 2/3"),
    ("count-per-period-cannot-catch-up", YEAR_4_PER_PERIOD, 2025, [cnt(Q(2025, 1), 4), cnt(Q(2025, 2), 0)],
     date(2025, 7, 5), None, None, CTD, "Quý II/2025 chưa đạt"),
    ("count-cumulative-can-catch-up", TH_MEET, 2025, [cnt(Q(2025, 1), 4), cnt(Q(2025, 2), 0)],
     date(2025, 7, 5), None, None, HT, "Đạt 4/4 lần"),
    ("count-per-period-not-done-before-year-covered", YEAR_4_PER_PERIOD, 2025,
     [cnt(Q(2025, 1), 4), cnt(Q(2025, 2), 1)], date(2025, 7, 5), None, None, DTD, "5/4 lần"),
    ("count-per-quarter-window-missed", QUARTER_2_CUM, 2025, [cnt(Q(2025, 1), 1)], date(2025, 5, 1), None, None,
     CTD, "Quý I/2025: 1/2"),
    ("count-plan-window-not-started", TD_ROOMS, 2023, [], date(2023, 8, 15), None, None, CTH, "0/2"),
    ("count-plan-window-done", TD_ROOMS, 2023, [cnt(M(2023, 9), 1), cnt(M(2023, 10), 1)], date(2023, 10, 31),
     None, None, HT, "Đạt 2/2"),
    ("count-plan-window-overdue", TD_ROOMS, 2023, [cnt(M(2023, 9), 1)], date(2023, 12, 1), None, None,
     QH, "quá hạn 30/11/2023"),
    # ---------------------------------------------------------------- recurring (MT20: monthly report)
    ("recurring-nothing-due-yet", MT20, 2024, [], date(2024, 1, 20), None, SUB, CTH, "Tháng 01/2024"),
    ("recurring-all-done-so-far", MT20, 2024, [did(M(2024, m)) for m in (1, 2, 3, 4)], date(2024, 5, 10), None,
     SUB, DTD, "4/12 tháng"),
    ("recurring-missed-past-month", MT20, 2024, [did(M(2024, m)) for m in (1, 2, 4)], date(2024, 5, 10), None,
     SUB, CTD, "Tháng 03/2024 chưa thực hiện"),
    ("recurring-explicit-not-done", MT20, 2024, [did(M(2024, 1)), did(M(2024, 2), False)], date(2024, 3, 10),
     None, SUB, CTD, "Tháng 02/2024 chưa thực hiện"),
    ("recurring-within-submission-grace", MT20, 2024, [did(M(2024, m)) for m in (1, 2, 3)], date(2024, 5, 5),
     None, SUB, DTD, "3/12 tháng"),
    ("recurring-grace-over", MT20, 2024, [did(M(2024, m)) for m in (1, 2, 3)], date(2024, 5, 6), None, SUB,
     CTD, "Tháng 04/2024 chưa thực hiện"),
    ("recurring-no-grace-by-default", MT20, 2024, [did(M(2024, m)) for m in (1, 2, 3)], date(2024, 5, 1), None,
     None, CTD, "Tháng 04/2024 chưa thực hiện"),
    ("recurring-several-missed-listed", MT20, 2024, [did(M(2024, 1))], date(2024, 7, 1), None, None, CTD,
     "Tháng 02/2024, Tháng 03/2024, Tháng 04/2024 và 2 kỳ khác chưa thực hiện"),
    ("recurring-whole-year-done", MT20, 2024, ALL_MONTHS_2024, date(2024, 12, 31), None, SUB, HT,
     "Đã thực hiện đủ 12/12 tháng"),
    ("recurring-missed-after-year", MT20, 2024, [d for d in ALL_MONTHS_2024 if d.period.index != 3],
     date(2025, 1, 10), None, SUB, QH, "Tháng 03/2024 chưa thực hiện"),
    ("recurring-december-in-grace-after-year", MT20, 2024, ALL_MONTHS_2024[:11], date(2025, 1, 3), None, SUB,
     DTD, "11/12 tháng"),
    ("recurring-report-period-limits-due", MT20, 2024, [did(M(2024, m)) for m in (1, 2, 3)], date(2024, 12, 1),
     Q(2024, 1), SUB, DTD, "3/12 tháng"),
    ("recurring-quarterly-done", QUARTERLY, 2023, [did(Q(2023, 1)), did(Q(2023, 2))], date(2023, 7, 20),
     None, SUB, DTD, "2/4 quý"),
    ("recurring-quarterly-done-by-a-month-entry", QUARTERLY, 2023, [did(M(2023, 2))], date(2023, 4, 20),
     None, SUB, DTD, "1/4 quý"),
    ("recurring-quarterly-missed", QUARTERLY, 2023, [did(Q(2023, 1))], date(2023, 7, 11), None, SUB, CTD,
     "Quý II/2023 chưa thực hiện"),
    # TD-NV-03 recurs only in the pilot (01/09–30/11/2023): Q3 and Q4/2023, never Q1 or Q2
    ("pilot-quarterly-nothing-due-in-july", TD_QUARTERLY, 2023, [], date(2023, 7, 11), None, SUB, CTH,
     "chưa đến hạn kỳ đầu (Quý III/2023)"),
    ("pilot-quarterly-q3-missed", TD_QUARTERLY, 2023, [], date(2023, 10, 11), None, SUB, CTD,
     "Quý III/2023 chưa thực hiện"),
    ("pilot-quarterly-q3-done", TD_QUARTERLY, 2023, [did(Q(2023, 3))], date(2023, 10, 11), None, SUB, DTD,
     "1/2 quý"),
    ("pilot-quarterly-both-done", TD_QUARTERLY, 2023, [did(M(2023, 9)), did(M(2023, 11))], date(2024, 1, 11),
     None, SUB, HT, "2/2 quý"),
    ("pilot-quarterly-q4-missed-after-pilot", TD_QUARTERLY, 2023, [did(Q(2023, 3))], date(2024, 1, 11), None, SUB,
     QH, "Quý IV/2023 chưa thực hiện"),
    # TD-2-02: a 100% ratio judged each quarter of the pilot
    ("pilot-ratio-q3-met", TD_TRAINING, 2023, [ratio(Q(2023, 3), 30, 30)], date(2023, 10, 11), None, SUB, DTD,
     "Đạt chỉ tiêu 1/2 quý"),
    ("pilot-ratio-q3-short", TD_TRAINING, 2023, [ratio(Q(2023, 3), 25, 30)], date(2023, 10, 11), None, SUB, CTD,
     "Quý III/2023: 83,3%"),
    ("pilot-ratio-both-met", TD_TRAINING, 2023, [ratio(Q(2023, 3), 30, 30), ratio(Q(2023, 4), 31, 31)],
     date(2024, 1, 11), None, SUB, HT, "2/2 quý"),
    ("pilot-ratio-q4-short-after-pilot", TD_TRAINING, 2023, [ratio(Q(2023, 3), 30, 30), ratio(M(2023, 11), 29, 31)],
     date(2024, 1, 11), None, SUB, QH, "Quý IV/2023"),
    # any measure kind recurs: a ratio each quarter, a count each month
    ("ratio-each-quarter-q1-ok-q2-short", RATIO_EACH_QUARTER, 2025,
     [ratio(Q(2025, 1), 95, 100), ratio(Q(2025, 2), 80, 100)], date(2025, 7, 20), None, SUB, CTD,
     "Quý II/2025: 80,0%"),
    ("ratio-each-quarter-on-track", RATIO_EACH_QUARTER, 2025, [ratio(Q(2025, 1), 95, 100)], date(2025, 4, 20),
     None, SUB, DTD, "1/4 quý"),
    ("count-each-month-feb-short", COUNT_EACH_MONTH, 2025, [cnt(M(2025, 1), 2), cnt(M(2025, 2), 1)],
     date(2025, 3, 10), None, SUB, CTD, "Tháng 02/2025: 1/2"),
    ("count-each-month-all-met", COUNT_EACH_MONTH, 2025, [cnt(M(2025, m), 3) for m in range(1, 13)],
     date(2026, 1, 10), None, SUB, HT, "12/12 tháng"),
    ("recurring-half-yearly-done", HALF_YEARLY, 2025, [did(H(2025, 1)), did(H(2025, 2))], date(2026, 1, 5),
     None, SUB, HT, "2/2 kỳ 6 tháng"),
    ("recurring-qb-monthly-quarter-entry", QB_MONTHLY, 2024, [did(Q(2024, 1))], date(2024, 4, 20), None, SUB,
     DTD, "3/12 tháng"),
    # ---------------------------------------------------------------- milestone
    ("milestone-done-on-time", MT01, 2024, [did(Q(2024, 1), when=date(2024, 3, 10))], date(2024, 4, 5), None,
     None, HT, "Hoàn thành ngày 10/03/2024"),
    ("milestone-done-on-last-day", MT01, 2024, [did(Q(2024, 1), when=date(2024, 3, 31))], date(2024, 4, 5),
     None, None, HT, "Hoàn thành ngày 31/03/2024"),
    ("milestone-done-late", MT01, 2024, [did(Q(2024, 2), when=date(2024, 4, 1))], date(2024, 7, 5), None, None,
     HT, "hoàn thành muộn, hạn 31/03/2024"),
    ("milestone-undated-in-later-period-is-late", MT01, 2024, [did(Q(2024, 2))], date(2024, 7, 5), None, None,
     HT, "hoàn thành muộn"),
    ("milestone-undated-in-deadline-period", MT01, 2024, [did(Q(2024, 1))], date(2024, 4, 5), None, None,
     HT, "Đã hoàn thành"),
    ("milestone-not-done-last-day", MT01, 2024, [], date(2024, 3, 31), None, None, CTH, "hạn 31/03/2024"),
    ("milestone-not-done-day-after", MT01, 2024, [], date(2024, 4, 1), None, None, QH, "quá hạn 31/03/2024"),
    ("milestone-progress-recorded", MT01, 2024, [note(M(2024, 2))], date(2024, 2, 15), None, None, DTD,
     "Đang thực hiện"),
    ("milestone-done-date-after-report-date", MT01, 2024, [did(M(2024, 3), when=date(2024, 3, 20))],
     date(2024, 3, 10), None, None, CTH, "Chưa thực hiện"),
    ("milestone-leap-day-deadline", MILESTONE_FEB_LEAP, 2024, [], date(2024, 2, 29), None, None, CTH,
     "hạn 29/02/2024"),
    ("milestone-leap-day-next-day", MILESTONE_FEB_LEAP, 2024, [], date(2024, 3, 1), None, None, QH,
     "quá hạn 29/02/2024"),
    ("milestone-date-deadline-met", TD_TEAM, 2023, [did(M(2023, 8), when=date(2023, 8, 31))], date(2023, 9, 1),
     None, None, HT, "31/08/2023"),
    ("milestone-date-deadline-missed", TD_TEAM, 2023, [note(M(2023, 8))], date(2023, 9, 1), None, None, QH,
     "quá hạn 31/08/2023"),
    ("milestone-deadline-before-plan-year", NV_V_01, 2024, [], date(2024, 1, 2), None, None, QH,
     "quá hạn 31/12/2023"),
    ("milestone-no-deadline-never-overdue", MILESTONE_NONE, 2025, [], date(2030, 1, 1), None, None, CTH,
     "không ghi thời hạn"),
    ("milestone-synthetic-month", MILESTONE_MAR, 2025, [did(M(2025, 3), when=date(2025, 3, 3))],
     date(2025, 3, 5), None, None, HT, "03/03/2025"),
    # ---------------------------------------------------------------- qualitative
    ("qualitative-text-recorded", QUAL_YEAR, 2025, [note(Q(2025, 1))], date(2025, 4, 5), None, None, DTD,
     "Đã báo cáo"),
    ("qualitative-done", QUAL_YEAR, 2025, [note(Q(2025, 1)), did(Q(2025, 2))], date(2025, 7, 5), None, None, HT,
     "Đã hoàn thành"),
    ("qualitative-nothing", QUAL_YEAR, 2025, [], date(2025, 4, 5), None, None, CTH, "Chưa có kết quả"),
    ("qualitative-last-day-of-year", QUAL_YEAR, 2025, [note(Q(2025, 4))], date(2025, 12, 31), None, None, DTD,
     "Đã báo cáo"),
    ("qualitative-year-over-not-done", QUAL_YEAR, 2025, [note(Q(2025, 4))], date(2026, 1, 1), None, None, QH,
     "quá hạn 31/12/2025"),
    ("qualitative-standing-rule-never-overdue", QB_QUAL, 2024, [note(Y(2024))], date(2026, 6, 1), None, None,
     DTD, "Đã báo cáo"),
    ("qualitative-standing-rule-nothing", TH_QUAL_NONE, 2025, [], date(2026, 6, 1), None, None, CTH,
     "Chưa có kết quả"),
]


@pytest.mark.parametrize("target, year, entries, as_of, period, sub, status, reason",
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_status_table(target, year, entries, as_of, period, sub, status, reason):
    result = evaluate(resolve(target), year, entries, as_of, period, submission_days=sub)
    assert isinstance(result, StatusResult)
    assert result.status is status, result.reason
    assert reason in result.reason, result.reason


def test_table_is_large_and_covers_every_measure_type():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)
    kinds = {resolve(c[1]).measure.type for c in CASES}
    assert kinds == {"ratio", "count", "milestone", "recurring", "qualitative"}
    assert {c[7] for c in CASES} == set(EVALUATED)


# ------------------------------------------------------------------ result details
def test_ratio_result_fields():
    r = evaluate(resolve(MT03), 2024, [ratio(Q(2024, 2), 29, 30)], date(2024, 7, 1))
    assert r.achieved == (29, 30) and r.percent == pytest.approx(29 / 30)
    assert r.expected == 1.0 and r.deadline == date(2024, 6, 30)
    assert r.reason == "Đạt 96,7%, chỉ tiêu 100%, quá hạn 30/06/2024"
    assert (r.label, r.abbrev) == ("Quá hạn", "QH")


def test_ratio_linear_expectation_is_half_way_mid_period():
    # plan start 01/01/2024 → deadline 30/06/2024 (182 days); on 31/03 (91 days) half is expected
    r = evaluate(resolve(MT03), 2024, [ratio(Q(2024, 1), 50, 100)], date(2024, 3, 31))
    assert r.expected == pytest.approx(0.5) and r.status is DTD
    r = evaluate(resolve(MT03), 2024, [ratio(Q(2024, 1), 49, 100)], date(2024, 3, 31))
    assert r.status is CTD


def test_count_result_fields_and_capping():
    r = evaluate(resolve(TH_MEET), 2025, [cnt(Q(2025, 1), 6)], date(2025, 4, 5))
    assert (r.status, r.achieved, r.percent) == (HT, 6, 1.0)
    r = evaluate(resolve(QUARTER_2_CUM), 2025, [cnt(Q(2025, 1), 5), cnt(Q(2025, 2), 0)], date(2025, 7, 5))
    assert r.percent == pytest.approx(2 / 8)        # the extra 3 in Q1 do not fill Q2
    assert r.missed_periods == (Q(2025, 2),) and r.status is CTD


def test_count_expected_follows_the_calendar():
    t = resolve(TH_MEET)
    expected = {date(2025, 3, 30): 1, date(2025, 3, 31): 1, date(2025, 6, 30): 2, date(2025, 9, 30): 3,
                date(2025, 12, 31): 4, date(2025, 1, 31): 1, date(2025, 1, 30): 0}
    for d, n in expected.items():
        assert evaluate(t, 2025, [], d).expected == n, d


def test_recurring_result_lists_missed_periods():
    r = evaluate(resolve(MT20), 2024, [did(M(2024, m)) for m in (1, 2, 4)], date(2024, 5, 10),
                 submission_days=SUB)
    assert r.missed_periods == (M(2024, 3),)
    assert r.achieved == (3, 12) and r.expected == 4 and r.percent == pytest.approx(3 / 12)


def test_recurring_uses_plan_submission_deadlines():
    p = plan("vkstc-cds-2024")
    entries = [did(M(2024, m)) for m in (1, 2, 3)]
    on_grace_day = evaluate(p.target("MT20"), p.year, entries, date(2024, 5, 5),
                            submission_days=dict(p.submission_deadlines))
    assert on_grace_day.status is DTD and not on_grace_day.missed_periods


def test_milestone_late_flag():
    r = evaluate(resolve(MT01), 2024, [did(Q(2024, 2), when=date(2024, 4, 1))], date(2024, 7, 5))
    assert r.late and r.achieved == date(2024, 4, 1) and r.percent == 1.0
    r = evaluate(resolve(MT01), 2024, [did(Q(2024, 1), when=date(2024, 3, 31))], date(2024, 7, 5))
    assert not r.late


def test_milestone_earliest_in_time_completion_wins():
    entries = [did(Q(2024, 2), when=date(2024, 5, 2)), did(Q(2024, 1), when=date(2024, 3, 20))]
    r = evaluate(resolve(MT01), 2024, entries, date(2024, 7, 5))
    assert r.achieved == date(2024, 3, 20) and not r.late


def test_entries_are_order_independent():
    t = resolve(MT03)
    a = [ratio(Q(2024, 1), 10, 30), ratio(Q(2024, 2), 30, 30)]
    assert evaluate(t, 2024, a, date(2024, 7, 5)) == evaluate(t, 2024, a[::-1], date(2024, 7, 5))


def test_progress_labels_abbrevs_colours():
    assert [(p.value, p.label, p.abbrev) for p in Progress] == [
        ("hoan_thanh", "Hoàn thành", "HT"), ("dung_tien_do", "Đúng tiến độ", "ĐTĐ"),
        ("cham_tien_do", "Chậm tiến độ", "CTĐ"), ("qua_han", "Quá hạn", "QH"),
        ("chua_thuc_hien", "Chưa thực hiện", "CTH"), ("khong_ap_dung", "Không áp dụng", "KAD")]
    for p in Progress:
        assert p.colour.startswith("#") and len(p.colour) == 7
        int(p.colour[1:], 16)
    assert len({p.colour for p in Progress}) == len(Progress)
    assert sorted(Progress, key=lambda p: p.rank) == [HT, DTD, CTH, CTD, QH, Progress.KHONG_AP_DUNG]
    assert Progress("qua_han") is QH and str(QH) == "qua_han"


def test_one_progress_enum_for_screen_and_paper():
    from desktop.export import documents

    assert documents.Progress is Progress            # the printed documents use the domain enum itself
    kad = Progress.KHONG_AP_DUNG
    assert (kad.label, kad.abbrev, kad.evaluated) == ("Không áp dụng", "KAD", False)
    assert all(p.evaluated for p in EVALUATED) and EVALUATED == (HT, DTD, CTD, QH, CTH)
    for p in Progress:
        assert Progress.coerce(p.value) is p and Progress.coerce(p.label) is p and Progress.coerce(p.abbrev) is p
        assert Progress.coerce(p.name) is p
    assert Progress.coerce("Ho\u00e0n th\u00e0nh") is HT and Progress.coerce("Hoa\u0300n tha\u0300nh") is HT  # NFD typed
    assert Progress.coerce(None) is None and Progress.coerce("") is None
    with pytest.raises(ValueError):
        Progress.coerce("xong")
    cell = documents.MatrixCell(status="QH", value=0.5)
    assert cell.status is QH and cell.abbrev == "QH"


def test_summarise_and_completion_rate():
    results = [StatusResult(HT), StatusResult(HT), StatusResult(QH), DTD, None, StatusResult(CTH),
               Progress.KHONG_AP_DUNG]
    counts = summarise(results)
    assert list(counts) == list(EVALUATED)
    assert counts == {HT: 2, DTD: 1, CTD: 0, QH: 1, CTH: 1}
    assert completion_rate(results) == pytest.approx(2 / 5)
    assert completion_rate([]) == 0.0 and completion_rate([None]) == 0.0
    assert summarise([]) == {p: 0 for p in EVALUATED}


def test_every_real_target_evaluates():
    for pid in PLAN_IDS:
        p = plan(pid)
        for as_of in (date(p.year, 1, 1), date(p.year, 6, 30), date(p.year + 1, 1, 1)):
            results = [evaluate(t, p.year, [], as_of, submission_days=dict(p.submission_deadlines))
                       for t in p.targets]
            assert all(isinstance(r.status, Progress) and r.reason for r in results)
            if as_of.year > p.year:      # nothing reported and the year is over: nothing is on track
                assert not any(r.status in (HT, DTD) for r in results)


def test_status_module_is_qt_free():
    code = ("import sys, desktop.models.domain.status as s; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ properties
YEAR = 2025
PTYPES = ("month", "quarter", "half_year", "year")


@st.composite
def periods(draw, years=(YEAR - 1, YEAR, YEAR + 1)):
    t = draw(st.sampled_from(PTYPES))
    y = draw(st.sampled_from(years))
    top = {"month": 12, "quarter": 4, "half_year": 2, "year": 1}[t]
    return ReportingPeriod(t, y, draw(st.integers(1, top)))


dates = st.dates(date(YEAR - 1, 1, 1), date(YEAR + 1, 12, 31))
numbers = st.one_of(st.none(), st.floats(-10, 1e6, allow_nan=False), st.integers(-5, 10_000),
                    st.sampled_from([float("nan"), float("inf"), 0, 0.0]))
entries_st = st.lists(st.builds(
    EntryValue, period=periods(), numerator=numbers, denominator=numbers,
    count=st.one_of(st.none(), st.integers(-3, 50)), done=st.one_of(st.none(), st.booleans()),
    done_date=st.one_of(st.none(), dates), text=st.sampled_from(["", "  ", "Đã triển khai"])), max_size=12)

deadlines = st.one_of(
    st.just(Deadline("none")), st.just(Deadline("year")),
    st.builds(lambda m, y: Deadline("month", year=y, month=m), st.integers(1, 12), st.sampled_from([YEAR - 1, YEAR])),
    st.builds(lambda d: Deadline("date", date=d), dates),
    st.builds(lambda a, n: Deadline("period", start=a, end=a + timedelta(days=n)), dates, st.integers(0, 400)),
    st.builds(lambda e: Deadline("recurring", every=e), st.sampled_from(PTYPES)))
measures = st.one_of(
    st.builds(lambda p, c: Measure("ratio", target_percent=p, comparison=c),
              st.floats(0.5, 100), st.sampled_from([">=", "="])),
    st.builds(lambda n, per, cum: Measure("count", minimum=n, per=per, cumulative=cum),
              st.integers(1, 12), st.sampled_from(PTYPES + ("plan",)), st.booleans()),
    st.builds(lambda e: Measure("recurring", every=e), st.sampled_from(PTYPES)),
    st.just(Measure("milestone")), st.just(Measure("qualitative")))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(measures, deadlines, entries_st, dates, st.one_of(st.none(), periods()),
       st.one_of(st.none(), st.just(SUB)))
def test_evaluate_never_raises(measure, deadline, entries, as_of, period, sub):
    r = evaluate(synth(measure, deadline), YEAR, entries, as_of, period, submission_days=sub)
    assert isinstance(r.status, Progress) and isinstance(r.reason, str) and r.reason
    assert r == evaluate(synth(measure, deadline), YEAR, list(reversed(entries)), as_of, period,
                         submission_days=sub) or len({e.period for e in entries}) < len(entries)
    if r.percent is not None and measure.type != "ratio":
        assert 0.0 <= r.percent <= 1.0


@FAST
@given(st.sampled_from(["month", "quarter", "half_year"]), st.sets(st.integers(1, 12), max_size=12),
       st.sets(st.integers(1, 12), min_size=1, max_size=12), dates, st.one_of(st.none(), st.just(SUB)))
def test_more_done_periods_never_worse(every, before, extra, as_of, sub):
    target = synth(Measure("recurring", every=every), Deadline("recurring", every=every))
    top = {"month": 12, "quarter": 4, "half_year": 2}[every]
    base = [did(ReportingPeriod(every, YEAR, i)) for i in sorted(before) if i <= top]
    more = base + [did(ReportingPeriod(every, YEAR, i)) for i in sorted(extra) if i <= top]
    r0 = evaluate(target, YEAR, base, as_of, submission_days=sub)
    r1 = evaluate(target, YEAR, more, as_of, submission_days=sub)
    assert RANK[r1.status] <= RANK[r0.status], (r0, r1)
    assert len(r1.missed_periods) <= len(r0.missed_periods)


ratio_entries = st.lists(st.builds(
    EntryValue, period=periods(years=(YEAR,)), numerator=st.integers(0, 200), denominator=st.integers(0, 200)),
    min_size=1, max_size=6)


@FAST
@given(st.floats(1, 100), deadlines, ratio_entries, st.data(), dates)
def test_raising_a_numerator_never_worse(target_percent, deadline, entries, data, as_of):
    target = synth(Measure("ratio", target_percent=target_percent), deadline)
    i = data.draw(st.integers(0, len(entries) - 1))
    bump = data.draw(st.integers(1, 100))
    raised = list(entries)
    e = raised[i]
    raised[i] = EntryValue(e.period, numerator=e.numerator + bump, denominator=e.denominator)
    r0, r1 = evaluate(target, YEAR, entries, as_of), evaluate(target, YEAR, raised, as_of)
    assert RANK[r1.status] <= RANK[r0.status], (r0, r1)


count_entries = st.lists(st.builds(EntryValue, period=periods(years=(YEAR,)), count=st.integers(0, 6)),
                         min_size=1, max_size=8)


@FAST
@given(st.integers(1, 8), st.sampled_from(PTYPES + ("plan",)), st.booleans(), deadlines, count_entries,
       st.data(), dates)
def test_raising_a_count_never_worse(minimum, per, cumulative, deadline, entries, data, as_of):
    target = synth(Measure("count", minimum=minimum, per=per, cumulative=cumulative), deadline)
    i = data.draw(st.integers(0, len(entries) - 1))
    raised = list(entries)
    raised[i] = EntryValue(entries[i].period, count=entries[i].count + data.draw(st.integers(1, 5)))
    r0, r1 = evaluate(target, YEAR, entries, as_of), evaluate(target, YEAR, raised, as_of)
    assert RANK[r1.status] <= RANK[r0.status], (r0, r1)


def test_a_ratio_too_large_for_a_float_is_shown_as_a_dash_not_an_error():
    """Found by test_evaluate_never_raises: 1 / 2.2e-308 overflows to infinity; the reason shows '–'."""
    from desktop.models.domain.status import _fmt_pct

    assert _fmt_pct(float("inf"), 1.0) == "–"
    assert _fmt_pct(float("nan")) == "–"
