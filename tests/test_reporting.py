"""Printed reports filled from the database, and preview/print of the same PDF."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata

import pytest

from desktop.demo_data import fill_unit_progress
from desktop.models import plans, progress, reporting
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
