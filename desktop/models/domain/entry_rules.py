"""Rules of entering one target's progress in a report: what a value may be, what counts as
"entered" (đã nhập), how typed values are saved in valid steps, what earlier reports of the year
say about this one, and the live status of what is on screen.

Pure functions over plain values (a target, dicts of field values, objects with ``period`` and
``entries`` for the unit's other reports): no database, no Qt. The entry form
(``desktop/ui/entry_form.py``) shows what these functions decide; ``progress.record_progress``
(the service) validates with the same :func:`validate_entry` before it writes.

A *values* dict maps the field names of :data:`ENTRY_FIELDS` to what was typed or saved:
numbers (or None: not entered), ``done`` (bool), ``done_date`` (a date or None) and the texts.

This module must never import Qt.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping, Protocol, Sequence

from .plan import ReportingPeriod, Target, fmt_date
from .i18n import nfc, tr
from .status import EntryValue, StatusResult, evaluate
from .workflow import ReportState

__all__ = ["ENTRY_FIELDS", "TEXT_FIELDS", "NUMBER_FIELDS", "COUNT_LIMIT_PER_MONTH", "FieldProblem",
           "validate_entry", "empty_values", "values_of", "same_value", "is_entered", "not_entered",
           "related_fields", "saveable", "field_batches", "EarlierDone", "earlier_count", "earlier_done",
           "redated_warning", "report_date", "status_of", "fold", "matches_search", "default_period",
           "period_in_work", "COMMENT_STATES", "return_comment"]

ENTRY_FIELDS = ("numerator", "denominator", "count", "done", "done_date", "result_text", "difficulties", "proposals")
TEXT_FIELDS = frozenset({"result_text", "difficulties", "proposals"})
NUMBER_FIELDS = ("numerator", "denominator", "count")
#: A count is of events (meetings, trainings, inspections): more than this many a month is a typing
#: slip (99.999 meetings), refused with the reason rather than stored.
COUNT_LIMIT_PER_MONTH = 1_000


def _t(text: str) -> str:
    return tr("Progress", text)


@dataclass(frozen=True)
class FieldProblem:
    """A value that breaks a rule: the field it concerns and the Vietnamese reason."""

    target_code: str
    field: str
    message: str


class _Report(Protocol):
    """What the rules read of another report of the unit (``progress.ReportView`` has it)."""

    period: ReportingPeriod
    entries: Mapping[str, Any]


# ------------------------------------------------------------------ validation
def _fmt(v: float) -> str:
    return f"{v:g}".replace(".", ",")


def _fmt_int(n: float) -> str:
    return f"{int(n):,}".replace(",", ".")


def validate_entry(target: Target, plan_year: int, values: Mapping[str, Any],
                   period: ReportingPeriod | None = None, today: date | None = None) -> list[FieldProblem]:
    """Field-level problems with the reason, as the form shows them while typing and the service
    refuses them when saving. `today` (default: the clock) bounds a completion date."""
    problems = []
    code = target.code
    num, den, cnt = values.get("numerator"), values.get("denominator"), values.get("count")
    for name, v in (("numerator", num), ("denominator", den), ("count", cnt)):
        if v is not None and v < 0:
            problems.append(FieldProblem(code, name, _t("Không được nhập số âm.")))
    if num is not None and den is not None and den == 0 and num > 0:
        problems.append(FieldProblem(code, "denominator", _t(
            "Mẫu số phải lớn hơn 0: có {0} việc đã đạt thì tổng số việc phải có ít nhất {0}.").format(_fmt(num))))
    elif num is not None and den is not None and num > den:
        problems.append(FieldProblem(code, "numerator", _t("Tử số ({0}) không được lớn hơn mẫu số ({1}).")
                                     .format(_fmt(num), _fmt(den))))
    if cnt is not None and int(cnt) != cnt:
        problems.append(FieldProblem(code, "count", _t("Số lần phải là số nguyên.")))
    months = period.months if period is not None else 12
    if cnt is not None and cnt > COUNT_LIMIT_PER_MONTH * months:
        what = target.measure.unit_label or _t("lần")
        problems.append(FieldProblem(code, "count", _t(
            "{0} {1} trong một kỳ {2} tháng là không hợp lý (tối đa {3}); hãy kiểm tra lại số đã gõ.")
            .format(_fmt_int(cnt), what, months, _fmt_int(COUNT_LIMIT_PER_MONTH * months))))
    d = values.get("done_date")
    if d is not None:
        if isinstance(d, str):
            try:
                d = date.fromisoformat(d)
            except ValueError:
                problems.append(FieldProblem(code, "done_date", _t("Ngày không hợp lệ.")))
                d = None
        if d is not None and d.year != plan_year:
            problems.append(FieldProblem(code, "done_date", _t("Ngày hoàn thành phải trong năm {0} của kế hoạch.")
                                         .format(plan_year)))
        if d is not None and d > (today or date.today()):
            problems.append(FieldProblem(code, "done_date", _t("Ngày hoàn thành không được sau hôm nay.")))
    return problems


# ------------------------------------------------------------------ values
def empty_values() -> dict[str, Any]:
    """Nothing entered yet: numbers None, not done, empty texts."""
    return {f: ("" if f in TEXT_FIELDS else None) for f in ENTRY_FIELDS}


def values_of(entry: Any | None) -> dict[str, Any]:
    """The values of a saved entry (anything with the :data:`ENTRY_FIELDS` attributes), or
    :func:`empty_values` for None."""
    if entry is None:
        return empty_values()
    return {f: getattr(entry, f) for f in ENTRY_FIELDS}


def same_value(name: str, a: Any, b: Any) -> bool:
    """Would saving `a` over `b` change nothing? Texts compare NFC and stripped (what is stored),
    ``done`` as a truth value."""
    if name in TEXT_FIELDS:
        return nfc(a or "").strip() == nfc(b or "").strip()
    if name == "done":
        return bool(a) == bool(b)
    return a == b


def is_entered(target: Target, values: Mapping[str, Any]) -> bool:
    """Has a result been entered for the target ("đã nhập")? A figure of its measure (either side
    of a ratio, a count), a completion, or the result text. Difficulties and proposals alone are
    not a result."""
    m = target.measure
    if m.type == "ratio" and (values.get("numerator") is not None or values.get("denominator") is not None):
        return True
    if m.type == "count" and values.get("count") is not None:
        return True
    if values.get("done"):
        return True
    return bool((values.get("result_text") or "").strip())


def not_entered(targets: Iterable[Target], values: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Codes of the targets without a result (:func:`is_entered`), in the given order; `values`
    maps a code to its values (a missing code has none)."""
    return [t.code for t in targets if not is_entered(t, values.get(t.code) or {})]


