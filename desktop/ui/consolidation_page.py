"""The provincial office's desk: units × targets matrix, reporting rate, compare periods, drill
down into a unit's report, accept or return it, chase the units that are late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import shiboken6

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QTableView, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_number, fmt_percent
from desktop.models.services import consolidation as cons
from desktop.models.services import pdfsign, plans, progress, units
from desktop.models.domain import workflow
from desktop.models.domain.i18n import vi_sort_key
from desktop.models.domain.plan import ReportingPeriod
from desktop.models.domain.status import EVALUATED, Progress
from desktop.models.storage.vault import Permission
from desktop.ui import ops
from desktop.ui.messages import MessageBox, show_error
from desktop.ui.return_dialog import ReturnDialog
from desktop.ui.table_models import RowTableModel
from desktop.ui import theme
from desktop.ui.token_sign import SignatureInfoBox, matrix_signature_suffix



def _state(value) -> str:
    return workflow.label(value, at_superior=True)

FIXED_COLUMNS = 3  # unit, report state, submitted


class MatrixTableModel(QAbstractTableModel):
    """Rows: units; columns: unit, report state, submitted at, then one per target."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix: cons.Matrix | None = None
        self.changes: dict = {}
        self.signatures: dict = {}  # report id → pdfsign.SignatureView
        self.sort_by: tuple[int, Qt.SortOrder] | None = None

    def set_matrix(self, matrix: cons.Matrix | None, changes: dict | None = None) -> None:
        self.beginResetModel()
        self.matrix = matrix
        self.changes = changes or {}
        if matrix is not None and self.sort_by is not None:
            self._sort_units(*self.sort_by)
        self.endResetModel()

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort the units in Python, one key per row (what the sort role gives): a proxy sort
        calls `data` twice per comparison, 20,000 calls into Python for 1,000 units."""
        self.sort_by = (column, order) if column >= 0 else None
        if self.matrix is None or column < 0:
            return
        self.layoutAboutToBeChanged.emit()
        before = [u.code for u in self.matrix.units]
        self._sort_units(column, order)
        row_of = {u.code: i for i, u in enumerate(self.matrix.units)}
        old = self.persistentIndexList()
        self.changePersistentIndexList(old, [self.index(row_of[before[i.row()]], i.column()) for i in old])
        self.layoutChanged.emit()

    def _sort_units(self, column: int, order) -> None:
        m = self.matrix
        if column == 0:
            def key(u):  # Vietnamese order, "khu vực 2" before "khu vực 10"
                return vi_sort_key(u.name)
        elif column < FIXED_COLUMNS:
            def key(u):
                return u.report_status or ""
        else:
            code, cells = m.targets[column - FIXED_COLUMNS].code, m.cells

            def key(u):
                c = cells.get((u.code, code))
                return c.status.rank if c is not None and c.status is not None else 9
        m.units = sorted(m.units, key=key, reverse=order == Qt.SortOrder.DescendingOrder)

    def unit_at(self, row: int) -> cons.UnitRow:
        return self.matrix.units[row]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or self.matrix is None else len(self.matrix.units)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or self.matrix is None else FIXED_COLUMNS + len(self.matrix.targets)

    def cell(self, row: int, col: int) -> cons.CellView | None:
        u = self.matrix.units[row]
        t = self.matrix.targets[col - FIXED_COLUMNS]
        return self.matrix.cells.get((u.code, t.code))

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.matrix is None or not (0 <= index.row() < len(self.matrix.units)):
            return None
        row, col = index.row(), index.column()
        u = self.matrix.units[row]
        if col < FIXED_COLUMNS:
            if role == Qt.ItemDataRole.DisplayRole:
                if col == 0:
                    return u.short_name or u.name
                if col == 1:
                    return _state(u.report_status) + matrix_signature_suffix(self.signatures.get(u.report_id))[0]
                return u.submitted_at.strftime("%d/%m/%Y") if u.submitted_at else ""
            if role == Qt.ItemDataRole.ToolTipRole and col == 0:
                return f"{u.name} ({u.code})"
            if role == Qt.ItemDataRole.ForegroundRole and col == 2 and u.on_time is False:
                return QBrush(QColor(theme.ERROR))
            if role == Qt.ItemDataRole.ForegroundRole and col == 1 and matrix_signature_suffix(
                    self.signatures.get(u.report_id))[1]:
                return QBrush(QColor(theme.ERROR))
            if role == Qt.ItemDataRole.ToolTipRole and col == 1 and u.report_id in self.signatures:
                return self.signatures[u.report_id].summary()
            if role == Qt.ItemDataRole.UserRole:
                return (u.name if col == 0 else u.report_status or "") or ""
            return None
        c = self.cell(row, col)
        t = self.matrix.targets[col - FIXED_COLUMNS]
        change = self.changes.get((u.code, t.code))
        if self.matrix.applies and not self.matrix.applicable(u.code, t.code):  # not this unit's target
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(QColor(theme.NOT_ASSIGNED_BG))
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.tr("{0} · {1}: đơn vị không phải báo cáo mục tiêu này").format(u.name, t.code)
            if role == Qt.ItemDataRole.UserRole:
                return 10
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if c is None or c.status is None:
                return "–"
            text = c.status.abbrev
            if c.percent is not None:
                text += f" {fmt_percent(c.percent)}"
            if change:
                before = change[0].abbrev if change[0] else "–"
                text = f"{before}→{text}"
            return text
        if role == Qt.ItemDataRole.BackgroundRole and c is not None and c.status is not None:
            return QBrush(QColor(c.status.colour))
        if role == Qt.ItemDataRole.ToolTipRole:
            head = f"{u.name} · {t.code}: {t.text}"
            return head + (f"\n{c.status.label} — {c.reason}" if c and c.status else "\nChưa báo cáo")
        if role == Qt.ItemDataRole.FontRole and change:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.UserRole:
            return c.status.rank if c and c.status else 9
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if self.matrix is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                if section < FIXED_COLUMNS:
                    return ("Đơn vị", "Báo cáo", "Ngày gửi")[section]
                if section < FIXED_COLUMNS + len(self.matrix.targets):
                    return self.matrix.targets[section - FIXED_COLUMNS].code
            if role == Qt.ItemDataRole.ToolTipRole and FIXED_COLUMNS <= section < FIXED_COLUMNS + len(self.matrix.targets):
                t = self.matrix.targets[section - FIXED_COLUMNS]
                return f"{t.code}: {t.text}"
        elif role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.matrix.units):
            return str(section + 1)
        return None


class MatrixFilter(QSortFilterProxyModel):
    """Filter rows by unit text (accent-insensitive) and by a status present in the row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = ""
        self.status: Progress | None = None
        self.only_missing = False
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is the source model's (`MatrixTableModel.sort`): rows keep their order here."""
        self.sourceModel().sort(column, order)

    def set_filter(self, text: str, status: Progress | None, only_missing: bool = False) -> None:
        from desktop.models.domain.i18n import fold

        self.beginFilterChange()
        self.text = fold(text)
        self.status = status
        self.only_missing = only_missing
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row, parent) -> bool:
        from desktop.models.domain.i18n import fold

        model: MatrixTableModel = self.sourceModel()
        u = model.unit_at(row)
        if self.text and self.text not in fold(f"{u.code} {u.name} {u.short_name}"):
            return False
        if self.only_missing and u.reported:
            return False
        if self.status is not None:
            return any((c := model.matrix.cells.get((u.code, t.code))) is not None and c.status is self.status
                       for t in model.matrix.targets)
        return True


