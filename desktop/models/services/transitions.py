"""The one place a report's state changes: `transition()` applies a move of the report workflow.

The states, labels and allowed moves are domain rules (`desktop.models.domain.workflow`); this
module writes them: the report's status, its ``report_transitions`` history and the audit log, all
inside the caller's transaction. Services are its only callers.
"""

from __future__ import annotations

from datetime import datetime

from desktop.models.domain.i18n import nfc
from desktop.models.domain.workflow import Move, ReportState, check
from desktop.models.storage import audit
from desktop.models.storage.schema import Report, ReportTransition


def transition(s, actor_id: int | None, report: Report, to: ReportState, comment: str = "",
               now: datetime | None = None) -> Move:
    """Move ``report`` to ``to`` inside the caller's transaction ``s``: check, record, audit, stamp.

    A report created in this transaction (no ``id`` yet is flushed first) is recorded as coming
    from no state, so its creation is in its history too.
    """
    now = now or datetime.now()
    created = report.id is None
    source = None if created else report.status
    move = check(source, to)
    if created:
        report.status = ReportState(to).value
        report.created_at = report.created_at or now
        report.updated_at = now
        s.add(report)
        s.flush()
    s.add(ReportTransition(report_id=report.id, ts=now, user_id=actor_id or None, from_status=source,
                           to_status=ReportState(to).value, comment=nfc(comment or "")))
    target = f"{report.plan_id} {report.period_key}"
    if move.name == "accept":
        target = f"{report.unit_code} {target}"
    if move.audit_action:
        audit.append(s, actor_id or None, move.audit_action, target, {"from": source, "unit": report.unit_code})
    report.status = ReportState(to).value
    report.updated_at = now
    return move
