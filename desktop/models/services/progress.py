"""Recording progress: reports per plan and period, entries per target, revisions, workflow,
evidence.

The workflow (states, labels, allowed moves) is desktop/models/domain/workflow.py; every state change
here goes through `transitions.transition`.

Only a data-entry officer edits and submits; only an approver approves or sends back; values are
frozen (a JSON snapshot) at approval and no service accepts an edit until the report is returned.
Every field change is kept as a revision (who, when, old → new) and every transition records who
and when. Permissions are checked here, whatever the UI shows.

This module must never import Qt.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import delete, func, select


from desktop.models.domain import workflow
from desktop.models.domain.plan import Plan, ReportingPeriod, Target
# The entry rules are pure (domain); re-exported here for the callers of the service.
from desktop.models.domain.entry_rules import (COUNT_LIMIT_PER_MONTH, ENTRY_FIELDS, TEXT_FIELDS,  # noqa: F401
                                               FieldProblem, validate_entry)
from desktop.models.domain.errors import NotFound, PermissionDenied, ValidationError
from desktop.models.storage.evidence import EvidenceStore, guess_mime, record_blob
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.queries import own_unit_row
from desktop.models.storage.schema import (EntryRevision, EvidenceBlob, EvidenceLink, ProgressEntry, Report, ReportTransition,
                     User)
from desktop.models.storage.vault import AppSession, Permission
from desktop.models.domain.workflow import ReportState
from desktop.models.services.transitions import transition

log = logging.getLogger(__name__)

# Short names kept for the services that import them; the one definition is workflow.ReportState.
DRAFT, PENDING, APPROVED = ReportState.DRAFT, ReportState.PENDING, ReportState.APPROVED
SENT, RECEIVED, RETURNED = ReportState.SENT, ReportState.RECEIVED, ReportState.RETURNED
#: Plans whose every target the unit reports on: its own plan, and a plan its superior assigned
#: to it (received in the superior's signed package).
ASSIGNED_ORIGINS = ("own", "received")
NARRATIVE_SECTIONS = ("I", "II", "III", "IV", "V", "VI")
NARRATIVE_TITLES = {
    "I": "Công tác chỉ đạo, triển khai", "II": "Kết quả thực hiện", "III": "Tồn tại, hạn chế",
    "IV": "Khó khăn, vướng mắc", "V": "Phương hướng kỳ tới", "VI": "Đề xuất, kiến nghị",
}


def status_label(status: str) -> str:
    return workflow.label(status)


# ------------------------------------------------------------------ plain views for the UI
@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    filename: str
    sha256: str
    size: int
    mime: str
    added_at: datetime


@dataclass(frozen=True)
class EntryView:
    target_code: str
    numerator: float | None = None
    denominator: float | None = None
    count: int | None = None
    done: bool | None = None
    done_date: date | None = None
    result_text: str = ""
    difficulties: str = ""
    proposals: str = ""
    updated_at: datetime | None = None
    evidence: tuple[EvidenceInfo, ...] = ()

    @property
    def is_empty(self) -> bool:
        return (self.numerator is None and self.denominator is None and self.count is None and not self.done
                and not self.result_text and not self.difficulties and not self.proposals)

    def value(self, name: str):
        return getattr(self, name)


@dataclass(frozen=True)
class ReportView:
    id: int
    plan_id: str
    plan_version: int
    period: ReportingPeriod
    unit_code: str
    status: str
    revision: int
    narrative: dict
    entries: dict[str, EntryView]
    return_comments: dict
    created_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    sent_at: datetime | None
    received_at: datetime | None
    last_bundle_sha256: str | None
    integrity_problem: str = ""  # set by get_report: the signed approval no longer matches (insider.py)

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def editable(self) -> bool:
        return workflow.is_editable(self.status)


@dataclass(frozen=True)
class RevisionView:
    ts: datetime
    user: str
    target_code: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class TransitionView:
    ts: datetime
    user: str
    from_status: str | None
    to_status: str
    comment: str


@dataclass
class ReportSummary:
    id: int
    plan_id: str
    period_key: str
    unit_code: str
    status: str
    updated_at: datetime
    revision: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        return status_label(self.status)


# ------------------------------------------------------------------ helpers
def _plan(session: AppSession, plan_id: str, version: int | None = None) -> Plan:
    from . import plans

    return plans.get_plan(session, plan_id, version)


_self_unit = own_unit_row


def targets_for_unit(plan: Plan, unit_level: str, unit_names: tuple[str, ...] = (), own_plan: bool = False,
                     unit_code: str = "") -> list[Target]:
    """The targets a unit reports on, by each target's assignment (domain.target_role): its
    reporting units when listed, else its levels (the plan's when it names none), and a unit named
    as lead. The same rule holds in a unit's own or assigned plan (`own_plan` is kept for
    callers; a province's own task such as TH-2.2-06 is not its regional units' to report)."""
    from desktop.models.domain.plan import UnitIdentity, targets_applicable

    return targets_applicable(plan, UnitIdentity(unit_code, unit_level, tuple(n for n in unit_names if n)))


def _entry_view(e: ProgressEntry, links: list[tuple[EvidenceLink, EvidenceBlob]]) -> EntryView:
    return EntryView(
        target_code=e.target_code, numerator=e.numerator, denominator=e.denominator, count=e.count, done=e.done,
        done_date=date.fromisoformat(e.done_date) if e.done_date else None, result_text=e.result_text,
        difficulties=e.difficulties, proposals=e.proposals, updated_at=e.updated_at,
        evidence=tuple(EvidenceInfo(l.id, l.filename, b.sha256, b.size, l.mime, l.added_at) for l, b in links))


def _report_view(s, r: Report) -> ReportView:
    entries = {}
    rows = s.scalars(select(ProgressEntry).where(ProgressEntry.report_id == r.id)).all()
    links: dict[int, list] = {}
    if rows:
        for link, blob in s.execute(select(EvidenceLink, EvidenceBlob).join(EvidenceBlob)
                                    .where(EvidenceLink.entry_id.in_([e.id for e in rows]))
                                    .order_by(EvidenceLink.id)):
            links.setdefault(link.entry_id, []).append((link, blob))
    for e in rows:
        entries[e.target_code] = _entry_view(e, links.get(e.id, []))
    return ReportView(
        id=r.id, plan_id=r.plan_id, plan_version=r.plan_version, period=ReportingPeriod.parse(r.period_key),
        unit_code=r.unit_code, status=r.status, revision=r.revision, narrative=json.loads(r.narrative or "{}"),
        entries=entries, return_comments=json.loads(r.return_comments) if r.return_comments else {},
        created_at=r.created_at, updated_at=r.updated_at, approved_at=r.approved_at, sent_at=r.sent_at,
        received_at=r.received_at, last_bundle_sha256=r.last_bundle_sha256)


def _get_report(s, report_id: int) -> Report:
    r = s.get(Report, report_id)
    if r is None:
        raise NotFound(tr("Progress", "Không tìm thấy báo cáo."))
    return r


def _require_editable(r: Report) -> None:
    if not workflow.is_editable(r.status):
        raise ValidationError(
            tr("Progress", "Báo cáo đang ở trạng thái “{0}”: số liệu đã khóa, không sửa được.").format(status_label(r.status)),
            tr("Progress", "Chỉ sửa được khi báo cáo là Nháp hoặc Bị trả lại."))


# ------------------------------------------------------------------ reports
def open_report(session: AppSession, plan_id: str, period: ReportingPeriod | str) -> ReportView:
    """The unit's report for this plan and period, created as a draft on first use."""
    session.require(Permission.VIEW)
    period = ReportingPeriod.parse(period) if isinstance(period, str) else period
    plan = _plan(session, plan_id)
    if period.year != plan.year:
        raise ValidationError(tr("Progress", "Kỳ báo cáo {0} không thuộc năm của kế hoạch ({1}).").format(period.label, plan.year))
    with session.db.session() as s:
        unit = _self_unit(s)
        r = s.scalars(select(Report).where(Report.plan_id == plan_id, Report.period_key == period.key,
                                           Report.unit_code == unit.code)).first()
        if r is None:
            if not session.user.can(Permission.EDIT_PROGRESS):
                raise PermissionDenied(tr("Progress", "Chưa có báo cáo kỳ {0}; chỉ cán bộ nhập liệu được tạo.").format(period.label))
            now = datetime.now()
            r = Report(plan_id=plan_id, plan_version=plan.version, period_key=period.key, unit_code=unit.code,
                       narrative="{}", revision=0, created_at=now, updated_at=now)
            transition(s, session.user.id, r, DRAFT, now=now)
        return _report_view(s, r)


