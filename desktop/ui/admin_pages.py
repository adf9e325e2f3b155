"""Administration pages: users, backups and integrity check, audit log, settings.

Widgets call services in desktop.models and show plain dataclasses; permissions are enforced
by the services (a page may hide a button, but the service refuses regardless).
"""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QTableView, QVBoxLayout, QWidget)

from desktop.models import accounts, audit, settings
from desktop.models.vault import AppSession, Permission, Role, Vault
from desktop.ui.messages import MessageBox, show_error
from desktop.ui.table_models import RowTableModel
from desktop.ui.tasks import run_task


def _fmt_dt(dt) -> str:
    return dt.strftime("%d/%m/%Y %H:%M") if dt else ""


class UserTableModel(RowTableModel):
    columns = [
        ("Tên đăng nhập", lambda u: u.username),
        ("Họ và tên", lambda u: u.full_name),
        ("Vai trò", lambda u: u.role.label),
        ("Trạng thái", lambda u: "Hoạt động" if u.active else "Vô hiệu"),
        ("Đăng nhập gần nhất", lambda u: _fmt_dt(u.last_login_at)),
    ]


class AuditTableModel(RowTableModel):
    columns = [
        ("STT", lambda e: e.id),
        ("Thời điểm (UTC)", lambda e: e.ts.replace("T", " ")[:19]),
        ("Người dùng", lambda e: e.user_id or ""),
        ("Hành động", lambda e: e.label),
        ("Đối tượng", lambda e: e.subject),
    ]


class BackupTableModel(RowTableModel):
    columns = [
        ("Thời điểm", lambda b: _fmt_dt(b.created)),
        ("Loại", lambda b: {"auto": "Tự động", "manual": "Thủ công"}.get(b.reason, "Trước nâng cấp")),
        ("Dung lượng", lambda b: f"{b.size / 1024:,.0f} KB".replace(",", ".")),
        ("Tệp", lambda b: b.path.name),
    ]


def _table(model) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.verticalHeader().setVisible(False)
    view.setAlternatingRowColors(True)
    return view


class PasswordDialog(QDialog):
    """New password twice (and the current one when changing one's own)."""

    def __init__(self, title: str, ask_current: bool, parent=None, with_identity: bool = False):
        super().__init__(parent)
        self.setWindowTitle(title)
        form = QFormLayout(self)
        self.username = QLineEdit(objectName="newUsername")
        self.full_name = QLineEdit(objectName="newFullName")
        self.role = QComboBox(objectName="newRole")
        for r in Role:
            self.role.addItem(r.label, r.value)
        if with_identity:
            form.addRow(self.tr("Tên đăng nhập"), self.username)
            form.addRow(self.tr("Họ và tên"), self.full_name)
            form.addRow(self.tr("Vai trò"), self.role)
        self.current = QLineEdit(objectName="currentPassword")
        self.current.setEchoMode(QLineEdit.EchoMode.Password)
        if ask_current:
            form.addRow(self.tr("Mật khẩu hiện tại"), self.current)
        self.new1 = QLineEdit(objectName="newPassword")
        self.new1.setEchoMode(QLineEdit.EchoMode.Password)
        self.new2 = QLineEdit(objectName="newPassword2")
        self.new2.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Mật khẩu mới"), self.new1)
        form.addRow(self.tr("Nhập lại"), self.new2)
        form.addRow(QLabel(self.tr("Ít nhất 10 ký tự, không chứa tên đăng nhập.")))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Đồng ý"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _check(self) -> None:
        if self.new1.text() != self.new2.text():
            MessageBox.error(self, self.tr("Mật khẩu"), self.tr("Hai lần nhập mật khẩu mới chưa khớp."))
            return
        self.accept()


