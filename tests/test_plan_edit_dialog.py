"""The plan edit dialog saves through plans.apply_edits as an operation: one version per Save,
Changes.PLANS announced, and a refused save keeps every edit in the form."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.models.services import plans
from desktop.ui import ops
from desktop.ui.plan_browser import PlanBrowser, PlanEditDialog
from plan_fixtures import entry_session, installed, snapshot  # noqa: F401

PID = "kv1-cds-2025"


@pytest.fixture
def browser(qtbot, installed):
    plans.create_own_plan(installed, "thanhhoa-cds-2025", PID)
    w = PlanBrowser(installed, today=date(2025, 5, 15))
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    assert w.select_plan(PID)
    return w


def _select(edit, code: str) -> None:
    items = [edit.target_list.item(i).text() for i in range(edit.target_list.count())]
    edit.target_list.setCurrentRow(next(i for i, text in enumerate(items) if text.startswith(code + " ")))


def _codes(session) -> dict[str, str]:
    doc = plans.get_plan_document(session, PID)
    return {t["code"]: g["code"] for g in doc["groups"] for t in g["targets"]}


def test_save_applies_every_change_as_one_version(qtbot, browser):
    edit = browser.open_edit_dialog()
    assert edit.windowTitle() == "Sửa kế hoạch: " + plans.plan_summary(browser.session, PID).title
    before = _codes(browser.session)
    codes = list(before)
    groups = list(dict.fromkeys(before.values()))
    edit.title_edit.setText("Kế hoạch CĐS năm 2025 của Khu vực 1")
    _select(edit, codes[0])
    edit.text_edit.setPlainText("Nội dung đã sửa")
    _select(edit, codes[1])
    edit.code_edit.setText("KV1-90")
    edit.group_combo.setCurrentIndex(len(groups) - 1)
    _select(edit, codes[2])
    edit.remove_target()
    edit.add_target()
    edit.text_edit.setPlainText("Nhiệm vụ riêng của đơn vị")
    edit.note_edit.setText("Điều chỉnh lần 1")
    announced = []
    ops.bus().changed.connect(lambda changes, owner: announced.append((changes, owner)))

    edit.save_button.click()
    assert not edit.isVisible()
    assert (ops.Changes.PLANS, edit) in announced
    assert "Đã lưu phiên bản 2" in browser.status_label.text()
    after = _codes(browser.session)
    assert codes[1] not in after and after["KV1-90"] == groups[-1]
    assert codes[2] not in after and "DV01" in after
    doc = plans.get_plan_document(browser.session, PID)
    target = {t["code"]: t for g in doc["groups"] for t in g["targets"]}
    assert target[codes[0]]["text"] == "Nội dung đã sửa" and target["DV01"]["text"] == "Nhiệm vụ riêng của đơn vị"
    assert doc["title"] == "Kế hoạch CĐS năm 2025 của Khu vực 1"
    versions = plans.list_versions(browser.session, PID)
    assert [v.version for v in versions] == [2, 1] and versions[0].note == "Điều chỉnh lần 1"
    assert browser.plan_title.text().startswith("Kế hoạch CĐS năm 2025 của Khu vực 1")


def test_a_refused_save_keeps_the_edits_and_changes_nothing(qtbot, browser):
    edit = browser.open_edit_dialog()
    codes = list(_codes(browser.session))
    before = snapshot(browser.session)
    _select(edit, codes[0])
    edit.text_edit.setPlainText("Nội dung đã sửa, chưa lưu")
    _select(edit, codes[1])
    edit.code_edit.setText(codes[0])  # the same code as another target
    edit.save_button.click()
    assert edit.isVisible() and edit.save_button.isEnabled()
    text = edit.problems_label.text()
    assert text.startswith("Chưa lưu: có 1 lỗi.")
    assert f"Mục tiêu {codes[0]}, Mã: Mã mục tiêu '{codes[0]}' bị trùng" in text
    assert "groups[" not in text and PID not in text
    assert snapshot(browser.session) == before
    # nothing typed was lost: fix the code and save again
    assert edit.code_edit.text() == codes[0]
    _select(edit, codes[0])
    assert edit.text_edit.toPlainText() == "Nội dung đã sửa, chưa lưu"
    edit.target_list.setCurrentRow(1)
    edit.code_edit.setText("KV1-02")
    edit.save_button.click()
    assert not edit.isVisible()
    after = _codes(browser.session)
    assert "KV1-02" in after and codes[1] not in after


def test_nothing_changed_saves_nothing(qtbot, browser):
    edit = browser.open_edit_dialog()
    before = snapshot(browser.session)
    edit.save_button.click()
    assert edit.isVisible() and edit.problems_label.text() == "Chưa có thay đổi nào để lưu."
    assert snapshot(browser.session) == before


def test_a_clerk_cannot_save_even_with_the_dialog_open(qtbot, browser, entry_session):
    edit = PlanEditDialog(entry_session, PID)
    qtbot.addWidget(edit)
    edit.title_edit.setText("Đổi tên")
    before = snapshot(browser.session)
    edit.save()
    assert "không có quyền" in edit.problems_label.text().lower()
    assert edit.title_edit.text() == "Đổi tên"
    assert snapshot(browser.session) == before


def test_no_plan_id_or_period_key_on_the_plan_screens(qtbot, browser):
    from screen_text import raw_codes

    ids = [p.id for p in plans.list_plans(browser.session)]
    plans.apply_edits(browser.session, PID, [plans.UpdatePlanInfo({"title": "Kế hoạch CĐS 2025 của KV1"})])
    browser.refresh()
    assert raw_codes(browser, ids) == []
    assert raw_codes(browser.open_edit_dialog(), ids) == []
    history = browser.open_history_dialog()
    assert history.version_model.rowCount() == 2 and raw_codes(history, ids) == []
    assert "Tạo từ kế hoạch “Kế hoạch Chuyển đổi số ngành Kiểm sát Thanh Hóa năm 2025”" in \
        [history.version_model.index(r, 4).data() for r in range(2)]
