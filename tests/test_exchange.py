"""The exchange service between two real offices (each its own encrypted data folder) through a
shared folder: report → receipt, return → revision → resend, the outbox when the share fails,
recovery after a crash or a kill mid-export, files opened by hand, verify, and the CLI."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from exchange_fixtures import (PERIOD, PLAN, approved_report, db_dump, office_templates,  # noqa: F401
                               province_and_units, report_targets, two_offices)
from sqlalchemy import select

import desktop.export.bundle as bm
from conftest import ADMIN_PW, APPROVER_PW
from desktop.export.bundle import open_bundle
from desktop.models.storage import audit
from desktop.models.services import exchange, keystore, progress, settings
from desktop.models.domain.errors import PermissionDenied, ValidationError
from desktop.models.storage.schema import AuditRecord

REPO = Path(__file__).resolve().parents[1]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _ratio_codes(office, n=3):
    return [c for c, m in report_targets(office).items() if m == "ratio"][:n]


def _actions(session, since=0):
    with session.db.session() as s:
        return [r.action for r in s.scalars(select(AuditRecord).where(AuditRecord.id > since).order_by(AuditRecord.id))]


def _last_audit_id(session):
    with session.db.session() as s:
        return s.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1)) or 0


# ------------------------------------------------------------------ the round trips
def test_report_round_trip_with_evidence_and_receipt(two_offices, tmp_path):
    from bundle_helpers import make_docx

    o = two_offices
    prov, unit = o.province, o.unit
    a, b, c = _ratio_codes(unit)
    pdf = tmp_path / "bien-ban.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% bien ban hop\n" + os.urandom(2000))
    docx = tmp_path / "Kế hoạch triển khai.docx"
    docx.write_bytes(make_docx())
    rid = approved_report(unit, {a: {"numerator": 30, "denominator": 40, "result_text": "Đã ký số 30 văn bản"},
                                 b: {"numerator": 5, "denominator": 5}},
                          narrative={"I": "Chỉ đạo quyết liệt"}, evidence={a: [pdf, docx], b: [pdf]})
    mark = _last_audit_id(unit.admin)
    res = exchange.export_report(unit.approver, PLAN, PERIOD)
    assert res.ok and res.delivered and res.item.seq == 1 and res.item.state == exchange.DELIVERED
    assert progress.get_report(unit.admin, rid).status == progress.SENT
    local = exchange.outbox_dir(unit.admin, prov.code) / res.item.filename
    assert local.is_file()  # kept until the receipt arrives
    shared = o.inbox(prov) / res.item.filename
    assert shared.read_bytes() == local.read_bytes()
    assert "bundle.export" in _actions(unit.admin, mark) and "report.da_gui" in _actions(unit.admin, mark)

    # the bundle carries the printed report, both evidence files and the Office type
    bundle = open_bundle(shared, keystore.decryption_keys(prov.admin), keystore.trust_lookup(prov.admin))
    assert bundle.report_pdf.startswith(b"%PDF-")
    assert bundle.attachment_media_type(__import__("hashlib").sha256(docx.read_bytes()).hexdigest()) == DOCX
    assert len(bundle.attachments()) == 2

    outcomes = exchange.scan_inbox(prov.admin)
    assert [(x.verdict, x.kind, x.sender_unit) for x in outcomes] == [("applied", "report", unit.code)]
    assert not shared.exists() and (o.folders(prov)["processed"] / res.item.filename).is_file()
    # the province's copy: the same tables, unit_code = the sender, status Đã nhận
    copy = progress.get_report(prov.admin, outcomes[0].report_id)
    assert (copy.unit_code, copy.status, copy.revision) == (unit.code, progress.RECEIVED, 0)
    assert copy.entries[a].numerator == 30 and copy.entries[a].result_text == "Đã ký số 30 văn bản"
    assert {e.filename for e in copy.entries[a].evidence} == {"bien-ban.pdf", "Kế hoạch triển khai.docx"}
    assert progress.evidence_bytes(prov.admin, copy.entries[a].evidence[0].sha256) in (pdf.read_bytes(), docx.read_bytes())
    assert progress.approved_values(prov.admin, copy.id)["narrative"]["I"] == "Chỉ đạo quyết liệt"
    assert copy.last_bundle_sha256 == res.item.file_sha256

    # the receipt went back on its own; the unit imports it: Đã nhận, outbox emptied
    assert len(list(o.inbox(unit).glob("VKS-THA_receipt_*.cdsb"))) == 1
    outcomes = exchange.scan_inbox(unit.admin)
    assert [(x.verdict, x.kind) for x in outcomes] == [("applied", "receipt")]
    view = progress.get_report(unit.admin, rid)
    assert view.status == progress.RECEIVED and view.received_at is not None
    item = exchange.list_outbox(unit.admin)[0]
    assert item.state == exchange.ACKNOWLEDGED and not local.exists()
    assert audit.verify(prov.admin) == [] and audit.verify(unit.admin) == []
    # the printed report at the province renders from the received copy
    from desktop.models.services import reporting

    assert reporting.unit_report_pdf(prov.admin, copy.id).startswith(b"%PDF-")


def test_return_revision_and_resend_supersedes(two_offices):
    o = two_offices
    prov, unit = o.province, o.unit
    a, b, _ = _ratio_codes(unit)
    rid = approved_report(unit, {a: {"numerator": 3, "denominator": 4}})
    exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    prov_copy = exchange.scan_inbox(prov.admin)[0].report_id
    exchange.scan_inbox(unit.admin)  # receipt

    with pytest.raises(ValidationError):
        exchange.return_report(prov.admin, prov_copy, "", {})
    with pytest.raises(ValidationError):
        exchange.return_report(prov.admin, prov_copy, "x", {"KHONG-CO": "y"})
    res = exchange.return_report(prov.admin, prov_copy, "Số liệu chưa khớp sổ theo dõi", {a: "Kiểm tra lại mẫu số"})
    assert res.delivered and res.item.kind == "return" and res.item.seq == 2  # after the receipt (seq 1)
    assert progress.get_report(prov.admin, prov_copy).status == progress.RETURNED

    out = exchange.scan_inbox(unit.admin)
    assert [(x.verdict, x.kind) for x in out] == [("applied", "return")]
    view = progress.get_report(unit.admin, rid)
    assert view.status == progress.RETURNED and view.revision == 1
    assert view.return_comments == {"general": "Số liệu chưa khớp sổ theo dõi", "targets": {a: "Kiểm tra lại mẫu số"}}

    # revise, re-approve, re-send: a new seq, a higher revision
    approved_report(unit, {a: {"denominator": 3}, b: {"numerator": 1, "denominator": 2}})
    res2 = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert res2.item.seq == 2 and res2.delivered
    out = exchange.scan_inbox(prov.admin)
    assert [(x.verdict, x.report_id) for x in out] == [("applied", prov_copy)]  # the same row, superseded
    copy = progress.get_report(prov.admin, prov_copy)
    assert (copy.status, copy.revision, copy.return_comments) == (progress.RECEIVED, 1, {})
    assert copy.entries[a].denominator == 3 and b in copy.entries
    assert copy.last_bundle_sha256 == res2.item.file_sha256
    assert len(progress.list_reports(prov.admin)) == 1
    out = exchange.scan_inbox(unit.admin)
    assert [(x.verdict, x.kind) for x in out] == [("applied", "receipt")]
    assert progress.get_report(unit.admin, rid).status == progress.RECEIVED
    assert {i.seq: i.state for i in exchange.list_outbox(unit.admin)} == {1: "acknowledged", 2: "acknowledged"}
    trans = [t.to_status for t in progress.report_transitions(unit.admin, rid)]
    assert trans[trans.index("bi_tra_lai"):] == ["bi_tra_lai", "nhap", "cho_duyet", "da_duyet", "da_gui", "da_nhan"]


def test_two_units_report_to_one_province(province_and_units):
    o = province_and_units(2)
    for u in o.units:
        a = _ratio_codes(u, 1)[0]
        approved_report(u, {a: {"numerator": 1, "denominator": 2}})
        assert exchange.export_report(u.approver, PLAN, PERIOD, include_pdf=False).delivered
    out = exchange.scan_inbox(o.province.admin)
    assert sorted((x.verdict, x.sender_unit) for x in out) == [("applied", "VKS-KV1-THA"), ("applied", "VKS-KV2-THA")]
    assert sorted(r.unit_code for r in exchange.received_reports(o.province.admin)) == ["VKS-KV1-THA", "VKS-KV2-THA"]
    for u in o.units:
        assert [x.kind for x in exchange.scan_inbox(u.admin)] == ["receipt"]


# ------------------------------------------------------------------ the share fails: outbox and retry
def _set_share(office, path):
    settings.set_value(office.admin, "share_folder", str(path))


def test_share_unreachable_keeps_bundle_in_outbox_and_retry_delivers(two_offices, tmp_path):
    o = two_offices
    unit = o.unit
    rid = approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 1, "denominator": 1}})
    _set_share(unit, tmp_path / "not-mounted")
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert not res.delivered and res.reason == "share_unreachable"
    assert "Không truy cập được thư mục dùng chung" in res.message
    assert progress.get_report(unit.admin, rid).status == progress.SENT  # sent = safely in the outbox
    item = exchange.list_outbox(unit.admin, pending_only=True)[0]
    assert item.state == exchange.READY and item.last_error == "share_unreachable" and item.attempts == 1
    assert (exchange.outbox_dir(unit.admin, "VKS-THA") / item.filename).is_file()
    assert list(o.inbox(o.province).iterdir()) == []
    with pytest.raises(ValidationError):  # not twice
        exchange.export_report(unit.approver, PLAN, PERIOD)
    # not configured at all
    _set_share(unit, "")
    assert exchange.retry_outbox(unit.admin)[0].reason == "share_not_configured"
    # the share is back: the retry (button or next start) delivers the very same file
    _set_share(unit, o.share)
    results = exchange.retry_outbox(unit.approver)
    assert [(r.delivered, r.item.filename) for r in results] == [(True, item.filename)]
    assert (o.inbox(o.province) / item.filename).is_file()
    assert exchange.list_outbox(unit.admin, pending_only=True) == []
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"


@pytest.mark.parametrize("fault,reason", [(errno.ENOSPC, "disk_full"), (errno.EROFS, "read_only"),
                                          (errno.EACCES, "read_only")])
def test_share_full_or_read_only_gives_a_clear_reason(two_offices, monkeypatch, fault, reason):
    unit = two_offices.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 1, "denominator": 1}})
    real_open = bm._open_part
    share = str(two_offices.share)

    def failing(path):
        if str(path).startswith(share):
            raise OSError(fault, os.strerror(fault), str(path))
        return real_open(path)

    monkeypatch.setattr(bm, "_open_part", failing)
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert (res.delivered, res.reason) == (False, reason)
    assert res.message == bm.WRITE_REASONS[reason]
    assert list(two_offices.inbox(two_offices.province).iterdir()) == []
    monkeypatch.setattr(bm, "_open_part", real_open)
    assert exchange.retry_outbox(unit.admin)[0].delivered


def test_missing_recipient_inbox_and_export_to_a_folder(two_offices, tmp_path):
    o = two_offices
    unit = o.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 1, "denominator": 1}})
    inbox = o.inbox(o.province)
    inbox.rmdir()
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert res.reason == "recipient_inbox_missing"
    usb = tmp_path / "usb"
    usb.mkdir()
    done = exchange.retry_outbox(unit.admin, to_dir=usb)
    assert done[0].delivered and (usb / done[0].item.filename).is_file()
    assert done[0].item.delivered_to == str(usb)
    # the province opens the file by hand: applied, the file is left where it was
    inbox.mkdir()
    o.inbox(unit).rmdir()
    out = exchange.import_files(o.province.admin, [usb / done[0].item.filename])
    assert out[0].verdict == "applied" and (usb / done[0].item.filename).is_file()
    assert "chưa chuyển được" in out[0].warning
    # the receipt waits in the province's outbox until the unit's inbox exists
    assert exchange.list_outbox(o.province.admin, pending_only=True)[0].last_error == "recipient_inbox_missing"
    o.inbox(unit).mkdir()
    assert exchange.retry_outbox(o.province.admin)[0].delivered is True
    assert [x.kind for x in exchange.scan_inbox(unit.admin)] == ["receipt"]


def test_permissions_and_preconditions(two_offices):
    unit = two_offices.unit
    with pytest.raises(PermissionDenied):
        exchange.export_report(unit.entry, PLAN, PERIOD)
    with pytest.raises(PermissionDenied):
        exchange.scan_inbox(unit.entry)
    view = progress.open_report(unit.entry, PLAN, PERIOD)
    progress.record_progress(unit.entry, view.id, _ratio_codes(unit, 1)[0], numerator=1, denominator=2)
    with pytest.raises(ValidationError) as ei:
        exchange.export_report(unit.approver, PLAN, PERIOD)
    assert "đã duyệt" in ei.value.message
    with pytest.raises(PermissionDenied):
        keystore.rotate_own_keys(unit.approver)


def test_approved_report_without_its_snapshot_is_refused_cleanly(two_offices):
    """A report marked approved whose approved copy is gone (an insider cleared the column) is
    flagged by the integrity check and refused with a message, not a TypeError, and nothing is
    reserved, written or recorded."""
    from desktop.models.services import insider
    from desktop.models.storage.schema import Report
    from exchange_fixtures import tree

    o = two_offices
    unit = o.unit
    rid = approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 1, "denominator": 2}})
    with unit.admin.db.session() as s:
        s.get_one(Report, rid).approved_snapshot = None
    db_before = db_dump(unit.admin)
    def skip(p: Path) -> bool:  # the database (compared row by row) and the logs
        return p.name.startswith("vks-cds.db") or "logs" in p.parts

    files_before = tree(o.root, skip)
    with pytest.raises(ValidationError) as ei:
        exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert "Bản đã duyệt bị xóa" in ei.value.message
    assert insider.check_report(unit.admin, rid) == "Bản đã duyệt bị xóa khỏi báo cáo."
    assert db_dump(unit.admin) == db_before
    assert tree(o.root, skip) == files_before
    assert exchange.list_outbox(unit.admin) == []


# ------------------------------------------------------------------ crashes
def test_crash_after_writing_adopts_the_file_instead_of_rewriting(two_offices, monkeypatch):
    """The app dies after the bundle was renamed into the outbox but before the database knew:
    the retry adopts that file (same seq, same bytes) rather than writing the seq again."""
    o = two_offices
    unit = o.unit
    rid = approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 2, "denominator": 3}})
    real = exchange.write_bundle
    written = {}

    def write_then_die(*a, **kw):
        written["w"] = real(*a, **kw)
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(exchange, "write_bundle", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    monkeypatch.setattr(exchange, "write_bundle", real)
    assert exchange.list_outbox(unit.admin)[0].state == exchange.RESERVED
    assert progress.get_report(unit.admin, rid).status == progress.APPROVED
    results = exchange.retry_outbox(unit.admin)
    assert results[0].delivered and results[0].item.file_sha256 == written["w"].file_sha256
    assert progress.get_report(unit.admin, rid).status == progress.SENT
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"


def test_share_copy_is_written_in_the_same_pass_and_published_after_the_record(two_offices, monkeypatch):
    """The superior's copy is written alongside the outbox file (the outbox file is not read and
    hashed again) and appears in its inbox only once the bundle is recorded (docs/exchange.md §5)."""
    o = two_offices
    unit = o.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 2, "denominator": 3}})
    inbox = o.inbox(o.province)
    monkeypatch.setattr(exchange, "publish_copy", lambda *a, **k: pytest.fail("the outbox file was copied again"))
    at_record: list[list[str]] = []
    real_transition = exchange.transition

    def spy(*a, **k):
        at_record.append(sorted(p.name for p in inbox.iterdir()))
        return real_transition(*a, **k)

    monkeypatch.setattr(exchange, "transition", spy)
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert res.delivered and res.item.state == exchange.DELIVERED
    assert len(at_record) == 1 and len(at_record[0]) == 1 and at_record[0][0].endswith(".cdsb.part")
    outbox_file = exchange.outbox_dir(unit.admin, "VKS-THA") / res.item.filename
    assert sorted(p.name for p in inbox.iterdir()) == [res.item.filename]
    assert (inbox / res.item.filename).read_bytes() == outbox_file.read_bytes()
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"


def test_share_writer_swaps_the_copy_before_it_is_published_it_is_refused(two_offices, monkeypatch):
    """Attack: someone who can write on the share finds the `.part` written alongside and puts
    their own bytes there before it is renamed. The superior refuses the file, applies nothing,
    and the unit's outbox copy (the one a resend sends) is untouched."""
    o = two_offices
    unit = o.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 2, "denominator": 3}})
    inbox = o.inbox(o.province)
    real_publish = bm.PendingCopy.publish

    def swap_then_publish(self):
        self.part.write_bytes(b"not the unit's bundle" * 100)
        return real_publish(self)

    monkeypatch.setattr(bm.PendingCopy, "publish", swap_then_publish)
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    outbox_file = exchange.outbox_dir(unit.admin, "VKS-THA") / res.item.filename
    kept = outbox_file.read_bytes()
    assert hashlib.sha256(kept).hexdigest() == res.item.file_sha256
    data = ("reports", "progress_entries", "entry_revisions", "report_transitions", "evidence_blobs",
            "evidence_links", "signed_acts", "trusted_keys", "bundle_streams")

    def province_data():
        dump = db_dump(o.province.admin)
        return {t: dump[t] for t in data}

    before = province_data()
    out = exchange.scan_inbox(o.province.admin)
    assert out and all(r.verdict != "applied" for r in out)
    assert province_data() == before
    assert outbox_file.read_bytes() == kept
    assert not any(p.name == res.item.filename for p in inbox.iterdir())


