"""The "In báo cáo" page: choose a plan, a period and the kind of report, then preview, print,
save as PDF or export to Excel — all from the same PDF the bundle carries."""

from __future__ import annotations

from datetime import date
from typing import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from desktop.export.documents import SIGNING_AUTHORITIES
from desktop.models.services import plans, progress, reporting, signer
from desktop.models.storage.vault import Permission
from desktop.models.domain.plan import ReportingPeriod
from desktop.models.services.units import own_unit
from desktop.ui import ops
from desktop.ui.pdf_preview import PdfPreviewDialog


def _t(text: str) -> str:
    return QCoreApplication.translate("PrintPage", text)


class PrintPage(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.last_dialog: PdfPreviewDialog | None = None
        self.plan = QComboBox(objectName="printPlan")
        for p in plans.list_plans(session):
            self.plan.addItem(f"{p.title} ({p.year})", p.id)
        self.period_type = QComboBox(objectName="printPeriodType")
        for key, label in (("month", self.tr("Tháng")), ("quarter", self.tr("Quý")),
                           ("half_year", self.tr("6 tháng")), ("year", self.tr("Năm"))):
            self.period_type.addItem(label, key)
        self.period = QComboBox(objectName="printPeriod")
        self.kind = QComboBox(objectName="printKind")
        self.kind.addItem(self.tr("Báo cáo của đơn vị"), "unit")
        self.kind.addItem(self.tr("Báo cáo tổng hợp các đơn vị trực thuộc"), "consolidated")
        self.preview_button = QPushButton(self.tr("Xem trước và in…"), objectName="previewButton")
        self.note = QLabel(self.tr("Bản in theo thể thức Nghị định 30/2020/NĐ-CP; khối xác thực ghi mã băm gói tin "
                                   "và dấu vân tay khóa ký để đối chiếu bản giấy với bản điện tử."))
        self.note.setWordWrap(True)
        self.signer_box = self._signer_box()
        form = QFormLayout()
        form.addRow(self.tr("Kế hoạch"), self.plan)
        row = QHBoxLayout()
        row.addWidget(self.period_type)
        row.addWidget(self.period, 1)
        form.addRow(self.tr("Kỳ báo cáo"), row)
        form.addRow(self.tr("Loại báo cáo"), self.kind)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.signer_box)
        lay.addWidget(self.preview_button)
        lay.addWidget(self.note)
        lay.addStretch(1)
        self.plan.currentIndexChanged.connect(self._fill_periods)
        self.period_type.currentIndexChanged.connect(self._fill_periods)
        self.preview_button.clicked.connect(self.preview)
        self._fill_periods()

    # ------------------------------------------------------------------ signer (thẩm quyền ký)
    def _signer_box(self) -> QGroupBox:
        """Who signs and how: ký trực tiếp, KT., TL., TM., Q.; the name defaults to the approver."""
        saved = signer.get(self.session)
        box = QGroupBox(self.tr("Người ký văn bản"), objectName="signerBox")
        self.sign_authority = QComboBox(objectName="signAuthority")
        for key, (label, _prefix) in SIGNING_AUTHORITIES.items():
            self.sign_authority.addItem(self.tr(label), key)
        self.sign_authority.setCurrentIndex(max(0, self.sign_authority.findData(saved.authority)))
        self.sign_head = QLineEdit(saved.head_title, objectName="signHeadTitle")
        self.sign_title = QLineEdit(saved.signer_title, objectName="signTitle")
        self.sign_title.setPlaceholderText(self.tr("Ví dụ: Phó Viện trưởng, Chánh Văn phòng"))
        self.sign_collective = QLineEdit(saved.collective, objectName="signCollective")
        self.sign_name = QLineEdit(saved.name, objectName="signName")
        self.sign_name.setPlaceholderText(self.tr("Để trống: họ tên lãnh đạo đã duyệt báo cáo"))
        self.sign_drafter = QLineEdit(saved.drafter, objectName="signDrafter")
        self.sign_drafter.setMaximumWidth(120)
        self.sign_remember = QCheckBox(self.tr("Ghi nhớ cho các văn bản sau của đơn vị"), objectName="signRemember")
        can_save = (self.session.user.can(Permission.APPROVE_REPORT)
                    or self.session.user.can(Permission.MANAGE_SETTINGS))
        self.sign_remember.setEnabled(can_save)
        form = QFormLayout(box)
        form.addRow(self.tr("Thẩm quyền ký"), self.sign_authority)
        form.addRow(self.tr("Chức danh Thủ trưởng"), self.sign_head)
        form.addRow(self.tr("Chức vụ người ký"), self.sign_title)
        form.addRow(self.tr("Thay mặt tập thể"), self.sign_collective)
        form.addRow(self.tr("Họ tên người ký"), self.sign_name)
        form.addRow(self.tr("Nơi lưu (Lưu: VT, …)"), self.sign_drafter)
        form.addRow("", self.sign_remember)
        self.sign_authority.currentIndexChanged.connect(self._signer_fields)
        self._signer_fields()
        return box

    def _signer_fields(self) -> None:
        key = self.sign_authority.currentData()
        self.sign_title.setEnabled(key in ("ky_thay", "thua_lenh", "thay_mat"))
        self.sign_collective.setEnabled(key == "thay_mat")

    def signer_choice(self) -> signer.SignerChoice:
        """The arrangement on screen, checked (raises ValidationError with what to correct)."""
        choice = signer.validate(signer.SignerChoice(
            authority=self.sign_authority.currentData(), head_title=self.sign_head.text(),
            signer_title=self.sign_title.text() if self.sign_title.isEnabled() else "",
            name=self.sign_name.text(),
            collective=self.sign_collective.text() if self.sign_collective.isEnabled() else "",
            drafter=self.sign_drafter.text()))
        if self.sign_remember.isChecked():
            signer.save(self.session, choice)
        return choice

    def _fill_periods(self) -> None:
        self.period.clear()
        pid = self.plan.currentData()
        if not pid:
            return
        year = plans.get_plan(self.session, pid).year
        for p in ReportingPeriod.periods_of_year(self.period_type.currentData(), year):
            self.period.addItem(p.label, p.key)
        today = date.today()
        if today.year == year:
            idx = self.period.findData(ReportingPeriod.containing(self.period_type.currentData(), today).key)
            self.period.setCurrentIndex(max(0, idx))

    def build_pdf(self) -> tuple[bytes, Callable[[], bytes], str]:
        """The chosen report as PDF (on the operation worker: reads the choice first)."""
        return self._build(self.plan.currentData(), self.period.currentData(), self.kind.currentData(),
                           self.signer_choice())

    def _build(self, pid: str, period_key: str, kind: str, choice) -> tuple[bytes, Callable[[], bytes], str]:
        """Runs on the worker thread: no widget access here."""
        period = ReportingPeriod.parse(period_key)
        if kind == "unit":
            me = own_unit(self.session).code
            found = [r for r in progress.list_reports(self.session, pid)
                     if r.period_key == period.key and r.unit_code == me]
            if not found:
                from desktop.models.domain.errors import NotFound

                raise NotFound(_t("Chưa có báo cáo {0} của kế hoạch này.").format(period.label.lower()),
                               _t("Hãy nhập tiến độ cho kỳ này trước."))
            rid = found[0].id
            sha = progress.get_report(self.session, rid).last_bundle_sha256
            from desktop.models.services import pdfsign

            pdf = (pdfsign.archived_pdf(self.session, rid)  # the signed official copy, when signed
                   or reporting.unit_report_pdf(self.session, rid, reporting.default_verification(self.session, sha),
                                                signer=choice))
            return pdf, (lambda: reporting.unit_report_xlsx(self.session, rid)), f"bao-cao-{pid}-{period.key}"
        pdf = reporting.consolidated_pdf(self.session, pid, period, signer=choice)
        return pdf, (lambda: reporting.consolidated_xlsx(self.session, pid, period)), f"tong-hop-{pid}-{period.key}"

    def preview(self) -> None:
        ok, signer_choice = ops.run_now(self, self.signer_choice, error_title=self.tr("Không tạo được báo cáo"))
        if not ok:
            return
        choice = (self.plan.currentData(), self.period.currentData(), self.kind.currentData(), signer_choice)
        ops.run(self, lambda: self._build(*choice), lambda built: self._show(*built),
                progress=self.tr("Đang lập báo cáo (PDF)…"), cancellable=True,
                error_title=self.tr("Không tạo được báo cáo"))

    def _show(self, pdf: bytes, xlsx: Callable[[], bytes], name: str) -> None:
        dlg = PdfPreviewDialog(pdf, self.tr("Xem trước báo cáo"), name + ".pdf",
                               temp_root=self.session.folder.temp, xlsx_bytes_provider=xlsx, parent=self)
        self.last_dialog = dlg
        self.session.on_lock(lambda: dlg.done(0))
        dlg.open()
