"""The login window: user name and password, or the recovery code. No 'remember me', ever."""

from __future__ import annotations

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

    def attempt(self) -> None:
        if self._wait_left > 0:
            return
        self.error.clear()
        self.login_button.setEnabled(False)
        from PySide6.QtCore import Qt  # not at import: see the logo above

        self.setCursor(Qt.CursorShape.WaitCursor)
        try:
            session = self._unlock(None)
        except RollbackDetected as exc:
            note = self.ask_rollback_note(exc) if exc.can_accept else None
            try:
                if note is None:
                    raise
                session = self._unlock(note)
            except AppError as again:
                self.password.clear()
                self.recovery.clear()
                short = isinstance(again, RollbackDetected)  # the details are for the administrator's dialog
                self.error.setText(f"{again.message}\n{again.hint}" if short else again.user_text())
                return
        except VaultDamaged as exc:
            self.password.clear()
            self.damaged.emit(exc)
            return
        except LoginThrottled as exc:
            self._start_wait(exc.details.get("wait", 1))
            self.error.setText(exc.message)
            return
        except AppError as exc:
            self.password.clear()
            self.recovery.clear()
            self.error.setText(exc.user_text())
            wait = exc.details.get("wait", 0)
            if wait:
                self._start_wait(wait)
            return
        finally:
            self.unsetCursor()
            if self._wait_left <= 0:
                self.login_button.setEnabled(True)
        self.password.clear()
        self.recovery.clear()
        self.unlocked.emit(session)

    def _unlock(self, accept_rollback: str | None) -> AppSession:
        if self.recovery_mode:
            return self.vault.unlock_with_recovery(self.recovery.text(), accept_rollback=accept_rollback)
        return self.vault.unlock(self.username.text(), self.password.text(), accept_rollback=accept_rollback)

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
