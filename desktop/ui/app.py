"""Application start-up and the lock/unlock cycle.

States: first-run wizard → login → main window → (lock: Ctrl+L, idle timeout) → login.
Locking hides the main window at once, stops delivering operation results, cancels what can be
cancelled and waits (without blocking the GUI) until no operation still runs; only then it
destroys the main window and every page (no user data left in widgets), closes every database
connection and wipes the key. One instance per data folder.
"""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QEvent, QLibraryInfo, QLocale, QObject, QTimer, QTranslator, Signal
from PySide6.QtWidgets import QApplication

from desktop import APP_ID, APP_NAME, ORG_NAME
from desktop.models.fsutil import InstanceLock, InstanceLockedError
from desktop.models.vault import AppSession, Vault
from desktop.ui import ops
from desktop.ui.messages import MessageBox

log = logging.getLogger(__name__)

_INPUT_EVENTS = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                 QEvent.Type.Wheel, QEvent.Type.TouchBegin}


class IdleWatcher(QObject):
    """Emits `idle` after `minutes` without keyboard or mouse input anywhere in the app."""

    idle = Signal()

    def __init__(self, minutes: float, parent=None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.idle)
        self.set_minutes(minutes)

    def set_minutes(self, minutes: float) -> None:
        self.timer.setInterval(max(1, int(minutes * 60_000)))
        self.timer.start()

    def eventFilter(self, obj, event) -> bool:
        if event.type() in _INPUT_EVENTS:
            self.timer.start()
        return False

    def stop(self) -> None:
        self.timer.stop()


class AppController(QObject):
    """Owns the vault, the current session and the top-level windows."""

    sessionChanged = Signal(object)

    def __init__(self, vault: Vault, kdf=None, parent=None):
        super().__init__(parent)
        self.vault = vault
        self.kdf = kdf
        self.session: AppSession | None = None
        self.login = None
        self.main = None
        self.wizard = None
        self.locking = False
        self.idle = IdleWatcher(10, self)
        self.idle.stop()
        self.idle.idle.connect(lambda: self.lock(self.tr("Đã tự khóa do không thao tác.")))

    def start(self) -> None:
        if self.vault.folder.is_initialised():
            self.show_login()
        else:
            from desktop.ui.wizard import FirstRunWizard

            self.wizard = FirstRunWizard(self.vault, kdf=self.kdf)
            self.wizard.created.connect(self._on_unlocked)
            self.wizard.rejected.connect(self._wizard_cancelled)
            self.wizard.show()

    def _wizard_cancelled(self) -> None:
        if self.vault.folder.is_initialised():
            self.show_login()
        else:
            QApplication.instance().quit()

    def show_login(self, message: str = "") -> None:
        from desktop.ui.login import LoginWindow

        if self.login is None:
            self.login = LoginWindow(self.vault)
            self.login.unlocked.connect(self._on_unlocked)
            self.login.damaged.connect(self._on_damaged)
        self.login.reset(message)
        self.login.show()
        self.login.raise_()
        _preload_storage_in_background()

    def _on_unlocked(self, session: AppSession) -> None:
        from desktop.ui.main_window import MainWindow

        self.session = session
        if self.login is not None:
            self.login.hide()
        self.main = MainWindow(session, self.vault, on_settings_changed=self._apply_settings)
        self.main.lockRequested.connect(lambda: self.lock(self.tr("Đã khóa phiên làm việc.")))
        self.main.destroyed.connect(lambda *_: None)
        self.main.show()
        self._apply_settings()
        app = QApplication.instance()
        app.installEventFilter(self.idle)
        self.sessionChanged.emit(session)
        if session.warnings:  # e.g. a role without a valid certificate (issue 17)
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Cảnh báo an toàn"), "\n\n".join(session.warnings),
                              QMessageBox.StandardButton.Ok, self.main)
            box.setObjectName("securityWarning")
            box.open()

    def _apply_settings(self) -> None:
        if self.session is None:
            return
        from desktop.models import settings

        self.idle.set_minutes(settings.get(self.session, "auto_lock_minutes"))

    def lock(self, message: str = "") -> None:
        if self.session is None or self.locking:
            return
        self.locking = True
        self.idle.stop()
        QApplication.instance().removeEventFilter(self.idle)
        if self.main is not None:
            self.main.hide()  # nothing to see or click while the running operations end
        # The key is wiped only when no operation can still use it (ops.Runner.shutdown).
        ops.runner().shutdown(lambda: self._finish_lock(message))

    def _finish_lock(self, message: str) -> None:
        if self.main is not None:
            self.main.deleteLater()
            self.main = None
        session, self.session = self.session, None
        if session is not None:
            session.lock()
        self.locking = False
        ops.runner().resume()
        self.sessionChanged.emit(None)
        self.show_login(message)

    def _on_damaged(self, exc) -> None:
        handle = getattr(exc, "restore_handle", None)
        if handle is None or not handle.good_backups:
            MessageBox.error(self.login, self.tr("Dữ liệu bị hỏng"), exc.user_text())
            if handle:
                handle.discard()
            return
        newest = handle.good_backups[0]
        ask = self.tr("{0}\n\nKhôi phục từ bản sao lưu lúc {1}? Tệp hỏng sẽ được giữ lại trong thư mục damaged/.").format(
            exc.message, newest.created.strftime("%d/%m/%Y %H:%M"))
        if not MessageBox.question(self.login, self.tr("Dữ liệu bị hỏng"), ask):
            handle.discard()
            return

        def restored(aside) -> None:
            MessageBox.info(self.login, self.tr("Đã khôi phục"),
                            self.tr("Đã khôi phục dữ liệu. Tệp hỏng được giữ tại:\n{0}\nHãy đăng nhập lại.").format(aside))

        ops.Op(self.login, lambda: handle.restore(newest), changes=ops.Changes.STORAGE,
               error_title=self.tr("Không khôi phục được")).success(restored).finally_(handle.discard) \
            .with_progress(self.tr("Đang khôi phục dữ liệu từ bản sao lưu…")).run()

    def shutdown(self) -> None:
        if self.session is not None:
            ops.runner().delivering = False
            if not ops.runner().wait(30_000):  # exit: no GUI left to serve, blocking is fine
                log.error("an operation was still running at exit; locking anyway")
            self.session.lock()
            self.session = None