def get_report(session: AppSession, report_id: int) -> ReportView:
    from dataclasses import replace

    from . import insider

    session.require(Permission.VIEW)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        return replace(_report_view(s, r), integrity_problem=insider.report_problem(s, r))


def list_reports(session: AppSession, plan_id: str | None = None, status: str | None = None) -> list[ReportSummary]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        q = select(Report)
        if plan_id:
            q = q.where(Report.plan_id == plan_id)
        if status:
            q = q.where(Report.status == status)
        return [ReportSummary(r.id, r.plan_id, r.period_key, r.unit_code, r.status, r.updated_at, r.revision)
                for r in s.scalars(q.order_by(Report.updated_at.desc()))]


def report_targets(session: AppSession, report: ReportView) -> list[Target]:
    """The targets the report's unit reports on (the entry form lists these and no others)."""
    from .assignment import applicable_targets

    plan = _plan(session, report.plan_id, report.plan_version)
    return applicable_targets(session, plan, report.unit_code)


def _encode(name: str, value) -> str | None:
    if value is None or value == "":
        return None
    if name == "done":
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


# ------------------------------------------------------------------ recording
def record_progress(session: AppSession, report_id: int, target_code: str, **values) -> EntryView:
    """Save some fields of one target's entry (autosave calls this per field). Each changed field
    becomes a revision. Refused when the report is frozen or a value is impossible."""
    session.require(Permission.EDIT_PROGRESS)
    unknown = set(values) - set(ENTRY_FIELDS)
    if unknown:
        raise ValidationError(tr("Progress", "Trường không hợp lệ: {0}").format(", ".join(sorted(unknown))))
    for k in TEXT_FIELDS & set(values):
        values[k] = nfc(values[k] or "").strip()
    if "done_date" in values and isinstance(values["done_date"], str) and values["done_date"]:
        values["done_date"] = date.fromisoformat(values["done_date"])
    with session.db.session() as s:
        r = _get_report(s, report_id)
        plan_id, plan_version = r.plan_id, r.plan_version
    plan = _plan(session, plan_id, plan_version)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        _require_editable(r)
        target = next((t for t in plan.targets if t.code == target_code), None)
        if target is None:
            raise NotFound(tr("Progress", "Mục tiêu {0} không có trong kế hoạch.").format(target_code))
        e = s.scalars(select(ProgressEntry).where(ProgressEntry.report_id == r.id,
                                                  ProgressEntry.target_code == target_code)).first()
        current = {f: getattr(e, f) if e else None for f in ENTRY_FIELDS}
        if current["done_date"]:
            current["done_date"] = date.fromisoformat(current["done_date"])
        merged = {**current, **values}
        problems = validate_entry(target, plan.year, merged, ReportingPeriod.parse(r.period_key))
        if problems:
            raise ValidationError(problems[0].message, field=problems[0].field, problems=problems)
        now = datetime.now()
        if e is None:
            e = ProgressEntry(report_id=r.id, target_code=target_code, result_text="", difficulties="", proposals="",
                              updated_at=now, updated_by=session.user.id or None)
            s.add(e)
            s.flush()
        changed = False
        for name, new in values.items():
            old = current.get(name)
            if name in TEXT_FIELDS:
                old = old or ""
            if old == new:
                continue
            changed = True
            s.add(EntryRevision(entry_id=e.id, ts=now, user_id=session.user.id or None, field=name,
                                old_value=_encode(name, old), new_value=_encode(name, new)))
            setattr(e, name, new.isoformat() if isinstance(new, date) else new)
        if changed:
            e.updated_at = now
            e.updated_by = session.user.id or None
            if r.status == RETURNED:
                transition(s, session.user.id, r, DRAFT, tr("Progress", "Sửa theo ý kiến trả lại"))
            r.updated_at = now
        s.flush()
        return _report_view(s, r).entries[target_code]


