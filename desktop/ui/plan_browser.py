"""The plan browser: plans → groups → targets, search and filters, target details, and the
plan actions (create the unit's own plan, edit it, import from Excel, export, version history).

Widgets call only the plans service (`desktop.models.services.plans`) and read plain dataclasses; no
SQLAlchemy here. Dialogs are opened with `open()` (never a blocking `exec()`) and returned, so
tests drive them directly.
"""

from __future__ import annotations

import copy
import html
from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QCoreApplication, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QSpinBox,
                               QSplitter, QTableView, QTabWidget, QTextBrowser, QVBoxLayout, QWidget)

from desktop.models.services import plans
from desktop.models.domain.plan import (EVERY_LABELS, LEVEL_LABELS, LEVELS, MEASURE_LABELS, TARGET_KIND_LABELS,
                                   Deadline, DeadlineParseError, Measure, Recurrence, ReportingPeriod, fmt_date,
                                   parse_deadline, parse_measure)
from desktop.models.domain.errors import AppError
from desktop.export.vnformat import fmt_datetime
from desktop.models.domain.i18n import given_name_first, nfc, tr
from desktop.models.storage.vault import Permission
from desktop.ui import ops
from desktop.ui.table_models import SORT_ROLE, ListTableModel, sortable
from desktop.ui.targets_model import Column, GroupedTargetsModel, TargetTreeView, setup_tree_view
from desktop.ui import theme

GROUP_BG = QColor(theme.GROUP_BG)
PROBLEM_BG = QColor(theme.PROBLEM_BG)
WARNING_BG = QColor(theme.COMMENT_BG)  # a question for the user (an untitled group), not a refusal
ROLE_ROW = Qt.ItemDataRole.UserRole


def _show_error(parent, exc: BaseException, title: str | None = None) -> None:
    from desktop.ui.messages import show_error

    show_error(parent, exc, title)


# ------------------------------------------------------------------ table models
class PlanTableModel(ListTableModel):
    """The plans on the left, one per row: the title (with its target count and origin under it)
    and the year; sorted by clicking a header (title in Vietnamese order, year as a number)."""

    COLUMNS = ("plan", "year")

    def headers(self):
        return (self.tr("Kế hoạch"), self.tr("Năm"))

    def plan_at(self, row: int) -> plans.PlanSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, plan_id: str) -> int:
        return next((i for i, p in enumerate(self._rows) if p.id == plan_id), -1)

    def sort_key(self, p: plans.PlanSummary, column: int):
        return p.title if self.COLUMNS[column] == "plan" else p.year

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        p = self.row_at(index)
        if p is None:
            return None
        col = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "year":
                return str(p.year)
            return self.tr("{0}\n{1} mục tiêu · {2}").format(p.title, p.target_count, p.origin_label)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == "year":
            return int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{p.title}\n{p.kind_label} {self.tr('số')} {p.reference}\n{p.issuing_unit}\n" \
                  f"{self.tr('Năm')} {p.year} · {self.tr('Phiên bản')} {p.version} · {p.origin_label}"
            source = next((x.title for x in self._rows if x.id == p.derived_from), None) if p.derived_from else None
            if source:
                tip += "\n" + self.tr("Tạo từ: {0}").format(source)
            return tip
        if role == SORT_ROLE:
            return self.sort_data(index)
        if role == ROLE_ROW:
            return p
        return None


def _tr(text: str) -> str:
    return QCoreApplication.translate("PlanBrowser", text)


def target_columns() -> list[Column]:
    """The plan browser's target tree: code, wording, lead units, deadline, measure."""
    def deadline_tip(r: plans.TargetRow) -> str:
        end = r.deadline_end
        return (r.deadline.text or r.deadline_label) + (
            "\n" + _tr("Hạn cuối: {0}").format(fmt_date(end)) if end else "")

    return [
        Column(_tr("Mã"), lambda r: r.code),
        Column(_tr("Mục tiêu / nhiệm vụ"), lambda r: r.text, tooltip=lambda r: r.text),
        Column(_tr("Đơn vị chủ trì"), lambda r: "; ".join(r.lead_units), tooltip=lambda r: "\n".join(r.lead_units) or None),
        Column(_tr("Thời hạn"), lambda r: r.deadline_label, tooltip=deadline_tip),
        Column(_tr("Chỉ tiêu / đo lường"), lambda r: r.measure.label),
    ]


def target_model(parent=None) -> GroupedTargetsModel:
    return GroupedTargetsModel(target_columns(), parent, group_label=lambda code, title, n: _tr(
        "{0}. {1}  ({2} mục)").format(code, title, n))