def _result_text(e) -> str:
    if e.numerator is not None and e.denominator:
        return f"{fmt_number(e.numerator)}/{fmt_number(e.denominator)}"
    if e.count is not None:
        return fmt_number(e.count)
    if e.done:
        return "Đã hoàn thành" + (f" ({e.done_date.strftime('%d/%m/%Y')})" if e.done_date else "")
    return ""


def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


@dataclass(frozen=True)
class EvidenceRow:
    target_code: str
    info: progress.EvidenceInfo


class EntryModel(RowTableModel):
    """The unit's entries as received (targets named from the plan)."""

    def __init__(self, targets: dict, parent=None):
        super().__init__(parent)
        self.columns = [
            ("Mã", lambda e: e.target_code),
            ("Mục tiêu", lambda e: targets[e.target_code].text if e.target_code in targets else ""),
            ("Kết quả", _result_text),
            ("Nội dung", lambda e: e.result_text),
            ("Minh chứng", lambda e: len(e.evidence) or ""),
        ]


class EvidenceModel(RowTableModel):
    columns = [
        ("Mục tiêu", lambda r: r.target_code),
        ("Tệp minh chứng", lambda r: r.info.filename),
        ("Dung lượng", lambda r: _size_text(r.info.size)),
        ("Ngày nhận", lambda r: r.info.added_at.strftime("%d/%m/%Y")),
    ]


