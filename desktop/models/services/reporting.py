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

from desktop.export.vnformat import fmt_percent

from . import signer as signer_mod
from desktop.models.domain import workflow
from .dashboard import TargetStatus, evaluate_unit
from desktop.models.domain.plan import Measure, Plan, ReportingPeriod, Target, roman
from desktop.models.domain.i18n import tr
from .progress import NARRATIVE_SECTIONS, ReportView, _get_report, _plan, get_report, report_targets
from desktop.models.storage.schema import Report, Unit
from desktop.models.domain.status import Progress
from .units import get_unit, own_unit
from desktop.models.storage.vault import AppSession, Permission


RETURNED = workflow.ReportState.RETURNED


def _indicator(m: Measure) -> str:
    """The indicator as a secretary writes it ("Đạt 100%", "Từ 90% trở lên"), not "Tỷ lệ ≥ 90%"."""
    if m.type == "ratio" and m.target_percent is not None:
        pct = fmt_percent(float(m.target_percent) / 100)
        if m.comparison == "=" or float(m.target_percent) >= 100:
            return tr("Reports", "Đạt {0}").format(pct)
        return tr("Reports", "Từ {0} trở lên").format(pct)
    if m.type == "milestone":
        return tr("Reports", "Hoàn thành")
    try:
        return m.label
    except Exception:  # a measure with missing fields still prints
        return m.type


def in_sentence(label: str) -> str:
    """A period label inside a sentence: "Quý I/2025" → "quý I/2025" (only the first letter)."""
    return label[:1].lower() + label[1:] if label else label


def _group_labels(plan: Plan, targets: Iterable[Target]) -> dict[str, str]:
    """Group code → "I. Title", numbered in plan order among the groups that are printed."""
    used = {t.group_code for t in targets}
    out: dict[str, str] = {}
    for g in plan.groups:
        if g.code in used:
            out[g.code] = f"{roman(len(out) + 1)}. {g.display_title}"
    return out


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
    return None  # the clerk's text is printed in its own column ("Kết quả thực hiện")


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
            "difficulties": e.difficulties, "proposals": e.proposals,
            "evidence": [ev.sha256 for ev in e.evidence]}
    return out


def _header(session: AppSession, unit_code: str, period: ReportingPeriod, plan: Plan, as_of: date, kind: str):
    from desktop.export.documents import ReportHeader

    unit = get_unit(session, unit_code) or own_unit(session)
    parent = get_unit(session, unit.parent_code) if unit.parent_code else None
    symbol = unit.doc_symbol or unit.code
    plan_title = plan.title[:1].lower() + plan.title[1:]
    subject = (tr("Reports", "Kết quả thực hiện {0}, {1}") if kind == "unit" else
               tr("Reports", "Tổng hợp kết quả thực hiện {0}, {1}")).format(plan_title, in_sentence(period.label))
    return ReportHeader(
        parent_agency=(parent.name if parent else "").upper(),
        issuing_unit=unit.name.upper(),
        number_symbol=f"/BC-{symbol}",  # the number is written by the records office (văn thư)
        place=unit.place_name or "",
        date=as_of,
        title="BÁO CÁO",
        subject=subject,
        recipients_line=parent.name if parent else "",
        unit_name=unit.name,
    ), unit, parent


def _recipients(parent, drafter: str, *middle: str) -> list[str]:
    """Nơi nhận: the superior (để báo cáo), others, then "Lưu: VT, <drafting unit>"."""
    out = [f"{parent.name} (để báo cáo)"] if parent else []
    out += [m for m in middle if m]
    out.append(f"Lưu: VT, {drafter}" if drafter else "Lưu: VT")
    return out


def _document_date(view: ReportView, as_of: date | None) -> date:
    """The date a report bears: the day it was approved (signed), else sent, else today."""
    if as_of is not None:
        return as_of
    for when in (view.approved_at, view.sent_at):
        if when is not None:
            return when.date()
    return date.today()


