"""The official digital signature in the UI: the PIN prompt at approval (or before sending), the
signature settings (token module, agency token, trust anchors) and the signature box of a
received report at the province. Widgets call `desktop.models.services.pdfsign` only.

The PIN lives in the dialog's line edit for the moment of signing and is never stored.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QInputDialog, QLabel, QLineEdit, QPushButton,
                               QTableView, QVBoxLayout)

from desktop.export.vnformat import fmt_date
from desktop.models.services import pdfsign, settings
from desktop.models.storage.vault import Permission
from desktop.ui import theme
from desktop.ui.messages import MessageBox, show_error
from desktop.ui.table_models import RowTableModel, sortable


def _t(text: str) -> str:
    return QCoreApplication.translate("TokenSign", text)


class PinDialog(QDialog):
    """Asks for a token's PIN. Tests pre-answer with `PinDialog.next_pins` (None = cancel)."""

    next_pins: list = []

    def __init__(self, what: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Ký số báo cáo"))
        lay = QFormLayout(self)
        note = QLabel(self.tr("Cắm USB token và nhập mã PIN của {0}.\nMã PIN không được lưu lại.").format(what))
        note.setWordWrap(True)
        lay.addRow(note)
        self.pin = QLineEdit(objectName="tokenPin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        lay.addRow(self.tr("Mã PIN"), self.pin)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Ký số"))
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        self.setMinimumWidth(380)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addRow(buttons)

    @classmethod
    def ask(cls, what: str, parent=None) -> str | None:
        if cls.next_pins:
            return cls.next_pins.pop(0)
        dlg = cls(what, parent)
        try:
            return dlg.pin.text() if dlg.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dlg.pin.clear()


def sign_interactively(parent, session, report_id: int, *, quiet_without_module: bool = True) -> bool:
    """Ask for the PIN(s) and sign the approved report. Without a configured module nothing pops
    up (`quiet_without_module`; the form's banner says the report is not signed); a missing
    token, a wrong PIN, a removed token or a bad certificate is said in Vietnamese. Returns
    True when the report was signed."""
    if not pdfsign.configured_module(session) and quiet_without_module:
        return False
    ok, why = pdfsign.token_available(session)
    if not ok:
        MessageBox.info(parent, _t("Chưa ký số"), why + "\n\n" + _t(
            "Báo cáo vẫn gửi được như trước (gói tin được ký bằng khóa của đơn vị); có thể ký số khi gửi."))
        return False
    agency = pdfsign.agency_token_label(session)
    while True:
        pin = PinDialog.ask(_t("lãnh đạo đơn vị (người duyệt)"), parent)
        if pin is None:
            return False
        agency_pin = None
        if agency and any(t.label == agency for t in _tokens(session)):
            agency_pin = PinDialog.ask(_t("cơ quan (token của văn thư: {0})").format(agency), parent)
        try:
            view = pdfsign.sign_report(session, report_id, pin, agency_pin=agency_pin)
        except pdfsign.SigningError as exc:
            show_error(parent, exc, _t("Chưa ký số được"))
            if exc.reason == "wrong_pin":
                continue
            return False
        except Exception as exc:  # noqa: BLE001 - shown, logged by show_error
            show_error(parent, exc, _t("Chưa ký số được"))
            return False
        MessageBox.info(parent, _t("Đã ký số"), _t("Báo cáo đã được ký số ({0} chữ ký).\nNgười ký: {1}\nThời gian ký: {2}")
                        .format(view.signatures, view.signer_name, view.signed_at_text))
        return True


def _tokens(session):
    try:
        return pdfsign.list_tokens(pdfsign.configured_module(session))
    except pdfsign.SigningError:
        return []


def signature_note(session, report_id: int) -> str:
    """One line for the entry form's banner: signed by whom, or why not."""
    view = pdfsign.signature_view(session, report_id)
    if view is not None:
        return _t("Đã ký số: {0}, {1}.").format(view.signer_name, view.signed_at_text)
    if not pdfsign.configured_module(session):
        return _t("Chưa ký số (chưa cài đặt USB token ký số; gói tin vẫn được ký bằng khóa của đơn vị).")
    return _t("Chưa ký số: cắm USB token và ký khi gửi báo cáo.")