class TransitionModel(RowTableModel):
    columns = [
        ("Thời điểm", lambda t: t.ts.strftime("%d/%m/%Y %H:%M")),
        ("Người", lambda t: t.user),
        ("Từ", lambda t: _state(t.from_status) if t.from_status else ""),
        ("Sang", lambda t: _state(t.to_status)),
        ("Ghi chú", lambda t: t.comment),
    ]


def _row_table(model, name: str) -> QTableView:
    """A table choosing one whole row, its second column stretched."""
    view = QTableView(objectName=name)
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    view.verticalHeader().setVisible(False)
    return view


class UnitReportDialog(QDialog):
    """A unit's report as received, in one place: its entries, its evidence (opened in the
    evidence viewer), its history and signature; accept it (after a confirmation) or return it
    with the reasons (the one ReturnDialog). The Trao đổi page opens this same dialog."""

    def __init__(self, session, report_id: int, plan=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.report_id = report_id
        self.viewer = None                                   # the evidence viewer opened last
        self.return_dialog_factory = ReturnDialog            # tests answer it without a modal loop
        report = progress.get_report(session, report_id)
        if plan is None or plan.id != report.plan_id:
            plan = plans.get_plan(session, report.plan_id, report.plan_version)
        unit = units.get_unit(session, report.unit_code)
        self.unit_name = unit.name if unit else report.unit_code
        self.period_label = report.period.label
        self.plan = plan
        self.plan_title = plan.title
        self.setWindowTitle(self.tr("Báo cáo của {0} — {1}").format(self.unit_name, self.period_label))
        screen = (parent.screen() if parent is not None else None) or self.screen()
        avail = screen.availableGeometry() if screen is not None else None
        # 1100×760 where it fits; on a 1366×768 office screen, within the screen (title bar included)
        self.resize(min(1100, int(avail.width() * 0.95)) if avail else 1100,
                    min(760, int(avail.height() * 0.88)) if avail else 760)
        lay = QVBoxLayout(self)
        self.header = QLabel(objectName="unitReportHeader")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        lay.addWidget(self.header)

        targets = {t.code: t for t in plan.targets}
        self.entries = EntryModel(targets, self)
        self.entry_view = _row_table(self.entries, "unitEntries")
        self.entry_view.setWordWrap(False)
        lay.addWidget(self.entry_view, 3)

        self.evidence = EvidenceModel(self)
        self.evidence_view = _row_table(self.evidence, "unitEvidence")
        self.evidence_title = QLabel(objectName="unitEvidenceTitle")
        self.view_evidence_button = QPushButton(self.tr("Xem minh chứng…"), objectName="viewEvidence")
        ev_head = QHBoxLayout()
        ev_head.addWidget(self.evidence_title, 1)
        ev_head.addWidget(self.view_evidence_button)
        lay.addLayout(ev_head)
        lay.addWidget(self.evidence_view, 2)

        self.history = TransitionModel(self)
        hist = QTableView(objectName="unitHistory")
        hist.setModel(self.history)
        hist.horizontalHeader().setStretchLastSection(True)
        hist.verticalHeader().setVisible(False)
        lay.addWidget(QLabel(self.tr("Lịch sử")))
        lay.addWidget(hist, 1)
        self.signature = SignatureInfoBox(session, report_id, self)
        lay.addWidget(self.signature)
        buttons = QHBoxLayout()
        self.accept_button = QPushButton(self.tr("Chấp nhận báo cáo…"), objectName="acceptReport")
        self.return_button = QPushButton(self.tr("Trả lại kèm ý kiến…"), objectName="returnReport")
        self.state_note = QLabel(objectName="unitReportNote")
        self.state_note.setStyleSheet(theme.MUTED_TEXT)
        self.state_note.setWordWrap(True)
        close = QPushButton(self.tr("Đóng"))
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.return_button)
        buttons.addWidget(self.state_note, 1)
        buttons.addWidget(close)
        lay.addLayout(buttons)

        self.accept_button.clicked.connect(self.accept_report)
        self.return_button.clicked.connect(self.return_report)
        self.view_evidence_button.clicked.connect(lambda: self.view_evidence(self.current_evidence()))
        self.evidence_view.doubleClicked.connect(lambda i: self.view_evidence(self.evidence.row(i.row()).info))
        self.evidence_view.selectionModel().currentRowChanged.connect(lambda *_a: self._update_evidence_button())
        self.entry_view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._entry_chosen(cur.row()))
        self.entry_view.doubleClicked.connect(lambda i: self._entry_opened(i.row()))
        close.clicked.connect(self.reject)
        self._show(report)

    # --- reading -----------------------------------------------------------------------------------------------------
    def _show(self, report: progress.ReportView) -> None:
        self.report = report
        revised = self.tr(" · gửi lại lần {0}").format(report.revision) if report.revision else ""
        self.header.setText(self.tr("<b>{0}</b> · {1} · {2}{3} · trạng thái: <b>{4}</b>").format(
            self.unit_name, self.plan_title, self.period_label, revised, _state(report.status)))
        entries = sorted(report.entries.values(), key=lambda e: e.target_code)
        self.entries.set_rows(entries)
        rows = [EvidenceRow(e.target_code, info) for e in entries for info in e.evidence]
        self.evidence.set_rows(rows)
        self.evidence_title.setText(self.tr("Minh chứng của đơn vị ({0} tệp) · bấm đúp để xem").format(len(rows))
                                    if rows else self.tr("Đơn vị không gửi kèm minh chứng."))
        if rows:
            self.evidence_view.selectRow(0)
        self.history.set_rows(progress.report_transitions(self.session, self.report_id))
        user = self.session.user
        received = report.status == workflow.ReportState.RECEIVED
        can_accept, can_return = user.can(Permission.APPROVE_REPORT), user.can(Permission.EXCHANGE)
        self.accept_button.setEnabled(received and can_accept)
        self.return_button.setEnabled(received and can_return)
        self.accept_button.setToolTip("" if can_accept else self.tr("Chỉ lãnh đạo đơn vị được chấp nhận báo cáo."))
        self.return_button.setToolTip("" if can_return else self.tr("Tài khoản này không được gửi nhận dữ liệu."))
        if not received:
            self.state_note.setText(self.tr("Báo cáo đang ở trạng thái “{0}”: không chấp nhận hay trả lại được nữa; "
                                            "đơn vị gửi lại thì báo cáo mới hiện ở đây.").format(_state(report.status)))
        elif not (can_accept or can_return):
            self.state_note.setText(self.tr("Tài khoản này chỉ được xem báo cáo."))
        else:
            self.state_note.setText("")
        self._update_evidence_button()

    def reload(self) -> None:
        self._show(progress.get_report(self.session, self.report_id))

    # --- evidence -------------------------------------------------------------------------------------------------
    def current_evidence(self) -> progress.EvidenceInfo | None:
        idx = self.evidence_view.currentIndex()
        return self.evidence.row(idx.row()).info if idx.isValid() else None

    def _update_evidence_button(self) -> None:
        self.view_evidence_button.setEnabled(self.current_evidence() is not None)

    def _entry_chosen(self, row: int) -> None:
        """Choosing a target selects its first evidence file below."""
        if row < 0:
            return
        code = self.entries.row(row).target_code
        for i in range(self.evidence.rowCount()):
            if self.evidence.row(i).target_code == code:
                self.evidence_view.selectRow(i)
                return

    def _entry_opened(self, row: int) -> None:
        entry = self.entries.row(row)
        if entry.evidence:
            self.view_evidence(entry.evidence[0])

    def view_evidence(self, info: progress.EvidenceInfo | None):
        """Open one evidence file in the evidence viewer (images and PDFs inside the window; other
        allow-listed types only through another program, after the content check)."""
        if info is None:
            return None
        from desktop.ui.evidence_viewer import EvidenceViewer

        if self.viewer is not None and shiboken6.isValid(self.viewer) and not self.viewer.isVisible():
            self.viewer.deleteLater()
        self.viewer = EvidenceViewer(self.session, info, self)
        self.viewer.open()
        return self.viewer

    # --- accept / return --------------------------------------------------------------------------------------------
    def accept_report(self) -> None:
        if not MessageBox.question(self, self.tr("Chấp nhận báo cáo"), self.tr(
                "Chấp nhận báo cáo của {0}, {1}?\n\nSau khi chấp nhận, báo cáo được khóa và dùng để tổng hợp; "
                "không trả lại được nữa.").format(self.unit_name, self.period_label)):
            return

        def done(_none) -> None:
            self.reload()
            MessageBox.info(self, self.tr("Đã chấp nhận"),
                            self.tr("Báo cáo của {0} đã được chấp nhận và khóa tại đơn vị cấp tỉnh.").format(self.unit_name))

        ops.run(self, lambda: cons.accept_report(self.session, self.report_id), done, changes=ops.Changes.REPORTS)

    def return_report(self) -> None:
        from desktop.models.services import exchange

        report = next((r for r in exchange.received_reports(self.session) if r.id == self.report_id), None)
        if report is None:
            return
        targets = {t.code: t.text for t in self.plan.targets}
        dlg = self.return_dialog_factory(report, self, plan_title=self.plan_title, target_names=targets)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        general, per_target = dlg.comments()

        def done(res) -> None:
            self.reload()
            if res.delivered:
                MessageBox.info(self, self.tr("Đã trả lại"),
                                self.tr("Đã gửi ý kiến trả lại tới {0}.").format(self.unit_name))
            else:
                MessageBox.error(self, self.tr("Chưa chuyển được"), res.message)

        ops.run(self, lambda: exchange.return_report(self.session, self.report_id, general, per_target), done,
                changes=ops.Changes.REPORTS | ops.Changes.EXCHANGE, progress=self.tr("Đang ký và gửi ý kiến trả lại…"),
                on_failure=lambda exc: (self.reload(), show_error(self, exc)))


