"""The recovery sheet: the one-page PDF with the recovery code, for the unit's safe.

It is written only where the user explicitly asks (a printer or a file they choose): the code is
the one secret meant to exist on paper.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from desktop.fsutil import atomic_write_bytes
from .units import own_unit
from desktop.models.storage.vault import AppSession


def recovery_sheet_pdf(session: AppSession, code: str) -> bytes:
    from desktop.export.documents import RecoverySheetDoc
    from desktop.export.pdf import render_recovery_sheet

    unit = own_unit(session)
    parent = ""
    if unit.parent_code:
        from .units import get_unit

        p = get_unit(session, unit.parent_code)
        parent = p.name if p else ""
    doc = RecoverySheetDoc(unit_name=unit.name, unit_code=unit.code, created=date.today(),
                           recovery_code=code, parent_agency=parent, place=unit.place_name)
    buf = io.BytesIO()
    render_recovery_sheet(doc, buf)
    return buf.getvalue()


def write_recovery_sheet(session: AppSession, code: str, path: Path) -> None:
    atomic_write_bytes(Path(path), recovery_sheet_pdf(session, code))
