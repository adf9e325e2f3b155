"""The "Trao đổi" page with real offices: send, outbox and retry, receive, enrolment dialogs,
return dialog; models checked with qtmodeltester; an offscreen screenshot for docs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from exchange_fixtures import (PERIOD, PLAN, approved_report, office_templates, province_and_units,  # noqa: F401
                               report_targets, two_offices)
from PySide6.QtWidgets import QDialog, QMessageBox

from desktop.models.services import exchange, keystore, progress, settings
from desktop.ui.consolidation_page import UnitReportDialog
from desktop.ui.exchange_page import ExchangePage, FingerprintConfirmDialog, start_background_retry
from desktop.ui.messages import MessageBox
from desktop.ui.return_dialog import ReturnDialog



def _shot_path(tmp_path: Path, name: str) -> Path:
    """Where a test saves what it shows: tmp_path, or docs/screenshots when VKS_UPDATE_SCREENSHOTS=1
    (a test run never rewrites files in the checkout by itself)."""
    if os.environ.get("VKS_UPDATE_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parents[1] / "docs" / "screenshots" / name
    return tmp_path / name


@pytest.fixture(autouse=True)
def _clean_messages():
    MessageBox.shown.clear()
    yield
    MessageBox._next_answers.clear()


def _select(view, row):
    view.selectRow(row)


class _Answer:
    """A pre-answered dialog: records what it was shown, returns the given fingerprint."""

    shown: list = []

    def __init__(self, typed, accept=True):
        self.typed, self.accept_ = typed, accept

    def __call__(self, title, unit_text, fingerprint, details, parent=None):
        _Answer.shown.append((title, unit_text, fingerprint))
        return self

    def exec(self):
        return QDialog.DialogCode.Accepted if self.accept_ else QDialog.DialogCode.Rejected

    def fingerprint(self):
        return self.typed


def test_unit_sends_then_receives_the_receipt(qtbot, qtmodeltester, two_offices):
    o = two_offices
    unit = o.unit
    code = next(c for c, m in report_targets(unit).items() if m == "ratio")
    rid = approved_report(unit, {code: {"numerator": 4, "denominator": 5}})
    page = ExchangePage(unit.approver)
    qtbot.addWidget(page)
    assert page.fingerprint_label.text() == keystore.own_key_info(unit.admin).fingerprint
    assert "sẵn sàng" in page.share_label.text()
    assert not page.rotate_button.isEnabled() and page.send_button.isEnabled()  # approver: no key management
    assert page.report_model.rowCount() == 1 and page.report_model.row(0).can_send
    _select(page.report_view, 0)
    MessageBox.set_next_answer(None)
    page.send_button.click()
    assert MessageBox.shown[-1][0] == "Đã gửi"
    assert page.outbox_model.rowCount() == 1 and page.outbox_model.row(0).state == exchange.DELIVERED
    assert progress.get_report(unit.admin, rid).status == progress.SENT
    exchange.scan_inbox(o.province.admin)
    page.scan_button.click()
    assert page.result_model.rowCount() == 1 and page.result_model.row(0).verdict == "applied"
    assert "Đã nhận: 1" in page.result_summary.text()
    assert page.busy_label.isHidden() and page.scan_button.isEnabled()
    assert page.outbox_model.row(0).state == exchange.ACKNOWLEDGED
    for m in (page.report_model, page.outbox_model, page.result_model, page.trust_model, page.received_model):
        qtmodeltester.check(m)


def test_share_failure_shows_reason_and_retry_button_delivers(qtbot, two_offices, tmp_path):
    o = two_offices
    unit = o.unit
    approved_report(unit, {next(iter(report_targets(unit))): {"done": True, "done_date": "2025-03-01"}})
    settings.set_value(unit.admin, "share_folder", str(tmp_path / "offline"))
    page = ExchangePage(unit.admin)
    qtbot.addWidget(page)
    assert "Không truy cập được" in page.share_label.text()
    _select(page.report_view, 0)
    MessageBox.set_next_answer(None)
    page.send_button.click()
    title, text = MessageBox.shown[-1]
    assert title == "Chưa chuyển được" and "Hộp thư đi" in text and "Không truy cập được" in text
    assert page.outbox_model.row(0).pending
    assert "Chờ chuyển: 1" in page.outbox_note.text()
    settings.set_value(unit.admin, "share_folder", str(o.share))
    MessageBox.set_next_answer(None)
    page.retry_button.click()
    assert MessageBox.shown[-1][0] == "Đã chuyển"
    assert not page.outbox_model.row(0).pending
    # the automatic retry at start-up has nothing left to do
    assert start_background_retry(unit.admin) is False


def test_startup_retry_runs_when_the_outbox_waits(qtbot, two_offices, tmp_path):
    o = two_offices
    unit = o.unit
    approved_report(unit, {next(iter(report_targets(unit))): {"done": True, "done_date": "2025-03-01"}})
    settings.set_value(unit.admin, "share_folder", str(tmp_path / "offline"))
    assert not exchange.export_report(unit.admin, PLAN, PERIOD, include_pdf=False).delivered
    settings.set_value(unit.admin, "share_folder", str(o.share))
    done = []
    assert start_background_retry(unit.admin, done.append) is True
    assert done and done[0][0].delivered
    assert start_background_retry(unit.entry) is False  # no EXCHANGE permission


def test_enrolment_dialogs(qtbot, two_offices, tmp_path):
    o = two_offices
    prov, unit = o.province, o.unit
    keystore.rotate_own_keys(unit.admin)
    req = keystore.make_enrolment_request(unit.admin, tmp_path)
    new_fp = keystore.own_key_info(unit.admin).fingerprint
    page = ExchangePage(prov.admin)
    qtbot.addWidget(page)
    page.open_file_provider = lambda *a: [str(req)]
    # the administrator closes the dialog without confirming: the key stays pending
    page.confirm_dialog_factory = _Answer("", accept=False)
    page.enrol_import_button.click()
    assert _Answer.shown[-1][2] == new_fp
    pending = [i for i in range(page.trust_model.rowCount()) if page.trust_model.row(i).state == "pending"]
    assert len(pending) == 1
    # later: select it, compare, confirm
    _select(page.trust_view, pending[0])
    page.confirm_dialog_factory = _Answer(new_fp)
    MessageBox.set_next_answer(None)
    page.confirm_button.click()
    assert MessageBox.shown[-1][0] == "Đã xác nhận khóa"
    row = next(page.trust_model.row(i) for i in range(page.trust_model.rowCount())
               if page.trust_model.row(i).fingerprint == new_fp)
    assert row.state == "confirmed" and row.confirmed_by
    # revoke it again, answering the question
    _select(page.trust_view, next(i for i in range(page.trust_model.rowCount())
                                  if page.trust_model.row(i).fingerprint == new_fp))
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    page.revoke_button.click()
    assert any(page.trust_model.row(i).state == "revoked" for i in range(page.trust_model.rowCount()))
    # the package for the units, with its printed form
    page.folder_provider = lambda *a: str(tmp_path / "usb")
    (tmp_path / "usb").mkdir()
    MessageBox.set_next_answer(None)
    page.request_button.click()
    assert list((tmp_path / "usb").glob("*enrolment-package*.cdse")) and list((tmp_path / "usb").glob("*.pdf"))


def test_fingerprint_dialog_enables_confirm_only_on_a_match(qtbot):
    fp = "04213 99871 00342 61290"
    dlg = FingerprintConfirmDialog("Gói đăng ký", "VKSND tỉnh (VKS-THA)", fp, ["Mã khóa: X"])
    qtbot.addWidget(dlg)
    assert not dlg.ok_button.isEnabled()
    qtbot.keyClicks(dlg.typed, "04213 99871 00342 61291")
    assert not dlg.ok_button.isEnabled() and "KHÔNG" in dlg.feedback.text()
    dlg.typed.clear()
    qtbot.keyClicks(dlg.typed, "0421399871-00342-61290")
    assert dlg.ok_button.isEnabled() and dlg.feedback.text() == "Trùng khớp."


def test_province_returns_a_report_with_comments(qtbot, two_offices):
    o = two_offices
    prov, unit = o.province, o.unit
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:2]
    approved_report(unit, {codes[0]: {"numerator": 1, "denominator": 2}, codes[1]: {"numerator": 2, "denominator": 2}})
    exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    page = ExchangePage(prov.admin)
    qtbot.addWidget(page)
    page.show()
    page.scan_button.click()
    assert page.received_model.rowCount() == 1
    _select(page.received_view, 0)

    class Fill(ReturnDialog):
        def exec(self):
            assert not self.ok_button.isEnabled()          # no reason yet: cannot be sent
            self.general.setPlainText("Bổ sung minh chứng")
            self.table.item(0, 1).setText("Thiếu biên bản")
            assert self.ok_button.isEnabled()
            return QDialog.DialogCode.Accepted

    # the page opens the one unit report dialog (view, accept, return), as Tổng hợp đơn vị does
    page.open_report_button.click()
    dlg = page.last_dialog
    qtbot.addWidget(dlg)
    assert isinstance(dlg, UnitReportDialog) and dlg.return_button.isEnabled()
    dlg.return_dialog_factory = Fill
    MessageBox.set_next_answer(None)
    dlg.return_button.click()
    assert MessageBox.shown[-1][0] == "Đã trả lại"
    assert "Đã trả lại" in dlg.header.text() and not dlg.return_button.isEnabled()
    assert page.received_model.row(0).status == progress.RETURNED      # refreshed through Changes
    state_column = page.received_model.COLUMNS.index("Trạng thái")
    assert page.received_model.index(0, state_column).data() == "Đã trả lại"
    out = exchange.scan_inbox(unit.admin)
    assert [x.kind for x in out] == ["receipt", "return"]
    view = progress.get_report(unit.admin, progress.list_reports(unit.admin)[0].id)
    assert view.return_comments == {"general": "Bổ sung minh chứng", "targets": {codes[0]: "Thiếu biên bản"}}


def test_page_in_the_main_window_and_screenshot(qtbot, two_offices, tmp_path):
    """The page as a user sees it (1280×800, offscreen); VKS_UPDATE_SCREENSHOTS=1 saves it to
    docs/screenshots/exchange.png."""
    from desktop.ui.main_window import MainWindow

    o = two_offices
    unit = o.unit
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:2]
    approved_report(unit, {codes[0]: {"numerator": 4, "denominator": 5}})
    exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    exchange.scan_inbox(o.province.admin)
    (o.inbox(unit) / "VKS-THA_receipt_2025-Q1_000007_deadbeef.cdsb").write_bytes(b"not a bundle")
    win = MainWindow(unit.admin, unit.vault)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show_page("exchange")
    page = win.page_widget("exchange")
    assert isinstance(page, ExchangePage)
    page.scan_button.click()
    verdicts = sorted(page.result_model.row(i).verdict for i in range(page.result_model.rowCount()))
    assert verdicts == ["applied", "rejected"]
    win.show()
    qtbot.waitExposed(win)
    shot = _shot_path(tmp_path, "exchange.png")
    assert win.grab().save(str(shot))


def test_data_entry_officer_sees_the_fingerprint_but_cannot_act(qtbot, two_offices):
    page = ExchangePage(two_offices.unit.entry)
    qtbot.addWidget(page)
    assert page.fingerprint_label.text() == keystore.own_key_info(two_offices.unit.admin).fingerprint
    for b in (page.scan_button, page.send_button, page.retry_button, page.enrol_import_button, page.rotate_button):
        assert not b.isEnabled()


def test_resend_discard_retrust_and_quarantine_release(qtbot, qtmodeltester, two_offices, tmp_path):
    """Issue 12's actions on the page: "Gửi lại" for a report whose copy vanished from the share,
    the quarantine tab with a bundle refused for its order released by the administrator,
    "Bỏ khóa chờ" and "Tin cậy lại…"."""
    from exchange_fixtures import db_dump  # noqa: F401
    from test_exchange_attacks import forge

    o = two_offices
    code = next(c for c, m in report_targets(o.unit).items() if m == "ratio")
    approved_report(o.unit, {code: {"numerator": 1, "denominator": 2}})
    sent = exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False)
    (o.inbox(o.province) / sent.item.filename).unlink()  # deleted on the share
    page = ExchangePage(o.unit.approver)
    qtbot.addWidget(page)
    _select(page.outbox_view, 0)
    MessageBox.set_next_answer(None)
    page.resend_button.click()
    assert MessageBox.shown[-1][0] == "Đã gửi lại" and (o.inbox(o.province) / sent.item.filename).exists()
    exchange.scan_inbox(o.province.admin)
    # at the province: a bundle of the next period that does not chain is quarantined
    forge(o, o.province, signer=keystore.active_keys(o.unit.admin), seq=2, prev="ab" * 32, period="2025-Q2")
    exchange.scan_inbox(o.province.admin)
    prov = ExchangePage(o.province.admin)
    qtbot.addWidget(prov)
    prov.resize(1366, 768)
    prov.in_tabs.setCurrentIndex(2)
    assert prov.quarantine_model.rowCount() == 1 and "(1)" in prov.in_tabs.tabText(2)
    qtmodeltester.check(prov.quarantine_model)
    prov.show()
    qtbot.waitExposed(prov)
    shot = _shot_path(tmp_path, "exchange-quarantine.png")
    assert prov.grab().save(str(shot))
    _select(prov.quarantine_view, 0)
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    prov.release_button.click()
    assert prov.result_model.row(0).verdict == "applied" and prov.quarantine_model.rowCount() == 0
    # a pending key is discarded; a revoked one is trusted again after the paper check
    squatter = __import__("desktop.export.keys", fromlist=["UnitKeys"]).UnitKeys.generate(o.unit.code)
    import json as _json

    doc = _json.loads(_json.loads(keystore.make_enrolment_request(o.unit.admin, tmp_path).read_text("utf-8"))["document"])
    doc["keys"] = squatter.public_dict()
    (tmp_path / "squat.cdse").write_text(keystore._sign_envelope(squatter, "request", doc), "utf-8")
    keystore.receive_enrolment(o.province.admin, tmp_path / "squat.cdse")
    prov.refresh()
    row = next(i for i in range(prov.trust_model.rowCount()) if prov.trust_model.row(i).state == "pending")
    _select(prov.trust_view, row)
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    prov.discard_button.click()
    assert all(prov.trust_model.row(i).state != "pending" for i in range(prov.trust_model.rowCount()))
    unit_key = keystore.active_keys(o.unit.admin).key_id_hex
    keystore.revoke_trusted_key(o.province.admin, unit_key)
    prov.refresh()
    _select(prov.trust_view, next(i for i in range(prov.trust_model.rowCount()) if prov.trust_model.row(i).key_id == unit_key))
    prov.confirm_dialog_factory = _Answer(keystore.own_key_info(o.unit.admin).fingerprint)
    MessageBox.set_next_answer(None)
    prov.retrust_button.click()
    assert keystore.trust_lookup(o.province.admin)(unit_key).revoked is False


def test_no_plan_id_or_period_key_on_the_exchange_screens(qtbot, two_offices):
    from screen_text import raw_codes

    o = two_offices
    prov, unit = o.province, o.unit
    code = next(c for c, m in report_targets(unit).items() if m == "ratio")
    approved_report(unit, {code: {"numerator": 1, "denominator": 2}})
    exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    sender = ExchangePage(unit.approver)
    qtbot.addWidget(sender)
    assert sender.outbox_model.rowCount() == 1 and raw_codes(sender, [PLAN]) == []
    page = ExchangePage(prov.admin)
    qtbot.addWidget(page)
    page.scan_button.click()
    assert page.received_model.rowCount() == 1
    assert raw_codes(page, [PLAN]) == []
    report = page.received_model.row(0)
    dlg = ReturnDialog(report, page, plan_title=page._titles[PLAN])
    qtbot.addWidget(dlg)
    assert raw_codes(dlg, [PLAN]) == []


def test_outbox_and_scan_results_name_units_not_codes(qtbot, two_offices):
    """The outbox's "Gửi đến" and a scan's "Từ" show the unit's full name from the roster."""
    from desktop.models.services import units

    o = two_offices
    code = next(c for c, m in report_targets(o.unit).items() if m == "ratio")
    approved_report(o.unit, {code: {"numerator": 1, "denominator": 2}})
    exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False)
    page = ExchangePage(o.unit.admin)
    qtbot.addWidget(page)
    page.refresh()
    names = units.unit_names(o.unit.admin)
    shown = page.outbox_model.index(0, 1).data()
    assert shown in names.values() and shown not in names
    prov = ExchangePage(o.province.admin)
    qtbot.addWidget(prov)
    prov.scan_button.click()
    senders = {prov.result_model.index(r, 1).data() for r in range(prov.result_model.rowCount())}
    assert senders and all(s in units.unit_names(o.province.admin).values() for s in senders), senders
