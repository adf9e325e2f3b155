"""Units of the procuracy hierarchy: VKSND tối cao → VKSND tỉnh/thành phố → VKSND khu vực.

This module must never import Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .i18n import tr
from .schema import Unit, UnitFormerName
from .vault import AppSession, Permission

LEVEL_LABELS = {
    "toi_cao": "VKSND tối cao",
    "tinh": "VKSND tỉnh/thành phố",
    "khu_vuc": "VKSND khu vực (trước đây cấp huyện)",
}


@dataclass(frozen=True)
class UnitInfo:
    code: str
    name: str
    short_name: str
    level: str
    parent_code: str | None
    place_name: str
    doc_symbol: str
    is_self: bool
    former_names: tuple[tuple[str, str | None, str | None], ...] = ()

    @property
    def level_label(self) -> str:
        return tr("Units", LEVEL_LABELS.get(self.level, self.level))


def _info(s, u: Unit) -> UnitInfo:
    former = tuple((f.name, f.valid_from, f.valid_to)
                   for f in s.scalars(select(UnitFormerName).where(UnitFormerName.unit_code == u.code)))
    return UnitInfo(u.code, u.name, u.short_name, u.level, u.parent_code, u.place_name, u.doc_symbol,
                    u.is_self, former)


def own_unit(session: AppSession) -> UnitInfo:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        u = s.scalars(select(Unit).where(Unit.is_self.is_(True))).first()
        return _info(s, u)


def get_unit(session: AppSession, code: str) -> UnitInfo | None:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        u = s.get(Unit, code)
        return _info(s, u) if u else None


def list_units(session: AppSession) -> list[UnitInfo]:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return [_info(s, u) for u in s.scalars(select(Unit).order_by(Unit.level, Unit.code))]