class PreviewTableModel(QAbstractTableModel):
    """The rows of a spreadsheet as the import understood them; rows with problems are tinted."""

    COLUMNS = ("row", "tt", "code", "text", "lead", "deadline", "measure")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._problems: dict[int, list[str]] = {}

    def set_rows(self, rows: list, problems: list[plans.PlanProblem] = (),
                 warnings: list[plans.PlanProblem] = ()) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._problems = {}
        self._warnings: dict[int, list[str]] = {}
        for p in problems:
            if p.row is not None:
                self._problems.setdefault(p.row, []).append(p.message)
        for p in warnings:
            if p.row is not None:
                self._warnings.setdefault(p.row, []).append(p.message)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return (self.tr("Dòng"), self.tr("TT"), self.tr("Mã"), self.tr("Mục tiêu / nhiệm vụ"),
                    self.tr("Đơn vị chủ trì"), self.tr("Thời hạn"), self.tr("Chỉ tiêu / đo lường"))[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        r = self._rows[index.row()]
        col = self.COLUMNS[index.column()]
        bad = self._problems.get(r.row) if r.row else None
        warn = self._warnings.get(r.row) if r.row and r.kind == "group" else None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "row":
                return str(r.row) if r.row else ""
            if col == "tt":
                return r.tt
            if col == "code":
                return r.code
            if col == "text":
                return r.text or (self.tr("Nhóm {0} — chưa có tên").format(r.tt or r.code) if warn else "")
            if r.kind == "group":
                return ""
            if col == "lead":
                return r.lead_units.replace("\n", "; ")
            if col == "deadline":
                return r.deadline_label or r.deadline
            return r.measure
        if role == Qt.ItemDataRole.FontRole and r.kind == "group":
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.BackgroundRole:
            if bad:
                return QBrush(PROBLEM_BG)
            if warn:
                return QBrush(WARNING_BG)
            if r.kind == "group":
                return QBrush(GROUP_BG)
        if role == Qt.ItemDataRole.ToolTipRole:
            if bad:
                return "\n".join(bad)
            if warn:
                return "\n".join(warn)
            if col == "text":
                return r.text
        return None


class ProblemTableModel(ListTableModel):
    COLUMNS = ("row", "column", "where", "message")

    def headers(self):
        return (self.tr("Dòng"), self.tr("Cột / trường"), self.tr("Mục tiêu / nhóm"), self.tr("Lỗi"))

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        p = self.row_at(index)
        if p is None:
            return None
        col = self.COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col == "row":
                return "" if p.row is None else str(p.row)
            if col == "column":
                return p.column or p.field
            if col == "where":
                return p.target or p.group
            return p.message
        return None


class VersionTableModel(ListTableModel):
    COLUMNS = ("version", "created", "by", "targets", "note")

    def sort_key(self, v: plans.PlanVersionInfo, column: int):
        col = self.COLUMNS[column]
        if col == "by":
            return given_name_first(v.created_by)
        return {"version": v.version, "created": v.created_at, "targets": v.target_count}.get(col, v.note)

    def headers(self):
        return (self.tr("Phiên bản"), self.tr("Thời điểm"), self.tr("Người thực hiện"), self.tr("Số mục tiêu"),
                self.tr("Ghi chú"))

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        v = self.row_at(index)
        if v is None:
            return None
        col = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "version":
                return str(v.version) + (" " + self.tr("(hiện hành)") if v.is_current else "")
            if col == "created":
                return fmt_datetime(v.created_at)
            if col == "by":
                return v.created_by
            if col == "targets":
                return str(v.target_count)
            return v.note
        if role == Qt.ItemDataRole.ToolTipRole and col == "note":
            return v.note
        return None


class ChangeTableModel(QAbstractTableModel):
    """Differences between two versions, one row per changed field."""

    COLUMNS = ("code", "kind", "field", "old", "new")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[tuple[str, str, str, str, str]] = []

    def set_rows(self, changes: list[plans.PlanChange]) -> None:
        self.beginResetModel()
        rows = []
        for c in changes:
            if c.kind == "added":
                rows.append((c.code, c.kind_label, "", "", c.text))
            elif c.kind == "removed":
                rows.append((c.code, c.kind_label, "", c.text, ""))
            else:
                for f in c.fields:
                    rows.append((c.code, c.kind_label, f.label, f.old, f.new))
        self._rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return (self.tr("Mã"), self.tr("Thay đổi"), self.tr("Trường"), self.tr("Trước"), self.tr("Sau"))[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self._rows[index.row()][index.column()]
        return None


def _table(model, stretch: int | None = None, wrap: bool = False) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(wrap)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.horizontalHeader().setHighlightSections(False)
    view.setAlternatingRowColors(False)
    view.setShowGrid(False)
    if stretch is not None:
        view.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


# ------------------------------------------------------------------ the browser
class PlanBrowser(QWidget):
    """Plans on the left; the chosen plan's targets with search, filters and details on the right."""

    planChanged = Signal(str)
    SEARCH_DELAY_MS = 250

    def __init__(self, session, parent=None, today: date | None = None):
        super().__init__(parent)
        self.session = session
        self.today = today or date.today()
        self._plan: plans.PlanSummary | None = None
        self._all_rows: list[plans.TargetRow] = []
        self.dialog: QDialog | None = None  # the dialog opened last (for tests and for keeping it alive)
        can_manage = session.user.can(Permission.MANAGE_PLANS)
        self._can_manage = can_manage

        # --- actions ------------------------------------------------------------------------
        self.create_button = QPushButton(self.tr("Tạo kế hoạch của đơn vị từ kế hoạch này"))
        self.edit_button = QPushButton(self.tr("Sửa…"))
        self.import_button = QPushButton(self.tr("Nhập từ Excel/Word…"))
        self.export_button = QPushButton(self.tr("Xuất Excel…"))
        self.history_button = QPushButton(self.tr("Lịch sử phiên bản"))
        self.create_button.clicked.connect(self.open_create_dialog)
        self.edit_button.clicked.connect(self.open_edit_dialog)
        self.import_button.clicked.connect(lambda: self.open_import_dialog())
        self.export_button.clicked.connect(lambda: self.export_xlsx())
        self.history_button.clicked.connect(self.open_history_dialog)
        for b, tip in ((self.create_button, self.tr("Sao chép các mục tiêu áp dụng cho đơn vị thành kế hoạch riêng, "
                                                   "sửa được")),
                       (self.edit_button, self.tr("Sửa kế hoạch của đơn vị (lưu thành phiên bản mới)")),
                       (self.import_button, self.tr("Nhập kế hoạch từ bảng Excel theo mẫu phụ lục "
                                                   "(TT, Mục tiêu, Đơn vị chủ trì, …) hoặc tệp .json")),
                       (self.export_button, self.tr("Xuất kế hoạch đang chọn ra bảng Excel")),
                       (self.history_button, self.tr("Các phiên bản đã lưu và điểm khác nhau"))):
            b.setToolTip(tip)
        if not can_manage:
            for b in (self.create_button, self.import_button):
                b.setEnabled(False)
                b.setToolTip(self.tr("Tài khoản của bạn không có quyền quản lý kế hoạch."))

        # --- plan list ----------------------------------------------------------------------
        self.plan_model = PlanTableModel(self)
        self.plan_view = _table(self.plan_model, stretch=0, wrap=True)
        self.plan_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.plan_view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        self.plan_view.setMinimumWidth(300)  # plan titles stay readable (issue 19: it was squeezed to ~90 px)
        sortable(self.plan_view)
        self.plan_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # a wrapped title needs more or fewer lines when the column width changes (splitter, window)
        self.plan_view.horizontalHeader().sectionResized.connect(
            lambda col, _old, _new: col == 0 and self.plan_view.resizeRowsToContents())
        self.plan_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.plan_view.setStyleSheet(theme.PLAN_ROWS)
        self.plan_view.selectionModel().currentRowChanged.connect(self._on_plan_row)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        heading = QLabel(self.tr("Kế hoạch"))
        heading.setObjectName("sectionHeading")
        hf = heading.font()
        hf.setBold(True)
        heading.setFont(hf)
        lv.addWidget(heading)
        lv.addWidget(self.plan_view, 1)
        lv.addWidget(self.import_button)

        # --- plan header, filters -----------------------------------------------------------
        self.plan_title = QLabel()
        self.plan_title.setWordWrap(True)
        tf = self.plan_title.font()
        tf.setBold(True)
        tf.setPointSizeF(tf.pointSizeF() * 1.15)
        self.plan_title.setFont(tf)
        self.plan_meta = QLabel()
        self.plan_meta.setWordWrap(True)
        self.plan_meta.setStyleSheet(theme.MUTED_TEXT)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(self.tr("Tìm mục tiêu (gõ không dấu cũng được, ví dụ: chu ky so)"))
        self.search_edit.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(self.SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())

        def combo(min_chars: int) -> QComboBox:
            c = QComboBox()
            c.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            c.setMinimumContentsLength(min_chars)
            c.currentIndexChanged.connect(lambda _i: self.apply_filters())
            return c

        # small minimums (they stretch when there is room) so the plan list keeps its width at 1366×768
        self.group_combo = combo(9)
        self.lead_combo = combo(9)
        self.measure_combo = combo(8)
        self.deadline_combo = combo(8)
        self.measure_combo.blockSignals(True)
        self.measure_combo.addItem(self.tr("Mọi cách đo"), None)
        for key in ("ratio", "count", "milestone", "recurring", "qualitative"):
            self.measure_combo.addItem(tr("Domain", MEASURE_LABELS[key]), key)
        self.measure_combo.blockSignals(False)
        self.count_label = QLabel()
        self.count_label.setStyleSheet(theme.MUTED_TEXT)
        self.clear_button = QPushButton(self.tr("Bỏ lọc"))
        self.clear_button.clicked.connect(self.clear_filters)

        filters = QGridLayout()
        filters.setHorizontalSpacing(8)
        filters.addWidget(self.search_edit, 0, 0, 1, 4)
        filters.addWidget(self.count_label, 0, 4)
        filters.addWidget(self.clear_button, 0, 5)
        for i, (label, w) in enumerate(((self.tr("Nhóm"), self.group_combo), (self.tr("Chủ trì"), self.lead_combo),
                                        (self.tr("Thời hạn"), self.deadline_combo),
                                        (self.tr("Cách đo"), self.measure_combo))):
            box = QHBoxLayout()
            box.setSpacing(6)
            lab = QLabel(label)
            lab.setBuddy(w)
            box.addWidget(lab)
            box.addWidget(w, 1)
            filters.addLayout(box, 1, i, 1, 2 if i == 3 else 1)
        for c in range(4):
            filters.setColumnStretch(c, 1)

        # --- targets and details ------------------------------------------------------------
        self.target_model = target_model(self)
        self.target_view = TargetTreeView(objectName="planTargets")
        setup_tree_view(self.target_view, self.target_model)
        hh = self.target_view.header()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 104), (2, 170), (3, 120), (4, 140)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.target_view.setColumnWidth(col, width)
        self.target_view.selectionModel().currentChanged.connect(self._on_target_row)

        self.detail = QTextBrowser()
        self.detail.setOpenExternalLinks(False)
        self.detail.setPlaceholderText(self.tr("Chọn một mục tiêu để xem đầy đủ nội dung."))
        self.detail.setFrameShape(QFrame.Shape.StyledPanel)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.plan_title)
        titles.addWidget(self.plan_meta)
        head.addLayout(titles, 1)
        rv.addLayout(head)
        actions = QHBoxLayout()
        for b in (self.create_button, self.edit_button, self.history_button, self.export_button):
            actions.addWidget(b)
        actions.addStretch(1)
        rv.addLayout(actions)
        rv.addLayout(filters)
        self.detail_splitter = QSplitter(Qt.Orientation.Vertical)
        self.detail_splitter.addWidget(self.target_view)
        self.detail_splitter.addWidget(self.detail)
        self.detail_splitter.setStretchFactor(0, 3)
        self.detail_splitter.setStretchFactor(1, 2)
        self.detail_splitter.setChildrenCollapsible(False)
        rv.addWidget(self.detail_splitter, 1)
        rv.addWidget(self.status_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([360, 1000])
        self.splitter.setChildrenCollapsible(False)
        outer = QVBoxLayout(self)
        outer.addWidget(self.splitter)
        self.refresh()

    # --- loading ------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """Reload the plan list, keeping (or moving to) the selected plan."""
        keep = select or (self._plan.id if self._plan else None)
        try:
            items = plans.list_plans(self.session)
        except AppError as exc:
            _show_error(self, exc)
            items = []
        self.plan_model.set_rows(items)
        row = self.plan_model.row_of(keep) if keep else -1
        if row < 0 and items:
            row = 0
        if row >= 0:
            self.plan_view.selectRow(row)
            self._load_plan(self.plan_model.plan_at(row))
        else:
            self._load_plan(None)

    def select_plan(self, plan_id: str) -> bool:
        row = self.plan_model.row_of(plan_id)
        if row < 0:
            return False
        self.plan_view.selectRow(row)
        if not self._plan or self._plan.id != plan_id:
            self._load_plan(self.plan_model.plan_at(row))
        return True

    def current_plan_id(self) -> str | None:
        return self._plan.id if self._plan else None

    def _on_plan_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        p = self.plan_model.plan_at(current.row())
        if p is not None and (self._plan is None or p.id != self._plan.id or p.version != self._plan.version):
            self._load_plan(p)

    def _load_plan(self, p: plans.PlanSummary | None) -> None:
        self._plan = p
        self.edit_button.setEnabled(bool(p and p.editable and self._can_manage))
        self.edit_button.setToolTip(self.tr("Sửa kế hoạch của đơn vị (lưu thành phiên bản mới)") if p and p.editable
                                    else self.tr("Kế hoạch có sẵn chỉ xem; hãy tạo kế hoạch của đơn vị từ kế hoạch này "
                                                 "để sửa."))
        for b in (self.export_button, self.history_button):
            b.setEnabled(p is not None)
        self.create_button.setEnabled(bool(p) and self._can_manage)
        if p is None:
            self.plan_title.setText(self.tr("Chưa có kế hoạch nào"))
            self.plan_meta.setText(self.tr("Hãy nhập kế hoạch từ Excel hoặc tệp .json."))
            self._all_rows = []
            self.target_model.set_rows([])
            self._show_detail(None)
            return
        self.plan_title.setText(p.title)
        reference = f"{p.kind_label} {self.tr('số')} {p.reference}"
        if p.reference.startswith(("/", "…")):
            reference += " " + self.tr("(văn bản chưa ghi số)")
        meta = [reference, p.issuing_unit, self.tr("Năm {0}").format(p.year),
                self.tr("Phiên bản {0}").format(p.version), p.origin_label]
        if p.derived_from:
            source = next((x.title for x in self.plan_model.rows() if x.id == p.derived_from), None)
            if source:
                meta.append(self.tr("tạo từ “{0}”").format(source))
        self.plan_meta.setText(" · ".join(meta))
        try:
            self._all_rows = plans.list_targets(self.session, p.id)
            groups = plans.list_groups(self.session, p.id)
            leads = plans.lead_units(self.session, p.id)
        except AppError as exc:
            _show_error(self, exc)
            self._all_rows, groups, leads = [], [], []
        for c in (self.group_combo, self.lead_combo, self.deadline_combo):
            c.blockSignals(True)
            c.clear()
        self.group_combo.addItem(self.tr("Tất cả nhóm"), None)
        for g in groups:
            self.group_combo.addItem(f"{g.code}. {g.title}", g.code)
            self.group_combo.setItemData(self.group_combo.count() - 1, f"{g.code}. {g.title}",
                                         Qt.ItemDataRole.ToolTipRole)
        self.lead_combo.addItem(self.tr("Mọi đơn vị"), None)
        for u in leads:
            self.lead_combo.addItem(u, u)
        self.deadline_combo.addItem(self.tr("Mọi thời hạn"), None)
        self.deadline_combo.addItem(self.tr("Đã qua hạn"), "overdue")
        self.deadline_combo.addItem(self.tr("Trong 30 ngày tới"), "next30")
        self.deadline_combo.addItem(self.tr("Quý này"), "quarter")
        years = sorted({r.deadline_end.year for r in self._all_rows if r.deadline_end})
        for y in years:
            self.deadline_combo.addItem(self.tr("Năm {0}").format(y), y)
        for c in (self.group_combo, self.lead_combo, self.deadline_combo):
            c.blockSignals(False)
        self.apply_filters()
        self.planChanged.emit(p.id)

    # --- filtering ----------------------------------------------------------------------------
    def deadline_window(self) -> tuple[date | None, date | None]:
        key = self.deadline_combo.currentData()
        if key == "overdue":
            return None, self.today - timedelta(days=1)
        if key == "next30":
            return self.today, self.today + timedelta(days=30)
        if key == "quarter":
            q = ReportingPeriod.containing("quarter", self.today)
            return q.start, q.end
        if isinstance(key, int):
            return date(key, 1, 1), date(key, 12, 31)
        return None, None

    def filters_active(self) -> bool:
        return bool(self.search_edit.text().strip()) or any(
            c.currentData() is not None for c in (self.group_combo, self.lead_combo, self.measure_combo,
                                                  self.deadline_combo))

    def apply_filters(self) -> None:
        self._search_timer.stop()
        if self._plan is None:
            return
        selected = self.current_target()
        start, end = self.deadline_window()
        try:
            rows = plans.list_targets(self.session, self._plan.id, search=self.search_edit.text(),
                                      group=self.group_combo.currentData(), lead_unit=self.lead_combo.currentData(),
                                      deadline_from=start, deadline_to=end,
                                      measure_type=self.measure_combo.currentData())
        except AppError as exc:
            _show_error(self, exc)
            rows = []
        self.target_model.set_rows(rows)
        total = len(self._all_rows)
        if self.filters_active():
            self.count_label.setText(self.tr("{0}/{1} mục tiêu").format(len(rows), total))
        else:
            self.count_label.setText(self.tr("{0} mục tiêu").format(total))
        self.clear_button.setEnabled(self.filters_active())
        if not rows:
            self._show_detail(None, empty=bool(total))
        elif selected is not None and self.target_model.index_of(selected.code).isValid():
            self.select_target(selected.code)
        else:
            self.target_view.clearSelection()
            self._show_detail(None)

    def clear_filters(self) -> None:
        for c in (self.group_combo, self.lead_combo, self.measure_combo, self.deadline_combo):
            c.blockSignals(True)
            c.setCurrentIndex(0)
            c.blockSignals(False)
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self.apply_filters()

    # --- details --------------------------------------------------------------------------
    def select_target(self, code: str) -> bool:
        index = self.target_model.index_of(code)
        if not index.isValid():
            return False
        self.target_view.setCurrentIndex(index)
        self._show_detail(self.target_model.row_at(index))
        return True

    def current_target(self) -> plans.TargetRow | None:
        return self.target_model.row_at(self.target_view.currentIndex())

    def _on_target_row(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid() and not current.parent().isValid():
            return                  # a group heading (clicked): the detail stays
        self._show_detail(self.target_model.row_at(current))

    def _show_detail(self, r: plans.TargetRow | None, empty: bool = False) -> None:
        if r is None:
            self.detail.setHtml("")
            self.detail.setPlaceholderText(
                self.tr("Không có mục tiêu nào khớp với bộ lọc.") if empty
                else self.tr("Chọn một mục tiêu để xem đầy đủ nội dung."))
            return
        t = r.target
        e = html.escape

        def row(label: str, value: str) -> str:
            return (f"<tr><td style='color:{theme.MUTED}; padding:2px 12px 2px 0; white-space:nowrap' valign='top'>{e(label)}"
                    f"</td><td style='padding:2px 0'>{value}</td></tr>")

        end = r.deadline_end
        deadline = e(r.deadline_label)
        if t.deadline.text and t.deadline.text != r.deadline_label:
            deadline += f" <span style='color:{theme.MUTED}'>({self.tr('văn bản ghi')}: “{e(t.deadline.text)}”)</span>"
        if end and t.deadline.type not in ("date",):
            deadline += f" — {self.tr('hạn cuối')} {fmt_date(end)}"
        measure = e(t.measure.label)
        if t.measure.type == "ratio" and (t.measure.numerator_label or t.measure.denominator_label):
            measure += (f"<br><span style='color:{theme.MUTED}'>{e(self.tr('Tử số'))}: {e(t.measure.numerator_label)}<br>"
                        f"{e(self.tr('Mẫu số'))}: {e(t.measure.denominator_label)}</span>")
        rows = [row(self.tr("Nhóm"), e(f"{r.group_code}. {r.group_title}")),
                row(self.tr("Đơn vị chủ trì"), e("; ".join(t.lead_units)) or "—"),
                row(self.tr("Đơn vị phối hợp"), e("; ".join(t.coordinating_units)) or "—"),
                row(self.tr("Thời hạn"), deadline),
                row(self.tr("Kết quả"), e(t.expected_result) or "—"),
                row(self.tr("Chỉ tiêu / đo lường"), measure)]
        if t.exclusion_note:
            rows.append(row(self.tr("Loại trừ"), e(t.exclusion_note)))
        rows.append(row(self.tr("Cần minh chứng"), self.tr("Có") if t.evidence_required else self.tr("Không")))
        if t.applies_to_levels:
            rows.append(row(self.tr("Cấp báo cáo"), e(t.levels_label)))
        if t.reporting_units:
            rows.append(row(self.tr("Đơn vị báo cáo"), e("; ".join(u.name for u in t.reporting_units))))
        if t.assignment_note:
            rows.append(row(self.tr("Căn cứ phân công"), e(t.assignment_note)))
        rec = t.effective_recurrence
        if rec is not None:
            due = rec.due_periods(r.plan_year, t.deadline)
            rows.append(row(self.tr("Định kỳ"), e(rec.label(r.plan_year, t.deadline)) + f"<br><span style='{theme.MUTED_TEXT}'>"
                            + e(self.tr("Xét từng kỳ: {0}").format(", ".join(p.label for p in due[:6])
                                                                  + (" …" if len(due) > 6 else ""))) + "</span>"))
        if t.source_ref:
            rows.append(row(self.tr("Vị trí trong văn bản"), e(t.source_ref)))
        self.detail.setHtml(
            f"<p style='margin:0 0 6px 0'><b>{e(t.code)}</b> · {e(t.kind_label)}</p>"
            f"<p style='margin:0 0 8px 0; font-size:large'>{e(t.text)}</p>"
            f"<table cellspacing='0'>{''.join(rows)}</table>")

    # --- actions ------------------------------------------------------------------------------
    def _keep(self, dialog: QDialog) -> QDialog:
        old = self.dialog
        if old is not None and old is not dialog and not old.isVisible():
            old.deleteLater()
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        dialog.open()
        return dialog

    def open_create_dialog(self) -> "CreateOwnPlanDialog | None":
        if self._plan is None:
            return None
        dlg = CreateOwnPlanDialog(self.session, self._plan, self)
        dlg.created.connect(lambda pid: (self.refresh(select=pid), self._status(
            self.tr("Đã tạo kế hoạch “{0}”. Bấm 'Sửa…' để điều chỉnh cho đơn vị.").format(self._title_of(pid)))))
        return self._keep(dlg)

    def open_edit_dialog(self) -> "PlanEditDialog | None":
        if self._plan is None or not self._plan.editable:
            return None
        try:
            dlg = PlanEditDialog(self.session, self._plan.id, self)
        except AppError as exc:
            _show_error(self, exc)
            return None
        dlg.saved.connect(lambda v: (self.refresh(), self._status(self.tr("Đã lưu phiên bản {0}.").format(v))))
        return self._keep(dlg)

    def open_import_dialog(self, path: str | Path | None = None) -> "PlanImportDialog | None":
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Nhập kế hoạch"), "",
                                                  self.tr("Phụ lục kế hoạch (*.xlsx *.docx *.json)"))
            if not path:
                return None
        try:
            dlg = PlanImportDialog(self.session, Path(path), self)
        except AppError as exc:
            _show_error(self, exc)
            return None
        dlg.imported.connect(lambda pid: (self.refresh(select=pid), self._status(
            self.tr("Đã nhập kế hoạch “{0}”.").format(self._title_of(pid)))))
        return self._keep(dlg)

    def export_xlsx(self, path: str | Path | None = None) -> None:
        if self._plan is None:
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Xuất kế hoạch ra Excel"), f"{self._plan.id}.xlsx",
                                                  self.tr("Bảng tính Excel (*.xlsx);;Tệp kế hoạch (*.json)"))
            if not path:
                return
        plan_id = self._plan.id
        ops.run(self, lambda: plans.export_file(self.session, plan_id, Path(path)),
                lambda p: self._status(self.tr("Đã xuất kế hoạch ra {0}").format(p)),
                progress=self.tr("Đang xuất kế hoạch ra {0}…").format(Path(path).name),
                error_title=self.tr("Không xuất được kế hoạch"))

    def open_history_dialog(self) -> "VersionHistoryDialog | None":
        if self._plan is None:
            return None
        try:
            dlg = VersionHistoryDialog(self.session, self._plan.id, self)
        except AppError as exc:
            _show_error(self, exc)
            return None
        return self._keep(dlg)

    def _status(self, text: str) -> None:
        self.status_label.setText(text)

    def _title_of(self, plan_id: str) -> str:
        """A plan's title for a message (users know plans by name, not by their internal id)."""
        row = self.plan_model.row_of(plan_id)
        return self.plan_model.plan_at(row).title if row >= 0 else plan_id


