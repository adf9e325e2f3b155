"""The audit log as people read it: each record's subject in words instead of internal codes.

A record keeps the subject it was written with (unit codes, plan ids, ``report 12``, usernames,
key ids): the keyed hash chain covers those exact strings, so they are never rewritten. This
module only *describes* them for the Nhật ký page and its Excel export, from the current roster,
plans, reports and accounts; a subject it cannot resolve (a deleted unit, a renamed file) is shown
as it was written. No Qt here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select

from desktop.export.vnformat import fmt_period
from desktop.models.domain.i18n import tr
from desktop.models.storage.audit import AuditEntry
from desktop.models.storage.queries import find_own_unit_row
from desktop.models.storage.schema import Report, TrustedUnitKey, User

from . import plans, settings, units
from desktop.models.storage.vault import Permission

_REPORT_REF = re.compile(r"^report (\d+)$")


class _Names:
    """Everything a subject can point at, read once per page refresh."""

    def __init__(self, session) -> None:
        self.units = units.unit_names(session)
        self.plans = {p.id: p.title for p in plans.list_plans(session, include_archived=True)}
        with session.db.session() as s:
            self.users = {u: (n or u) for u, n in s.execute(select(User.username, User.full_name))}
            self.keys = dict(s.execute(select(TrustedUnitKey.key_id, TrustedUnitKey.unit_code)).all())
            self.reports = {rid: (unit, plan, period) for rid, unit, plan, period in s.execute(
                select(Report.id, Report.unit_code, Report.plan_id, Report.period_key))}
            own = find_own_unit_row(s)
            self.own = own.code if own is not None else None

    def unit(self, code: str) -> str:
        return self.units.get(code, code)

    def plan(self, plan_id: str) -> str:
        return self.plans.get(plan_id, plan_id)

    def user(self, username: str) -> str:
        if username == "recovery" and username not in self.users:  # the recovery code's own certificate
            return tr("Audit", "Mã khôi phục")
        name = self.users.get(username)
        return f"{name} ({username})" if name and name != username else username

    def report(self, unit: str | None, plan_id: str, period: str) -> str:
        parts = [fmt_period(period), self.plan(plan_id)]
        if unit:
            parts.insert(0, self.unit(unit))
        return " · ".join(p for p in parts if p)

    def key(self, key_id: str, detail: dict) -> str:
        unit = detail.get("unit") or self.keys.get(key_id) or self.own
        if not unit:
            return tr("Audit", "Khóa {key}").format(key=key_id)
        return tr("Audit", "Khóa {key} của {unit}").format(key=key_id, unit=self.unit(unit))


def _describe(names: _Names, e: AuditEntry) -> str:
    subject, action = e.subject or "", e.action
    group = action.split(".", 1)[0]
    detail = e.detail if isinstance(e.detail, dict) else {}
    if not subject:
        return ""
    if group == "report" or action == "report.accept":
        ref = _REPORT_REF.match(subject)
        if ref:
            row = names.reports.get(int(ref.group(1)))
            return names.report(*row) if row else subject
        parts = subject.split()
        if len(parts) == 3:
            return names.report(parts[0], parts[1], parts[2])
        if len(parts) == 2:
            unit = detail.get("unit")
            return names.report(None if unit == names.own else unit, parts[0], parts[1])
        return subject
    if group == "plan":
        return "; ".join(names.plan(p) for p in subject.split(","))
    if group == "unit" or action in ("vault.create", "history.problem"):
        if action == "unit.recode" and " -> " in subject:
            old, new = subject.split(" -> ", 1)
            return tr("Audit", "{unit} (mã {old} → {new})").format(unit=names.unit(new), old=old, new=new)
        return names.unit(subject)
    if group in ("user", "login", "cert") or action in ("role.uncertified", "signing_key.mismatch"):
        if action == "cert.revoke":
            return tr("Audit", "Chứng thư số {serial}").format(serial=subject)
        return names.user(subject)
    if action == "settings" and subject in settings.SPECS:
        return tr("Settings", settings.SPECS[subject].label)
    if group == "key":
        return names.key(subject, detail)
    if action == "bundle.import" and detail.get("kind", "").startswith("enrolment"):
        return names.key(subject, detail)
    return subject


def subjects(session, entries: Iterable[AuditEntry]) -> dict[int, str]:
    """Record id → its subject in words (units and plans by name, reports as unit · period · plan,
    accounts by full name)."""
    session.require(Permission.VIEW_AUDIT)
    names = _Names(session)
    return {e.id: _describe(names, e) for e in entries}