def test_a_failed_record_leaves_nothing_on_the_share(two_offices, monkeypatch):
    o = two_offices
    unit = o.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 2, "denominator": 3}})

    def fail(*a, **k):
        raise OSError(errno.EIO, "database disk I/O error")

    monkeypatch.setattr(exchange, "_record_written", fail)
    with pytest.raises(OSError):
        exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert list(o.inbox(o.province).iterdir()) == []  # the copy written alongside was removed
    monkeypatch.undo()
    assert exchange.list_outbox(unit.admin)[0].state == exchange.RESERVED
    assert exchange.retry_outbox(unit.admin)[0].delivered  # adopts the outbox file, copies it
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"


def test_a_failed_share_copy_falls_back_to_copying_the_outbox_file(two_offices, monkeypatch):
    o = two_offices
    unit = o.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 2, "denominator": 3}})
    real_open, share, failed = bm._open_part, str(o.share), []

    def fail_once(path):
        if str(path).startswith(share) and not failed:
            failed.append(path)
            raise OSError(errno.EHOSTDOWN, "host is down", str(path))
        return real_open(path)

    monkeypatch.setattr(bm, "_open_part", fail_once)
    res = exchange.export_report(unit.approver, PLAN, PERIOD, include_pdf=False)
    assert failed and res.delivered
    assert sorted(p.name for p in o.inbox(o.province).iterdir()) == [res.item.filename]
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"


