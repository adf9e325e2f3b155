"""Queries shared by several services, written once (storage layer: no permissions, no audit;
the caller's transaction).

This module must never import Qt.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.models.domain.errors import AppError
from desktop.models.domain.i18n import tr
from .schema import Setting, Unit


def own_unit_row(s: Session) -> Unit:
    """This office's row in the unit roster (there is exactly one, created with the data folder)."""
    u = find_own_unit_row(s)
    if u is None:
        raise AppError(tr("Units", "Chưa có thông tin đơn vị."))
    return u


def find_own_unit_row(s: Session) -> Unit | None:
    """Like `own_unit_row`, or None while the data folder is being created."""
    return s.scalars(select(Unit).where(Unit.is_self.is_(True))).first()


def stored_setting(s: Session, key: str, kind: type, default: Any) -> Any:
    """A setting's stored value (JSON in ``settings.value``) as ``kind``, or ``default`` when it
    is absent or unreadable. The settings service and the vault's second backup place read it so."""
    row = s.get(Setting, key)
    if row is None:
        return default
    try:
        return kind(json.loads(row.value))
    except (ValueError, TypeError):
        return default