def _preload_storage_in_background() -> None:
    """Load SQLAlchemy and the schema while the user types the password (daemon thread)."""
    import threading

    from desktop.models import vault as vault_module

    threading.Thread(target=vault_module.preload, name="preload-storage", daemon=True).start()


def install_translations(app: QApplication) -> None:
    """Vietnamese for Qt's own texts (dialog buttons, wizard, file dialog, context menus).

    Qt ships no qtbase_vi catalogue, so the app carries its own (resources/i18n/qt_vi.ts,
    compiled to qt_vi.qm with pyside6-lrelease); a system catalogue is used if one exists.
    """
    from desktop.resources import resource_path

    QLocale.setDefault(QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam))
    ours = QTranslator(app)
    if ours.load(str(resource_path("i18n", "qt_vi.qm"))):
        app.installTranslator(ours)
    system = QTranslator(app)
    if system.load("qtbase_vi", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(system)


def make_app(argv=None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    install_translations(app)
    from PySide6.QtGui import QIcon

    from desktop.resources import resource_path

    icon = resource_path("icons", "vks-cds.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def run_gui(data_dir: str | None) -> int:
    from desktop.logsetup import setup_logging
    from desktop.paths import resolve_data_dir

    app = make_app()
    root = resolve_data_dir(data_dir)
    setup_logging(root)
    lock = InstanceLock(root)
    try:
        lock.acquire()
    except InstanceLockedError:
        MessageBox.error(None, APP_NAME, QApplication.translate(
            "App", "VKS CĐS đang chạy với thư mục dữ liệu này ({0}).\nHãy dùng cửa sổ đang mở; không thể mở hai lần.").format(root))
        return 5
    except OSError as exc:
        MessageBox.error(None, APP_NAME, QApplication.translate(
            "App", "Không mở được thư mục dữ liệu {0}: {1}").format(root, exc.strerror or exc))
        return 1
    controller = AppController(Vault(root))
    app.aboutToQuit.connect(controller.shutdown)
    controller.start()
    try:
        return app.exec()
    finally:
        controller.shutdown()
        lock.release()