def unit_report_doc(session: AppSession, report_id: int, verification=None, as_of: date | None = None,
                    signer: "signer_mod.SignerChoice | None" = None):
    """The unit's periodic report as a printable document.

    ``signer``: how the report is signed (default: the unit's saved arrangement), with the full
    name of the leader who approved it unless the arrangement names someone.
    """
    from desktop.export.documents import AppendixRow, GroupCompletion, UnitReportDoc

    session.require(Permission.VIEW)
    view = get_report(session, report_id)
    plan = _plan(session, view.plan_id, view.plan_version)
    snapshot = None
    if workflow.ReportState(view.status).frozen:
        from .progress import approved_values

        snapshot = approved_values(session, report_id)
    as_of = _document_date(view, as_of)
    header, unit, parent = _header(session, view.unit_code, view.period, plan, as_of, "unit")
    me = own_unit(session)
    if view.unit_code == me.code:
        targets = report_targets(session, view)
    else:  # a unit's report held at the province: the targets that unit must report on
        from .assignment import applicable_targets

        targets = applicable_targets(session, plan, view.unit_code)
    # the report speaks as at the end of its period (or its date, for the current period)
    statuses = {ts.target.code: ts for ts in evaluate_unit(session, view.plan_id, min(as_of, view.period.end),
                                                           view.period, unit_code=view.unit_code, plan=plan,
                                                           targets=targets)}
    entries = _entries_of(view, snapshot)
    groups = _group_labels(plan, targets)
    rows = []
    for i, t in enumerate(targets, 1):
        e = entries.get(t.code) or {}
        ts = statuses.get(t.code)
        rows.append(AppendixRow(
            tt=str(i), target_text=t.text, indicator=_indicator(t.measure), units=_units_text(t),
            deadline=t.deadline.label(plan.year), result_xy=_result_xy(t, e or None, ts),
            percent=ts.result.percent if ts is not None and t.measure.type in ("ratio", "count", "recurring") else None,
            status=ts.result.status if ts is not None else None,
            difficulties=e.get("difficulties") or "", proposals=e.get("proposals") or "",
            result_detail=e.get("result_text") or "", evidence_count=len(e.get("evidence") or ()),
            group=groups.get(t.group_code, ""), code=t.code))
    completion = []
    for g in plan.groups:
        items = [statuses[t.code] for t in targets if t.group_code == g.code and t.code in statuses]
        if items:
            done = sum(1 for x in items if x.result.status is Progress.HOAN_THANH)
            completion.append(GroupCompletion(label=g.display_title, percent=done / len(items), done=done,
                                              total=len(items), code=g.code))
    narrative = (snapshot or {}).get("narrative") if snapshot else view.narrative
    sections = {k: (narrative or {}).get(k, "") for k in NARRATIVE_SECTIONS}
    with session.db.session() as s:
        approver = _get_report(s, report_id).approved_by
    choice = signer or signer_mod.get(session)
    if view.unit_code != me.code:  # another unit's report: its own signer is not known here
        choice = signer_mod.SignerChoice()
    recipients = _recipients(parent, choice.drafter, tr("Reports", "Lãnh đạo đơn vị"))
    return UnitReportDoc(
        header=header, sections=sections, rows=rows, group_completion=completion, recipients=recipients,
        signature=choice.block(signer_mod.full_name(session, approver)),
        verification=verification)