def save_narrative(session: AppSession, report_id: int, sections: dict[str, str]) -> None:
    session.require(Permission.EDIT_PROGRESS)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        _require_editable(r)
        current = json.loads(r.narrative or "{}")
        for key, text in sections.items():
            if key not in NARRATIVE_SECTIONS:
                raise ValidationError(tr("Progress", "Mục báo cáo không hợp lệ: {0}").format(key))
            current[key] = nfc(text or "").strip()
        r.narrative = json.dumps(current, ensure_ascii=False, sort_keys=True)
        r.updated_at = datetime.now()


# ------------------------------------------------------------------ workflow
def submit_report(session: AppSession, report_id: int, comment: str = "") -> ReportView:
    session.require(Permission.SUBMIT_REPORT)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        if not workflow.is_editable(r.status):
            raise ValidationError(tr("Progress", "Chỉ trình duyệt được báo cáo Nháp hoặc Bị trả lại."))
        if not s.scalar(select(func.count()).select_from(ProgressEntry).where(ProgressEntry.report_id == r.id)):
            raise ValidationError(tr("Progress", "Báo cáo chưa có số liệu nào."),
                                  tr("Progress", "Hãy nhập kết quả cho ít nhất một mục tiêu trước khi trình duyệt."))
        transition(s, session.user.id, r, PENDING, comment)
        return _report_view(s, r)


