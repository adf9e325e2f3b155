"""The plan browser and its dialogs, driven with qtbot; every table model through qtmodeltester."""

from __future__ import annotations

from datetime import date

import pytest
from openpyxl import Workbook
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.models.services import plans
from desktop.ui.plan_browser import (ChangeTableModel, PlanBrowser, PlanTableModel, PreviewTableModel,
                                     ProblemTableModel, VersionTableModel)
from desktop.ui.plan_browser import target_model as target_model_of
from plan_fixtures import entry_session, installed, snapshot  # noqa: F401

TODAY = date(2025, 5, 15)


@pytest.fixture
def browser(qtbot, installed):
    w = PlanBrowser(installed, today=TODAY)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    assert w.select_plan("thanhhoa-cds-2025")
    return w


def _appendix(path, bad: bool = False):
    wb = Workbook()
    ws = wb.active
    ws.append(["KẾ HOẠCH CHUYỂN ĐỔI SỐ NĂM 2025 CỦA ĐƠN VỊ"])
    ws.append(["TT", "Mục tiêu", "Đơn vị chủ trì", "Đơn vị phối hợp", "Thời gian hoàn thành", "Kết quả"])
    ws.append(["I", "Quản lý, điều hành", None, None, None, None])
    ws.append([1, "100% văn bản có chữ ký số chuyên dùng", "Văn phòng", None, "Tháng 6/2025", None])
    ws.append([2, "Báo cáo tình hình ứng dụng CNTT", "Văn phòng", None, "Hàng tháng", "Báo cáo"])
    ws.append([3, "Ban hành quy chế sử dụng phần mềm", "Lãnh đạo", None, "13/2025" if bad else "31/8/2025", None])
    if bad:
        ws.append([4, None, "Lãnh đạo", None, "3/2025", None])
    wb.save(path)
    return path


def _click_row(qtbot, view, code: str) -> None:
    index = view.model().index_of(code, 1)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())


# ------------------------------------------------------------------ browsing
def test_search_filters_as_you_type_and_detail_shows_the_target(qtbot, browser):
    model = browser.target_model
    assert model.target_count() == 42 and browser.count_label.text() == "42 mục tiêu"
    qtbot.keyClicks(browser.search_edit, "chu ky so")
    qtbot.waitUntil(lambda: model.target_count() == 1, timeout=3000)
    assert browser.count_label.text() == "1/42 mục tiêu"
    assert model.rowCount() == 1   # one group heading, the target under it
    index = model.index_of("TH-2.2-02")
    assert index.parent() == model.index(0, 0) and model.row_at(index.parent()) is None
    _click_row(qtbot, browser.target_view, "TH-2.2-02")
    assert browser.current_target().code == "TH-2.2-02"
    detail = browser.detail.toPlainText()
    assert "100% văn bản trao đổi, xử lý công việc hành chính" in detail and "chữ ký số" in detail
    assert "Tỷ lệ ≥ 100%" in detail and "trừ văn bản mật" in detail and "31/12/2025" in detail

    browser.search_edit.setText("khong co gi nhu the nay")
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=3000)
    assert "Không có mục tiêu nào khớp" in browser.detail.placeholderText()


def test_group_rows_cannot_be_selected(qtbot, browser):
    model = browser.target_model
    heading = model.group_indexes()[0]
    assert not (model.flags(heading) & Qt.ItemFlag.ItemIsSelectable)
    assert browser.target_view.isFirstColumnSpanned(0, QModelIndex())
    assert "2.1. Chuyển đổi số trong hoạt động nghiệp vụ" in heading.data()


