"""Showing errors to the user: a Vietnamese message and what to do, never a traceback.

`MessageBox.set_next_answer()` pre-answers the next question in tests (like KeePassXC's
MessageBox::setNextAnswer), so no modal loop blocks a test.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.models.errors import AppError

log = logging.getLogger(__name__)


class MessageBox:
    _next_answers: list = []
    shown: list[tuple[str, str]] = []  # (title, text) of every message shown, for tests

    @classmethod
    def set_next_answer(cls, answer) -> None:
        cls._next_answers.append(answer)

    @classmethod
    def _show(cls, parent, icon, title, text, buttons, default):
        cls.shown.append((title, text))
        if cls._next_answers:
            return cls._next_answers.pop(0)
        box = QMessageBox(icon, title, text, buttons, parent)
        box.setDefaultButton(default)
        return box.exec()

    @classmethod
    def error(cls, parent: QWidget | None, title: str, text: str):
        return cls._show(parent, QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                         QMessageBox.StandardButton.Ok)

    @classmethod
    def info(cls, parent: QWidget | None, title: str, text: str):
        return cls._show(parent, QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok,
                         QMessageBox.StandardButton.Ok)

    @classmethod
    def warning(cls, parent: QWidget | None, title: str, text: str):
        return cls._show(parent, QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                         QMessageBox.StandardButton.Ok)

    @classmethod
    def question(cls, parent: QWidget | None, title: str, text: str) -> bool:
        yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
        return cls._show(parent, QMessageBox.Icon.Question, title, text, yes | no, no) == yes


def show_error(parent: QWidget | None, exc: BaseException, title: str | None = None) -> None:
    """Show an exception as the user should see it."""
    from PySide6.QtCore import QCoreApplication

    title = title or QCoreApplication.translate("Messages", "Không thực hiện được")
    if isinstance(exc, AppError):
        text = exc.user_text()
    elif isinstance(exc, OSError):
        text = QCoreApplication.translate(
            "Messages", "Lỗi đọc/ghi tệp: {0}.\nKiểm tra quyền truy cập và dung lượng ổ đĩa.").format(exc.strerror or exc)
    else:
        log.error("unexpected error shown to user: %s", type(exc).__name__, exc_info=exc)
        text = QCoreApplication.translate(
            "Messages", "Đã xảy ra lỗi không mong đợi. Dữ liệu đã lưu không bị ảnh hưởng.\n"
                        "Chi tiết kỹ thuật đã được ghi vào nhật ký (thư mục logs).")
    MessageBox.error(parent, title, text)
