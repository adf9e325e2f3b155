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
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLocale, QObject, QTimer, QTranslator, Signal
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop import APP_ID, APP_NAME, ORG_NAME
from desktop.models.storage.datafolder import DataFolder
from desktop.fsutil import InstanceLock, InstanceLockedError
from desktop.ui import theme
from desktop.ui.messages import MessageBox, is_damage, set_damage_handler

if TYPE_CHECKING:
    from desktop.models.storage.vault import AppSession, Vault

log = logging.getLogger(__name__)

# QEvent, QKeySequence, QDialog and QGuiApplication are first used once a session is open: not
# imported before the login window (importing a PySide6 class builds its Python enums: QEvent.Type
# alone has 179 members).
_input_events: frozenset | None = None
_key_press = None


def _event_types() -> tuple[frozenset, object]:
    """(the input events that restart the idle period, QEvent.Type.KeyPress), built once."""
    global _input_events, _key_press
    if _input_events is None:
        from PySide6.QtCore import QEvent

        t = QEvent.Type
        _input_events = frozenset({t.KeyPress, t.MouseButtonPress, t.MouseMove, t.Wheel, t.TouchBegin})
        _key_press = t.KeyPress
    return _input_events, _key_press


class IdleWatcher(QObject):
    """Emits `idle` after `minutes` without keyboard or mouse input anywhere in the app.

    The last `warn_seconds` are a visible countdown: `warning(seconds_left)` once per tick
    (`tick_ms`, one second in the app; tests shorten it), and `resumed` when input ends it.
    Any input restarts the whole period. The countdown shows over other programs, whose input
    the app never receives: there a mouse movement anywhere on the screen (the pointer's
    position, read at each tick through `cursor_pos`) also ends it.
    """

    idle = Signal()
    warning = Signal(int)
    resumed = Signal()

    def __init__(self, minutes: float, parent=None, warn_seconds: int = 30, tick_ms: int = 1000,
                 cursor_pos=None):
        super().__init__(parent)
        self.cursor_pos = cursor_pos or _screen_cursor_pos
        self._pointer_at = None
        self.warn_seconds = warn_seconds
        self.tick_ms = tick_ms
        self.warning_active = False
        self.seconds_left = 0
        self.timer = QTimer(self)   # the quiet part of the period
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._start_warning)
        self.ticker = QTimer(self)  # the countdown
        self.ticker.timeout.connect(self._tick)
        self.total_ms = 0
        self.set_minutes(minutes)

    def set_minutes(self, minutes: float) -> None:
        self.total_ms = max(1, int(minutes * 60_000))
        self.restart()

    def _warn_ms(self) -> int:
        return min(self.warn_seconds * self.tick_ms, self.total_ms)

    def restart(self) -> None:
        self.ticker.stop()
        if self.warning_active:
            self.warning_active = False
            self.resumed.emit()
        self.timer.setInterval(max(0, self.total_ms - self._warn_ms()))
        self.timer.start()

    def _start_warning(self) -> None:
        warn_ms = self._warn_ms()
        self.seconds_left = max(1, -(-warn_ms // self.tick_ms))  # whole ticks, at least one
        self.warning_active = True
        self._pointer_at = self.cursor_pos()
        self.ticker.setInterval(max(1, warn_ms // self.seconds_left))
        self.ticker.start()
        self.warning.emit(self.seconds_left)

    def _tick(self) -> None:
        if self.cursor_pos() != self._pointer_at:   # the mouse moved, over this app or another
            self.restart()
            return
        self.seconds_left -= 1
        if self.seconds_left > 0:
            self.warning.emit(self.seconds_left)
            return
        self.ticker.stop()
        self.warning_active = False
        self.idle.emit()

    def eventFilter(self, obj, event) -> bool:
        if event.type() in _event_types()[0] and (self.timer.isActive() or self.warning_active):
            self.restart()
        return False

    def stop(self) -> None:
        self.timer.stop()
        self.ticker.stop()
        if self.warning_active:
            self.warning_active = False
            self.resumed.emit()


def _screen_cursor_pos() -> tuple[int, int]:
    """Where the mouse pointer is on the screen, whichever program it is over."""
    from PySide6.QtGui import QCursor

    p = QCursor.pos()
    return p.x(), p.y()


class IdleWarning(QLabel):
    """The countdown before the idle lock: a small always-on-top window that takes no focus, so
    it shows over dialogs and other programs and any key or mouse movement dismisses it."""

    def __init__(self):
        from PySide6.QtCore import Qt  # not at import: the first Qt.* enum costs 20-30 ms (see ui/login.py)

        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.WindowDoesNotAcceptFocus)
        self.setObjectName("idleWarning")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setStyleSheet(theme.banner("idleWarning", "locked"))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMargin(10)
        font = self.font()
        font.setPointSize(font.pointSize() + 2)
        self.setFont(font)

    def show_countdown(self, seconds: int, over: QWidget | None) -> None:
        self.setText(QApplication.translate(
            "App", "Ứng dụng sẽ tự khóa sau {0} giây do không thao tác.\n"
                   "Di chuột hoặc nhấn một phím trong VKS CĐS để tiếp tục làm việc.").format(seconds))
        self.adjustSize()
        if not self.isVisible():
            from PySide6.QtGui import QGuiApplication

            area = over.frameGeometry() if over is not None and over.isVisible() else None
            screen = (over.screen() if over is not None else None) or QGuiApplication.primaryScreen()
            if area is None and screen is not None:
                area = screen.availableGeometry()
            if area is not None:
                self.move(area.center().x() - self.width() // 2, area.top() + 60)
            self.show()
            self.raise_()


class ModalShortcuts(QObject):
    """Lock (Ctrl+L) and log out still work while a modal dialog (a print preview, a message)
    blocks the main window's shortcuts; the controller closes the dialog before locking."""

    def __init__(self, controller: "AppController"):
        super().__init__(controller)
        self.controller = controller

    def eventFilter(self, obj, event) -> bool:
        if event.type() != _event_types()[1] or QApplication.activeModalWidget() is None:
            return False
        main = self.controller.main
        if main is None or self.controller.session is None:
            return False
        from PySide6.QtGui import QKeySequence

        pressed = QKeySequence(event.keyCombination())
        for action, act in ((main.lock_action, self.controller.lock_now), (main.logout_action, self.controller.logout)):
            if pressed.matches(action.shortcut()) == QKeySequence.SequenceMatch.ExactMatch:
                act()
                return True
        return False


class DeferredVault:
    """Stands for the `Vault` of a data folder until it is first used: the application shows the
    login window (which needs only the folder) before `desktop.models.storage.vault` and what it brings
    (key slots, the domain, then Argon2 and SQLAlchemy) are imported; the storage stack is then
    preloaded in the background while the user types (see `_preload_storage_in_background`)."""

    def __init__(self, root: Path | str):
        self.folder = DataFolder(root)
        self._vault: Vault | None = None

    def __getattr__(self, name: str):
        if self._vault is None:
            from desktop.models.storage.vault import Vault

            self._vault = Vault(self.folder.root)
            self.folder = self._vault.folder
        return getattr(self._vault, name)


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
        self._forget_user = False
        self.idle = IdleWatcher(10, self)
        self.idle.stop()
        self.idle.idle.connect(lambda: self.lock(self.tr("Đã tự khóa do không thao tác.")))
        self.idle_warning: IdleWarning | None = None
        self.idle.warning.connect(self._show_idle_warning)
        self.idle.resumed.connect(self._hide_idle_warning)
        self.modal_shortcuts = ModalShortcuts(self)
        self._in_damage = False
        set_damage_handler(self.damage_detected)

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
        # once the window is painted, while the user types (a password takes seconds to type)
        QTimer.singleShot(300, _preload_storage_in_background)

    def _on_unlocked(self, session: AppSession) -> None:
        from desktop.ui.main_window import MainWindow

        self.session = session
        if self.login is not None:
            self.login.hide()
        self.main = MainWindow(session, self.vault, on_settings_changed=self._apply_settings)
        self.main.lockRequested.connect(self.lock_now)
        self.main.logoutRequested.connect(self.logout)
        self.main.destroyed.connect(lambda *_: None)
        self.main.show_fitted()
        self._apply_settings()
        app = QApplication.instance()
        app.installEventFilter(self.idle)
        app.installEventFilter(self.modal_shortcuts)
        self.main.inbox.start()
        self.sessionChanged.emit(session)
        if session.warnings:  # e.g. a role without a valid certificate (issue 17)
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(QMessageBox.Icon.Warning, self.tr("Cảnh báo an toàn"), "\n\n".join(session.warnings),
                              QMessageBox.StandardButton.Ok, self.main)
            box.setObjectName("securityWarning")
            box.open()
        self._check_in_background(session)

    def _check_in_background(self, session: AppSession) -> None:
        """Integrity check after unlock (most damage passes unlock: pages are authenticated only
        when read), then the second-place backup if one is due. Damage → the recovery dialog."""
        from desktop.models.domain.errors import AppError, DamagedDatabase

        vault = self.vault

        def work():
            problems = vault.background_check(session)
            if not problems:
                try:
                    vault.second_place_backup_if_due(session)
                except AppError:
                    log.warning("second-place backup after unlock failed")
            return problems

        def done(problems):
            if problems and self.session is session:
                self.damage_detected(DamagedDatabase("; ".join(problems[:3])))

        def failed(exc):
            if self.session is session and is_damage(exc):
                self.damage_detected(exc)
            else:
                log.info("background check ended: %s", type(exc).__name__)

        from desktop.ui import ops

        ops.run(None, work, done, on_failure=failed)

    def damage_detected(self, exc: BaseException) -> None:
        """Damage met during work (any read, the background check): close the session and offer
        the same recovery as at unlock, never "unexpected error"."""
        if self.session is None or self._in_damage:
            return
        self._in_damage = True
        try:
            log.error("damaged database met during work")
            try:
                offer = self.vault.damage_handle(self.session, str(exc))
            except Exception:  # listing backups must not stop the session from closing
                log.exception("could not prepare the recovery offer")
                offer = None
            self.lock(self.tr("Phiên làm việc đã đóng vì dữ liệu bị hỏng."))
            if offer is not None:
                self._on_damaged(offer)
        finally:
            self._in_damage = False

    def _apply_settings(self) -> None:
        if self.session is None:
            return
        from desktop.models.services import settings

        self.idle.set_minutes(settings.get(self.session, "auto_lock_minutes"))
        if self.main is not None:
            self.main.inbox.set_minutes(settings.get(self.session, "inbox_check_minutes"))

    def _show_idle_warning(self, seconds: int) -> None:
        if self.session is None:
            return
        if self.idle_warning is None:
            self.idle_warning = IdleWarning()
        self.idle_warning.show_countdown(seconds, self.main)

    def _hide_idle_warning(self) -> None:
        if self.idle_warning is not None:
            self.idle_warning.hide()

    def lock_now(self) -> None:
        self.lock(self.tr("Đã khóa phiên làm việc."))

    def logout(self) -> None:
        """Back to the login window for another user: the same as lock (operations ended, key
        wiped), and the user name is not kept either."""
        self.lock(self.tr("Đã đăng xuất. Người dùng khác có thể đăng nhập."), forget_user=True)

    def _close_session_dialogs(self) -> None:
        """Close every dialog of the session (a preview, a message, the guide) before locking:
        `reject()` lets each clean up (the preview deletes its temporary copy) and ends a
        blocking `exec()` before the window it belongs to is deleted."""
        from PySide6.QtWidgets import QDialog

        for w in QApplication.topLevelWidgets():
            if isinstance(w, QDialog) and w.isVisible() and w is not self.login and w is not self.wizard:
                w.reject()

    def lock(self, message: str = "", forget_user: bool = False) -> None:
        if self.session is None or self.locking:
            return
        self.locking = True
        self._forget_user = forget_user
        self.idle.stop()
        self._hide_idle_warning()
        app = QApplication.instance()
        app.removeEventFilter(self.idle)
        app.removeEventFilter(self.modal_shortcuts)
        self._close_session_dialogs()
        if self.main is not None:
            self.main.inbox.stop()
            self.main.save_geometry()
            self.main.hide()  # nothing to see or click while the running operations end
        from desktop.ui import ops  # imported when first needed: not before the login window shows

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
        from desktop.ui import ops

        ops.runner().resume()
        self.sessionChanged.emit(None)
        if self._forget_user and self.login is not None:
            self.login.username.clear()
        self._forget_user = False
        self.show_login(message)

    def _on_damaged(self, exc) -> None:
        """The recovery dialog: newest good backup, damaged file kept aside; admin only."""
        from desktop.export.vnformat import fmt_datetime  # not at import: it loads the plan domain
        from desktop.ui.backup_ui import restore_flow

        handle = getattr(exc, "restore_handle", None)
        parent = self.login
        if handle is None or not handle.good_backups:
            MessageBox.error(parent, self.tr("Dữ liệu bị hỏng"), exc.user_text())
            if handle:
                handle.discard()
            return
        newest = handle.good_backups[0]
        if not handle.can_restore:
            MessageBox.error(parent, self.tr("Dữ liệu bị hỏng"), self.tr(
                "{0}\n\nCó bản sao lưu tốt lúc {1}, nhưng chỉ Quản trị mới được khôi phục. "
                "Hãy báo Quản trị đăng nhập để khôi phục; không xóa tệp hỏng.").format(
                    exc.message, fmt_datetime(newest.created)))
            handle.discard()
            return

        def finished(_result):
            handle.discard()
            if self.login is not None:
                self.login.reset(self.tr("Đã khôi phục dữ liệu. Hãy đăng nhập lại."))

        restore_flow(parent, lambda progress, cancel: handle.prepare(newest, progress, cancel),
                     lambda plan, progress: handle.restore_full(newest, allow_missing=True, progress=progress, plan=plan),
                     self.tr("lúc {0} (bản tốt gần nhất)").format(fmt_datetime(newest.created)),
                     finished, intro=exc.message)

    def shutdown(self) -> None:
        # Saved here and on lock, not in a hideEvent override (see docs/architecture.md, known debt).
        if self.main is not None:
            self.main.save_geometry()
        self._end_pending_unlock()
        if self.session is not None:
            from desktop.ui import ops

            ops.runner().delivering = False
            if not ops.runner().wait(30_000):  # exit: no GUI left to serve, blocking is fine
                log.error("an operation was still running at exit; locking anyway")
            self.session.lock()
            self.session = None


    def _end_pending_unlock(self) -> None:
        """Exit while the login window unlocks (the window refuses to close, but the application
        may still be told to exit): the unlock may be migrating the database, so it is waited for
        however long it takes (a half-migrated database is never left behind), then the session
        it opened, which nobody will receive, is locked."""
        login = self.login
        if login is None or not login.unlocking:
            return
        from desktop.ui import ops

        log.warning("exit during unlock: waiting for it to finish")
        ops.runner().delivering = False
        ops.runner().wait(-1)
        session = login.abandon_unlock()
        if session is not None:
            session.lock()

    def session_ending(self, manager) -> None:
        """The OS ends the user's session (log off, shut down): refused while an unlock runs
        (Windows then lists the application as preventing the shut-down)."""
        if self.login is not None and self.login.unlocking and manager.allowsInteraction():
            manager.cancel()


def _route_uncaught_damage(controller: AppController) -> None:
    """An exception escaping a Qt slot that is damage goes to the recovery dialog too."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if is_damage(exc):
            controller.damage_detected(exc)
            return
        previous(exc_type, exc, tb)

    sys.excepthook = hook


def _preload_storage_in_background() -> None:
    """Load SQLAlchemy and the schema while the user types the password (daemon thread)."""
    import threading

    def preload() -> None:  # importing the vault imports the storage stack (not before the window)
        import desktop.models.storage.vault  # noqa: F401

    threading.Thread(target=preload, name="preload-storage", daemon=True).start()


def install_translations(app: QApplication) -> None:
    """Vietnamese for Qt's own texts (dialog buttons, wizard, file dialog, context menus).

    Qt ships no qtbase_vi catalogue, so the app carries its own (resources/i18n/qt_vi.ts,
    compiled to qt_vi.qm with pyside6-lrelease); a system catalogue is used if one exists.
    """
    from PySide6.QtCore import QLibraryInfo

    from desktop.resources import resource_path

    QLocale.setDefault(QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam))
    ours = QTranslator(app)
    if ours.load(str(resource_path("i18n", "qt_vi.qm"))):
        app.installTranslator(ours)
    system = QTranslator(app)
    if system.load("qtbase_vi", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(system)


def make_app(argv=None) -> QApplication:
    """The QApplication, named, translated and with its icon; set up once (the frozen entry point
    creates it before the command line is read, run_gui calls this again)."""
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    if app.property("vksConfigured"):
        return app
    app.setProperty("vksConfigured", True)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    install_translations(app)
    from PySide6.QtGui import QIcon

    from desktop.resources import resource_path

    icon = QIcon()   # files are read when a size is first drawn, not here
    for name in ("vks-cds.png", "vks-cds-512.png"):
        path = resource_path("icons", name)
        if path.is_file():
            icon.addFile(str(path))
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def run_gui(data_dir: str | None) -> int:
    from desktop.paths import resolve_data_dir

    app = make_app()
    root = resolve_data_dir(data_dir)
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
    controller = AppController(DeferredVault(root))
    _route_uncaught_damage(controller)
    app.aboutToQuit.connect(controller.shutdown)
    app.commitDataRequest.connect(controller.session_ending)
    controller.start()

    def after_window() -> None:
        """Once the first window is up (before anyone can type a password): logging, and the
        interrupted writes of an earlier run swept (we hold the instance lock; the sweep touches
        no file under a final name, so the wizard/login choice made above is unaffected).
        logging.handlers (socket, pickle, queue: 8 ms frozen) is imported here, not before."""
        from desktop.logsetup import setup_logging
        from desktop.models.storage.backups import sweep_leftovers

        setup_logging(root)
        sweep_leftovers(root)

    QTimer.singleShot(0, after_window)
    try:
        return app.exec()
    finally:
        controller.shutdown()
        lock.release()
