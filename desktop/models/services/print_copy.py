"""The printed report kept from the head's approval, so an export does not lay it out again.

Rendering the printed report PDF (reportlab) was the largest fixed cost of exporting a report:
about 1 s of CPU every time, before a single evidence byte was written (docs/benchmarks.md,
issue 20). The PDF shows only what the approval froze (the snapshot, the approval date, the
signing arrangement, the unit key's fingerprint), so it is rendered once, when the head
approves (`progress.approve_report`), and kept in `approved_report_pdfs` — inside the encrypted
database — with the approved revision.

Every account's password opens that database, so the stored bytes alone prove nothing: the
approver also signs a `report.print` act (insider.py) over the PDF's SHA-256, the approved
revision, the approval's snapshot digest and the inputs that shape the page (fingerprint,
signing arrangement). The export uses the stored copy only while

* it belongs to the report's current revision and the act's snapshot digest is the approval's,
* the act is signed by an approver's valid certificate and names the SHA-256 of these bytes,
* the unit key and the signing arrangement are still the ones it was rendered with.

A copy whose bytes or act no longer agree (an insider rewrote it) is not used: the export renders
the report afresh and the audit log records `report.print_mismatch`. A copy that is merely out of
date (the unit key was rotated, the arrangement changed) is rendered afresh without alarm.

This module must never import Qt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import asdict
from datetime import date, datetime

from desktop.models.storage import audit
from desktop.models.storage.schema import ApprovedReportPdf, Report
from desktop.models.storage.vault import AppSession, Permission

log = logging.getLogger(__name__)

KIND = "report.print"
MISMATCH = "report.print_mismatch"


def render(session: AppSession, report_id: int) -> bytes | None:
    """The printed report with this office's key fingerprint (None when the reporting module is
    not part of this build)."""
    try:
        from . import reporting
    except ImportError:
        return None
    fn = getattr(reporting, "unit_report_pdf", None)
    if fn is None:
        return None
    return fn(session, report_id, reporting.default_verification(session, None))


def _inputs(session: AppSession) -> dict:
    """What shapes the page besides the approved values: a change makes the kept copy stale."""
    from . import keystore, signer

    return {"key_fingerprint": keystore.own_fingerprint(session) or "", "signer": asdict(signer.get(session))}


def keep(session: AppSession, report_id: int) -> bool:
    """Render the just-approved report and keep it, signed by the approving head. Best effort:
    a failure is logged and the export renders the report as it did before (False)."""
    from . import insider
    from .progress import APPROVED

    try:
        inputs = _inputs(session)
        pdf = render(session, report_id)
        if pdf is None:
            return False
        digest = hashlib.sha256(pdf).hexdigest()
        with session.db.session() as s:
            r = s.get(Report, report_id)
            if r is None or r.status != APPROVED or not r.approved_snapshot:
                return False
            insider.sign_print(s, session, r, digest, inputs)
            row = s.get(ApprovedReportPdf, report_id)
            if row is None:
                row = ApprovedReportPdf(report_id=report_id)
                s.add(row)
            row.revision, row.sha256, row.pdf, row.created_at = r.revision, digest, pdf, datetime.now()
        return True
    except Exception:  # the approval itself is done; the export will render the report
        log.exception("keeping the printed copy of report %s failed", report_id)
        return False


def _verdict(s, session: AppSession, r: Report, row: ApprovedReportPdf) -> tuple[str, str]:
    """("ok" | "stale" | "mismatch", detail) for the kept copy of report `r`."""
    from . import insider

    if row.revision != r.revision:
        return "stale", "another revision"
    act = insider.latest_report_act(s, KIND, r)
    if act is None:
        return "mismatch", "no signed print act"
    body = json.loads(act.payload)
    payload = body.get("payload", {})
    problem = insider.act_problem(s, act, "approver", date.fromisoformat(str(body.get("at", ""))[:10]))
    if problem:
        return "mismatch", problem
    digest = hashlib.sha256(row.pdf).hexdigest()
    if not hmac.compare_digest(str(payload.get("pdf_sha256", "")), digest) or row.sha256 != digest:
        return "mismatch", "the kept PDF is not the one the head signed"
    if (payload.get("revision") != r.revision or payload.get("plan_id") != r.plan_id
            or payload.get("period") != r.period_key or payload.get("unit") != r.unit_code):
        return "mismatch", "the print act names another report or revision"
    if not hmac.compare_digest(str(payload.get("snapshot_sha256", "")),
                               insider.stored_snapshot_digest(r.approved_snapshot or "{}")):
        return "mismatch", "the print act was signed over other approved values"
    if payload.get("inputs") != _inputs(session):
        return "stale", "the unit key or the signing arrangement changed"
    return "ok", ""


def stored(session: AppSession, report_id: int) -> bytes | None:
    """The kept printed copy of the report's approved revision, or None when there is none that
    can be used (the caller renders it). A copy that fails its check is recorded in the audit log
    (`report.print_mismatch`) and never returned."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        r = s.get(Report, report_id)
        row = s.get(ApprovedReportPdf, report_id)
        if r is None or row is None:
            return None
        verdict, detail = _verdict(s, session, r, row)
        if verdict == "ok":
            return bytes(row.pdf)
        if verdict == "mismatch":
            log.warning("kept printed copy of report %s refused: %s", report_id, detail)
            audit.append(s, session.user.id or None, MISMATCH, f"report {report_id}",
                         {"unit": r.unit_code, "revision": r.revision, "detail": detail})
        return None


def export_pdf(session: AppSession, report_id: int) -> bytes | None:
    """The printed report an export carries: the kept copy when it still matches, else rendered."""
    pdf = stored(session, report_id)
    return pdf if pdf is not None else render(session, report_id)


__all__ = ["KIND", "MISMATCH", "render", "keep", "stored", "export_pdf"]