def unit_report_pdf(session: AppSession, report_id: int, verification=None, as_of: date | None = None,
                    signer: "signer_mod.SignerChoice | None" = None) -> bytes:
    from desktop.export.pdf import render_unit_report

    buf = io.BytesIO()
    render_unit_report(unit_report_doc(session, report_id, verification, as_of, signer), buf)
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
                            unit_codes: Iterable[str] | None = None, verification=None,
                            signer: "signer_mod.SignerChoice | None" = None):
    """Units × targets for the subordinate units' reports held at this office.

    A report returned for revision and not re-sent counts neither as reported nor in the
    figures: its unit is listed as "Đã trả lại".
    """
    from desktop.export.documents import (ConsolidatedReportDoc, MatrixCell, ReportingRate, Submission, TargetRef,
                                          UnitRef)

    from .consolidation import unit_targets

    session.require(Permission.VIEW)
    plan = _plan(session, plan_id)
    as_of = as_of or date.today()
    me = own_unit(session)
    with session.db.session() as s:
        subs = s.scalars(select(Unit).where(Unit.parent_code == me.code, Unit.active.is_(True)).order_by(Unit.code)).all()
        per_unit = unit_targets(session, plan, list(subs))  # a unit with nothing to report is not expected
        only = None if unit_codes is None else set(unit_codes)
        units = [UnitRef(u.code, u.name, u.short_name) for u in subs
                 if (only is None or u.code in only) and u.code in per_unit]
        wanted_units = {u.code for u in units}  # the columns only: no ORM objects (and snapshots) for 1,000 reports
        rep_info = {code: (received or sent or updated, status) for code, received, sent, updated, status in s.execute(
            select(Report.unit_code, Report.received_at, Report.sent_at, Report.updated_at, Report.status).where(
                Report.plan_id == plan_id, Report.period_key == period.key)) if code in wanted_units}
    days = dict(plan.submission_deadlines).get(period.type, 0)
    deadline = period.submission_deadline(days)
    from .consolidation import cells_as_of

    wanted = {t.code for ts in per_unit.values() for t in ts}
    targets = [t for t in plan.targets if t.code in wanted]
    submissions = {}
    counted = []
    on_time = late = received = returned = 0
    for u in units:
        if u.code not in rep_info:
            continue
        received_at, status = rep_info[u.code]
        if status == RETURNED:
            returned += 1
            submissions[u.code] = Submission(submitted_on=received_at.date() if received_at else None, returned=True)
            continue
        received += 1
        counted.append(u.code)
        ok = received_at.date() <= deadline if received_at else None
        on_time += 1 if ok else 0
        late += 0 if ok else 1
        submissions[u.code] = Submission(submitted_on=received_at.date() if received_at else None, on_time=ok)
    # the figures speak as at the deadline (or the document's date, if earlier)
    # 60,000 cells at 1,000 units; a MatrixCell is immutable, so cells of equal status and value share one
    made: dict[tuple, MatrixCell] = {}
    cells = {key: made.get((cell.status, cell.percent)) or made.setdefault((cell.status, cell.percent),
                                                                           MatrixCell(cell.status, cell.percent))
             for key, cell in cells_as_of(session, plan, period, min(as_of, deadline),
                                          {code: per_unit[code] for code in counted}).items()}
    rate = ReportingRate(expected=len(units), received=received, on_time=on_time, late=late, returned=returned)
    header, _unit, _parent = _header(session, me.code, period, plan, as_of, "consolidated")
    summary = tr("Reports", "Đã nhận {0}/{1} báo cáo của các đơn vị trực thuộc ({2} đúng hạn, {3} chậm; hạn gửi "
                            "{4}).").format(received, len(units), on_time, late, deadline.strftime("%d/%m/%Y"))
    if returned:
        summary += " " + tr("Reports", "{0} báo cáo đã trả lại để hoàn thiện, chưa gửi lại, không tính vào "
                                       "số liệu tổng hợp.").format(returned)
    groups = _group_labels(plan, targets)
    choice = signer or signer_mod.get(session)
    return ConsolidatedReportDoc(
        header=header, units=units,
        targets=[TargetRef(t.code, t.text, groups.get(t.group_code, "")) for t in targets], cells=cells,
        reporting=rate, summary=summary, submissions=submissions,
        recipients=_recipients(_parent, choice.drafter, tr("Reports", "Lãnh đạo Viện"),
                               tr("Reports", "Các đơn vị trực thuộc")),
        signature=choice.block(signer_mod.current_leader_name(session)),
        verification=verification if verification is not None else default_verification(session))


def consolidated_pdf(session: AppSession, plan_id: str, period: ReportingPeriod, as_of: date | None = None,
                     signer: "signer_mod.SignerChoice | None" = None) -> bytes:
    from desktop.export.pdf import render_consolidated_report

    buf = io.BytesIO()
    render_consolidated_report(consolidated_report_doc(session, plan_id, period, as_of, signer=signer), buf)
    return buf.getvalue()


def consolidated_xlsx(session: AppSession, plan_id: str, period: ReportingPeriod, as_of: date | None = None) -> bytes:
    from desktop.export.xlsx import write_consolidated_xlsx

    buf = io.BytesIO()
    write_consolidated_xlsx(consolidated_report_doc(session, plan_id, period, as_of), buf)
    return buf.getvalue()


