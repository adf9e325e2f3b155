"""Who reports on which target: the per-target assignment of a plan, as a service.

The rules live in the domain (:func:`desktop.models.domain.plan.target_role`): a target's
`reporting_units` when it lists them, else every unit of its levels, and a unit named as lead.
This module applies them to the units in the database — the unit itself for the entry form, the
dashboard and the unit's printed report; each subordinate unit for consolidation, chasing and
the consolidated report — and lets the issuing office change a target's assignment when it
adapts a superior's plan (a new plan version, audited; entries stay keyed by target code).

This module must never import Qt.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import select

from desktop.models.domain.plan import (LEVELS, Plan, Recurrence, Target, UnitIdentity, UnitRef, applicability, target_role,
                     targets_applicable)
from desktop.models.domain.errors import ValidationError
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.schema import Unit
from desktop.models.storage.vault import AppSession, Permission

__all__ = ["identity", "applicable_targets", "targets_for_units", "reporting_units", "set_assignment",
           "assignable_units"]


def _t(text: str) -> str:
    return tr("Assignment", text)


def identity(unit: Unit) -> UnitIdentity:
    """The domain's view of a unit row (code, level, full and short names)."""
    return UnitIdentity(unit.code, unit.level, tuple(n for n in (unit.name, unit.short_name) if n))


def _unit(s, unit_code: str | None) -> Unit | None:
    if unit_code:
        return s.get(Unit, unit_code)
    return s.scalars(select(Unit).where(Unit.is_self.is_(True))).first()


def applicable_targets(session: AppSession, plan: Plan, unit_code: str | None = None) -> list[Target]:
    """The targets of `plan` that unit `unit_code` (default: this unit) reports on, in plan order.
    A unit not in the register reports on nothing."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        unit = _unit(s, unit_code)
        if unit is None:
            return []
        who = identity(unit)
    return targets_applicable(plan, who)


def assignable_units(session: AppSession) -> list[UnitRef]:
    """The active units of the register other than this one, that a target may name as its
    reporting units (a province names its regional units), by level then code."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        rows = s.scalars(select(Unit).where(Unit.is_self.is_(False), Unit.active.is_(True))
                         .order_by(Unit.level, Unit.code)).all()
        return [UnitRef(u.name, u.code) for u in rows]


def targets_for_units(plan: Plan, units: Iterable[Unit]) -> dict[str, list[Target]]:
    """unit code → the targets it reports on (units with none are left out)."""
    return {code: ts for code, ts in applicability(plan, [identity(u) for u in units]).items() if ts}


def reporting_units(plan: Plan, target: Target, units: Sequence[Unit]) -> list[tuple[Unit, str]]:
    """Of `units`, those that report on `target`, with their role ('lead', 'coordinating',
    'reporting')."""
    out = []
    for u in units:
        role = target_role(target, plan, identity(u))
        if role is not None:
            out.append((u, role))
    return out


def set_assignment(session: AppSession, plan_id: str, code: str, *, levels: Sequence[str] | None = None,
                   lead_units: Sequence[str] | None = None, coordinating_units: Sequence[str] | None = None,
                   reporting_units: Sequence[UnitRef | dict] | None = None, assignment_note: str | None = None,
                   recurrence: Recurrence | None | bool = False, note: str = "") -> int:
    """Change who does and who reports on one target of a plan the unit owns (a new version).

    Arguments left at None are kept; an empty list clears the field. `recurrence=None` removes a
    recurrence, a Recurrence sets it, False keeps it. Returns the plan's current version.
    """
    from . import plans

    session.require(Permission.MANAGE_PLANS)
    changes: dict = {}
    if levels is not None:
        bad = [lv for lv in levels if lv not in LEVELS]
        if bad:
            raise ValidationError(_t("Cấp '{0}' không hợp lệ.").format(", ".join(map(str, bad))))
        changes["applies_to_levels"] = [lv for lv in LEVELS if lv in levels]
    if lead_units is not None:
        changes["lead_units"] = list(lead_units)
    if coordinating_units is not None:
        changes["coordinating_units"] = list(coordinating_units)
    if reporting_units is not None:
        changes["reporting_units"] = list(reporting_units)
    if assignment_note is not None:
        changes["assignment_note"] = nfc(assignment_note)
    if recurrence is not False:
        changes["recurrence"] = recurrence.to_json() if isinstance(recurrence, Recurrence) else None
    if not changes:
        return plans.plan_summary(session, plan_id).version
    return plans.update_target(session, plan_id, code, changes,
                               note or _t("Phân công mục tiêu {0}").format(code))