def test_filter_combos(qtbot, browser):
    model = browser.target_model

    def choose(combo, data):
        i = combo.findData(data)
        assert i >= 0, data
        combo.setCurrentIndex(i)

    choose(browser.group_combo, "2.2")
    assert model.target_count() == 10 and model.group_count() == 1
    choose(browser.group_combo, None)
    choose(browser.measure_combo, "count")
    assert [r.code for r in model.rows()] == ["TH-III.1-02"]
    choose(browser.measure_combo, None)
    choose(browser.deadline_combo, "overdue")  # today is 15/05/2025: the district plans were due 10/03/2025
    assert [r.code for r in model.rows()] == ["TH-IV.1-01"]
    choose(browser.deadline_combo, "quarter")
    assert model.target_count() == 0
    choose(browser.deadline_combo, 2025)
    with_deadline = [r for r in plans.list_targets(browser.session, "thanhhoa-cds-2025") if r.deadline_end]
    assert model.target_count() == len(with_deadline) == 38  # four tasks carry no deadline
    choose(browser.lead_combo, "Văn phòng")
    assert model.target_count() == 2
    browser.clear_filters()
    assert model.target_count() == 42 and not browser.clear_button.isEnabled()


def test_builtin_plan_is_read_only_in_the_browser(browser):
    assert not browser.edit_button.isEnabled()
    assert browser.create_button.isEnabled() and browser.export_button.isEnabled()
    assert browser.open_edit_dialog() is None


def test_data_entry_user_sees_no_plan_changing_actions(qtbot, entry_session):
    w = PlanBrowser(entry_session, today=TODAY)
    qtbot.addWidget(w)
    w.select_plan("vkstc-cds-2024")
    assert not w.create_button.isEnabled() and not w.import_button.isEnabled() and not w.edit_button.isEnabled()
    assert w.export_button.isEnabled() and w.target_model.target_count() == 55


# ------------------------------------------------------------------ actions
def test_create_own_plan_edit_it_and_see_the_difference(qtbot, browser):
    dlg = browser.open_create_dialog()
    assert dlg.isVisible() and dlg.year_spin.value() == 2025
    dlg.id_edit.setText("Không hợp lệ")
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dlg.isVisible() and "không hợp lệ" in dlg.error_label.text()
    dlg.id_edit.setText("kv1-cds-2025")
    dlg.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dlg.isVisible()
    assert browser.current_plan_id() == "kv1-cds-2025" and browser.edit_button.isEnabled()
    status = browser.status_label.text()
    assert status.startswith("Đã tạo kế hoạch “Kế hoạch chuyển đổi số năm 2025 của ") and "kv1-cds-2025" not in status

    edit = browser.open_edit_dialog()
    items = [edit.target_list.item(i).text() for i in range(edit.target_list.count())]
    row = next(i for i, text in enumerate(items) if text.startswith("TH-IV.1-01"))
    edit.target_list.setCurrentRow(row)
    assert edit.deadline_edit.text() == "trước 10/03/2025"
    edit.text_edit.setPlainText("Gửi Kế hoạch chuyển đổi số năm 2025 của đơn vị về VKSND tỉnh.")
    edit.deadline_edit.setText("5/3/2025")
    assert "05/03/2025" in edit.deadline_hint.text()
    edit.days["month"].setValue(3)
    edit.note_edit.setText("Nộp sớm hơn")
    edit.save_button.click()
    assert not edit.isVisible()
    assert "Đã lưu phiên bản 2" in browser.status_label.text()
    doc = plans.get_plan_document(browser.session, "kv1-cds-2025")
    target = next(t for g in doc["groups"] for t in g["targets"] if t["code"] == "TH-IV.1-01")
    assert target["deadline"]["date"] == "2025-03-05" and doc["submission_deadlines"]["month"] == 3

    history = browser.open_history_dialog()
    assert history.version_model.rowCount() == 2
    fields = {history.change_model.index(r, 2).data() for r in range(history.change_model.rowCount())}
    assert {"Mục tiêu/nhiệm vụ", "Thời gian hoàn thành", "Hạn gửi báo cáo"} <= fields
    assert "1 sửa" in history.summary_label.text() or "2 sửa" in history.summary_label.text()