class ConsolidationPage(QWidget):
    openUnitReport = Signal(int)

    def __init__(self, session, today: date | None = None, parent=None):
        super().__init__(parent)
        self.session = session
        self.today = today
        self.last_dialog = None
        self.plan = QComboBox(objectName="consPlan")
        self.plan.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.plan.setMinimumContentsLength(24)
        for p in plans.list_plans(session):
            self.plan.addItem(f"{p.title} ({p.year})", p.id)
        self.period_type = QComboBox(objectName="consPeriodType")
        for key, label in (("month", "Tháng"), ("quarter", "Quý"), ("half_year", "6 tháng"), ("year", "Năm")):
            self.period_type.addItem(self.tr(label), key)
        self.period = QComboBox(objectName="consPeriod")
        self.compare = QComboBox(objectName="consCompare")
        self.search = QLineEdit(objectName="consSearch")
        self.search.setPlaceholderText(self.tr("Lọc đơn vị (gõ không dấu được)"))
        self.group = QComboBox(objectName="consGroup")
        self.group.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.group.setMinimumContentsLength(16)
        self.status = QComboBox(objectName="consStatus")
        self.status.addItem(self.tr("Mọi tiến độ"), None)
        for p in EVALUATED:
            self.status.addItem(p.label, p.value)
        self.status.addItem(self.tr("Chưa gửi báo cáo"), "missing")
        self.summary = QLabel(objectName="consSummary")
        self.summary.setWordWrap(True)
        self.legend = QLabel(" ".join(
            f"<span style='background:{p.colour}'>&nbsp;{p.abbrev}&nbsp;</span> {p.label}&nbsp;&nbsp;" for p in EVALUATED)
            + self.tr("&nbsp;– chưa báo cáo · bấm đúp một dòng để xem, chấp nhận hoặc trả lại báo cáo của đơn vị"), objectName="consLegend")
        self.refresh_button = QPushButton(self.tr("Tính lại"), objectName="consRefresh")
        self.print_button = QPushButton(self.tr("In báo cáo tổng hợp…"), objectName="consPrint")
        self.chase_button = QPushButton(self.tr("Danh sách chưa gửi…"), objectName="consChase")

        self.model = MatrixTableModel(self)
        self.proxy = MatrixFilter(self)
        self.proxy.setSourceModel(self.model)
        self.view = QTableView(objectName="consMatrix")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.horizontalHeader().setDefaultSectionSize(78)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectItems)

        row1 = QHBoxLayout()
        row1.addWidget(QLabel(self.tr("Kế hoạch")))
        row1.addWidget(self.plan, 2)
        row1.addWidget(self.period_type)
        row1.addWidget(self.period, 1)
        row1.addWidget(QLabel(self.tr("So sánh với")))
        row1.addWidget(self.compare, 1)
        row2 = QHBoxLayout()
        row2.addWidget(self.search, 2)
        row2.addWidget(QLabel(self.tr("Nhóm")))
        row2.addWidget(self.group, 2)
        row2.addWidget(self.status, 1)
        row2.addWidget(self.refresh_button)
        row2.addWidget(self.chase_button)
        row2.addWidget(self.print_button)
        lay = QVBoxLayout(self)
        lay.addLayout(row1)
        lay.addLayout(row2)
        lay.addWidget(self.summary)
        lay.addWidget(self.legend)
        lay.addWidget(self.view, 1)

        self.plan.currentIndexChanged.connect(self._fill_periods)
        self.period_type.currentIndexChanged.connect(self._fill_periods)
        self.period.currentIndexChanged.connect(lambda _i: self.refresh())
        self.compare.currentIndexChanged.connect(lambda _i: self.refresh())
        self.search.textChanged.connect(lambda _t: self._apply_filters())
        self.group.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.status.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.refresh_button.clicked.connect(self.recompute)
        self.print_button.clicked.connect(self.print_consolidated)
        self.chase_button.clicked.connect(self.print_reminders)
        self.view.doubleClicked.connect(self.drill_down)
        self._fill_periods()

    # --- choices --------------------------------------------------------------------------
    def _fill_periods(self) -> None:
        pid = self.plan.currentData()
        for combo in (self.period, self.compare):
            combo.blockSignals(True)
            combo.clear()
        self.compare.addItem(self.tr("(không)"), None)
        if pid:
            plan = plans.get_plan(self.session, pid)
            for p in ReportingPeriod.periods_of_year(self.period_type.currentData(), plan.year):
                self.period.addItem(p.label, p.key)
                self.compare.addItem(p.label, p.key)
            self.group.blockSignals(True)
            self.group.clear()
            self.group.addItem(self.tr("Mọi nhóm"), None)
            for g in plan.groups:
                self.group.addItem(f"{g.code}. {g.display_title}", g.code)
            self.group.blockSignals(False)
            today = self.today or date.today()
            if today.year == plan.year:
                key = ReportingPeriod.containing(self.period_type.currentData(), today).previous().key
                idx = self.period.findData(key)
                if idx >= 0:
                    self.period.setCurrentIndex(idx)
        for combo in (self.period, self.compare):
            combo.blockSignals(False)
        ops.keep_fresh(self, self.refresh, ops.Changes.REPORTS | ops.Changes.EXCHANGE | ops.Changes.PLANS)
        self.refresh()

    # --- data -----------------------------------------------------------------------------
    def refresh(self) -> None:
        pid, key = self.plan.currentData(), self.period.currentData()
        if not pid or not key:
            self.model.set_matrix(None)
            return
        try:
            m = cons.matrix(self.session, pid, key)
            other = self.compare.currentData()
            changes = cons.compare(self.session, pid, other, key) if other and other != key else {}
        except Exception as exc:
            show_error(self, exc)
            return
        self.model.signatures = pdfsign.signature_views(self.session, [u.report_id for u in m.units if u.report_id])
        self.model.set_matrix(m, changes)
        self.summary.setText(self.tr(
            "Đã nhận <b>{0}/{1}</b> báo cáo ({2}) · đúng hạn {3} ({4}) · muộn {5} · hạn nộp {6}{7}").format(
            m.received, m.expected, fmt_percent(m.reporting_rate), m.on_time, fmt_percent(m.timeliness), m.late,
            m.deadline.strftime("%d/%m/%Y"),
            self.tr(" · {0} ô thay đổi so với kỳ so sánh").format(len(changes)) if changes else ""))
        self.view.setColumnWidth(0, 220)
        self._apply_filters()

    def _apply_filters(self) -> None:
        status = self.status.currentData()
        self.proxy.set_filter(self.search.text(), Progress(status) if status not in (None, "missing") else None,
                              only_missing=status == "missing")
        group = self.group.currentData()
        if self.model.matrix is None:
            return
        for i, t in enumerate(self.model.matrix.targets):
            self.view.setColumnHidden(FIXED_COLUMNS + i, bool(group) and t.group_code != group)

    def recompute(self) -> None:
        try:
            cons.rebuild(self.session, self.plan.currentData())
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def drill_down(self, proxy_index) -> None:
        row = self.proxy.mapToSource(proxy_index).row()
        u = self.model.unit_at(row)
        if u.report_id is None:
            MessageBox.info(self, self.tr("Chưa có báo cáo"), self.tr("{0} chưa gửi báo cáo kỳ này.").format(u.name))
            return
        plan = plans.get_plan(self.session, self.plan.currentData())
        dlg = UnitReportDialog(self.session, u.report_id, plan, self)
        self.last_dialog = dlg
        dlg.finished.connect(lambda _r: self.refresh())
        dlg.open()

    def _preview(self, pdf: bytes, name: str, xlsx=None) -> None:
        from desktop.ui.pdf_preview import PdfPreviewDialog

        dlg = PdfPreviewDialog(pdf, self.tr("Xem trước"), name, temp_root=self.session.folder.temp,
                               xlsx_bytes_provider=xlsx, parent=self)
        self.last_dialog = dlg
        dlg.open()

    def print_consolidated(self) -> None:
        from desktop.models.services import reporting

        pid, key = self.plan.currentData(), self.period.currentData()
        ops.run(self, lambda: reporting.consolidated_pdf(self.session, pid, ReportingPeriod.parse(key)),
                lambda pdf: self._preview(pdf, f"tong-hop-{pid}-{key}.pdf", lambda: reporting.consolidated_xlsx(
                    self.session, pid, ReportingPeriod.parse(key))),
                progress=self.tr("Đang lập báo cáo tổng hợp (PDF)…"), cancellable=True)

    def print_reminders(self) -> None:
        pid, key, today = self.plan.currentData(), self.period.currentData(), self.today

        def work() -> bytes | None:
            if not cons.missing_reports(self.session, pid, key, today):
                return None
            return cons.reminder_pdf(self.session, pid, key, today)

        def done(pdf: bytes | None) -> None:
            if pdf is None:
                MessageBox.info(self, self.tr("Đôn đốc"), self.tr("Không có đơn vị nào chậm gửi báo cáo kỳ này "
                                                                   "(hoặc chưa đến hạn nộp)."))
                return
            self._preview(pdf, f"don-doc-{pid}-{key}.pdf")

        ops.run(self, work, done, progress=self.tr("Đang lập công văn đôn đốc (PDF)…"), cancellable=True)