# ------------------------------------------------------------------ dialogs
class CreateOwnPlanDialog(QDialog):
    """Name the unit's own plan derived from a superior's plan."""

    created = Signal(str)

    def __init__(self, session, superior: plans.PlanSummary, parent=None):
        super().__init__(parent)
        self.session = session
        self.superior = superior
        self.setWindowTitle(self.tr("Tạo kế hoạch của đơn vị"))
        self.setMinimumWidth(560)
        intro = QLabel(self.tr("Tạo kế hoạch riêng của đơn vị từ “{0}”. Các mục tiêu áp dụng cho cấp của đơn vị được "
                               "sao chép; sau đó có thể sửa, thêm, bớt.").format(superior.title))
        intro.setWordWrap(True)
        self.id_edit = QLineEdit(self._suggest_id())
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText(self.tr("Để trống: “Kế hoạch chuyển đổi số năm … của <đơn vị>”"))
        self.year_spin = QSpinBox()
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setValue(superior.year)
        self.year_spin.setMaximumWidth(110)
        form = QFormLayout()
        form.addRow(self.tr("Mã kế hoạch"), self.id_edit)
        form.addRow(self.tr("Tên kế hoạch"), self.title_edit)
        form.addRow(self.tr("Năm"), self.year_spin)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(theme.ERROR_TEXT)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Tạo kế hoạch"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(intro)
        v.addLayout(form)
        v.addWidget(self.error_label)
        v.addWidget(self.buttons)

    def _suggest_id(self) -> str:
        try:
            from desktop.models.services import units

            code = units.own_unit(self.session).code
        except Exception:
            code = "don-vi"
        from desktop.models.domain.i18n import fold
        import re

        base = re.sub(r"[^a-z0-9]+", "-", fold(code)).strip("-") or "don-vi"
        return f"{base}-cds-{self.superior.year}"[:64]

    def accept(self) -> None:
        try:
            pid = plans.create_own_plan(self.session, self.superior.id, self.id_edit.text(),
                                        title=self.title_edit.text() or None, year=self.year_spin.value())
        except AppError as exc:
            self.error_label.setText(exc.user_text())
            return
        self.created.emit(pid)
        super().accept()


