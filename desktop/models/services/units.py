"""Units of the procuracy hierarchy: VKSND tối cao → VKSND tỉnh/thành phố → VKSND khu vực.

This module must never import Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from desktop.models.domain.plan import UnitCodeError, normalize_unit_code
from desktop.models.domain.errors import ValidationError
from desktop.models.domain.i18n import nfc, tr
from desktop.models.storage.queries import find_own_unit_row, own_unit_row
from desktop.models.storage.schema import (BundleStream, OutboxBundle, OwnKey, Plan, ReceivedBundle, Report, TrustedUnitKey, Unit,
                     UnitFormerName)
from desktop.models.storage.vault import AppSession, Permission

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


def _checked_code(text: str) -> str:
    try:
        return normalize_unit_code(text)
    except UnitCodeError as exc:
        raise ValidationError(str(exc)) from None


def _info(s, u: Unit) -> UnitInfo:
    former = tuple((f.name, f.valid_from, f.valid_to)
                   for f in s.scalars(select(UnitFormerName).where(UnitFormerName.unit_code == u.code)))
    return UnitInfo(u.code, u.name, u.short_name, u.level, u.parent_code, u.place_name, u.doc_symbol,
                    u.is_self, former)


def own_unit(session: AppSession) -> UnitInfo:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return _info(s, own_unit_row(s))


def unit_names(session: AppSession) -> dict[str, str]:
    """Code → full name of every unit in the roster (screens name units, never show codes)."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return {code: name for code, name in s.execute(select(Unit.code, Unit.name)) if name}


def get_unit(session: AppSession, code: str) -> UnitInfo | None:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        u = s.get(Unit, code)
        return _info(s, u) if u else None


def add_unit(session: AppSession, code: str, name: str, level: str = "khu_vuc", parent_code: str | None = None,
             short_name: str = "", place_name: str = "", doc_symbol: str = "") -> UnitInfo:
    """Add a unit to the roster (a provincial office adds its regional units)."""
    from desktop.models.storage import audit

    session.require(Permission.MANAGE_SETTINGS)
    if not nfc(code).strip() or not nfc(name).strip():
        raise ValidationError(tr("Units", "Cần nhập mã và tên đơn vị."))
    code = _checked_code(code)
    if level not in LEVEL_LABELS:
        raise ValidationError(tr("Units", "Cấp đơn vị không hợp lệ: {0}").format(level))
    with session.db.session() as s:
        if s.get(Unit, code) is not None:
            raise ValidationError(tr("Units", "Mã đơn vị {0} đã có trong danh sách.").format(code))
        if parent_code is None:
            me = find_own_unit_row(s)
            parent_code = me.code if me else None
        u = Unit(code=code, name=nfc(name).strip(), short_name=nfc(short_name).strip(), level=level,
                 parent_code=parent_code, place_name=nfc(place_name).strip(), doc_symbol=nfc(doc_symbol).strip(),
                 active=True, is_self=False)
        s.add(u)
        audit.append(s, session.user.id or None, "unit.add", code)
        s.flush()
        return _info(s, u)


def set_unit_active(session: AppSession, code: str, active: bool) -> None:
    from desktop.models.storage import audit
    from desktop.models.domain.errors import NotFound

    session.require(Permission.MANAGE_SETTINGS)
    with session.db.session() as s:
        u = s.get(Unit, code)
        if u is None or u.is_self:
            raise NotFound(tr("Units", "Không có đơn vị {0}.").format(code))
        u.active = active
        audit.append(s, session.user.id or None, "unit.activate" if active else "unit.deactivate", code)


@dataclass(frozen=True)
class OwnUnitChange:
    """What the administrator may correct about the office after setup (Cài đặt → Thông tin đơn vị)."""

    code: str
    name: str
    short_name: str = ""
    place_name: str = ""
    doc_symbol: str = ""
    parent_code: str | None = None
    parent_name: str = ""


def code_change_allowed(session: AppSession) -> bool:
    """The office's code can be corrected until it has keys or has exchanged anything: after that it
    is bound into signed keys, enrolment forms and bundle streams on both sides."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return not any(s.scalars(select(m).limit(1)).first() is not None
                       for m in (OwnKey, TrustedUnitKey, BundleStream, OutboxBundle, ReceivedBundle))


def update_own_unit(session: AppSession, change: OwnUnitChange) -> UnitInfo:
    """Correct the office's identity as printed on its documents. A changed code (e.g. typed in
    lower case in the first-run wizard) is rewritten everywhere it is referenced, in one
    transaction, and only while `code_change_allowed`; a changed name keeps the old one as a
    former name."""
    from datetime import date, timedelta

    from desktop.models.storage import audit

    session.require(Permission.MANAGE_SETTINGS)
    code = _checked_code(change.code)
    parent_code = _checked_code(change.parent_code) if change.parent_code and change.parent_code.strip() else None
    name = nfc(change.name).strip()
    if not name:
        raise ValidationError(tr("Units", "Cần nhập tên đơn vị."))
    allowed = code_change_allowed(session)
    with session.db.session() as s:
        me = own_unit_row(s)
        old_code = me.code
        if code != old_code:
            if not allowed:
                raise ValidationError(tr("Units", "Không đổi được mã đơn vị: đơn vị đã có khóa ký hoặc đã trao đổi báo "
                                                  "cáo với mã {0}. Mã đã gắn vào khóa và phiếu đăng ký.").format(old_code))
            if s.get(Unit, code) is not None:
                raise ValidationError(tr("Units", "Mã đơn vị {0} đã có trong danh sách.").format(code))
            s.add(Unit(code=code, name=me.name, short_name=me.short_name, level=me.level, parent_code=me.parent_code,
                       place_name=me.place_name, doc_symbol=me.doc_symbol, active=True, is_self=False))
            s.flush()
            s.execute(update(UnitFormerName).where(UnitFormerName.unit_code == old_code).values({"unit_code": code}))
            s.execute(update(Unit).where(Unit.parent_code == old_code).values({"parent_code": code}))
            s.execute(update(Report).where(Report.unit_code == old_code).values({"unit_code": code}))
            s.execute(update(Plan).where(Plan.owner_unit_code == old_code).values({"owner_unit_code": code}))
            s.delete(me)
            s.flush()
            me = s.get_one(Unit, code)
            me.is_self = True
            audit.append(s, session.user.id or None, "unit.recode", f"{old_code} -> {code}")
        if name != me.name:
            until = (date.today() - timedelta(days=1)).isoformat()
            s.add(UnitFormerName(unit_code=code, name=me.name, valid_from=None, valid_to=until))
            me.name = name
        me.short_name = nfc(change.short_name).strip()
        me.place_name = nfc(change.place_name).strip()
        me.doc_symbol = nfc(change.doc_symbol).strip()
        if parent_code != me.parent_code and parent_code is not None and s.get(Unit, parent_code) is None:
            s.add(Unit(code=parent_code, name=nfc(change.parent_name).strip() or parent_code,
                       level="tinh" if me.level == "khu_vuc" else "toi_cao", parent_code=None, place_name="",
                       doc_symbol="", short_name="", active=True, is_self=False))
        elif parent_code is not None and nfc(change.parent_name).strip():
            parent = s.get(Unit, parent_code)
            if parent is not None and parent.name != nfc(change.parent_name).strip():
                parent.name = nfc(change.parent_name).strip()
        me.parent_code = parent_code
        audit.append(s, session.user.id or None, "unit.update", code)
        s.flush()
        return _info(s, me)
