"""The login window: user name and password, or the recovery code. No 'remember me', ever.

The unlock runs as an operation (desktop/ui/ops.py) off the GUI thread: Argon2id alone takes
~0.3 s, and the first unlock after an upgrade writes a full backup and migrates the database
(minutes at a province). Meanwhile the window repaints, its inputs are disabled, a status line
says which step runs (with the backup's progress), and closing it is refused: a migration is
never cut off half-way (AppController.shutdown waits for it when the application must exit).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from desktop import APP_NAME, __version__
from desktop.models.domain.errors import AppError, LoginThrottled, RollbackDetected, VaultDamaged
from desktop.ui import theme

if TYPE_CHECKING:  # the window shows before the vault (key slots, Argon2, SQLAlchemy) is imported
    from desktop.models.storage.vault import AppSession, Vault


_CENTRED = "qproperty-alignment: AlignCenter;"
_MIGRATING = ("migrate-backup", "migrate")  # vault.PHASE_MIGRATE_BACKUP, PHASE_MIGRATE (not imported here)


class _UnlockJob:
    """One unlock on the worker: what it opened, kept where exit can find it (AppController.shutdown
    locks a session nobody will receive)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.session: AppSession | None = None
        self.abandoned = False

    def opened(self, session: AppSession) -> bool:
        """The worker's result; False: exit gave it up, the worker locks it itself."""
        with self.lock:
            if self.abandoned:
                return False
            self.session = session
            return True

    def take(self) -> AppSession | None:
        with self.lock:
            session, self.session = self.session, None
            return session

    def abandon(self) -> AppSession | None:
        with self.lock:
            self.abandoned = True
            session, self.session = self.session, None
            return session