def approve_report(session: AppSession, report_id: int, comment: str = "", keep_print: bool = True) -> ReportView:
    """The unit head approves: the values are frozen into a snapshot. With ``keep_print`` the
    printed report is rendered now and kept, signed by the head, for the export to send
    (print_copy.py: the export then does not lay it out again)."""
    from . import insider, print_copy

    session.require(Permission.APPROVE_REPORT)
    insider.require_signer(session)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        if r.status != PENDING:
            raise ValidationError(tr("Progress", "Chỉ duyệt được báo cáo đang Chờ duyệt (hiện tại: {0}).")
                                  .format(status_label(r.status)))
        view = _report_view(s, r)
        snapshot = {code: {f: _encode(f, getattr(e, f)) for f in ENTRY_FIELDS} | {
            "evidence": [ev.sha256 for ev in e.evidence]} for code, e in view.entries.items()}
        r.approved_snapshot = json.dumps({"entries": snapshot, "narrative": view.narrative}, ensure_ascii=False,
                                         sort_keys=True)
        r.approved_by = session.user.id or None
        r.approved_at = datetime.now()
        insider.sign_approval(s, session, r)  # the approver's personal signature over the frozen values
        transition(s, session.user.id, r, APPROVED, comment)
        view = _report_view(s, r)
    if keep_print:  # after the approval is committed: the page shows the approved state
        print_copy.keep(session, report_id)
    return view


def send_back(session: AppSession, report_id: int, comment: str) -> ReportView:
    """The unit head sends a pending report back to the officer for correction."""
    session.require(Permission.APPROVE_REPORT)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        if r.status != PENDING:
            raise ValidationError(tr("Progress", "Chỉ trả lại được báo cáo đang Chờ duyệt."))
        transition(s, session.user.id, r, DRAFT, comment)
        return _report_view(s, r)


