"""Every list sorts by clicking its header, with the right keys: dates as dates, numbers as numbers,
Vietnamese text in dictionary order (people by given name), and the selection follows the row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTableView

from desktop.models.services import accounts, plans
from desktop.models.services.accounts import UserInfo
from desktop.models.services.exchange import ReceivedReport
from desktop.models.domain.i18n import given_name_first, vi_sort_key
from desktop.models.storage.vault import Role
from desktop.ui.admin_pages import BackupTableModel, UserTableModel, UsersPage
from desktop.ui.exchange_page import OutboxModel, ReceivedReportModel
from desktop.ui.plan_browser import PlanBrowser
from desktop.ui.table_models import SORT_ROLE, sortable
from plan_fixtures import installed  # noqa: F401


# ------------------------------------------------------------------ the keys (no Qt)
def test_vietnamese_dictionary_order():
    words = ["Đỗ", "Dương", "An", "Ân", "Ăn", "Bình", "Anh", "Ánh", "Ảnh", "Ạnh", "Ành", "Ãnh", "Tư", "Từ", "Tú",
             "U", "Ư", "Ôn", "On", "Ơn", "Khu vực 10", "Khu vực 2", "khu vực 3", "Zalo"]
    assert sorted(words, key=vi_sort_key) == [
        "An", "Anh", "Ành", "Ảnh", "Ãnh", "Ánh", "Ạnh", "Ăn", "Ân", "Bình", "Dương", "Đỗ", "Khu vực 2",
        "khu vực 3", "Khu vực 10", "On", "Ôn", "Ơn", "Tú", "Tư", "Từ", "U", "Ư", "Zalo"]
    assert vi_sort_key("Chữ ký số") == vi_sort_key("Chữ ký số".encode().decode())  # NFC either way
    assert vi_sort_key("a") < vi_sort_key("A") < vi_sort_key("à")  # tones break ties, then case
    people = ["Nguyễn Văn Quản", "Trần Thị Nhập", "Lê Văn Đạo", "Phạm An"]
    assert sorted(people, key=lambda n: vi_sort_key(given_name_first(n))) == [
        "Phạm An", "Lê Văn Đạo", "Trần Thị Nhập", "Nguyễn Văn Quản"]


# ------------------------------------------------------------------ helpers
def click_header(qtbot, view: QTableView, column: int) -> None:
    header = view.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def shown(view: QTableView, column: int) -> list[str]:
    m = view.model()
    return [m.index(r, column).data() for r in range(m.rowCount())]


def _user(i, username, name, last_login):
    return UserInfo(i, username, name, Role.DATA_ENTRY, True, datetime(2025, 1, 1), last_login)


USERS = [_user(1, "quantri", "Nguyễn Văn Quản", datetime(2025, 4, 9, 8, 0)),
         _user(2, "nhaplieu", "Trần Thị Nhập", None),
         _user(3, "lanhdao", "Lê Văn Đạo", datetime(2025, 10, 2, 7, 30)),
         _user(4, "an", "Phạm An", datetime(2025, 4, 10, 16, 5))]


@pytest.fixture
def user_view(qtbot):
    model = UserTableModel()
    view = sortable(QTableView())
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    qtbot.addWidget(view)
    model.setParent(view)
    model.set_rows(USERS)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    return view, model


# ------------------------------------------------------------------ a table model
def test_click_sorts_names_by_given_name_and_dates_as_dates(qtbot, qtmodeltester, user_view):
    view, model = user_view
    assert shown(view, 0) == ["quantri", "nhaplieu", "lanhdao", "an"]  # the service's order until a click
    click_header(qtbot, view, 1)
    assert shown(view, 1) == ["Phạm An", "Lê Văn Đạo", "Trần Thị Nhập", "Nguyễn Văn Quản"]
    click_header(qtbot, view, 1)
    assert shown(view, 1) == ["Nguyễn Văn Quản", "Trần Thị Nhập", "Lê Văn Đạo", "Phạm An"]
    click_header(qtbot, view, 4)  # 09/04 < 10/04 < 02/10 as dates (as text "02/10" would come first)
    assert shown(view, 4) == ["09/04/2025 08:00", "10/04/2025 16:05", "02/10/2025 07:30", ""]
    click_header(qtbot, view, 4)
    assert shown(view, 4) == ["02/10/2025 07:30", "10/04/2025 16:05", "09/04/2025 08:00", ""]  # empty stays last
    assert model.index(0, 4).data(SORT_ROLE) == "2025-10-02T07:30:00"
    qtmodeltester.check(model)


def test_selection_and_order_survive_a_refresh(qtbot, user_view):
    view, model = user_view
    click_header(qtbot, view, 1)
    view.selectRow(shown(view, 1).index("Trần Thị Nhập"))
    click_header(qtbot, view, 1)  # descending: the selected user moves, the selection with it
    picked = view.selectionModel().selectedRows()
    assert len(picked) == 1 and model.row(picked[0].row()).username == "nhaplieu"
    model.set_rows(list(reversed(USERS)))  # a page refresh keeps the user's chosen order
    assert shown(view, 1) == ["Nguyễn Văn Quản", "Trần Thị Nhập", "Lê Văn Đạo", "Phạm An"]


def test_numbers_sort_as_numbers(qtbot, qtmodeltester):
    @dataclass
    class Backup:
        path: object
        created: datetime
        size: int
        reason: str
        complete: bool

    from pathlib import Path

    model = BackupTableModel()
    model.set_rows([Backup(Path(f"b{i}.db"), datetime(2025, 1, i + 1), size, "auto", True)
                    for i, size in enumerate((90 * 1024, 1200 * 1024, 15 * 1024))])
    model.sort(3, Qt.SortOrder.AscendingOrder)
    assert [model.index(r, 3).data() for r in range(3)] == ["15 KB", "90 KB", "1.200 KB"]
    qtmodeltester.check(model)


def test_exchange_tables_show_plan_titles_and_periods_and_sort_by_time(qtbot, qtmodeltester):
    titles = {"thanhhoa-cds-2025": "Kế hoạch Chuyển đổi số ngành Kiểm sát Thanh Hóa năm 2025"}
    model = ReceivedReportModel(titles=titles)
    rows = [ReceivedReport(i, f"VKS-KV{n}-THA", f"Viện kiểm sát nhân dân khu vực {n}", "thanhhoa-cds-2025", key,
                           "da_nhan", 0, datetime(2025, 5, n), ())
            for i, (n, key) in enumerate(((10, "2025-04"), (2, "2025-Q1"), (3, "2025-02")))]
    model.set_rows(rows)
    texts = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(3)]
    assert texts[0][:3] == ["Viện kiểm sát nhân dân khu vực 10", titles["thanhhoa-cds-2025"], "Tháng 04/2025"]
    assert texts[1][2] == "Quý I/2025" and texts[0][4] == "10/05/2025"
    assert not any("thanhhoa-cds-2025" in t or "2025-04" in t for row in texts for t in row)
    model.sort(0, Qt.SortOrder.AscendingOrder)  # units in natural order: 2, 3, 10
    assert [model.index(r, 0).data()[-2:].strip() for r in range(3)] == ["2", "3", "10"]
    model.sort(2, Qt.SortOrder.AscendingOrder)  # periods by their end: Feb, Q1 (31/03), Apr
    assert [model.index(r, 2).data() for r in range(3)] == ["Tháng 02/2025", "Quý I/2025", "Tháng 04/2025"]
    model.set_rows(rows + [ReceivedReport(9, "VKS-KV4-THA", "Viện kiểm sát nhân dân khu vực 4", "thanhhoa-cds-2025",
                                          "2025-03", "da_nhan", 0, None, ())])
    # March and the first quarter end the same day: the quarter (the longer period) first
    assert [model.index(r, 2).data() for r in range(4)] == ["Tháng 02/2025", "Quý I/2025", "Tháng 03/2025",
                                                            "Tháng 04/2025"]
    qtmodeltester.check(model)
    qtmodeltester.check(OutboxModel())


# ------------------------------------------------------------------ pages
def test_users_page_sorts_by_header(qtbot, created):
    session = created[1]
    accounts.add_user(session, "phaman", "Phạm An", Role.DATA_ENTRY, "mat-khau-rat-dai-2025")
    page = UsersPage(session)
    qtbot.addWidget(page)
    page.resize(1366, 600)
    page.show()
    qtbot.waitExposed(page)
    click_header(qtbot, page.view, 1)
    assert shown(page.view, 1) == ["Phạm An", "Lê Văn Đạo", "Trần Thị Nhập", "Nguyễn Văn Quản"]


def test_plan_list_sorts_by_title_and_year_and_keeps_its_width(qtbot, installed):
    browser = PlanBrowser(installed, today=date(2025, 5, 15))
    qtbot.addWidget(browser)
    browser.resize(1366 - 220, 720)  # the page inside the main window at 1366×768
    browser.show()
    qtbot.waitExposed(browser)
    view = browser.plan_view
    assert view.columnWidth(0) >= 220  # the plan titles are readable (was ~90-145 px)
    assert [view.model().headerData(c, Qt.Orientation.Horizontal) for c in range(2)] == ["Kế hoạch", "Năm"]
    click_header(qtbot, view, 1)
    years = [int(x) for x in shown(view, 1)]
    assert years == sorted(years) and years[0] < years[-1]
    click_header(qtbot, view, 0)
    titles = [browser.plan_model.plan_at(r).title for r in range(browser.plan_model.rowCount())]
    assert titles == sorted(titles, key=vi_sort_key)
    chosen = titles[-1]
    browser.select_plan(browser.plan_model.plan_at(len(titles) - 1).id)
    browser.refresh()  # the order and the chosen plan survive a refresh
    assert [browser.plan_model.plan_at(r).title for r in range(len(titles))] == titles
    assert browser.plan_title.text() == chosen
    assert plans.list_plans(installed)  # the service's own order is unchanged


def test_a_key_that_fails_leaves_the_order_and_the_app_alive(qtbot, user_view, caplog):
    view, model = user_view

    class Broken(UserTableModel):
        def sort_key(self, row, column):
            raise ValueError("no key")

    broken = Broken(view)
    broken.set_rows(USERS)
    view.setModel(broken)
    click_header(qtbot, view, 1)  # from C++: an exception escaping sort() would end the process
    assert shown(view, 0) == ["quantri", "nhaplieu", "lanhdao", "an"]
    assert "cannot sort Broken" in caplog.text
