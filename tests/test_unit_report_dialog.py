"""The provincial office's one place for a unit's report (issue 19): its evidence opens in the
evidence viewer, accepting asks first, returning needs a reason (the one ReturnDialog), both
announce their change so the matrix re-reads, the Trao đổi page opens the same dialog, and no
internal code (state, plan id, period key) is on screen."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QMessageBox

from desktop.models.services import consolidation as cons
from desktop.models.services import exchange, progress
from desktop.models.domain import workflow
from desktop.ui import ops
from desktop.ui.consolidation_page import ConsolidationPage, UnitReportDialog
from desktop.ui.evidence_viewer import EvidenceViewer
from desktop.ui.exchange_page import ExchangePage
from desktop.ui.messages import MessageBox
from desktop.ui.return_dialog import ReturnDialog
from test_evidence_viewer import _clean_messages, pdf, png  # noqa: F401 - autouse: every message box answered
from exchange_fixtures import (PERIOD, PLAN, approved_report, office_templates, province_and_units,  # noqa: F401
                               report_targets, two_offices)

YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
RAW_CODES = [s.value for s in workflow.ReportState] + [PLAN, PERIOD]


@pytest.fixture
def received(two_offices, tmp_path, pdf, png):
    """A unit's report with three evidence files (PDF, PNG, text), sent and received at the province."""
    o = two_offices
    unit = o.unit
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:2]
    txt = tmp_path / "ghi-chu.txt"
    txt.write_text("Ghi chú kèm báo cáo", "utf-8")
    approved_report(unit, {codes[0]: {"numerator": 3, "denominator": 4}, codes[1]: {"numerator": 2, "denominator": 2}},
                    evidence={codes[0]: [pdf, png], codes[1]: [txt]})
    assert exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False).ok
    out = exchange.scan_inbox(o.province.admin)
    report_id = next(x.report_id for x in out if x.kind == "report")
    return o, report_id, codes


def shown_texts(model) -> list[str]:
    return [str(model.index(r, c).data() or "") for r in range(model.rowCount()) for c in range(model.columnCount())]


def test_the_province_opens_a_units_evidence_in_the_viewer(qtbot, qtmodeltester, received):
    o, report_id, codes = received
    head = o.province.approver
    dlg = UnitReportDialog(head, report_id)
    qtbot.addWidget(dlg)
    qtmodeltester.check(dlg.evidence)
    assert dlg.evidence.rowCount() == 3 and "3 tệp" in dlg.evidence_title.text()
    names = [dlg.evidence.row(i).info.filename for i in range(3)]
    assert sorted(names) == sorted(["bien-ban-hop.pdf", "ảnh chụp màn hình.png", "ghi-chu.txt"])

    # choosing a target selects its evidence; double-clicking it opens the file
    row_of = {dlg.entries.row(r).target_code: r for r in range(dlg.entries.rowCount())}
    dlg.entry_view.selectRow(row_of[codes[1]])
    assert dlg.current_evidence().filename == "ghi-chu.txt"
    dlg.entry_view.selectRow(row_of[codes[0]])
    pdf_row = names.index("bien-ban-hop.pdf")
    dlg.evidence_view.selectRow(pdf_row)
    dlg.view_evidence_button.click()
    viewer = dlg.viewer
    assert isinstance(viewer, EvidenceViewer)
    assert viewer.kind == "pdf" and viewer.page_count == 2 and not viewer.rendered_size().isEmpty()
    viewer.next_button.click()
    assert viewer.page_label.text() == "Trang 2/2"
    viewer.reject()
    assert viewer._pdf is None

    png_row = names.index("ảnh chụp màn hình.png")
    dlg.evidence_view.doubleClicked.emit(dlg.evidence.index(png_row, 1))
    assert dlg.viewer.kind == "image" and dlg.viewer.pixmap.width() == 320
    dlg.viewer.reject()
    temp = head.folder.root / "tmp"
    assert not temp.exists() or not list(temp.glob("view-*"))        # decoded in memory, nothing on disk

    # an allow-listed type the window cannot show goes to another program through a copy deleted on close
    txt_row = names.index("ghi-chu.txt")
    viewer = dlg.view_evidence(dlg.evidence.row(txt_row).info)
    assert viewer.kind == "other" and viewer.open_button.isEnabled()
    opened = []
    viewer.open_url = lambda url: opened.append(url.toLocalFile()) or True
    viewer.open_button.click()
    copy = viewer.temp_copies[0]
    assert opened == [str(copy)] and copy.read_text("utf-8") == "Ghi chú kèm báo cáo"
    viewer.close()
    assert not copy.exists()


