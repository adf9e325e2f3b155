"""Recording progress, workflow permissions, revisions and evidence (services, no Qt)."""

from __future__ import annotations

import hashlib
import os

import pytest

from desktop.models.services import plans, progress
from desktop.models.domain.errors import PermissionDenied, StorageError, ValidationError
from desktop.models.storage.evidence import EvidenceError, EvidenceStore, sweep_temp

from conftest import APPROVER_PW, ENTRY_PW

PLAN = "thanhhoa-cds-2025"


@pytest.fixture
def unit(created):
    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    admin.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    report = progress.open_report(entry, PLAN, "2025-03")
    targets = {t.measure.type: t for t in reversed(progress.report_targets(entry, report))}
    yield vault, entry, report, targets
    if entry.is_unlocked:
        entry.lock()


def _db_snapshot(session):
    """Every progress row, to prove a refused action changed nothing."""
    r = progress.list_reports(session)
    return [(x.id, x.status, x.revision) for x in r], {
        x.id: progress.get_report(session, x.id).entries for x in r}


def test_record_validates_and_keeps_revisions(unit):
    vault, entry, report, t = unit
    ratio = t["ratio"]
    progress.record_progress(entry, report.id, ratio.code, numerator=30, denominator=31)
    with pytest.raises(ValidationError) as info:
        progress.record_progress(entry, report.id, ratio.code, numerator=32)
    assert "không được lớn hơn mẫu số" in info.value.message
    with pytest.raises(ValidationError):
        progress.record_progress(entry, report.id, ratio.code, denominator=-1)
    progress.record_progress(entry, report.id, ratio.code, numerator=31, result_text="Đã ký số  ")
    e = progress.get_report(entry, report.id).entries[ratio.code]
    assert (e.numerator, e.denominator, e.result_text) == (31, 31, "Đã ký số")
    hist = progress.entry_history(entry, report.id, ratio.code)
    assert [(h.field, h.old, h.new) for h in hist][:2] == [("result_text", None, "Đã ký số"), ("numerator", "30", "31")]
    assert all(h.user == "Trần Thị Nhập" for h in hist)


def test_milestone_date_inside_plan_year(unit):
    vault, entry, report, t = unit
    from datetime import date

    with pytest.raises(ValidationError) as info:
        progress.record_progress(entry, report.id, t["milestone"].code, done=True, done_date=date(2024, 12, 31))
    assert "2025" in info.value.message
    progress.record_progress(entry, report.id, t["milestone"].code, done=True, done_date="2025-03-05")
    assert progress.get_report(entry, report.id).entries[t["milestone"].code].done_date == date(2025, 3, 5)


def test_workflow_and_permissions(unit):
    vault, entry, report, t = unit
    code = t["ratio"].code
    progress.record_progress(entry, report.id, code, numerator=5, denominator=10)
    before = _db_snapshot(entry)
    with pytest.raises(PermissionDenied):
        progress.approve_report(entry, report.id)
    assert _db_snapshot(entry) == before
    progress.submit_report(entry, report.id)
    # pending: frozen for edits
    with pytest.raises(ValidationError):
        progress.record_progress(entry, report.id, code, numerator=6)
    entry.lock()
    head = vault.unlock("lanhdao", APPROVER_PW)
    with pytest.raises(PermissionDenied):
        progress.record_progress(head, report.id, code, numerator=7)
    approved = progress.approve_report(head, report.id, "Đồng ý")
    assert approved.status == progress.APPROVED
    snap = progress.approved_values(head, report.id)
    assert snap["entries"][code]["numerator"] == "5"
    head.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    with pytest.raises(ValidationError) as info:
        progress.record_progress(entry, report.id, code, numerator=9)
    assert "đã khóa" in info.value.message
    assert progress.get_report(entry, report.id).entries[code].numerator == 5
    trans = progress.report_transitions(entry, report.id)
    assert [x.to_status for x in trans] == ["nhap", "cho_duyet", "da_duyet"]
    assert trans[-1].user == "Lê Văn Đạo" and trans[-1].comment == "Đồng ý"
    entry.lock()


def test_returned_report_is_revised_and_reapproved(unit):
    vault, entry, report, t = unit
    code = t["ratio"].code
    progress.record_progress(entry, report.id, code, numerator=5, denominator=10)
    progress.submit_report(entry, report.id)
    entry.lock()
    head = vault.unlock("lanhdao", APPROVER_PW)
    progress.approve_report(head, report.id)
    head.lock()
    admin_like = vault.unlock("lanhdao", APPROVER_PW)
    progress.mark_sent(admin_like, report.id, "ab" * 32)
    progress.mark_returned(admin_like, report.id, "Số liệu chưa khớp", {code: "Kiểm tra lại mẫu số"})
    admin_like.lock()
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    r = progress.get_report(entry, report.id)
    assert r.status == progress.RETURNED and r.revision == 1
    assert r.return_comments["targets"][code] == "Kiểm tra lại mẫu số"
    progress.record_progress(entry, report.id, code, denominator=12)
    assert progress.get_report(entry, report.id).status == progress.DRAFT
    progress.submit_report(entry, report.id)
    entry.lock()


