"""The provincial office: matrix, reporting rate and timeliness, compare, chasing, acceptance."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from desktop.models.services import consolidation as cons
from desktop.models.services import accounts, plans, progress, units
from desktop.models.domain.errors import PermissionDenied, ValidationError
from desktop.models.storage.keyslots import KdfParams
from desktop.models.domain.status import Progress
from desktop.models.storage.vault import Role, UnitIdentity, Vault

FAST = KdfParams(1, 8192, 1, b"\0" * 16)
PLAN = "thanhhoa-cds-2025"
PW = "mat-khau-tinh-2025"


@pytest.fixture
def province(tmp_path):
    v = Vault(tmp_path / "province")
    s, _ = v.create(UnitIdentity("VKS-THA", "Viện kiểm sát nhân dân tỉnh Thanh Hóa", parent_code="VKSTC",
                                 parent_name="Viện kiểm sát nhân dân tối cao", place_name="Thanh Hóa",
                                 doc_symbol="VKS-VP", level="tinh"), "quantri", PW, kdf=FAST)
    plans.install_builtin_plans(s)
    accounts.add_user(s, "lanhdao", "Lãnh đạo tỉnh", Role.APPROVER, PW + "x")
    for i in (1, 2, 3):
        units.add_unit(s, f"VKS-KV{i}-THA", f"Viện kiểm sát nhân dân khu vực {i} - Thanh Hóa", short_name=f"KV{i}",
                       place_name="Thanh Hóa", doc_symbol=f"VKSKV{i}")
    yield v, s
    if s.is_unlocked:
        s.lock()


def _entries(plan, share: float, meetings: int):
    out = {}
    for t in plan.targets:
        mt = t.measure.type
        if mt == "ratio":
            out[t.code] = {"numerator": str(int(100 * share)), "denominator": "100"}
        elif mt == "count":
            out[t.code] = {"count": str(meetings)}
        elif mt == "milestone":
            out[t.code] = {"done": "1" if share >= 1 else None, "done_date": "2025-03-01" if share >= 1 else None}
        elif mt == "recurring":
            out[t.code] = {"done": "1"}
    return out


def test_matrix_rate_timeliness_and_compare(province):
    v, s = province
    plan = plans.get_plan(s, PLAN)
    # KV1 on time with everything done, KV2 late and half-way, KV3 silent
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4),
                                   received_at=datetime(2025, 4, 3))
    progress.store_received_report(s, "VKS-KV2-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.5, 0),
                                   received_at=datetime(2025, 4, 20))
    progress.store_received_report(s, "VKS-KV2-THA", PLAN, plan.version, "2025-02", _entries(plan, 0.3, 0),
                                   received_at=datetime(2025, 3, 4))
    for u in ("VKS-KV1-THA", "VKS-KV2-THA"):
        cons.refresh_unit(s, PLAN, u)
    m = cons.matrix(s, PLAN, "2025-03")
    assert (m.expected, m.received, m.on_time, m.late) == (3, 2, 1, 1)
    assert m.deadline == date(2025, 4, 5)  # month reports due 5 days after the period
    ratio = next(t for t in plan.targets if t.measure.type == "ratio" and t.code in {c.code for c in m.targets})
    assert m.cells[("VKS-KV1-THA", ratio.code)].status is Progress.HOAN_THANH
    assert m.cells[("VKS-KV2-THA", ratio.code)].percent == pytest.approx(0.5)
    assert ("VKS-KV3-THA", ratio.code) not in m.cells
    kv1 = next(u for u in m.units if u.code == "VKS-KV1-THA")
    assert kv1.on_time and kv1.report_status == "da_nhan"
    changes = cons.compare(s, PLAN, "2025-02", "2025-03")
    assert changes[("VKS-KV1-THA", ratio.code)] == (None, Progress.HOAN_THANH)  # KV1 did not report in February
    assert all(a != b for a, b in changes.values())
    feb = cons.matrix(s, PLAN, "2025-02").cells
    same = [k for k in m.cells if k in feb and feb[k].status == m.cells[k].status]
    assert same and not any(k in changes for k in same)


def test_chasing_after_deadline(province):
    v, s = province
    plan = plans.get_plan(s, PLAN)
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4),
                                   received_at=datetime(2025, 4, 2))
    cons.refresh_unit(s, PLAN, "VKS-KV1-THA")
    assert cons.missing_reports(s, PLAN, "2025-03", today=date(2025, 4, 5)) == []  # deadline day itself
    late = cons.missing_reports(s, PLAN, "2025-03", today=date(2025, 4, 6))
    assert [u.code for u in late] == ["VKS-KV2-THA", "VKS-KV3-THA"]
    pdf = cons.reminder_pdf(s, PLAN, "2025-03", today=date(2025, 4, 8))
    assert pdf.startswith(b"%PDF")


def test_accept_locks_and_needs_approver(province):
    v, s = province
    plan = plans.get_plan(s, PLAN)
    rid = progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4))
    with pytest.raises(PermissionDenied):
        cons.accept_report(s, rid)  # the admin is not the approver
    s.lock()
    head = v.unlock("lanhdao", PW + "x")
    cons.accept_report(head, rid, "Đạt yêu cầu")
    assert cons.is_locked_at_province(head, rid)
    with pytest.raises(ValidationError):
        cons.accept_report(head, rid)
    head.lock()
    admin = v.unlock("quantri", PW)
    before = progress.get_report(admin, rid)
    with pytest.raises(ValidationError):  # a resend cannot overwrite an accepted copy
        progress.store_received_report(admin, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.1, 0),
                                       revision=1)
    assert progress.get_report(admin, rid).entries == before.entries
    admin.lock()


def test_older_revision_never_replaces_newer(province):
    v, s = province
    plan = plans.get_plan(s, PLAN)
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.9, 1), revision=2)
    with pytest.raises(ValidationError):
        progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.1, 0),
                                       revision=1)


def test_consolidated_report_pdf(province):
    from desktop.models.services import reporting
    from desktop.models.domain.plan import ReportingPeriod

    v, s = province
    plan = plans.get_plan(s, PLAN)
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4),
                                   received_at=datetime(2025, 4, 3))
    doc = reporting.consolidated_report_doc(s, PLAN, ReportingPeriod.parse("2025-03"), as_of=date(2025, 4, 10))
    assert doc.reporting.expected == 3 and doc.reporting.received == 1 and doc.reporting.on_time == 1
    assert reporting.consolidated_pdf(s, PLAN, ReportingPeriod.parse("2025-03")).startswith(b"%PDF")


def test_matrix_page(qtbot, qtmodeltester, province):
    from desktop.ui.consolidation_page import ConsolidationPage

    v, s = province
    plan = plans.get_plan(s, PLAN)
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4),
                                   received_at=datetime(2025, 4, 3))
    progress.store_received_report(s, "VKS-KV2-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.5, 0),
                                   received_at=datetime(2025, 4, 9))
    page = ConsolidationPage(s, today=date(2025, 4, 15))
    qtbot.addWidget(page)
    page.plan.setCurrentIndex(page.plan.findData(PLAN))
    page.period.setCurrentIndex(page.period.findData("2025-03"))
    page.recompute()
    qtmodeltester.check(page.model)
    assert page.proxy.rowCount() == 3
    assert "2/3" in page.summary.text()
    page.search.setText("khu vuc 2")  # accent-insensitive
    assert page.proxy.rowCount() == 1
    page.search.setText("")
    page.status.setCurrentIndex(page.status.findData("missing"))
    assert page.proxy.rowCount() == 1
    page.status.setCurrentIndex(0)
    group = plan.groups[0].code
    page.group.setCurrentIndex(page.group.findData(group))
    visible = [c for c in range(page.model.columnCount()) if not page.view.isColumnHidden(c)]
    assert 3 < len(visible) < page.model.columnCount()
    # drill down into KV1's report
    row = next(r for r in range(page.proxy.rowCount())
               if page.proxy.index(r, 0).data() == "KV1")
    page.view.doubleClicked.emit(page.proxy.index(row, 0))
    dlg = page.last_dialog
    qtbot.addWidget(dlg)
    assert dlg.entries.rowCount() > 0
    qtmodeltester.check(dlg.entries)
    # the administrator may not accept: the button says why; the service refuses anyway
    from desktop.ui.messages import MessageBox
    from PySide6.QtWidgets import QMessageBox

    assert not dlg.accept_button.isEnabled() and "lãnh đạo" in dlg.accept_button.toolTip()
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    MessageBox.set_next_answer(None)
    dlg.accept_report()
    assert "quyền" in MessageBox.shown[-1][1] and not cons.is_locked_at_province(s, dlg.report_id)
    # accepting runs as an operation; the matrix page hears of it (ops.Changes) and re-reads
    head = v.unlock("lanhdao", PW + "x")
    from desktop.ui.consolidation_page import UnitReportDialog

    dlg = UnitReportDialog(head, dlg.report_id, plan)
    qtbot.addWidget(dlg)
    assert dlg.accept_button.isEnabled()
    MessageBox.set_next_answer(QMessageBox.StandardButton.Yes)
    MessageBox.set_next_answer(None)
    dlg.accept_button.click()
    assert MessageBox.shown[-1][0] == "Đã chấp nhận"
    assert not dlg.accept_button.isEnabled() and not dlg.return_button.isEnabled()
    assert cons.is_locked_at_province(s, dlg.report_id)
    page.show()  # a hidden page re-reads when it is shown again
    row = next(r for r in range(page.model.rowCount()) if page.model.unit_at(r).code == "VKS-KV1-THA")
    assert page.model.unit_at(row).report_status == "da_chap_nhan"
    assert page.model.index(row, 1).data() == "Đã chấp nhận"
    head.lock()


def _stored(s, unit_code=None):
    """(unit, period, target, status, percent, reason, report id) of every stored cell, unpacked."""
    from sqlalchemy import select

    m = cons.MatrixRow
    q = select(m.unit_code, m.period_key, m.report_id, m.cells)
    if unit_code is not None:
        q = q.where(m.unit_code == unit_code)
    with s.db.session() as db:
        return sorted((unit, key, target, *cell, report_id) for unit, key, report_id, blob in db.execute(q)
                      for target, cell in cons.unpack_cells(blob).items())


def _cells(s, unit_code):
    return [c[1:6] for c in _stored(s, unit_code)]


def test_incremental_refresh_equals_full_refresh(province):
    """Refreshing from the imported period on gives exactly the cells of a full re-evaluation and
    leaves earlier periods and other units alone."""
    v, s = province
    plan = plans.get_plan(s, PLAN)
    for month, share in (("2025-01", 0.2), ("2025-02", 0.4)):
        progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, month, _entries(plan, share, 1),
                                       received_at=datetime(2025, int(month[-1]) + 1, 3))
    progress.store_received_report(s, "VKS-KV2-THA", PLAN, plan.version, "2025-01", _entries(plan, 0.9, 2),
                                   received_at=datetime(2025, 2, 3))
    cons.refresh_unit(s, PLAN, "VKS-KV1-THA")
    cons.refresh_unit(s, PLAN, "VKS-KV2-THA")
    january = [c for c in _cells(s, "VKS-KV1-THA") if c[0] == "2025-01"]
    other = _cells(s, "VKS-KV2-THA")
    # March arrives: only March (and later) is re-evaluated
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4),
                                   received_at=datetime(2025, 4, 3))
    written = cons.refresh_unit(s, PLAN, "VKS-KV1-THA", since="2025-03")
    incremental = _cells(s, "VKS-KV1-THA")
    assert written == len([c for c in incremental if c[0] == "2025-03"]) > 0
    assert [c for c in incremental if c[0] == "2025-01"] == january
    assert _cells(s, "VKS-KV2-THA") == other
    cons.refresh_unit(s, PLAN, "VKS-KV1-THA")
    assert _cells(s, "VKS-KV1-THA") == incremental
    # a late February resend re-evaluates February and March, not January
    assert cons.refresh_unit(s, PLAN, "VKS-KV1-THA", since="2025-02") == 2 * written


def _all_cells(s):
    return _stored(s)


def _writes(monkeypatch):
    """The period keys of every row `refresh_unit` writes from now on."""
    written: list[str] = []
    write = cons._write_rows

    def spy(*args, **kwargs):
        keys = write(*args, **kwargs)
        written.extend(keys)
        return keys
    monkeypatch.setattr(cons, "_write_rows", spy)
    return written


def test_refresh_after_imports_equals_rebuild_from_scratch(province, monkeypatch):
    """Cells kept current report by report (out of order, a late month, a resend changing a few
    figures, a stray row of a period without a report) are exactly what a rebuild from nothing
    gives; a resend rewrites only the rows (periods) whose cells changed."""
    from sqlalchemy import delete, insert, select

    v, s = province
    plan = plans.get_plan(s, PLAN)
    kv1, kv2 = "VKS-KV1-THA", "VKS-KV2-THA"

    def receive(unit, month, entries, revision=0):
        progress.store_received_report(s, unit, PLAN, plan.version, month, entries, revision=revision,
                                       received_at=datetime(2025, int(month[-2:]) + 1, 3))
        return cons.refresh_unit(s, PLAN, unit, since=month)

    assert receive(kv1, "2025-01", _entries(plan, 0.2, 1)) > 0
    receive(kv2, "2025-01", _entries(plan, 0.9, 2))
    receive(kv1, "2025-03", _entries(plan, 1.0, 4))  # March before February
    receive(kv1, "2025-02", _entries(plan, 0.4, 0))  # February late: February and March again
    feb = {c[2]: c[3:6] for c in _stored(s, kv1) if c[1] == "2025-02"}
    written = _writes(monkeypatch)
    # the same figures again: nothing is written
    receive(kv1, "2025-02", _entries(plan, 0.4, 0), revision=1)
    assert written == []
    # the resend changes one ratio target's figures only: February's row is rewritten, that cell changed
    ratio = next(t.code for t in plan.targets if t.measure.type == "ratio" and t.code in feb)
    resent = _entries(plan, 0.4, 0)
    resent[ratio] = {"numerator": "100", "denominator": "100"}
    receive(kv1, "2025-02", resent, revision=2)
    assert "2025-02" in written and "2025-01" not in written
    after = {c[2]: c[3:6] for c in _stored(s, kv1) if c[1] == "2025-02"}
    assert after.keys() == feb.keys()
    assert [c for c in feb if after[c] != feb[c]] == [ratio]
    # a stray row of a period the unit has no report for goes at the next refresh of the unit
    with s.db.session() as db:
        row = db.execute(select(cons.MatrixRow.plan_id, cons.MatrixRow.unit_code, cons.MatrixRow.done,
                                cons.MatrixRow.cells).where(cons.MatrixRow.unit_code == kv2)).first()
        db.execute(insert(cons.MatrixRow), [dict(row._mapping, period_key="2025-05", report_id=None)])
    assert "2025-05" in {c[1] for c in _stored(s, kv2)}
    cons.refresh_unit(s, PLAN, kv2)
    incremental = _all_cells(s)
    assert len(incremental) == len(set(incremental))
    assert {c[1] for c in incremental if c[0] == kv1} == {"2025-01", "2025-02", "2025-03"}
    assert {c[1] for c in incremental if c[0] == kv2} == {"2025-01"}
    with s.db.session() as db:
        db.execute(delete(cons.MatrixRow))
    assert cons.rebuild(s, PLAN) == len(incremental)
    assert _all_cells(s) == incremental


def test_packed_cells_round_trip_and_deleted_report_takes_its_row(province):
    """`unpack_cells(pack_cells(x)) == x` (floats exactly, Vietnamese reasons); a unit's row of a
    period goes with its report (ON DELETE CASCADE), like the cells did."""
    from sqlalchemy import delete, func, select

    from desktop.models.storage.schema import Report

    cells = {"A1": ["hoan_thanh", 1.0, ""], "A2": ["cham_tien_do", 0.1 + 0.2, "Chưa đạt 30% — tỷ lệ 1/3"],
             "A3": ["chua_thuc_hien", None, ""]}
    assert cons.unpack_cells(cons.pack_cells(cells)) == cells
    v, s = province
    plan = plans.get_plan(s, PLAN)
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-01", _entries(plan, 0.2, 1),
                                   received_at=datetime(2025, 2, 3))
    cons.refresh_unit(s, PLAN, "VKS-KV1-THA")
    with s.db.session() as db:
        assert db.scalar(select(func.count()).select_from(cons.MatrixRow)) == 1
        db.execute(delete(Report).where(Report.unit_code == "VKS-KV1-THA"))
    with s.db.session() as db:
        assert db.scalar(select(func.count()).select_from(cons.MatrixRow)) == 0


def _return(s, unit_code: str, period: str) -> None:
    """What exchange.return_report leaves at the province: the copy in state Bị trả lại."""
    from sqlalchemy import select

    from desktop.models.storage.schema import Report

    with s.db.session() as db:
        r = db.scalars(select(Report).where(Report.unit_code == unit_code, Report.period_key == period)).one()
        r.status = cons.RETURNED


def test_returned_report_not_counted_until_resent(province):
    from desktop.models.services import reporting
    from desktop.models.domain.plan import ReportingPeriod

    v, s = province
    plan = plans.get_plan(s, PLAN)
    for u, share in (("VKS-KV1-THA", 1.0), ("VKS-KV2-THA", 0.5)):
        progress.store_received_report(s, u, PLAN, plan.version, "2025-03", _entries(plan, share, 4),
                                       received_at=datetime(2025, 4, 3))
        cons.refresh_unit(s, PLAN, u)
    _return(s, "VKS-KV2-THA", "2025-03")
    m = cons.matrix(s, PLAN, "2025-03")
    kv2 = next(u for u in m.units if u.code == "VKS-KV2-THA")
    assert kv2.returned and not kv2.reported and kv2.completion is None
    assert (m.received, m.on_time, m.late) == (1, 1, 0)
    assert not any(code == "VKS-KV2-THA" for code, _ in m.cells)
    assert [u.code for u in cons.missing_reports(s, PLAN, "2025-03", today=date(2025, 4, 8))] == [
        "VKS-KV2-THA", "VKS-KV3-THA"]
    period = ReportingPeriod.parse("2025-03")
    doc = reporting.consolidated_report_doc(s, PLAN, period, as_of=date(2025, 4, 8))
    assert (doc.reporting.received, doc.reporting.returned, doc.reporting.missing) == (1, 1, 1)
    assert doc.submissions["VKS-KV2-THA"].returned
    assert not any(u == "VKS-KV2-THA" for u, _ in doc.cells)
    text = _pdf_text(reporting.consolidated_pdf(s, PLAN, period, as_of=date(2025, 4, 8)))
    assert "đã báo cáo: 1/3 đơn vị" in text
    assert ("Báo cáo đã trả lại để hoàn thiện, chưa gửi lại (không tính vào số liệu tổng hợp): "
            "Viện kiểm sát nhân dân khu vực 2 - Thanh Hóa.") in text
    assert "KV2 (đã trả lại)" in text
    # the reminder lists it with its situation; a notice, not a report skeleton
    notice = _pdf_text(cons.reminder_pdf(s, PLAN, "2025-03", today=date(2025, 4, 8)))
    assert "THÔNG BÁO" in notice and "Về việc đôn đốc gửi báo cáo" in notice
    assert "Đã trả lại, chưa gửi lại" in notice and "TỒN TẠI" not in notice
    assert "- Viện trưởng Viện kiểm sát nhân dân khu vực" in notice and "- Lưu: VT, VP." in notice
    from desktop.models.services import keystore

    # the verification block carries the province's own key fingerprint
    assert f"Vân tay khóa ký: {keystore.own_fingerprint(s)}" in notice
    assert f"Vân tay khóa ký: {keystore.own_fingerprint(s)}" in text
    # re-sent: counted again
    progress.store_received_report(s, "VKS-KV2-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.6, 4),
                                   received_at=datetime(2025, 4, 4), revision=2)
    cons.refresh_unit(s, PLAN, "VKS-KV2-THA")
    m = cons.matrix(s, PLAN, "2025-03")
    assert m.received == 2 and any(code == "VKS-KV2-THA" for code, _ in m.cells)
    doc = reporting.consolidated_report_doc(s, PLAN, period, as_of=date(2025, 4, 8))
    assert (doc.reporting.received, doc.reporting.returned) == (2, 0)


def _pdf_text(pdf: bytes) -> str:
    import subprocess
    import unicodedata

    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(unicodedata.normalize("NFC", out.decode("utf-8")).split())


@pytest.mark.parametrize("key", ["2025-03", "2025-06", "2025-Q2", "2025-12"])
def test_cells_as_of_equal_full_evaluation(province, key):
    """The consolidated document's cells come from the materialised matrix, re-evaluating only
    what the date can change: on any date they equal a full evaluation of every unit."""
    from datetime import timedelta

    from desktop.models.services.dashboard import evaluate_unit
    from desktop.models.domain.plan import ReportingPeriod

    v, s = province
    plan = plans.get_plan(s, PLAN)
    period = ReportingPeriod.parse(key)
    targets = cons.consolidated_targets(s, plan)
    late_done = _entries(plan, 1.0, 1)  # milestones done a few days after the period's end
    for code, e in late_done.items():
        if e.get("done_date"):
            e["done_date"] = (period.end + timedelta(days=3)).isoformat()
    before = period.previous() if period.type == "month" else ReportingPeriod.parse("2025-03")
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, before.key, _entries(plan, 0.4, 1))
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, key, late_done)
    progress.store_received_report(s, "VKS-KV2-THA", PLAN, plan.version, key, _entries(plan, 0.5, 0))
    progress.store_received_report(s, "VKS-KV3-THA", PLAN, plan.version, key, _entries(plan, 1.0, 4))
    cons.refresh_unit(s, PLAN, "VKS-KV1-THA")
    cons.refresh_unit(s, PLAN, "VKS-KV2-THA")  # KV3's cells are not materialised: evaluated in full
    units_ = ["VKS-KV1-THA", "VKS-KV2-THA", "VKS-KV3-THA"]
    days = [period.start + timedelta(days=9), period.end, period.end + timedelta(days=1),
            period.end + timedelta(days=3), period.end + timedelta(days=5), period.end + timedelta(days=40),
            date(2025, 12, 31), date(2026, 1, 20)]
    targets_of = {u: ts for u, ts in cons.unit_targets(s, plan).items() if u in units_}
    assert set(targets_of) == set(units_) and targets
    for as_of in days:
        got = cons.cells_as_of(s, plan, period, as_of, targets_of)
        want = {(u, ts.target.code): (ts.result.status, ts.result.percent) for u in units_
                for ts in evaluate_unit(s, PLAN, as_of, period, unit_code=u, plan=plan, targets=targets_of[u])}
        assert {k: (c.status, c.percent) for k, c in got.items()} == want, as_of


def test_matrix_page_sorts_in_the_model(qtbot, qtmodeltester, province):
    """Header sorting orders the units in the model (one key per row) and the view follows."""
    from PySide6.QtCore import Qt

    from desktop.ui.consolidation_page import FIXED_COLUMNS, ConsolidationPage

    v, s = province
    plan = plans.get_plan(s, PLAN)
    progress.store_received_report(s, "VKS-KV1-THA", PLAN, plan.version, "2025-03", _entries(plan, 0.2, 0),
                                   received_at=datetime(2025, 4, 3))
    progress.store_received_report(s, "VKS-KV3-THA", PLAN, plan.version, "2025-03", _entries(plan, 1.0, 4),
                                   received_at=datetime(2025, 4, 4))
    page = ConsolidationPage(s, today=date(2025, 4, 15))
    qtbot.addWidget(page)
    page.plan.setCurrentIndex(page.plan.findData(PLAN))
    page.period.setCurrentIndex(page.period.findData("2025-03"))
    page.recompute()
    m = page.model.matrix
    col = next(i for i, t in enumerate(m.targets)
               if m.cells[("VKS-KV1-THA", t.code)].status != m.cells[("VKS-KV3-THA", t.code)].status)
    code = m.targets[col].code

    def shown():
        return [page.model.unit_at(page.proxy.mapToSource(page.proxy.index(r, 0)).row()).code
                for r in range(page.proxy.rowCount())]

    def rank(unit):
        c = m.cells.get((unit, code))
        return c.status.rank if c else 9

    page.view.sortByColumn(FIXED_COLUMNS + col, Qt.SortOrder.AscendingOrder)
    assert [rank(u) for u in shown()] == sorted(rank(u) for u in shown())
    assert shown()[-1] == "VKS-KV2-THA"  # no report: last
    page.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert shown() == ["VKS-KV3-THA", "VKS-KV2-THA", "VKS-KV1-THA"]
    page.period.setCurrentIndex(page.period.findData("2025-02"))  # a new matrix keeps the order asked for
    page.period.setCurrentIndex(page.period.findData("2025-03"))
    assert shown() == ["VKS-KV3-THA", "VKS-KV2-THA", "VKS-KV1-THA"]
    page.search.setText("khu vuc 1")
    assert shown() == ["VKS-KV1-THA"]
    qtmodeltester.check(page.model)


def test_migration_packs_matrix_cells_and_downgrade_unpacks_them(tmp_path):
    """0011_matrix turns the per-cell table into one packed row per unit and period (a stray
    second copy of a cell: the later one) and drops it; the downgrade gives the cells back."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from desktop.models.storage import db as dbmod
    from desktop.models.storage.keyslots import generate_master_key

    cfg = dbmod._alembic_config()
    before = ScriptDirectory.from_config(cfg).get_revision("0011_matrix").down_revision
    db = dbmod.Database(tmp_path / "old.db", generate_master_key())
    dbmod.upgrade(db, before)
    cells = [("P", "2025-01", "KV1", "T1", "hoan_thanh", 1.0, ""),
             ("P", "2025-01", "KV1", "T2", "cham_tien_do", 0.3, "Mới đạt 30%"),
             ("P", "2025-01", "KV2", "T1", "chua_thuc_hien", None, ""),
             ("P", "2025-02", "KV1", "T1", "qua_han", 0.5, "Quá hạn")]
    insert = text("INSERT INTO matrix_cells (plan_id, period_key, unit_code, target_code, status, percent, reason) "
                  "VALUES (:p, :k, :u, :t, :s, :pct, :r)")
    with db.session() as s:
        s.execute(insert, [dict(zip(("p", "k", "u", "t", "s", "pct", "r"), c)) for c in cells])
        s.execute(insert, dict(p="P", k="2025-02", u="KV1", t="T1", s="dung_tien_do", pct=0.6, r=""))  # stray copy
    dbmod.upgrade(db, "0011_matrix")
    with db.session() as s:
        rows = {(p, k, u): (done, cons.unpack_cells(blob)) for p, k, u, done, blob in s.execute(
            text("SELECT plan_id, period_key, unit_code, done, cells FROM matrix_rows"))}
        tables = {r[0] for r in s.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
    assert "matrix_cells" not in tables
    assert rows == {("P", "2025-01", "KV1"): (1, {"T1": ["hoan_thanh", 1.0, ""], "T2": ["cham_tien_do", 0.3, "Mới đạt 30%"]}),
                    ("P", "2025-01", "KV2"): (0, {"T1": ["chua_thuc_hien", None, ""]}),
                    ("P", "2025-02", "KV1"): (0, {"T1": ["dung_tien_do", 0.6, ""]})}
    with db._open_engine().begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, before)
    with db.session() as s:
        back = sorted(tuple(r) for r in s.execute(text(
            "SELECT plan_id, period_key, unit_code, target_code, status, percent, reason FROM matrix_cells")))
        tables = {r[0] for r in s.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
    assert "matrix_rows" not in tables
    assert back == sorted(cells[:3] + [("P", "2025-02", "KV1", "T1", "dung_tien_do", 0.6, "")])
    db.close()
