"""Issue 17: what a user with a valid password can and cannot do unseen.

Each test plays one attack of the issue as a data-entry clerk would (only the clerk's own
password and the data folder), with real SQLCipher files and real signatures, and asserts the
refusal or the detection AND that nothing else changed."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from conftest import ADMIN_PW, ENTRY_PW, FAST_KDF
from exchange_fixtures import office_templates, province_and_units, two_offices  # noqa: F401
from sqlalchemy import select

from desktop.models.services import accounts, insider, keystore, progress
from desktop.models.storage import anchors, audit
from desktop.models.storage.db import DatabaseError, check_key_opens, raw_connect
from desktop.models.domain.errors import LoginFailed, PermissionDenied, RollbackDetected, ValidationError
from desktop.models.storage.keyslots import SlotError, SlotFile, derive_subkey
from desktop.models.storage.schema import AuditRecord, SignedAct, User, UserCert
from desktop.models.storage.vault import Role


def _clerk_master(vault) -> bytearray:
    """What the clerk can do offline: open their own slot."""
    slots = SlotFile.load(vault.folder.slots_path)
    return slots.open(slots.user_slot_id("nhaplieu"), ENTRY_PW)


def _raw(vault, master, *sql):
    conn = raw_connect(vault.folder.db_path, master)
    try:
        for q in sql:
            conn.execute(q)
        conn.commit()
    finally:
        conn.close()


def _rows(session, model, *cols):
    with session.db.session() as s:
        return sorted(tuple(getattr(r, c) for c in cols) for r in s.scalars(select(model)))


def _identity(session):
    """The tables an attack must not change (users without login times, certificates, signed acts)."""
    return (_rows(session, User, "id", "username", "role", "active", "slot_id"),
            _rows(session, UserCert, "serial", "role", "state"),
            _rows(session, SignedAct, "id", "kind", "subject", "signature"))


def _actions(session):
    with session.db.session() as s:
        return [r.action for r in s.scalars(select(AuditRecord).order_by(AuditRecord.id))]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ 1. a slot for the admin's id
def test_slot_written_for_admin_id_with_clerks_password_gives_no_admin_power(created):
    vault, admin, _ = created
    before = _identity(admin)
    admin.lock()
    original = vault.folder.slots_path.read_bytes()
    master = _clerk_master(vault)
    forged = SlotFile.load(vault.folder.slots_path)
    forged.put(forged.user_slot_id("admin"), "user", ENTRY_PW, master, FAST_KDF)
    forged.bind_master(master)  # the strongest clerk also re-authenticates the file
    forged.save()

    s = vault.unlock("admin", ENTRY_PW)  # the forged slot opens the vault as "admin" ...
    assert s.user.role is Role.DATA_ENTRY and s.signer is None  # ... without the admin's power
    assert any("Khóa ký cá nhân" in w for w in s.warnings)
    with pytest.raises(PermissionDenied):
        accounts.add_user(s, "ke_gian", "Kẻ gian", Role.ADMIN, "mat-khau-ke-gian-1")
    with pytest.raises(PermissionDenied):
        accounts.set_role(s, 2, Role.ADMIN)
    assert "signing_key.mismatch" in _actions(s)
    assert _identity(s) == before
    s.lock()

    # putting the original slot file back afterwards is itself seen (an older slot file)
    vault.folder.slots_path.write_bytes(original)
    with pytest.raises(RollbackDetected):
        vault.unlock("nhaplieu", ENTRY_PW)
    ok = vault.unlock("admin", ADMIN_PW, accept_rollback="tệp khóa bị thay, đã kiểm tra")
    assert ok.user.role is Role.ADMIN and ok.signer is not None
    assert _identity(ok)[:2] == before[:2]
    ok.lock()


# ------------------------------------------------------------------ 2. own role raised in the DB
def test_clerk_raising_own_role_in_the_database_gets_no_power(created):
    vault, admin, _ = created
    before = _identity(admin)
    admin.lock()
    master = _clerk_master(vault)
    _raw(vault, master, "UPDATE users SET role='admin' WHERE username='nhaplieu'")

    s = vault.unlock("nhaplieu", ENTRY_PW)
    assert s.user.role is Role.DATA_ENTRY and s.signer is None
    assert s.warnings and "role.uncertified" in _actions(s)
    with pytest.raises(PermissionDenied):
        accounts.add_user(s, "ke_gian", "Kẻ gian", Role.ADMIN, "mat-khau-ke-gian-1")
    with pytest.raises(PermissionDenied):
        keystore.rotate_own_keys(s)
    users, certs, acts = _identity(s)
    assert certs == before[1] and acts == before[2]
    assert [u for u in users if u[1] != "nhaplieu"] == [u for u in before[0] if u[1] != "nhaplieu"]
    s.lock()

    # the same as approver: approving needs the approver's personal key
    _raw(vault, master, "UPDATE users SET role='approver' WHERE username='nhaplieu'")
    s = vault.unlock("nhaplieu", ENTRY_PW)
    assert s.user.role is Role.DATA_ENTRY
    s.lock()


# ------------------------------------------------------------------ 3. an accepted report changed
def _sent_and_accepted(o):
    from exchange_fixtures import PERIOD, PLAN, approved_report, report_targets

    from desktop.models.services import consolidation, exchange

    prov, unit = o.province, o.unit
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:2]
    approved_report(unit, {codes[0]: {"numerator": 30, "denominator": 40}, codes[1]: {"numerator": 5, "denominator": 5}})
    exchange.export_report(unit.approver, PLAN, PERIOD)
    outcomes = exchange.scan_inbox(prov.admin)
    assert [x.verdict for x in outcomes] == ["applied"], outcomes
    rid = outcomes[0].report_id
    consolidation.accept_report(prov.approver, rid, "Đạt")
    return rid, codes


def test_changed_numerator_of_an_accepted_report_is_detected_everywhere(two_offices):
    from exchange_fixtures import PERIOD, PLAN

    from desktop.models.services import consolidation, reporting

    o = two_offices
    prov = o.province
    rid, codes = _sent_and_accepted(o)
    assert progress.get_report(prov.admin, rid).integrity_problem == ""
    assert insider.verify_history(prov.admin).problems == ()
    before = _identity(prov.admin)

    _raw(prov.vault, prov.admin.master_key(),
         f"UPDATE progress_entries SET numerator=39 WHERE report_id={rid} AND target_code='{codes[0]}'")
    assert "khác với bản đã duyệt" in progress.get_report(prov.admin, rid).integrity_problem  # report page
    assert o.unit.code in consolidation.matrix(prov.admin, PLAN, PERIOD).integrity  # matrix
    assert o.unit.code in consolidation.matrix(prov.admin, PLAN, PERIOD).integrity  # opened again: still flagged
    with pytest.raises(ValidationError):
        reporting.unit_report_pdf(prov.admin, rid)  # print
    assert insider.verify_history(prov.admin).problems  # audit verify
    assert audit.verify(prov.admin) == []  # (the audit chain itself was not touched)

    # changing the frozen snapshot too (so entries and snapshot agree) breaks both signatures
    with prov.admin.db.session() as s:
        from desktop.models.storage.schema import Report

        snap = json.loads(s.get(Report, rid).approved_snapshot)
    snap["entries"][codes[0]]["numerator"] = "39"
    _raw(prov.vault, prov.admin.master_key(),
         "UPDATE reports SET approved_snapshot='" + json.dumps(snap, ensure_ascii=False, sort_keys=True) + f"' WHERE id={rid}")
    assert "bị sửa" in progress.get_report(prov.admin, rid).integrity_problem
    # the matrix keeps its verdicts while a report stays the same: the changed snapshot is checked again
    assert "bị sửa" in consolidation.matrix(prov.admin, PLAN, PERIOD).integrity[o.unit.code]
    assert _identity(prov.admin) == before


def test_report_marked_approved_in_the_database_cannot_be_sent(two_offices):
    from exchange_fixtures import PERIOD, PLAN, report_targets

    from desktop.models.services import exchange

    unit = two_offices.unit
    code = [c for c, m in report_targets(unit).items() if m == "ratio"][0]
    view = progress.open_report(unit.entry, PLAN, PERIOD)
    progress.record_progress(unit.entry, view.id, code, numerator=1, denominator=2)
    progress.submit_report(unit.entry, view.id)
    snap = json.dumps({"entries": {code: {"numerator": "1", "denominator": "2", "evidence": []}}, "narrative": {}})
    _raw(unit.vault, unit.admin.master_key(),
         f"UPDATE reports SET status='da_duyet', approved_snapshot='{snap}' WHERE id={view.id}")
    assert progress.get_report(unit.admin, view.id).integrity_problem
    outbox = exchange.list_outbox(unit.admin)
    with pytest.raises(ValidationError):
        exchange.export_report(unit.approver, PLAN, PERIOD)
    assert exchange.list_outbox(unit.admin) == outbox


# ------------------------------------------------------------------ 4. truncated audit, head fixed
def test_deleted_last_audit_records_with_fixed_head_are_detected(created):
    vault, admin, _ = created
    before = _identity(admin)
    admin.lock()
    master = _clerk_master(vault)
    conn = raw_connect(vault.folder.db_path, master)
    n = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    conn.execute(f"DELETE FROM audit_log WHERE id > {n - 3}")
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    conn.execute("UPDATE settings SET value=? WHERE key='audit_head'",
                 (json.dumps({"hash": last[1], "count": last[0], "last_id": last[0]}),))
    conn.commit()
    conn.close()

    with pytest.raises(RollbackDetected) as info:
        vault.unlock("nhaplieu", ENTRY_PW)
    assert not info.value.can_accept and any("cắt bớt" in p for p in info.value.problems)
    with pytest.raises(RollbackDetected) as info:
        vault.unlock("admin", ADMIN_PW)
    assert info.value.can_accept
    s = vault.unlock("admin", ADMIN_PW, accept_rollback="đã xem, báo cáo lãnh đạo")
    assert _identity(s)[:2] == before[:2]
    acts = _actions(s)
    assert "rollback.detected" in acts and acts[-3:].count("rollback.accept") == 1
    s.lock()


# ------------------------------------------------------------------ 5. an old record rewritten, rehashed
def test_rewritten_and_rehashed_old_record_is_detected(created):
    vault, admin, _ = created
    assert audit.verify(admin) == []
    before = _identity(admin)
    master = bytearray(admin.master_key())
    # the clerk, with the master key, rewrites record 2 and re-links the whole keyed chain
    conn = raw_connect(vault.folder.db_path, master)
    ikey = bytes.fromhex(json.loads(conn.execute("SELECT value FROM settings WHERE key='integrity_key'").fetchone()[0])["key"])
    key = derive_subkey(ikey, b"audit-chain")
    rows = conn.execute("SELECT id, ts, user_id, action, subject, detail FROM audit_log ORDER BY id").fetchall()
    prev = "0" * 64
    for rid, ts, uid, action, subject, detail in rows:
        if rid == 2:
            subject = "đã sửa"
        h = audit.record_mac(key, prev, rid, ts, uid, action, subject, detail)
        conn.execute("UPDATE audit_log SET subject=?, prev_hash=?, hash=? WHERE id=?", (subject, prev, h, rid))
        prev = h
    conn.execute("UPDATE settings SET value=? WHERE key='audit_head'",
                 (json.dumps({"hash": prev, "count": len(rows), "last_id": rows[-1][0]}),))
    conn.commit()
    conn.close()
    with admin.db.session() as s:
        assert audit.verify_chain(s) == []  # the chain alone cannot tell ...
    problems = audit.verify(admin)  # ... the head seen outside the database can
    assert any("viết lại" in p for p in problems)
    assert _identity(admin) == before
    admin.lock()
    with pytest.raises(RollbackDetected):
        vault.unlock("nhaplieu", ENTRY_PW)


# ------------------------------------------------------------------ 6/7. older database copied over
def test_older_database_copied_over_is_refused_for_a_clerk(created):
    vault, admin, _ = created
    backup = vault.backup_now(admin)
    accounts.add_user(admin, "sau_sao_luu", "Sau", Role.DATA_ENTRY, "mat-khau-du-dai-3")
    admin.lock()
    live_slots = vault.folder.slots_path.read_bytes()
    shutil.copyfile(backup, vault.folder.db_path)  # the clerk's "restore"
    for side in ("-wal", "-shm"):
        p = vault.folder.root / ("vks-cds.db" + side)
        if p.exists():
            p.unlink()
    with pytest.raises(RollbackDetected) as info:
        vault.unlock("nhaplieu", ENTRY_PW)
    assert not info.value.can_accept
    assert any("cũ hơn" in p for p in info.value.problems)
    assert vault.folder.slots_path.read_bytes() == live_slots  # nothing written but the refusal record
    s = vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục có chủ đích")
    with s.db.session() as db:
        accepted = db.scalars(select(SignedAct).where(SignedAct.kind == "admin.rollback.accept")).all()
        assert len(accepted) == 1 and insider.act_problem(db, accepted[0], "admin") == ""
    s.lock()
    assert vault.unlock("nhaplieu", ENTRY_PW).user.username == "nhaplieu"  # clean from now on


def test_restore_function_called_by_a_clerk_is_caught_at_the_next_unlock(created):
    vault, admin, _ = created
    backup = vault.backup_now(admin)
    accounts.add_user(admin, "sau_sao_luu", "Sau", Role.DATA_ENTRY, "mat-khau-du-dai-3")
    admin.lock()
    # the clerk's own script does what restore does, without the service's admin check
    vault._replace_database(backup)
    assert vault_rollback(vault)
    with pytest.raises(RollbackDetected) as info:
        vault.unlock("nhaplieu", ENTRY_PW)
    assert not info.value.can_accept


def vault_rollback(vault):
    from desktop.models.storage.vault import rollback_problems

    return rollback_problems(vault.folder, _clerk_master(vault))


# ------------------------------------------------------------------ 8. older keyslots.json after a reset
def test_older_slot_file_after_a_password_reset_is_refused(created):
    vault, admin, _ = created
    old_slots = vault.folder.slots_path.read_bytes()
    clerk = [u for u in accounts.list_users(admin) if u.username == "nhaplieu"][0]
    accounts.reset_password(admin, clerk.id, "mat-khau-moi-cua-nhap-lieu")
    admin.lock()
    new_slots = vault.folder.slots_path.read_bytes()
    db_before = _sha(vault.folder.db_path)
    vault.folder.slots_path.write_bytes(old_slots)
    with pytest.raises(RollbackDetected) as info:
        vault.unlock("nhaplieu", ENTRY_PW)  # the old password, through the old slot file
    assert any("keyslots.json cũ hơn" in p for p in info.value.problems)
    assert vault.folder.slots_path.read_bytes() == old_slots
    vault.folder.slots_path.write_bytes(new_slots)
    with pytest.raises(LoginFailed):
        vault.unlock("nhaplieu", ENTRY_PW)
    assert vault.unlock("nhaplieu", "mat-khau-moi-cua-nhap-lieu").user.username == "nhaplieu"
    assert db_before  # (the database file changes only by the refusal and login records)


# ------------------------------------------------------------------ 9. deactivated account, backups
def test_deactivated_accounts_old_password_opens_nothing_not_even_backups(created):
    vault, admin, _ = created
    vault.backup_now(admin)
    kept_copy = vault.folder.slots_path.read_bytes()  # the clerk keeps a copy of today's slot file
    old_master = bytearray(admin.master_key())
    clerk = [u for u in accounts.list_users(admin) if u.username == "nhaplieu"][0]
    result = accounts.set_active(admin, clerk.id, False)
    assert result is not None and result.backups_resealed >= 1
    assert bytes(admin.master_key()) != bytes(old_master)
    assert audit.verify(admin) == []
    admin.lock()

    with pytest.raises(LoginFailed):
        vault.unlock("nhaplieu", ENTRY_PW)
    for copy in vault.folder.backups.glob("*.slots.json"):
        slots = SlotFile.load(copy)
        with pytest.raises(SlotError):
            slots.open(slots.user_slot_id("nhaplieu"), ENTRY_PW)
    stale = vault.folder.root / "kept.json"
    stale.write_bytes(kept_copy)
    old = SlotFile.load(stale)
    master = old.open(old.user_slot_id("nhaplieu"), ENTRY_PW)  # the old copy still opens the OLD key ...
    for db_file in [vault.folder.db_path, *vault.folder.backups.glob("vks-cds-*.db")]:
        with pytest.raises(DatabaseError):
            check_key_opens(db_file, master)  # ... which opens no database any more
    s = vault.unlock("admin", ADMIN_PW)
    assert "vault.rekey" in _actions(s)
    assert {u.username for u in accounts.list_users(s)} >= {"admin", "nhaplieu", "lanhdao"}
    s.lock()
    assert vault.unlock("lanhdao", "lanh-dao-2025!").user.role is Role.APPROVER  # others unaffected


def test_leaked_password_reset_rekeys(created):
    vault, admin, _ = created
    old = bytes(admin.master_key())
    clerk = [u for u in accounts.list_users(admin) if u.username == "nhaplieu"][0]
    res = accounts.reset_password(admin, clerk.id, "mat-khau-moi-sau-khi-lo", leaked=True)
    assert res is not None and bytes(admin.master_key()) != old
    admin.lock()
    assert vault.unlock("nhaplieu", "mat-khau-moi-sau-khi-lo").user.role is Role.DATA_ENTRY


# ------------------------------------------------------------------ 10. keys for a view-only session
def test_unit_private_keys_are_not_handed_to_a_session_without_exchange(created):
    vault, admin, _ = created
    before = _identity(admin)
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    with pytest.raises(PermissionDenied):
        keystore.active_keys(entry)
    with pytest.raises(PermissionDenied):
        keystore.decryption_keys(entry)
    assert entry.signer is None  # no personal key unlocked for a non-approver either
    assert _identity(entry) == before
    entry.lock()


# ------------------------------------------------------------------ accounts.py: no master key left over
def test_password_change_wipes_the_key_it_opened_to_check(created, monkeypatch):
    vault, admin, _ = created
    entry = vault.unlock("nhaplieu", ENTRY_PW)
    handed = []
    real = SlotFile.open_keyed

    def spy(self, slot_id, secret):
        out = real(self, slot_id, secret)
        handed.extend(b for b in out if b is not None)
        return out

    monkeypatch.setattr(SlotFile, "open_keyed", spy)
    accounts.change_own_password(entry, ENTRY_PW, "mat-khau-moi-nhap-lieu-2")
    assert handed and all(not any(b) for b in handed)  # every buffer zeroed
    entry.lock()


# ------------------------------------------------------------------ approvals are signatures
def test_approval_is_signed_and_the_province_checks_it(two_offices):

    o = two_offices
    rid, _ = _sent_and_accepted(o)
    with o.unit.admin.db.session() as s:
        act = s.scalars(select(SignedAct).where(SignedAct.kind == "report.approve")).one()
        cert = s.get(UserCert, act.cert_serial)
        assert cert.username == "lanhdao" and cert.role == "approver"
        assert insider.act_problem(s, act, "approver") == ""
    with o.province.admin.db.session() as s:  # the province holds the approval and the chain
        kinds = sorted(a.kind for a in s.scalars(select(SignedAct)))
        assert "report.approve" in kinds and "report.accept" in kinds
        assert insider.genesis_serial(s, o.unit.code) is not None
        heads = s.scalars(select(insider.HistoryHead)).all()
        assert heads and heads[0].unit_code == o.unit.code


def test_windows_anchor_store_uses_dpapi_functions(tmp_path):
    calls = []

    def protect(b):
        calls.append("p")
        return b"DPAPI" + bytes(reversed(b))

    def unprotect(b):
        calls.append("u")
        assert b.startswith(b"DPAPI")
        return bytes(reversed(b[5:]))

    store = anchors.DpapiAnchorStore(tmp_path, protect, unprotect)
    key = bytearray(32)
    anchors.write_anchor(store, "vault-1", key, 7, 12, "ab" * 32)
    assert b"generation" not in store.path("vault-1").read_bytes()  # stored protected
    a = anchors.read_anchor(store, "vault-1", key)
    assert a.authentic and a.generation == 7 and a.audit_count == 12 and calls == ["p", "u"]
    assert not anchors.read_anchor(store, "vault-1", bytearray(b"\1" * 32)).authentic


# ------------------------------------------------------------------ the province's side
def test_report_bundle_without_the_unit_heads_signature_is_refused(two_offices):
    from exchange_fixtures import PERIOD, PLAN
    from test_exchange_attacks import assert_refused, report_doc

    from desktop.export.bundle import write_bundle
    from desktop.models.services import exchange

    o = two_offices
    keys = keystore.active_keys(o.unit.admin)  # the clerk can read the unit key from the database ...
    with o.province.admin.db.session() as s:
        last_seq, last_sha = exchange._stream_state(s, o.unit.code, o.province.code)
    write_bundle(o.inbox(o.province), sender=keys, recipient=keystore.active_keys(o.province.admin).public(),
                 kind="report", period=PERIOD, seq=(last_seq or 0) + 1, prev_sha256=last_sha,
                 data={"report": report_doc(o.unit.code)}, plan_id=PLAN, plan_version=1)
    assert_refused(o, o.province, "approval_invalid")  # ... but not sign as the unit head


def test_truncated_history_at_the_unit_is_reported_at_the_next_exchange(two_offices):
    from exchange_fixtures import PERIOD, PLAN, approved_report, report_targets

    from desktop.models.services import exchange

    o = two_offices
    unit, prov = o.unit, o.province
    codes = [c for c, m in report_targets(unit).items() if m == "ratio"][:1]
    approved_report(unit, {codes[0]: {"numerator": 1, "denominator": 2}})
    exchange.export_report(unit.approver, PLAN, PERIOD)
    assert [x.verdict for x in exchange.scan_inbox(prov.admin)] == ["applied"]

    # at the unit, the insider cuts the history back and silences their own anchor
    master = unit.admin.master_key()
    conn = raw_connect(unit.vault.folder.db_path, master)
    n = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
    cut = n - 10
    conn.execute(f"DELETE FROM audit_log WHERE id > {cut}")
    last = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    conn.execute("UPDATE settings SET value=? WHERE key='audit_head'",
                 (json.dumps({"hash": last[1], "count": last[0], "last_id": last[0]}),))
    conn.commit()
    conn.close()
    for f in anchors.default_anchor_folder().glob("*"):
        f.unlink()
    # the province returns the report, the unit revises and sends again
    with prov.admin.db.session() as s:
        from desktop.models.storage.schema import Report

        rid = s.scalars(select(Report).where(Report.unit_code == unit.code)).one().id
    exchange.return_report(prov.approver, rid, "Bổ sung số liệu", {})
    exchange.scan_inbox(unit.admin)
    approved_report(unit, {codes[0]: {"numerator": 2, "denominator": 2}})
    exchange.export_report(unit.approver, PLAN, PERIOD)
    out = exchange.scan_inbox(prov.admin)
    assert [x.verdict for x in out] == ["applied"]
    assert "cắt bớt" in out[0].warning or "viết lại" in out[0].warning
    with prov.admin.db.session() as s:
        assert s.scalars(select(AuditRecord).where(AuditRecord.action == "history.problem")).first() is not None


# ------------------------------------------------------------------ the login window
def test_login_window_refuses_a_clerk_and_asks_the_admin_on_rollback(qtbot, created, monkeypatch):
    from PySide6.QtCore import Qt

    from desktop.ui.app import AppController

    vault, admin, _ = created
    backup = vault.backup_now(admin)
    admin.lock()
    shutil.copyfile(backup, vault.folder.db_path)
    ctl = AppController(vault)
    ctl.start()
    qtbot.addWidget(ctl.login)
    asked = []
    monkeypatch.setattr(ctl.login, "ask_rollback_note", lambda exc: asked.append(exc.problems) or "khôi phục có chủ đích")

    def login(user, pw):
        ctl.login.username.clear()
        qtbot.keyClicks(ctl.login.username, user)
        qtbot.keyClicks(ctl.login.password, pw)
        qtbot.keyClick(ctl.login.password, Qt.Key.Key_Return)

    login("nhaplieu", ENTRY_PW)
    assert ctl.session is None and "cũ hơn" in ctl.login.error.text() and not asked
    ctl.login.resize(ctl.login.sizeHint().expandedTo(ctl.login.size()))
    qtbot.wait(50)
    ctl.login.grab().save(str(vault.folder.root.parent / "login-rollback.png"))
    login("admin", ADMIN_PW)
    assert asked and ctl.session is not None and ctl.session.user.role is Role.ADMIN
    assert "rollback.accept" in _actions(ctl.session)
    ctl.lock()
    ctl.login.close()


def test_unit_key_rotation_recertifies_every_active_certificate(created):
    vault, admin, _ = created
    new = keystore.rotate_own_keys(admin, revoke_previous=True)
    with admin.db.session() as s:
        certs = s.scalars(select(UserCert).where(UserCert.state == "active")).all()
        assert certs and all(c.unit_key_id == new.key_id for c in certs)
        assert all(insider.cert_problem(s, c.serial) == "" for c in certs)
        rotate = s.scalars(select(SignedAct).where(SignedAct.kind == "admin.key.rotate")).one()
        assert insider.act_problem(s, rotate, "admin") == ""
    admin.lock()
    assert vault.unlock("lanhdao", "lanh-dao-2025!").signer is not None
