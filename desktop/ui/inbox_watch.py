"""The timed inbox check: every few minutes the share inbox is scanned through the operation
runner (the same `exchange.scan_inbox` as the "Nhận gói tin" button), and new reports, receipts
and returns are announced: a tray message when the desktop has a system tray, otherwise a
status-bar message; in both cases a badge on the "Trao đổi" page ("Trao đổi (2 mới)").

Rules: only for a user allowed to exchange (the service checks it again) with a share folder set;
never two checks at once; nothing while locking or locked (the watcher is a child of the main
window, which lock deletes, and the runner refuses new ops while it shuts down); a failure is
logged and shown once in the status bar, never as a dialog popping up over the user's work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from desktop.models.services import exchange
from desktop.models.storage.vault import AppSession, Permission
from desktop.ui import ops

log = logging.getLogger(__name__)

DEFAULT_MINUTES = 5.0
FIRST_CHECK_MS = 60_000  # the first check a minute after login (start-up work goes first)
#: Outcome kinds worth telling the user about, in the order the message lists them.
_NEWS_KINDS = ("report", "receipt", "return", "plan", "roster")


@dataclass
class InboxNews:
    """What one check brought (applied bundles only, by kind) and how many were refused."""

    by_kind: dict[str, int] = field(default_factory=dict)
    refused: int = 0

    @classmethod
    def of(cls, outcomes) -> "InboxNews":
        news = cls()
        for o in outcomes:
            if o.verdict in (exchange.APPLIED, exchange.APPLIED_GAP):
                news.by_kind[o.kind or ""] = news.by_kind.get(o.kind or "", 0) + 1
            elif o.verdict in (exchange.REJECTED, exchange.ERROR):
                news.refused += 1
        return news

    @property
    def new(self) -> int:
        return sum(self.by_kind.values())

    def text(self) -> str:
        tr = QApplication.translate
        parts = []
        words = {"report": tr("Inbox", "{0} báo cáo mới"), "receipt": tr("Inbox", "{0} xác nhận đã nhận"),
                 "return": tr("Inbox", "{0} báo cáo bị trả lại"), "plan": tr("Inbox", "{0} kế hoạch"),
                 "roster": tr("Inbox", "{0} danh sách đơn vị")}
        for kind in _NEWS_KINDS:
            if self.by_kind.get(kind):
                parts.append(words[kind].format(self.by_kind[kind]))
        other = self.new - sum(self.by_kind.get(k, 0) for k in _NEWS_KINDS)
        if other:
            parts.append(tr("Inbox", "{0} gói tin khác").format(other))
        if self.refused:
            parts.append(tr("Inbox", "{0} gói tin bị từ chối (xem mục Trao đổi)").format(self.refused))
        return tr("Inbox", "Hộp thư đến: {0}.").format(", ".join(parts)) if parts else ""


class InboxWatcher(QObject):
    """Owned by the main window; `check_now()` is also what the timer calls."""

    checked = Signal(object)  # InboxNews, after every successful check

    def __init__(self, window, session: AppSession, minutes: float = DEFAULT_MINUTES, tray_factory=None):
        super().__init__(window)
        self.window = window
        self.session = session
        self.running = False
        self.tray: QSystemTrayIcon | None = None
        self._tray_factory = tray_factory or _system_tray
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check_now)
        self.set_minutes(minutes)

    def set_minutes(self, minutes: float) -> None:
        self.timer.setInterval(max(1, int(minutes * 60_000)))

    def start(self, first_check_ms: int = FIRST_CHECK_MS) -> bool:
        """Start the periodic check if this user can use it (the share may be set later)."""
        if not self.session.user.can(Permission.EXCHANGE):
            return False
        self.timer.start()
        QTimer.singleShot(first_check_ms, self, self.check_now)
        return True

    def stop(self) -> None:
        self.timer.stop()

    def can_check(self) -> bool:
        if self.running or not self.session.is_unlocked or not ops.runner().delivering:
            return False
        if not self.session.user.can(Permission.EXCHANGE):
            return False
        try:
            return exchange.share_root(self.session) is not None
        except Exception:  # a settings read failing here is not worth an interruption
            log.info("inbox check skipped: settings not readable")
            return False

    def check_now(self) -> bool:
        """Start one check (returns False if one runs already, or it cannot run now)."""
        if not self.can_check():
            return False
        self.running = True
        session = self.session
        (ops.Op(self.window, lambda ctx: exchange.scan_inbox(session, progress=ctx.progress),
                changes=ops.Changes.EXCHANGE | ops.Changes.REPORTS, with_context=True)
         .success(self._done)
         .failure(self._failed)
         .finally_(self._finished)
         .run())
        return True

    def _finished(self) -> None:
        self.running = False

    def _failed(self, exc: BaseException) -> None:
        from desktop.ui.messages import route_damage

        if route_damage(exc):
            return
        text = exc.user_text() if hasattr(exc, "user_text") else type(exc).__name__
        log.info("timed inbox check failed: %s", type(exc).__name__)
        self.window.statusBar().showMessage(
            QApplication.translate("Inbox", "Không kiểm tra được hộp thư đến: {0}").format(text.splitlines()[0]), 60_000)

    def _done(self, outcomes) -> None:
        news = InboxNews.of(outcomes)
        self.checked.emit(news)
        if not news.new and not news.refused:
            return
        on_page = self.window.isVisible() and self.window.current_key() == "exchange"
        if news.new and not on_page:  # on the page the user sees the new rows themselves
            self.window.set_badge("exchange", self.window.badge("exchange") + news.new)
        self.notify(news.text())

    def notify(self, text: str) -> None:
        tray = self._tray()
        if tray is not None:
            tray.showMessage(QApplication.translate("Inbox", "VKS CĐS — hộp thư đến"), text,
                             QSystemTrayIcon.MessageIcon.Information, 15_000)
        self.window.statusBar().showMessage(text, 120_000)

    def _tray(self) -> QSystemTrayIcon | None:
        if self.tray is None:
            self.tray = self._tray_factory(self)
            if self.tray is not None:
                self.tray.messageClicked.connect(self._open_exchange)
                self.tray.activated.connect(lambda _reason: self._open_exchange())
        return self.tray

    def _open_exchange(self) -> None:
        self.window.showNormal() if self.window.isMinimized() else self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        self.window.show_page("exchange")


def _system_tray(parent: QObject) -> QSystemTrayIcon | None:
    """A tray icon while the user is logged in (the main window owns it), if the desktop has a tray."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        return None
    tray = QSystemTrayIcon(QApplication.windowIcon(), parent)
    tray.setToolTip("VKS CĐS")
    tray.show()
    return tray
