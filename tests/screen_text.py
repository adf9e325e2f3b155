"""What a user reads on a widget: labels, buttons, titles, tabs, combo items, table cells and
headers (tooltips aside), to assert that no internal code reaches the screen."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QComboBox, QGroupBox, QLabel, QLineEdit,
                               QListWidget, QTabWidget, QWidget)

#: a reporting period key as stored ("2025-04", "2025-Q2", "2025-H1")
PERIOD_KEY = re.compile(r"\b20\d\d-(?:0[1-9]|1[0-2]|Q[1-4]|H[12])\b")


def visible_texts(root: QWidget) -> list[str]:
    out = [root.windowTitle()]
    for w in [root, *root.findChildren(QWidget)]:
        if isinstance(w, QLabel):
            out.append(w.text())
        elif isinstance(w, QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QGroupBox):
            out.append(w.title())
        elif isinstance(w, QLineEdit) and w.isReadOnly():
            out.append(w.text())
        elif isinstance(w, QTabWidget):
            out += [w.tabText(i) for i in range(w.count())]
        elif isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
        elif isinstance(w, QListWidget):
            out += [w.item(i).text() for i in range(w.count())]
        elif isinstance(w, QAbstractItemView) and w.model() is not None:
            m = w.model()
            for c in range(m.columnCount()):
                out.append(str(m.headerData(c, Qt.Orientation.Horizontal) or ""))
                out += [str(m.index(r, c).data() or "") for r in range(m.rowCount())]
    return [t for t in out if t]


def raw_codes(root: QWidget, plan_ids=()) -> list[str]:
    """Texts on screen showing a period key or a plan id (empty when the screen is clean)."""
    return [t for t in visible_texts(root) if PERIOD_KEY.search(t) or any(p in t for p in plan_ids)]
