"""Queries shared by several services, written once (storage layer: no permissions, no audit;
the caller's transaction).

This module must never import Qt.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import AppError
from .i18n import tr
from .schema import Unit


def own_unit_row(s: Session) -> Unit:
    """This office's row in the unit roster (there is exactly one, created with the data folder)."""
    u = find_own_unit_row(s)
    if u is None:
        raise AppError(tr("Units", "Chưa có thông tin đơn vị."))
    return u


def find_own_unit_row(s: Session) -> Unit | None:
    """Like `own_unit_row`, or None while the data folder is being created."""
    return s.scalars(select(Unit).where(Unit.is_self.is_(True))).first()
