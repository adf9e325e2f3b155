"""The plan browser's assignment tab (who reports, on what basis, how often) and the import
preview that lets the user name a group the table leaves untitled; with screenshots."""

from __future__ import annotations

from datetime import date

import pytest
from PySide6.QtCore import Qt

from desktop.models.services import plans, units
from desktop.ui.plan_browser import PlanBrowser
from plan_fixtures import installed, snapshot  # noqa: F401
from test_plan_import_messy import build_xlsx

TODAY = date(2025, 5, 15)


@pytest.fixture
def browser(qtbot, installed):  # noqa: F811
    units.add_unit(installed, "VKS-KV2-THA", "Viện kiểm sát nhân dân khu vực 2 - Thanh Hóa", short_name="KV2",
                   parent_code="VKS-THA")
    w = PlanBrowser(installed, today=TODAY)
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    return w


def _select(edit, code: str) -> None:
    items = [edit.target_list.item(i).text() for i in range(edit.target_list.count())]
    edit.target_list.setCurrentRow(next(i for i, text in enumerate(items) if text.startswith(code)))


def test_issuing_office_sets_who_reports_and_how_often(qtbot, browser, tmp_path):
    plans.create_own_plan(browser.session, "thanhhoa-cds-2025", "kv1-cds-2025")
    browser.refresh(select="kv1-cds-2025")
    edit = browser.open_edit_dialog()
    edit.resize(1366, 740)
    _select(edit, "TH-III.1-02")
    edit.target_tabs.setCurrentIndex(1)
    labels = [edit.unit_list.item(i).text() for i in range(edit.unit_list.count())]
    assert any("VKS-KV2-THA" in x for x in labels) and not any("VKS-KV1-THA" in x for x in labels)
    kv2 = next(i for i, x in enumerate(labels) if "VKS-KV2-THA" in x)
    edit.unit_list.item(kv2).setCheckState(Qt.CheckState.Checked)
    edit.assignment_edit.setPlainText("Văn phòng VKSND tỉnh kiểm tra hằng quý")
    edit.every_combo.setCurrentIndex(edit.every_combo.findData("quarter"))
    edit.window_edit.setText("từ 01/7/2025 đến 30/11/2025")
    assert edit.recurrence_hint.text() == "Xét từng kỳ: Quý III/2025, Quý IV/2025"
    qtbot.wait(50)
    edit.grab().save(str(tmp_path / "plan-assignment-tab.png"))
    edit.save_button.click()
    assert not edit.isVisible()
    t = plans.get_plan(browser.session, "kv1-cds-2025").target("TH-III.1-02")
    assert [u.code for u in t.reporting_units] == ["VKS-KV2-THA"]
    assert t.assignment_note == "Văn phòng VKSND tỉnh kiểm tra hằng quý"
    assert (t.recurrence.every, t.recurrence.start, t.recurrence.end) == ("quarter", date(2025, 7, 1),
                                                                           date(2025, 11, 30))
    # the edited target now belongs to KV2 only: KV1 (this unit) no longer reports it
    from desktop.models.services import assignment

    codes = [x.code for x in assignment.applicable_targets(browser.session, plans.get_plan(browser.session,
                                                                                         "kv1-cds-2025"))]
    assert "TH-III.1-02" not in codes and "TH-IV.1-01" in codes


def test_a_window_that_is_not_a_period_is_refused(qtbot, browser):
    plans.create_own_plan(browser.session, "thanhhoa-cds-2025", "kv1-cds-2025")
    browser.refresh(select="kv1-cds-2025")
    edit = browser.open_edit_dialog()
    before = snapshot(browser.session)
    edit.every_combo.setCurrentIndex(edit.every_combo.findData("month"))
    edit.window_edit.setText("Tháng 9/2025")
    assert "ngày bắt đầu và ngày kết thúc" in edit.recurrence_hint.text()
    edit.save_button.click()
    assert edit.isVisible() and "ngày bắt đầu và ngày kết thúc" in edit.problems_label.text()
    assert snapshot(browser.session) == before


def test_import_preview_lets_the_user_name_an_untitled_group(qtbot, browser, tmp_path):
    path = tmp_path / "phu-luc-08.xlsx"
    build_xlsx(path)
    before = snapshot(browser.session)
    dlg = browser.open_import_dialog(path)
    dlg.resize(1366, 740)
    assert dlg.save_button.isEnabled() and dlg.naming_box.isVisible()
    assert sorted(dlg.group_names) == ["III", "IV"]
    assert "2 nhóm chỉ có số" in dlg.status_label.text()
    texts = [dlg.row_model.index(r, 3).data() for r in range(dlg.row_model.rowCount())]
    assert "Nhóm III — chưa có tên" in texts and "Nhóm IV — chưa có tên" in texts
    assert snapshot(browser.session) == before  # nothing saved while previewing
    dlg.group_names["III"].setText("Về nền tảng số")
    qtbot.wait(50)
    dlg.grab().save(str(tmp_path / "plan-import-untitled-groups.png"))
    dlg.save_button.click()
    assert not dlg.isVisible()
    doc = plans.get_plan_document(browser.session, "phu-luc-08")
    groups = {g["code"]: g for g in doc["groups"]}
    assert groups["III"]["title"] == "Về nền tảng số" and "title_missing" not in groups["III"]
    assert groups["IV"]["title"] == "Nhóm IV" and groups["IV"]["title_missing"] is True
    assert any(g.title == "Nhóm IV (chưa rõ tên)" for g in plans.list_groups(browser.session, "phu-luc-08"))
