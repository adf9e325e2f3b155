"""Printed reports filled from the database, and preview/print of the same PDF."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata

import pytest

from desktop.demo_data import fill_unit_progress
from desktop.models.services import plans, progress, reporting
from desktop.ui.messages import MessageBox

from conftest import APPROVER_PW, ENTRY_PW, MARKER_UNIT

PLAN = "thanhhoa-cds-2025"
needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture
def unit_with_reports(created):
    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    admin.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    ids = fill_unit_progress(entry, PLAN, 2025, 3, approve_with=lambda: vault.unlock("lanhdao", APPROVER_PW))
    yield vault, entry, ids
    if entry.is_unlocked:
        entry.lock()


@needs_poppler
def test_unit_report_pdf_from_data(unit_with_reports, tmp_path):
    vault, entry, ids = unit_with_reports
    pdf = reporting.unit_report_pdf(entry, ids[1], reporting.default_verification(entry))
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = norm(subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True).stdout)
    for needle in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO",
                   MARKER_UNIT.upper(), "I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI", "Chưa đóng gói"):
        assert norm(needle) in text, needle
    report = progress.get_report(entry, ids[1])
    targets = progress.report_targets(entry, report)
    flat = re.sub(r"\s+", "", text)
    for t in targets:
        assert re.sub(r"\s+", "", norm(t.text)) in flat, t.code
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts)
    # the approved snapshot is what prints, not later edits (there are none possible: frozen)
    assert report.status == progress.APPROVED


def test_unit_report_xlsx(unit_with_reports):
    from openpyxl import load_workbook

    vault, entry, ids = unit_with_reports
    wb = load_workbook(io.BytesIO(reporting.unit_report_xlsx(entry, ids[0])))
    ws = wb.active
    report = progress.get_report(entry, ids[0])
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    for t in progress.report_targets(entry, report):
        assert t.text in texts
    assert ws.freeze_panes is not None


def test_preview_print_save_and_temp_copy(qtbot, unit_with_reports, tmp_path, monkeypatch):
    from PySide6.QtPrintSupport import QPrinter

    from desktop.ui.print_page import PrintPage

    vault, entry, ids = unit_with_reports
    page = PrintPage(entry)
    qtbot.addWidget(page)
    page.plan.setCurrentIndex(page.plan.findData(PLAN))
    page.period.setCurrentIndex(page.period.findData("2025-02"))
    page.preview()
    dlg = page.last_dialog
    qtbot.addWidget(dlg)
    assert dlg.page_count >= 2
    # print through QPrinter (to a PDF file, as a virtual printer)
    out = tmp_path / "printed.pdf"

    def printer():
        p = QPrinter(QPrinter.PrinterMode.HighResolution)
        p.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        p.setOutputFileName(str(out))
        return p

    dlg.printer_factory = printer
    dlg.print_button.click()
    assert out.exists() and out.read_bytes().startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(out)], capture_output=True,
                                                                text=True).stdout).group(1))
        assert pages == dlg.page_count
    saved = tmp_path / "saved.pdf"
    dlg.save_path_provider = lambda suffix: str(saved.with_suffix(suffix))
    dlg.save_button.click()
    assert saved.read_bytes() == dlg.pdf_bytes
    dlg.xlsx_button.click()
    assert saved.with_suffix(".xlsx").read_bytes()[:2] == b"PK"
    MessageBox.set_next_answer(None)
    import desktop.ui.pdf_preview as pp

    opened = []
    monkeypatch.setattr(pp.QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url) or True))
    dlg.open_button.click()
    copy = dlg._temp_copy
    assert copy.exists() and copy.read_bytes() == dlg.pdf_bytes and opened
    dlg.done(0)
    assert not copy.exists()


def test_missing_report_is_explained(qtbot, unit_with_reports):
    from desktop.ui.print_page import PrintPage

    vault, entry, ids = unit_with_reports
    page = PrintPage(entry)
    qtbot.addWidget(page)
    page.plan.setCurrentIndex(page.plan.findData(PLAN))
    page.period.setCurrentIndex(page.period.findData("2025-11"))
    MessageBox.shown.clear()
    MessageBox.set_next_answer(None)
    page.preview()
    assert page.last_dialog is None
    assert "Chưa có báo cáo" in MessageBox.shown[-1][1]


def test_unit_report_as_a_secretary_signs_it(unit_with_reports):
    """Dated on approval, number left blank for the records office, signed by the approver's
    full name, the clerk's result text and the evidence count printed per target."""
    from desktop.models.services import signer

    vault, entry, ids = unit_with_reports
    view = progress.get_report(entry, ids[1])
    doc = reporting.unit_report_doc(entry, ids[1], reporting.default_verification(entry))
    assert doc.header.date == view.approved_at.date()
    assert doc.header.number_line.startswith("Số:\u00a0") and doc.header.number_line.endswith("/BC-" + (
        doc.header.number_line.rsplit("/BC-", 1)[1]))
    assert doc.signature.title == "Viện trưởng" and doc.signature.authority == ""
    assert doc.signature.name == "Lê Văn Đạo"  # the approver's full name, not an account label
    assert doc.recipients[-1].startswith("Lưu: VT")
    typed = {code: e.result_text for code, e in view.entries.items() if e.result_text}
    assert typed, "the demo data types some results"
    by_code = {r.code: r for r in doc.rows}
    for code, text in typed.items():
        assert by_code[code].result_detail == text
    assert all(r.evidence_count is not None for r in doc.rows)
    assert not any(r.group.startswith(("TH-", "NV-")) or r.group[:1].isdigit() for r in doc.rows)
    assert not any("≥" in r.indicator for r in doc.rows)
    # a deputy signs for the head, saved for the unit by its leader
    entry.lock()
    head = vault.unlock("lanhdao", APPROVER_PW)
    try:
        signer.save(head, signer.SignerChoice("ky_thay", "Viện trưởng", "Phó Viện trưởng", drafter="VP"))
        doc = reporting.unit_report_doc(head, ids[1])
        assert (doc.signature.authority, doc.signature.title, doc.signature.name) == (
            "KT. Viện trưởng", "Phó Viện trưởng", "Lê Văn Đạo")
        ttl = reporting.unit_report_doc(head, ids[1], signer=signer.SignerChoice(
            "thua_lenh", "Viện trưởng", "Chánh Văn phòng", name="Nguyễn Thị Lan"))
        assert (ttl.signature.authority, ttl.signature.title, ttl.signature.name) == (
            "TL. Viện trưởng", "Chánh Văn phòng", "Nguyễn Thị Lan")
    finally:
        head.lock()


