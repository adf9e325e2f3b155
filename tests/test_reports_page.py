"""The reports page with real services: the unit's reports, the status filter, the history of a
report (transitions and field revisions) and opening a report in the entry form."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from conftest import APPROVER_PW
from desktop.models.services import progress
from desktop.ui.main_window import MainWindow
from desktop.ui.messages import MessageBox
from desktop.ui.reports_page import (ReportsPage, ReportTableModel, RevisionTableModel, TransitionTableModel,
                                     revision_value)
from plan_fixtures import entry_session, installed  # noqa: F401

PLAN, TARGET = "thanhhoa-cds-2025", "TH-2.2-02"


@pytest.fixture(autouse=True)
def _clean_messages(monkeypatch):
    monkeypatch.setattr(QMessageBox, "exec", lambda box: pytest.fail(f"unanswered message box: {box.text()}"))
    MessageBox.shown.clear()
    yield
    MessageBox._next_answers.clear()


@pytest.fixture
def reports(created, entry_session):
    """January approved, February sent back by the head with a comment, March a draft being fixed."""
    head = created[0].unlock("lanhdao", APPROVER_PW)
    ids = {}
    for key in ("2025-01", "2025-02", "2025-03"):
        r = progress.open_report(entry_session, PLAN, key)
        progress.record_progress(entry_session, r.id, TARGET, numerator=29, denominator=30)
        ids[key] = r.id
    progress.record_progress(entry_session, ids["2025-03"], TARGET, numerator=30,
                             result_text="Đã ký số toàn bộ văn bản đi.")
    progress.submit_report(entry_session, ids["2025-01"])
    progress.approve_report(head, ids["2025-01"])
    progress.submit_report(entry_session, ids["2025-02"])
    progress.send_back(head, ids["2025-02"], "Bổ sung minh chứng.")
    progress.submit_report(entry_session, ids["2025-02"])
    yield ids
    head.lock()


@pytest.fixture
def page(qtbot, entry_session, reports):
    p = ReportsPage(entry_session)
    qtbot.addWidget(p)
    p.resize(1060, 760)
    p.show()
    return p


def cells(model, row: int) -> list:
    return [model.index(row, c).data() for c in range(model.columnCount())]


def test_lists_the_units_reports_and_filters_by_status(page):
    m = page.model
    assert m.rowCount() == 3 and page.count_label.text() == "3 báo cáo"
    by_period = {cells(m, r)[1]: cells(m, r) for r in range(m.rowCount())}
    jan = by_period["Tháng 01/2025"]
    assert jan[0] == "Kế hoạch Chuyển đổi số ngành Kiểm sát Thanh Hóa năm 2025"
    assert jan[2] == "Đã duyệt" and jan[4] == "0"
    assert len(jan[3]) == 16 and jan[3][2] == "/" and jan[3][5] == "/"      # dd/MM/yyyy HH:mm
    assert by_period["Tháng 02/2025"][2] == "Chờ duyệt" and by_period["Tháng 03/2025"][2] == "Nháp"

    page.status_combo.setCurrentIndex(page.status_combo.findData(progress.PENDING))
    assert m.rowCount() == 1 and cells(m, 0)[1] == "Tháng 02/2025"
    page.status_combo.setCurrentIndex(page.status_combo.findData(progress.SENT))
    assert m.rowCount() == 0 and page.empty_label.isVisible()
    assert page.empty_label.text() == "Không có báo cáo nào ở trạng thái này."
    assert not page.open_button.isEnabled()


def test_history_shows_transitions_and_field_revisions(page, reports):
    assert page.select_report(reports["2025-02"])
    t = page.transition_model
    rows = [cells(t, r) for r in range(t.rowCount())]          # newest first
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("Trần Thị Nhập", "Nháp", "Chờ duyệt"), ("Lê Văn Đạo", "Chờ duyệt", "Nháp"),
        ("Trần Thị Nhập", "Nháp", "Chờ duyệt"), ("Trần Thị Nhập", "(tạo mới)", "Nháp")]
    assert rows[1][4] == "Bổ sung minh chứng."
    assert page.history_tabs.tabText(0) == "Quá trình xử lý (4)"

    assert page.select_report(reports["2025-03"])
    v = page.revision_model
    revs = [cells(v, r) for r in range(v.rowCount())]
    assert page.history_tabs.tabText(1) == "Lịch sử sửa số liệu (4)"
    assert ["Trần Thị Nhập", TARGET, "Tử số", "29", "30"] in [r[1:] for r in revs]
    assert ["Trần Thị Nhập", TARGET, "Mẫu số", "–", "30"] in [r[1:] for r in revs]
    assert ["Trần Thị Nhập", TARGET, "Kết quả đạt được", "–", "Đã ký số toàn bộ văn bản đi."] in [r[1:] for r in revs]
    assert "Tháng 03/2025" in page.history_title.text()


def test_every_table_model_passes_modeltester(qtmodeltester, page, reports):
    page.select_report(reports["2025-02"])
    for model in (page.model, page.transition_model, page.revision_model):
        assert model.rowCount() > 0
        qtmodeltester.check(model)
    for empty in (ReportTableModel(), TransitionTableModel(), RevisionTableModel()):
        qtmodeltester.check(empty)


def test_revision_values_read_as_a_user_writes_them():
    assert revision_value("numerator", "3316.0") == "3.316"
    assert revision_value("numerator", "96.5") == "96,5"
    assert revision_value("done", "1") == "Có" and revision_value("done", "0") == "Không"
    assert revision_value("done_date", "2025-03-12") == "12/03/2025"
    assert revision_value("result_text", None) == "–"


def test_open_switches_the_main_window_to_the_entry_form_on_that_report(qtbot, created, entry_session, reports):
    pg = ReportsPage(entry_session)
    qtbot.addWidget(pg)
    pg.select_report(reports["2025-01"])
    with qtbot.waitSignal(pg.openReport) as blocker:
        pg.open_button.click()
    assert blocker.args == [PLAN, "2025-01"]

    main = MainWindow(entry_session, created[0])
    qtbot.addWidget(main)
    main.show()
    keys = [main.nav.item(i).data(0x0100) for i in range(main.nav.count())]
    assert keys.index("entry") == keys.index("plans") + 1 and keys.index("reports") == keys.index("plans") + 2
    main.show_page("reports")
    page = main.page_widget("reports")
    page.select_report(reports["2025-02"])
    page.open_selected()
    assert main.pages.currentWidget().objectName() == "page_entry"
    form = main.page_widget("entry")
    assert form.report.period.key == "2025-02" and form.report.status == progress.PENDING
    assert form.banner.isVisible()


def test_no_plan_id_or_period_key_on_screen_and_periods_sort_by_time(qtbot, page):
    from screen_text import raw_codes
    from test_sorting import click_header, shown

    assert raw_codes(page, [PLAN]) == []
    click_header(qtbot, page.view, 1)
    assert shown(page.view, 1) == ["Tháng 01/2025", "Tháng 02/2025", "Tháng 03/2025"]
    click_header(qtbot, page.view, 1)
    assert shown(page.view, 1) == ["Tháng 03/2025", "Tháng 02/2025", "Tháng 01/2025"]
    assert page.current_report() is not None  # the selection follows its row
