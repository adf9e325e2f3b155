"""The entry form's target list: the report's targets grouped under their headings, with what
was entered this period and the live status, a search box (code or wording, without
diacritics) and the filters Tất cả / Chưa nhập / Chưa đạt / Có lỗi, ý kiến.

It shows rows the form computed (:class:`EntryRow`) in the shared grouped-targets model
(:mod:`desktop.ui.targets_model`); what counts as entered, behind or matching comes from
:mod:`desktop.models.domain.entry_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QStyle, QVBoxLayout, QWidget

from desktop.models.domain.entry_rules import matches_search
from desktop.models.domain.status import Progress
from desktop.ui import theme
from desktop.ui.targets_model import Column, GroupedTargetsModel, TargetTreeView, setup_tree_view

#: The filters: key -> label (translated where shown).
FILTERS = (("all", "Tất cả"), ("not_entered", "Chưa nhập"), ("behind", "Chưa đạt"), ("problems", "Có lỗi, ý kiến"))


def _t(text: str) -> str:
    return QCoreApplication.translate("EntryForm", text)


@dataclass(frozen=True)
class EntryRow:
    """One target in the list on the left, as the form computed it."""

    code: str
    group_code: str
    group_title: str
    text: str
    summary: str = ""
    status_label: str = ""
    status_colour: str = ""
    status_reason: str = ""
    comment: str = ""        # the province's comment on this target, if any
    problem: str = ""        # a value typed but not saved (invalid), if any
    evidence_count: int = 0
    entered: bool = False    # a result has been entered (is_entered)
    status: Progress | None = None


def entry_columns() -> list[Column]:
    """The target list of the entry form: code, wording, what was entered, the live status."""
    warn, info = QStyle.StandardPixmap.SP_MessageBoxWarning, QStyle.StandardPixmap.SP_MessageBoxInformation

    def text_tip(r: EntryRow) -> str:
        return r.text + ("\n\n" + _t("Ý kiến cấp trên: {0}").format(r.comment) if r.comment else "")

    return [
        Column(_t("Mã"), lambda r: r.code,
               tooltip=lambda r: _t("Ý kiến cấp trên: {0}").format(r.comment) if r.comment else None,
               background=lambda r: theme.COMMENT_BG if r.comment else None,
               icon=lambda r: warn if r.problem else (info if r.comment else None)),
        Column(_t("Mục tiêu / nhiệm vụ"), lambda r: r.text, tooltip=text_tip, height=40),
        Column(_t("Kỳ này"), lambda r: r.summary, tooltip=lambda r: r.problem or r.summary or None,
               foreground=lambda r: theme.ERROR_BORDER if r.problem else None),
        Column(_t("Tiến độ"), lambda r: r.status_label, tooltip=lambda r: r.status_reason or None,
               background=lambda r: r.status_colour or None, align=Qt.AlignmentFlag.AlignCenter),
    ]


def keep_row(key: str, query: str) -> Callable[[EntryRow], bool]:
    """The filter of the target list: a search (code or wording, without diacritics) and one of
    :data:`FILTERS`."""
    def keep(r: EntryRow) -> bool:
        if not matches_search(query, r.code, r.text):
            return False
        if key == "not_entered":
            return not r.entered
        if key == "behind":
            return r.status is not None and r.status is not Progress.HOAN_THANH and r.status.evaluated
        if key == "problems":
            return bool(r.problem or r.comment)
        return True
    return keep


class TargetList(QWidget):
    """The search box and filter above the target tree. Emits `filterChanged` after the rows
    shown changed (the form then keeps or moves the selection)."""

    filterChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = GroupedTargetsModel(entry_columns(), self)
        self.view = TargetTreeView(objectName="entryTargets")
        setup_tree_view(self.view, self.model)
        hh = self.view.header()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 104), (2, 104), (3, 106)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.view.setColumnWidth(col, width)

        self.search_edit = QLineEdit(objectName="entrySearch")
        self.search_edit.setPlaceholderText(self.tr("Tìm theo mã hoặc tên mục tiêu (gõ không dấu được)"))
        self.search_edit.setClearButtonEnabled(True)
        self.filter_combo = QComboBox(objectName="entryFilter")
        for key, label in FILTERS:
            self.filter_combo.addItem(_t(label), key)
        self.filter_combo.setToolTip(self.tr("Chưa nhập: mục tiêu chưa có kết quả kỳ này · Chưa đạt: chưa hoàn "
                                             "thành · Có lỗi, ý kiến: giá trị chưa lưu được hoặc có ý kiến cấp trên"))
        self.match_label = QLabel(objectName="entryMatches")
        self.match_label.setStyleSheet(theme.MUTED_TEXT)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.apply_filter)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.filter_combo.currentIndexChanged.connect(lambda _i: self.apply_filter())

        find = QHBoxLayout()
        find.setContentsMargins(0, 0, 0, 0)
        find.addWidget(self.search_edit, 1)
        find.addWidget(self.filter_combo)
        find.addWidget(self.match_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(find)
        lay.addWidget(self.view, 1)

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def set_filter(self, key: str) -> None:
        self.filter_combo.setCurrentIndex(max(0, self.filter_combo.findData(key)))

    def filter_active(self) -> bool:
        return (self.filter_combo.currentData() or "all") != "all" or bool(self.search_edit.text().strip())

    def apply_filter(self) -> None:
        """Show the targets matching the search box and the filter (again: rows edited since the
        last time may now drop out)."""
        self._search_timer.stop()
        key, query = self.filter_combo.currentData() or "all", self.search_edit.text()
        self.model.set_filter(keep_row(key, query) if self.filter_active() else None)
        self.filterChanged.emit()

    def update_match_label(self, total: int) -> None:
        self.match_label.setText(self.tr("{0}/{1} mục tiêu").format(self.model.target_count(), total)
                                 if self.filter_active() and total else "")

    def select_target(self, code: str) -> bool:
        """Select a target shown (False when it is filtered out or unknown)."""
        index = self.model.index_of(code)
        if not index.isValid():
            return False
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.view.selectionModel().setCurrentIndex(index, flags)
        self.view.scrollTo(index)
        return True
