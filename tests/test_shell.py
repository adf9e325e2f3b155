"""The application shell around the pages (issue 19): the user guide on F1, Ctrl+1…9, log out,
the idle-lock countdown, lock from a print preview, the timed inbox check with its
notification, the dashboard's returned-report banner and charts, and window geometry."""

from __future__ import annotations

import io
import threading
from datetime import date

import pytest
from exchange_fixtures import (PERIOD, PLAN, approved_report, office_templates, province_and_units,  # noqa: F401
                               report_targets, two_offices)
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QApplication

from conftest import ADMIN_PW, APPROVER_PW, ENTRY_PW
from desktop.models.services import exchange, plans, progress
from desktop.ui import ops
from desktop.ui.messages import MessageBox


@pytest.fixture(autouse=True)
def _clean_messages():
    MessageBox.shown.clear()
    yield
    MessageBox._next_answers.clear()


def _login(qtbot, c, user="admin", pw=ADMIN_PW):
    c.login.username.clear()
    qtbot.keyClicks(c.login.username, user)
    qtbot.keyClicks(c.login.password, pw)
    qtbot.keyClick(c.login.password, Qt.Key.Key_Return)
    assert c.session is not None
    c.main.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is c.main, timeout=3000)


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, "Bao cao thu")
    c.showPage()
    c.save()
    return out.getvalue()


# ------------------------------------------------------------------ 1. the user guide
def test_guide_is_a_shipped_resource_covering_the_new_features():
    import re
    import sys
    from pathlib import Path

    from desktop.ui.help import guide_path

    text = guide_path().read_text(encoding="utf-8")
    for words in ("F1", "Ctrl+1", "Đăng xuất", "30 giây", "Tự kiểm tra hộp thư", "đã\n  bị trả lại", "Xem dạng bảng"):
        assert words in text, words
    # the PyInstaller spec bundles every file under resources/ except Python sources
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "installer"))
    try:
        import bundle_policy
    finally:
        sys.path.pop(0)
    for name in ("resources/help/huong-dan-su-dung.md", "resources/help/bao-cao-don-vi-trang-1.png"):
        assert not bundle_policy.RESOURCES_SKIP.search(name)
    # every image the guide shows is shipped next to it
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (guide_path().parent / image).is_file(), image


def test_f1_opens_the_guide_at_the_page_in_use_with_contents_and_search(qtbot, ctl):
    from desktop.ui.help import HelpDialog

    _login(qtbot, ctl)
    ctl.main.show_page("exchange")
    qtbot.keyClick(ctl.main, Qt.Key.Key_F1)
    dlg = ctl.main.findChild(HelpDialog)
    assert dlg is not None and dlg.isVisible() and not dlg.isModal()
    assert "Trao đổi" in dlg.browser.textCursor().block().text()       # the page's own section
    tops = [dlg.toc.topLevelItem(i).text(0) for i in range(dlg.toc.topLevelItemCount())]
    assert len(tops) >= 13 and tops[1].startswith("2. Đăng nhập")
    assert dlg.browser.document().toPlainText().count("Ctrl+L") >= 2   # Markdown rendered, not shown raw
    assert "## " not in dlg.browser.document().toPlainText()
    # clicking a contents entry jumps there
    item = next(dlg.toc.topLevelItem(i) for i in range(len(tops)) if "Phím tắt" in tops[i])
    dlg.toc.itemClicked.emit(item, 0)
    assert "Phím tắt" in dlg.browser.textCursor().block().text()
    # search: a word found, then one that is not
    qtbot.keyClicks(dlg.search, "Ctrl+Shift+L")   # typed: searched as it is typed (ASCII: QTest types no Vietnamese)
    assert dlg.browser.textCursor().selectedText() == "Ctrl+Shift+L"
    first = dlg.browser.textCursor().position()
    assert dlg.search_result.text() == "2 kết quả"
    qtbot.keyClick(dlg.search, Qt.Key.Key_Return)  # the next one
    assert dlg.browser.textCursor().position() > first
    dlg.search.setText("thư mục dùng chung")
    assert dlg.find_next(from_start=True) and dlg.browser.textCursor().selectedText() == "thư mục dùng chung"
    dlg.search.setText("khong-co-tu-nay")
    assert not dlg.find_next(from_start=True) and dlg.search_result.text() == "Không thấy"
    # F1 again raises the same window (no second copy)
    ctl.main.activateWindow()
    ctl.main.help_action.trigger()
    assert len(ctl.main.findChildren(HelpDialog)) == 1
    # Ctrl+L from the guide's own window locks too, and the guide closes with the session
    dlg.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dlg, timeout=3000)
    qtbot.keyClick(dlg.browser, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert ctl.session is None and ctl.login.isVisible()


def test_login_window_offers_the_guide(qtbot, ctl):
    from desktop.ui.help import HelpDialog

    ctl.login.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is ctl.login, timeout=3000)
    qtbot.keyClick(ctl.login, Qt.Key.Key_F1)
    dlg = ctl.login.findChild(HelpDialog)
    assert dlg is not None and dlg.isVisible()
    assert "Đăng nhập" in dlg.browser.textCursor().block().text()
    dlg.close()
    ctl.login.help_button.click()     # the visible way to the same guide
    assert dlg.isVisible() and ctl.login.findChildren(HelpDialog) == [dlg]
    dlg.close()


