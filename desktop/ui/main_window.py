"""The main window: navigation on the left, one page per task, lock on Ctrl+L."""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QPushButton,
                               QScrollArea, QStackedWidget, QVBoxLayout, QWidget)

from desktop import APP_NAME, __version__
from desktop.models.services import units
from desktop.models.storage.vault import AppSession, Permission, Vault
from desktop.ui.messages import MessageBox
from desktop.ui import theme


DEFAULT_SIZE = QSize(1280, 800)


def geometry_key(unit_code: str, user_id: int) -> str:
    """The QSettings key of a user's window geometry. QSettings is a plain file: it holds only the
    geometry, under a hash that names neither the unit nor the user."""
    digest = hashlib.sha256(f"vks-cds-window\0{unit_code}\0{user_id}".encode()).hexdigest()[:24]
    return f"windows/main-{digest}"


#: F1 on a page opens the guide at the section whose heading contains these words.
HELP_SECTIONS = {"home": "Tổng quan", "plans": "Kế hoạch", "entry": "Nhập tiến độ", "reports": "Nhập tiến độ",
                 "print": "In báo cáo", "consolidation": "Tổng hợp đơn vị", "exchange": "Trao đổi", "users": "Người dùng",
                 "backup": "Sao lưu", "audit": "Nhật ký kiểm toán", "settings": "Người dùng, cài đặt"}
PAGE_SHORTCUTS = 9  # Ctrl+1 … Ctrl+9, in the order of the navigation list


