"""Cài đặt with real widgets: the office's identity, the shared folder check, read-only for clerks."""

from __future__ import annotations

import pytest

from desktop.models.services import accounts, keystore, settings, units
from desktop.models.storage.keyslots import KdfParams
from desktop.models.storage.vault import Role, UnitIdentity, Vault
from desktop.ui.admin_pages import SettingsPage
from desktop.ui.messages import MessageBox

FAST = KdfParams(1, 8192, 1, b"\0" * 16)
PW = "mat-khau-cai-dat-2025"


@pytest.fixture
def office(tmp_path):
    v = Vault(tmp_path / "unit")
    s, _ = v.create(UnitIdentity("VKS-KV9-THA", "Viện kiểm sát nhân dân khu vực 9", parent_code="VKS-THA",
                                 parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa"), "quantri", PW, kdf=FAST)
    accounts.add_user(s, "nhaplieu", "Cán bộ nhập liệu", Role.DATA_ENTRY, PW + "x")
    MessageBox.shown.clear()
    yield v, s
    MessageBox._next_answers.clear()
    if s.is_unlocked:
        s.lock()


def test_admin_edits_the_unit_and_share(qtbot, office, tmp_path):
    v, s = office
    page = SettingsPage(s)
    qtbot.addWidget(page)
    assert page.unit_code.isReadOnly()  # the unit's keys (made with the vault) are bound to its code
    page.unit_place.setText("Sầm Sơn")
    page.unit_symbol.setText("VKSKV9")
    share = tmp_path / "share"
    share.mkdir()
    page.share.setText(str(share))
    assert page.check_share() and "Kết nối được" in page.share_status.text()
    assert list(share.iterdir()) == []  # the probe file is removed
    MessageBox.set_next_answer(None)
    page.save_button.click()
    assert MessageBox.shown[-1][1] == "Đã lưu cài đặt."
    me = units.own_unit(s)
    assert (me.place_name, me.doc_symbol) == ("Sầm Sơn", "VKSKV9")
    assert settings.get(s, "share_folder") == str(share)


def test_unreachable_share_asks_before_saving(qtbot, office, tmp_path):
    v, s = office
    page = SettingsPage(s)
    qtbot.addWidget(page)
    page.share.setText(str(tmp_path / "khong-co"))
    MessageBox.set_next_answer(False)  # "Vẫn lưu?" → No
    page.save()
    assert "Không tìm thấy thư mục dùng chung" in MessageBox.shown[-1][1]
    assert settings.get(s, "share_folder") == ""
    assert "Không tìm thấy" in page.share_status.text()


def test_code_is_read_only_once_keys_exist(qtbot, office):
    v, s = office
    keystore.own_fingerprint(s)
    page = SettingsPage(s)
    qtbot.addWidget(page)
    assert page.unit_code.isReadOnly()
    assert page.findChild(type(page.readonly_note), "unitCodeNote") is not None


def test_clerk_sees_why_settings_are_read_only(qtbot, office):
    v, s = office
    s.lock()
    clerk = v.unlock("nhaplieu", PW + "x")
    page = SettingsPage(clerk)
    qtbot.addWidget(page)
    page.show()
    assert not page.save_button.isVisible() and page.readonly_note.isVisible()
    assert "Chỉ tài khoản Quản trị" in page.readonly_note.text()
    assert page.share.isReadOnly() and not page.auto_lock.isEnabled()
    clerk.lock()


def test_inbox_check_interval_is_saved_and_bounded(qtbot, office):
    from desktop.models.domain.errors import ValidationError

    v, s = office
    page = SettingsPage(s)
    qtbot.addWidget(page)
    assert page.inbox_minutes.value() == 5 and page.inbox_minutes.maximum() == 120
    page.inbox_minutes.setValue(15)
    MessageBox.set_next_answer(None)
    page.save_button.click()
    assert settings.get(s, "inbox_check_minutes") == 15
    with pytest.raises(ValidationError):
        settings.set_value(s, "inbox_check_minutes", 0)
    assert settings.get(s, "inbox_check_minutes") == 15
