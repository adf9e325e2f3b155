"""The base of every read-only table in the app: fed with rows (plain dataclasses from services)
through `set_rows`, never querying anything itself (Vorta's archive_table_model pattern).

Every table sorts by clicking its header (`sortable(view)`): the model sorts its own rows by a
per-column key (dates as dates, numbers as numbers, text in Vietnamese order through
`i18n.vi_sort_key`), keeps that order across `set_rows` (a refresh does not undo the user's
choice) and moves the selection with the rows. The key is also offered as `SORT_ROLE` data, for
a `QSortFilterProxyModel` (`proxy.setSortRole(SORT_ROLE)`)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from desktop.models.domain.i18n import vi_sort_key
from desktop.models.domain.plan import ReportingPeriod

log = logging.getLogger(__name__)

#: the data role carrying a column's sort key (UserRole itself is used by some models for the row)
SORT_ROLE = Qt.ItemDataRole.UserRole + 64


def sort_value(value: Any) -> str | int | float | None:
    """What a value sorts by, as something Qt compares correctly: numbers as numbers, dates and
    times as ISO text, everything else as its Vietnamese collation key; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return vi_sort_key(str(value))


def period_order(key: str | None) -> str | None:
    """The sort key of a reporting period key: by its last day, the longer period first when two
    end together (Quý I/2025 before Tháng 03/2025), never by its label."""
    if not key:
        return None
    try:
        p = ReportingPeriod.parse(key)
    except ValueError:
        return key
    return f"{p.end.isoformat()}/{12 - p.months:02d}"


_SHOWN = object()  # sort_key's "use the text shown"


def _python_key(value: Any) -> tuple:
    """A key Python can compare whatever the column holds; empty cells sort last."""
    v = sort_value(value)
    return (1, 0, "") if v is None else (0, 0, v) if isinstance(v, (int, float)) else (0, 1, v)


class ListTableModel(QAbstractTableModel):
    """Rows in a list; subclasses give `COLUMNS` (keys), `headers()` and `data()`, and may give
    `sort_key(row, column)` (the default sorts by the text shown)."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._sorted_by: tuple[int, Qt.SortOrder] | None = None

    def headers(self) -> tuple[str, ...]:
        return self.COLUMNS

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if self._sorted_by is not None:
            self._rows = self._in_order(self._rows, *self._sorted_by)
        self.endResetModel()

    def row(self, index: int):
        return self._rows[index]

    def rows(self) -> list:
        return list(self._rows)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return self.headers()[section]
        return None

    def row_at(self, index) -> object | None:
        """The row behind a model index, or None for an invalid one."""
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        return self._rows[index.row()]

    # --- sorting ----------------------------------------------------------------------------
    def sort_key(self, row, column: int) -> Any:
        """The value `row` sorts by in `column` (a date, a number, a text; None sorts last).
        The default is the text shown in the cell."""
        return _SHOWN

    def _cell_key(self, i: int, column: int) -> Any:
        key = self.sort_key(self._rows[i], column)
        return self.data(self.index(i, column), Qt.ItemDataRole.DisplayRole) if key is _SHOWN else key

    def sort_data(self, index) -> str | int | float | None:
        """The SORT_ROLE data of a cell."""
        if self.row_at(index) is None:
            return None
        return sort_value(self._cell_key(index.row(), index.column()))

    def _in_order(self, rows: list, column: int, order: Qt.SortOrder) -> list:
        if not (0 <= column < len(self.COLUMNS)):
            return rows
        saved, self._rows = self._rows, rows  # the default key reads the cell through data()
        try:
            keyed = [(_python_key(self._cell_key(i, column)), r) for i, r in enumerate(rows)]
        finally:
            self._rows = saved
        # stable in both directions (equal keys keep the service's order); empty cells last
        full = sorted((k for k in keyed if k[0][0] == 0), key=lambda k: k[0],
                      reverse=order == Qt.SortOrder.DescendingOrder)
        return [r for _k, r in full] + [r for k, r in keyed if k[0] == 1]

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        # Called by the view from C++: an exception escaping here would end the process, so a
        # key that cannot be computed leaves the order as it was (and is logged).
        self._sorted_by = (column, order) if column >= 0 else None
        if column < 0 or not self._rows:
            return
        old = self._rows
        try:
            new = self._in_order(old, column, order)
        except Exception:
            log.exception("cannot sort %s by column %d", type(self).__name__, column)
            self._sorted_by = None
            return
        self.layoutAboutToBeChanged.emit()
        where = {id(r): n for n, r in enumerate(new)}
        persistent = self.persistentIndexList()
        moved = [self.index(where[id(old[p.row()])], p.column()) if 0 <= p.row() < len(old) else QModelIndex()
                 for p in persistent]
        self._rows = new
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()


class RowTableModel(ListTableModel):
    """A table whose columns are (header, getter) or (header, getter, sort key) tuples; without a
    sort key a column sorts by its getter's value (give one when the getter formats a date or a
    number as text)."""

    columns: list[tuple] = []

    @property
    def COLUMNS(self):  # noqa: N802 - the base class reads it as a constant
        return tuple(c[0] for c in self.columns)

    def sort_key(self, row, column: int) -> Any:
        spec = self.columns[column]
        return (spec[2] if len(spec) > 2 else spec[1])(row)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.row_at(index)
        if r is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return str(self.columns[index.column()][1](r))
        if role == SORT_ROLE:
            return self.sort_data(index)
        return None


def sortable(view: QTableView, column: int | None = None,
             order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> QTableView:
    """Sort `view` by clicking a header (again: the other way); `column` sorts it at once."""
    header = view.horizontalHeader()
    header.setSectionsClickable(True)
    header.setSortIndicatorShown(True)
    # no column: keep the service's order until the user clicks (enabling sorting sorts at once
    # by the indicator's column)
    header.setSortIndicator(-1 if column is None else column, order)
    view.setSortingEnabled(True)
    return view


def fit_columns(view: QTableView, stretch: int, widths: dict[int, int] | None = None,
                minimum: int = 60) -> None:
    """Size columns sensibly: `stretch` takes the room left, the others fit their content (or the
    width given) and stay resizable by the user."""
    header = view.horizontalHeader()
    header.setMinimumSectionSize(minimum)
    header.setStretchLastSection(False)
    model = view.model()
    for c in range(model.columnCount() if model is not None else 0):
        if c == stretch:
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch)
        elif widths and c in widths:
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
            view.setColumnWidth(c, widths[c])
        else:
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)


def selected_row(view: QAbstractItemView) -> int:
    """The model row selected in `view` (through a proxy when there is one), or -1."""
    rows = view.selectionModel().selectedRows() if view.selectionModel() is not None else []
    if not rows:
        return -1
    index = rows[0]
    model = view.model()
    while hasattr(model, "mapToSource"):
        index = model.mapToSource(index)
        model = model.sourceModel()
    return index.row()

