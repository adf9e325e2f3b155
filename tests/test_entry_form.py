"""The progress entry form with real services on a fresh vault: validation as you type, autosave,
undo, keyboard, workflow (submit / approve / send back / returned by the province) and the
unsaved-changes guard. Vietnamese text is set with setText/setPlainText (QTest cannot type it)."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from conftest import APPROVER_PW
from desktop.models.services import progress
from desktop.ui.entry_form import EntryForm, entry_columns
from desktop.ui.targets_model import GroupedTargetsModel
from desktop.ui.messages import MessageBox
from plan_fixtures import entry_session, installed  # noqa: F401

PLAN = "thanhhoa-cds-2025"
TODAY = date(2025, 5, 15)
YES, NO = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
RATIO = "TH-2.2-02"        # 100% văn bản … có chữ ký số (ratio ≥ 100%)
COUNT = "TH-III.1-02"      # tối thiểu 4 lần/năm
MILESTONE = "TH-2.1-01"


@pytest.fixture(autouse=True)
def _clean_messages(monkeypatch):
    def unexpected(box):
        pytest.fail(f"unanswered message box: {box.windowTitle()}: {box.text()}")

    monkeypatch.setattr(QMessageBox, "exec", unexpected)   # a modal box would block the test run
    MessageBox.shown.clear()
    MessageBox._next_answers.clear()
    yield
    MessageBox._next_answers.clear()


def make_form(qtbot, session, period: str | None = "2025-03") -> EntryForm:
    form = EntryForm(session, today=TODAY)
    qtbot.addWidget(form)
    form.resize(1280, 800)
    form.show()
    qtbot.waitExposed(form)
    if period:
        assert form.open_report(PLAN, period)
    return form


@pytest.fixture
def form(qtbot, entry_session):
    return make_form(qtbot, entry_session)


@pytest.fixture
def approver(created, installed):
    session = created[0].unlock("lanhdao", APPROVER_PW)
    yield session
    if session.is_unlocked:
        session.lock()


def type_number(qtbot, box, text: str) -> None:
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, text)


def stored(session, form) -> progress.ReportView:
    return progress.get_report(session, form.report.id)


def fill_ratio(qtbot, form, num: str, den: str) -> None:
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["denominator"], den)
    type_number(qtbot, form.editor.inputs["numerator"], num)
    assert form.save_now()


# ------------------------------------------------------------------ opening
def test_opens_lists_the_units_targets_and_creates_nothing_until_typed(qtbot, entry_session):
    form = make_form(qtbot, entry_session)
    rows = form.model.rows()
    assert len(rows) == 33                      # targets for a district-level procuracy, 9 province-only left out
    assert "TH-2.2-06" not in {r.code for r in rows}  # the DTI roll-out to the districts is the province's task
    assert "TH-2.2-01" not in [r.code for r in rows]
    heading = form.model.group_indexes()[0]
    assert heading.data().startswith("2.1. Chuyển đổi số trong hoạt động nghiệp vụ")
    assert form.target_view.isFirstColumnSpanned(0, QModelIndex())
    assert form.current_code == "TH-2.1-01" and form.editor.code == "TH-2.1-01"
    assert form.period_combo.currentData() == "2025-03" and form.period_type_combo.currentData() == "month"
    assert "Mới" in form.report_chip.text()
    assert progress.list_reports(entry_session, PLAN) == []     # browsing leaves no empty report behind
    # the default period is the current month of the plan's year
    other = EntryForm(entry_session, today=TODAY)
    qtbot.addWidget(other)
    assert other.period_combo.currentData() == "2025-05"


def test_entry_table_model_passes_modeltester(qtmodeltester, form):
    qtmodeltester.check(form.model)
    empty = GroupedTargetsModel(entry_columns())
    qtmodeltester.check(empty)


def test_inputs_fit_the_measure(form):
    form.select_target(RATIO)
    assert set(form.editor.inputs) >= {"numerator", "denominator", "result_text", "difficulties", "proposals"}
    labels = [w.text() for w in form.editor.findChildren(QLabel)]
    assert "Số văn bản được thực hiện trên môi trường mạng, có chữ ký số chuyên dùng" in labels
    assert "chỉ tiêu ≥ 100%" in form.editor.ratio_info.text()
    form.select_target(COUNT)
    assert "count" in form.editor.inputs and "numerator" not in form.editor.inputs
    form.select_target(MILESTONE)
    assert {"done", "done_date"} <= set(form.editor.inputs)
    assert not form.editor.inputs["done_date"].isEnabled()      # no date until ticked
    assert form.editor.inputs["done_date"].displayFormat() == "dd/MM/yyyy"


# ------------------------------------------------------------------ validation and autosave
def test_numerator_above_denominator_shows_the_reason_and_is_not_saved(qtbot, form, entry_session):
    form.select_target(RATIO)
    ed = form.editor
    type_number(qtbot, ed.inputs["denominator"], "30")
    type_number(qtbot, ed.inputs["numerator"], "40")
    err = ed.errors["numerator"]
    assert err.isVisible() and err.text() == "Tử số (40) không được lớn hơn mẫu số (30)."
    assert ed.inputs["numerator"].property("invalid") is True
    assert form.save_now() is False
    entry = stored(entry_session, form).entries[RATIO]
    assert entry.denominator == 30 and entry.numerator is None     # the valid field was saved, the other not
    assert "chưa lưu" in form.saved_label.text()
    row = form.model.index_of(RATIO, 2)
    assert "Chưa lưu" in row.data(Qt.ItemDataRole.ToolTipRole)

    type_number(qtbot, ed.inputs["numerator"], "29")
    assert not err.isVisible() and ed.inputs["numerator"].property("invalid") is False
    assert "96,7%" in ed.ratio_info.text()


def test_valid_values_autosave_after_the_pause_and_become_revisions(qtbot, form, entry_session):
    form.select_target(RATIO)
    ed = form.editor
    type_number(qtbot, ed.inputs["numerator"], "3316")
    assert form.saved_label.text() == "Đang chờ lưu…"
    assert progress.list_reports(entry_session, PLAN) == []    # not before the pause

    def saved(field, value):
        reports = progress.list_reports(entry_session, PLAN)
        if not reports:
            return False
        e = progress.get_report(entry_session, reports[0].id).entries.get(RATIO)
        return e is not None and getattr(e, field) == value

    qtbot.waitUntil(lambda: saved("numerator", 3316), timeout=3000)
    type_number(qtbot, ed.inputs["denominator"], "3429")
    qtbot.waitUntil(lambda: saved("denominator", 3429), timeout=3000)
    assert ed.inputs["numerator"].text() == "3.316"             # Vietnamese digit grouping once typed
    assert "Đã lưu lúc" in form.saved_label.text()
    history = progress.entry_history(entry_session, form.report.id, RATIO)
    assert {(h.field, h.new, h.user) for h in history} == {("numerator", "3316", "Trần Thị Nhập"),
                                                            ("denominator", "3429", "Trần Thị Nhập")}
    assert form.model.index_of(RATIO, 2).data() == "3.316/3.429 (96,7%)"
    assert form.model.index_of(RATIO, 3).data() == "Đúng tiến độ"   # live status from the status rules
    assert "Đạt 96,7%" in ed.status_reason.text()

    # a text field saves on focus-out too
    ed.inputs["difficulties"].setFocus()
    ed.inputs["difficulties"].setPlainText("Một số văn bản của cơ quan ngoài ngành chưa có chữ ký số.")
    ed.inputs["proposals"].setFocus()
    qtbot.waitUntil(lambda: stored(entry_session, form).entries[RATIO].difficulties.startswith("Một số"), timeout=2000)


def test_ctrl_z_restores_the_previous_value_and_saves_it(qtbot, form, entry_session):
    fill_ratio(qtbot, form, "29", "30")
    ed = form.editor
    type_number(qtbot, ed.inputs["denominator"], "40")
    assert form.save_now()
    assert stored(entry_session, form).entries[RATIO].denominator == 40
    assert "Mẫu số" in form.undo_button.toolTip()
    qtbot.keyClick(ed.inputs["denominator"], Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ed.inputs["denominator"].number() == 30
    assert stored(entry_session, form).entries[RATIO].denominator == 30
    history = progress.entry_history(entry_session, form.report.id, RATIO)
    assert (history[0].field, history[0].old, history[0].new) == ("denominator", "40", "30")
    # undo reaches changes of another target: it goes back there
    form.select_target(COUNT)
    form.undo()
    assert form.current_code == RATIO
    assert stored(entry_session, form).entries[RATIO].numerator is None

    # Ctrl+Z on a value that cannot be saved just drops it
    type_number(qtbot, form.editor.inputs["numerator"], "99")
    assert form.editor.errors["numerator"].isVisible()
    form.undo()
    assert form.editor.inputs["numerator"].number() is None and not form.has_unsaved()


def test_keyboard_enter_moves_to_the_next_target_tab_to_the_next_field(qtbot, form):
    form.activateWindow()
    form.select_target(RATIO)
    num = form.editor.inputs["numerator"]
    num.setFocus()
    qtbot.waitUntil(lambda: num.hasFocus(), timeout=1000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    den = form.editor.inputs["denominator"]
    assert den.hasFocus()
    qtbot.keyClicks(den, "12")
    qtbot.keyClick(den, Qt.Key.Key_Return)
    assert form.current_code == "TH-2.2-03"
    first = form.editor.first_input()
    qtbot.waitUntil(lambda: first.hasFocus(), timeout=1000)
    # Enter in a multi-line field is a new line; Ctrl+Enter moves on
    text = form.editor.inputs["result_text"]
    qtbot.keyClick(text, Qt.Key.Key_Return)
    assert form.current_code == "TH-2.2-03"
    qtbot.keyClick(text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert form.current_code == "TH-2.2-04"
    # the value typed before Enter was saved on the way
    assert form.saved_values(RATIO)["denominator"] == 12


def test_count_shows_the_running_yearly_total(qtbot, entry_session):
    for key in ("2025-01", "2025-02"):
        r = progress.open_report(entry_session, PLAN, key)
        progress.record_progress(entry_session, r.id, COUNT, count=1)
    later = progress.open_report(entry_session, PLAN, "2025-05")
    progress.record_progress(entry_session, later.id, COUNT, count=5)   # a later month is not "so far"
    form = make_form(qtbot, entry_session)
    form.select_target(COUNT)
    info = form.editor.count_info
    assert "Lũy kế năm 2025: <b>2 lần</b> (các kỳ trước: 2)" in info.text() and "tối thiểu 4 lần/năm" in info.text()
    type_number(qtbot, form.editor.inputs["count"], "1")
    assert "<b>3 lần</b>" in info.text()
    assert form.save_now()
    assert stored(entry_session, form).entries[COUNT].count == 1


def test_milestone_date_must_be_inside_the_plan_year(qtbot, form, entry_session):
    form.select_target(MILESTONE)
    ed = form.editor
    ed.inputs["done"].setChecked(True)
    assert ed.inputs["done_date"].isEnabled()
    ed.inputs["done_date"].set_py_date(date(2024, 12, 31))
    assert "trong năm 2025" in ed.errors["done_date"].text()
    assert form.save_now() is False
    ed.inputs["done_date"].set_py_date(date(2025, 3, 12))
    assert not ed.errors["done_date"].isVisible()
    assert form.save_now()
    e = stored(entry_session, form).entries[MILESTONE]
    assert e.done is True and e.done_date == date(2025, 3, 12)
    assert form.model.index_of(MILESTONE, 2).data() == "Xong 12/03/2025"
    assert form.model.index_of(MILESTONE, 3).data() == "Hoàn thành"


def test_narrative_sections_autosave(qtbot, form, entry_session):
    assert form.tabs.tabText(1) == "Báo cáo chung (I–VI)"
    box = form.narrative_edits["I"]
    box.setPlainText("Đơn vị đã ban hành kế hoạch triển khai.")
    assert form.save_now()
    assert stored(entry_session, form).narrative["I"] == "Đơn vị đã ban hành kế hoạch triển khai."
    form.undo()
    assert box.toPlainText() == "" and stored(entry_session, form).narrative["I"] == ""


# ------------------------------------------------------------------ guard
def test_unsaved_changes_guard_asks_before_switching_period(qtbot, form):
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["denominator"], "10")
    type_number(qtbot, form.editor.inputs["numerator"], "20")
    MessageBox.set_next_answer(NO)
    form.period_combo.setCurrentIndex(form.period_combo.findData("2025-04"))
    assert MessageBox.shown[-1][0] == "Thay đổi chưa lưu" and "TH-2.2-02 – Tử số" in MessageBox.shown[-1][1]
    assert form.report.period.key == "2025-03" and form.period_combo.currentData() == "2025-03"
    assert form.editor.inputs["numerator"].number() == 20          # what was typed is still there

    MessageBox.set_next_answer(YES)
    form.period_combo.setCurrentIndex(form.period_combo.findData("2025-04"))
    assert form.report.period.key == "2025-04" and not form.has_unsaved()
    # nothing to lose: no question
    n = len(MessageBox.shown)
    assert form.open_report(PLAN, "2025-03")
    assert len(MessageBox.shown) == n
    assert form.saved_values(RATIO)["denominator"] == 10 and form.saved_values(RATIO)["numerator"] is None


# ------------------------------------------------------------------ workflow
def test_submit_locks_the_form_and_the_approver_approves(qtbot, form, entry_session, approver):
    fill_ratio(qtbot, form, "29", "30")
    MessageBox.set_next_answer(YES)
    assert form.submit()
    assert form.report.status == progress.PENDING
    assert form.banner.isVisible() and "chờ lãnh đạo đơn vị duyệt" in form.banner.text()
    form.select_target(RATIO)
    ed = form.editor
    assert ed.inputs["numerator"].isReadOnly() and ed.inputs["result_text"].isReadOnly()
    assert not ed.attach_button.isEnabled()
    assert form.narrative_edits["I"].isReadOnly()
    assert not form.submit_button.isEnabled() and not form.approve_button.isVisible()
    qtbot.keyClicks(ed.inputs["numerator"], "5")
    assert form.save_now() and stored(entry_session, form).entries[RATIO].numerator == 29

    # a data-entry officer cannot approve, whatever the UI: the service refuses, nothing changes
    before = progress.report_transitions(entry_session, form.report.id)
    MessageBox.set_next_answer(YES)
    MessageBox.set_next_answer(None)          # the error shown
    assert form.approve() is False
    assert "không có quyền" in MessageBox.shown[-1][1]
    assert stored(entry_session, form).status == progress.PENDING
    assert progress.report_transitions(entry_session, form.report.id) == before

    head = make_form(qtbot, approver, period=None)                  # opens what waits for approval
    assert head.report.period.key == "2025-03" and head.report.status == progress.PENDING
    assert head.approve_button.isEnabled() and not head.submit_button.isVisible()
    assert "Duyệt" in head.banner.text()
    MessageBox.set_next_answer(YES)
    assert head.approve()
    assert head.report.status == progress.APPROVED and "đã được duyệt" in head.banner.text()
    assert progress.approved_values(approver, head.report.id)["entries"][RATIO]["numerator"] == "29"
    assert not head.approve_button.isEnabled()


def test_approver_sends_back_with_a_comment(qtbot, form, entry_session, approver):
    fill_ratio(qtbot, form, "29", "30")
    MessageBox.set_next_answer(YES)
    assert form.submit()
    head = make_form(qtbot, approver)
    dlg = head.open_send_back_dialog()
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dlg.comment.setPlainText("Kiểm tra lại mẫu số mục TH-2.2-02.")
    assert ok.isEnabled()
    dlg.accept()
    assert head.report.status == progress.DRAFT
    form.reload()
    assert form.editable and "Kiểm tra lại mẫu số" in form.banner.text()
    assert not form.editor.inputs["numerator"].isReadOnly()


def test_returned_report_shows_the_provinces_comments_next_to_targets(qtbot, form, entry_session, approver):
    fill_ratio(qtbot, form, "29", "30")
    rid = form.report.id
    progress.submit_report(entry_session, rid)
    progress.approve_report(approver, rid)
    progress.mark_sent(approver, rid, "ab" * 32)
    progress.mark_returned(approver, rid, "Bổ sung minh chứng.", {RATIO: "Thiếu văn bản ký số tháng 3."})
    form.reload()
    assert form.report.status == progress.RETURNED and form.editable
    assert "“Bổ sung minh chứng”" in form.banner.text() and "1 mục tiêu có ý kiến riêng" in form.banner.text()
    assert "Thiếu văn bản ký số tháng 3." in form.model.index_of(RATIO, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert form.model.index_of(RATIO, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert form.model.index_of(COUNT, 0).data(Qt.ItemDataRole.ToolTipRole) is None
    form.select_target(RATIO)
    assert form.editor.comment_box.isVisible() and "Thiếu văn bản ký số tháng 3." in form.editor.comment_box.text()
    form.select_target(COUNT)
    assert not form.editor.comment_box.isVisible()
    # correcting turns it back into a draft, the comments stay in view while fixing
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["numerator"], "30")
    assert form.save_now()
    assert form.report.status == progress.DRAFT and "Nháp" in form.report_chip.text()
    assert form.editor.comment_box.isVisible()


def test_each_changed_field_is_its_own_save_in_a_valid_order(qtbot, form, entry_session, monkeypatch):
    fill_ratio(qtbot, form, "29", "30")
    calls = []
    real = progress.record_progress
    monkeypatch.setattr(progress, "record_progress",
                        lambda s, rid, code, **fields: calls.append(sorted(fields)) or real(s, rid, code, **fields))
    ed = form.editor
    # both sides move past the saved values: the denominator must be saved first
    ed.inputs["numerator"].set_number(45)
    ed.inputs["denominator"].set_number(50)
    ed.inputs["result_text"].setPlainText("Tăng số văn bản ký số.")
    assert form.save_now()
    assert calls == [["denominator"], ["numerator"], ["result_text"]]
    e = stored(entry_session, form).entries[RATIO]
    assert (e.numerator, e.denominator, e.result_text) == (45, 50, "Tăng số văn bản ký số.")
    form.undo()                                  # one undo for what one save wrote
    e = stored(entry_session, form).entries[RATIO]
    assert (e.numerator, e.denominator, e.result_text) == (29, 30, "")


# ------------------------------------------------------------------ typed input (issue: what users expect)
def test_a_date_typed_over_the_field_is_saved(qtbot, form, entry_session):
    form.select_target(MILESTONE)
    ed = form.editor
    qtbot.mouseClick(ed.inputs["done"], Qt.MouseButton.LeftButton)
    dt = ed.inputs["done_date"]
    dt.setFocus()
    dt.selectAll()
    qtbot.keyClicks(dt, "15/03/2025")
    qtbot.keyClick(dt, Qt.Key.Key_Tab)
    assert form.save_now()
    assert stored(entry_session, form).entries[MILESTONE].done_date == date(2025, 3, 15)
    dt.setFocus()
    dt.selectAll()
    qtbot.keyClicks(dt, "02032025")                # without separators
    qtbot.keyClick(dt, Qt.Key.Key_Tab)
    assert dt.text() == "02/03/2025"
    assert form.save_now()
    assert stored(entry_session, form).entries[MILESTONE].done_date == date(2025, 3, 2)


def test_a_typed_text_that_is_no_date_is_refused_visibly(qtbot, form, entry_session):
    form.select_target(MILESTONE)
    ed = form.editor
    qtbot.mouseClick(ed.inputs["done"], Qt.MouseButton.LeftButton)
    dt = ed.inputs["done_date"]
    dt.set_py_date(date(2025, 3, 10))
    assert form.save_now()
    dt.setFocus()
    dt.selectAll()
    qtbot.keyClicks(dt, "31/02/2025")
    qtbot.keyClick(dt, Qt.Key.Key_Tab)
    err = ed.errors["done_date"]
    assert err.isVisible() and "31/02/2025" in err.text() and "10/03/2025" in err.text()
    assert form.save_now()
    assert stored(entry_session, form).entries[MILESTONE].done_date == date(2025, 3, 10)   # the kept date


def test_a_milestone_completed_earlier_shows_that_completion(qtbot, entry_session):
    feb = progress.open_report(entry_session, PLAN, "2025-02")
    progress.record_progress(entry_session, feb.id, MILESTONE, done=True, done_date=date(2025, 2, 20))
    form = make_form(qtbot, entry_session)          # Tháng 03/2025
    form.select_target(MILESTONE)
    ed = form.editor
    note = ed.earlier_done_label
    assert note.isVisible() and "20/02/2025" in note.text() and "Tháng 02/2025" in note.text()
    qtbot.mouseClick(ed.inputs["done"], Qt.MouseButton.LeftButton)
    assert ed.inputs["done_date"].py_date() == date(2025, 2, 20)     # ticking again keeps that date
    assert "khác ngày đã báo" not in note.text()
    ed.inputs["done_date"].set_py_date(date(2025, 3, 5))
    assert "khác ngày đã báo" in note.text() and "05/03/2025" in note.text()


def test_ratio_zero_over_zero_says_why_there_is_no_percentage(qtbot, form):
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["denominator"], "0")
    type_number(qtbot, form.editor.inputs["numerator"], "0")
    assert "mẫu số bằng 0" in form.editor.ratio_info.text()


def test_a_numerator_over_a_zero_denominator_asks_for_a_denominator(qtbot, form):
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["denominator"], "0")
    type_number(qtbot, form.editor.inputs["numerator"], "12")
    err = form.editor.errors["denominator"]
    assert err.isVisible() and "Mẫu số phải lớn hơn 0" in err.text()
    assert "không được lớn hơn mẫu số (0)" not in form.editor.errors["numerator"].text()
    type_number(qtbot, form.editor.inputs["denominator"], "20")
    assert not err.isVisible() and form.save_now()


def test_an_unreasonable_count_is_refused_with_the_reason(qtbot, form, entry_session):
    form.select_target(COUNT)
    type_number(qtbot, form.editor.inputs["count"], "99999")
    err = form.editor.errors["count"]
    assert err.isVisible() and "99.999" in err.text() and "không hợp lý" in err.text()
    assert form.save_now() is False
    assert form.report.id == 0              # nothing stored (not even the report)
    type_number(qtbot, form.editor.inputs["count"], "12")
    assert not err.isVisible()
    assert form.save_now()
    assert stored(entry_session, form).entries[COUNT].count == 12


def test_letters_in_a_number_are_refused_visibly(qtbot, form):
    form.select_target(COUNT)
    box = form.editor.inputs["count"]
    type_number(qtbot, box, "1a")
    err = form.editor.errors["count"]
    assert err.isVisible() and "“a”" in err.text()
    assert box.number() == 1



def test_the_form_opens_on_the_period_being_worked_on(qtbot, entry_session):
    """Not January or December: the draft last worked on; with every report sent on, the next period."""
    for key in ("2025-01", "2025-02"):
        r = progress.open_report(entry_session, PLAN, key)
        progress.record_progress(entry_session, r.id, COUNT, count=1)
        progress.submit_report(entry_session, r.id)
    form = make_form(qtbot, entry_session, period=None)
    assert form.loaded.period.key == "2025-03"            # the one after the last submitted report
    form.close()
    r = progress.open_report(entry_session, PLAN, "2025-04")
    progress.record_progress(entry_session, r.id, COUNT, count=2)
    form = make_form(qtbot, entry_session, period=None)
    assert form.loaded.period.key == "2025-04"            # the draft
    assert form.period_combo.currentText().startswith("Tháng 04/2025")


# ------------------------------------------------------------------ finding targets (issue 19)
def test_search_by_name_without_diacritics_or_by_code(qtbot, form):
    total = form.model.target_count()
    form.search_edit.setText("chu ky so chuyen dung")           # typed without diacritics
    qtbot.waitUntil(lambda: form.model.target_count() < total, timeout=3000)
    codes = [r.code for r in form.model.rows()]
    assert RATIO in codes and all("chữ ký số" in r.text for r in form.model.rows())
    assert form.match_label.text() == f"{len(codes)}/{total} mục tiêu"
    assert form.current_code in codes and form.editor.code == form.current_code
    form.search_edit.setText("iii.1-02")
    form.apply_filter()
    assert [r.code for r in form.model.rows()] == [COUNT] and form.current_code == COUNT
    form.search_edit.setText("không có mục tiêu nào như thế")
    form.apply_filter()
    assert form.model.target_count() == 0 and form.match_label.text() == f"0/{total} mục tiêu"
    form.search_edit.clear()
    form.apply_filter()
    assert form.model.target_count() == total and form.match_label.text() == ""


def test_filter_not_entered_and_not_yet_achieved(qtbot, form):
    total = form.model.target_count()
    assert [form.filter_combo.itemText(i) for i in range(form.filter_combo.count())] == \
        ["Tất cả", "Chưa nhập", "Chưa đạt", "Có lỗi, ý kiến"]
    fill_ratio(qtbot, form, "3316", "3429")
    assert form.progress_label.text().startswith(f"Đã nhập 1/{total} mục tiêu")
    form.set_filter("not_entered")
    codes = [r.code for r in form.model.rows()]
    assert RATIO not in codes and len(codes) == total - 1
    # typing into a target shown by the filter keeps it on screen until the filter is applied again
    form.select_target(COUNT)
    type_number(qtbot, form.editor.inputs["count"], "2")
    assert form.save_now()
    assert COUNT in [r.code for r in form.model.rows()]
    form.apply_filter()
    assert COUNT not in [r.code for r in form.model.rows()] and form.model.target_count() == total - 2
    form.set_filter("behind")
    behind = [r.code for r in form.model.rows()]
    assert RATIO in behind                                     # 96,7% of a 100% target: on track, not achieved
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["numerator"], "3429")
    assert form.save_now()
    form.apply_filter()
    assert RATIO not in [r.code for r in form.model.rows()]
    form.set_filter("all")
    assert form.model.target_count() == total
    # a value that cannot be saved: "Có lỗi, ý kiến" finds it
    form.select_target(RATIO)
    type_number(qtbot, form.editor.inputs["numerator"], "9999")
    assert not form.save_now()
    form.set_filter("problems")
    assert [r.code for r in form.model.rows()] == [RATIO] and form.current_code == RATIO
    form.undo()                                                # drop the invalid value
    form.apply_filter()
    assert form.model.target_count() == 0 and form.editor.code == RATIO


def test_submit_warns_how_many_targets_are_still_empty(qtbot, form, entry_session):
    total = form.model.target_count()
    fill_ratio(qtbot, form, "3316", "3429")
    MessageBox.set_next_answer(NO)
    assert not form.submit()
    title, text = MessageBox.shown[-1]
    assert title == "Trình duyệt"
    assert text.startswith(f"Còn {total - 1}/{total} mục tiêu chưa nhập kết quả kỳ {form.loaded.period.label} (")
    assert "Vẫn trình duyệt?" in text and RATIO not in text.split("Vẫn")[0]
    import unicodedata
    assert unicodedata.is_normalized("NFC", text)
    assert stored(entry_session, form).status == progress.DRAFT
    assert form.filter_combo.currentData() == "not_entered"    # what is left to enter, on screen
    assert RATIO not in [r.code for r in form.model.rows()]
    MessageBox.set_next_answer(YES)
    assert form.submit()
    assert stored(entry_session, form).status == progress.PENDING


# ------------------------------------------------------------------ autosave as an operation
def test_autosave_is_an_operation_that_refreshes_listeners(qtbot, form):
    from desktop.ui import ops

    form.select_target(COUNT)
    with qtbot.waitSignal(ops.bus().changed, timeout=3000) as changed:
        type_number(qtbot, form.editor.inputs["count"], "3")
        form.flush()
    assert changed.args[0] & ops.Changes.PROGRESS and changed.args[1] is form


def test_autosave_runs_off_the_gui_thread_and_survives_lock(qtbot, form, entry_session, monkeypatch, sync_ops):
    import threading

    from desktop.ui import ops

    threads = []
    real = progress.record_progress

    def recording(*args, **kw):
        threads.append(threading.current_thread())
        return real(*args, **kw)

    monkeypatch.setattr(progress, "record_progress", recording)
    ops.set_synchronous(False)
    try:
        form.select_target(COUNT)
        type_number(qtbot, form.editor.inputs["count"], "4")
        form.flush()
        qtbot.waitUntil(lambda: not form.has_pending_edits(), timeout=10_000)
        assert threads and threading.main_thread() not in threads
        assert stored(entry_session, form).entries[COUNT].count == 4

        # the worker is busy; the save queues behind it; lock starts: the save is not dropped
        release = threading.Event()
        ops.Op(None, lambda: release.wait(10)).run()
        type_number(qtbot, form.editor.inputs["count"], "5")
        form.flush()
        idle = []
        ops.runner().shutdown(lambda: idle.append(True))
        release.set()
        qtbot.waitUntil(lambda: bool(idle), timeout=10_000)
        assert stored(entry_session, form).entries[COUNT].count == 5
    finally:
        release.set()
        ops.runner().wait(10_000)
        ops.runner().resume()
        ops.set_synchronous(True)


def test_a_value_typed_just_before_lock_is_saved(qtbot, created, installed, sync_ops):
    """Ctrl+L right after typing, while the worker is busy: lock hides the window (the form
    saves), waits for the save, and only then wipes the key."""
    import threading

    from conftest import ENTRY_PW
    from desktop.ui import ops
    from desktop.ui.app import AppController

    vault = created[0]
    ops.set_synchronous(False)
    gate = threading.Event()
    ctl = AppController(vault)
    try:
        ctl.start()
        qtbot.addWidget(ctl.login)
        ctl.login.username.setText("nhaplieu")
        ctl.login.password.setText(ENTRY_PW)
        ctl.login.attempt()
        qtbot.waitUntil(lambda: ctl.session is not None and ctl.main is not None, timeout=10_000)
        ctl.main.show_page("entry")
        form = ctl.main.page_widget("entry")
        qtbot.waitUntil(lambda: form.loaded is not None, timeout=10_000)
        form.open_report(PLAN, "2025-03")
        qtbot.waitUntil(lambda: form.loaded is not None and form.loaded.period.key == "2025-03", timeout=10_000)
        form.select_target(COUNT)
        type_number(qtbot, form.editor.inputs["count"], "7")
        assert form.has_pending_edits()                       # typed, the autosave timer not fired yet
        ops.Op(None, lambda: gate.wait(10)).run()             # the worker is busy: the save will queue
        live = ctl.session
        ctl.lock("Đã khóa phiên làm việc.")
        assert live.is_unlocked                               # waiting for the save
        gate.set()
        qtbot.waitUntil(lambda: not live.is_unlocked, timeout=10_000)
    finally:
        gate.set()
        ops.runner().wait(10_000)
        ops.runner().resume()
        ops.set_synchronous(True)
    again = vault.unlock("nhaplieu", ENTRY_PW)
    try:
        mine = [s for s in progress.list_reports(again, PLAN) if s.period_key == "2025-03"]
        assert len(mine) == 1 and progress.get_report(again, mine[0].id).entries[COUNT].count == 7
    finally:
        again.lock()
    ctl.login.close()


def test_ctrl_f_finds_and_arrow_keys_step_over_group_headings(qtbot, form):
    rows = form.model.rows()
    last_of_first_group = [r for r in rows if r.group_code == rows[0].group_code][-1]
    first_of_second_group = rows[rows.index(last_of_first_group) + 1]
    form.select_target(last_of_first_group.code)
    form.target_view.setFocus()
    qtbot.keyClick(form.target_view, Qt.Key.Key_Down)        # the next group's heading is stepped over
    assert form.current_code == first_of_second_group.code and form.editor.code == first_of_second_group.code
    qtbot.keyClick(form.target_view, Qt.Key.Key_Up)
    assert form.current_code == last_of_first_group.code
    qtbot.keyClick(form.target_view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert form.search_edit.hasFocus()
