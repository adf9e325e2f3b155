"""Nhật ký with real widgets: local times, full names, search, filter, sort, Excel export."""

from __future__ import annotations

from datetime import datetime

import openpyxl
import pytest
from PySide6.QtCore import Qt

from desktop.models.services import accounts
from desktop.models.storage import audit
from desktop.models.storage.keyslots import KdfParams
from desktop.models.storage.vault import Role, UnitIdentity, Vault
from desktop.ui.admin_pages import AuditPage
from desktop.ui.messages import MessageBox

FAST = KdfParams(1, 8192, 1, b"\0" * 16)
PW = "mat-khau-nhat-ky-2025"


@pytest.fixture
def office(tmp_path):
    v = Vault(tmp_path / "unit")
    s, _ = v.create(UnitIdentity("VKS-KV9-THA", "Viện kiểm sát nhân dân khu vực 9"), "quantri", PW,
                    "Nguyễn Văn Quản", kdf=FAST)
    accounts.add_user(s, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, PW + "x")
    MessageBox.shown.clear()
    yield v, s
    MessageBox._next_answers.clear()
    if s.is_unlocked:
        s.lock()


def test_times_are_local_and_users_by_full_name(qtbot, office):
    v, s = office
    page = AuditPage(s)
    qtbot.addWidget(page)
    rows = page.visible_rows()
    assert rows and rows[0].id > rows[-1].id  # newest first
    create = next(r for r in rows if r.action == "vault.create")
    assert create.user == "Nguyễn Văn Quản"
    raw = next(e for e in audit.list_entries(s) if e.id == create.id)
    assert create.when == datetime.fromisoformat(raw.ts).astimezone().replace(tzinfo=None)
    shown = page.proxy.index(rows.index(create), 1).data()
    assert shown == create.when.strftime("%d/%m/%Y %H:%M:%S")


def test_search_filter_sort_and_export(qtbot, office, tmp_path):
    v, s = office
    page = AuditPage(s)
    qtbot.addWidget(page)
    total = len(page.visible_rows())
    page.search.setText("nguyen van quan")  # accent-insensitive, matches the user's full name
    found = page.visible_rows()
    assert found and all(r.user == "Nguyễn Văn Quản" for r in found)
    page.search.setText("khong co gi nhu the")
    assert page.visible_rows() == [] and page.count.text() == "0 bản ghi"
    page.search.clear()
    idx = page.action.findData("vault.create")
    page.action.setCurrentIndex(idx)
    assert [r.action for r in page.visible_rows()] == ["vault.create"]
    page.action.setCurrentIndex(0)
    assert len(page.visible_rows()) == total
    page.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    ids = [r.id for r in page.visible_rows()]
    assert ids == sorted(ids)
    out = tmp_path / "nhat-ky.xlsx"
    page.save_path_provider = lambda: str(out)
    MessageBox.set_next_answer(None)
    page.export()
    ws = openpyxl.load_workbook(out).active
    assert [c.value for c in ws[1]] == ["STT", "Thời điểm", "Người dùng", "Hành động", "Đối tượng"]
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)] == ids
    assert isinstance(ws.cell(2, 2).value, datetime)


def test_clerk_cannot_read_the_log(qtbot, office):
    v, s = office
    s.lock()
    clerk = v.unlock("nhaplieu", PW + "x")
    page = AuditPage(clerk)
    qtbot.addWidget(page)
    assert page.visible_rows() == [] and "Chỉ Quản trị" in page.result.text()
    assert not page.export_button.isEnabled()
    clerk.lock()


def test_verify_reports_intact(qtbot, office):
    v, s = office
    page = AuditPage(s)
    qtbot.addWidget(page)
    page.verify_button.click()
    assert "nguyên vẹn" in page.result.text()


def test_subjects_in_words_and_codes_still_searchable(qtbot, office):
    v, s = office
    page = AuditPage(s)
    qtbot.addWidget(page)
    rows = page.visible_rows()
    create = next(r for r in rows if r.action == "vault.create")
    shown = page.proxy.index(rows.index(create), 4).data()
    assert shown == "Viện kiểm sát nhân dân khu vực 9" and "VKS-KV9-THA" not in shown
    added = next(r for r in rows if r.action == "user.add")
    assert page.proxy.index(rows.index(added), 4).data() == "Trần Thị Nhập (nhaplieu)"
    page.search.setText("VKS-KV9")  # an administrator may still search by the recorded code
    assert [r.action for r in page.visible_rows()] == ["vault.create"]