# ------------------------------------------------------------------ saving in valid steps
def related_fields(fields: set[str]) -> set[str]:
    """Fields judged together: both sides of a ratio, a completion and its date."""
    if fields & {"numerator", "denominator"}:
        fields = fields | {"numerator", "denominator"}
    if fields & {"done", "done_date"}:
        fields = fields | {"done", "done_date"}
    return fields


def saveable(target: Target, plan_year: int, period: ReportingPeriod, saved: Mapping[str, Any],
             pending: Mapping[str, Any], today: date | None = None) -> dict[str, Any]:
    """The pending fields that can be saved now without breaking a rule (an invalid value and the
    fields judged with it stay pending; the others are saved)."""
    candidate = dict(pending)
    while candidate:
        problems = validate_entry(target, plan_year, {**saved, **candidate}, period, today)
        if not problems:
            return candidate
        bad = related_fields({p.field for p in problems})
        keep = {k: v for k, v in candidate.items() if k not in bad}
        if len(keep) == len(candidate):
            return {}
        candidate = keep
    return {}


def field_batches(target: Target, plan_year: int, period: ReportingPeriod, saved: Mapping[str, Any],
                  fields: Mapping[str, Any], today: date | None = None) -> list[dict[str, Any]]:
    """Split a save into one call per field, in an order in which each call is valid on its own
    (a denominator before a larger numerator); fields only valid together (both sides of a ratio
    moving past each other) go in one call. Each call becomes one revision per field."""
    state = dict(saved)
    remaining = dict(fields)
    batches: list[dict[str, Any]] = []
    while remaining:
        ready = next((k for k, v in remaining.items()
                      if not validate_entry(target, plan_year, {**state, k: v}, period, today)), None)
        if ready is None:
            batches.append(remaining)
            break
        batches.append({ready: remaining.pop(ready)})
        state[ready] = batches[-1][ready]
    return batches


# ------------------------------------------------------------------ the earlier reports of the year
def _earlier(period: ReportingPeriod, others: Iterable[_Report]) -> list[_Report]:
    return [o for o in others if o.period.year == period.year and o.period.end < period.start]


def earlier_count(code: str, period: ReportingPeriod, others: Iterable[_Report]) -> float:
    """Count measures: the total reported for `code` in the earlier periods of the same type and
    year (the running total shown next to this period's count)."""
    total = 0.0
    for o in _earlier(period, others):
        e = o.entries.get(code)
        if o.period.type == period.type and e is not None and e.count is not None:
            total += e.count
    return total


@dataclass(frozen=True)
class EarlierDone:
    """An earlier report of the year that marked the target done."""

    period: ReportingPeriod
    done_date: date | None