def mark_sent(session: AppSession, report_id: int, bundle_sha256: str) -> None:
    """Record a send made outside the exchange service (which records its own sends inside its
    transaction through transitions.transition)."""
    session.require(Permission.EXCHANGE)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        if r.status not in (APPROVED, SENT):
            raise ValidationError(tr("Progress", "Chỉ gửi được báo cáo đã duyệt."))
        r.sent_at = datetime.now()
        r.last_bundle_sha256 = bundle_sha256
        if r.status != SENT:
            transition(s, session.user.id, r, SENT)


def mark_returned(session: AppSession, report_id: int, general: str, per_target: dict[str, str]) -> None:
    """Record a return made outside the exchange service (which applies verified return bundles
    itself through transitions.transition)."""
    session.require(Permission.EXCHANGE)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        if r.status not in (SENT, RECEIVED):
            raise ValidationError(tr("Progress", "Báo cáo chưa gửi nên không thể bị trả lại."))
        r.return_comments = json.dumps({"general": nfc(general), "targets": {k: nfc(v) for k, v in per_target.items()}},
                                       ensure_ascii=False, sort_keys=True)
        r.revision += 1
        transition(s, session.user.id, r, RETURNED, general)


def approved_values(session: AppSession, report_id: int) -> dict:
    """The frozen snapshot taken at approval (what is exported and printed); refused when it no
    longer matches the approver's signature."""
    from . import insider

    session.require(Permission.VIEW)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        if not r.approved_snapshot:
            raise ValidationError(tr("Progress", "Báo cáo chưa được duyệt."))
        problem = insider.report_problem(s, r)
        if problem:
            raise ValidationError(tr("Progress", "Báo cáo không còn khớp với bản đã ký duyệt: {0}").format(problem),
                                  tr("Progress", "Không in, không gửi báo cáo này. Hãy báo quản trị kiểm tra nhật ký."))
        return json.loads(r.approved_snapshot)


# ------------------------------------------------------------------ history
def _user_names(s) -> dict[int | None, str]:
    """Who did it, as people read it: the full name (the login name when none was given);
    keyed by user id, so a record without a user (``None``) finds no name."""
    return {uid: full or username for uid, full, username in s.execute(select(User.id, User.full_name, User.username))}


def entry_history(session: AppSession, report_id: int, target_code: str | None = None) -> list[RevisionView]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        names = _user_names(s)
        q = (select(EntryRevision, ProgressEntry.target_code).join(ProgressEntry)
             .where(ProgressEntry.report_id == report_id))
        if target_code:
            q = q.where(ProgressEntry.target_code == target_code)
        return [RevisionView(rev.ts, names.get(rev.user_id, ""), code, rev.field, rev.old_value, rev.new_value)
                for rev, code in s.execute(q.order_by(EntryRevision.id.desc()))]


def report_transitions(session: AppSession, report_id: int) -> list[TransitionView]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        names = _user_names(s)
        return [TransitionView(t.ts, names.get(t.user_id, ""), t.from_status, t.to_status, t.comment)
                for t in s.scalars(select(ReportTransition).where(ReportTransition.report_id == report_id)
                                   .order_by(ReportTransition.id))]


# ------------------------------------------------------------------ evidence
def evidence_store(session: AppSession) -> EvidenceStore:
    store = session.evidence_store
    if store is None:
        store = EvidenceStore(session.folder.root / "evidence", session.master_key())
        session.evidence_store = store
        session.on_lock(store.sweep_temp)
        session.on_lock(store.close)
    return store


