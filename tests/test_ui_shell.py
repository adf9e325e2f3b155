"""The application shell with real widgets: wizard, login, main window, auto-lock, Ctrl+L."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from desktop.models.services import accounts
from desktop.models.storage.vault import Role
from desktop.fsutil import InstanceLock, InstanceLockedError
from desktop.ui.admin_pages import AuditTableModel, BackupTableModel, UserTableModel
from desktop.ui.app import AppController
from desktop.ui.messages import MessageBox

from conftest import ADMIN_PW, ENTRY_PW, FAST_KDF


@pytest.fixture(autouse=True)
def _clean_messages():
    MessageBox.shown.clear()
    yield
    MessageBox._next_answers.clear()


def test_first_run_wizard_creates_vault(qtbot, vault, data_dir, tmp_path):
    ctl = AppController(vault, kdf=FAST_KDF)
    ctl.start()
    wiz = ctl.wizard
    qtbot.addWidget(wiz)
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    qtbot.keyClicks(wiz.unit_page.code, "VKS-KV1-THA")
    # non-ASCII text cannot be typed through QTest key clicks; set it like an IME would
    wiz.unit_page.name.setText("Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa")
    wiz.unit_page.place.setText("Thanh Hóa")
    assert wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    wiz.next()
    page = wiz.admin_page
    qtbot.keyClicks(page.username, "quantri")
    qtbot.keyClicks(page.password, "ngan")
    assert not page.isComplete() and "ít nhất" in page.feedback.text()
    page.password.clear()
    qtbot.keyClicks(page.password, ADMIN_PW)
    qtbot.keyClicks(page.password2, ADMIN_PW + "x")
    assert not page.isComplete() and "chưa khớp" in page.feedback.text()
    page.password2.clear()
    qtbot.keyClicks(page.password2, ADMIN_PW)
    assert page.isComplete()
    wiz.next()
    assert wiz.currentPage() is wiz.recovery_page
    code = wiz.recovery_page.code_label.text()
    assert len(code) == 29 and code.count("-") == 4
    assert data_dir.joinpath("vks-cds.db").exists()
    # the recovery sheet is written where the user chooses
    sheet = tmp_path / "phieu.pdf"
    wiz.save_path_provider = lambda: str(sheet)
    MessageBox.set_next_answer(None)
    wiz.recovery_page.save_pdf.click()
    assert sheet.read_bytes().startswith(b"%PDF")
    assert not wiz.button(QWizard.WizardButton.FinishButton).isEnabled()
    wiz.recovery_page.confirm.setChecked(True)
    with qtbot.waitSignal(wiz.created):
        wiz.button(QWizard.WizardButton.FinishButton).click()
    assert ctl.session is not None and ctl.main is not None
    assert "khu vực 1" in ctl.main.windowTitle()
    assert code not in wiz.recovery_page.code_label.text()
    ctl.lock()
    assert ctl.session is None
    # the recovery code from the wizard opens the vault
    vault.unlock_with_recovery(code).lock()


@pytest.fixture
def controllers():
    made = []
    yield made
    for ctl in made:  # the controller owns (and deletes) its main window
        ctl.lock()
        ctl.login.close()


def _controller(qtbot, created, controllers=None):
    vault, session, _ = created
    session.lock()
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    if controllers is not None:
        controllers.append(ctl)
    return ctl


def _login(qtbot, ctl, user="admin", pw=ADMIN_PW):
    ctl.login.username.clear()
    qtbot.keyClicks(ctl.login.username, user)
    qtbot.keyClicks(ctl.login.password, pw)
    qtbot.keyClick(ctl.login.password, Qt.Key.Key_Return)


def test_login_wrong_then_right(qtbot, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl, pw="hoan-toan-sai-roi")
    assert ctl.session is None
    assert ctl.login.error.text().startswith("Sai tên đăng nhập hoặc mật khẩu")
    assert ctl.login.password.text() == ""
    _login(qtbot, ctl)
    assert ctl.session is not None and ctl.session.user.username == "admin"
    assert ctl.main.isVisible() and not ctl.login.isVisible()
    ctl.lock()


def test_ctrl_l_locks_and_clears(qtbot, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl)
    session = ctl.session
    ctl.main.activateWindow()
    ctl.main.lock_action.trigger()
    assert ctl.session is None and not session.is_unlocked
    assert ctl.login.isVisible() and ctl.login.password.text() == ""
    assert "khóa" in ctl.login.error.text()


def test_auto_lock_after_idle(qtbot, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl)
    session = ctl.session
    ctl.idle.set_minutes(0.002)  # ~120 ms
    qtbot.waitUntil(lambda: ctl.session is None, timeout=3000)
    assert not session.is_unlocked
    assert "tự khóa" in ctl.login.error.text().lower()


def test_input_postpones_auto_lock(qtbot, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl)
    ctl.idle.set_minutes(10)
    qtbot.wait(1000)
    before = ctl.idle.timer.remainingTime()
    qtbot.keyClick(ctl.main.nav, Qt.Key.Key_Down)   # input restarts the countdown (no race on a short one)
    assert ctl.idle.timer.remainingTime() > before
    assert ctl.session is not None
    ctl.lock()


def test_data_entry_sees_no_manage_buttons_and_service_refuses(qtbot, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl, "nhaplieu", ENTRY_PW)
    page = ctl.main.page_widget("users")
    assert not page.add_button.isEnabled()
    assert ctl.main.page_widget("audit") is None
    ctl.lock()


def test_main_pages_build_and_models(qtbot, qtmodeltester, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl)
    for key in ("home", "users", "backup", "audit", "settings"):
        ctl.main.show_page(key)
        assert ctl.main.page_widget(key) is not None
    users = ctl.main.page_widget("users")
    qtmodeltester.check(users.model)
    assert users.model.rowCount() == 3
    backup = ctl.main.page_widget("backup")
    backup.backup_button.click()
    assert "Đã sao lưu" in backup.status.text()
    qtmodeltester.check(backup.model)
    backup.check_button.click()
    assert "đạt" in backup.status.text()
    audit_page = ctl.main.page_widget("audit")
    audit_page.refresh()
    qtmodeltester.check(audit_page.model)
    audit_page.verify_button.click()
    assert "nguyên vẹn" in audit_page.result.text()
    settings_page = ctl.main.page_widget("settings")
    settings_page.auto_lock.setValue(3)
    MessageBox.set_next_answer(None)
    settings_page.save_button.click()
    assert ctl.idle.total_ms == 3 * 60_000
    ctl.lock()


def test_empty_models_pass_modeltester(qtmodeltester):
    for cls in (UserTableModel, AuditTableModel, BackupTableModel):
        qtmodeltester.check(cls())


def test_admin_adds_user_through_dialog(qtbot, created, controllers):
    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl)
    page = ctl.main.page_widget("users")

    class Prefilled:
        def __init__(self, *a, **k):
            from desktop.ui.admin_pages import PasswordDialog

            self.dlg = PasswordDialog(*a, **k)
            self.dlg.username.setText("canbo_moi")
            self.dlg.full_name.setText("Cán bộ mới")
            self.dlg.role.setCurrentIndex(1)
            self.dlg.new1.setText("mat-khau-can-bo-moi")
            self.dlg.new2.setText("mat-khau-can-bo-moi")

        def __getattr__(self, name):
            return getattr(self.dlg, name)

        def exec(self):
            self.dlg._check()  # the OK button
            return self.dlg.result()

    page.dialog_factory = Prefilled
    page.add_button.click()
    assert "canbo_moi" in [u.username for u in accounts.list_users(ctl.session)]

    kept = []

    class Duplicate(Prefilled):
        def exec(self):
            self.dlg.role.setCurrentIndex(self.dlg.role.findData(Role.DATA_ENTRY.value))
            self.dlg._check()
            kept.append((self.dlg.result(), self.dlg.username.text(), self.dlg.full_name.text(),
                         self.dlg.problem.text()))
            return self.dlg.result()

    before = accounts.list_users(ctl.session)
    page.dialog_factory = Duplicate
    page.add_button.click()
    result, username, full_name, problem = kept[0]
    assert result != 1 and (username, full_name) == ("canbo_moi", "Cán bộ mới")  # still open, nothing lost
    assert "canbo_moi" in problem
    assert accounts.list_users(ctl.session) == before
    ctl.lock()


def test_single_instance_lock(qapp, data_dir):
    data_dir.mkdir(parents=True)
    first = InstanceLock(data_dir)
    first.acquire()
    try:
        with pytest.raises(InstanceLockedError):
            InstanceLock(data_dir).acquire()
        # the GUI started a second time on the folder says so and exits with code 5
        from desktop.ui.app import run_gui

        MessageBox.set_next_answer(None)
        assert run_gui(str(data_dir)) == 5
        assert "không thể mở hai lần" in MessageBox.shown[-1][1]
        # so does a CLI command that needs the folder to itself
        r = subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(data_dir), "restore",
                            str(data_dir / "x.db"), "--recovery-code-stdin"],
                           input="AAAAA\n", capture_output=True, text=True, timeout=60)
        assert r.returncode == 5 and "đang mở" in r.stderr
    finally:
        first.release()
    InstanceLock(data_dir).acquire()


def test_qt_texts_are_vietnamese(qapp):
    from PySide6.QtWidgets import QDialogButtonBox

    from desktop.ui.app import install_translations

    install_translations(qapp)
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    assert box.button(QDialogButtonBox.StandardButton.Ok).text() == "Đồng ý"
    assert box.button(QDialogButtonBox.StandardButton.Cancel).text() == "Hủy"


def test_wizard_upper_cases_the_code_and_refuses_bad_ones(qtbot, vault):
    ctl = AppController(vault, kdf=FAST_KDF)
    ctl.start()
    wiz = ctl.wizard
    qtbot.addWidget(wiz)
    wiz.unit_page.name.setText("Viện kiểm sát nhân dân khu vực 9 - Thanh Hóa")
    qtbot.keyClicks(wiz.unit_page.code, "vks-kv9-tha")
    assert wiz.unit_page.code.text() == "VKS-KV9-THA"
    assert wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    qtbot.keyClicks(wiz.unit_page.code, "_x")
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "không hợp lệ" in wiz.unit_page.code_feedback.text()
    qtbot.keyClicks(wiz.unit_page.parent_code, "vks-tha")
    assert wiz.unit_page.parent_code.text() == "VKS-THA"
    wiz.unit_page.code.setText("VKS-KV9-THA")
    assert wiz.unit_page.code_feedback.text() == ""
    assert wiz.unit_page.identity().code == "VKS-KV9-THA"


def test_wizard_cannot_drop_the_recovery_code(qtbot, vault, data_dir):
    ctl = AppController(vault, kdf=FAST_KDF)
    ctl.start()
    wiz = ctl.wizard
    qtbot.addWidget(wiz)
    qtbot.keyClicks(wiz.unit_page.code, "VKS-KV1-THA")
    wiz.unit_page.name.setText("Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa")
    wiz.next()
    qtbot.keyClicks(wiz.admin_page.username, "quantri")
    qtbot.keyClicks(wiz.admin_page.password, ADMIN_PW)
    qtbot.keyClicks(wiz.admin_page.password2, ADMIN_PW)
    wiz.next()
    assert wiz.currentPage() is wiz.recovery_page
    assert not wiz.button(QWizard.WizardButton.CancelButton).isVisible()
    code = wiz.recovery_page.code_label.text()
    MessageBox.set_next_answer(None)
    wiz.reject()  # Escape or the title-bar ×
    assert wiz.isVisible() and wiz.recovery_page.code_label.text() == code
    assert "chỉ hiện một lần" in MessageBox.shown[-1][1]
    wiz.recovery_page.confirm.setChecked(True)
    with qtbot.waitSignal(wiz.created):
        wiz.reject()  # once stored, closing finishes the setup rather than throwing it away
    assert ctl.session is not None
    ctl.lock()


def test_window_fits_a_small_screen_and_remembers_geometry_per_user(qtbot, created, controllers):
    """The offscreen screen (800×600) is smaller than 1280×800: the first opening is maximised.
    A size the user chose comes back at the next login of that user, not of another one."""
    from PySide6.QtCore import QSettings

    from desktop.ui.main_window import geometry_key

    ctl = _controller(qtbot, created, controllers)
    _login(qtbot, ctl)
    admin_id = ctl.session.user.id
    assert ctl.main.isMaximized()
    ctl.main.showNormal()
    ctl.main.setGeometry(40, 30, 700, 520)
    ctl.lock()
    assert QSettings().value(geometry_key("VKS-KV1-THA", admin_id)) is not None
    # Only a hash names the user in the plain settings file.
    keys = " ".join(QSettings().allKeys())
    assert "admin" not in keys and "VKS" not in keys
    _login(qtbot, ctl)
    assert not ctl.main.isMaximized()
    assert (ctl.main.width(), ctl.main.height()) == (700, 520)
    ctl.lock()
    _login(qtbot, ctl, user="nhaplieu", pw=ENTRY_PW)
    assert ctl.main.isMaximized()          # another user: their own (first-time) geometry
    ctl.lock()


def test_entry_form_buttons_visible_at_1366x768(qtbot, created):
    """A 1366×768 screen leaves about 1366×698 for the window: the entry form's actions stay on screen."""
    from desktop.models.services import plans
    from desktop.ui.main_window import MainWindow

    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    session = vault.unlock("nhaplieu", ENTRY_PW)
    win = MainWindow(session, vault)
    qtbot.addWidget(win)
    win.resize(1366, 698)
    win.show()
    win.show_page("home")
    win.show_page("entry")
    qtbot.wait(10)
    assert win.height() <= 698
    form = win.page_widget("entry")
    for button in (form.undo_button, form.save_button, form.submit_button):
        assert button.isVisible()
        top_left = button.mapTo(win, button.rect().topLeft())
        bottom_right = button.mapTo(win, button.rect().bottomRight())
        assert win.rect().contains(top_left) and win.rect().contains(bottom_right), button.text()
    win.close()
    session.lock()