class LoginWindow(QWidget):
    """Emits `unlocked(AppSession)` on success, `damaged(VaultDamaged)` when the DB is unreadable."""

    unlocked = Signal(object)
    damaged = Signal(object)

    def __init__(self, vault: Vault, parent=None):
        super().__init__(parent)
        self.vault = vault
        self.setObjectName("LoginWindow")
        self.setWindowTitle(self.tr("{0} — Đăng nhập").format(APP_NAME))
        self.setMinimumSize(520, 420)

        card = QFrame(self)
        card.setObjectName("loginCard")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        logo = QLabel()
        from desktop.resources import resource_path

        icon = resource_path("icons", "vks-cds.png")
        # No Qt.* enum before the window shows: the first one builds the whole Qt namespace's
        # enums (about 20 ms, an eighth of a bare PySide6 start). QIcon scales smoothly keeping
        # the aspect ratio; the labels are aligned through their style sheet.
        if icon.exists():
            from PySide6.QtGui import QIcon

            logo.setPixmap(QIcon(str(icon)).pixmap(72, 72))
        logo.setStyleSheet(_CENTRED)
        title = QLabel(self.tr("VKS CĐS"))
        tf = QFont(title.font())
        tf.setPointSize(tf.pointSize() + 10)
        tf.setBold(True)
        title.setFont(tf)
        title.setStyleSheet(_CENTRED)
        subtitle = QLabel(self.tr("Theo dõi, báo cáo tiến độ chuyển đổi số\nViện kiểm sát nhân dân"))
        subtitle.setStyleSheet(_CENTRED)

        self.stack = QStackedWidget()
        # --- password page
        pw_page = QWidget()
        form = QFormLayout(pw_page)
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setPlaceholderText(self.tr("tên đăng nhập"))
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(self.tr("mật khẩu"))
        form.addRow(self.tr("Tên đăng nhập:"), self.username)
        form.addRow(self.tr("Mật khẩu:"), self.password)
        # --- recovery page
        rc_page = QWidget()
        rform = QFormLayout(rc_page)
        self.recovery = QLineEdit()
        self.recovery.setObjectName("recoveryCode")
        self.recovery.setPlaceholderText("XXXXX-XXXXX-XXXXX-XXXXX-XXXXX")
        rform.addRow(self.tr("Mã khôi phục:"), self.recovery)
        hint = QLabel(self.tr("Mã khôi phục in trên phiếu cất trong két của đơn vị. Sau khi mở, "
                              "hãy đặt lại mật khẩu cho tài khoản quản trị."))
        hint.setWordWrap(True)
        rform.addRow(hint)
        self.stack.addWidget(pw_page)
        self.stack.addWidget(rc_page)

        self.error = QLabel()
        self.error.setObjectName("loginError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_TEXT)
        # While unlocking: which step runs (the migration after an upgrade can take minutes)
        self.status = QLabel()
        self.status.setObjectName("loginStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(theme.BUSY_TEXT)
        self.status.hide()
        self.progress_bar = None  # a QProgressBar, built at the first unlock (not before the window shows)
        self.login_button = QPushButton(self.tr("Đăng nhập"))
        self.login_button.setObjectName("loginButton")
        self.login_button.setDefault(True)
        self.switch_button = QPushButton(self.tr("Quên mật khẩu? Dùng mã khôi phục"))
        self.switch_button.setFlat(True)
        self.switch_button.setObjectName("switchRecovery")

        buttons = QHBoxLayout()
        buttons.addWidget(self.switch_button)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)

        inner = QVBoxLayout(card)
        inner.addWidget(logo)
        inner.addWidget(title)
        inner.addWidget(subtitle)
        inner.addSpacing(12)
        inner.addWidget(self.stack)
        inner.addWidget(self.error)
        inner.addWidget(self.status)
        self._card_layout = inner
        inner.addLayout(buttons)
        folder = QLabel(self.tr("Thư mục dữ liệu: {0}").format(vault.folder.root))
        folder.setObjectName("dataFolder")
        folder.setWordWrap(True)
        folder.setStyleSheet(theme.SMALL_MUTED)
        inner.addWidget(folder)

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        version = QLabel(self.tr("Phiên bản {0}").format(__version__))
        version.setStyleSheet(theme.FAINT_TEXT + " qproperty-alignment: 'AlignRight | AlignVCenter';")
        self.help_button = QPushButton(self.tr("Hướng dẫn sử dụng (F1)"), objectName="loginHelp")
        self.help_button.setFlat(True)
        self.help_button.setAutoDefault(False)
        self.help_button.clicked.connect(self.show_help)
        QShortcut(QKeySequence("F1"), self, self.show_help)
        bottom = QHBoxLayout()
        bottom.addWidget(self.help_button)
        bottom.addStretch(1)
        bottom.addWidget(version)
        outer.addLayout(bottom)

        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick)
        self._wait_left = 0
        self._job: _UnlockJob | None = None  # the unlock running on the worker
        self._migrating = False

        self.login_button.clicked.connect(self.attempt)
        self.password.returnPressed.connect(self.attempt)
        self.username.returnPressed.connect(self.password.setFocus)
        self.recovery.returnPressed.connect(self.attempt)
        self.switch_button.clicked.connect(self.toggle_recovery)
        self.username.setFocus()

    def show_help(self):
        """The user guide (no user data in it, so it is offered before login), at its login section."""
        from desktop.ui.help import show_help

        return show_help(self, "Đăng nhập")

    @property
    def recovery_mode(self) -> bool:
        return self.stack.currentIndex() == 1

    def toggle_recovery(self) -> None:
        to_recovery = not self.recovery_mode
        self.stack.setCurrentIndex(1 if to_recovery else 0)
        self.switch_button.setText(self.tr("Quay lại đăng nhập bằng mật khẩu") if to_recovery
                                   else self.tr("Quên mật khẩu? Dùng mã khôi phục"))
        self.error.clear()

    def reset(self, message: str = "") -> None:
        """Back to a blank form (after lock): the password is never kept."""
        self.password.clear()
        self.recovery.clear()
        self.error.setText(message)
        if self.recovery_mode:
            self.toggle_recovery()
            self.error.setText(message)
        (self.password if self.username.text() else self.username).setFocus()

    @property
    def unlocking(self) -> bool:
        """An unlock runs on the worker (the inputs are disabled, closing is refused)."""
        return self._job is not None

    def attempt(self) -> None:
        if self._wait_left > 0 or self.unlocking:  # Enter pressed twice starts one unlock
            return
        self.error.clear()
        self._start_unlock(None)

    def _start_unlock(self, accept_rollback: str | None) -> None:
        from desktop.ui import ops  # not at import: not before the window shows

        if not ops.runner().delivering:  # the application is exiting: the op would be refused
            return
        recovery = self.recovery_mode
        username = self.username.text()
        secret = self.recovery.text() if recovery else self.password.text()
        vault = self.vault  # a DeferredVault imports the storage stack on the worker, at first use
        job = self._job = _UnlockJob()
        self._migrating = False
        self._set_busy(True)

        def work(ctx) -> AppSession:
            last: list[tuple[str, int]] = []

            def progress(done: int, total: int, phase: str) -> None:
                # per mille (byte counts do not fit a Qt int), sent only when it changes
                step = (phase, int(done * 1000 / total) if total > 0 else -1)
                if not last or last[0] != step:
                    last[:] = [step]
                    ctx.progress(max(step[1], 0), 1000 if total > 0 else 0, phase)

            if recovery:
                session = vault.unlock_with_recovery(secret, accept_rollback=accept_rollback, progress=progress)
            else:
                session = vault.unlock(username, secret, accept_rollback=accept_rollback, progress=progress)
            if not job.opened(session):
                session.lock()  # the application exited meanwhile: nobody will use it
            return session

        # finish_on_lock: never cancelled; exit waits for it (a migration must not stop half-way)
        op = ops.Op(self, work, with_context=True, finish_on_lock=True)
        op.signals.progressed.connect(self._show_progress)
        op.success(lambda _session: self._unlock_done(job)).failure(
            lambda exc: self._unlock_failed(job, exc, accept_rollback)).run()

    def _finish_job(self, job: _UnlockJob) -> bool:
        """The unlock ended: back to an idle window. False when exit already gave it up."""
        if self._job is not job or job.abandoned:
            return False
        self._job = None
        self._set_busy(False)
        self.error.clear()  # a refusal to close said while it ran
        return True

    def _unlock_done(self, job: _UnlockJob) -> None:
        session = job.take()
        if not self._finish_job(job) or session is None:
            return
        self.password.clear()
        self.recovery.clear()
        self.unlocked.emit(session)

    def _unlock_failed(self, job: _UnlockJob, exc: BaseException, accept_rollback: str | None) -> None:
        if not self._finish_job(job):
            return
        if accept_rollback is None and isinstance(exc, RollbackDetected):
            note = self.ask_rollback_note(exc) if exc.can_accept else None
            if note is not None:
                self._start_unlock(note)
                return
        if accept_rollback is not None or isinstance(exc, RollbackDetected):
            # the administrator's note was asked for (or refused): every error is shown here
            self.password.clear()
            self.recovery.clear()
            if isinstance(exc, AppError):
                short = isinstance(exc, RollbackDetected)  # the details are for the administrator's dialog
                self.error.setText(f"{exc.message}\n{exc.hint}" if short else exc.user_text())
            else:
                self._unexpected(exc)
            self._focus_secret()
            return
        if isinstance(exc, VaultDamaged):
            self.password.clear()
            self.damaged.emit(exc)
        elif isinstance(exc, LoginThrottled):
            self._start_wait(exc.details.get("wait", 1))
            self.error.setText(exc.message)
        elif isinstance(exc, AppError):
            self.password.clear()
            self.recovery.clear()
            self.error.setText(exc.user_text())
            wait = exc.details.get("wait", 0)
            if wait:
                self._start_wait(wait)
        else:
            self._unexpected(exc)
        self._focus_secret()

    def _unexpected(self, exc: BaseException) -> None:
        """Not an AppError (a file the program cannot read, a bug): a Vietnamese message, never a
        traceback; damage goes to the recovery dialog."""
        from desktop.ui.messages import show_error

        self.password.clear()
        self.recovery.clear()
        show_error(self, exc, self.tr("Không đăng nhập được"))

    def _focus_secret(self) -> None:
        if self.isVisible():
            (self.recovery if self.recovery_mode else self.password).setFocus()

    # --- while unlocking ----------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        for w in (self.username, self.password, self.recovery, self.switch_button):
            w.setEnabled(not busy)
        self.login_button.setEnabled(not busy and self._wait_left <= 0)
        if busy:
            from PySide6.QtCore import Qt  # not at import: see the logo above

            self.setCursor(Qt.CursorShape.BusyCursor)  # the window still answers: not the wait cursor
            self._show_progress(0, 0, "open")
        else:
            self.unsetCursor()
            self.status.hide()
            self.status.clear()
            if self.progress_bar is not None:
                self.progress_bar.hide()

    def _phase_text(self, phase: str) -> str:
        upgrading = self.tr("Đang nâng cấp dữ liệu lên phiên bản mới: ")
        if phase == "migrate-backup":
            return upgrading + self.tr("sao lưu trước khi nâng cấp…")
        if phase == "migrate":
            return upgrading + self.tr("đang chuyển đổi dữ liệu (có thể mất vài phút, không tắt máy)…")
        if phase == "backup":
            return self.tr("Đang sao lưu tự động (mỗi ngày một lần)…")
        if self._migrating:
            return self.tr("Đã nâng cấp dữ liệu. Đang mở dữ liệu…")
        return self.tr("Đang mở dữ liệu…")

    def _show_progress(self, done: int, total: int, phase: str) -> None:
        """A step of the unlock (from the worker, on the GUI thread); total 0: no measure."""
        if self._job is None:
            return
        self._migrating = self._migrating or phase in _MIGRATING
        self.status.setText(self._phase_text(phase))
        self.status.show()
        if self.progress_bar is None:
            from PySide6.QtWidgets import QProgressBar

            self.progress_bar = QProgressBar()
            self.progress_bar.setObjectName("loginProgress")
            self.progress_bar.setTextVisible(False)
            self.progress_bar.setMaximumHeight(10)
            self._card_layout.insertWidget(self._card_layout.indexOf(self.status) + 1, self.progress_bar)
        self.progress_bar.setRange(0, total)  # 0..0: a busy bar that moves while the worker runs
        self.progress_bar.setValue(min(done, total))
        self.progress_bar.show()

    def closeEvent(self, event) -> None:
        """Refused while unlocking: the unlock may be migrating the database, which must finish."""
        if self.unlocking:
            event.ignore()
            self.error.setText(self.tr("Đang nâng cấp dữ liệu, vui lòng đợi… Cửa sổ sẽ đóng được khi "
                                       "nâng cấp xong; không tắt máy.") if self._migrating else
                               self.tr("Đang mở dữ liệu, vui lòng đợi…"))
            return
        super().closeEvent(event)

    def abandon_unlock(self) -> AppSession | None:
        """Exit while unlocking (after the worker finished): the session it opened, which nobody
        will receive now (the caller locks it), or None."""
        job, self._job = self._job, None
        return job.abandon() if job is not None else None

    def ask_rollback_note(self, exc: RollbackDetected) -> str | None:
        """An administrator decides whether to open data older than seen before; the reason is
        recorded (signed) in the audit log. None: do not open."""
        from PySide6.QtWidgets import QInputDialog

        text, ok = QInputDialog.getMultiLineText(
            self, self.tr("Dữ liệu cũ hơn lần mở trước"),
            "\n".join([*exc.problems, "",
                       self.tr("Nếu đây là bản khôi phục có chủ đích, hãy ghi lý do để tiếp tục (lý do được ghi vào nhật ký)."),
                       self.tr("Nếu không, hãy bấm Hủy và báo cho bộ phận CNTT.")]))
        return text.strip() if ok and text.strip() else None

    def _start_wait(self, seconds: float) -> None:
        self._wait_left = int(seconds + 0.999)
        self.login_button.setEnabled(False)
        self.login_button.setText(self.tr("Đợi {0} giây").format(self._wait_left))
        from PySide6.QtCore import Qt  # not at import: see the logo above

        # A coarse timer may fire up to 5% early: the button would come back before the vault's
        # throttle allows the next try, which then fails with "wait 1 second" again.
        self._countdown.setTimerType(Qt.TimerType.PreciseTimer)
        self._countdown.start()

    def _tick(self) -> None:
        self._wait_left -= 1
        if self._wait_left <= 0:
            self._countdown.stop()
            self.login_button.setEnabled(True)
            self.login_button.setText(self.tr("Đăng nhập"))
        else:
            self.login_button.setText(self.tr("Đợi {0} giây").format(self._wait_left))


__all__ = ["LoginWindow"]