def attach_evidence(session: AppSession, report_id: int, target_code: str, path: Path) -> EvidenceInfo:
    """Encrypt a file into the store and link it to the entry. Nothing is linked unless the blob
    was stored completely; a duplicate file is stored once."""
    session.require(Permission.EDIT_PROGRESS)
    from . import settings

    max_bytes = int(settings.get(session, "evidence_max_mb")) * 1024 * 1024
    with session.db.session() as s:
        _require_editable(_get_report(s, report_id))
    blob = evidence_store(session).put_file(Path(path), max_bytes)
    filename = nfc(Path(path).name)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        _require_editable(r)
        e = s.scalars(select(ProgressEntry).where(ProgressEntry.report_id == r.id,
                                                  ProgressEntry.target_code == target_code)).first()
        now = datetime.now()
        if e is None:
            e = ProgressEntry(report_id=r.id, target_code=target_code, result_text="", difficulties="", proposals="",
                              updated_at=now, updated_by=session.user.id or None)
            s.add(e)
            s.flush()
        record_blob(s, blob, now)
        link = EvidenceLink(entry_id=e.id, sha256=blob.sha256, filename=filename, mime=guess_mime(filename),
                            added_at=now, added_by=session.user.id or None)
        s.add(link)
        s.add(EntryRevision(entry_id=e.id, ts=now, user_id=session.user.id or None, field="evidence",
                            old_value=None, new_value=filename))
        s.flush()
        return EvidenceInfo(link.id, filename, blob.sha256, blob.size, link.mime, now)


def remove_evidence(session: AppSession, report_id: int, evidence_id: int) -> None:
    session.require(Permission.EDIT_PROGRESS)
    with session.db.session() as s:
        r = _get_report(s, report_id)
        _require_editable(r)
        link = s.get(EvidenceLink, evidence_id)
        if link is None:
            raise NotFound(tr("Progress", "Không tìm thấy minh chứng."))
        s.add(EntryRevision(entry_id=link.entry_id, ts=datetime.now(), user_id=session.user.id or None,
                            field="evidence", old_value=link.filename, new_value=None))
        s.delete(link)  # the blob stays: approved snapshots and other entries may still refer to it


def evidence_bytes(session: AppSession, sha256: str) -> bytes:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        blob = s.get(EvidenceBlob, sha256)
        if blob is None:
            raise NotFound(tr("Progress", "Không tìm thấy minh chứng."))
        name = blob.store_name
    return evidence_store(session).read_bytes(name)