# ------------------------------------------------------------------ 2. Ctrl+1…9
def test_ctrl_digits_switch_pages_in_order(qtbot, ctl):
    _login(qtbot, ctl)
    win = ctl.main
    keys = [win.nav.item(i).data(Qt.ItemDataRole.UserRole) for i in range(win.nav.count())]
    assert len(win.page_actions) == min(9, len(keys))
    for i in (2, 6, 0, 4):
        qtbot.keyClick(win, Qt.Key(Qt.Key.Key_1 + i), Qt.KeyboardModifier.ControlModifier)
        assert win.current_key() == keys[i]
        assert win.pages.currentIndex() == i
    assert "Ctrl+3" in win.nav.item(2).toolTip()
    assert win.page_actions[2].shortcut().toString() == "Ctrl+3" and win.page_actions[2].text() == "Nhập tiến độ"


# ------------------------------------------------------------------ 3. log out
def test_log_out_waits_for_work_wipes_the_key_and_forgets_the_user(qtbot, ctl, sync_ops):
    _login(qtbot, ctl)
    live = ctl.session
    page = ctl.main.page_widget("reports")
    ops.set_synchronous(False)
    try:
        gate, started, delivered = threading.Event(), threading.Event(), []

        def work():
            started.set()
            gate.wait(10)
            return len(live.master_key())

        ops.Op(page, work).success(delivered.append).run()
        assert started.wait(10)
        ctl.main.logout_action.trigger()
        assert live.is_unlocked and not ctl.main.isVisible()   # waits for the running op
        gate.set()
        qtbot.waitUntil(lambda: not live.is_unlocked, timeout=10_000)
    finally:
        ops.set_synchronous(True)
    assert delivered == [] and ctl.session is None and ctl.main is None
    assert ctl.login.isVisible() and ctl.login.username.text() == "" and ctl.login.password.text() == ""
    assert "đăng xuất" in ctl.login.error.text().lower()
    # another user logs in on the same window; lock (unlike log out) keeps the name
    _login(qtbot, ctl, "nhaplieu", ENTRY_PW)
    assert ctl.session.user.username == "nhaplieu"
    ctl.main.lock_action.trigger()
    assert ctl.session is None and ctl.login.username.text() == "nhaplieu"


# ------------------------------------------------------------------ 4. the idle-lock countdown
def test_idle_lock_warns_with_a_countdown_that_input_dismisses(qtbot, ctl):
    _login(qtbot, ctl)
    live = ctl.session
    idle = ctl.idle
    idle.warn_seconds, idle.tick_ms = 3, 150
    with qtbot.waitSignal(idle.warning, timeout=5000) as first:
        idle.set_minutes(0.01)    # 600 ms: quiet, then 3 ticks of countdown
    assert first.args == [3]
    warning = ctl.idle_warning
    assert warning.isVisible() and "sau 3 giây" in warning.text() and "tự khóa" in warning.text()
    with qtbot.waitSignal(idle.resumed, timeout=1000):
        qtbot.keyClick(ctl.main.nav, Qt.Key.Key_Down)    # any input
    assert not warning.isVisible() and ctl.session is live and not idle.warning_active
    # left alone, the countdown runs to the end and locks
    seen = []
    idle.warning.connect(seen.append)
    qtbot.waitUntil(lambda: ctl.session is None, timeout=5000)
    assert seen == [3, 2, 1]
    assert not live.is_unlocked and not warning.isVisible()
    assert "tự khóa" in ctl.login.error.text().lower()


