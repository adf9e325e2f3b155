"""Administration pages: users, backups and integrity check, audit log, settings.

Widgets call services in desktop.models and show plain dataclasses; permissions are enforced
by the services (a page may hide a button, but the service refuses regardless).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QSizePolicy, QSpinBox,
                               QTableView, QVBoxLayout, QWidget)

from desktop.models.services import accounts, auditlog, settings, units
from desktop.models.storage import audit
from desktop.models.domain.errors import AppError
from desktop.export.vnformat import fmt_datetime, fmt_int
from desktop.models.domain.i18n import fold, given_name_first
from desktop.models.storage.vault import AppSession, Permission, Role, Vault
from desktop.ui.fields import upper_case_as_typed
from desktop.ui.messages import MessageBox, show_error
from desktop.ui.table_models import SORT_ROLE, RowTableModel, sortable
from desktop.ui import ops
from desktop.ui import theme


class UserTableModel(RowTableModel):
    columns = [
        ("Tên đăng nhập", lambda u: u.username),
        ("Họ và tên", lambda u: u.full_name, lambda u: given_name_first(u.full_name)),
        ("Vai trò", lambda u: u.role.label),
        ("Trạng thái", lambda u: "Hoạt động" if u.active else "Vô hiệu"),
        ("Đăng nhập gần nhất", lambda u: fmt_datetime(u.last_login_at), lambda u: u.last_login_at),
    ]


@dataclass(frozen=True)
class AuditRow:
    """One audit record as the page shows it: local time, the user's full name, a readable action."""

    id: int
    when: datetime  # local time
    user: str
    action: str
    action_label: str
    subject: str  # in words (unit and plan names, the report's period)
    raw_subject: str = ""  # as recorded: codes and ids stay searchable

    @property
    def search_key(self) -> str:
        return fold(f"{self.user} {self.action_label} {self.subject} {self.raw_subject}")


def audit_rows(entries, names: dict[int, str], subjects: dict[int, str] | None = None) -> list[AuditRow]:
    subjects = subjects or {}
    out = []
    for e in entries:
        when = datetime.fromisoformat(e.ts)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        user = names.get(e.user_id, "") if e.user_id else QCoreApplication.translate("Audit", "(hệ thống)")
        out.append(AuditRow(e.id, when.astimezone().replace(tzinfo=None), user, e.action, e.label,
                            subjects.get(e.id, e.subject), e.subject))
    return out


class AuditTableModel(RowTableModel):
    columns = [
        ("STT", lambda e: e.id),
        ("Thời điểm", lambda e: fmt_datetime(e.when, seconds=True), lambda e: e.when),
        ("Người dùng", lambda e: e.user, lambda e: given_name_first(e.user)),
        ("Hành động", lambda e: e.action_label),
        ("Đối tượng", lambda e: e.subject),
    ]


