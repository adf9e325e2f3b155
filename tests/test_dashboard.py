"""The dashboard: figures from real entries, and the page with qtbot."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.models.services import dashboard, plans, progress
from desktop.models.domain.status import Progress

from conftest import ENTRY_PW

PLAN = "vkstc-cds-2024"


@pytest.fixture
def entry(created):
    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    admin.lock()
    s = vault.unlock("nhaplieu", ENTRY_PW)
    yield s
    if s.is_unlocked:
        s.lock()


def test_dashboard_figures(entry):
    report = progress.open_report(entry, PLAN, "2024-06")
    targets = {t.code: t for t in progress.report_targets(entry, report)}
    assert "MT03" in targets and "MT01" not in targets  # MT01 concerns only the Supreme Procuracy
    milestone = next(c for c, t in targets.items() if t.measure.type == "milestone")
    progress.record_progress(entry, report.id, "MT03", numerator=100, denominator=100)
    progress.record_progress(entry, report.id, milestone, done=True, done_date="2024-03-20")
    board = dashboard.build_dashboard(entry, PLAN, as_of=date(2024, 7, 10))
    by_code = {ts.target.code: ts for ts in board.statuses}
    assert set(by_code) == set(targets)
    assert by_code["MT03"].result.status is Progress.HOAN_THANH
    assert by_code[milestone].result.status is Progress.HOAN_THANH
    assert board.counts[Progress.HOAN_THANH] == 2
    assert board.overall_rate == pytest.approx(2 / len(board.statuses))
    # MT02 (due 9/2024) is not overdue in July; a target due 6/2024 without values is
    overdue_codes = {ts.target.code for ts in board.overdue}
    assert "MT02" not in overdue_codes
    due_june = [c for c, t in targets.items() if t.deadline.end_date(2024) == date(2024, 6, 30) and c != "MT03"]
    assert due_june and set(due_june) <= overdue_codes
    # due within 30 days of 10/07/2024: targets ending 31/07/2024
    assert all(date(2024, 7, 10) <= ts.target.deadline.end_date(2024) <= date(2024, 8, 9) for ts in board.due_soon)
    groups = {g.code: g for g in board.groups}
    assert sum(g.total for g in board.groups) == len(board.statuses)
    assert sum(g.done for g in groups.values()) == 2


def test_pending_reports_listed(entry):
    report = progress.open_report(entry, PLAN, "2024-06")
    progress.record_progress(entry, report.id, "MT03", numerator=1, denominator=2)
    progress.submit_report(entry, report.id)
    board = dashboard.build_dashboard(entry, PLAN, as_of=date(2024, 7, 1))
    assert [r.id for r in board.awaiting_approval] == [report.id]


def test_dashboard_page(qtbot, qtmodeltester, entry):
    from desktop.ui.dashboard import DashboardPage

    report = progress.open_report(entry, PLAN, "2024-06")
    progress.record_progress(entry, report.id, "MT03", numerator=100, denominator=100)
    page = DashboardPage(entry, today=date(2024, 7, 10))
    qtbot.addWidget(page)
    page.resize(1280, 800)
    assert page.plan_combo.currentData() == PLAN
    assert page.rate.text().endswith("%")
    assert page.overdue_model.rowCount() == len(page.board.overdue) > 0
    for m in (page.overdue_model, page.soon_model, page.pending_model):
        qtmodeltester.check(m)
    with qtbot.waitSignal(page.openTarget) as sig:
        page.overdue_view.doubleClicked.emit(page.overdue_model.index(0, 0))
    plan_id, period_key, code = sig.args
    assert plan_id == PLAN and code == page.overdue_model.row(0).target.code


def test_dashboard_follows_entering_and_submitting_progress(qtbot, entry):
    """The home page listens to ops.Changes: a value saved or a report submitted elsewhere shows at
    once when the dashboard is on screen, and on its next showing when it is not."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.ui.dashboard import DashboardPage
    from desktop.ui.entry_form import EntryForm
    from desktop.ui.messages import MessageBox

    page = DashboardPage(entry, today=date(2024, 7, 10))
    qtbot.addWidget(page)
    page.show()
    page.plan_combo.setCurrentIndex(page.plan_combo.findData(PLAN))
    assert page.board.plan_id == PLAN
    done_before = page.board.counts.get(Progress.HOAN_THANH, 0)
    form = EntryForm(entry, today=date(2024, 7, 10))
    qtbot.addWidget(form)
    assert form.open_report(PLAN, "2024-06")
    form.select_target("MT03")
    for name in ("denominator", "numerator"):
        box = form.editor.inputs[name]
        box.setFocus()
        box.lineEdit().selectAll()
        qtbot.keyClicks(box, "100")
    assert form.save_now()
    assert page.board.counts.get(Progress.HOAN_THANH, 0) == done_before + 1   # refreshed, visible
    page.hide()
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    assert form.submit()
    assert page.board.awaiting_approval == []          # hidden: not re-read yet…
    page.show()
    assert [r.id for r in page.board.awaiting_approval] == [form.report.id]   # …but on showing
    assert "(1)" in page.pending_title.text()