def test_edit_dialog_refuses_a_bad_deadline(qtbot, browser):
    plans.create_own_plan(browser.session, "thanhhoa-cds-2025", "kv1-cds-2025")
    browser.refresh(select="kv1-cds-2025")
    edit = browser.open_edit_dialog()
    before = snapshot(browser.session)
    edit.deadline_edit.setText("13/2025")
    assert "Tháng 13" in edit.deadline_hint.text()
    edit.save_button.click()
    assert edit.isVisible() and "Tháng 13" in edit.problems_label.text()
    assert snapshot(browser.session) == before


def test_import_preview_blocks_saving_until_clean(qtbot, browser, tmp_path):
    before = snapshot(browser.session)
    dlg = browser.open_import_dialog(_appendix(tmp_path / "don-vi-2025.xlsx", bad=True))
    assert not dlg.save_button.isEnabled()
    assert dlg.problem_model.rowCount() == 2
    problems = {(dlg.problem_model.index(r, 0).data(), dlg.problem_model.index(r, 1).data())
                for r in range(dlg.problem_model.rowCount())}
    assert problems == {("6", "Thời gian hoàn thành"), ("7", "Mục tiêu")}
    assert "Có 2 lỗi" in dlg.status_label.text()
    dlg.save()  # even if called, nothing happens
    assert snapshot(browser.session) == before
    dlg.reject()

    good = browser.open_import_dialog(_appendix(tmp_path / "don-vi-2025.xlsx"))
    assert good.save_button.isEnabled() and good.problem_model.rowCount() == 0
    assert good.row_model.rowCount() == 4
    good.save_button.click()
    assert browser.current_plan_id() == "don-vi-2025"
    assert browser.target_model.target_count() == 3
    assert plans.plan_summary(browser.session, "don-vi-2025").origin == "imported"


def test_export_from_the_browser(qtbot, browser, tmp_path):
    browser.export_xlsx(tmp_path / "thanhhoa.xlsx")
    assert (tmp_path / "thanhhoa.xlsx").exists()
    assert "Đã xuất kế hoạch" in browser.status_label.text()
    assert plans.preview_xlsx(tmp_path / "thanhhoa.xlsx").document == \
        plans.get_plan_document(browser.session, "thanhhoa-cds-2025")


def test_browser_renders_at_1280x800(browser, tmp_path):
    browser.select_target("TH-IV.1-01")
    image = browser.grab()
    assert (image.width(), image.height()) == (1280, 800)
    assert image.save(str(tmp_path / "plan_browser.png"))


# ------------------------------------------------------------------ models
def test_every_table_model_passes_modeltester(qtmodeltester, installed, tmp_path):
    plan_model = PlanTableModel()
    plan_model.set_rows(plans.list_plans(installed))
    qtmodeltester.check(plan_model)

    target_model = target_model_of()
    target_model.set_rows(plans.list_targets(installed, "vkstc-cds-2024"))
    qtmodeltester.check(target_model)
    target_model.set_rows([])
    qtmodeltester.check(target_model)

    preview = plans.preview_xlsx(_appendix(tmp_path / "loi.xlsx", bad=True))
    preview_model = PreviewTableModel()
    preview_model.set_rows(preview.rows, preview.problems)
    qtmodeltester.check(preview_model)
    problem_model = ProblemTableModel()
    problem_model.set_rows(preview.problems)
    qtmodeltester.check(problem_model)

    pid = plans.create_own_plan(installed, "vkstc-cds-2024", "kv1-cds-2024")
    plans.remove_target(installed, pid, "MT03")
    plans.update_target(installed, pid, "MT04", {"lead_units": ["Văn phòng"]})
    version_model = VersionTableModel()
    version_model.set_rows(plans.list_versions(installed, pid))
    qtmodeltester.check(version_model)
    change_model = ChangeTableModel()
    change_model.set_rows(plans.diff_versions(installed, pid, 1, 3))
    qtmodeltester.check(change_model)
    assert change_model.rowCount() == 2
