"""The one grouped-targets model (desktop.ui.targets_model) shared by the entry form and the plan
browser: structure, roles, filtering, in-place updates and keyboard stepping over group headings."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QStyle

from desktop.ui.targets_model import (ROLE_GROUP, ROLE_ROW, Column, GroupedTargetsModel, TargetTreeView,
                                      setup_tree_view)


@dataclass(frozen=True)
class Row:
    code: str
    group_code: str
    group_title: str
    text: str
    done: bool = False


ROWS = [Row("TH-1.1", "I", "Chỉ đạo, điều hành", "Ban hành kế hoạch chuyển đổi số"),
        Row("TH-1.2", "I", "Chỉ đạo, điều hành", "Họp giao ban trực tuyến", done=True),
        Row("TH-2.1", "II", "Hạ tầng số", "Trang bị máy tính"),
        Row("TH-3.1", "III", "Dữ liệu số", "Số hóa hồ sơ", done=True)]


def columns() -> list[Column]:
    return [Column("Mã", lambda r: r.code, tooltip=lambda r: f"Mục tiêu {r.code}"),
            Column("Mục tiêu", lambda r: r.text, height=40),
            Column("Tiến độ", lambda r: "Xong" if r.done else "", background=lambda r: "#D6EDD6" if r.done else None,
                   icon=lambda r: QStyle.StandardPixmap.SP_DialogApplyButton if r.done else None,
                   align=Qt.AlignmentFlag.AlignCenter)]


def test_passes_the_model_tester_full_filtered_and_empty(qtmodeltester):
    m = GroupedTargetsModel(columns())
    qtmodeltester.check(m)
    m.set_rows(ROWS)
    qtmodeltester.check(m)
    m.set_filter(lambda r: r.done)
    qtmodeltester.check(m)
    m.update_row(Row("TH-1.2", "I", "Chỉ đạo, điều hành", "Họp giao ban trực tuyến (sửa)", done=False))
    qtmodeltester.check(m)
    m.set_rows([])
    qtmodeltester.check(m)


def test_groups_hold_their_targets_in_order(qapp):
    m = GroupedTargetsModel(columns())
    m.set_rows(ROWS)
    assert m.rowCount() == 3 and m.group_count() == 3 and m.target_count() == 4
    first = m.index(0, 0)
    assert first.data() == "I. Chỉ đạo, điều hành" and first.data(ROLE_GROUP) == "I"
    assert first.data(Qt.ItemDataRole.FontRole).bold() and m.index(0, 2).data() == ""
    assert m.rowCount(first) == 2 and m.index(1, 0, first).data() == "TH-1.2"
    assert m.rowCount(m.index(0, 1)) == 0              # only the first column has children
    assert not (m.flags(first) & Qt.ItemFlag.ItemIsSelectable)
    assert m.flags(m.index(0, 0, first)) & Qt.ItemFlag.ItemIsSelectable
    assert [r.code for r in m.rows()] == ["TH-1.1", "TH-1.2", "TH-2.1", "TH-3.1"]
    done = m.index_of("TH-1.2", 2)
    assert done.data() == "Xong" and done.data(Qt.ItemDataRole.BackgroundRole).color().name() == "#d6edd6"
    assert done.data(Qt.ItemDataRole.DecorationRole) is not None
    assert m.index_of("TH-1.1", 2).data(Qt.ItemDataRole.BackgroundRole) is None
    assert m.index_of("TH-1.1", 0).data(Qt.ItemDataRole.ToolTipRole) == "Mục tiêu TH-1.1"
    assert m.index_of("TH-1.1", 1).data(Qt.ItemDataRole.SizeHintRole).height() == 40
    assert m.index_of("TH-1.1", 2).data(Qt.ItemDataRole.TextAlignmentRole) == int(Qt.AlignmentFlag.AlignCenter)
    assert m.row_at(m.index_of("TH-2.1")) is ROWS[2] and m.index_of("TH-2.1").data(ROLE_ROW) is ROWS[2]
    assert m.row_at(first) is None and m.row_at(QModelIndex()) is None
    assert not m.index_of("XX").isValid()
    assert m.neighbour("TH-1.2", 1).code == "TH-2.1" and m.neighbour("TH-3.1", 1) is None
    assert m.neighbour("TH-1.1", -1) is None and m.neighbour(None, 1).code == "TH-1.1"
    assert m.headerData(1, Qt.Orientation.Horizontal) == "Mục tiêu"
    custom = GroupedTargetsModel(columns(), group_label=lambda c, t, n: f"{c}. {t} ({n} mục)")
    custom.set_rows(ROWS)
    assert custom.index(0, 0).data() == "I. Chỉ đạo, điều hành (2 mục)"


def test_filter_hides_targets_and_empty_groups_and_update_keeps_the_edited_row(qtbot):
    m = GroupedTargetsModel(columns())
    m.set_rows(ROWS)
    with qtbot.waitSignal(m.modelReset):
        m.set_filter(lambda r: not r.done)
    assert [r.code for r in m.rows()] == ["TH-1.1", "TH-2.1"] and m.group_count() == 2   # group III is gone
    assert not m.index_of("TH-1.2").isValid() and len(m.all_rows()) == 4
    # the row being edited now passes out of the filter: it stays until the filter is applied again
    with qtbot.waitSignal(m.dataChanged) as changed:
        m.update_row(Row("TH-1.1", "I", "Chỉ đạo, điều hành", "Ban hành kế hoạch chuyển đổi số", done=True))
    assert changed.args[0] == m.index_of("TH-1.1", 0) and changed.args[1] == m.index_of("TH-1.1", 2)
    assert m.index_of("TH-1.1", 2).data() == "Xong"
    m.set_filter(lambda r: not r.done)
    assert [r.code for r in m.rows()] == ["TH-2.1"]
    m.update_row(Row("TH-3.1", "III", "Dữ liệu số", "Số hóa hồ sơ", done=False))   # hidden: stored, not shown
    m.set_filter(None)
    assert m.target_count() == 4 and m.index_of("TH-3.1", 2).data() == ""


def test_tree_view_spans_groups_and_keyboard_steps_over_headings(qtbot):
    m = GroupedTargetsModel(columns())
    view = TargetTreeView()
    qtbot.addWidget(view)
    setup_tree_view(view, m)
    m.set_rows(ROWS)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    assert all(view.isFirstColumnSpanned(i, QModelIndex()) for i in range(m.rowCount()))
    assert all(view.isExpanded(g) for g in m.group_indexes())
    seen = []
    view.selectionModel().currentChanged.connect(lambda cur, _prev: seen.append(m.row_at(cur)))
    view.setCurrentIndex(m.index_of("TH-1.1"))
    view.setFocus()

    def current() -> str:
        index = view.currentIndex()
        assert view.selectionModel().isRowSelected(index.row(), index.parent())
        return m.row_at(index).code

    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert current() == "TH-1.2"
    qtbot.keyClick(view, Qt.Key.Key_Down)       # over the heading "II. Hạ tầng số"
    assert current() == "TH-2.1"
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert current() == "TH-3.1"
    qtbot.keyClick(view, Qt.Key.Key_Up)         # back over "III. Dữ liệu số"
    assert current() == "TH-2.1"
    qtbot.keyClick(view, Qt.Key.Key_Home)       # the first item is a heading: its first target
    assert current() == "TH-1.1"
    qtbot.keyClick(view, Qt.Key.Key_Up)         # nothing above the first target
    assert current() == "TH-1.1"
    assert None not in seen                     # the cursor never rested on a heading
