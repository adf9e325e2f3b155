"""Showing errors to the user: a Vietnamese message and what to do, never a traceback.

`MessageBox.set_next_answer()` pre-answers the next question in tests (like KeePassXC's
MessageBox::setNextAnswer), so no modal loop blocks a test.
"""

from __future__ import annotations

import logging

from typing import TYPE_CHECKING

from desktop.models.domain.errors import AppError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)


def _qmb():
    """QMessageBox, imported when a message is first shown: not before the login window (the
    class and its enums cost a few milliseconds of every start)."""
    from PySide6.QtWidgets import QMessageBox

    return QMessageBox


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
        box = _qmb()(icon, title, text, buttons, parent)
        box.setDefaultButton(default)
        return box.exec()

    @classmethod
    def error(cls, parent: QWidget | None, title: str, text: str):
        mb = _qmb()
        return cls._show(parent, mb.Icon.Critical, title, text, mb.StandardButton.Ok, mb.StandardButton.Ok)

    @classmethod
    def info(cls, parent: QWidget | None, title: str, text: str):
        mb = _qmb()
        return cls._show(parent, mb.Icon.Information, title, text, mb.StandardButton.Ok, mb.StandardButton.Ok)

    @classmethod
    def warning(cls, parent: QWidget | None, title: str, text: str):
        mb = _qmb()
        return cls._show(parent, mb.Icon.Warning, title, text, mb.StandardButton.Ok, mb.StandardButton.Ok)

    @classmethod
    def question(cls, parent: QWidget | None, title: str, text: str) -> bool:
        mb = _qmb()
        yes, no = mb.StandardButton.Yes, mb.StandardButton.No
        return cls._show(parent, mb.Icon.Question, title, text, yes | no, no) == yes


_damage_handler = None


def set_damage_handler(handler) -> None:
    """Where damage met anywhere goes (the app controller's recovery dialog); None to unset."""
    global _damage_handler
    _damage_handler = handler


def is_damage(exc: BaseException | None) -> bool:
    """A damaged database page behind `exc` (the typed error, or a raw SQLCipher one)?"""
    import sys

    from desktop.models.domain.errors import DamagedDatabase

    seen = exc
    while seen is not None:
        if isinstance(seen, DamagedDatabase):
            return True
        seen = seen.__cause__ or seen.__context__
    if "sqlcipher3" in sys.modules:  # raw connections (checks, exports) raise the driver's error
        from desktop.models.storage.vault import is_damage_error

        return is_damage_error(exc)
    return False


def route_damage(exc: BaseException) -> bool:
    """Send damage to the recovery dialog; False when `exc` is not damage or nobody listens."""
    if _damage_handler is None or not is_damage(exc):
        return False
    _damage_handler(exc)
    return True


def show_error(parent: QWidget | None, exc: BaseException, title: str | None = None) -> None:
    """Show an exception as the user should see it (damage goes to the recovery dialog)."""
    from PySide6.QtCore import QCoreApplication

    if route_damage(exc):
        return

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