def earlier_done(code: str, period: ReportingPeriod, others: Iterable[_Report]) -> EarlierDone | None:
    """The first earlier period of the year whose report marked `code` done (a milestone is
    completed once)."""
    done = [o for o in _earlier(period, others) if code in o.entries and o.entries[code].done]
    if not done:
        return None
    first = min(done, key=lambda o: (o.period.end, o.period.start))
    return EarlierDone(first.period, first.entries[code].done_date)


def redated_warning(earlier: EarlierDone | None, values: Mapping[str, Any]) -> str:
    """A completed milestone ticked again with another date: the Vietnamese warning, or "".
    The value is not refused (the earlier date may have been wrong); the reason is asked for."""
    if earlier is None or earlier.done_date is None or not values.get("done"):
        return ""
    typed = values.get("done_date")
    if typed is None or typed == earlier.done_date:
        return ""
    return _t("Ngày đang nhập ({0}) khác ngày đã báo hoàn thành ({1}, báo cáo {2}); nếu ngày trước là sai, "
              "hãy ghi rõ lý do ở ô “Khó khăn, vướng mắc”.").format(
        fmt_date(typed), fmt_date(earlier.done_date), earlier.period.label)


# ------------------------------------------------------------------ status of what is on screen
def report_date(today: date, period: ReportingPeriod) -> date:
    """The date the status of a report is computed for: the period's last day, or today while the
    period runs."""
    return min(today, period.end)


def _entry_value(period: ReportingPeriod, v: Mapping[str, Any]) -> EntryValue:
    return EntryValue(period=period, numerator=v.get("numerator"), denominator=v.get("denominator"),
                      count=v.get("count"), done=v.get("done"), done_date=v.get("done_date"),
                      text=v.get("result_text") or "")


def status_of(target: Target, plan_year: int, period: ReportingPeriod, values: Mapping[str, Any],
              others: Sequence[_Report], as_of: date,
              submission_days: Mapping[str, int] | None = None) -> StatusResult:
    """The status of `target` with `values` for `period` and what the unit's other reports of the
    plan recorded (the live status while typing)."""
    entries = [_entry_value(o.period, values_of(o.entries[target.code]))
               for o in others if target.code in o.entries]
    entries.append(_entry_value(period, values))
    return evaluate(target, plan_year, entries, as_of, period, submission_days=submission_days)


# ------------------------------------------------------------------ which report, and the superior's comments
def default_period(plan_year: int, period_type: str, today: date) -> ReportingPeriod:
    """The period containing today in the plan's year; the year's last period once it is past,
    its first one before it starts."""
    if today.year == plan_year:
        return ReportingPeriod.containing(period_type, today)
    periods = ReportingPeriod.periods_of_year(period_type, plan_year)
    return periods[-1] if today.year > plan_year else periods[0]


def period_in_work(plan_year: int, summaries: Sequence[Any], today: date) -> ReportingPeriod:
    """The period a unit is working on, from its reports of the plan (objects with ``status``,
    ``period_key``, ``updated_at``; not empty): its most recently changed report that can still
    be edited (a draft, a returned one); otherwise the period after its latest report, once that
    period has begun; otherwise that latest report's period."""
    editable = [s for s in summaries if ReportState(s.status).editable]
    if editable:
        return ReportingPeriod.parse(max(editable, key=lambda s: s.updated_at).period_key)
    latest = max((ReportingPeriod.parse(s.period_key) for s in summaries), key=lambda p: (p.end, -p.months))
    same_type = ReportingPeriod.periods_of_year(latest.type, plan_year)
    following = [p for p in same_type if p.start > latest.end and p.start <= today]
    return following[0] if following else latest


#: Report states in which the superior's return comments still apply (the correction cycle).
COMMENT_STATES = frozenset({ReportState.RETURNED, ReportState.DRAFT, ReportState.PENDING})


def return_comment(report: Any, code: str | None = None) -> str:
    """The superior office's comment on target `code` (or the general one, code None) of a report
    (``status``, ``return_comments``), while it is being corrected; "" otherwise."""
    if report.status not in COMMENT_STATES:
        return ""
    comments = report.return_comments or {}
    if code is None:
        return nfc(comments.get("general", ""))
    return nfc((comments.get("targets") or {}).get(code, ""))


# ------------------------------------------------------------------ finding a target
def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics ("Đạt" -> "dat"): what a search compares, so
    "chi dao" finds "chỉ đạo"."""
    decomposed = unicodedata.normalize("NFD", nfc(text or "").replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def matches_search(query: str, *texts: str) -> bool:
    """Every word of `query` occurs, diacritics-insensitive, in one of `texts` (code, wording…);
    an empty query matches everything."""
    words = fold(query).split()
    haystack = " ".join(fold(t) for t in texts)
    return all(w in haystack for w in words)