class UsersPage(QWidget):
    def __init__(self, session: AppSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.model = UserTableModel(self)
        self.view = _table(self.model)
        self.add_button = QPushButton(self.tr("Thêm người dùng…"), objectName="addUser")
        self.reset_button = QPushButton(self.tr("Đặt lại mật khẩu…"), objectName="resetPassword")
        self.toggle_button = QPushButton(self.tr("Vô hiệu hóa / kích hoạt"), objectName="toggleUser")
        self.own_button = QPushButton(self.tr("Đổi mật khẩu của tôi…"), objectName="changeOwnPassword")
        manage = session.user.can(Permission.MANAGE_USERS)
        for b in (self.add_button, self.reset_button, self.toggle_button):
            b.setEnabled(manage)
        row = QHBoxLayout()
        for b in (self.add_button, self.reset_button, self.toggle_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.own_button)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.view)
        self.add_button.clicked.connect(self.add_user)
        self.reset_button.clicked.connect(self.reset_password)
        self.toggle_button.clicked.connect(self.toggle_active)
        self.own_button.clicked.connect(self.change_own)
        self.dialog_factory = PasswordDialog
        self.refresh()

    def refresh(self) -> None:
        self.model.set_rows(accounts.list_users(self.session))

    def _selected(self):
        idx = self.view.selectionModel().selectedRows()
        return self.model.row(idx[0].row()) if idx else None

    def add_user(self) -> None:
        dlg = self.dialog_factory(self.tr("Thêm người dùng"), ask_current=False, parent=self, with_identity=True)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            accounts.add_user(self.session, dlg.username.text(), dlg.full_name.text(), Role(dlg.role.currentData()),
                              dlg.new1.text())
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def reset_password(self) -> None:
        user = self._selected()
        if user is None:
            MessageBox.info(self, self.tr("Người dùng"), self.tr("Hãy chọn một người dùng trong danh sách."))
            return
        dlg = self.dialog_factory(self.tr("Đặt lại mật khẩu cho {0}").format(user.username), ask_current=False, parent=self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            accounts.reset_password(self.session, user.id, dlg.new1.text())
            MessageBox.info(self, self.tr("Đã đặt lại"), self.tr("Đã đặt mật khẩu mới cho {0}.").format(user.username))
        except Exception as exc:
            show_error(self, exc)

    def toggle_active(self) -> None:
        user = self._selected()
        if user is None:
            return
        try:
            accounts.set_active(self.session, user.id, not user.active)
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def change_own(self) -> None:
        dlg = self.dialog_factory(self.tr("Đổi mật khẩu của tôi"), ask_current=True, parent=self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            accounts.change_own_password(self.session, dlg.current.text(), dlg.new1.text())
            MessageBox.info(self, self.tr("Đã đổi"), self.tr("Mật khẩu đã được đổi."))
        except Exception as exc:
            show_error(self, exc)


class BackupPage(QWidget):
    def __init__(self, session: AppSession, vault: Vault, parent=None):
        super().__init__(parent)
        self.session = session
        self.vault = vault
        self.model = BackupTableModel(self)
        self.view = _table(self.model)
        self.backup_button = QPushButton(self.tr("Sao lưu ngay"), objectName="backupNow")
        self.backup_to_button = QPushButton(self.tr("Sao lưu ra thư mục khác…"), objectName="backupTo")
        self.check_button = QPushButton(self.tr("Kiểm tra toàn vẹn dữ liệu"), objectName="checkIntegrity")
        self.status = QLabel(objectName="backupStatus")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        for b in (self.backup_button, self.backup_to_button, self.check_button):
            row.addWidget(b)
        row.addStretch(1)
        note = QLabel(self.tr("Bản sao lưu được mã hóa như dữ liệu gốc; ứng dụng tự sao lưu mỗi ngày khi đăng nhập và giữ 10 bản gần nhất. "
                              "Khôi phục: dùng lệnh “vks-cds restore TỆP” hoặc chọn khi ứng dụng báo dữ liệu hỏng."))
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(note)
        lay.addWidget(self.view)
        lay.addWidget(self.status)
        self.backup_button.clicked.connect(lambda: self.backup(None))
        self.backup_to_button.clicked.connect(self.backup_elsewhere)
        self.check_button.clicked.connect(self.check)
        self.refresh()

    def refresh(self) -> None:
        self.model.set_rows(self.vault.list_backups())

    def backup(self, dest) -> None:
        self.status.setText(self.tr("Đang sao lưu…"))

        def done(path):
            self.status.setText(self.tr("Đã sao lưu: {0}").format(path))
            self.refresh()

        def failed(exc):
            self.status.setText("")
            show_error(self, exc, self.tr("Không sao lưu được"))

        run_task(lambda: self.vault.backup_now(self.session, dest), done, failed)

    def backup_elsewhere(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Chọn thư mục lưu bản sao"))
        if folder:
            from pathlib import Path

            self.backup(Path(folder))

    def check(self) -> None:
        self.status.setText(self.tr("Đang kiểm tra…"))

        def done(problems):
            if problems:
                self.status.setText(self.tr("PHÁT HIỆN LỖI:\n") + "\n".join(problems[:20]))
                self.status.setStyleSheet("color: #b00020;")
            else:
                self.status.setText(self.tr("Kiểm tra toàn vẹn: đạt (integrity_check và cipher_integrity_check)."))
                self.status.setStyleSheet("color: #1b5e20;")

        run_task(lambda: self.vault.check(self.session.master_key()), done, lambda e: show_error(self, e))


class AuditPage(QWidget):
    def __init__(self, session: AppSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.model = AuditTableModel(self)
        self.view = _table(self.model)
        self.verify_button = QPushButton(self.tr("Kiểm tra chuỗi băm"), objectName="verifyAudit")
        self.result = QLabel(objectName="auditResult")
        row = QHBoxLayout()
        row.addWidget(self.verify_button)
        row.addWidget(self.result, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.view)
        self.verify_button.clicked.connect(self.verify)
        self.refresh()

    def refresh(self) -> None:
        if not self.session.user.can(Permission.VIEW_AUDIT):
            self.model.set_rows([])
            self.result.setText(self.tr("Chỉ Quản trị và Lãnh đạo đơn vị xem được nhật ký."))
            return
        self.model.set_rows(audit.list_entries(self.session, 500))

    def verify(self) -> None:
        try:
            problems = audit.verify(self.session)
        except Exception as exc:
            show_error(self, exc)
            return
        self.result.setText(self.tr("Nguyên vẹn") if not problems else "; ".join(problems[:5]))
        self.result.setStyleSheet("color: #1b5e20;" if not problems else "color: #b00020;")


class SettingsPage(QWidget):
    def __init__(self, session: AppSession, on_changed=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.on_changed = on_changed
        values = settings.get_all(session)
        form = QFormLayout(self)
        self.auto_lock = QSpinBox(objectName="autoLockMinutes")
        spec = settings.SPECS["auto_lock_minutes"]
        self.auto_lock.setRange(spec.minimum, spec.maximum)
        self.auto_lock.setSuffix(self.tr(" phút"))
        self.auto_lock.setValue(values["auto_lock_minutes"])
        self.share = QLineEdit(values["share_folder"], objectName="shareFolder")
        self.share.setPlaceholderText(r"\\may-chu\chia-se\VKS-CDS")
        self.save_button = QPushButton(self.tr("Lưu cài đặt"), objectName="saveSettings")
        self.save_button.setEnabled(session.user.can(Permission.MANAGE_SETTINGS))
        form.addRow(self.tr(spec.label), self.auto_lock)
        form.addRow(self.tr(settings.SPECS["share_folder"].label), self.share)
        form.addRow(self.save_button)
        self.save_button.clicked.connect(self.save)

    def save(self) -> None:
        try:
            settings.set_value(self.session, "auto_lock_minutes", self.auto_lock.value())
            settings.set_value(self.session, "share_folder", self.share.text().strip())
        except Exception as exc:
            show_error(self, exc)
            return
        if self.on_changed:
            self.on_changed()
        MessageBox.info(self, self.tr("Cài đặt"), self.tr("Đã lưu cài đặt."))
