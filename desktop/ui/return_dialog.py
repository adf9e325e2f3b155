"""The one dialog for returning a unit's report: a general reason and one comment per target.

Used by the unit report dialog (Tổng hợp đơn vị), which the Trao đổi page opens too. "Gửi ý kiến
trả lại" stays disabled until there is a reason (general or for at least one target), the rule
`exchange.return_report` enforces."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QPlainTextEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout)

from desktop.models.services import exchange
from desktop.models.domain.plan import ReportingPeriod
from desktop.ui import theme


class ReturnDialog(QDialog):
    """General reason plus one comment per target for returning a unit's report."""

    def __init__(self, report: exchange.ReceivedReport, parent=None, plan_title: str = "",
                 target_names: dict[str, str] | None = None):
        super().__init__(parent)
        names = target_names or {}
        self.setWindowTitle(self.tr("Trả lại báo cáo của {0}").format(report.unit_name))
        self.resize(760, 520)
        lay = QVBoxLayout(self)
        head = QLabel(self.tr("<b>{0}</b> — {1}, {2}").format(
            report.unit_name, plan_title or self.tr("kế hoạch"), ReportingPeriod.parse(report.period_key).label))
        head.setTextFormat(Qt.TextFormat.RichText)
        head.setWordWrap(True)
        lay.addWidget(head)
        lay.addWidget(QLabel(self.tr("Lý do trả lại (ý kiến chung):")))
        self.general = QPlainTextEdit(objectName="returnGeneral")
        self.general.setMaximumHeight(90)
        lay.addWidget(self.general)
        lay.addWidget(QLabel(self.tr("Ý kiến theo từng mục tiêu (để trống nếu không có):")))
        self.table = QTableWidget(len(report.target_codes), 2, objectName="returnTargets")
        self.table.setHorizontalHeaderLabels([self.tr("Mục tiêu"), self.tr("Ý kiến")])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 300)
        self.table.verticalHeader().setVisible(False)
        for i, code in enumerate(report.target_codes):
            item = QTableWidgetItem(f"{code} · {names[code]}" if names.get(code) else code)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setToolTip(names.get(code, code))
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(i, 0, item)
            self.table.setItem(i, 1, QTableWidgetItem(""))
        lay.addWidget(self.table)
        self.hint = QLabel(objectName="returnHint")
        self.hint.setStyleSheet(theme.MUTED_TEXT)
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Gửi ý kiến trả lại"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.general.textChanged.connect(self._check)
        self.table.itemChanged.connect(lambda _item: self._check())
        self._check()

    def comments(self) -> tuple[str, dict[str, str]]:
        per = {}
        for i in range(self.table.rowCount()):
            text = (self.table.item(i, 1).text() if self.table.item(i, 1) else "").strip()
            if text:
                per[self.table.item(i, 0).data(Qt.ItemDataRole.UserRole)] = text
        return self.general.toPlainText().strip(), per

    def _check(self) -> None:
        general, per = self.comments()
        ok = bool(general or per)
        self.ok_button.setEnabled(ok)
        self.hint.setText("" if ok else self.tr("Cần ghi lý do trả lại: ý kiến chung hoặc ý kiến cho ít nhất một "
                                                "mục tiêu, để đơn vị biết phải sửa gì."))