def test_accept_asks_first_then_locks_and_the_matrix_rereads(qtbot, received):
    o, report_id, _codes = received
    head = o.province.approver
    page = ConsolidationPage(head, today=date(2025, 4, 15))
    qtbot.addWidget(page)
    page.plan.setCurrentIndex(page.plan.findData(PLAN))
    page.period_type.setCurrentIndex(page.period_type.findData("quarter"))
    page.period.setCurrentIndex(page.period.findData(PERIOD))
    page.show()
    row = next(r for r in range(page.model.rowCount()) if page.model.unit_at(r).report_id == report_id)
    assert page.model.index(row, 1).data().startswith("Đã nhận")
    page.view.doubleClicked.emit(page.proxy.mapFromSource(page.model.index(row, 0)))
    dlg = page.last_dialog
    qtbot.addWidget(dlg)
    announced = []
    ops.bus().changed.connect(lambda changes, _source: announced.append(changes))

    MessageBox.set_next_answer(NO)
    dlg.accept_button.click()
    title, text = MessageBox.shown[-1]
    assert title == "Chấp nhận báo cáo" and "không trả lại được nữa" in text and o.unit.code not in text
    assert progress.get_report(head, report_id).status == workflow.ReportState.RECEIVED and announced == []

    MessageBox.set_next_answer(YES)
    MessageBox.set_next_answer(None)
    dlg.accept_button.click()
    assert MessageBox.shown[-1][0] == "Đã chấp nhận"
    assert cons.is_locked_at_province(head, report_id)
    assert any(c & ops.Changes.REPORTS for c in announced)           # the dashboard listens to REPORTS
    assert "Đã chấp nhận" in dlg.header.text() and not dlg.accept_button.isEnabled()
    assert not dlg.return_button.isEnabled() and "không chấp nhận hay trả lại được nữa" in dlg.state_note.text()
    assert page.model.index(row, 1).data().startswith("Đã chấp nhận")  # re-read without a click
    for text in shown_texts(dlg.history) + [dlg.header.text()]:
        assert not any(code in text for code in RAW_CODES), text


def test_return_needs_a_reason_and_is_the_one_dialog(qtbot, received):
    o, report_id, codes = received
    dlg = UnitReportDialog(o.province.admin, report_id)              # the administrator sends returns
    qtbot.addWidget(dlg)
    assert not dlg.accept_button.isEnabled()                         # but does not accept
    assert "lãnh đạo" in dlg.accept_button.toolTip()
    seen = {}

    class Answer(ReturnDialog):
        def exec(self):
            seen["type"] = type(self).__mro__[1]
            seen["empty"] = self.ok_button.isEnabled()
            seen["hint"] = self.hint.text()
            self.general.setPlainText("   ")
            seen["blank"] = self.ok_button.isEnabled()
            row = next(i for i in range(self.table.rowCount())
                       if self.table.item(i, 0).data(Qt.ItemDataRole.UserRole) == codes[0])
            seen["label"] = self.table.item(row, 0).text()
            self.table.item(row, 1).setText("Thiếu biên bản có chữ ký")
            seen["with_target"] = self.ok_button.isEnabled()
            return QDialog.DialogCode.Accepted

    dlg.return_dialog_factory = Answer
    MessageBox.set_next_answer(None)
    dlg.return_button.click()
    assert seen["type"] is ReturnDialog
    assert seen["empty"] is False and "Cần ghi lý do trả lại" in seen["hint"] and seen["blank"] is False
    assert seen["with_target"] is True and seen["label"].startswith(codes[0] + " · ")
    assert MessageBox.shown[-1][0] == "Đã trả lại"
    view = progress.get_report(o.province.admin, report_id)
    assert view.status == workflow.ReportState.RETURNED
    assert view.return_comments == {"general": "", "targets": {codes[0]: "Thiếu biên bản có chữ ký"}}
    assert "Đã trả lại" in dlg.header.text() and not dlg.return_button.isEnabled()

    # opened again later: a returned report can be neither returned nor accepted again
    dlg2 = UnitReportDialog(o.province.admin, report_id)
    qtbot.addWidget(dlg2)
    assert not dlg2.return_button.isEnabled()


def test_exchange_page_shows_words_and_opens_the_same_dialog(qtbot, received):
    o, report_id, _codes = received
    page = ExchangePage(o.province.admin)
    qtbot.addWidget(page)
    page.show()
    texts = shown_texts(page.received_model)
    assert not any(code in t for t in texts for code in RAW_CODES), texts
    assert "Quý 1/2025" in " ".join(texts) or "Quý I/2025" in " ".join(texts)
    assert any("khu vực 1" in t.lower() for t in texts)                # the unit's name, not its code
    assert not hasattr(page, "return_button") and not hasattr(page, "return_selected")
    page.received_view.selectRow(0)
    dlg = page.open_selected_report()
    qtbot.addWidget(dlg)
    assert isinstance(dlg, UnitReportDialog) and dlg.report_id == report_id
    assert dlg.evidence.rowCount() == 3