# ------------------------------------------------------------------ settings
class TrustModel(RowTableModel):
    columns = [
        ("Loại", lambda x: x.kind_label),
        ("Chủ thể / Nơi cấp", lambda x: x.subject),
        ("Hạn đến", lambda x: fmt_date(x.not_after), lambda x: x.not_after),
        ("Tệp", lambda x: x.filename),
    ]


class SignatureSettingsBox(QGroupBox):
    """Chữ ký số: the token module (usual locations offered), the agency token, trust anchors."""

    def __init__(self, session, parent=None):
        super().__init__(_t("Chữ ký số chuyên dùng (USB token)"), parent)
        self.session = session
        can = session.user.can(Permission.MANAGE_SETTINGS)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.module = QComboBox(objectName="pkcs11Module")
        self.module.setEditable(True)
        current = pdfsign.configured_module(session)
        for p in dict.fromkeys([current, *pdfsign.module_candidates()]):
            if p:
                self.module.addItem(p)
        self.module.setCurrentText(current)
        self.module.lineEdit().setPlaceholderText(r"C:\Windows\System32\eps2003csp11.dll")
        browse = QPushButton(_t("Chọn tệp…"))
        browse.clicked.connect(self.browse)
        test = QPushButton(_t("Kiểm tra token"), objectName="testToken")
        test.clicked.connect(self.test_token)
        row = QHBoxLayout()
        row.addWidget(self.module, 1)
        row.addWidget(browse)
        row.addWidget(test)
        form.addRow(_t(settings.SPECS[pdfsign.MODULE_SETTING].label), row)
        self.agency = QLineEdit(pdfsign.agency_token_label(session), objectName="agencyToken")
        form.addRow(_t(settings.SPECS[pdfsign.AGENCY_TOKEN_SETTING].label), self.agency)
        lay.addLayout(form)
        lay.addWidget(QLabel(_t("Chứng thư CA tin cậy (CA gốc, CA trung gian) và danh sách thu hồi (CRL) "
                               "dùng để kiểm tra chữ ký số trên báo cáo nhận được:")))
        self.trust_model = TrustModel(self)
        self.trust_view = QTableView(objectName="trustAnchors")
        self.trust_view.setModel(self.trust_model)
        self.trust_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.trust_view.verticalHeader().setVisible(False)
        self.trust_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.trust_view.setMinimumHeight(110)
        sortable(self.trust_view)
        lay.addWidget(self.trust_view)
        buttons = QHBoxLayout()
        self.add_button = QPushButton(_t("Cài chứng thư / CRL từ tệp…"), objectName="addTrust")
        self.remove_button = QPushButton(_t("Gỡ"), objectName="removeTrust")
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        lay.addLayout(buttons)
        self.add_button.clicked.connect(self.add_files)
        self.remove_button.clicked.connect(self.remove_selected)
        for w in (self.module, browse, self.agency, self.add_button, self.remove_button):
            w.setEnabled(can)
        self.pick_files = self._ask_files
        self.refresh()

    def refresh(self) -> None:
        self.trust_model.set_rows(pdfsign.list_trust(self.session))

    def save(self) -> None:
        """Called by the settings page's save button (raises a service error to show)."""
        settings.set_value(self.session, pdfsign.MODULE_SETTING, self.module.currentText().strip())
        settings.set_value(self.session, pdfsign.AGENCY_TOKEN_SETTING, self.agency.text().strip())

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, _t("Thư viện PKCS#11 của token"), r"C:\Windows\System32",
                                              _t("Thư viện (*.dll *.so *.dylib);;Mọi tệp (*)"))
        if path:
            self.module.setCurrentText(path)

    def test_token(self) -> None:
        try:
            tokens = pdfsign.list_tokens(self.module.currentText().strip())
        except pdfsign.SigningError as exc:
            show_error(self, exc, _t("Kiểm tra token"))
            return
        if not tokens:
            MessageBox.info(self, _t("Kiểm tra token"), pdfsign.SigningError("no_token").user_text())
            return
        MessageBox.info(self, _t("Kiểm tra token"), _t("Tìm thấy {0} token:\n{1}").format(
            len(tokens), "\n".join(f"• {t.label} ({t.manufacturer} {t.model}, số sê-ri {t.serial})" for t in tokens)))

    def _ask_files(self) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(self, _t("Chọn chứng thư CA hoặc danh sách thu hồi"), "",
                                                _t("Chứng thư, CRL (*.cer *.crt *.pem *.der *.p7b *.p7c *.crl);;Mọi tệp (*)"))
        return files

    def add_files(self) -> None:
        added = 0
        for f in self.pick_files() or []:
            try:
                added += len(pdfsign.add_trust_file(self.session, f))
            except Exception as exc:  # noqa: BLE001
                show_error(self, exc, _t("Không cài được"))
        self.refresh()
        if added:
            MessageBox.info(self, _t("Chữ ký số"), _t("Đã cài {0} chứng thư / danh sách thu hồi.").format(added))

    def remove_selected(self) -> None:
        idx = self.trust_view.selectionModel().selectedRows()
        if not idx:
            return
        item = self.trust_model.row(idx[0].row())
        if not MessageBox.question(self, _t("Gỡ chứng thư"), _t("Gỡ “{0}”? Chữ ký số dựa trên chứng thư này sẽ không "
                                                                   "còn được tin cậy.").format(item.subject)):
            return
        try:
            pdfsign.remove_trust(self.session, item.id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
        self.refresh()


# ------------------------------------------------------------------ province: a received report
class SignatureInfoBox(QGroupBox):
    """The received report's signature: result, signer, head of unit, confirmation."""

    def __init__(self, session, report_id: int, parent=None):
        super().__init__(_t("Chữ ký số trên báo cáo"), parent)
        self.session, self.report_id = session, report_id
        lay = QVBoxLayout(self)
        self.text = QLabel(objectName="signatureSummary")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.text)
        row = QHBoxLayout()
        self.confirm_button = QPushButton(_t("Xác nhận người ký…"), objectName="confirmSigner")
        self.view_button = QPushButton(_t("Xem bản PDF đã nhận"), objectName="viewSignedPdf")
        row.addWidget(self.confirm_button)
        row.addWidget(self.view_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.confirm_button.clicked.connect(self.confirm)
        self.view_button.clicked.connect(self.view_pdf)
        self.note_provider = self._ask_note
        self.refresh()

    def refresh(self) -> None:
        v = pdfsign.signature_view(self.session, self.report_id)
        self.view = v
        if v is None:
            self.text.setText(_t("Không có thông tin chữ ký số (báo cáo nhận trước khi có chức năng này)."))
            colour = theme.CODE
        else:
            self.text.setText(v.summary())
            colour = theme.OK if v.ok and v.head_match is not False else (theme.ERROR if pdfsign.needs_confirmation(v)
                                                                          else theme.WARNING)
        self.text.setStyleSheet(f"color: {colour};")
        self.confirm_button.setEnabled(v is not None and v.confirmed_at is None
                                       and self.session.user.can(Permission.EXCHANGE))
        self.view_button.setEnabled(v is not None and v.verdict != "unsigned")

    def _ask_note(self) -> str | None:
        text, ok = QInputDialog.getMultiLineText(self, _t("Xác nhận người ký"), _t(
            "Đã đối chiếu người ký với lãnh đạo đơn vị. Ghi chú (bắt buộc khi chữ ký số không đạt):"))
        return text if ok else None

    def confirm(self) -> None:
        note = self.note_provider()
        if note is None:
            return
        try:
            pdfsign.confirm_signer(self.session, self.report_id, note)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self.refresh()

    def view_pdf(self) -> None:
        from desktop.ui.pdf_preview import PdfPreviewDialog

        pdf = pdfsign.archived_pdf(self.session, self.report_id)
        if not pdf:
            return
        dlg = PdfPreviewDialog(pdf, _t("Báo cáo đã ký số"), f"bao-cao-ky-so-{self.report_id}.pdf",
                               temp_root=self.session.folder.temp, parent=self)
        self.last_dialog = dlg
        dlg.open()


def matrix_signature_suffix(view) -> tuple[str, bool]:
    """Text added to the matrix's report column, and whether it needs attention."""
    if view is None:
        return "", False
    if view.ok and view.head_match is not False:
        return _t(" · đã ký số"), False
    if view.verdict == "unsigned":
        return _t(" · chưa ký số"), False
    return _t(" · lỗi ký số") if view.failed else _t(" · người ký khác"), pdfsign.needs_confirmation(view)
