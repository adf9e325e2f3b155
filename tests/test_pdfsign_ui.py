"""The official digital signature in the widgets (pytest-qt, SoftHSM2): PIN at approval with a
wrong PIN first, the settings box installing trust anchors, the province's report dialog and
matrix showing a signature that needs confirming."""

from __future__ import annotations

import os
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from desktop.models.services import exchange, pdfsign, progress
from desktop.ui.messages import MessageBox
from desktop.ui.token_sign import PinDialog
from exchange_fixtures import PERIOD, PLAN, office_templates, province_and_units, two_offices  # noqa: F401
from test_pdfsign import PIN, _anchor_files, _configure, _ratio, pki, token  # noqa: F401

pytestmark = pytest.mark.skipif(pdfsign.pades is None or not __import__("desktop.devtoken").devtoken.softhsm_module(),
                                reason="softhsm2 is not installed")
YES = QMessageBox.StandardButton.Yes
SHOTS = os.environ.get("VKS_SCREENSHOT_DIR")  # set to look at the widgets (not used by the test run)


@pytest.fixture(autouse=True)
def _sync(monkeypatch):
    def unexpected(box):
        pytest.fail(f"unanswered message box: {box.windowTitle()}: {box.text()}")

    monkeypatch.setattr(QMessageBox, "exec", unexpected)
    MessageBox.shown.clear()
    MessageBox._next_answers.clear()
    PinDialog.next_pins.clear()
    yield
    MessageBox._next_answers.clear()
    PinDialog.next_pins.clear()


def _shot(widget, name):
    if SHOTS:
        widget.resize(1366, 768)
        widget.grab().save(os.path.join(SHOTS, name))


def _pending(unit) -> int:
    a, b = _ratio(unit)
    view = progress.open_report(unit.entry, PLAN, PERIOD)
    progress.record_progress(unit.entry, view.id, a, numerator=30, denominator=40)
    progress.record_progress(unit.entry, view.id, b, numerator=5, denominator=5)
    progress.submit_report(unit.entry, view.id)
    return view.id


def test_approve_asks_the_pin_retries_a_wrong_one_and_signs(qtbot, two_offices, token):
    from desktop.ui.entry_form import EntryForm

    unit = two_offices.unit
    _configure(unit, token)
    rid = _pending(unit)
    form = EntryForm(unit.approver, today=date(2025, 4, 2))
    qtbot.addWidget(form)
    assert form.open_report(PLAN, PERIOD)
    MessageBox.set_next_answer(YES)        # approve?
    PinDialog.next_pins[:] = ["000000", PIN]
    MessageBox.set_next_answer(None)       # "Mã PIN ... không đúng"
    MessageBox.set_next_answer(None)       # "Đã ký số"
    assert form.approve()
    assert any("Mã PIN của USB token không đúng" in text for _, text in MessageBox.shown)
    assert MessageBox.shown[-1][0] == "Đã ký số"
    assert progress.get_report(unit.approver, rid).status == progress.APPROVED
    assert pdfsign.signature_view(unit.approver, rid).signer_name == "Lê Văn Đạo"
    assert "Đã ký số: Lê Văn Đạo" in form.banner.text()


def test_without_a_token_module_approval_is_as_today_and_says_unsigned(qtbot, two_offices):
    from desktop.ui.entry_form import EntryForm

    unit = two_offices.unit
    rid = _pending(unit)
    form = EntryForm(unit.approver, today=date(2025, 4, 2))
    qtbot.addWidget(form)
    assert form.open_report(PLAN, PERIOD)
    MessageBox.set_next_answer(YES)
    assert form.approve()  # no PIN asked, no box
    assert progress.get_report(unit.approver, rid).status == progress.APPROVED
    assert "Chưa ký số" in form.banner.text()


def test_settings_box_installs_anchors_and_saves_the_module(qtbot, two_offices, token, pki, tmp_path):
    from desktop.ui.admin_pages import SettingsPage

    prov = two_offices.province
    page = SettingsPage(prov.admin)
    qtbot.addWidget(page)
    box = page.signing
    box.pick_files = lambda: [str(p) for p in _anchor_files(tmp_path, pki)]
    MessageBox.set_next_answer(None)
    box.add_files()
    assert box.trust_model.rowCount() == 2
    assert {box.trust_model.row(i).kind for i in range(2)} == {"root", "intermediate"}
    box.module.setCurrentText(token.module)
    box.agency.setText("VANTHU")
    MessageBox.set_next_answer(None)
    page.save()
    assert pdfsign.configured_module(prov.admin) == token.module
    assert pdfsign.agency_token_label(prov.admin) == "VANTHU"
    MessageBox.set_next_answer(None)
    box.test_token()
    assert "LANHDAO" in MessageBox.shown[-1][1]
    _shot(page, "cai-dat-chu-ky-so.png")


def test_province_dialog_and_matrix_show_a_signature_to_confirm(qtbot, qtmodeltester, two_offices, token):
    from desktop.ui.consolidation_page import ConsolidationPage, UnitReportDialog

    o = two_offices
    unit, prov = o.unit, o.province
    _configure(unit, token)
    rid = _pending(unit)
    progress.approve_report(unit.approver, rid)
    pdfsign.sign_report(unit.approver, rid, PIN)
    assert exchange.export_report(unit.approver, PLAN, PERIOD).ok
    out = exchange.scan_inbox(prov.admin)  # no anchors at the province: not trusted
    copy_id = out[0].report_id
    assert [r.signature_label for r in exchange.received_reports(prov.admin)] == ["Chứng thư số chưa được tin cậy"]

    page = ConsolidationPage(prov.approver, today=date(2025, 4, 15))
    qtbot.addWidget(page)
    page.plan.setCurrentIndex(page.plan.findData(PLAN))
    page.period_type.setCurrentIndex(page.period_type.findData("quarter"))
    page.period.setCurrentIndex(page.period.findData(PERIOD))
    page.refresh()
    assert page.period.currentData() == PERIOD
    qtmodeltester.check(page.model)
    row = next(r for r in range(page.model.rowCount()) if page.model.unit_at(r).report_id == copy_id)
    idx = page.model.index(row, 1)
    assert idx.data().endswith("lỗi ký số")
    assert "Lê Văn Đạo" in idx.data(Qt.ItemDataRole.ToolTipRole)
    assert idx.data(Qt.ItemDataRole.ForegroundRole) is not None

    from desktop.models.services import plans

    dlg = UnitReportDialog(prov.approver, copy_id, plans.get_plan(prov.approver, PLAN))
    qtbot.addWidget(dlg)
    box = dlg.signature
    assert "chưa được tin cậy" in box.text.text() and "Lê Văn Đạo" in box.text.text()
    assert box.confirm_button.isEnabled() and box.view_button.isEnabled()
    _shot(dlg, "bao-cao-nhan-chu-ky-so.png")
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)   # "Chấp nhận báo cáo …?"
    MessageBox.set_next_answer(None)
    dlg.accept_report()  # refused: the signature needs confirming
    assert "Chưa chấp nhận được" in MessageBox.shown[-1][1]
    box.note_provider = lambda: ""
    MessageBox.set_next_answer(None)
    box.confirm()  # an empty note is not enough for a failed check
    assert "ghi rõ lý do" in MessageBox.shown[-1][1]
    box.note_provider = lambda: "Đã gọi điện xác minh với Viện trưởng KV1"
    box.confirm()
    assert "Đã xác nhận" in box.text.text() and not box.confirm_button.isEnabled()
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    MessageBox.set_next_answer(None)
    dlg.accept_report()
    assert MessageBox.shown[-1][0] == "Đã chấp nhận"