def test_idle_watcher_countdown_alone(qtbot):
    from desktop.ui.app import IdleWatcher

    w = IdleWatcher(10, warn_seconds=30, tick_ms=1000)
    assert w.timer.interval() == 10 * 60_000 - 30_000     # warning 30 s before the lock
    w.set_minutes(0.25)                                   # a 15 s period: all of it is countdown
    assert w.timer.interval() == 0
    w.stop()
    assert not w.timer.isActive() and not w.ticker.isActive()


def test_idle_countdown_ends_when_the_mouse_moves_over_another_program(qtbot):
    """The countdown shows over other programs, whose input never reaches the app: a pointer that
    moved anywhere on the screen ends it like input in the app; a still pointer lets it run out."""
    from desktop.ui.app import IdleWatcher

    pointer = [(100, 100)]
    w = IdleWatcher(0.01, warn_seconds=3, tick_ms=20, cursor_pos=lambda: pointer[0])   # 600 ms, 60 counted
    seen: list[int] = []
    w.warning.connect(seen.append)
    qtbot.waitUntil(lambda: w.warning_active, timeout=2000)
    assert seen[:1] == [3]
    with qtbot.waitSignal(w.resumed, timeout=2000):
        pointer[0] = (640, 380)          # moved over another window
    assert not w.warning_active and w.timer.isActive() and not w.ticker.isActive()
    # left still, the next countdown runs to the end
    seen.clear()
    with qtbot.waitSignal(w.idle, timeout=3000):
        pass
    assert seen == [3, 2, 1]
    w.stop()


