"""The base of every read-only table in the app: fed with rows (plain dataclasses from services)
through `set_rows`, never querying anything itself (Vorta's archive_table_model pattern)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt


class ListTableModel(QAbstractTableModel):
    """Rows in a list; subclasses give `COLUMNS` (keys), `headers()` and `data()`."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []

    def headers(self) -> tuple[str, ...]:
        return self.COLUMNS

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self._rows = list(rows)
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


class RowTableModel(ListTableModel):
    """A table whose columns are (header, getter) pairs."""

    columns: list[tuple[str, callable]] = []

    @property
    def COLUMNS(self):  # noqa: N802 - the base class reads it as a constant
        return tuple(h for h, _ in self.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.row_at(index)
        if r is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return str(self.columns[index.column()][1](r))
        return None