class BackupTableModel(RowTableModel):
    columns = [
        ("Thời điểm", lambda b: fmt_datetime(b.created), lambda b: b.created),
        ("Loại", lambda b: {"auto": "Tự động", "manual": "Thủ công"}.get(b.reason, "Trước nâng cấp")),
        ("Nội dung", lambda b: "Dữ liệu và minh chứng" if b.complete else "Chỉ cơ sở dữ liệu"),
        ("Dung lượng CSDL", lambda b: fmt_int(round(b.size / 1024)) + " KB", lambda b: b.size),
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
    return sortable(view)


class PasswordDialog(QDialog):
    """New password twice (and the current one when changing one's own)."""

    def __init__(self, title: str, ask_current: bool, parent=None, with_identity: bool = False, submit=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.submit = submit  # called on OK; a refusal is shown here and the dialog stays open
        form = QFormLayout(self)
        self.username = QLineEdit(objectName="newUsername")
        self.full_name = QLineEdit(objectName="newFullName")
        self.role = QComboBox(objectName="newRole")
        for r in Role:
            self.role.addItem(r.label, r.value)
        # least privilege first: most new accounts are clerks; an administrator is a deliberate choice
        self.role.setCurrentIndex(self.role.findData(Role.DATA_ENTRY.value))
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
        self.problem = QLabel(objectName="dialogProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(theme.ERROR_TEXT)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Đồng ý"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _check(self) -> None:
        if self.new1.text() != self.new2.text():
            self.problem.setText(self.tr("Hai lần nhập mật khẩu mới chưa khớp."))
            return
        if self.submit is not None:
            try:
                self.submit(self)
            except AppError as exc:  # e.g. a name already taken: keep what was typed, say why
                self.problem.setText(exc.user_text())
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
        def submit(dlg) -> None:
            accounts.add_user(self.session, dlg.username.text(), dlg.full_name.text(), Role(dlg.role.currentData()),
                              dlg.new1.text())

        dlg = self.dialog_factory(self.tr("Thêm người dùng"), ask_current=False, parent=self, with_identity=True,
                                  submit=submit)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.refresh()

    def reset_password(self) -> None:
        user = self._selected()
        if user is None:
            MessageBox.info(self, self.tr("Người dùng"), self.tr("Hãy chọn một người dùng trong danh sách."))
            return
        dlg = self.dialog_factory(self.tr("Đặt lại mật khẩu cho {0}").format(user.username), ask_current=False, parent=self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        password = dlg.new1.text()
        ops.run(self, lambda: accounts.reset_password(self.session, user.id, password),
                lambda _r: MessageBox.info(self, self.tr("Đã đặt lại"),
                                           self.tr("Đã đặt mật khẩu mới cho {0}.").format(user.username)),
                changes=ops.Changes.ACCOUNTS, progress=self.tr("Đang đặt lại mật khẩu…"))

    def toggle_active(self) -> None:
        user = self._selected()
        if user is None:
            return
        ops.Op(self, lambda: accounts.set_active(self.session, user.id, not user.active),
               changes=ops.Changes.ACCOUNTS).finally_(self.refresh).run()

    def change_own(self) -> None:
        dlg = self.dialog_factory(self.tr("Đổi mật khẩu của tôi"), ask_current=True, parent=self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        current, new = dlg.current.text(), dlg.new1.text()
        ops.run(self, lambda: accounts.change_own_password(self.session, current, new),
                lambda _r: MessageBox.info(self, self.tr("Đã đổi"), self.tr("Mật khẩu đã được đổi.")),
                changes=ops.Changes.ACCOUNTS, progress=self.tr("Đang đổi mật khẩu…"))


class BackupPage(QWidget):
    """Backups of the whole unit (database, slot file, evidence) to backups/ and a second place,
    with progress; restore for the admin; the integrity check."""

    restored = Signal(object)  # RestoreResult: the session is locked, the user logs in again

    def __init__(self, session: AppSession, vault: Vault, parent=None):
        super().__init__(parent)
        self.session = session
        self.vault = vault
        self.model = BackupTableModel(self)
        self.view = _table(self.model)
        self.backup_button = QPushButton(self.tr("Sao lưu ngay"), objectName="backupNow")
        self.backup_to_button = QPushButton(self.tr("Sao lưu ra thư mục khác…"), objectName="backupTo")
        self.restore_button = QPushButton(self.tr("Khôi phục bản đã chọn…"), objectName="restoreSelected")
        self.restore_file_button = QPushButton(self.tr("Khôi phục từ tệp khác…"), objectName="restoreFile")
        self.check_button = QPushButton(self.tr("Kiểm tra toàn vẹn dữ liệu"), objectName="checkIntegrity")
        self.second_label = QLabel(objectName="secondPlace")
        self.second_label.setWordWrap(True)
        self.second_button = QPushButton(self.tr("Chọn nơi sao lưu thứ hai…"), objectName="chooseSecondPlace")
        self.status = QLabel(objectName="backupStatus")
        self.status.setWordWrap(True)
        can_restore = session.user.can(Permission.RESTORE)
        self.restore_button.setEnabled(can_restore)
        self.restore_file_button.setEnabled(can_restore)
        self.second_button.setEnabled(session.user.can(Permission.MANAGE_SETTINGS))
        row = QHBoxLayout()
        for b in (self.backup_button, self.backup_to_button, self.check_button):
            row.addWidget(b)
        row.addStretch(1)
        for b in (self.restore_button, self.restore_file_button):
            row.addWidget(b)
        second = QHBoxLayout()
        second.addWidget(self.second_label, 1)
        second.addWidget(self.second_button)
        note = QLabel(self.tr("Mỗi bản sao lưu gồm cơ sở dữ liệu, tệp khóa và toàn bộ tệp minh chứng, đều được mã hóa; "
                              "minh chứng đã có trong nơi sao lưu thì không chép lại. Ứng dụng tự sao lưu mỗi ngày khi đăng nhập "
                              "và giữ số bản tự động đặt trong Cài đặt. Chỉ Quản trị được khôi phục."))
        note.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(second)
        lay.addWidget(note)
        lay.addWidget(self.view)
        lay.addWidget(self.status)
        self.backup_button.clicked.connect(lambda: self.backup(None))
        self.backup_to_button.clicked.connect(self.backup_elsewhere)
        self.restore_button.clicked.connect(self.restore_selected)
        self.restore_file_button.clicked.connect(self.restore_file)
        self.second_button.clicked.connect(self.choose_second_place)
        self.check_button.clicked.connect(self.check)
        self.refresh()

    def refresh(self) -> None:
        self.model.set_rows(self.vault.list_backups())
        place = self.vault.second_place(self.session)
        self.second_label.setText(self.tr("Nơi sao lưu thứ hai: {0}").format(place) if place else
                                  self.tr("Nơi sao lưu thứ hai: chưa chọn (nên chọn một ổ đĩa khác hoặc thư mục dùng chung)."))

    def backup(self, dest) -> None:
        from desktop.ui.backup_ui import ProgressRunner

        self.status.setText(self.tr("Đang sao lưu…"))

        def done(result):
            text = self.tr("Đã sao lưu: {0}\nMinh chứng: {1} tệp, chép mới {2} tệp ({3} MB) — {4} nơi.").format(
                result.path, result.blobs_total, result.blobs_copied,
                f"{result.bytes_copied / 1048576:.1f}".replace(".", ","), len(result.places))
            if result.second_place_error:
                text += self.tr("\nCHƯA sao lưu được vào nơi thứ hai: {0}").format(result.second_place_error)
            self.status.setText(text)
            self.status.setStyleSheet(theme.ERROR_TEXT if result.second_place_error else "")
            self.refresh()

        def failed(exc):
            self.status.setText("")
            show_error(self, exc, self.tr("Không sao lưu được"))

        self.runner = ProgressRunner(self, self.tr("Đang sao lưu…"))
        self.runner.start(lambda progress, cancel: self.vault.backup(self.session, dest, progress, cancel), done, failed)

    def backup_elsewhere(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Chọn thư mục lưu bản sao"))
        if folder:
            self.backup(Path(folder))

    def choose_second_place(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Chọn nơi sao lưu thứ hai (ổ đĩa khác, thư mục dùng chung)"))
        if not folder:
            return
        try:
            settings.set_value(self.session, "backup_second_folder", folder)
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def _selected(self):
        idx = self.view.selectionModel().selectedRows()
        return self.model.row(idx[0].row()) if idx else None

    def restore_selected(self) -> None:
        info = self._selected()
        if info is None:
            MessageBox.info(self, self.tr("Khôi phục"), self.tr("Hãy chọn một bản sao lưu trong danh sách."))
            return
        self.restore_path(info.path, self.tr("lúc {0}").format(fmt_datetime(info.created)))

    def restore_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Chọn bản sao lưu"), "",
                                              self.tr("Bản sao lưu VKS CĐS (vks-cds-*.db)"))
        if name:
            self.restore_path(Path(name), Path(name).name)

    def restore_path(self, path: Path, when: str) -> None:
        from desktop.ui.backup_ui import restore_flow

        restore_flow(self, lambda progress, cancel: self.vault.prepare_restore(self.session, path, progress, cancel),
                     lambda plan, progress: self.vault.restore(self.session, path, allow_missing=True,
                                                              progress=progress, plan=plan),
                     when, self.restored.emit)

    def check(self) -> None:
        self.status.setText(self.tr("Đang kiểm tra…"))

        def done(problems):
            if problems:
                self.status.setText(self.tr("PHÁT HIỆN LỖI:\n") + "\n".join(problems[:20]))
                self.status.setStyleSheet(theme.ERROR_TEXT)
                from desktop.models.domain.errors import DamagedDatabase
                from desktop.ui.messages import route_damage

                route_damage(DamagedDatabase("; ".join(problems[:3])))
            else:
                self.status.setText(self.tr("Kiểm tra toàn vẹn: đạt (integrity_check và cipher_integrity_check)."))
                self.status.setStyleSheet(theme.OK_TEXT)

        ops.run(self, lambda: self.vault.background_check(self.session), done,
                progress=self.tr("Đang kiểm tra toàn vẹn dữ liệu…"), cancellable=True)


class AuditPage(QWidget):
    """Nhật ký: local times, full names, search, filter by action, sort by any column, export to
    Excel, and the chain check."""

    LIMIT = 5000

    def __init__(self, session: AppSession, parent=None):
        super().__init__(parent)
        self.session = session
        self._all: list[AuditRow] = []
        self.model = AuditTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = _table(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.search = QLineEdit(objectName="auditSearch")
        self.search.setPlaceholderText(self.tr("Tìm theo người dùng, hành động, đối tượng (không cần dấu)…"))
        self.search.setClearButtonEnabled(True)
        self.action = QComboBox(objectName="auditAction")
        self.export_button = QPushButton(self.tr("Xuất Excel…"), objectName="exportAudit")
        self.verify_button = QPushButton(self.tr("Kiểm tra tính toàn vẹn"), objectName="verifyAudit")
        self.count = QLabel(objectName="auditCount")
        self.result = QLabel(objectName="auditResult")
        self.result.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.search, 2)
        top.addWidget(self.action, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.verify_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.result)
        lay.addWidget(self.view)
        lay.addWidget(self.count)
        self.search.textChanged.connect(self._apply_filter)
        self.action.currentIndexChanged.connect(self._apply_filter)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self.export)
        self.save_path_provider = self._ask_save_path
        self.refresh()

    def refresh(self) -> None:
        if not self.session.user.can(Permission.VIEW_AUDIT):
            self._all = []
            self.model.set_rows([])
            self.result.setText(self.tr("Chỉ Quản trị và Lãnh đạo đơn vị xem được nhật ký."))
            for w in (self.search, self.action, self.export_button, self.verify_button):
                w.setEnabled(False)
            return
        names = {u.id: (u.full_name or u.username) for u in accounts.list_users(self.session)}
        entries = audit.list_entries(self.session, self.LIMIT)
        self._all = audit_rows(entries, names, auditlog.subjects(self.session, entries))
        current = self.action.currentData()
        self.action.blockSignals(True)
        self.action.clear()
        self.action.addItem(self.tr("Mọi hành động"), None)
        for code, label in sorted({(r.action, r.action_label) for r in self._all}, key=lambda x: fold(x[1])):
            self.action.addItem(label, code)
        self.action.setCurrentIndex(max(0, self.action.findData(current)))
        self.action.blockSignals(False)
        self._apply_filter()

    def visible_rows(self) -> list[AuditRow]:
        return [self.model.row(self.proxy.mapToSource(self.proxy.index(i, 0)).row())
                for i in range(self.proxy.rowCount())]

    def _apply_filter(self) -> None:
        words = fold(self.search.text()).split()
        action = self.action.currentData()
        rows = [r for r in self._all if (action is None or r.action == action)
                and all(w in r.search_key for w in words)]
        self.model.set_rows(rows)
        self.count.setText(self.tr("{0} bản ghi").format(fmt_int(len(rows))))

    def _ask_save_path(self) -> str:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Xuất nhật ký"), "nhat-ky.xlsx",
                                              self.tr("Bảng tính Excel (*.xlsx)"))
        return path

    def export(self) -> None:
        """The rows shown (after search and filter), in the order shown, as an Excel sheet."""
        path = self.save_path_provider()
        if not path:
            return
        try:
            from desktop.export.xlsx import write_table_xlsx
            from desktop.fsutil import atomic_write_bytes

            buf = io.BytesIO()
            write_table_xlsx(self.tr("Nhật ký"), list(self.model.COLUMNS),
                             [[r.id, r.when, r.user, r.action_label, r.subject] for r in self.visible_rows()], buf)
            atomic_write_bytes(Path(path), buf.getvalue())
        except Exception as exc:
            show_error(self, exc, self.tr("Không xuất được nhật ký"))
            return
        MessageBox.info(self, self.tr("Đã xuất"), self.tr("Đã lưu nhật ký vào {0}.").format(Path(path).name))

    def verify(self) -> None:
        def shown(problems) -> None:
            self.result.setText(self.tr("✓ Nhật ký nguyên vẹn: không bản ghi nào bị sửa, xóa hay đảo thứ tự.")
                                if not problems else "; ".join(problems[:5]))
            self.result.setStyleSheet(theme.ok_or_error(not problems))

        ops.run(self, lambda: audit.verify(self.session), shown,
                progress=self.tr("Đang kiểm tra chuỗi băm nhật ký…"), cancellable=True)


class SettingsPage(QWidget):
    """Cài đặt: the office's identity as printed, the shared folder (with Browse and a connection
    check), auto-lock, evidence size and backups kept. Only the administrator saves; everyone
    else sees why the form is read-only."""

    def __init__(self, session: AppSession, on_changed=None, parent=None):
        super().__init__(parent)
        self.session = session
        self.on_changed = on_changed
        self.can_edit = session.user.can(Permission.MANAGE_SETTINGS)
        values = settings.get_all(session)
        outer = QVBoxLayout(self)

        unit_box = QGroupBox(self.tr("Thông tin đơn vị (in trên văn bản)"))
        uf = QFormLayout(unit_box)
        me = units.own_unit(session)
        parent_unit = units.get_unit(session, me.parent_code) if me.parent_code else None
        self.unit_code = QLineEdit(me.code, objectName="ownUnitCode")
        self.unit_name = QLineEdit(me.name, objectName="ownUnitName")
        self.unit_short = QLineEdit(me.short_name, objectName="ownUnitShortName")
        self.unit_place = QLineEdit(me.place_name, objectName="ownUnitPlace")
        self.unit_symbol = QLineEdit(me.doc_symbol, objectName="ownUnitSymbol")
        self.parent_code = QLineEdit(me.parent_code or "", objectName="ownParentCode")
        self.parent_name = QLineEdit(parent_unit.name if parent_unit else "", objectName="ownParentName")
        code_free = units.code_change_allowed(session)
        self.unit_code.setReadOnly(not (self.can_edit and code_free))
        uf.addRow(self.tr("Mã đơn vị"), self.unit_code)
        if not code_free:
            note = QLabel(self.tr("Mã đơn vị đã gắn vào khóa ký và các lần trao đổi nên không đổi được."),
                          objectName="unitCodeNote")
            note.setWordWrap(True)
            note.setStyleSheet(theme.MUTED_TEXT)
            uf.addRow("", note)
        uf.addRow(self.tr("Tên đầy đủ"), self.unit_name)
        uf.addRow(self.tr("Tên viết tắt"), self.unit_short)
        uf.addRow(self.tr("Địa danh"), self.unit_place)
        uf.addRow(self.tr("Ký hiệu văn bản"), self.unit_symbol)
        uf.addRow(self.tr("Mã đơn vị cấp trên"), self.parent_code)
        uf.addRow(self.tr("Tên đơn vị cấp trên"), self.parent_name)
        for edit in (self.unit_code, self.parent_code):
            upper_case_as_typed(edit)
        outer.addWidget(unit_box)

        share_box = QGroupBox(self.tr("Trao đổi qua thư mục dùng chung"))
        sf = QFormLayout(share_box)
        self.share = QLineEdit(values["share_folder"], objectName="shareFolder")
        self.share.setPlaceholderText(r"\\may-chu\chia-se\VKS-CDS")
        self.browse = QPushButton(self.tr("Chọn…"), objectName="browseShare")
        self.test_share = QPushButton(self.tr("Kiểm tra kết nối"), objectName="testShare")
        row = QHBoxLayout()
        row.addWidget(self.share, 1)
        row.addWidget(self.browse)
        row.addWidget(self.test_share)
        self.share_status = QLabel(objectName="shareStatus")
        self.share_status.setWordWrap(True)
        self.share_status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        sf.addRow(self.tr(settings.SPECS["share_folder"].label), row)
        sf.addRow("", self.share_status)
        self.inbox_minutes = self._spin("inboxCheckMinutes", settings.SPECS["inbox_check_minutes"], values,
                                        self.tr(" phút"))
        self.inbox_minutes.setToolTip(self.tr("Khi đặt thư mục dùng chung, phần mềm tự xem có báo cáo, xác nhận "
                                              "hoặc kế hoạch mới gửi đến sau mỗi khoảng thời gian này."))
        sf.addRow(self.tr(settings.SPECS["inbox_check_minutes"].label), self.inbox_minutes)
        self.browse.clicked.connect(self._browse_share)
        self.test_share.clicked.connect(self.check_share)
        outer.addWidget(share_box)

        other = QGroupBox(self.tr("An toàn và lưu trữ"))
        of = QFormLayout(other)
        spec = settings.SPECS["auto_lock_minutes"]
        self.auto_lock = self._spin("autoLockMinutes", spec, values, self.tr(" phút"))
        self.evidence_mb = self._spin("evidenceMaxMb", settings.SPECS["evidence_max_mb"], values, " MB")
        self.backup_keep = self._spin("backupKeep", settings.SPECS["backup_keep"], values, self.tr(" bản"))
        of.addRow(self.tr(spec.label), self.auto_lock)
        of.addRow(self.tr(settings.SPECS["evidence_max_mb"].label), self.evidence_mb)
        of.addRow(self.tr(settings.SPECS["backup_keep"].label), self.backup_keep)
        outer.addWidget(other)

        from desktop.ui.token_sign import SignatureSettingsBox

        self.signing = SignatureSettingsBox(session, self)
        outer.addWidget(self.signing)

        self.save_button = QPushButton(self.tr("Lưu cài đặt"), objectName="saveSettings")
        self.save_button.clicked.connect(self.save)
        self.readonly_note = QLabel(self.tr("Chỉ tài khoản Quản trị được thay đổi cài đặt; bạn đang xem ở chế độ chỉ đọc."),
                                    objectName="settingsReadOnly")
        self.readonly_note.setWordWrap(True)
        self.readonly_note.setStyleSheet(theme.MUTED_TEXT)
        bottom = QHBoxLayout()
        bottom.addWidget(self.readonly_note, 1)
        bottom.addStretch(1)
        bottom.addWidget(self.save_button)
        outer.addLayout(bottom)
        outer.addStretch(1)
        for box in (unit_box, share_box, other, self.signing):
            box.setMaximumWidth(960)  # long lines of empty field are hard to read on a wide screen
        self.save_button.setVisible(self.can_edit)
        self.readonly_note.setVisible(not self.can_edit)
        if not self.can_edit:
            for w in (self.unit_name, self.unit_short, self.unit_place, self.unit_symbol, self.parent_code,
                      self.parent_name, self.share):
                w.setReadOnly(True)
            for w in (self.auto_lock, self.evidence_mb, self.backup_keep, self.inbox_minutes, self.browse):
                w.setEnabled(False)

    @staticmethod
    def _spin(name: str, spec, values, suffix: str) -> QSpinBox:
        box = QSpinBox(objectName=name)
        box.setRange(spec.minimum, spec.maximum)
        box.setSuffix(suffix)
        box.setValue(values[spec.key])
        return box


    def _browse_share(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Chọn thư mục dùng chung"), self.share.text())
        if path:
            self.share.setText(path)
            self.check_share()

    def check_share(self) -> bool:
        """Write and remove a probe file; show the result next to the field."""
        try:
            settings.check_share_folder(self.share.text())
        except AppError as exc:
            self.share_status.setText(exc.user_text())
            self.share_status.setStyleSheet(theme.ERROR_TEXT)
            return False
        ok = bool(self.share.text().strip())
        self.share_status.setText(self.tr("✓ Kết nối được, ghi được vào thư mục.") if ok else
                                  self.tr("Chưa đặt thư mục dùng chung: chưa gửi, nhận báo cáo được."))
        self.share_status.setStyleSheet(theme.OK_TEXT if ok else theme.MUTED_TEXT)
        return True

    def save(self) -> None:
        if self.share.text().strip() != settings.get(self.session, "share_folder") and not self.check_share():
            if not MessageBox.question(self, self.tr("Thư mục dùng chung"),
                                       self.share_status.text() + "\n\n" +
                                       self.tr("Vẫn lưu đường dẫn này (ví dụ máy chủ đang tạm tắt)?")):
                return
        try:
            units.update_own_unit(self.session, units.OwnUnitChange(
                code=self.unit_code.text(), name=self.unit_name.text(), short_name=self.unit_short.text(),
                place_name=self.unit_place.text(), doc_symbol=self.unit_symbol.text(),
                parent_code=self.parent_code.text() or None, parent_name=self.parent_name.text()))
            settings.set_value(self.session, "auto_lock_minutes", self.auto_lock.value())
            settings.set_value(self.session, "evidence_max_mb", self.evidence_mb.value())
            settings.set_value(self.session, "backup_keep", self.backup_keep.value())
            settings.set_value(self.session, "inbox_check_minutes", self.inbox_minutes.value())
            settings.set_value(self.session, "share_folder", self.share.text().strip())
            self.signing.save()
        except Exception as exc:
            show_error(self, exc)
            return
        if self.on_changed:
            self.on_changed()
        MessageBox.info(self, self.tr("Cài đặt"), self.tr("Đã lưu cài đặt."))
