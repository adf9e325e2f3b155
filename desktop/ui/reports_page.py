"""The unit's reports ("Báo cáo"): every report with its plan, period, status, last change and
revision, a status filter, and the history of the selected report (workflow transitions and
every field change, who/when/old → new). Opening a report switches the main window to the entry
form on it (signal `openReport(plan_id, period_key)`).

Widgets call only services (`progress`, `plans`, `units`) and feed the table models with plain
rows; no SQLAlchemy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QCoreApplication, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSplitter, QTableView, QTabWidget, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_date, fmt_datetime
from desktop.models.services import plans, progress, units
from desktop.models.domain import workflow
from desktop.models.domain.plan import ReportingPeriod
from desktop.models.domain.errors import AppError
from desktop.models.domain.i18n import given_name_first
from desktop.ui.entry_form import FIELD_LABELS
from desktop.ui import ops
from desktop.ui.messages import show_error
from desktop.ui.table_models import SORT_ROLE, ListTableModel, period_order, sortable
from desktop.ui import theme

ROLE_ROW = Qt.ItemDataRole.UserRole


def _t(text: str) -> str:
    return QCoreApplication.translate("ReportsPage", text)


def _when(ts) -> str:
    return fmt_datetime(ts)


def revision_value(field: str, raw: str | None) -> str:
    """A stored revision value as a user reads it: 29.0 → 29, 1 → Có, 2025-03-15 → 15/03/2025."""
    if raw is None or raw == "":
        return "–"
    if field == "done":
        return _t("Có") if raw == "1" else _t("Không")
    if field == "done_date":
        try:
            return fmt_date(date.fromisoformat(raw))
        except ValueError:
            return raw
    if field in ("numerator", "denominator", "count"):
        try:
            v = float(raw)
        except ValueError:
            return raw
        if v.is_integer():
            return f"{int(v):,}".replace(",", ".")
        return f"{v:g}".replace(".", ",")
    return raw


@dataclass(frozen=True)
class ReportRow:
    """One report in the table."""

    id: int
    plan_id: str
    plan_title: str
    plan_year: int
    period_key: str
    period_label: str
    status: str
    status_label: str
    updated_at: object
    revision: int


class ReportTableModel(ListTableModel):
    COLUMNS = ("plan", "period", "status", "updated", "revision")

    def headers(self):
        return (self.tr("Kế hoạch"), self.tr("Kỳ báo cáo"), self.tr("Trạng thái"), self.tr("Cập nhật lúc"),
                self.tr("Lần sửa"))

    def report_at(self, row: int) -> ReportRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, report_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == report_id), -1)

    def sort_key(self, r: ReportRow, column: int):
        col = self.COLUMNS[column]
        if col == "period":
            return period_order(r.period_key)  # by time, not by label
        if col == "status":  # in workflow order (draft, waiting, approved, sent …), not by label
            order = [st.value for st in workflow.UNIT_STATES]
            return order.index(r.status) if r.status in order else len(order)
        return {"plan": r.plan_title, "updated": r.updated_at, "revision": r.revision}[col]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        r = self._rows[index.row()]
        col = self.COLUMNS[index.column()]
        if role == SORT_ROLE:
            return self.sort_data(index)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "plan":
                return r.plan_title
            if col == "period":
                return r.period_label
            if col == "status":
                return r.status_label
            if col == "updated":
                return _when(r.updated_at)
            return str(r.revision)
        if role == Qt.ItemDataRole.ToolTipRole and col == "plan":
            return r.plan_title
        if role == Qt.ItemDataRole.ToolTipRole and col == "revision":
            return self.tr("Số lần cấp trên trả lại báo cáo để sửa")
        if role == Qt.ItemDataRole.BackgroundRole and col == "status":
            return QBrush(theme.state_qcolor(r.status))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in ("status", "revision"):
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == ROLE_ROW:
            return r
        return None


class TransitionTableModel(ListTableModel):
    COLUMNS = ("ts", "user", "from", "to", "comment")

    def headers(self):
        return (self.tr("Thời gian"), self.tr("Người thực hiện"), self.tr("Từ"), self.tr("Sang"),
                self.tr("Ý kiến"))

    def sort_key(self, t, column: int):
        col = self.COLUMNS[column]
        if col == "ts":
            return t.ts
        return given_name_first(t.user) if col == "user" else super().sort_key(t, column)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        t = self.row_at(index)
        if t is None:
            return None
        col = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "ts":
                return _when(t.ts)
            if col == "user":
                return t.user or self.tr("(hệ thống)")
            if col == "from":
                return progress.status_label(t.from_status) if t.from_status else self.tr("(tạo mới)")
            if col == "to":
                return progress.status_label(t.to_status)
            return t.comment
        if role == Qt.ItemDataRole.ToolTipRole and col == "comment" and t.comment:
            return t.comment
        if role == Qt.ItemDataRole.BackgroundRole and col == "to":
            return QBrush(theme.state_qcolor(t.to_status))
        return None


class RevisionTableModel(ListTableModel):
    COLUMNS = ("ts", "user", "target", "field", "old", "new")

    def headers(self):
        return (self.tr("Thời gian"), self.tr("Người sửa"), self.tr("Mục tiêu"), self.tr("Nội dung"),
                self.tr("Giá trị cũ"), self.tr("Giá trị mới"))

    def sort_key(self, r, column: int):
        col = self.COLUMNS[column]
        if col == "ts":
            return r.ts
        return given_name_first(r.user) if col == "user" else super().sort_key(r, column)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r = self.row_at(index)
        if r is None:
            return None
        col = self.COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col == "ts":
                return _when(r.ts)
            if col == "user":
                return r.user
            if col == "target":
                return r.target_code
            if col == "field":
                return _t(FIELD_LABELS.get(r.field, r.field))
            value = revision_value(r.field, r.old if col == "old" else r.new)
            if role == Qt.ItemDataRole.DisplayRole:
                return " ".join(value.split())   # one line in the table, the full text in the tooltip
            return value
        return None


def _table(model, stretch: int) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(26)
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setHighlightSections(False)
    view.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return sortable(view)


class ReportsPage(QWidget):
    openReport = Signal(str, str)     # plan id, period key

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session

        self.status_combo = QComboBox(objectName="statusFilter")
        self.status_combo.addItem(self.tr("Mọi trạng thái"), None)
        for state in workflow.UNIT_STATES:
            self.status_combo.addItem(state.label, state.value)
        self.status_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.count_label = QLabel()
        self.count_label.setStyleSheet(theme.MUTED_TEXT)
        self.open_button = QPushButton(self.tr("Mở báo cáo"), objectName="openReport")
        self.open_button.setToolTip(self.tr("Mở báo cáo đang chọn ở trang Nhập tiến độ (Enter hoặc nháy đúp)"))
        self.open_button.clicked.connect(self.open_selected)
        self.refresh_button = QPushButton(self.tr("Làm mới"))
        self.refresh_button.clicked.connect(self.refresh)
        top = QHBoxLayout()
        lab = QLabel(self.tr("Trạng thái"))
        lab.setBuddy(self.status_combo)
        top.addWidget(lab)
        top.addWidget(self.status_combo)
        top.addWidget(self.count_label)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.open_button)

        self.model = ReportTableModel(self)
        self.view = _table(self.model, stretch=0)
        hh = self.view.horizontalHeader()
        for col, width in ((1, 170), (2, 110), (3, 130), (4, 70)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.view.setColumnWidth(col, width)
        self.view.selectionModel().currentRowChanged.connect(lambda cur, _p: self._show_history(cur.row()))
        self.view.doubleClicked.connect(lambda idx: self.open_selected())
        self.view.activated.connect(lambda idx: self.open_selected())

        self.history_title = QLabel()
        self.history_title.setStyleSheet(theme.BOLD)
        self.transition_model = TransitionTableModel(self)
        self.transition_view = _table(self.transition_model, stretch=4)
        for col, width in ((0, 130), (1, 110), (2, 100), (3, 100)):
            self.transition_view.setColumnWidth(col, width)
        self.revision_model = RevisionTableModel(self)
        self.revision_view = _table(self.revision_model, stretch=5)
        for col, width in ((0, 130), (1, 90), (2, 100), (3, 140), (4, 160)):
            self.revision_view.setColumnWidth(col, width)
        self.history_tabs = QTabWidget()
        self.history_tabs.addTab(self.transition_view, self.tr("Quá trình xử lý"))
        self.history_tabs.addTab(self.revision_view, self.tr("Lịch sử sửa số liệu"))
        history = QWidget()
        hl = QVBoxLayout(history)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.history_title)
        hl.addWidget(self.history_tabs, 1)

        self.empty_label = QLabel()
        self.empty_label.setStyleSheet(theme.MUTED_TEXT)
        self.empty_label.setWordWrap(True)
        listing = QWidget()
        ll = QVBoxLayout(listing)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.view, 1)
        ll.addWidget(self.empty_label)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(listing)
        self.splitter.addWidget(history)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.splitter, 1)
        ops.keep_fresh(self, self.refresh, ops.Changes.PROGRESS | ops.Changes.REPORTS | ops.Changes.EXCHANGE)
        self.refresh()

    def refresh(self) -> None:
        keep = self.current_report()
        try:
            unit_code = units.own_unit(self.session).code
            titles = {p.id: (p.title, p.year) for p in plans.list_plans(self.session, include_archived=True)}
            summaries = [s for s in progress.list_reports(self.session, status=self.status_combo.currentData())
                         if s.unit_code == unit_code]
        except AppError as exc:
            show_error(self, exc)
            summaries, titles = [], {}
        rows = []
        for s in summaries:
            period = ReportingPeriod.parse(s.period_key)
            title, year = titles.get(s.plan_id, (s.plan_id, period.year))
            rows.append(ReportRow(s.id, s.plan_id, title, year, s.period_key, period.label, s.status, s.status_label,
                                  s.updated_at, s.revision))
        rows.sort(key=lambda r: (r.updated_at,), reverse=True)
        self.model.set_rows(rows)
        self.count_label.setText(self.tr("{0} báo cáo").format(len(rows)))
        if not rows:
            self.empty_label.setText(self.tr("Chưa có báo cáo nào. Báo cáo được tạo khi cán bộ nhập liệu mở một kỳ ở "
                                             "trang Nhập tiến độ.") if self.status_combo.currentData() is None else
                                     self.tr("Không có báo cáo nào ở trạng thái này."))
        self.empty_label.setVisible(not rows)
        row = self.model.row_of(keep.id) if keep else -1
        if row < 0 and rows:
            row = 0
        if row >= 0:
            self.view.selectRow(row)
            self._show_history(row)
        else:
            self._show_history(-1)
        self.open_button.setEnabled(bool(rows))

    def select_report(self, report_id: int) -> bool:
        row = self.model.row_of(report_id)
        if row < 0:
            return False
        self.view.selectRow(row)
        return True

    def current_report(self) -> ReportRow | None:
        idx = self.view.currentIndex() if hasattr(self, "view") else QModelIndex()
        return self.model.report_at(idx.row()) if idx.isValid() else None

    def open_selected(self) -> None:
        r = self.current_report()
        if r is not None:
            self.openReport.emit(r.plan_id, r.period_key)

    def _show_history(self, row: int) -> None:
        r = self.model.report_at(row)
        if r is None:
            self.history_title.setText(self.tr("Lịch sử"))
            self.transition_model.set_rows([])
            self.revision_model.set_rows([])
            return
        try:
            transitions = progress.report_transitions(self.session, r.id)
            revisions = progress.entry_history(self.session, r.id)
        except AppError as exc:
            show_error(self, exc)
            return
        self.history_title.setText(self.tr("Lịch sử: {0} · {1}").format(r.period_label, r.plan_title))
        self.transition_model.set_rows(list(reversed(transitions)))   # newest first, like the revisions
        self.revision_model.set_rows(revisions)
        self.history_tabs.setTabText(0, self.tr("Quá trình xử lý ({0})").format(len(transitions)))
        self.history_tabs.setTabText(1, self.tr("Lịch sử sửa số liệu ({0})").format(len(revisions)))
