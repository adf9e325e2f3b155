"""Status rules: the progress of one target from its measure, the values reported so far, its
deadline and the report date.

Pure functions over the plan domain (:mod:`desktop.models.domain.plan`): no database, no Qt, no clock
(the report date is always passed in). The rules are written out, with examples, in
``docs/status-rules.md``; ``tests/test_status_rules.py`` holds the table of cases.

Vocabulary used below:

* ``as_of`` — the report date. A deadline is *inclusive*: on its last day the target is not yet
  overdue, the day after it is (``as_of > deadline end``).
* ``period`` — the reporting period the report covers (optional). Values entered for later
  periods are ignored, and recurring/count periods after it are not judged.
* ``progress date`` — ``min(as_of, period.end)``: the date pro-rata expectations are computed for
  (the values only describe the work up to the end of the period).
* entries — one :class:`EntryValue` per reporting period for the target. Entries for periods that
  start after ``as_of`` are ignored (they cannot have been reported yet). Values are not validated
  here (a numerator above its denominator, a negative count…): validation happens when they are
  entered. Non-finite numbers are treated as missing.

This module must never import Qt.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from desktop.models.domain.plan import (PERIOD_MONTHS, PERIOD_TYPES, Deadline, Measure, Recurrence, ReportingPeriod,
                     effective_recurrence, fmt_date, last_day)
from .i18n import nfc, tr

__all__ = ["Progress", "EVALUATED", "EntryValue", "StatusResult", "evaluate", "summarise", "completion_rate",
           "effective_deadline", "RANK"]


def _t(text: str) -> str:
    return tr("Status", text)


# ------------------------------------------------------------------ the states
class Progress(str, enum.Enum):
    """Progress of one target on a report date (column "Tiến độ").

    The one progress enum of the application: the rules below produce the first five states;
    KHONG_AP_DUNG marks a target that does not apply to a unit (printed in the consolidated
    matrix, never the result of :func:`evaluate`). The printed documents
    (:mod:`desktop.export.documents`) use this enum as it is.
    """

    HOAN_THANH = "hoan_thanh"
    DUNG_TIEN_DO = "dung_tien_do"
    CHAM_TIEN_DO = "cham_tien_do"
    QUA_HAN = "qua_han"
    CHUA_THUC_HIEN = "chua_thuc_hien"
    KHONG_AP_DUNG = "khong_ap_dung"

    @property
    def label(self) -> str:
        """Vietnamese label: 'Hoàn thành', 'Đúng tiến độ', 'Chậm tiến độ', 'Quá hạn', 'Chưa thực hiện',
        'Không áp dụng'."""
        return _t(_PROGRESS_INFO[self][0])

    @property
    def abbrev(self) -> str:
        """Matrix abbreviation: HT, ĐTĐ, CTĐ, QH, CTH, KAD."""
        return _PROGRESS_INFO[self][1]

    @property
    def colour(self) -> str:
        """Background colour hint (hex, light enough for black text), the same fills the Excel and
        PDF matrices use."""
        return _PROGRESS_INFO[self][2]

    @property
    def rank(self) -> int:
        """Severity for sorting and comparisons: 0 best (HT) … 4 worst (QH); 5 not applicable."""
        return RANK[self]

    @property
    def evaluated(self) -> bool:
        """A state the status rules produce (every state but KHONG_AP_DUNG)."""
        return self is not Progress.KHONG_AP_DUNG

    @classmethod
    def coerce(cls, value: "Progress | str | None") -> "Progress | None":
        """A state from its value, name, Vietnamese label or abbreviation; None for None or ''.
        Raises ValueError for anything else."""
        if value is None or value == "":
            return None
        if isinstance(value, Progress):
            return value
        text = nfc(str(value)).strip()
        for s in cls:
            if text in (s.value, s.name, s.label, s.abbrev):
                return s
        raise ValueError(f"unknown status {value!r}")

    def __str__(self) -> str:
        return self.value


_PROGRESS_INFO: dict[Progress, tuple[str, str, str]] = {
    Progress.HOAN_THANH: ("Hoàn thành", "HT", "#D6EDD6"),
    Progress.DUNG_TIEN_DO: ("Đúng tiến độ", "ĐTĐ", "#DBE8F7"),
    Progress.CHAM_TIEN_DO: ("Chậm tiến độ", "CTĐ", "#FFE6B3"),
    Progress.QUA_HAN: ("Quá hạn", "QH", "#F09A9A"),
    Progress.CHUA_THUC_HIEN: ("Chưa thực hiện", "CTH", "#F7CCCC"),
    Progress.KHONG_AP_DUNG: ("Không áp dụng", "KAD", "#EBEBEB"),
}

#: The states the status rules produce, in enum order (dashboards, legends, summaries).
EVALUATED: tuple[Progress, ...] = tuple(p for p in Progress if p is not Progress.KHONG_AP_DUNG)

#: Severity order: done < on track < not started (nothing due yet) < behind < overdue; a target
#: that does not apply sorts after every evaluated state.
RANK: dict[Progress, int] = {
    Progress.HOAN_THANH: 0,
    Progress.DUNG_TIEN_DO: 1,
    Progress.CHUA_THUC_HIEN: 2,
    Progress.CHAM_TIEN_DO: 3,
    Progress.QUA_HAN: 4,
    Progress.KHONG_AP_DUNG: 5,
}


# ------------------------------------------------------------------ inputs and outputs
@dataclass(frozen=True)
class EntryValue:
    """One reporting period's recorded values for one target.

    ratio: ``numerator``/``denominator`` are the cumulative figures at the end of ``period``
    (a state, not an increment). count: ``count`` is the number of occurrences *within*
    ``period`` (increments, added up). milestone/qualitative: ``done`` and ``done_date``.
    recurring: ``done`` — the work was done in this period. ``text`` is the narrative.
    """

    period: ReportingPeriod
    numerator: float | None = None
    denominator: float | None = None
    count: int | None = None
    done: bool | None = None
    done_date: date | None = None
    text: str = ""


@dataclass(frozen=True)
class StatusResult:
    """The evaluated progress of one target.

    * ``percent`` — fraction (0.967 = 96,7 %), None where not meaningful:
      ratio: numerator/denominator of the figures used, *not capped* (values are not validated);
      count: share of the plan year's required occurrences reached, each window *capped* at its
      minimum (6 meetings against 4 → 1.0; 4 in Q1 do not make up for an empty Q2 when the
      minimum is per quarter); recurring: due periods done / due periods of the year;
      milestone: 1.0 when done, else None; qualitative: None.
    * ``achieved`` — display value: ``(numerator, denominator)`` for ratios, the total count,
      ``(done, due)`` periods for recurring, the completion date (or True) for milestones.
    * ``expected`` — what was due by the report date: ratio: the expected fraction (linear from
      the plan start to the deadline, the target itself from the deadline on); count: occurrences;
      recurring: number of periods that had to be done; milestone/qualitative: the deadline date.
    * ``reason`` — short Vietnamese explanation for the report and tooltips.
    * ``missed_periods`` — recurring periods (or count windows/periods) that were due and missed.
    * ``late`` — completed after the deadline ("hoàn thành muộn").
    """

    status: Progress
    percent: float | None = None
    achieved: Any = None
    expected: Any = None
    reason: str = ""
    missed_periods: tuple[ReportingPeriod, ...] = ()
    deadline: date | None = None
    late: bool = False

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def abbrev(self) -> str:
        return self.status.abbrev


# ------------------------------------------------------------------ helpers
_EPS = 1e-9


def _finite(x: Any) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _num(x: float) -> float | int:
    """29.0 -> 29 for display."""
    return int(x) if float(x).is_integer() and abs(x) < 1e15 else x


def _fmt_number(x: float) -> str:
    x = _num(x)
    if isinstance(x, int):
        return f"{x:,}".replace(",", ".")
    return f"{x:g}".replace(".", ",")


def _fmt_pct(value: float, target: float | None = None) -> str:
    """A percentage (already ×100), Vietnamese style ('96,7%').

    A measured value (``target`` given) is written like every other figure on screen and paper
    (`export.vnformat.fmt_percent`): one decimal, except exactly 0% and 100% ("Đạt 80,0%" next to
    the cell's "80,0%"). A goal or an expected level keeps at most one decimal ("chỉ tiêu 80%").
    Never rounds onto the target from either side: 99.96 against 100 prints '99,9%'. A value
    that does not fit a float (1 / 2.2e-308) prints '–', as `fmt_percent` does."""
    if not math.isfinite(value):
        return "–"
    r = math.floor(value * 10 + 0.5) / 10
    if target is not None:
        if value < target - _EPS and r >= target:
            r = math.floor(value * 10) / 10
            if r >= target:
                r = target - 0.1
        elif value > target + _EPS and r <= target:
            r = target + 0.1
    r = round(r, 1)
    if r.is_integer() and (target is None or r in (0, 100)):
        return f"{int(r)}%"
    return f"{r:.1f}".replace(".", ",") + "%"


def _subset(inner: ReportingPeriod, outer: ReportingPeriod) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _months_between(a: date, b: date) -> int:
    """Whole calendar months after a's month up to b's month (30/09 → 31/12: 3)."""
    return max(0, (b.year - a.year) * 12 + b.month - a.month)


def _complete_months(start: date, until: date) -> int:
    """Months of a window starting on `start` (the 1st) fully elapsed by `until` — the month of
    `until` counts once its last day is reached (as Measure.expected_by)."""
    if until < start:
        return 0
    n = (until.year - start.year) * 12 + until.month - start.month
    if until == last_day(until.year, until.month):
        n += 1
    return n


def _remaining(pd: date, end: date) -> str:
    m = _months_between(pd, end)
    if m > 0:
        return _t("còn {0} tháng").format(m)
    days = (end - pd).days
    if days < 0:
        return _t("đã hết năm kế hoạch")
    return _t("còn {0} ngày").format(days) if days > 0 else _t("hôm nay là hạn cuối")


def _list_periods(periods: Sequence[ReportingPeriod]) -> str:
    labels = [p.label for p in periods]
    if len(labels) > 3:
        return _t("{0} và {1} kỳ khác").format(", ".join(labels[:3]), len(labels) - 3)
    return ", ".join(labels)


def effective_deadline(deadline: Deadline, plan_year: int) -> date | None:
    """The inclusive last day of a target, or None for a standing rule (deadline type 'none')."""
    return deadline.end_date(plan_year)


@dataclass(frozen=True)
class _Ctx:
    measure: Measure
    deadline: Deadline
    plan_year: int
    as_of: date
    period: ReportingPeriod | None
    entries: tuple[EntryValue, ...]
    end: date | None            # inclusive deadline, None = no deadline
    horizon: date               # end of expectations: the deadline, or 31/12 of the plan year
    start: date                 # start of the linear expectation
    submission_days: Mapping[str, int]

    @property
    def progress_date(self) -> date:
        return min(self.as_of, self.period.end) if self.period is not None else self.as_of

    @property
    def overdue(self) -> bool:
        return self.end is not None and self.as_of > self.end

    def result(self, status: Progress, **kw) -> StatusResult:
        return StatusResult(status=status, deadline=self.end, **kw)


def _considered(entries: Iterable[EntryValue], as_of: date, period: ReportingPeriod | None) -> tuple[EntryValue, ...]:
    out = []
    for e in entries:
        p = getattr(e, "period", None)
        if not isinstance(p, ReportingPeriod):
            continue
        if p.start > as_of:
            continue
        if period is not None and p.end > period.end:
            continue
        out.append(e)
    # stable order by period (end, longer first); duplicates keep their given order
    return tuple(sorted(out, key=lambda e: (e.period.end, -e.period.months)))


# ------------------------------------------------------------------ entry point
def evaluate(target, plan_year: int, entries: Sequence[EntryValue], as_of: date,
             period: ReportingPeriod | None = None, *,
             submission_days: Mapping[str, int] | None = None) -> StatusResult:
    """Progress of `target` (a domain Target, or anything with `.measure` and `.deadline`) on the
    report date `as_of`, from the values `entries` recorded so far.

    `period` is the reporting period of the report (entries after it are ignored).
    `submission_days` maps a period type to the days after a period's end its report is due
    (``dict(plan.submission_deadlines)``): a recurring period is only *missed* once that grace has
    passed. Without it a period must be done by its last day.

    Pure and deterministic; never raises for well-typed input. Rules: docs/status-rules.md.
    """
    measure: Measure = target.measure
    deadline: Deadline = target.deadline
    year_start, year_end = date(plan_year, 1, 1), date(plan_year, 12, 31)
    end = effective_deadline(deadline, plan_year)
    horizon = end if end is not None else year_end
    start = year_start
    if deadline.type == "period" and deadline.start is not None:
        start = deadline.start
    elif deadline.type == "date" and deadline.date is not None and deadline.date < year_start:
        start = deadline.date
    if horizon < start:
        start = horizon
    ctx = _Ctx(measure, deadline, plan_year, as_of, period, _considered(entries, as_of, period), end, horizon,
               start, dict(submission_days or {}))
    rec = effective_recurrence(target)
    if rec is not None:
        return _periodic(ctx, rec)
    rule = _RULES.get(measure.type, _qualitative)
    return rule(ctx)


# ------------------------------------------------------------------ ratio
def _ratio(ctx: _Ctx) -> StatusResult:
    m = ctx.measure
    target = _finite(m.target_percent)
    target = 100.0 if target is None else target
    exact = m.comparison == "="
    goal = _t("chỉ tiêu {0}{1}").format("" if not exact else "= ", _fmt_pct(target))

    usable = []
    zero_den = False
    for e in ctx.entries:
        n, d = _finite(e.numerator), _finite(e.denominator)
        if d is not None and d <= 0 and n is not None:
            zero_den = True
        if n is None or d is None or d <= 0:
            continue
        usable.append((e, n, d))

    pd = ctx.progress_date
    span = (ctx.horizon - ctx.start).days + 1
    elapsed = (pd - ctx.start).days + 1
    share = 1.0 if span <= 0 else min(1.0, max(0.0, elapsed / span))
    expected_pct = target * share

    if not usable:
        why = _t("Chưa có số liệu (mẫu số bằng 0)") if zero_den else _t("Chưa có số liệu")
        if ctx.overdue:
            return ctx.result(Progress.QUA_HAN, expected=target / 100,
                              reason=_t("{0}, quá hạn {1}").format(why, fmt_date(ctx.end)))
        return ctx.result(Progress.CHUA_THUC_HIEN, expected=expected_pct / 100, reason=why)

    e, n, d = usable[-1]            # the latest reported cumulative figures
    pct = 100.0 * n / d
    achieved = (_num(n), _num(d))
    shown = _fmt_pct(pct, target)
    met = math.isclose(pct, target, abs_tol=_EPS) if exact else pct + _EPS >= target
    if met:
        late = False
        if ctx.end is not None:
            in_time = [1 for (x, xn, xd) in usable if x.period.start <= ctx.end
                       and (math.isclose(100.0 * xn / xd, target, abs_tol=_EPS) if exact
                            else 100.0 * xn / xd + _EPS >= target)]
            late = not in_time and e.period.start > ctx.end
        reason = _t("Đạt {0}, {1}").format(shown, goal)
        if late:
            reason += _t(" (hoàn thành muộn, hạn {0})").format(fmt_date(ctx.end))
        return ctx.result(Progress.HOAN_THANH, percent=pct / 100, achieved=achieved, expected=target / 100,
                          reason=reason, late=late)
    if ctx.overdue:
        return ctx.result(Progress.QUA_HAN, percent=pct / 100, achieved=achieved, expected=target / 100,
                          reason=_t("Đạt {0}, {1}, quá hạn {2}").format(shown, goal, fmt_date(ctx.end)))
    over = exact and pct > target
    on_track = not over and pct + _EPS >= expected_pct
    if on_track:
        return ctx.result(Progress.DUNG_TIEN_DO, percent=pct / 100, achieved=achieved, expected=expected_pct / 100,
                          reason=_t("Đạt {0}, {1}, {2}").format(shown, goal, _remaining(pd, ctx.horizon)))
    if over:
        why = _t("Đạt {0}, vượt {1}").format(shown, goal)
    else:
        why = _t("Đạt {0}, cần {1} đến nay ({2})").format(shown, _fmt_pct(expected_pct), goal)
    return ctx.result(Progress.CHAM_TIEN_DO, percent=pct / 100, achieved=achieved, expected=expected_pct / 100,
                      reason=why)


# ------------------------------------------------------------------ count
def _dedupe(entries: Sequence[EntryValue], attr: str) -> list[EntryValue]:
    """Entries carrying `attr`, without overlaps: a longer period supersedes the shorter ones it
    contains (the quarterly figure replaces the monthly ones); for the same period the entry
    given last wins."""
    have = [e for e in entries if _finite(getattr(e, attr)) is not None]
    by_period: dict[ReportingPeriod, EntryValue] = {}
    for e in have:
        by_period[e.period] = e
    chosen: list[EntryValue] = []
    for p in sorted(by_period, key=lambda p: (-p.months, p.start)):
        if any(p.start <= c.period.end and c.period.start <= p.end for c in chosen):
            continue
        chosen.append(by_period[p])
    return sorted(chosen, key=lambda e: e.period.start)


def _counted(e: EntryValue) -> float:
    """The count of an entry `_dedupe(…, "count")` kept: always a finite number there."""
    n = _finite(e.count)
    return 0.0 if n is None else n


@dataclass
class _Unit:
    """A span the count is judged on: a `per` window, or a reported period longer than it."""
    label: str
    start: date
    end: date
    months: int
    required: int
    value: float = 0.0
    covered_months: int = 0
    period: ReportingPeriod | None = None


def _count(ctx: _Ctx) -> StatusResult:
    m = ctx.measure
    minimum = max(0, int(m.minimum or 0))
    per = m.per if m.per in PERIOD_TYPES or m.per == "plan" else "year"
    what = m.unit_label or _t("lần")
    entries = _dedupe(ctx.entries, "count")
    pd = ctx.progress_date

    units: list[_Unit] = []
    sub_missed: list[ReportingPeriod] = []
    if per == "plan":
        u = _Unit(_t("cả kỳ kế hoạch"), ctx.start, ctx.horizon,
                  max(1, _months_between(ctx.start, ctx.horizon) + 1), minimum)
        u.value = sum(_counted(e) for e in entries)
        units.append(u)
    else:
        per_months = PERIOD_MONTHS[per]
        windows = [w for w in ReportingPeriod.periods_of_year(per, ctx.plan_year) if w.start <= ctx.horizon]
        covered: set[ReportingPeriod] = set()
        for e in entries:           # reported periods longer than the window: judged as a whole
            if e.period.months > per_months and e.period.year == ctx.plan_year:
                inside = [w for w in windows if _subset(w, e.period)]
                if not inside:
                    continue
                covered.update(inside)
                units.append(_Unit(e.period.label, e.period.start, e.period.end, e.period.months,
                                   minimum * len(inside), _counted(e), e.period.months, e.period))
        for w in windows:
            if w in covered:
                continue
            u = _Unit(w.label, w.start, w.end, w.months, minimum, period=w)
            for e in entries:
                if _subset(e.period, w):
                    u.value += _counted(e)
                    u.covered_months += e.period.months
                    if not m.cumulative and e.period.months < w.months and e.period.end < ctx.as_of:
                        own = m.minimum_for(e.period) if m.minimum is not None else 0
                        if own and _counted(e) + _EPS < own:
                            sub_missed.append(e.period)
            units.append(u)
        units.sort(key=lambda u: u.start)
    total = sum(u.value for u in units)     # entries outside the plan year's windows do not count

    # what is due by the progress date, and which windows that have ended fell short
    expected = 0
    missed: list[_Unit] = []
    behind = False
    for u in units:
        if u.start > pd:
            continue
        if u.end < ctx.as_of and (ctx.period is None or u.end <= ctx.period.end):
            due = u.required
            if u.value + _EPS < due:
                missed.append(u)
        else:
            due = math.ceil(u.required * _complete_months(u.start, pd) / u.months - _EPS) \
                if per != "plan" else _plan_pro_rata(u, pd)
            if u.value + _EPS < due:
                behind = True
        expected += due

    need = sum(u.required for u in units)
    got = sum(min(u.value, u.required) for u in units if u.value > 0)
    percent = 1.0 if need == 0 else max(0.0, got) / need
    non_cum_incomplete = (not m.cumulative and per != "plan"
                          and any(u.period is not None and u.months <= PERIOD_MONTHS[per]
                                  and u.covered_months < u.months for u in units))
    all_met = all(u.value + _EPS >= u.required for u in units) and not sub_missed and not non_cum_incomplete
    shown_total = _fmt_number(total)
    shown_need = _fmt_number(need)
    missed_periods = tuple(sorted({u.period for u in missed if u.period is not None} | set(sub_missed),
                                  key=lambda p: (p.start, -p.months)))
    base = dict(percent=percent, achieved=_num(total), expected=expected, missed_periods=missed_periods)

    if all_met:
        return ctx.result(Progress.HOAN_THANH, reason=_t("Đạt {0}/{1} {2}").format(shown_total, shown_need, what),
                          **base)
    if ctx.overdue:
        return ctx.result(Progress.QUA_HAN, reason=_t("Chỉ đạt {0}/{1} {2}, quá hạn {3}").format(
            shown_total, shown_need, what, fmt_date(ctx.end)), **base)
    if missed or sub_missed:
        short = ", ".join(f"{u.label}: {_fmt_number(u.value)}/{u.required}" for u in missed[:3])
        if sub_missed:
            short = ", ".join(x for x in (short, _t("{0} chưa đạt").format(_list_periods(sub_missed))) if x)
        return ctx.result(Progress.CHAM_TIEN_DO, reason=_t("Không đạt tối thiểu ({0})").format(short), **base)
    if behind:
        return ctx.result(Progress.CHAM_TIEN_DO, reason=_t("Mới {0}/{1} {2} (cần {3}), {4}").format(
            shown_total, shown_need, what, expected, _remaining(pd, ctx.horizon)), **base)
    if total <= 0:
        return ctx.result(Progress.CHUA_THUC_HIEN, reason=_t("Chưa thực hiện (0/{0} {1}), {2}").format(
            shown_need, what, _remaining(pd, ctx.horizon)), **base)
    return ctx.result(Progress.DUNG_TIEN_DO, reason=_t("Đã thực hiện {0}/{1} {2}, {3}").format(
        shown_total, shown_need, what, _remaining(pd, ctx.horizon)), **base)


def _plan_pro_rata(u: _Unit, pd: date) -> int:
    span = (u.end - u.start).days + 1
    elapsed = (pd - u.start).days + 1
    share = 1.0 if span <= 0 else min(1.0, max(0.0, elapsed / span))
    return math.ceil(u.required * share - _EPS)


# ------------------------------------------------------------------ recurring (any measure kind)
_EVERY_UNIT = {"month": "tháng", "quarter": "quý", "half_year": "kỳ 6 tháng", "year": "năm"}


def _period_value(ctx: _Ctx, p: ReportingPeriod) -> tuple[bool, str]:
    """Was the measure met in due period `p`, and what was reached there ('80%', '1/2 lần')?

    Values count when entered for `p`, for a shorter period inside it, or for a longer period
    containing it (a quarterly report stating the monthly task was done)."""
    m = ctx.measure
    inside = [e for e in ctx.entries if _subset(e.period, p)]
    around = [e for e in ctx.entries if _subset(p, e.period) and e.period != p]
    if m.type == "ratio":
        target = _finite(m.target_percent)
        target = 100.0 if target is None else target
        usable = [(e, n, d) for e in inside or around
                  if (n := _finite(e.numerator)) is not None and (d := _finite(e.denominator)) is not None and d > 0]
        if not usable:
            return False, ""
        _, n, d = max(usable, key=lambda x: (x[0].period.end, -x[0].period.months))
        pct = 100.0 * n / d
        met = math.isclose(pct, target, abs_tol=_EPS) if m.comparison == "=" else pct + _EPS >= target
        return met, _fmt_pct(pct, target)
    if m.type == "count":
        minimum = max(0, int(m.minimum or 0))
        per = m.per if m.per in PERIOD_MONTHS else None
        need = minimum if per is None else (m.minimum_for(p) or math.ceil(minimum * p.months / PERIOD_MONTHS[per]))
        counted = [c for e in inside if (c := _finite(e.count)) is not None]
        if not counted:
            counted = [c / max(1, e.period.months // p.months) for e in around if (c := _finite(e.count)) is not None]
        got = sum(counted)
        return (bool(counted) and got + _EPS >= need), (f"{_fmt_number(got)}/{need}" if counted else "")
    done = any(e.done is True and not (isinstance(e.done_date, date) and e.done_date > ctx.as_of)
               for e in inside + around)
    return done, ""


def _periodic(ctx: _Ctx, rec: Recurrence) -> StatusResult:
    """A target judged in every `rec.every` period overlapping its window (docs/status-rules.md,
    'Recurring'): a recurring task, and any ratio, count, milestone or narrative that recurs."""
    every = rec.every if rec.every in PERIOD_TYPES else "month"
    rec = Recurrence(every, rec.start, rec.end, rec.text)
    wstart, wend = rec.window(ctx.plan_year, ctx.deadline)
    due = [p for p in rec.due_periods(ctx.plan_year, ctx.deadline) if p.start <= ctx.horizon or rec.end is not None]
    values = {p: _period_value(ctx, p) for p in due}
    done = [p for p in due if values[p][0]]
    grace = int(ctx.submission_days.get(every, 0) or 0)
    required = [p for p in due if p.submission_deadline(grace) < ctx.as_of
                and (ctx.period is None or p.end <= ctx.period.end)]
    missed = tuple(p for p in required if not values[p][0])
    unit = _t(_EVERY_UNIT[every])
    percent = len(done) / len(due) if due else None
    base = dict(percent=percent, achieved=(len(done), len(due)), expected=len(required))
    task = ctx.measure.type in ("recurring", "milestone", "qualitative")
    overdue = ctx.as_of > wend if (rec.start or rec.end) else ctx.overdue
    if due and len(done) == len(due):
        msg = _t("Đã thực hiện đủ {0}/{1} {2}") if task else _t("Đạt chỉ tiêu đủ {0}/{1} {2}")
        return ctx.result(Progress.HOAN_THANH, reason=msg.format(len(done), len(due), unit), **base)
    if missed:
        status = Progress.QUA_HAN if overdue else Progress.CHAM_TIEN_DO
        if task:
            reason = _t("{0} chưa thực hiện").format(_list_periods(missed))
        else:
            shown = [f"{p.label}: {values[p][1]}" for p in missed if values[p][1]]
            reason = _t("{0} chưa đạt chỉ tiêu {1}").format(_list_periods(missed), ctx.measure.label)
            if shown:
                reason += f" ({', '.join(shown[:3])})"
        return ctx.result(status, reason=reason, missed_periods=missed, **base)
    if not done:
        if not task and _has_progress(ctx):
            return ctx.result(Progress.DUNG_TIEN_DO, reason=_t("Đang thực hiện, kỳ đầu {0}").format(
                due[0].label if due else ""), **base)
        first = due[0].label if due else ""
        return ctx.result(Progress.CHUA_THUC_HIEN, reason=_t("Chưa thực hiện, chưa đến hạn kỳ đầu ({0})").format(
            first), **base)
    msg = _t("Đã thực hiện {0}/{1} {2}") if task else _t("Đạt chỉ tiêu {0}/{1} {2}")
    return ctx.result(Progress.DUNG_TIEN_DO, reason=msg.format(len(done), len(due), unit), **base)


# ------------------------------------------------------------------ milestone, qualitative
def _done_date(ctx: _Ctx) -> tuple[bool, date | None, bool]:
    """(done, completion date, late). A done date after the report date does not count yet; an
    entry marked done without a date is late only if its period starts after the deadline."""
    found: list[tuple[bool, bool, date, date | None]] = []
    for e in ctx.entries:
        if e.done is not True:
            continue
        dd = e.done_date if isinstance(e.done_date, date) else None
        if dd is not None and dd > ctx.as_of:
            continue
        if ctx.end is None:
            late = False
        elif dd is not None:
            late = dd > ctx.end
        else:
            late = e.period.start > ctx.end
        found.append((late, dd is None, dd or date.max, dd))
    if not found:
        return False, None, False
    late, _, _, dd = min(found)     # on time before late, then the earliest known date
    return True, dd, late


def _has_progress(ctx: _Ctx) -> bool:
    return any((e.text or "").strip() or _finite(e.count) is not None or _finite(e.numerator) is not None
               for e in ctx.entries)


def _done_reason(dd: date | None, late: bool, end: date | None) -> str:
    when = _t("Hoàn thành ngày {0}").format(fmt_date(dd)) if dd else _t("Đã hoàn thành")
    if late:
        when += _t(" (hoàn thành muộn, hạn {0})").format(fmt_date(end))
    return when


def _milestone(ctx: _Ctx) -> StatusResult:
    done, dd, late = _done_date(ctx)
    if done:
        return ctx.result(Progress.HOAN_THANH, percent=1.0, achieved=dd or True, expected=ctx.end,
                          reason=_done_reason(dd, late, ctx.end), late=late)
    if ctx.overdue:
        return ctx.result(Progress.QUA_HAN, expected=ctx.end,
                          reason=_t("Chưa hoàn thành, quá hạn {0}").format(fmt_date(ctx.end)))
    until = _t("hạn {0}").format(fmt_date(ctx.end)) if ctx.end else _t("không ghi thời hạn")
    if _has_progress(ctx):
        return ctx.result(Progress.DUNG_TIEN_DO, expected=ctx.end,
                          reason=_t("Đang thực hiện, {0}").format(until))
    return ctx.result(Progress.CHUA_THUC_HIEN, expected=ctx.end, reason=_t("Chưa thực hiện, {0}").format(until))


def _qualitative(ctx: _Ctx) -> StatusResult:
    done, dd, late = _done_date(ctx)
    if done:
        return ctx.result(Progress.HOAN_THANH, achieved=dd or True, expected=ctx.end,
                          reason=_done_reason(dd, late, ctx.end), late=late)
    if ctx.overdue:
        return ctx.result(Progress.QUA_HAN, expected=ctx.end,
                          reason=_t("Chưa hoàn thành, quá hạn {0}").format(fmt_date(ctx.end)))
    if any((e.text or "").strip() for e in ctx.entries):
        return ctx.result(Progress.DUNG_TIEN_DO, expected=ctx.end, reason=_t("Đã báo cáo kết quả thực hiện"))
    return ctx.result(Progress.CHUA_THUC_HIEN, expected=ctx.end, reason=_t("Chưa có kết quả thực hiện"))


_RULES = {"ratio": _ratio, "count": _count, "milestone": _milestone, "qualitative": _qualitative}


# ------------------------------------------------------------------ dashboard
def _status_of(r: Any) -> Progress | None:
    if r is None:
        return None
    if isinstance(r, StatusResult):
        return r.status
    return Progress(r)


def summarise(results: Iterable[StatusResult | Progress | None]) -> dict[Progress, int]:
    """Count of targets per evaluated state, every one present (0 included), in enum order. None
    and KHONG_AP_DUNG items (targets not applicable to the unit) are skipped."""
    out = {p: 0 for p in EVALUATED}
    for r in results:
        s = _status_of(r)
        if s is not None and s.evaluated:
            out[s] += 1
    return out


def completion_rate(results: Iterable[StatusResult | Progress | None]) -> float:
    """Share of HOAN_THANH among the applicable targets (None items are not applicable), as a
    fraction 0..1; 0.0 when no target applies."""
    counts = summarise(results)
    total = sum(counts.values())
    return counts[Progress.HOAN_THANH] / total if total else 0.0