def open_evidence_copy(session: AppSession, evidence_id: int) -> Path:
    """A temporary decrypted copy for an external viewer (deleted on close, lock, exit, start-up)."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        link = s.get(EvidenceLink, evidence_id)
        if link is None:
            raise NotFound(tr("Progress", "Không tìm thấy minh chứng."))
        blob = s.get_one(EvidenceBlob, link.sha256)  # a link's blob exists (foreign key)
        store_name, filename = blob.store_name, link.filename
    return evidence_store(session).open_temp_copy(store_name, filename)


def import_progress_json(session: AppSession, path: Path) -> list[int]:
    """Scripted entry (`vks-cds progress import FILE.json`):
    {"plan": ID, "period": KEY, "entries": {CODE: {field: value}}, "narrative": {...}, "submit": bool}
    or a list of such objects. All-or-nothing per file: every problem is reported first."""
    try:
        doc = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ValidationError(tr("Progress", "Không đọc được tệp JSON {0}.").format(Path(path).name)) from exc
    items = doc if isinstance(doc, list) else [doc]
    problems: list[str] = []
    prepared = []
    for i, item in enumerate(items, 1):
        try:
            plan = _plan(session, item["plan"])
            period = ReportingPeriod.parse(item["period"])
        except Exception:
            problems.append(tr("Progress", "Mục {0}: thiếu hoặc sai “plan”/“period”.").format(i))
            continue
        codes = {t.code: t for t in plan.targets}
        for code, values in (item.get("entries") or {}).items():
            if code not in codes:
                problems.append(tr("Progress", "Mục {0}: mục tiêu {1} không có trong kế hoạch {2}.").format(i, code, plan.id))
                continue
            bad = set(values) - set(ENTRY_FIELDS)
            if bad:
                problems.append(tr("Progress", "Mục {0}, {1}: trường không hợp lệ {2}.").format(i, code, ", ".join(sorted(bad))))
                continue
            for p in validate_entry(codes[code], plan.year, values, period):
                problems.append(f"{i}/{code}/{p.field}: {p.message}")
        prepared.append((item, period))
    if problems:
        raise ValidationError(tr("Progress", "Tệp có {0} lỗi, chưa nhập gì.").format(len(problems)), "\n".join(problems),
                              problems=problems)
    ids = []
    for item, period in prepared:
        view = open_report(session, item["plan"], period)
        for code, values in (item.get("entries") or {}).items():
            record_progress(session, view.id, code, **values)
        if item.get("narrative"):
            save_narrative(session, view.id, item["narrative"])
        if item.get("submit"):
            submit_report(session, view.id)
        ids.append(view.id)
    return ids


# ------------------------------------------------------------------ copies held at the superior office
def store_received_report(session: AppSession, unit_code: str, plan_id: str, plan_version: int, period_key: str,
                          entries: dict[str, dict], narrative: dict | None = None, revision: int = 0,
                          received_at: datetime | None = None, bundle_sha256: str | None = None) -> int:
    """Store (or supersede) a subordinate unit's approved report at this office, in one transaction.

    `entries` maps target codes to the snapshot fields (strings as in `approved_values`). A copy
    already accepted at this office is never overwritten; an older revision never replaces a newer
    one. Returns the report id. The caller (the bundle importer) has verified the signature.
    """
    session.require(Permission.EXCHANGE)
    now = received_at or datetime.now()
    with session.db.session() as s:
        r = s.scalars(select(Report).where(Report.plan_id == plan_id, Report.period_key == period_key,
                                           Report.unit_code == unit_code)).first()
        if r is not None:
            if r.status == ReportState.ACCEPTED:
                raise ValidationError(tr("Progress", "Báo cáo này đã được chấp nhận và khóa; không thay thế được."))
            if revision < r.revision:
                raise ValidationError(tr("Progress", "Bản gửi cũ hơn bản đang có (lần sửa {0} < {1}).")
                                      .format(revision, r.revision))
            s.execute(delete(ProgressEntry).where(ProgressEntry.report_id == r.id)
                      .execution_options(synchronize_session=False))
        else:
            r = Report(plan_id=plan_id, plan_version=plan_version, period_key=period_key, unit_code=unit_code,
                       narrative="{}", revision=revision, created_at=now, updated_at=now)
        transition(s, session.user.id, r, RECEIVED, tr("Progress", "Nhận từ {0}, lần sửa {1}").format(unit_code, revision),
                   now=now)
        r.plan_version = plan_version
        r.revision = revision
        r.narrative = json.dumps(narrative or {}, ensure_ascii=False, sort_keys=True)
        r.approved_snapshot = json.dumps({"entries": entries, "narrative": narrative or {}}, ensure_ascii=False,
                                         sort_keys=True)
        r.received_at = now
        r.updated_at = now
        r.last_bundle_sha256 = bundle_sha256
        r.return_comments = None
        for code, v in entries.items():
            def num(x):
                return None if x in (None, "") else float(x)

            s.add(ProgressEntry(
                report_id=r.id, target_code=code, numerator=num(v.get("numerator")), denominator=num(v.get("denominator")),
                count=None if v.get("count") in (None, "") else int(float(v["count"])),
                done=None if v.get("done") in (None, "") else v.get("done") in ("1", True, 1),
                done_date=v.get("done_date") or None, result_text=nfc(v.get("result_text") or ""),
                difficulties=nfc(v.get("difficulties") or ""), proposals=nfc(v.get("proposals") or ""),
                updated_at=now, updated_by=None))
        s.flush()
        from . import insider

        insider.sign_manual_copy(s, session, r)  # no unit approver's signature: the person entering it signs
        return r.id