def test_process_killed_mid_export_leaves_no_final_file_and_resumes(two_offices):
    """SIGKILL while the bundle is being encrypted into the outbox: no file under a final name
    anywhere, the seq stays reserved, the next start writes it and the province applies it."""
    o = two_offices
    unit = o.unit
    rid = approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 2, "denominator": 3}})
    unit.close()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO / 'tests')!r})
        import desktop.export.bundle as bm
        from desktop.models.services import exchange
        from desktop.models.storage.vault import Vault
        s = Vault({str(unit.data_dir)!r}).unlock("lanhdao", {APPROVER_PW!r})
        real = bm._HashingSink.write
        def write(self, b):
            n = real(self, b)
            if self.size > 1000:
                os.kill(os.getpid(), signal.SIGKILL)
            return n
        bm._HashingSink.write = write
        exchange.export_report(s, {PLAN!r}, {PERIOD!r}, include_pdf=False)
    """)
    p = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == -signal.SIGKILL, p.stderr
    final = [f for f in (unit.data_dir / "outbox").rglob("*.cdsb")] + list(o.share.rglob("*.cdsb"))
    assert final == []
    assert list((unit.data_dir / "outbox" / "VKS-THA").glob("*.cdsb.part"))  # the torn file, never a bundle
    unit.admin = unit.vault.unlock("admin", ADMIN_PW)
    assert exchange.list_outbox(unit.admin)[0].state == exchange.RESERVED
    results = exchange.retry_outbox(unit.admin)  # the automatic retry at the next start
    assert results[0].delivered and results[0].item.seq == 1
    assert list((unit.data_dir / "outbox" / "VKS-THA").glob("*.part")) == []
    assert progress.get_report(unit.admin, rid).status == progress.SENT
    assert exchange.scan_inbox(o.province.admin)[0].verdict == "applied"


# ------------------------------------------------------------------ verify and files by hand
def test_verify_prints_every_check(two_offices):
    o = two_offices
    approved_report(o.unit, {_ratio_codes(o.unit, 1)[0]: {"numerator": 1, "denominator": 1}})
    res = exchange.export_report(o.unit.approver, PLAN, PERIOD, include_pdf=False)
    path = o.inbox(o.province) / res.item.filename
    before = db_dump(o.province.admin)
    rows = exchange.verify_file(o.province.admin, path)
    names = [r[0] for r in rows]
    assert names[:9] == ["Kích thước tệp", "Tiêu đề age", "Giải mã (age)", "Chữ ký số (minisign)",
                         "Chú thích tin cậy của chữ ký", "An toàn cấu trúc ZIP", "Danh sách tệp khớp bản kê khai",
                         "Mã băm SHA-256 và kích thước", "Lược đồ bản kê khai và dữ liệu"]
    assert all(ok for _, ok, _ in rows) and "Thứ tự trong chuỗi gói tin" in names
    assert db_dump(o.province.admin) == before and path.exists()
    exchange.scan_inbox(o.province.admin)
    rows = exchange.verify_file(o.province.admin, o.folders(o.province)["processed"] / res.item.filename)
    assert "đã nhận trước đó" in rows[-2][2]
    # the unit cannot read its own outgoing bundle (it is encrypted to the province)
    rows = exchange.verify_file(o.unit.admin, exchange.outbox_dir(o.unit.admin, "VKS-THA") / res.item.filename)
    assert rows[-1][1] is False and "not_for_us" in rows[-1][2]


# ------------------------------------------------------------------ CLI
def _cli(args, stdin=ADMIN_PW + "\n", capsys=None, monkeypatch=None):
    from desktop import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_exchange_commands(two_offices, tmp_path, capsys, monkeypatch):
    o = two_offices
    prov, unit = o.province, o.unit
    approved_report(unit, {_ratio_codes(unit, 1)[0]: {"numerator": 1, "denominator": 2}})
    fp_unit = keystore.own_key_info(unit.admin).fingerprint
    o.close()
    U = ["--data-dir", str(unit.data_dir)]
    P = ["--data-dir", str(prov.data_dir)]
    login = ["--user", "admin", "--password-stdin"]
    code, out, err = _cli(U + ["keys", "show"] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and fp_unit in out and "VKS-THA" in out and "Đã xác nhận" in out
    code, out, err = _cli(U + ["export", "--plan", PLAN, "--period", PERIOD, "--no-pdf"] + login,
                          capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0, err
    assert "VKS-KV1-THA_report_2025-Q1_000001_" in out
    name = next(o.inbox(prov).glob("*.cdsb")).name
    code, out, err = _cli(P + ["verify", str(o.inbox(prov) / name)] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and out.count("[ĐẠT]") >= 9 and "[LỖI]" not in out
    code, out, err = _cli(P + ["import"] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and "Đã nhận" in out and name in out
    code, out, err = _cli(P + ["outbox", "list"] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and "receipt" in out
    code, out, err = _cli(P + ["outbox", "retry"] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    # a tampered file: verify says which check failed, import quarantines it, exit code 1
    bad = tmp_path / name
    data = bytearray((o.folders(prov)["processed"] / name).read_bytes())
    data[len(data) // 2] ^= 1  # in the payload (a flip in the header is refused by the pre-parse)
    bad.write_bytes(bytes(data))
    code, out, err = _cli(P + ["verify", str(bad)] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1 and "[LỖI] Giải mã (age)" in out and "decrypt_failed" in out
    code, out, err = _cli(P + ["import", str(bad)] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 1 and "decrypt_failed" in out
    # enrolment: a rotated key, a new request, accepted at the province after the fingerprint
    code, out, err = _cli(U + ["keys", "rotate"] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    code, out, err = _cli(U + ["enrol", "request", "--out", str(tmp_path)] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    req = next(tmp_path.glob("*enrolment-request*.cdse"))
    assert (tmp_path / (req.stem + ".pdf")).read_bytes().startswith(b"%PDF-")
    new_fp = [ln for ln in out.splitlines() if "Vân tay" in ln][0].split(":", 1)[1].strip()
    code, out, err = _cli(P + ["enrol", "accept", str(req)] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and "chờ đối chiếu" in out.lower() and new_fp in out
    wrong = "00000 00000 00000 00000"
    code, out, err = _cli(P + ["enrol", "accept", str(req), "--fingerprint", wrong] + login, capsys=capsys,
                          monkeypatch=monkeypatch)
    assert code == 1 and "không khớp" in err
    code, out, err = _cli(P + ["enrol", "accept", str(req), "--fingerprint", new_fp] + login, capsys=capsys,
                          monkeypatch=monkeypatch)
    assert code == 0 and "Đã xác nhận" in out
    code, out, err = _cli(P + ["enrol", "package", "--out", str(tmp_path), "--plan", PLAN] + login, capsys=capsys,
                          monkeypatch=monkeypatch)
    assert code == 0
    pkg = next(tmp_path.glob("*enrolment-package*.cdse"))
    code, out, err = _cli(U + ["enrol", "import", str(pkg)] + login, capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and "Đã xác nhận" in out  # the province key was already confirmed


def test_selftest_signs_and_verifies_a_bundle(capsys):
    from desktop.selftest import run_selftest

    assert run_selftest() == 0
    assert "[ĐẠT] Ký và xác minh gói tin" in capsys.readouterr().out
