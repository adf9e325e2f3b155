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


def add_unit(session: AppSession, code: str, name: str, level: str = "khu_vuc", parent_code: str | None = None,
             short_name: str = "", place_name: str = "", doc_symbol: str = "") -> UnitInfo:
    """Add a unit to the roster (a provincial office adds its regional units)."""
    from . import audit
    from .errors import ValidationError
    from .i18n import nfc

    session.require(Permission.MANAGE_SETTINGS)
    code = nfc(code).strip().upper()
    if not code or not nfc(name).strip():
        raise ValidationError(tr("Units", "Cần nhập mã và tên đơn vị."))
    if level not in LEVEL_LABELS:
        raise ValidationError(tr("Units", "Cấp đơn vị không hợp lệ: {0}").format(level))
    with session.db.session() as s:
        if s.get(Unit, code) is not None:
            raise ValidationError(tr("Units", "Mã đơn vị {0} đã có trong danh sách.").format(code))
        if parent_code is None:
            me = s.scalars(select(Unit).where(Unit.is_self.is_(True))).first()
            parent_code = me.code if me else None
        u = Unit(code=code, name=nfc(name).strip(), short_name=nfc(short_name).strip(), level=level,
                 parent_code=parent_code, place_name=nfc(place_name).strip(), doc_symbol=nfc(doc_symbol).strip(),
                 active=True, is_self=False)
        s.add(u)
        audit.append(s, session.user.id or None, "unit.add", code)
        s.flush()
        return _info(s, u)


def rename_unit(session: AppSession, code: str, new_name: str, valid_from: str) -> None:
    """Record a new official name; the old one is kept as a former name valid until the day before."""
    from datetime import date, timedelta

    from . import audit
    from .errors import NotFound
    from .i18n import nfc

    session.require(Permission.MANAGE_SETTINGS)
    with session.db.session() as s:
        u = s.get(Unit, code)
        if u is None:
            raise NotFound(tr("Units", "Không có đơn vị {0}.").format(code))
        until = (date.fromisoformat(valid_from) - timedelta(days=1)).isoformat()
        s.add(UnitFormerName(unit_code=code, name=u.name, valid_from=None, valid_to=until))
        u.name = nfc(new_name).strip()
        audit.append(s, session.user.id or None, "unit.rename", code)


def set_unit_active(session: AppSession, code: str, active: bool) -> None:
    from . import audit
    from .errors import NotFound

    session.require(Permission.MANAGE_SETTINGS)
    with session.db.session() as s:
        u = s.get(Unit, code)
        if u is None or u.is_self:
            raise NotFound(tr("Units", "Không có đơn vị {0}.").format(code))
        u.active = active
        audit.append(s, session.user.id or None, "unit.activate" if active else "unit.deactivate", code)
