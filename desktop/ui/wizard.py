"""First-run wizard: unit identity, first administrator, recovery sheet.

The recovery code is shown once, on the last page, and can be printed or saved as a PDF sheet;
the wizard cannot be finished until the user confirms the code is stored safely.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QVBoxLayout, QWizard, QWizardPage)

from desktop.models.domain.plan import UnitCodeError, normalize_unit_code
from desktop.models.domain.errors import AppError
from desktop.models.domain.i18n import nfc
from desktop.models.storage.vault import MIN_PASSWORD_LEN, UnitIdentity, Vault, check_password_policy, check_username
from desktop.ui.fields import upper_case_as_typed
from desktop.ui.messages import MessageBox, show_error
from desktop.ui import theme

log = logging.getLogger(__name__)


class UnitPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle(self.tr("Thông tin đơn vị"))
        self.setSubTitle(self.tr("Các thông tin này in trên báo cáo theo thể thức Nghị định 30/2020/NĐ-CP."))
        form = QFormLayout(self)
        self.code = QLineEdit(objectName="unitCode")
        self.code.setPlaceholderText(self.tr("ví dụ: VKS-KV1-THA"))
        self.name = QLineEdit(objectName="unitName")
        self.name.setPlaceholderText(self.tr("ví dụ: Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa"))
        self.level = QComboBox(objectName="unitLevel")
        self.level.addItem(self.tr("VKSND khu vực (trước đây cấp huyện)"), "khu_vuc")
        self.level.addItem(self.tr("VKSND tỉnh/thành phố"), "tinh")
        self.level.addItem(self.tr("VKSND tối cao"), "toi_cao")
        self.parent_code = QLineEdit(objectName="parentCode")
        self.parent_code.setPlaceholderText(self.tr("ví dụ: VKS-THA"))
        self.parent_name = QLineEdit(objectName="parentName")
        self.parent_name.setPlaceholderText(self.tr("ví dụ: Viện kiểm sát nhân dân tỉnh Thanh Hóa"))
        self.place = QLineEdit(objectName="placeName")
        self.place.setPlaceholderText(self.tr("địa danh trên văn bản, ví dụ: Thanh Hóa"))
        self.symbol = QLineEdit(objectName="docSymbol")
        self.symbol.setPlaceholderText(self.tr("ký hiệu viết tắt, ví dụ: VKSKV1"))
        form.addRow(self.tr("Mã đơn vị *"), self.code)
        form.addRow(self.tr("Tên đầy đủ *"), self.name)
        form.addRow(self.tr("Cấp"), self.level)
        form.addRow(self.tr("Mã đơn vị cấp trên"), self.parent_code)
        form.addRow(self.tr("Tên đơn vị cấp trên"), self.parent_name)
        form.addRow(self.tr("Địa danh"), self.place)
        form.addRow(self.tr("Ký hiệu văn bản"), self.symbol)
        self.code_feedback = QLabel(objectName="unitCodeFeedback")
        self.code_feedback.setWordWrap(True)
        self.code_feedback.setStyleSheet(theme.ERROR_TEXT)
        form.addRow("", self.code_feedback)
        for w in (self.code, self.parent_code):
            upper_case_as_typed(w)
        for w in (self.code, self.name, self.parent_code):
            w.textChanged.connect(self._check)
        self._check()


    def _code_problem(self) -> str:
        for edit, optional in ((self.code, False), (self.parent_code, True)):
            if optional and not edit.text().strip():
                continue
            if not edit.text().strip():
                return ""  # nothing typed yet: no reproach, Next stays disabled
            try:
                normalize_unit_code(edit.text())
            except UnitCodeError as exc:
                return str(exc)
        return ""

    def _check(self) -> None:
        self.code_feedback.setText(self._code_problem())
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return (bool(self.code.text().strip()) and bool(self.name.text().strip())
                and not self._code_problem())

    def identity(self) -> UnitIdentity:
        parent = self.parent_code.text().strip()
        return UnitIdentity(code=normalize_unit_code(self.code.text()), name=nfc(self.name.text()).strip(),
                            parent_code=normalize_unit_code(parent) if parent else None,
                            parent_name=nfc(self.parent_name.text()).strip(), place_name=nfc(self.place.text()).strip(),
                            doc_symbol=nfc(self.symbol.text()).strip(), level=self.level.currentData())


class AdminPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle(self.tr("Tài khoản quản trị đầu tiên"))
        self.setSubTitle(self.tr("Mật khẩu không được lưu ở đâu cả; ứng dụng không có chức năng ghi nhớ mật khẩu."))
        form = QFormLayout(self)
        self.username = QLineEdit(objectName="adminUser")
        self.full_name = QLineEdit(objectName="adminFullName")
        self.password = QLineEdit(objectName="adminPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password2 = QLineEdit(objectName="adminPassword2")
        self.password2.setEchoMode(QLineEdit.EchoMode.Password)
        self.feedback = QLabel(objectName="passwordFeedback")
        self.feedback.setWordWrap(True)
        form.addRow(self.tr("Tên đăng nhập *"), self.username)
        form.addRow(self.tr("Họ và tên"), self.full_name)
        form.addRow(self.tr("Mật khẩu *"), self.password)
        form.addRow(self.tr("Nhập lại mật khẩu *"), self.password2)
        form.addRow(self.feedback)
        for w in (self.username, self.password, self.password2):
            w.textChanged.connect(self._validate)
        self._ok = False
        self._validate()

    def _validate(self) -> None:
        problems = []
        try:
            check_username(self.username.text())
        except AppError as exc:
            problems.append(exc.message)
        try:
            check_password_policy(self.username.text(), self.password.text())
        except AppError as exc:
            problems.append(exc.message)
        if self.password.text() != self.password2.text():
            problems.append(self.tr("Hai lần nhập mật khẩu chưa khớp."))
        self._ok = not problems
        if not self.username.text() and not self.password.text():
            self.feedback.setText(self.tr("Mật khẩu ít nhất {0} ký tự, không chứa tên đăng nhập.").format(MIN_PASSWORD_LEN))
            self.feedback.setStyleSheet(theme.MUTED_TEXT)
        else:
            self.feedback.setText("\n".join(problems) if problems else self.tr("✓ Mật khẩu hợp lệ"))
            self.feedback.setStyleSheet(theme.ERROR_TEXT if problems else theme.OK_TEXT)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._ok


class RecoveryPage(QWizardPage):
    printRequested = Signal()

    def __init__(self):
        super().__init__()
        self.setTitle(self.tr("Mã khôi phục"))
        self.setSubTitle(self.tr("Mã này mở được dữ liệu khi quên mật khẩu. Nó chỉ hiện một lần: hãy in phiếu và cất vào két."))
        lay = QVBoxLayout(self)
        self.code_label = QLabel(objectName="recoveryCodeLabel")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSize(mono.pointSize() + 8)
        mono.setBold(True)
        self.code_label.setFont(mono)
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.code_label.setStyleSheet(theme.RECOVERY_CODE)
        lay.addWidget(self.code_label)
        row = QHBoxLayout()
        self.save_pdf = QPushButton(self.tr("Lưu phiếu khôi phục (PDF)…"), objectName="saveRecoverySheet")
        row.addWidget(self.save_pdf)
        row.addStretch(1)
        lay.addLayout(row)
        warn = QLabel(self.tr("Không chụp ảnh, không gửi qua mạng, không lưu mã trên máy tính. "
                              "Ai có mã này đều mở được dữ liệu của đơn vị."))
        warn.setWordWrap(True)
        warn.setStyleSheet(theme.ERROR_TEXT)
        lay.addWidget(warn)
        self.confirm = QCheckBox(self.tr("Tôi đã in hoặc chép lại mã khôi phục và cất giữ an toàn"), objectName="confirmStored")
        self.confirm.toggled.connect(self.completeChanged)
        lay.addWidget(self.confirm)
        lay.addStretch(1)

    def isComplete(self) -> bool:
        return self.confirm.isChecked()


class FirstRunWizard(QWizard):
    """Emits `created(AppSession)` when the vault exists and the recovery code was acknowledged."""

    created = Signal(object)

    def __init__(self, vault: Vault, kdf=None, parent=None):
        super().__init__(parent)
        self.vault = vault
        self._kdf = kdf
        self.session = None
        self._recovery_code = ""
        self.setWindowTitle(self.tr("VKS CĐS — Thiết lập lần đầu"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(640, 520)
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("Tiếp >"))
        self.setButtonText(QWizard.WizardButton.BackButton, self.tr("< Quay lại"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("Hoàn tất"))
        self.setButtonText(QWizard.WizardButton.CancelButton, self.tr("Hủy"))
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.unit_page = UnitPage()
        self.admin_page = AdminPage()
        self.recovery_page = RecoveryPage()
        self.addPage(self.unit_page)
        self.addPage(self.admin_page)
        self.addPage(self.recovery_page)
        self.recovery_page.save_pdf.clicked.connect(self.save_recovery_sheet)
        self.currentIdChanged.connect(self._on_page_changed)
        self.save_path_provider = self._ask_save_path

    def validateCurrentPage(self) -> bool:
        if self.currentPage() is self.admin_page and self.session is None:
            return self._create_vault()
        return super().validateCurrentPage()

    def _create_vault(self) -> bool:
        self.setCursor(Qt.CursorShape.WaitCursor)
        try:
            session, code = self.vault.create(self.unit_page.identity(), self.admin_page.username.text(),
                                              self.admin_page.password.text(), self.admin_page.full_name.text(),
                                              kdf=self._kdf)
            from desktop.models.services import plans

            plans.install_builtin_plans(session)
        except Exception as exc:
            show_error(self, exc, self.tr("Không khởi tạo được dữ liệu"))
            return False
        finally:
            self.unsetCursor()
        self.session = session
        self._recovery_code = code
        self.recovery_page.code_label.setText(code)
        self.admin_page.password.clear()
        self.admin_page.password2.clear()
        return True

    def _ask_save_path(self) -> str:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Lưu phiếu mã khôi phục"),
                                              "phieu-ma-khoi-phuc.pdf", self.tr("Tệp PDF (*.pdf)"))
        return path

    def save_recovery_sheet(self) -> None:
        path = self.save_path_provider()
        if not path:
            return
        try:
            from desktop.models.services.recovery import write_recovery_sheet

            write_recovery_sheet(self.session, self._recovery_code, path)
        except Exception as exc:
            show_error(self, exc, self.tr("Không lưu được phiếu khôi phục"))
            return
        MessageBox.info(self, self.tr("Đã lưu"), self.tr("Đã lưu phiếu tại {0}. Hãy in ra rồi xóa tệp này.").format(path))

    def _on_page_changed(self, _page_id: int) -> None:
        # Once the data exists, "Hủy" would only throw the one-time recovery code away.
        self.button(QWizard.WizardButton.CancelButton).setVisible(self.currentPage() is not self.recovery_page)

    def reject(self) -> None:
        """Escape, the title-bar ×, Hủy: before the unit exists this cancels; on the recovery page the
        unit already exists and its code is shown only now, so closing waits for the confirmation."""
        if self.session is not None and not self.recovery_page.confirm.isChecked():
            MessageBox.warning(self, self.tr("Chưa cất giữ mã khôi phục"),
                               self.tr("Dữ liệu của đơn vị đã được tạo. Mã khôi phục chỉ hiện một lần, ngay lúc này: "
                                       "hãy in phiếu hoặc chép lại mã, đánh dấu \u201cTôi đã … cất giữ an toàn\u201d "
                                       "rồi bấm Hoàn tất."))
            return
        if self.session is not None:
            self.accept()
            return
        super().reject()

    def done(self, result: int) -> None:
        self._recovery_code = ""
        self.recovery_page.code_label.clear()
        super().done(result)
        if result == QWizard.DialogCode.Accepted and self.session is not None:
            self.created.emit(self.session)
        elif self.session is not None:
            # Cancelled after creation: the data exists; lock it, the next start shows the login.
            self.session.lock()
            self.session = None


__all__ = ["FirstRunWizard"]