def test_signer_settings_are_checked_and_guarded(unit_with_reports):
    from desktop.models.services import settings, signer
    from desktop.models.domain.errors import PermissionDenied, ValidationError

    vault, entry, ids = unit_with_reports
    before = settings.get(entry, "document_signer")
    with pytest.raises(PermissionDenied):  # a data-entry clerk does not decide who signs
        signer.save(entry, signer.SignerChoice("ky_thay", "Viện trưởng", "Phó Viện trưởng"))
    assert settings.get(entry, "document_signer") == before
    entry.lock()
    head = vault.unlock("lanhdao", APPROVER_PW)
    try:
        with pytest.raises(ValidationError, match="chức vụ"):  # KT. needs the deputy's title
            signer.save(head, signer.SignerChoice("ky_thay", "Viện trưởng", ""))
        with pytest.raises(ValidationError, match="tập thể"):
            signer.save(head, signer.SignerChoice("thay_mat", "Viện trưởng", "Viện trưởng"))
        assert settings.get(head, "document_signer") == before
        saved = signer.save(head, signer.SignerChoice("quyen", "  Viện   trưởng ", name="Đỗ  Minh"))
        assert signer.get(head) == saved and saved.head_title == "Viện trưởng" and saved.name == "Đỗ Minh"
        assert signer.get(head).block().authority == "Q. Viện trưởng"
    finally:
        head.lock()


def test_print_page_signer_choice(qtbot, unit_with_reports, tmp_path):
    from desktop.ui.print_page import PrintPage

    vault, entry, ids = unit_with_reports
    entry.lock()
    head = vault.unlock("lanhdao", APPROVER_PW)
    try:
        page = PrintPage(head)
        qtbot.addWidget(page)
        page.plan.setCurrentIndex(page.plan.findData(PLAN))
        page.period.setCurrentIndex(page.period.findData("2025-02"))
        page.sign_authority.setCurrentIndex(page.sign_authority.findData("ky_thay"))
        assert page.sign_title.isEnabled() and not page.sign_collective.isEnabled()
        page.sign_title.setText("Phó Viện trưởng")
        page.sign_remember.setChecked(True)
        pdf, _xlsx, _name = page.build_pdf()
        path = tmp_path / "p.pdf"
        path.write_bytes(pdf)
        text = norm(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout)
        assert "KT. VIỆN TRƯỞNG" in text and "PHÓ VIỆN TRƯỞNG" in text and "Lê Văn Đạo" in text
        from desktop.models.services import signer

        assert signer.get(head).authority == "ky_thay"  # remembered for the unit
        page.sign_title.setText("")
        MessageBox.set_next_answer(None)
        MessageBox.shown.clear()
        page.preview()  # a KT. signature without the deputy's title is refused, clearly
        assert page.last_dialog is None and "chức vụ" in MessageBox.shown[-1][1]
        page.grab().save(str(tmp_path / "print_page.png"))
    finally:
        head.lock()