def test_submit_requires_values(unit):
    vault, entry, report, t = unit
    with pytest.raises(ValidationError):
        progress.submit_report(entry, report.id)


def test_evidence_encrypted_deduplicated_and_limited(unit, tmp_path):
    vault, entry, report, t = unit
    code = t["ratio"].code
    marker = b"BANG-CHUNG-BI-MAT-" + os.urandom(4).hex().encode()
    pdf = tmp_path / "bien-ban.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + marker * 5000)
    a = progress.attach_evidence(entry, report.id, code, pdf)
    copy = tmp_path / "ban-sao.pdf"
    copy.write_bytes(pdf.read_bytes())
    b = progress.attach_evidence(entry, report.id, code, copy)
    assert a.sha256 == b.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    blobs = [p for p in (vault.folder.root / "evidence").rglob("*") if p.is_file()]
    assert len(blobs) == 1  # stored once
    for p in vault.folder.root.rglob("*"):
        if p.is_file():
            assert marker not in p.read_bytes(), p
            assert a.sha256.encode() not in p.read_bytes() or p.suffix == ".db"
    assert progress.evidence_bytes(entry, a.sha256) == pdf.read_bytes()
    # a file over the limit: clear message, nothing linked, no blob
    from desktop.models.services import settings

    big = tmp_path / "qua-lon.pdf"
    big.write_bytes(b"x" * (int(settings.get(entry, "evidence_max_mb")) * 1024 * 1024 + 1))
    n_links = len(progress.get_report(entry, report.id).entries[code].evidence)
    with pytest.raises(EvidenceError) as info:
        progress.attach_evidence(entry, report.id, code, big)
    assert "quá lớn" in info.value.message
    assert len(progress.get_report(entry, report.id).entries[code].evidence) == n_links
    assert len([p for p in (vault.folder.root / "evidence").rglob("*") if p.is_file()]) == 1
    # a file that vanished
    with pytest.raises(EvidenceError) as info:
        progress.attach_evidence(entry, report.id, code, tmp_path / "khong-co.pdf")
    assert "Không tìm thấy" in info.value.message


def test_temp_copies_removed_on_lock_and_swept(unit, tmp_path):
    vault, entry, report, t = unit
    f = tmp_path / "bao-cao.docx"
    f.write_bytes(b"PK" + b"noi-dung-van-ban" * 100)
    ev = progress.attach_evidence(entry, report.id, t["ratio"].code, f)
    copy = progress.open_evidence_copy(entry, ev.id)
    assert copy.read_bytes() == f.read_bytes() and copy.name == "bao-cao.docx"
    entry.lock()
    assert not copy.exists()
    # a copy left by a crash is swept at start-up
    stray = vault.folder.temp / "view-crash" / "x.docx"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    assert sweep_temp(vault.folder.temp) == 1 and not stray.exists()


def test_evidence_store_detects_tampering(tmp_path):
    store = EvidenceStore(tmp_path / "evidence", bytes(range(32)))
    src = tmp_path / "a.pdf"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    blob = store.put_file(src, 10 * 1024 * 1024)
    assert store.read_bytes(blob.store_name) == src.read_bytes()
    path = store.path_for(blob.store_name)
    raw = bytearray(path.read_bytes())
    raw[1024 * 1024 + 100] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(EvidenceError):
        store.read_bytes(blob.store_name)
    # truncation (dropping the final chunk) is detected too
    path.write_bytes(bytes(raw[: len(b"VKSE1\n") + 16 + (1024 * 1024 + 16)]))
    with pytest.raises(EvidenceError):
        store.read_bytes(blob.store_name)


def test_disk_full_while_storing_evidence(tmp_path, monkeypatch):
    import errno

    store = EvidenceStore(tmp_path / "evidence", bytes(32))
    src = tmp_path / "a.pdf"
    src.write_bytes(b"%PDF" * 1000)
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError) as info:
        store.put_file(src, 10 ** 7)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert "đầy" in info.value.message
    assert [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()] == []


def test_import_progress_json_all_or_nothing(unit, tmp_path):
    vault, entry, report, t = unit
    import json

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"plan": PLAN, "period": "2025-04", "entries": {
        t["ratio"].code: {"numerator": 5, "denominator": 3}, "KHONG-CO": {"count": 1}}}), "utf-8")
    before = progress.list_reports(entry)
    with pytest.raises(ValidationError) as info:
        progress.import_progress_json(entry, bad)
    assert len(info.value.details["problems"]) == 2
    assert progress.list_reports(entry) == before
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"plan": PLAN, "period": "2025-04", "entries": {
        t["ratio"].code: {"numerator": 3, "denominator": 5}}, "narrative": {"I": "Đã quán triệt"}}), "utf-8")
    ids = progress.import_progress_json(entry, good)
    r = progress.get_report(entry, ids[0])
    assert r.entries[t["ratio"].code].numerator == 3 and r.narrative["I"] == "Đã quán triệt"
