"""The home screen's figures: completion overall and per group, overdue and due-soon targets,
reports awaiting approval, last export and last receipt.

One query reads every entry of the unit for the plan (the evidence store is never touched, so
2 GB of attachments do not slow it down); the status rules in `status.py` do the rest.
This module must never import Qt.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable

from sqlalchemy import select

from desktop.models.domain.plan import Plan, ReportingPeriod, Target
from .progress import ASSIGNED_ORIGINS, PENDING, ReportSummary, _plan, _self_unit, targets_for_unit
from desktop.models.storage.schema import AuditRecord, ProgressEntry, Report
from desktop.models.domain.status import EntryValue, Progress, StatusResult, completion_rate, evaluate, summarise
from desktop.models.storage.vault import AppSession, Permission
from desktop.models.domain.workflow import ReportState


@dataclass(frozen=True)
class TargetStatus:
    plan_id: str
    target: Target
    result: StatusResult
    group_title: str
    latest_period: str | None  # period key of the newest report holding a value


class _Completion:
    """`done` of `total` targets complete (fields of the dataclasses below)."""

    total: int
    done: int

    @property
    def rate(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True)
class GroupStat(_Completion):
    code: str
    title: str
    total: int
    done: int


@dataclass(frozen=True)
class PeriodStat(_Completion):
    """Completion of the unit's targets as it stood at the end of one reporting period."""

    period_key: str
    label: str
    short_label: str
    total: int
    done: int


@dataclass(frozen=True)
class ReturnedReport:
    """A report of this unit that the superior office returned, with its reason."""

    id: int
    plan_id: str
    period_key: str
    period_label: str
    reason: str
    target_comments: int
    returned_at: datetime


@dataclass
class Dashboard:
    as_of: date
    plan_id: str | None
    plan_title: str = ""
    plan_year: int | None = None
    overall_rate: float = 0.0
    counts: dict = field(default_factory=dict)
    groups: list[GroupStat] = field(default_factory=list)
    overdue: list[TargetStatus] = field(default_factory=list)
    due_soon: list[TargetStatus] = field(default_factory=list)
    awaiting_approval: list[ReportSummary] = field(default_factory=list)
    last_export: datetime | None = None
    last_receipt: datetime | None = None
    statuses: list[TargetStatus] = field(default_factory=list)
    periods: list[PeriodStat] = field(default_factory=list)
    returned: list[ReturnedReport] = field(default_factory=list)


def entry_values(s, plan_id: str, unit_code: str, upto: ReportingPeriod | None) -> dict[str, list[EntryValue]]:
    rows = s.connection().execute(  # plain rows: no ORM processing of every entry
        select(Report.period_key, ProgressEntry.target_code, ProgressEntry.numerator, ProgressEntry.denominator,
               ProgressEntry.count, ProgressEntry.done, ProgressEntry.done_date, ProgressEntry.result_text)
        .join(Report, Report.id == ProgressEntry.report_id)
        .where(Report.plan_id == plan_id, Report.unit_code == unit_code)).all()
    out: dict[str, list[EntryValue]] = defaultdict(list)
    for period_key, code, num, den, cnt, done, done_date, text in rows:
        period = ReportingPeriod.parse(period_key)
        if upto is not None and period.end > upto.end:
            continue
        out[code].append(_entry_value(period, num, den, cnt, done, done_date, text))
    return out


def _entry_value(period, num, den, cnt, done, done_date, text) -> EntryValue:
    return EntryValue(period, num, den, cnt, done, date.fromisoformat(done_date) if done_date else None, text or "")


def entry_values_of_units(s, plan_id: str, unit_codes: Iterable[str], target_codes: Iterable[str],
                          upto: ReportingPeriod) -> dict[str, dict[str, list[EntryValue]]]:
    """`entry_values` for several units and only some targets, in one query: unit → target → values."""
    units, codes = set(unit_codes), list(target_codes)
    out: dict[str, dict[str, list[EntryValue]]] = defaultdict(lambda: defaultdict(list))
    if not units or not codes:
        return out
    rows = s.connection().execute(
        select(Report.unit_code, Report.period_key, ProgressEntry.target_code, ProgressEntry.numerator,
               ProgressEntry.denominator, ProgressEntry.count, ProgressEntry.done, ProgressEntry.done_date,
               ProgressEntry.result_text)
        .join(Report, Report.id == ProgressEntry.report_id)
        .where(Report.plan_id == plan_id, ProgressEntry.target_code.in_(codes)))
    for unit, period_key, code, num, den, cnt, done, done_date, text in rows:
        if unit not in units:
            continue
        period = ReportingPeriod.parse(period_key)
        if period.end > upto.end:
            continue
        out[unit][code].append(_entry_value(period, num, den, cnt, done, done_date, text))
    return out


def evaluate_unit(session: AppSession, plan_id: str, as_of: date, period: ReportingPeriod | None = None,
                  unit_code: str | None = None, plan: Plan | None = None,
                  targets: list[Target] | None = None) -> list[TargetStatus]:
    """Status of every target the unit reports on, on date `as_of` (optionally up to `period`)."""
    session.require(Permission.VIEW)
    plan = plan or _plan(session, plan_id)
    groups = {g.code: g.display_title for g in plan.groups}
    with session.db.session() as s:
        me = _self_unit(s)
        code = unit_code or me.code
        if targets is None:
            targets = targets_for_unit(plan, me.level, (me.name, me.short_name), unit_code=me.code)
        values = entry_values(s, plan_id, code, period)
    days = dict(plan.submission_deadlines)
    out = []
    for t in targets:
        entries = values.get(t.code, [])
        result = evaluate(t, plan.year, entries, as_of, period, submission_days=days)
        latest = max((e.period for e in entries), key=lambda p: p.end).key if entries else None
        out.append(TargetStatus(plan_id, t, result, groups.get(t.group_code, t.group_code), latest))
    return out