# ------------------------------------------------------------------ 5. Ctrl+L in the print preview
def test_ctrl_l_locks_from_the_print_preview_and_closes_it_first(qtbot, ctl, monkeypatch, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    from desktop.ui import pdf_preview
    from desktop.ui.pdf_preview import PdfPreviewDialog

    _login(qtbot, ctl)
    live = ctl.session
    dlg = PdfPreviewDialog(_pdf(), "Xem trước", "bao-cao.pdf", temp_root=live.folder.temp, parent=ctl.main)
    dlg.open()
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is dlg, timeout=3000)
    dlg.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dlg, timeout=3000)
    # the preview's own keys
    qtbot.keyClick(dlg, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert dlg.zoom.value() == 110
    qtbot.keyClick(dlg, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert dlg.zoom.value() == 100
    printed = tmp_path / "in.pdf"

    def printer():
        p = QPrinter(QPrinter.PrinterMode.HighResolution)
        p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        p.setOutputFileName(str(printed))
        return p

    dlg.printer_factory = printer
    qtbot.keyClick(dlg, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert printed.read_bytes().startswith(b"%PDF")
    saved = tmp_path / "luu.pdf"
    dlg.save_path_provider = lambda _suffix: str(saved)
    qtbot.keyClick(dlg, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert saved.read_bytes() == dlg.pdf_bytes
    # a temporary copy for the external viewer exists until the dialog closes
    monkeypatch.setattr(pdf_preview.QDesktopServices, "openUrl", staticmethod(lambda _url: True))
    MessageBox.set_next_answer(None)
    dlg.open_external()
    temp_copy = dlg._temp_copy
    assert temp_copy.is_file()
    # Ctrl+L is blocked for the main window by the modal preview; the app still locks
    qtbot.keyClick(dlg, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert ctl.session is None and not live.is_unlocked
    assert not temp_copy.exists() and not temp_copy.parent.exists()
    assert ctl.login.isVisible() and "khóa" in ctl.login.error.text()


def test_lock_closes_a_blocking_message_box(qtbot, ctl):
    """A dialog shown with exec() (its own event loop) ends before the window is deleted."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    _login(qtbot, ctl)
    live = ctl.session
    results = []

    def press_ctrl_l():
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        qtbot.keyClick(box, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)

    QTimer.singleShot(50, press_ctrl_l)
    box = QMessageBox(QMessageBox.Icon.Information, "Thông báo", "Đang mở", QMessageBox.StandardButton.Ok, ctl.main)
    results.append(box.exec())
    assert results and ctl.session is None and not live.is_unlocked


# ------------------------------------------------------------------ 6. the timed inbox check
def test_timed_inbox_check_notifies_and_badges_the_exchange_page(qtbot, two_offices):
    from desktop.ui.inbox_watch import InboxWatcher
    from desktop.ui.main_window import MainWindow

    o = two_offices
    prov, unit = o.province, o.unit
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:1]
    approved_report(unit, {codes[0]: {"numerator": 1, "denominator": 2}})
    exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)

    win = MainWindow(prov.admin, prov.vault)
    qtbot.addWidget(win)
    win.show()
    watcher = win.inbox
    assert isinstance(watcher, InboxWatcher)
    news = []
    watcher.checked.connect(news.append)
    # the timer drives it (shortened here); one check, then nothing new
    watcher.set_minutes(0.0005)
    assert watcher.start(first_check_ms=0)
    qtbot.waitUntil(lambda: len(news) >= 2, timeout=5000)
    watcher.stop()
    assert news[0].by_kind == {"report": 1} and all(n.new == 0 for n in news[1:])
    assert win.badge("exchange") == 1
    row = next(i for i in range(win.nav.count()) if win.nav.item(i).data(Qt.ItemDataRole.UserRole) == "exchange")
    assert win.nav.item(row).text() == "Trao đổi (1 mới)" and win.nav.item(row).font().bold()
    assert "1 báo cáo mới" in win.statusBar().currentMessage()
    assert progress.list_reports(prov.admin)[0].unit_code == unit.code   # really received
    win.show_page("exchange")   # seen: the badge goes
    assert win.badge("exchange") == 0 and win.nav.item(row).text() == "Trao đổi"
    # never two at once, never while locking
    watcher.running = True
    assert not watcher.check_now()
    watcher.running = False
    ops.runner().delivering = False
    try:
        assert not watcher.check_now()
    finally:
        ops.runner().resume()


def test_unit_hears_of_the_return_and_the_dashboard_flags_it(qtbot, two_offices):
    from desktop.ui.main_window import MainWindow

    o = two_offices
    prov, unit = o.province, o.unit
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:1]
    rid = approved_report(unit, {codes[0]: {"numerator": 1, "denominator": 2}})
    exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    exchange.scan_inbox(prov.admin)
    prov_rid = progress.list_reports(prov.admin)[0].id
    exchange.return_report(prov.admin, prov_rid, "Thiếu minh chứng quý I", {codes[0]: "Ghi rõ mẫu số"})

    win = MainWindow(unit.approver, unit.vault)
    qtbot.addWidget(win)
    win.resize(1366, 698)
    win.show()
    dash = win.page_widget("home")
    assert not dash.returned_box.isVisible()
    tray_messages = []

    class Tray:
        def __init__(self, *_a):
            from PySide6.QtCore import QObject, Signal

            class S(QObject):
                messageClicked = Signal()
                activated = Signal(object)

            self.s = S()
            self.messageClicked, self.activated = self.s.messageClicked, self.s.activated

        def showMessage(self, title, text, *_a):
            tray_messages.append((title, text))

    win.inbox._tray_factory = Tray
    assert win.inbox.check_now()
    assert tray_messages and "1 báo cáo bị trả lại" in tray_messages[0][1] and "1 xác nhận đã nhận" in tray_messages[0][1]
    assert win.badge("exchange") == 2
    # the dashboard refreshed by itself (Changes.REPORTS) and flags the return
    assert dash.returned_box.isVisible()
    text = dash.returned_text.text()
    assert text.startswith("Báo cáo kỳ Quý I/2025 đã bị trả lại: Thiếu minh chứng quý I")
    assert "1 mục tiêu" in text
    # the tray message leads to the exchange page
    tray_messages.clear()
    win.inbox.tray.messageClicked.emit()
    assert win.current_key() == "exchange"
    # the button opens the returned report in the entry form
    win.show_page("home")
    dash.returned_button.click()
    assert win.current_key() == "entry"
    form = win.page_widget("entry")
    assert form.report is not None and form.report.id == rid


def test_data_entry_officer_gets_no_inbox_check(qtbot, created):
    from desktop.ui.main_window import MainWindow

    vault, _admin, _ = created
    session = vault.unlock("nhaplieu", ENTRY_PW)
    win = MainWindow(session, vault)
    qtbot.addWidget(win)
    assert not win.inbox.start() and not win.inbox.timer.isActive() and not win.inbox.check_now()
    win.close()
    session.lock()


def test_inbox_check_interval_follows_the_setting(qtbot, ctl):
    from desktop.models.services import settings

    _login(qtbot, ctl)
    assert ctl.main.inbox.timer.interval() == 5 * 60_000  # the default
    settings.set_value(ctl.session, "inbox_check_minutes", 30)
    ctl._apply_settings()  # what the settings page calls after saving
    assert ctl.main.inbox.timer.interval() == 30 * 60_000


# ------------------------------------------------------------------ 7. dashboard charts
def test_dashboard_charts_by_group_and_period_with_a_table_fallback(qtbot, qtmodeltester, created):
    from desktop.demo_data import fill_unit_progress
    from desktop.models.services import dashboard as dash
    from desktop.models.domain.status import Progress
    from desktop.ui.dashboard import DashboardPage

    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    fill_unit_progress(entry, "thanhhoa-cds-2025", 2025, 4)
    entry.lock()
    board = dash.build_dashboard(admin, "thanhhoa-cds-2025", date(2025, 4, 20))
    assert [p.short_label for p in board.periods] == ["T1", "T2", "T3", "T4"]
    assert [p.label for p in board.periods][0] == "Tháng 01/2025"
    last = board.periods[-1]
    assert (last.done, last.total) == (board.counts[Progress.HOAN_THANH], sum(board.counts.values()))
    assert board.periods[0].done <= last.done
    page = DashboardPage(admin, today=date(2025, 4, 20))
    qtbot.addWidget(page)
    page.plan_combo.setCurrentIndex(page.plan_combo.findData("thanhhoa-cds-2025"))
    page.resize(1146, 640)
    page.show()
    assert len(page.chart.bars) == len(board.groups) and len(page.period_chart.bars) == 4
    # accessible text: tooltip and description carry every figure
    summary = page.period_chart.toolTip()
    assert summary.splitlines()[0].startswith("Tháng 01/2025: ") and summary == page.period_chart.accessibleDescription()
    # the same figures as a table
    panel = page.period_panel
    panel.toggle.click()
    assert panel.stack.currentWidget() is panel.table and panel.toggle.text() == "Xem biểu đồ"
    assert panel.table.rowCount() == 4 and panel.table.item(3, 1).text() == f"{last.done}/{last.total}"
    panel.toggle.click()
    assert panel.stack.currentWidget() is page.period_chart
    assert not page.grab().isNull()
    # an empty plan year: a sentence, not an empty frame
    assert dash.completion_by_period(admin, "thanhhoa-cds-2025", date(2024, 12, 31)) == []
    page.close()


def test_returned_report_banner_without_a_province(qtbot, created):
    """`mark_returned` stands for the return bundle: the banner names the period and the reason."""
    from desktop.ui.dashboard import DashboardPage

    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    from desktop.demo_data import fill_unit_progress

    entry = vault.unlock("nhaplieu", ENTRY_PW)
    march = fill_unit_progress(entry, "thanhhoa-cds-2025", 2025, 4, approve_with=lambda: vault.unlock("lanhdao", APPROVER_PW))[2]
    entry.lock()
    progress.mark_sent(admin, march, "0" * 64)
    progress.mark_returned(admin, march, "Số liệu tháng 3 chưa khớp", {})
    page = DashboardPage(admin, today=date(2025, 4, 20))
    qtbot.addWidget(page)
    page.show()
    assert page.returned_box.isVisible()
    assert page.returned_text.text().startswith("Báo cáo kỳ Tháng 03/2025 đã bị trả lại: Số liệu tháng 3 chưa khớp")
    with qtbot.waitSignal(page.openReport) as opened:
        page.returned_button.click()
    assert opened.args == [march]
    page.close()


# ------------------------------------------------------------------ 8. geometry
def test_geometry_saved_on_a_larger_screen_fits_a_smaller_one(qtbot, ctl):
    """The offscreen screen is 800×800; a geometry stored on a 1920×1080 screen comes back inside it."""
    from PySide6.QtWidgets import QMainWindow

    from desktop.ui.main_window import geometry_key

    _login(qtbot, ctl)
    key = geometry_key("VKS-KV1-THA", ctl.session.user.id)
    ctl.lock()
    big = QMainWindow()
    big.setGeometry(1500, 900, 1800, 1000)   # as saved on a big screen, partly off this one
    QSettings().setValue(key, big.saveGeometry())
    big.deleteLater()
    _login(qtbot, ctl)
    room = ctl.main.screen().availableGeometry()
    assert room.contains(ctl.main.frameGeometry()), (room, ctl.main.frameGeometry())
    assert ctl.main.width() < 1800
    assert isinstance(QSettings().value(key), QByteArray | bytes)
