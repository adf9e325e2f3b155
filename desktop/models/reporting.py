"""Printed reports from the database: fills the export layer's documents (no layout here).

`unit_report_doc` turns one report (its approved snapshot once approved, the live entries while
a draft) into a `UnitReportDoc`; `consolidated_report_doc` turns the units' reports held at a
provincial office into a `ConsolidatedReportDoc`. PDF and xlsx bytes are produced by
`desktop.export.pdf` / `desktop.export.xlsx` from these documents: one layout engine.

This module must never import Qt.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Iterable

from sqlalchemy import select

from .dashboard import TargetStatus, evaluate_unit
from .domain import Measure, Plan, ReportingPeriod, Target
from .i18n import tr
from .progress import NARRATIVE_SECTIONS, ReportView, _plan, get_report, report_targets
from .schema import Report, Unit, User
from .status import Progress, to_document_status
from .units import get_unit, own_unit
from .vault import AppSession, Permission


def _indicator(m: Measure) -> str:
    try:
        return m.label
    except Exception:  # a measure with missing fields still prints
        return m.type


def _units_text(t: Target) -> str:
    lead = "; ".join(t.lead_units)
    coord = "; ".join(t.coordinating_units)
    if lead and coord:
        return f"{lead} (phối hợp: {coord})"
    return lead or (f"Phối hợp: {coord}" if coord else "")


def _result_xy(t: Target, entry, ts: TargetStatus | None):
    mt = t.measure.type
    if entry is None:
        return None
    if mt == "ratio" and entry.get("numerator") is not None and entry.get("denominator") is not None:
        return (int(float(entry["numerator"])), int(float(entry["denominator"])))
    if mt == "count" and ts is not None and ts.result.achieved is not None:
        minimum = t.measure.minimum
        return f"{ts.result.achieved}/{minimum}" if minimum else str(ts.result.achieved)
    if mt in ("milestone", "qualitative") and entry.get("done") == "1":
        return "Đã hoàn thành" + (f" ({_vn_date(entry['done_date'])})" if entry.get("done_date") else "")
    if mt == "recurring" and ts is not None and isinstance(ts.result.achieved, tuple):
        done, due = ts.result.achieved
        return f"{done}/{due} kỳ"
    return entry.get("result_text") or None


def _vn_date(iso: str) -> str:
    d = date.fromisoformat(iso)
    return d.strftime("%d/%m/%Y")


def _entries_of(view: ReportView, snapshot: dict | None) -> dict[str, dict]:
    if snapshot is not None:
        return snapshot.get("entries", {})
    out = {}
    for code, e in view.entries.items():
        out[code] = {
            "numerator": None if e.numerator is None else str(e.numerator),
            "denominator": None if e.denominator is None else str(e.denominator),
            "count": None if e.count is None else str(e.count), "done": "1" if e.done else ("0" if e.done is False else None),
            "done_date": e.done_date.isoformat() if e.done_date else None, "result_text": e.result_text,
            "difficulties": e.difficulties, "proposals": e.proposals}
    return out


def _header(session: AppSession, unit_code: str, period: ReportingPeriod, plan: Plan, as_of: date, kind: str):
    from desktop.export.documents import ReportHeader

    unit = get_unit(session, unit_code) or own_unit(session)
    parent = get_unit(session, unit.parent_code) if unit.parent_code else None
    symbol = unit.doc_symbol or unit.code
    subject = (tr("Reports", "Kết quả thực hiện {0}, {1}").format(plan.title[:1].lower() + plan.title[1:], period.label.lower())
               if kind == "unit" else
               tr("Reports", "Tổng hợp kết quả thực hiện {0}, {1}").format(plan.title[:1].lower() + plan.title[1:], period.label.lower()))
    return ReportHeader(
        parent_agency=(parent.name if parent else "").upper(),
        issuing_unit=unit.name.upper(),
        number_symbol=f"      /BC-{symbol}",
        place=unit.place_name or "",
        date=as_of,
        title="BÁO CÁO",
        subject=subject,
        recipients_line=parent.name if parent else "",
        unit_name=unit.name,
    ), unit, parent


def unit_report_doc(session: AppSession, report_id: int, verification=None, as_of: date | None = None):
    """The unit's periodic report as a printable document."""
    from desktop.export.documents import AppendixRow, GroupCompletion, SignatureBlock, UnitReportDoc

    session.require(Permission.VIEW)
    view = get_report(session, report_id)
    plan = _plan(session, view.plan_id, view.plan_version)
    snapshot = None
    if view.status not in ("nhap", "cho_duyet", "bi_tra_lai"):
        from .progress import approved_values

        snapshot = approved_values(session, report_id)
    as_of = as_of or (view.approved_at.date() if view.approved_at else date.today())
    header, unit, parent = _header(session, view.unit_code, view.period, plan, as_of, "unit")
    me = own_unit(session)
    if view.unit_code == me.code:
        targets = report_targets(session, view)
    else:  # a unit's report held at the province: every target the unit reported on, plan order
        codes = set(_entries_of(view, snapshot))
        targets = [t for t in plan.targets if t.code in codes]
    # the report speaks as at the end of its period (or today, for the current period)
    statuses = {ts.target.code: ts for ts in evaluate_unit(session, view.plan_id, min(as_of, view.period.end),
                                                           view.period, unit_code=view.unit_code, plan=plan,
                                                           targets=targets)}
    entries = _entries_of(view, snapshot)
    groups = {g.code: g.title for g in plan.groups}
    rows = []
    for i, t in enumerate(targets, 1):
        e = entries.get(t.code)
        ts = statuses.get(t.code)
        rows.append(AppendixRow(
            tt=str(i), target_text=t.text, indicator=_indicator(t.measure), units=_units_text(t),
            deadline=t.deadline.label(plan.year), result_xy=_result_xy(t, e, ts),
            percent=ts.result.percent if ts is not None and t.measure.type in ("ratio", "count", "recurring") else None,
            status=to_document_status(ts.result.status) if ts is not None else None,
            difficulties=(e or {}).get("difficulties") or "", proposals=(e or {}).get("proposals") or "",
            group=f"{t.group_code}. {groups.get(t.group_code, '')}", code=t.code))
    completion = []
    for g in plan.groups:
        items = [statuses[t.code] for t in targets if t.group_code == g.code and t.code in statuses]
        if items:
            done = sum(1 for x in items if x.result.status is Progress.HOAN_THANH)
            completion.append(GroupCompletion(label=g.title, percent=done / len(items), done=done, total=len(items),
                                              code=g.code))
    narrative = (snapshot or {}).get("narrative") if snapshot else view.narrative
    sections = {k: (narrative or {}).get(k, "") for k in NARRATIVE_SECTIONS}
    signer = ""
    with session.db.session() as s:
        r = s.get(Report, report_id)
        if r.approved_by:
            u = s.get(User, r.approved_by)
            signer = (u.full_name or u.username) if u else ""
    recipients = [x for x in (parent.name if parent else "", "Lãnh đạo đơn vị", "Lưu: VT.") if x]
    if parent:
        recipients[0] = f"{parent.name} (để báo cáo)"
    return UnitReportDoc(
        header=header, sections=sections, rows=rows, group_completion=completion, recipients=recipients,
        signature=SignatureBlock(authority="", title="VIỆN TRƯỞNG", name=signer),
        verification=verification)