# ------------------------------------------------------------------ reminder (thông báo đôn đốc)
def reminder_doc(session: AppSession, plan_id: str, period: ReportingPeriod | str, today: date | None = None,
                 signer: "signer_mod.SignerChoice | None" = None):
    """The notice reminding the units whose report is missing (or returned and not re-sent)."""
    from desktop.export.documents import NoticeDoc, NoticeItem, ReportHeader

    from . import consolidation

    period = ReportingPeriod.parse(period) if isinstance(period, str) else period
    today = today or date.today()
    m = consolidation.matrix(session, plan_id, period)
    late = consolidation.missing_reports(session, plan_id, period, today)
    me = own_unit(session)
    parent = get_unit(session, me.parent_code) if me.parent_code else None
    label = in_sentence(period.label)
    plan_title = m.plan_title[:1].lower() + m.plan_title[1:]
    header = ReportHeader(
        parent_agency=(parent.name if parent else "").upper(), issuing_unit=me.name.upper(),
        number_symbol=f"/TB-{me.doc_symbol or me.code}", place=me.place_name or "", date=today,
        title="THÔNG BÁO", subject=tr("Reports", "Về việc đôn đốc gửi báo cáo kết quả thực hiện {0}, {1}")
        .format(plan_title, label), unit_name=me.name)
    deadline = m.deadline.strftime("%d/%m/%Y")
    returned = [u for u in late if u.returned]
    intro = tr("Reports", "Theo {0}, báo cáo kết quả thực hiện {1} của các đơn vị trực thuộc phải gửi về "
                          "{2} chậm nhất ngày {3}. Đến ngày {4}, {2} đã nhận {5}/{6} báo cáo; còn {7} đơn vị "
                          "chưa gửi báo cáo").format(plan_title, label, me.name, deadline, today.strftime("%d/%m/%Y"),
                                                     m.received, m.expected, len(late))
    intro += (tr("Reports", " (trong đó {0} đơn vị có báo cáo đã trả lại để hoàn thiện nhưng chưa gửi lại)")
              .format(len(returned)) if returned else "") + tr("Reports", ", gồm:")
    items = [NoticeItem(u.name, deadline, tr("Reports", "Đã trả lại, chưa gửi lại") if u.returned
                        else tr("Reports", "Chưa gửi")) for u in late]
    closing = tr("Reports", "{0} đề nghị Viện trưởng các đơn vị nêu trên chỉ đạo khẩn trương hoàn thành, duyệt "
                            "và gửi báo cáo qua phần mềm VKS CĐS trong thời hạn 03 ngày làm việc kể từ ngày nhận "
                            "được Thông báo này; quá thời hạn trên, đơn vị nào chưa gửi sẽ được ghi nhận chậm "
                            "báo cáo khi đánh giá, xếp loại thi đua.").format(me.name)
    choice = signer or signer_mod.get(session)
    recipients = [tr("Reports", "Viện trưởng {0}").format(u.name) for u in late]
    recipients += [tr("Reports", "Lãnh đạo Viện (để báo cáo)"), f"Lưu: VT, {choice.drafter}" if choice.drafter
                   else "Lưu: VT"]
    return NoticeDoc(header=header, intro=intro, items=items, closing=closing,
                     list_title=tr("Reports", "Danh sách đơn vị chưa gửi báo cáo {0}").format(label),
                     list_headers=(tr("Reports", "Đơn vị"), tr("Reports", "Hạn gửi báo cáo"),
                                   tr("Reports", "Tình trạng")),
                     recipients=recipients, signature=choice.block(signer_mod.current_leader_name(session)),
                     verification=default_verification(session))


def reminder_pdf(session: AppSession, plan_id: str, period: ReportingPeriod | str, today: date | None = None,
                 signer: "signer_mod.SignerChoice | None" = None) -> bytes:
    from desktop.export.pdf import render_notice

    buf = io.BytesIO()
    render_notice(reminder_doc(session, plan_id, period, today, signer), buf)
    return buf.getvalue()