class MainWindow(QMainWindow):
    lockRequested = Signal()
    logoutRequested = Signal()

    def __init__(self, session: AppSession, vault: Vault, on_settings_changed=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.vault = vault
        self._on_settings_changed = on_settings_changed
        unit = units.own_unit(session)
        self.setWindowTitle(f"{APP_NAME} — {unit.name}")
        self._geometry_key = geometry_key(unit.code, session.user.id)
        self.resize(DEFAULT_SIZE)

        self.nav = QListWidget(objectName="navigation")
        self.nav.setFixedWidth(220)
        self.nav.setStyleSheet(theme.NAVIGATION)
        self.pages = QStackedWidget(objectName="pages")
        self._factories: list = []
        self._titles: list[str] = []
        self._badges: dict[str, int] = {}
        self._add_page(self.tr("Tổng quan"), "home", self._make_dashboard)
        self._add_page(self.tr("Kế hoạch"), "plans", self._make_plan_browser)
        self._add_page(self.tr("Nhập tiến độ"), "entry", self._make_entry_form)
        self._add_page(self.tr("Báo cáo"), "reports", self._make_reports_page)
        self._add_page(self.tr("In báo cáo"), "print", self._make_print_page)
        if unit.level in ("tinh", "toi_cao"):
            self._add_page(self.tr("Tổng hợp đơn vị"), "consolidation", self._make_consolidation_page)
        from desktop.ui.exchange_page import exchange_page_factory
        self._add_page(self.tr("Trao đổi"), "exchange", exchange_page_factory(session))
        # Everyone gets the users page (to change their own password); managing is checked by the service.
        self._add_page(self.tr("Người dùng"), "users", self._make_users_page)
        self._add_page(self.tr("Sao lưu và kiểm tra"), "backup", self._make_backup_page)
        if session.user.can(Permission.VIEW_AUDIT):
            self._add_page(self.tr("Nhật ký kiểm toán"), "audit", self._make_audit_page)
        self._add_page(self.tr("Cài đặt"), "settings", self._make_settings_page)
        self.nav.currentRowChanged.connect(self._show_page)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.nav)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        file_menu = self.menuBar().addMenu(self.tr("&Tệp"))
        self.lock_action = QAction(self.tr("Khóa phiên làm việc"), self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.triggered.connect(self.lockRequested)
        file_menu.addAction(self.lock_action)
        self.logout_action = QAction(self.tr("Đăng xuất / đổi người dùng"), self)
        self.logout_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.logout_action.triggered.connect(self.logoutRequested)
        file_menu.addAction(self.logout_action)
        file_menu.addSeparator()
        quit_action = QAction(self.tr("Thoát"), self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        go_menu = self.menuBar().addMenu(self.tr("&Chuyển trang"))
        self.page_actions: list[QAction] = []
        for i in range(min(PAGE_SHORTCUTS, self.nav.count())):
            action = QAction(self._titles[i], self)
            action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _checked=False, row=i: self.nav.setCurrentRow(row))
            go_menu.addAction(action)
            self.addAction(action)  # works with the menu closed
            self.page_actions.append(action)
            self.nav.item(i).setToolTip(self.tr("{0} (Ctrl+{1})").format(self._titles[i], i + 1))
        help_menu = self.menuBar().addMenu(self.tr("&Trợ giúp"))
        self.help_action = QAction(self.tr("Hướng dẫn sử dụng"), self)
        self.help_action.setShortcut(QKeySequence("F1"))
        self.help_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.help_action.triggered.connect(self.show_help)
        help_menu.addAction(self.help_action)
        self.addAction(self.help_action)
        about = QAction(self.tr("Giới thiệu"), self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

        who = session.user.full_name or session.user.username
        if session.user.via_recovery:
            who = self.tr("PHIÊN KHÔI PHỤC — hãy đặt lại mật khẩu quản trị trong mục Người dùng")
        self.status_user = QLabel(f"{who} · {session.user.role.label}")
        self.status_user.setObjectName("statusUser")
        self.statusBar().addWidget(self.status_user, 1)
        help_button = QPushButton(self.tr("Hướng dẫn sử dụng (F1)"), objectName="helpButton")
        help_button.setFlat(True)
        help_button.clicked.connect(self.show_help)
        self.statusBar().addPermanentWidget(help_button)
        self.statusBar().addPermanentWidget(QLabel(self.tr("Ctrl+1…9: chuyển trang · Ctrl+L: khóa")))
        self.nav.setCurrentRow(0)
        from desktop.ui.inbox_watch import InboxWatcher

        self.inbox = InboxWatcher(self, session)  # started by the controller after login

    def _add_page(self, title: str, key: str, factory) -> None:
        self._titles.append(title)
        item = QListWidgetItem(title)
        item.setData(Qt.ItemDataRole.UserRole, key)
        self.nav.addItem(item)
        # Each page sits in a scroll area: a page taller than a small screen scrolls instead of
        # making the whole window (and every other page) taller than the screen.
        holder = QScrollArea()
        holder.setObjectName(f"page_{key}")
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        QVBoxLayout(inner).setContentsMargins(12, 12, 12, 12)
        holder.setWidget(inner)
        self.pages.addWidget(holder)
        self._factories.append(factory)

    def _page_layout(self, index: int):
        return self.pages.widget(index).widget().layout()

    def page_widget(self, key: str) -> QWidget | None:
        """The page's content widget (built on first use)."""
        for i in range(self.nav.count()):
            if self.nav.item(i).data(Qt.ItemDataRole.UserRole) == key:
                self._ensure_built(i)
                return self._page_layout(i).itemAt(0).widget()
        return None

    def _ensure_built(self, index: int) -> None:
        layout = self._page_layout(index)
        if layout.count() == 0:
            layout.addWidget(self._factories[index]())

    def _show_page(self, index: int) -> None:
        if index < 0:
            return
        self._ensure_built(index)
        self.pages.setCurrentIndex(index)
        key = self.nav.item(index).data(Qt.ItemDataRole.UserRole)
        if self._badges.get(key):
            self.set_badge(key, 0)  # seen
        widget = self._page_layout(index).itemAt(0).widget()
        refresh = getattr(widget, "refresh", None)
        if callable(refresh) and index != 0:
            refresh()

    def show_page(self, key: str) -> None:
        i = self._row(key)
        if i is not None:
            self.nav.setCurrentRow(i)

    def _row(self, key: str) -> int | None:
        for i in range(self.nav.count()):
            if self.nav.item(i).data(Qt.ItemDataRole.UserRole) == key:
                return i
        return None

    def current_key(self) -> str:
        item = self.nav.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else ""

    # ------------------------------------------------------------------ badges (new items on a page)
    def set_badge(self, key: str, count: int) -> None:
        """Show `count` new items on a page's navigation entry ("Trao đổi (3 mới)"); 0 clears it."""
        i = self._row(key)
        if i is None:
            return
        self._badges[key] = max(0, count)
        item = self.nav.item(i)
        font = item.font()
        font.setBold(count > 0)
        item.setFont(font)
        item.setText(self.tr("{0} ({1} mới)").format(self._titles[i], count) if count > 0 else self._titles[i])

    def badge(self, key: str) -> int:
        return self._badges.get(key, 0)

    # ------------------------------------------------------------------ help
    def show_help(self):
        from desktop.ui.help import show_help

        return show_help(self, HELP_SECTIONS.get(self.current_key(), ""))

    # ------------------------------------------------------------------ window geometry
    def show_fitted(self) -> None:
        """Show the window where this user left it; the first time, 1280×800 if the screen has room,
        otherwise maximised (a 1366×768 office screen)."""
        saved = QSettings().value(self._geometry_key)
        if isinstance(saved, QByteArray | bytes) and self.restoreGeometry(QByteArray(saved)):
            self.show()
            self.fit_to_screen()
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        if room is not None and (room.width() < DEFAULT_SIZE.width() + 40 or room.height() < DEFAULT_SIZE.height() + 60):
            self.showMaximized()
            return
        if room is not None:
            frame = self.frameGeometry()
            frame.moveCenter(room.center())
            self.move(frame.topLeft())
        self.show()

    def fit_to_screen(self) -> None:
        """Keep the whole window, frame included, on the screen it opens on: a geometry saved on a
        larger screen (1920×1080 at the office, 1366×768 on a laptop) is shrunk and moved in."""
        if self.isMaximized() or self.isFullScreen():
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        geo, frame = self.geometry(), self.frameGeometry()
        extra_w, extra_h = frame.width() - geo.width(), frame.height() - geo.height()
        width = min(geo.width(), room.width() - extra_w)
        height = min(geo.height(), room.height() - extra_h)
        if (width, height) != (geo.width(), geo.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        x = min(max(frame.left(), room.left()), room.right() - frame.width() + 1)
        y = min(max(frame.top(), room.top()), room.bottom() - frame.height() + 1)
        if (x, y) != (frame.left(), frame.top()):
            self.move(x, y)

    def save_geometry(self) -> None:
        QSettings().setValue(self._geometry_key, self.saveGeometry())

    def _make_dashboard(self):
        from desktop.ui.dashboard import DashboardPage

        page = DashboardPage(self.session, self.vault)
        page.openTarget.connect(self._open_target)
        page.openReport.connect(self._open_report_id)
        return page

    def _open_target(self, plan_id: str, period_key: str, target_code: str) -> None:
        """Dashboard → the entry form on that target (read-only if the report is frozen)."""
        form = self.page_widget("entry")
        if form.open_report(plan_id, period_key):
            self.show_page("entry")
            form.select_target(target_code)

    def _open_report_id(self, report_id: int) -> None:
        from desktop.models.services import progress

        r = progress.get_report(self.session, report_id)
        self._open_report(r.plan_id, r.period.key)

    def _make_consolidation_page(self):
        from desktop.ui.consolidation_page import ConsolidationPage

        return ConsolidationPage(self.session)

    def _make_print_page(self):
        from desktop.ui.print_page import PrintPage

        return PrintPage(self.session)

    def _make_plan_browser(self):
        from desktop.ui.plan_browser import PlanBrowser

        return PlanBrowser(self.session)

    def _make_entry_form(self):
        from desktop.ui.entry_form import EntryForm

        return EntryForm(self.session)

    def _make_reports_page(self):
        from desktop.ui.reports_page import ReportsPage

        page = ReportsPage(self.session)
        page.openReport.connect(self._open_report)
        return page

    def _open_report(self, plan_id: str, period_key: str) -> None:
        form = self.page_widget("entry")
        if form.open_report(plan_id, period_key):
            self.show_page("entry")

    def _make_users_page(self):
        from desktop.ui.admin_pages import UsersPage

        return UsersPage(self.session)

    def _make_backup_page(self):
        from desktop.ui.admin_pages import BackupPage

        page = BackupPage(self.session, self.vault)
        page.restored.connect(lambda _result: self.lockRequested.emit())
        return page

    def _make_audit_page(self):
        from desktop.ui.admin_pages import AuditPage

        return AuditPage(self.session)

    def _make_settings_page(self):
        from desktop.ui.admin_pages import SettingsPage

        return SettingsPage(self.session, self._on_settings_changed)

    def _about(self) -> None:
        MessageBox.info(self, self.tr("Giới thiệu"),
                        self.tr("{0} phiên bản {1}\nTheo dõi, báo cáo tiến độ chuyển đổi số của Viện kiểm sát nhân dân.\n"
                                "Dữ liệu được mã hóa (SQLCipher 4, AES-256); không cần Internet.").format(APP_NAME, __version__))
