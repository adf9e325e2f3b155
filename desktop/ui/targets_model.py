"""The one grouped-targets model: a plan's groups ("I. <title>") with their targets under them.

Used by the entry form's target list (with what was entered and the live status of each target)
and by the plan browser's target tree (wording, lead units, deadline, measure). What a page shows
is a list of :class:`Column`; the rows are the page's own plain objects, each with ``code``,
``group_code``, ``group_title`` (and whatever the columns read). The model never queries: pages
feed it with :meth:`GroupedTargetsModel.set_rows`.

Structure: top-level items are the groups in the order their first target comes; a group's
children are its targets. Group items are enabled but not selectable; views span their first
column (:func:`setup_tree_view`) and the keyboard steps over them (:class:`TargetTreeView`). A filter (:meth:`set_filter`) hides targets, and groups left
without a target; :meth:`update_row` changes a row in place and never re-filters, so a row the
user is editing does not vanish under the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QApplication, QStyle, QTreeView

from desktop.ui import theme

ROLE_ROW = Qt.ItemDataRole.UserRole          # the row object of a target (None for a group)
ROLE_GROUP = Qt.ItemDataRole.UserRole + 1    # the group code, on group and target items


@dataclass(frozen=True)
class Column:
    """One column: its (translated) header and how a target row fills it."""

    header: str
    display: Callable[[Any], str]
    tooltip: Callable[[Any], str | None] | None = None
    background: Callable[[Any], str | None] | None = None        # a colour "#rrggbb", or None
    foreground: Callable[[Any], str | None] | None = None
    icon: Callable[[Any], QStyle.StandardPixmap | None] | None = None
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    height: int = 0                                              # a row height hint (two lines of wording)


def default_group_label(code: str, title: str, count: int) -> str:
    return f"{code}. {title}" if code else title


class _Group:
    __slots__ = ("code", "title", "rows")

    def __init__(self, code: str, title: str):
        self.code, self.title = code, title
        self.rows: list[Any] = []


class GroupedTargetsModel(QAbstractItemModel):
    """Groups and their targets (see the module docstring)."""

    def __init__(self, columns: Sequence[Column], parent=None,
                 group_label: Callable[[str, str, int], str] = default_group_label):
        super().__init__(parent)
        self.columns = tuple(columns)
        self.group_label = group_label
        self._all: list[Any] = []
        self._groups: list[_Group] = []
        self._where: dict[str, tuple[int, int]] = {}    # code -> (group row, row in group), visible only
        self._filter: Callable[[Any], bool] | None = None

    # ------------------------------------------------------------------ feeding
    def set_rows(self, rows: Iterable[Any]) -> None:
        self._all = list(rows)
        self._rebuild()

    def set_filter(self, keep: Callable[[Any], bool] | None) -> None:
        """Show only the targets `keep` accepts (None: all), re-applied on the rows now held."""
        self._filter = keep
        self._rebuild()

    def update_row(self, row: Any) -> None:
        """Replace the target with the same code (kept visible even if the filter would now drop it)."""
        self._all = [row if r.code == row.code else r for r in self._all]
        where = self._where.get(row.code)
        if where is None:
            return
        g, i = where
        self._groups[g].rows[i] = row
        parent = self.index(g, 0)
        self.dataChanged.emit(self.index(i, 0, parent), self.index(i, len(self.columns) - 1, parent))

    def _rebuild(self) -> None:
        self.beginResetModel()
        groups: list[_Group] = []
        by_code: dict[str, _Group] = {}
        for r in self._all:
            if self._filter is not None and not self._filter(r):
                continue
            g = by_code.get(r.group_code)
            if g is None:
                g = by_code[r.group_code] = _Group(r.group_code, r.group_title)
                groups.append(g)
            g.rows.append(r)
        self._groups = groups
        self._where = {r.code: (gi, ri) for gi, g in enumerate(groups) for ri, r in enumerate(g.rows)}
        self.endResetModel()

    # ------------------------------------------------------------------ reading
    def all_rows(self) -> list[Any]:
        """Every row fed, filtered or not."""
        return list(self._all)

    def rows(self) -> list[Any]:
        """The visible targets, in display order."""
        return [r for g in self._groups for r in g.rows]

    def target_count(self) -> int:
        return len(self._where)

    def group_count(self) -> int:
        return len(self._groups)

    def group_indexes(self) -> list[QModelIndex]:
        return [self.index(i, 0) for i in range(len(self._groups))]

    def index_of(self, code: str, column: int = 0) -> QModelIndex:
        """The index of a visible target (invalid when filtered out or unknown)."""
        where = self._where.get(code)
        if where is None:
            return QModelIndex()
        return self.index(where[1], column, self.index(where[0], 0))

    def row_at(self, index: QModelIndex) -> Any | None:
        """The target row at `index`, None for a group or an invalid index."""
        if not index.isValid() or not index.parent().isValid():
            return None
        return self._groups[index.parent().row()].rows[index.row()]

    def neighbour(self, code: str | None, step: int) -> Any | None:
        """The visible target `step` places after (before, negative) `code`."""
        rows = self.rows()
        codes = [r.code for r in rows]
        if code not in codes:
            return rows[0] if rows and step > 0 else None
        i = codes.index(code) + step
        return rows[i] if 0 <= i < len(rows) else None

    # ------------------------------------------------------------------ QAbstractItemModel
    def index(self, row: int, column: int, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:
        if column < 0 or column >= len(self.columns) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._groups) else QModelIndex()
        if parent.parent().isValid() or parent.column() != 0:
            return QModelIndex()
        g = parent.row()
        if g >= len(self._groups) or row >= len(self._groups[g].rows):
            return QModelIndex()
        return self.createIndex(row, column, g + 1)     # internal id: 0 a group, else its group + 1

    def parent(self, index: QModelIndex | QPersistentModelIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        g = index.internalId()
        if g == 0:
            return QModelIndex()
        return self.createIndex(g - 1, 0, 0)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._groups)
        if parent.parent().isValid() or parent.column() != 0:
            return 0
        return len(self._groups[parent.row()].rows) if parent.row() < len(self._groups) else 0

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return len(self.columns)

    def hasChildren(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return self.rowCount(parent) > 0

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.columns):
            return self.columns[section].header
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if not index.parent().isValid():
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        col = self.columns[index.column()]
        if not index.parent().isValid():
            g = self._groups[index.row()]
            label = self.group_label(g.code, g.title, len(g.rows))
            if role == Qt.ItemDataRole.DisplayRole:
                return label if index.column() == 0 else ""
            if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
                return default_group_label(g.code, g.title, len(g.rows))
            if role == Qt.ItemDataRole.FontRole:
                f = QFont()
                f.setBold(True)
                return f
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(theme.GROUP_BG))
            if role == ROLE_GROUP:
                return g.code
            return None
        r = self._groups[index.parent().row()].rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.display(r)
        if role == Qt.ItemDataRole.ToolTipRole:
            return col.tooltip(r) if col.tooltip is not None else None
        if role == Qt.ItemDataRole.BackgroundRole and col.background is not None:
            colour = col.background(r)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ForegroundRole and col.foreground is not None:
            colour = col.foreground(r)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.DecorationRole and col.icon is not None:
            pixmap = col.icon(r)
            return QApplication.style().standardIcon(pixmap) if pixmap is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(col.align)
        if role == Qt.ItemDataRole.SizeHintRole and col.height:
            return QSize(0, col.height)
        if role == ROLE_ROW:
            return r
        if role == ROLE_GROUP:
            return r.group_code
        return None


# ------------------------------------------------------------------ the view
class TargetTreeView(QTreeView):
    """A target tree whose keyboard cursor steps over group headings (they are not selectable):
    Down onto "II. …" lands on its first target, Up onto it on the last target of "I. …"."""

    def moveCursor(self, action, modifiers):
        index = super().moveCursor(action, modifiers)
        model = self.model()
        if not index.isValid() or index.parent().isValid() or not isinstance(model, GroupedTargetsModel):
            return index
        A = QAbstractItemView.CursorAction
        if action in (A.MoveUp, A.MovePageUp, A.MovePrevious):
            for g in range(index.row() - 1, -1, -1):
                n = model.rowCount(model.index(g, 0))
                if n:
                    return model.index(n - 1, 0, model.index(g, 0))
            return self.currentIndex()
        if action in (A.MoveDown, A.MovePageDown, A.MoveNext, A.MoveHome, A.MoveEnd):
            for g in range(index.row(), model.rowCount()):
                if model.rowCount(model.index(g, 0)):
                    return model.index(0, 0, model.index(g, 0))
        return self.currentIndex()


def setup_tree_view(view: QTreeView, model: GroupedTargetsModel) -> None:
    """A target tree as both pages show it: groups spanning the row, open, one target selected at
    a time, wrapped wording; re-applied after every reset."""
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    view.setUniformRowHeights(False)
    view.setWordWrap(True)
    view.setAllColumnsShowFocus(True)
    view.setIndentation(12)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.header().setHighlightSections(False)

    def spans() -> None:
        for i in range(model.rowCount()):
            view.setFirstColumnSpanned(i, QModelIndex(), True)
        view.expandAll()

    model.modelReset.connect(spans)
    spans()
