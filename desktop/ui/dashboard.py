"""The home screen: how far the unit is on its plan, what is late, what waits for approval.

Every item clicks through (`openTarget(plan_id, period_key, target_code)`, `openReport(report_id)`).
Figures come from `desktop.models.services.dashboard.build_dashboard`; nothing here touches the database.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QComboBox, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableView, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_date, fmt_percent
from desktop.models.services import dashboard as dash
from desktop.models.services import plans, units
from desktop.models.domain.plan import ReportingPeriod
from desktop.models.domain.status import EVALUATED
from desktop.ui import ops
from desktop.ui.chart import Bar, BarChart, ChartPanel
from desktop.ui.messages import show_error
from desktop.ui import theme


class TargetStatusModel(QAbstractTableModel):
    HEADERS = ("Mã", "Mục tiêu/nhiệm vụ", "Thời hạn", "Tiến độ", "Ghi chú")

    def __init__(self, year: int | None = None, parent=None):
        super().__init__(parent)
        self._rows: list[dash.TargetStatus] = []
        self.year = year

    def set_rows(self, rows, year: int | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if year is not None:
            self.year = year
        self.endResetModel()

    def row(self, i: int) -> dash.TargetStatus:
        return self._rows[i]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        ts = self._rows[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col == 0:
                return ts.target.code
            if col == 1:
                return ts.target.text
            if col == 2:
                end = ts.target.deadline.end_date(self.year) if self.year else None
                return fmt_date(end) if end else ts.target.deadline.text
            if col == 3:
                return ts.result.status.label
            return ts.result.reason
        if role == Qt.ItemDataRole.BackgroundRole and col == 3:
            return QBrush(QColor(ts.result.status.colour))
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 5:
            return self.HEADERS[section]
        return None


class PendingReportModel(QAbstractTableModel):
    HEADERS = ("Kế hoạch", "Kỳ báo cáo", "Trình lúc")

    def __init__(self, titles: dict | None = None, parent=None):
        super().__init__(parent)
        self._rows = []
        self.titles = titles or {}

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row(self, i: int):
        return self._rows[i]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else 3

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) or role != Qt.ItemDataRole.DisplayRole:
            return None
        r = self._rows[index.row()]
        return (self.titles.get(r.plan_id, r.plan_id), ReportingPeriod.parse(r.period_key).label,
                r.updated_at.strftime("%d/%m/%Y %H:%M"))[index.column()]

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < 3:
            return self.HEADERS[section]
        return None


def _table(model) -> QTableView:
    v = QTableView()
    v.setModel(model)
    v.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    v.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    v.verticalHeader().setVisible(False)
    v.horizontalHeader().setStretchLastSection(True)
    v.setWordWrap(False)
    v.setAlternatingRowColors(True)
    return v


class DashboardPage(QWidget):
    openTarget = Signal(str, str, str)  # plan id, period key, target code
    openReport = Signal(int)

    def __init__(self, session, vault=None, today: date | None = None, parent=None):
        super().__init__(parent)
        self.session = session
        self.vault = vault
        self.today = today
        self.board: dash.Dashboard | None = None
        unit = units.own_unit(session)

        title = QLabel(unit.name, objectName="dashUnit")
        tf = QFont(title.font())
        tf.setPointSize(tf.pointSize() + 5)
        tf.setBold(True)
        title.setFont(tf)
        self.plan_combo = QComboBox(objectName="dashPlan")
        self.plan_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.plan_combo.setMinimumContentsLength(30)
        self._titles = {}
        for p in plans.list_plans(session):
            self.plan_combo.addItem(f"{p.title} ({p.year})", p.id)
            self._titles[p.id] = p.title
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(QLabel(self.tr("Kế hoạch:")))
        top.addWidget(self.plan_combo, 1)

        self.rate = QLabel(objectName="dashRate")
        rf = QFont(self.rate.font())
        rf.setPointSize(rf.pointSize() + 16)
        rf.setBold(True)
        self.rate.setFont(rf)
        self.rate.setStyleSheet(theme.ACCENT_TEXT)
        self.counts = QLabel(objectName="dashCounts")
        self.counts.setWordWrap(True)
        self.exchange = QLabel(objectName="dashExchange")
        self.exchange.setWordWrap(True)
        summary = QFrame(objectName="dashSummary")
        summary.setFrameShape(QFrame.Shape.StyledPanel)
        sl = QVBoxLayout(summary)
        sl.addWidget(QLabel(self.tr("Tỷ lệ hoàn thành chung")))
        sl.addWidget(self.rate)
        sl.addWidget(self.counts)
        sl.addStretch(1)
        sl.addWidget(self.exchange)
        self.chart = BarChart(horizontal=True, empty_text=self.tr("Chưa có mục tiêu nào của đơn vị trong kế hoạch này."))
        self.group_panel = ChartPanel(self.tr("Hoàn thành theo nhóm"), self.chart, self.tr("Nhóm"))
        self.period_chart = BarChart(horizontal=False, empty_text=self.tr("Kế hoạch chưa đến kỳ báo cáo nào."))
        self.period_panel = ChartPanel(self.tr("Hoàn thành qua các kỳ"), self.period_chart, self.tr("Kỳ"))
        chart_box = QFrame()
        chart_box.setFrameShape(QFrame.Shape.StyledPanel)
        cl = QHBoxLayout(chart_box)
        cl.addWidget(self.group_panel, 3)
        cl.addWidget(self.period_panel, 2)

        # A report the superior office returned: the first thing to see (issue 19).
        self.returned_box = QFrame(objectName="dashReturned")
        self.returned_box.setStyleSheet(theme.banner_frame("dashReturned", "returned"))
        self.returned_text = QLabel(objectName="dashReturnedText")
        self.returned_text.setWordWrap(True)
        self.returned_text.setTextFormat(Qt.TextFormat.PlainText)
        rf_ = QFont(self.returned_text.font())
        rf_.setBold(True)
        self.returned_text.setFont(rf_)
        self.returned_button = QPushButton(self.tr("Mở báo cáo để sửa"), objectName="dashOpenReturned")
        self.returned_button.clicked.connect(self._open_returned)
        rl = QHBoxLayout(self.returned_box)
        rl.addWidget(self.returned_text, 1)
        rl.addWidget(self.returned_button)
        self.returned_box.setVisible(False)

        self.overdue_model = TargetStatusModel()
        self.soon_model = TargetStatusModel()
        self.pending_model = PendingReportModel(self._titles)
        self.overdue_view = _table(self.overdue_model)
        self.soon_view = _table(self.soon_model)
        self.pending_view = _table(self.pending_model)
        for v in (self.overdue_view, self.soon_view):
            v.setColumnWidth(0, 100)
            v.setColumnWidth(1, 300)
            v.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.overdue_title = QLabel()
        self.soon_title = QLabel()
        self.pending_title = QLabel()

        summary.setMaximumWidth(340)
        top_row = QHBoxLayout()
        top_row.addWidget(summary)
        top_row.addWidget(chart_box, 1)
        lists = QGridLayout()
        lists.addWidget(self.overdue_title, 0, 0)
        lists.addWidget(self.soon_title, 0, 1)
        lists.addWidget(self.overdue_view, 1, 0)
        lists.addWidget(self.soon_view, 1, 1)
        lists.setColumnStretch(0, 1)
        lists.setColumnStretch(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.returned_box)
        lay.addLayout(top_row, 3)
        lay.addLayout(lists, 3)
        lay.addWidget(self.pending_title)
        lay.addWidget(self.pending_view, 1)

        self.overdue_view.doubleClicked.connect(lambda i: self._open_target(self.overdue_model, i))
        self.soon_view.doubleClicked.connect(lambda i: self._open_target(self.soon_model, i))
        self.pending_view.doubleClicked.connect(lambda i: self.openReport.emit(self.pending_model.row(i.row()).id))
        self.plan_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        default = dash.default_plan_id(session)
        if default:
            idx = self.plan_combo.findData(default)
            if idx >= 0:
                self.plan_combo.blockSignals(True)
                self.plan_combo.setCurrentIndex(idx)
                self.plan_combo.blockSignals(False)
        ops.keep_fresh(self, self.refresh, ops.Changes.PROGRESS | ops.Changes.REPORTS | ops.Changes.PLANS
                       | ops.Changes.EXCHANGE)
        self.refresh()

    def refresh(self) -> None:
        try:
            board = dash.build_dashboard(self.session, self.plan_combo.currentData(), self.today)
        except Exception as exc:
            show_error(self, exc)
            return
        self.board = board
        self.rate.setText(fmt_percent(board.overall_rate))
        rows = "".join(
            f"<tr><td style='background:{p.colour}; width:14px'>&nbsp;</td><td>&nbsp;{p.label}</td>"
            f"<td align='right'>&nbsp;&nbsp;<b>{board.counts.get(p, 0)}</b></td></tr>" for p in EVALUATED)
        self.counts.setText(f"<table cellspacing='3'>{rows}</table>")
        last_export = board.last_export.strftime("%d/%m/%Y %H:%M") if board.last_export else self.tr("chưa có")
        last_receipt = board.last_receipt.strftime("%d/%m/%Y %H:%M") if board.last_receipt else self.tr("chưa có")
        self.exchange.setText(self.tr("Gửi báo cáo gần nhất: {0}\nXác nhận đã nhận gần nhất: {1}").format(last_export, last_receipt))
        self.group_panel.set_bars(Bar(f"{g.code}. {g.title}", f"{g.code}. {g.title}", g.done, g.total)
                                  for g in board.groups)
        self.period_panel.set_bars(Bar(p.label, p.short_label, p.done, p.total) for p in board.periods)
        self._show_returned(board.returned)
        self.overdue_model.set_rows(board.overdue, board.plan_year)
        self.soon_model.set_rows(board.due_soon, board.plan_year)
        self.pending_model.set_rows(board.awaiting_approval)
        self.overdue_title.setText(self.tr("<b>Quá hạn</b> ({0})").format(len(board.overdue)))
        self.soon_title.setText(self.tr("<b>Đến hạn trong 30 ngày</b> ({0})").format(len(board.due_soon)))
        self.pending_title.setText(self.tr("<b>Báo cáo chờ duyệt</b> ({0})").format(len(board.awaiting_approval)))

    def _show_returned(self, returned) -> None:
        self.returned_box.setVisible(bool(returned))
        if not returned:
            return
        first = returned[0]
        title = self._titles.get(first.plan_id, "")
        reason = first.reason or self.tr("(không ghi lý do chung)")
        text = self.tr("Báo cáo kỳ {0} đã bị trả lại: {1}").format(first.period_label, reason)
        if title:
            text += "\n" + self.tr("Kế hoạch: {0}").format(title)
        if first.target_comments:
            text += "\n" + self.tr("Có ý kiến ở {0} mục tiêu; mở báo cáo để xem và sửa.").format(first.target_comments)
        if len(returned) > 1:
            text += "\n" + self.tr("Còn {0} báo cáo khác bị trả lại (mục Báo cáo).").format(len(returned) - 1)
        self.returned_text.setText(text)
        self.returned_button.setProperty("reportId", first.id)

    def _open_returned(self) -> None:
        rid = self.returned_button.property("reportId")
        if rid is not None:
            self.openReport.emit(int(rid))

    def _open_target(self, model: TargetStatusModel, index) -> None:
        ts = model.row(index.row())
        today = self.today or date.today()
        year = self.board.plan_year if self.board else today.year
        period = ReportingPeriod.containing("month", today if today.year == year else date(year, 12, 31))
        self.openTarget.emit(ts.plan_id, ts.latest_period or period.key, ts.target.code)
