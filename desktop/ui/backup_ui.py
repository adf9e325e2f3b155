"""Backup and restore with progress: a QProgressDialog over a background task.

The services take `progress(done, total, phase)` and `cancel() -> bool` callables (see
desktop/models/storage/backups.py); this module turns them into a modal progress dialog with a
"Hủy" button, the work running as an operation of desktop/ui/ops.py. Cancel is honoured
by the service only before anything in the data folder changes.

`restore_flow` is the one restore conversation, used by the backup page and by the recovery
dialog that appears when damage is found (at unlock, in the background check, or at any read).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from desktop.models.storage.backups import BackupCancelled, missing_message
from desktop.ui.messages import MessageBox, show_error
from desktop.ui import ops

PHASES = {
    "db": "Đang sao chép cơ sở dữ liệu…",
    "blobs": "Đang sao chép tệp minh chứng…",
    "verify": "Đang kiểm tra từng tệp minh chứng…",
    "copy": "Đang chép minh chứng vào kho…",
}


def _t(text: str) -> str:
    return QCoreApplication.translate("Backup", text)


class _Relay(QObject):
    progressed = Signal(int, int, str)


class ProgressRunner(QObject):
    """Run `work(progress, cancel)` in the background behind a modal progress dialog."""

    def __init__(self, parent: QWidget | None, title: str, cancellable: bool = True):
        super().__init__(parent)
        self.dialog = QProgressDialog(parent)
        self.dialog.setObjectName("backupProgress")
        self.dialog.setWindowTitle(title)
        self.dialog.setLabelText(title)
        self.dialog.setRange(0, 1000)  # per mille: byte counts do not fit a Qt int
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        if cancellable:
            self.dialog.setCancelButtonText(_t("Hủy"))
        else:
            self.dialog.setCancelButton(None)
        self._cancel = threading.Event()
        self.dialog.canceled.connect(self._cancel.set)
        self._relay = _Relay()
        self._relay.progressed.connect(self._show)
        self.last: tuple[int, int, str] | None = None

    def _show(self, done: int, total: int, phase: str) -> None:
        self.last = (done, total, phase)
        self.dialog.setLabelText(_t(PHASES.get(phase, phase)))
        self.dialog.setValue(int(done * 1000 / total) if total else 0)

    def progress(self, done: int, total: int, phase: str) -> None:  # any thread
        self._relay.progressed.emit(int(min(done, 2**62)), int(min(total, 2**62)), phase)

    def cancelled(self) -> bool:  # any thread
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def start(self, work: Callable[[Callable, Callable], Any], on_done: Callable[[Any], None],
              on_failed: Callable[[BaseException], None]) -> None:
        self.dialog.show()

        def finish(callback, value):
            self.dialog.reset()
            self.dialog.hide()
            callback(value)

        ops.run(self.parent(), lambda: work(self.progress, self.cancelled),
                lambda r: finish(on_done, r), on_failure=lambda e: finish(on_failed, e))


def restore_flow(parent: QWidget, prepare: Callable, apply: Callable, when: str,
                 on_finished: Callable[[Any], None] | None = None, intro: str = "") -> None:
    """Ask, check the backup with progress, ask again if evidence is missing, then restore.

    `prepare(progress, cancel) -> RestorePlan`; `apply(plan, progress) -> RestoreResult`;
    `when` names the backup for the user ("lúc 02/12/2026 09:15")."""
    ask = _t("Khôi phục dữ liệu về bản sao lưu {0}?\n\nDữ liệu hiện tại được giữ lại trong thư mục damaged/. "
             "Phiên làm việc sẽ đóng; hãy đăng nhập lại sau khi khôi phục.").format(when)
    if intro:
        ask = intro + "\n\n" + ask
    if not MessageBox.question(parent, _t("Khôi phục dữ liệu"), ask):
        return

    def failed(exc):
        if isinstance(exc, BackupCancelled):
            MessageBox.info(parent, _t("Khôi phục dữ liệu"), _t("Đã hủy. Dữ liệu không thay đổi."))
        else:
            show_error(parent, exc, _t("Không khôi phục được"))

    def checked(plan):
        if plan.missing:
            text = _t("Bản sao lưu thiếu {0} tệp minh chứng (không có hoặc hỏng):\n{1}\n\n"
                      "Vẫn khôi phục? Các tệp này sẽ báo thiếu khi mở.").format(len(plan.missing),
                                                                               missing_message(plan.missing))
            if not MessageBox.question(parent, _t("Thiếu minh chứng"), text):
                return
        runner2 = ProgressRunner(parent, _t("Đang khôi phục…"), cancellable=False)
        runner2.start(lambda progress, _cancel: apply(plan, progress), done, failed)

    def done(result):
        text = _t("Đã khôi phục dữ liệu từ {0}.\nĐã kiểm tra {1} tệp minh chứng, chép {2} tệp.\n"
                  "Tệp dữ liệu cũ được giữ tại:\n{3}").format(result.backup.name, result.blobs_checked,
                                                             result.blobs_copied, result.aside)
        if result.missing:
            text += _t("\n\nTHIẾU {0} tệp minh chứng:\n{1}").format(len(result.missing), missing_message(result.missing))
        MessageBox.info(parent, _t("Đã khôi phục"), text)
        if on_finished:
            on_finished(result)

    runner = ProgressRunner(parent, _t("Đang kiểm tra bản sao lưu…"))
    runner.start(prepare, checked, failed)