def _deadline_cell(t: dict, year: int) -> str:
    dl = t["deadline"]
    return dl.get("text") or Deadline.from_json(dl).label(year)


def _measure_cell(t: dict) -> str:
    return Measure.from_json(t["measure"]).label


class PlanEditDialog(QDialog):
    """Edit a plan the unit owns: plan fields, report deadlines, and each target.

    The form works on a copy of the plan; Save turns what the user did into a batch of edits
    (`plans.UpdateTarget`/`AddTarget`/`RemoveTarget`/`UpdatePlanInfo`) that the plans service
    applies in one transaction as one new version. A refused batch leaves the dialog as it was."""

    saved = Signal(int)

    def __init__(self, session, plan_id: str, parent=None):
        super().__init__(parent)
        self.session = session
        self.plan_id = plan_id
        self.doc = plans.get_plan_document(session, plan_id)
        self._original = copy.deepcopy(self.doc)
        # every target of the stored version with its code there; the form edits these dicts in
        # place, so a renamed or moved target is still known as the one it was (kept alive here)
        self._origins: list[tuple[dict, str]] = [(t, t["code"]) for g in self.doc["groups"] for t in g["targets"]]
        self._current: tuple[int, int] | None = None
        self.setWindowTitle(self.tr("Sửa kế hoạch: {0}").format(self.doc["title"]))
        self.resize(1100, 720)

        self.title_edit = QLineEdit(self.doc["title"])
        self.year_spin = QSpinBox()
        self.year_spin.setRange(2000, 2100)
        self.year_spin.setValue(self.doc["year"])
        self.year_spin.setMaximumWidth(110)
        self.year_spin.valueChanged.connect(lambda _v: self._update_hints())
        self.days: dict[str, QSpinBox] = {}
        days_box = QHBoxLayout()
        for key, label, top in (("month", self.tr("tháng"), 60), ("quarter", self.tr("quý"), 90),
                                ("half_year", self.tr("6 tháng"), 120), ("year", self.tr("năm"), 180)):
            sp = QSpinBox()
            sp.setRange(0, top)
            sp.setValue(self.doc.get("submission_deadlines", {}).get(key, 0))
            self.days[key] = sp
            days_box.addWidget(QLabel(label))
            days_box.addWidget(sp)
        days_box.addStretch(1)
        top_form = QFormLayout()
        top_form.addRow(self.tr("Tên kế hoạch"), self.title_edit)
        top_form.addRow(self.tr("Năm"), self.year_spin)
        top_form.addRow(self.tr("Hạn gửi báo cáo (số ngày sau khi hết kỳ)"), days_box)

        self.target_list = QListWidget()
        self.target_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.target_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.target_list.currentRowChanged.connect(self._on_target_changed)
        self.add_button = QPushButton(self.tr("Thêm mục tiêu"))
        self.remove_button = QPushButton(self.tr("Xóa mục tiêu"))
        self.add_button.clicked.connect(self.add_target)
        self.remove_button.clicked.connect(self.remove_target)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.target_list, 1)
        lb = QHBoxLayout()
        lb.addWidget(self.add_button)
        lb.addWidget(self.remove_button)
        lv.addLayout(lb)

        self.code_edit = QLineEdit()
        self.group_combo = QComboBox()
        self.kind_combo = QComboBox()
        for k, label in TARGET_KIND_LABELS.items():
            self.kind_combo.addItem(tr("Domain", label), k)
        self.text_edit = QPlainTextEdit()
        self.lead_edit = QPlainTextEdit()
        self.lead_edit.setPlaceholderText(self.tr("Mỗi dòng một đơn vị"))
        self.coord_edit = QPlainTextEdit()
        self.coord_edit.setPlaceholderText(self.tr("Mỗi dòng một đơn vị"))
        self.deadline_edit = QLineEdit()
        self.deadline_edit.setPlaceholderText(self.tr("Ví dụ: 3/2025, Tháng 12/2025, 31/8/2025, Hàng tháng, Năm 2025"))
        self.deadline_hint = QLabel()
        self.result_edit = QPlainTextEdit()
        self.measure_edit = QLineEdit()
        self.measure_edit.setPlaceholderText(self.tr("Ví dụ: Tỷ lệ ≥ 100%, Tối thiểu 4 lần/năm, Mốc hoàn thành, "
                                                     "Thực hiện hàng tháng, Định tính"))
        self.measure_hint = QLabel()
        self.exclusion_edit = QLineEdit()
        self.evidence_check = QCheckBox(self.tr("Cần minh chứng"))
        self.level_checks = {lv: QCheckBox(tr("Domain", LEVEL_LABELS[lv])) for lv in LEVELS}
        for w in (self.text_edit, self.result_edit):
            w.setFixedHeight(70)
        for w in (self.lead_edit, self.coord_edit):
            w.setFixedHeight(48)
        self.deadline_edit.textChanged.connect(self._update_hints)
        self.measure_edit.textChanged.connect(self._update_hints)
        levels = QHBoxLayout()
        for c in self.level_checks.values():
            levels.addWidget(c)
        levels.addStretch(1)
        # who reports: the units in the register the issuing office may name (its regional units …)
        from desktop.models.services import assignment

        self.unit_list = QListWidget(objectName="reportingUnits")
        for u in assignment.assignable_units(self.session):
            item = QListWidgetItem(f"{u.name} ({u.code})")
            item.setData(ROLE_ROW, {"code": u.code, "name": u.name})
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.unit_list.addItem(item)
        self.unit_list.setFixedHeight(110)
        self.unit_hint = QLabel(self.tr("Không đánh dấu đơn vị nào: mọi đơn vị thuộc các cấp áp dụng đều báo cáo."))
        self.unit_hint.setWordWrap(True)
        self.unit_hint.setStyleSheet(theme.MUTED_TEXT)
        self.assignment_edit = QPlainTextEdit(objectName="assignmentNote")
        self.assignment_edit.setPlaceholderText(self.tr("Căn cứ trong văn bản, ví dụ: “Hằng tháng, Văn phòng VKSND tỉnh "
                                                        "sẽ kiểm tra …”"))
        self.assignment_edit.setFixedHeight(56)
        self.every_combo = QComboBox(objectName="recurrenceEvery")
        self.every_combo.addItem(self.tr("Không lặp lại"), None)
        for k, label in EVERY_LABELS.items():
            self.every_combo.addItem(tr("Domain", label), k)
        self.window_edit = QLineEdit(objectName="recurrenceWindow")
        self.window_edit.setPlaceholderText(self.tr("Trong khoảng, ví dụ: từ 01/9/2023 đến 30/11/2023 (để trống: theo "
                                                    "thời hạn, hoặc cả năm kế hoạch)"))
        self.recurrence_hint = QLabel()
        self.recurrence_hint.setStyleSheet(theme.MUTED_TEXT)
        self.every_combo.currentIndexChanged.connect(self._update_hints)
        self.window_edit.textChanged.connect(self._update_hints)
        form = QFormLayout()
        form.addRow(self.tr("Mã"), self.code_edit)
        form.addRow(self.tr("Nhóm"), self.group_combo)
        form.addRow(self.tr("Loại"), self.kind_combo)
        form.addRow(self.tr("Nội dung"), self.text_edit)
        form.addRow(self.tr("Thời hạn"), self.deadline_edit)
        form.addRow("", self.deadline_hint)
        form.addRow(self.tr("Kết quả"), self.result_edit)
        form.addRow(self.tr("Chỉ tiêu / đo lường"), self.measure_edit)
        form.addRow("", self.measure_hint)
        form.addRow(self.tr("Loại trừ"), self.exclusion_edit)
        form.addRow("", self.evidence_check)
        assign = QFormLayout()
        assign.addRow(self.tr("Đơn vị chủ trì"), self.lead_edit)
        assign.addRow(self.tr("Đơn vị phối hợp"), self.coord_edit)
        assign.addRow(self.tr("Cấp báo cáo"), levels)
        assign.addRow(self.tr("Đơn vị báo cáo"), self.unit_list)
        assign.addRow("", self.unit_hint)
        assign.addRow(self.tr("Căn cứ phân công"), self.assignment_edit)
        assign.addRow(self.tr("Định kỳ"), self.every_combo)
        assign.addRow(self.tr("Khoảng thời gian"), self.window_edit)
        assign.addRow("", self.recurrence_hint)
        content_tab, assign_tab = QWidget(), QWidget()
        content_tab.setLayout(form)
        assign_tab.setLayout(assign)
        right = QTabWidget(objectName="targetTabs")
        right.addTab(content_tab, self.tr("Nội dung"))
        right.addTab(assign_tab, self.tr("Phân công, định kỳ"))
        self.target_tabs = right
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([380, 720])

        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText(self.tr("Ghi chú cho phiên bản mới (ví dụ: điều chỉnh theo chỉ đạo ngày …)"))
        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(theme.ERROR_TEXT)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(self.tr("Lưu phiên bản mới"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addLayout(top_form)
        v.addWidget(split, 1)
        v.addWidget(self.note_edit)
        v.addWidget(self.problems_label)
        v.addWidget(self.buttons)
        self._rebuild_list()

    # --- list -------------------------------------------------------------------------------
    def _rebuild_list(self, select: tuple[int, int] | None = None) -> None:
        self.group_combo.blockSignals(True)
        self.group_combo.clear()
        for g in self.doc["groups"]:
            self.group_combo.addItem(f"{g['code']}. {g['title']}", g["code"])
        self.group_combo.blockSignals(False)
        self.target_list.blockSignals(True)
        self.target_list.clear()
        for gi, g in enumerate(self.doc["groups"]):
            for ti, t in enumerate(g["targets"]):
                item = QListWidgetItem(f"{t['code']} — {t['text']}")
                item.setData(ROLE_ROW, (gi, ti))
                item.setToolTip(t["text"])
                self.target_list.addItem(item)
        self.target_list.blockSignals(False)
        self._current = None
        row = 0
        if select is not None:
            row = next((i for i in range(self.target_list.count())
                        if self.target_list.item(i).data(ROLE_ROW) == select), 0)
        self.target_list.setCurrentRow(row)
        self._on_target_changed(row)

    def _target(self, pos: tuple[int, int]) -> dict:
        return self.doc["groups"][pos[0]]["targets"][pos[1]]

    def _on_target_changed(self, row: int) -> None:
        item = self.target_list.item(row)
        wanted = self._target(tuple(item.data(ROLE_ROW))) if item is not None else None
        if self._current is not None and not self._commit():
            self.target_list.blockSignals(True)
            self.target_list.setCurrentRow(self._row_of(self._current))
            self.target_list.blockSignals(False)
            return
        if wanted is not None and self._current is not None:
            # committing moved a target to another group and rebuilt the list: rows shifted, so
            # find the target the user clicked again (by identity, its code may be edited)
            pos = next(((gi, ti) for gi, g in enumerate(self.doc["groups"]) for ti, t in enumerate(g["targets"])
                        if t is wanted), None)
            if pos is not None:
                row = self._row_of(pos)
                self.target_list.blockSignals(True)
                self.target_list.setCurrentRow(row)
                self.target_list.blockSignals(False)
            item = self.target_list.item(row)
        if item is None:
            return
        pos = tuple(item.data(ROLE_ROW))
        self._current = pos
        t = self._target(pos)
        self.code_edit.setText(t["code"])
        self.group_combo.setCurrentIndex(pos[0])
        self.kind_combo.setCurrentIndex(max(0, self.kind_combo.findData(t["kind"])))
        self.text_edit.setPlainText(t["text"])
        self.lead_edit.setPlainText("\n".join(t.get("lead_units", ())))
        self.coord_edit.setPlainText("\n".join(t.get("coordinating_units", ())))
        self.deadline_edit.setText(_deadline_cell(t, self.doc["year"]))
        self.result_edit.setPlainText(t.get("expected_result", ""))
        self.measure_edit.setText(_measure_cell(t))
        self.exclusion_edit.setText(t.get("exclusion_note", ""))
        self.evidence_check.setChecked(bool(t.get("evidence_required", False)))
        for lv, c in self.level_checks.items():
            c.setChecked(lv in t.get("applies_to_levels", ()))
        named = {(u.get("code") or "", u["name"]) for u in t.get("reporting_units", ())}
        codes = {c for c, _ in named if c}
        for i in range(self.unit_list.count()):
            item = self.unit_list.item(i)
            ref = item.data(ROLE_ROW)
            on = ref["code"] in codes or any(not c and n == ref["name"] for c, n in named)
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        self.assignment_edit.setPlainText(t.get("assignment_note", ""))
        rec = t.get("recurrence") or {}
        self.every_combo.setCurrentIndex(max(0, self.every_combo.findData(rec.get("every"))))
        window = ""
        if rec.get("start") or rec.get("end"):
            r = Recurrence.from_json(rec)
            window = self.tr("từ {0} đến {1}").format(fmt_date(r.start) or "…", fmt_date(r.end) or "…")
        self.window_edit.setText(window)
        self.problems_label.clear()
        self._update_hints()

    def _row_of(self, pos) -> int:
        return next((i for i in range(self.target_list.count()) if tuple(self.target_list.item(i).data(ROLE_ROW)) == pos), 0)

    def _update_hints(self) -> None:
        year = self.year_spin.value()
        try:
            d = parse_deadline(self.deadline_edit.text(), year)
            end = d.end_date(year)
            self.deadline_hint.setText(self.tr("Hiểu là: {0}").format(d.label(year)) +
                                       (self.tr(" — hạn cuối {0}").format(fmt_date(end)) if end else ""))
            self.deadline_hint.setStyleSheet(theme.MUTED_TEXT)
        except DeadlineParseError as exc:
            self.deadline_hint.setText(str(exc))
            self.deadline_hint.setStyleSheet(theme.ERROR_TEXT)
        try:
            m = parse_measure(self.measure_edit.text())
            self.measure_hint.setText(self.tr("Hiểu là: {0}").format(m.label))
            self.measure_hint.setStyleSheet(theme.MUTED_TEXT)
        except ValueError as exc:
            self.measure_hint.setText(str(exc))
            self.measure_hint.setStyleSheet(theme.ERROR_TEXT)
        try:
            rec = self._recurrence(year)
            if rec is None:
                self.recurrence_hint.setText("")
            else:
                try:
                    dl = parse_deadline(self.deadline_edit.text(), year)
                except DeadlineParseError:
                    dl = None
                due = rec.due_periods(year, dl)
                self.recurrence_hint.setText(self.tr("Xét từng kỳ: {0}").format(
                    ", ".join(p.label for p in due[:6]) + (self.tr(" … ({0} kỳ)").format(len(due)) if len(due) > 6 else "")))
                self.recurrence_hint.setStyleSheet(theme.MUTED_TEXT)
        except DeadlineParseError as exc:
            self.recurrence_hint.setText(str(exc))
            self.recurrence_hint.setStyleSheet(theme.ERROR_TEXT)

    def _recurrence(self, year: int) -> Recurrence | None:
        """The recurrence the form describes (raises DeadlineParseError for an unreadable window)."""
        every = self.every_combo.currentData()
        if not every:
            return None
        text = nfc(self.window_edit.text()).strip()
        if not text:
            return Recurrence(every)
        d = parse_deadline(text, year)
        if d.type != "period":
            raise DeadlineParseError(self.tr("Khoảng thời gian '{0}' cần có ngày bắt đầu và ngày kết thúc, ví dụ: từ "
                                             "01/9/2023 đến 30/11/2023.").format(text))
        return Recurrence(every, d.start, d.end)

    # --- committing the form ------------------------------------------------------------------
    def _commit(self) -> bool:
        """Write the form into the working document; False (with the reason shown) if it cannot."""
        if self._current is None:
            return True
        pos = self._current
        t = dict(self._target(pos))
        year = self.year_spin.value()
        errors = []
        text = nfc(self.deadline_edit.text()).strip()
        if text != _deadline_cell(t, year):
            try:
                t["deadline"] = parse_deadline(text, year).to_json()
            except DeadlineParseError as exc:
                errors.append(str(exc))
        mtext = nfc(self.measure_edit.text()).strip()
        if mtext != _measure_cell(t):
            try:
                t["measure"] = parse_measure(mtext).to_json()
            except ValueError as exc:
                errors.append(str(exc))
        try:
            rec = self._recurrence(year)
            old_rec = t.get("recurrence")
            if rec is None:
                t.pop("recurrence", None)
            elif not (old_rec and Recurrence.from_json(old_rec) == Recurrence(rec.every, rec.start, rec.end,
                                                                                old_rec.get("text", ""))):
                t["recurrence"] = rec.to_json()
        except DeadlineParseError as exc:
            errors.append(str(exc))
        if errors:
            self.problems_label.setText("\n".join(errors))
            return False
        t["code"] = nfc(self.code_edit.text()).strip()
        t["kind"] = self.kind_combo.currentData()
        t["text"] = nfc(self.text_edit.toPlainText()).strip()
        for key, w in (("lead_units", self.lead_edit), ("coordinating_units", self.coord_edit)):
            units = [nfc(x).strip() for x in w.toPlainText().splitlines() if x.strip()]
            if units:
                t[key] = units
            else:
                t.pop(key, None)
        for key, value in (("expected_result", self.result_edit.toPlainText()),
                           ("exclusion_note", self.exclusion_edit.text())):
            value = nfc(value).strip()
            if value:
                t[key] = value
            else:
                t.pop(key, None)
        t["evidence_required"] = self.evidence_check.isChecked()
        levels = [lv for lv, c in self.level_checks.items() if c.isChecked()]
        if levels:
            t["applies_to_levels"] = levels
        else:
            t.pop("applies_to_levels", None)
        chosen = [self.unit_list.item(i).data(ROLE_ROW) for i in range(self.unit_list.count())
                  if self.unit_list.item(i).checkState() == Qt.CheckState.Checked]
        listed = {u.get("code") or u["name"] for u in t.get("reporting_units", ())}
        known = {self.unit_list.item(i).data(ROLE_ROW)["code"] for i in range(self.unit_list.count())}
        kept = [u for u in t.get("reporting_units", ()) if (u.get("code") or u["name"]) not in known]  # not in register
        if {u["code"] for u in chosen} | {u.get("code") or u["name"] for u in kept} != listed:
            t["reporting_units"] = kept + [dict(u) for u in chosen]
        if not t.get("reporting_units"):
            t.pop("reporting_units", None)
        note = nfc(self.assignment_edit.toPlainText()).strip()
        if note:
            t["assignment_note"] = note
        else:
            t.pop("assignment_note", None)
        gi, ti = pos
        edited = self._target(pos)
        edited.clear()
        edited.update(t)  # in place: the target stays the one it was loaded as (see _origins)
        t = edited
        new_gi = self.group_combo.currentIndex()
        if new_gi != gi and new_gi >= 0:
            del self.doc["groups"][gi]["targets"][ti]
            self.doc["groups"][new_gi]["targets"].append(t)
            new_pos = (new_gi, len(self.doc["groups"][new_gi]["targets"]) - 1)
            self._drop_empty_groups()
            self._current = None
            self._rebuild_list(select=self._find(t["code"]) or new_pos)
            return True
        item = self.target_list.item(self._row_of(pos))
        if item is not None:
            item.setText(f"{t['code']} — {t['text']}")
        return True

    def _find(self, code: str) -> tuple[int, int] | None:
        for gi, g in enumerate(self.doc["groups"]):
            for ti, t in enumerate(g["targets"]):
                if t["code"] == code:
                    return gi, ti
        return None

    def _drop_empty_groups(self) -> None:
        self.doc["groups"] = [g for g in self.doc["groups"] if g["targets"]]

    def add_target(self) -> None:
        if not self._commit():
            return
        used = {t["code"] for g in self.doc["groups"] for t in g["targets"]}
        n = 1
        while f"DV{n:02d}" in used:
            n += 1
        gi = self._current[0] if self._current else 0
        t = {"code": f"DV{n:02d}", "kind": "nhiem_vu", "text": self.tr("Nhiệm vụ mới"),
             "deadline": {"type": "year"}, "measure": {"type": "milestone"}, "evidence_required": True}
        self.doc["groups"][gi]["targets"].append(t)
        self._current = None
        self._rebuild_list(select=(gi, len(self.doc["groups"][gi]["targets"]) - 1))
        self.text_edit.setFocus()
        self.text_edit.selectAll()

    def remove_target(self) -> None:
        if self._current is None:
            return
        if sum(len(g["targets"]) for g in self.doc["groups"]) <= 1:
            self.problems_label.setText(self.tr("Kế hoạch phải còn ít nhất một mục tiêu."))
            return
        gi, ti = self._current
        del self.doc["groups"][gi]["targets"][ti]
        self._drop_empty_groups()
        self._current = None
        self._rebuild_list(select=(min(gi, len(self.doc["groups"]) - 1), max(0, ti - 1)))

    def working_document(self) -> dict:
        doc = copy.deepcopy(self.doc)
        doc["title"] = nfc(self.title_edit.text()).strip()
        doc["year"] = self.year_spin.value()
        days = {k: sp.value() for k, sp in self.days.items() if sp.value() > 0}
        if days:
            doc["submission_deadlines"] = days
        else:
            doc.pop("submission_deadlines", None)
        return doc

    def edits(self) -> list[plans.PlanEdit]:
        """What the user changed, as edits for `plans.apply_edits` (empty when nothing changed)."""
        out: list[plans.PlanEdit] = []
        working = self.working_document()
        info = {}
        for key in ("title", "year", "submission_deadlines"):
            if working.get(key) != self._original.get(key):
                info[key] = working.get(key)
        if info:
            out.append(plans.UpdatePlanInfo(info))
        before = {t["code"]: (g["code"], t) for g in self._original["groups"] for t in g["targets"]}
        origin = {id(t): code for t, code in self._origins}
        present = set()
        added = []
        for g in self.doc["groups"]:
            for t in g["targets"]:
                code = origin.get(id(t))
                if code is None:
                    added.append(plans.AddTarget(g["code"], copy.deepcopy(t)))
                    continue
                present.add(code)
                old_group, old = before[code]
                changes = {k: copy.deepcopy(t.get(k)) for k in sorted(set(old) | set(t)) if old.get(k) != t.get(k)}
                moved = g["code"] if g["code"] != old_group else None
                if changes or moved:
                    out.append(plans.UpdateTarget(code, changes, moved))
        out += [plans.RemoveTarget(code) for code in before if code not in present]
        return out + added

    def save(self) -> None:
        if not self._commit():
            return
        edits = self.edits()
        if not edits:
            self.problems_label.setText(self.tr("Chưa có thay đổi nào để lưu."))
            return
        session, plan_id, note = self.session, self.plan_id, self.note_edit.text()
        self.problems_label.clear()
        self.save_button.setEnabled(False)
        ops.Op(self, lambda: plans.apply_edits(session, plan_id, edits, note), changes=ops.Changes.PLANS) \
            .success(self._saved).failure(self._save_failed) \
            .finally_(lambda: self.save_button.setEnabled(True)) \
            .with_progress(self.tr("Đang lưu kế hoạch…")).run()

    def _saved(self, version: int) -> None:
        self.saved.emit(version)
        self.accept()

    def _save_failed(self, exc: BaseException) -> None:
        """A refused save keeps every edit in the form; the reason is shown under it."""
        if isinstance(exc, plans.PlanEditError):
            lines = [plans.PlanEditError.problem_text(p) for p in exc.problems[:8]]
            if len(exc.problems) > 8:
                lines.append(self.tr("… và {0} lỗi khác").format(len(exc.problems) - 8))
            self.problems_label.setText(self.tr("Chưa lưu: có {0} lỗi.").format(len(exc.problems)) + "\n"
                                        + "\n".join(lines))
        elif isinstance(exc, AppError):
            self.problems_label.setText(exc.user_text())
        else:
            _show_error(self, exc, self.tr("Không lưu được kế hoạch"))


class PlanImportDialog(QDialog):
    """Preview of a spreadsheet (or plan file) before import: every row and every problem.
    Saving stays disabled while there is any problem."""

    imported = Signal(str)

    def __init__(self, session, path: Path, parent=None):
        super().__init__(parent)
        self.session = session
        self.path = Path(path)
        self.setWindowTitle(self.tr("Nhập kế hoạch — {0}").format(self.path.name))
        self.resize(1100, 700)
        self.preview = plans.preview_import(session, self.path)
        doc = self.preview.document
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        if doc is not None:
            self.summary_label.setText(self.tr("<b>{0}</b><br>Mã kế hoạch: {1} · Năm {2} · {3} nhóm, {4} mục tiêu").format(
                html.escape(doc["title"]), html.escape(doc["id"]), doc["year"], len(doc["groups"]),
                self.preview.target_count))
        else:
            self.summary_label.setText(self.tr("Không đọc được kế hoạch từ tệp {0}.").format(html.escape(self.path.name)))
        self.row_model = PreviewTableModel(self)
        self.row_model.set_rows(self.preview.rows, self.preview.problems, self.preview.warnings)
        # groups the table numbers but does not name: the user names them, or keeps "Nhóm III"
        self.group_names: dict[str, QLineEdit] = {}
        self.naming_box = QGroupBox(self.tr("Nhóm chưa có tên trong bảng"))
        naming = QFormLayout(self.naming_box)
        titles = {g["code"]: g["title"] for g in (doc or {}).get("groups", [])}
        for code, row in self.preview.untitled_groups:
            edit = QLineEdit(objectName=f"groupName_{code}")
            edit.setPlaceholderText(self.tr("Để trống: giữ “{0}” và ghi là chưa rõ tên").format(titles.get(code, code)))
            self.group_names[code] = edit
            naming.addRow(self.tr("{0} (dòng {1})").format(titles.get(code, code), row), edit)
        self.naming_box.setVisible(bool(self.group_names))
        self.row_view = _table(self.row_model, stretch=3)
        for col, width in ((0, 50), (1, 40), (2, 90), (4, 170), (5, 120), (6, 140)):
            self.row_view.setColumnWidth(col, width)
        self.problem_model = ProblemTableModel(self)
        self.problem_model.set_rows(self.preview.problems)
        self.problem_view = sortable(_table(self.problem_model, stretch=3))
        for col, width in ((0, 50), (1, 170), (2, 110)):
            self.problem_view.setColumnWidth(col, width)
        n = len(self.preview.problems)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        if n:
            self.status_label.setText(self.tr("Có {0} lỗi. Chưa lưu gì: hãy sửa trong tệp rồi mở lại.").format(n))
            self.status_label.setStyleSheet(theme.ERROR_STRONG)
        elif self.group_names:
            self.status_label.setText(self.tr("Không có lỗi. {0} nhóm chỉ có số, chưa có tên: đặt tên ở trên (hoặc để "
                                              "trống) rồi bấm 'Lưu kế hoạch'. Chưa lưu gì cho đến khi bấm lưu.")
                                      .format(len(self.group_names)))
            self.status_label.setStyleSheet(f"color: {theme.WARNING}; font-weight: bold;")
        else:
            self.status_label.setText(self.tr("Không có lỗi. Kiểm tra lại các dòng rồi bấm 'Lưu kế hoạch'."))
            self.status_label.setStyleSheet(theme.OK_STRONG)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(self.tr("Lưu kế hoạch"))
        self.save_button.setEnabled(self.preview.ok)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Đóng"))
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(theme.ERROR_TEXT)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.row_view)
        split.addWidget(self.problem_view)
        split.setSizes([440, 160] if n else [600, 60])
        v = QVBoxLayout(self)
        v.addWidget(self.summary_label)
        v.addWidget(split, 1)
        v.addWidget(self.naming_box)
        v.addWidget(self.status_label)
        v.addWidget(self.error_label)
        v.addWidget(self.buttons)

    def save(self) -> None:
        if not self.preview.ok:
            return
        titles = {code: nfc(e.text()).strip() for code, e in self.group_names.items()}
        try:
            result = plans.import_previewed(self.session, self.preview, titles)
        except plans.PlanFormatError as exc:
            self.error_label.setText("\n".join(str(p) for p in exc.problems[:8]))
            return
        except AppError as exc:
            self.error_label.setText(exc.user_text())
            return
        self.result = result
        self.imported.emit(result.id)
        self.accept()


class VersionHistoryDialog(QDialog):
    """Stored versions of a plan and what changed between any two of them."""

    def __init__(self, session, plan_id: str, parent=None):
        super().__init__(parent)
        self.session = session
        self.plan_id = plan_id
        self.setWindowTitle(self.tr("Lịch sử phiên bản — {0}").format(plans.plan_summary(session, plan_id).title))
        self.resize(1000, 640)
        self.versions = plans.list_versions(session, plan_id)
        self.version_model = VersionTableModel(self)
        self.version_model.set_rows(self.versions)
        self.version_view = sortable(_table(self.version_model, stretch=4))
        for col, width in ((0, 130), (1, 130), (2, 170), (3, 90)):
            self.version_view.setColumnWidth(col, width)
        self.from_combo = QComboBox()
        self.to_combo = QComboBox()
        for v in sorted(self.versions, key=lambda x: x.version):
            label = self.tr("Phiên bản {0} ({1})").format(v.version, fmt_date(v.created_at))
            self.from_combo.addItem(label, v.version)
            self.to_combo.addItem(label, v.version)
        n = self.to_combo.count()
        self.to_combo.setCurrentIndex(n - 1)
        self.from_combo.setCurrentIndex(max(0, n - 2))
        self.from_combo.currentIndexChanged.connect(lambda _i: self.compare())
        self.to_combo.currentIndexChanged.connect(lambda _i: self.compare())
        self.change_model = ChangeTableModel(self)
        self.change_view = _table(self.change_model, wrap=True)
        hh = self.change_view.horizontalHeader()
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 100), (1, 70), (2, 140)):
            self.change_view.setColumnWidth(col, width)
        self.summary_label = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("So sánh")))
        bar.addWidget(self.from_combo)
        bar.addWidget(QLabel(self.tr("với")))
        bar.addWidget(self.to_combo)
        bar.addWidget(self.summary_label, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Đóng"))
        close.rejected.connect(self.reject)
        v = QVBoxLayout(self)
        v.addWidget(self.version_view, 2)
        v.addLayout(bar)
        v.addWidget(self.change_view, 3)
        v.addWidget(close)
        self.compare()

    def compare(self) -> None:
        a, b = self.from_combo.currentData(), self.to_combo.currentData()
        if a is None or b is None:
            return
        try:
            changes = plans.diff_versions(self.session, self.plan_id, a, b)
        except AppError as exc:
            self.summary_label.setText(exc.user_text())
            return
        self.changes = changes
        self.change_model.set_rows(changes)
        self.change_view.resizeRowsToContents()
        if len(self.versions) < 2:
            self.summary_label.setText(self.tr("Kế hoạch mới có một phiên bản."))
        elif a == b:
            self.summary_label.setText(self.tr("Chọn hai phiên bản khác nhau để so sánh."))
        elif not changes:
            self.summary_label.setText(self.tr("Hai phiên bản giống nhau."))
        else:
            self.summary_label.setText(self.tr("{0} thêm, {1} bỏ, {2} sửa").format(
                sum(c.kind == "added" for c in changes), sum(c.kind == "removed" for c in changes),
                sum(c.kind in ("changed", "plan") for c in changes)))
