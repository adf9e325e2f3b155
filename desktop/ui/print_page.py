"""The "In báo cáo" page: choose a plan, a period and the kind of report, then preview, print,
save as PDF or export to Excel — all from the same PDF the bundle carries."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import (QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget)

from desktop.models import plans, progress, reporting
from desktop.models.domain import ReportingPeriod
from desktop.models.units import own_unit
from desktop.ui.messages import show_error
from desktop.ui.pdf_preview import PdfPreviewDialog


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
        form = QFormLayout()
        form.addRow(self.tr("Kế hoạch"), self.plan)
        row = QHBoxLayout()
        row.addWidget(self.period_type)
        row.addWidget(self.period, 1)
        form.addRow(self.tr("Kỳ báo cáo"), row)
        form.addRow(self.tr("Loại báo cáo"), self.kind)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.preview_button)
        lay.addWidget(self.note)
        lay.addStretch(1)
        self.plan.currentIndexChanged.connect(self._fill_periods)
        self.period_type.currentIndexChanged.connect(self._fill_periods)
        self.preview_button.clicked.connect(self.preview)
        self._fill_periods()

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

    def build_pdf(self) -> tuple[bytes, callable, str]:
        pid = self.plan.currentData()
        period = ReportingPeriod.parse(self.period.currentData())
        if self.kind.currentData() == "unit":
            me = own_unit(self.session).code
            found = [r for r in progress.list_reports(self.session, pid)
                     if r.period_key == period.key and r.unit_code == me]
            if not found:
                from desktop.models.errors import NotFound

                raise NotFound(self.tr("Chưa có báo cáo {0} của kế hoạch này.").format(period.label.lower()),
                               self.tr("Hãy nhập tiến độ cho kỳ này trước."))
            rid = found[0].id
            sha = progress.get_report(self.session, rid).last_bundle_sha256
            pdf = reporting.unit_report_pdf(self.session, rid, reporting.default_verification(self.session, sha))
            return pdf, (lambda: reporting.unit_report_xlsx(self.session, rid)), f"bao-cao-{pid}-{period.key}"
        pdf = reporting.consolidated_pdf(self.session, pid, period)
        return pdf, (lambda: reporting.consolidated_xlsx(self.session, pid, period)), f"tong-hop-{pid}-{period.key}"

    def preview(self) -> None:
        try:
            pdf, xlsx, name = self.build_pdf()
        except Exception as exc:
            show_error(self, exc, self.tr("Không tạo được báo cáo"))
            return
        dlg = PdfPreviewDialog(pdf, self.tr("Xem trước báo cáo"), name + ".pdf",
                               temp_root=self.session.folder.temp, xlsx_bytes_provider=xlsx, parent=self)
        self.last_dialog = dlg
        self.session.on_lock(lambda: dlg.done(0))
        dlg.open()