def completion_by_period(session: AppSession, plan_id: str, as_of: date, period_type: str = "month",
                         plan: Plan | None = None) -> list[PeriodStat]:
    """Completion at the end of each period of the plan's year that has started by `as_of` (the
    current one as of `as_of`): the dashboard's "over periods" chart. One query for all periods."""
    session.require(Permission.VIEW)
    plan = plan or _plan(session, plan_id)
    with session.db.session() as s:
        me = _self_unit(s)
        targets = targets_for_unit(plan, me.level, (me.name, me.short_name), unit_code=me.code)
        values = entry_values(s, plan_id, me.code, None)
    days = dict(plan.submission_deadlines)
    out = []
    for period in ReportingPeriod.periods_of_year(period_type, plan.year):
        if period.start > as_of:
            break
        when = min(period.end, as_of)
        results = [evaluate(t, plan.year, [e for e in values.get(t.code, []) if e.period.end <= period.end], when,
                            period, submission_days=days) for t in targets]
        counts = summarise(results)
        short = f"T{period.index}" if period_type == "month" else period.label
        out.append(PeriodStat(period.key, period.label, short, sum(counts.values()), counts[Progress.HOAN_THANH]))
    return out


def returned_reports(session: AppSession) -> list[ReturnedReport]:
    """This unit's reports returned by the superior office and not yet revised (newest first)."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        me = _self_unit(s).code
        rows = s.scalars(select(Report).where(Report.status == ReportState.RETURNED, Report.unit_code == me)
                         .order_by(Report.updated_at.desc())).all()
        out = []
        for r in rows:
            comments = json.loads(r.return_comments) if r.return_comments else {}
            out.append(ReturnedReport(r.id, r.plan_id, r.period_key, ReportingPeriod.parse(r.period_key).label,
                                      str(comments.get("general") or ""), len(comments.get("targets") or {}),
                                      r.updated_at))
        return out


def default_plan_id(session: AppSession) -> str | None:
    """The plan the unit works on: the one with the latest report activity, else the newest year."""
    from . import plans

    items = plans.list_plans(session)
    if not items:
        return None
    with session.db.session() as s:
        recent = s.scalars(select(Report.plan_id).order_by(Report.updated_at.desc()).limit(1)).first()
    if recent and any(p.id == recent for p in items):
        return recent
    own = [p for p in items if p.origin in ASSIGNED_ORIGINS]
    pool = own or items
    return max(pool, key=lambda p: (p.year, p.target_count)).id


def build_dashboard(session: AppSession, plan_id: str | None = None, as_of: date | None = None) -> Dashboard:
    session.require(Permission.VIEW)
    as_of = as_of or date.today()
    plan_id = plan_id or default_plan_id(session)
    board = Dashboard(as_of=as_of, plan_id=plan_id)
    board.returned = returned_reports(session)
    if plan_id is None:
        return board
    plan = _plan(session, plan_id)
    board.plan_title = plan.title
    board.plan_year = plan.year
    statuses = evaluate_unit(session, plan_id, as_of, plan=plan)
    board.statuses = statuses
    results = [ts.result for ts in statuses]
    board.overall_rate = completion_rate(results)
    board.counts = summarise(results)
    by_group: dict[str, list[TargetStatus]] = defaultdict(list)
    for ts in statuses:
        by_group[ts.target.group_code].append(ts)
    for g in plan.groups:
        items = by_group.get(g.code)
        if items:
            board.groups.append(GroupStat(g.code, g.display_title, len(items),
                                          sum(1 for x in items if x.result.status is Progress.HOAN_THANH)))
    horizon = as_of + timedelta(days=30)
    due_soon: list[tuple[date, TargetStatus]] = []
    for ts in statuses:
        st = ts.result.status
        if st is Progress.QUA_HAN:
            board.overdue.append(ts)
        elif st is not Progress.HOAN_THANH:
            end = ts.target.deadline.end_date(plan.year)
            if end is not None and as_of <= end <= horizon:
                due_soon.append((end, ts))
    board.due_soon = [ts for _end, ts in sorted(due_soon, key=lambda pair: pair[0])]
    board.periods = completion_by_period(session, plan_id, as_of, plan=plan)
    with session.db.session() as s:
        pending = s.scalars(select(Report).where(Report.status == PENDING).order_by(Report.updated_at)).all()
        board.awaiting_approval = [ReportSummary(r.id, r.plan_id, r.period_key, r.unit_code, r.status, r.updated_at,
                                                 r.revision) for r in pending]
        board.last_export = s.scalar(select(Report.sent_at).where(Report.sent_at.is_not(None))
                                     .order_by(Report.sent_at.desc()).limit(1))
        board.last_receipt = s.scalar(select(Report.received_at).where(Report.received_at.is_not(None))
                                      .order_by(Report.received_at.desc()).limit(1))
        if board.last_export is None:
            ts = s.scalar(select(AuditRecord.ts).where(AuditRecord.action == "bundle.export")
                          .order_by(AuditRecord.id.desc()).limit(1))
            board.last_export = datetime.fromisoformat(ts) if ts else None
    return board
