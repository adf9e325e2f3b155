"""Dialogs of the entry form's workflow: the unit head's "send back" with its reason."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout


class SendBackDialog(QDialog):
    """The unit head's reason for sending a report back to the officer."""

    def __init__(self, period_label: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Trả lại để sửa"))
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(self.tr("Báo cáo {0} sẽ được trả lại cho cán bộ nhập liệu. "
                                     "Ghi rõ cần sửa gì:").format(period_label), wordWrap=True))
        self.comment = QPlainTextEdit()
        self.comment.setTabChangesFocus(True)
        self.comment.setPlaceholderText(self.tr("Ví dụ: Mục TH-2.2-02 thiếu minh chứng; kiểm tra lại mẫu số."))
        lay.addWidget(self.comment)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Trả lại"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.comment.textChanged.connect(self._update)
        self._update()
        self.resize(460, 240)

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.comment.toPlainText().strip()))

    def text(self) -> str:
        return self.comment.toPlainText().strip()