def unit_report_pdf(session: AppSession, report_id: int, verification=None, as_of: date | None = None) -> bytes:
    from desktop.export.pdf import render_unit_report

    buf = io.BytesIO()
    render_unit_report(unit_report_doc(session, report_id, verification, as_of), buf)
    return buf.getvalue()


def unit_report_xlsx(session: AppSession, report_id: int, as_of: date | None = None) -> bytes:
    from desktop.export.xlsx import write_appendix_xlsx

    buf = io.BytesIO()
    write_appendix_xlsx(unit_report_doc(session, report_id, None, as_of), buf)
    return buf.getvalue()


def default_verification(session: AppSession, bundle_sha256: str | None = None):
    """The verification block: the unit's signing-key fingerprint (when keys exist) and the bundle hash."""
    from desktop.export.documents import Verification

    fingerprint = ""
    try:
        from . import keystore  # provided by the exchange layer

        fingerprint = keystore.own_fingerprint(session) or ""
    except Exception:
        fingerprint = ""
    return Verification(bundle_sha256=bundle_sha256, key_fingerprint=fingerprint)


# ------------------------------------------------------------------ consolidated (province)
def consolidated_report_doc(session: AppSession, plan_id: str, period: ReportingPeriod, as_of: date | None = None,
                            unit_codes: Iterable[str] | None = None, verification=None):
    """Units × targets for the subordinate units' reports held at this office."""
    from desktop.export.documents import (ConsolidatedReportDoc, MatrixCell, ReportingRate, SignatureBlock,
                                          Submission, TargetRef, UnitRef)

    session.require(Permission.VIEW)
    plan = _plan(session, plan_id)
    as_of = as_of or date.today()
    me = own_unit(session)
    with session.db.session() as s:
        subs = s.scalars(select(Unit).where(Unit.parent_code == me.code, Unit.active.is_(True)).order_by(Unit.code)).all()
        units = [UnitRef(u.code, u.name, u.short_name) for u in subs if unit_codes is None or u.code in set(unit_codes)]
        reports = {r.unit_code: r for r in s.scalars(select(Report).where(
            Report.plan_id == plan_id, Report.period_key == period.key, Report.unit_code.in_([u.code for u in units])))}
        rep_info = {code: (r.received_at or r.sent_at or r.updated_at, r.status) for code, r in reports.items()}
    days = dict(plan.submission_deadlines).get(period.type, 0)
    deadline = period.submission_deadline(days)
    from .consolidation import consolidated_targets

    targets = consolidated_targets(session, plan)
    cells = {}
    submissions = {}
    on_time = late = 0
    eval_date = min(as_of, deadline)
    for u in units:
        if u.code not in reports:
            continue
        received_at, _status = rep_info[u.code]
        ok = received_at.date() <= deadline if received_at else None
        on_time += 1 if ok else 0
        late += 0 if ok else 1
        submissions[u.code] = Submission(submitted_on=received_at.date() if received_at else None, on_time=ok)
        for ts in evaluate_unit(session, plan_id, eval_date, period, unit_code=u.code, plan=plan, targets=targets):
            value = ts.result.percent if ts.result.percent is not None else None
            cells[(u.code, ts.target.code)] = MatrixCell(status=to_document_status(ts.result.status), value=value)
    rate = ReportingRate(expected=len(units), received=len(reports), on_time=on_time, late=late)
    header, _unit, _parent = _header(session, me.code, period, plan, as_of, "consolidated")
    summary = tr("Reports", "Đã nhận {0}/{1} báo cáo của đơn vị trực thuộc ({2} đúng hạn, {3} muộn; hạn nộp {4}).").format(
        len(reports), len(units), on_time, late, deadline.strftime("%d/%m/%Y"))
    return ConsolidatedReportDoc(
        header=header, units=units,
        targets=[TargetRef(t.code, t.text, t.group_code) for t in targets], cells=cells, reporting=rate,
        summary=summary, submissions=submissions,
        recipients=[x for x in ((_parent.name + " (để báo cáo)") if _parent else "", "Lưu: VT.") if x],
        signature=SignatureBlock(authority="", title="VIỆN TRƯỞNG", name=""), verification=verification)


def consolidated_pdf(session: AppSession, plan_id: str, period: ReportingPeriod, as_of: date | None = None) -> bytes:
    from desktop.export.pdf import render_consolidated_report

    buf = io.BytesIO()
    render_consolidated_report(consolidated_report_doc(session, plan_id, period, as_of), buf)
    return buf.getvalue()


def consolidated_xlsx(session: AppSession, plan_id: str, period: ReportingPeriod, as_of: date | None = None) -> bytes:
    from desktop.export.xlsx import write_consolidated_xlsx

    buf = io.BytesIO()
    write_consolidated_xlsx(consolidated_report_doc(session, plan_id, period, as_of), buf)
    return buf.getvalue()

