"""The encrypted store, key slots, accounts, roles, backups and damage handling (no Qt)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
import sqlcipher3

from desktop.models.services import accounts, settings
from desktop.models.storage import audit
from desktop.models.storage.db import (Database, DatabaseError, check_key_opens, current_revision, head_revision,
                                       upgrade)
from desktop.models.domain.errors import (LoginFailed, RollbackDetected, LoginThrottled, PermissionDenied, ValidationError,
                                   VaultDamaged)
from desktop.models.storage.keyslots import SlotError, SlotFile, normalize_recovery_code
from desktop.models.storage.vault import Role, Throttle, Vault

from conftest import ADMIN_PW, APPROVER_PW, ENTRY_PW, FAST_KDF, UNIT


def all_bytes(folder) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_marker_never_on_disk(created, data_dir):
    vault, session, _ = created
    marker = "ĐÁNH-DẤU-BÍ-MẬT-7f3a91"
    accounts.add_user(session, "user_" + "7f3a91", marker, Role.DATA_ENTRY, "mat-khau-du-dai-1")
    settings.set_value(session, "share_folder", "\\\\may-chu\\" + marker)
    vault.backup_now(session)
    # while unlocked (WAL and shm present) and after lock
    for stage in ("open", "locked"):
        files = all_bytes(data_dir)
        assert any(p.name.endswith(".db") for p in files)
        for p, data in files.items():
            for needle in (marker.encode("utf-8"), marker.encode("utf-16-le"), b"7f3a91", b"nhaplieu", b"lanhdao"):
                assert needle not in data, f"{needle!r} in plain text in {p} ({stage})"
        session.lock()


def test_database_is_sqlcipher_and_wrong_key_fails(created, data_dir):
    vault, session, _ = created
    session.lock()
    header = (data_dir / "vks-cds.db").read_bytes()[:16]
    assert header != b"SQLite format 3\x00"
    with pytest.raises(Exception):
        check_key_opens(data_dir / "vks-cds.db", bytes(32))
    plain = sqlcipher3.connect(str(data_dir / "vks-cds.db"))
    with pytest.raises(sqlcipher3.DatabaseError):
        plain.execute("SELECT * FROM sqlite_master").fetchall()
    plain.close()


def test_pragmas_are_crash_safe(admin_session):
    with admin_session.db.connection() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_slot_wrap_unwrap_and_binding(tmp_path):
    slots = SlotFile.new(tmp_path / "k.json")
    master = bytearray(range(32))
    sid = slots.user_slot_id("Admin")
    slots.put(sid, "user", "mật khẩu dài lắm", master, FAST_KDF)
    assert slots.open(sid, "mật khẩu dài lắm") == master
    # NFD input opens the slot made with NFC
    import unicodedata
    assert slots.open(sid, unicodedata.normalize("NFD", "mật khẩu dài lắm")) == master
    with pytest.raises(SlotError):
        slots.open(sid, "sai")
    # a slot moved to another id (another user) does not open: the id is in the AEAD data
    other = slots.user_slot_id("khac")
    moved = slots.find(sid)
    slots.slots.append(type(moved)(other, moved.kind, moved.kdf, moved.nonce, moved.ciphertext))
    with pytest.raises(SlotError):
        slots.open(other, "mật khẩu dài lắm")
    # salts differ per slot and the file holds no user name
    slots.save()
    text = (tmp_path / "k.json").read_text()
    assert "Admin" not in text and "admin" not in text
    assert SlotFile.load(tmp_path / "k.json").open(sid, "mật khẩu dài lắm") == master


def test_kdf_parameters_meet_the_floor():
    from desktop.models.storage.keyslots import MIN_MEMORY_KIB, tune_kdf

    params = tune_kdf(target_seconds=0.05)
    assert params.memory_kib >= MIN_MEMORY_KIB == 64 * 1024
    assert params.time_cost >= 1 and len(params.salt) == 16


def test_wrong_password_message_and_db_untouched(created, data_dir):
    vault, session, _ = created
    session.lock()
    before = sha(data_dir / "vks-cds.db")
    mtime = (data_dir / "vks-cds.db").stat().st_mtime_ns
    for user in ("admin", "khong-ton-tai"):
        with pytest.raises(LoginFailed) as info:
            vault.unlock(user, "mat-khau-sai-hoan-toan")
        assert info.value.message == "Sai tên đăng nhập hoặc mật khẩu"
    assert sha(data_dir / "vks-cds.db") == before
    assert (data_dir / "vks-cds.db").stat().st_mtime_ns == mtime
    assert not (data_dir / "vks-cds.db-wal").exists()


def test_failed_logins_grow_delay_and_are_audited(created, data_dir):
    vault, session, _ = created
    session.lock()
    now = [1_000_000.0]
    v = Vault(data_dir, clock=lambda: now[0])
    before = sha(data_dir / "vks-cds.db")
    delays = []
    for _ in range(20):
        remaining = v.throttle.wait_remaining(v._load_slots().user_slot_id("admin"))
        now[0] += remaining + 0.01
        with pytest.raises(LoginFailed) as info:
            v.unlock("admin", "sai-mat-khau-nua-roi")
        delays.append(info.value.details["wait"])
    assert sha(data_dir / "vks-cds.db") == before
    assert delays == sorted(delays) and delays[-1] > delays[2] > 0
    assert delays[-1] == 300
    # an attempt inside the delay is refused without even trying the password
    with pytest.raises(LoginThrottled):
        v.unlock("admin", ADMIN_PW)
    now[0] += 301
    s = v.unlock("admin", ADMIN_PW)
    entries = audit.list_entries(s, 10)
    assert entries[0].action == "login"
    assert entries[1].action == "login.failed" and entries[1].detail == {"count": 20}
    s.lock()
    assert Throttle.delay_for(1) == 0 and Throttle.delay_for(3) == 4


def test_recovery_code_opens_and_resets_password(created):
    vault, session, code = created
    session.lock()
    with pytest.raises(LoginFailed):
        vault.unlock_with_recovery("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    rec = vault.unlock_with_recovery(code.lower().replace("-", " "))
    assert rec.user.via_recovery and rec.user.role == Role.ADMIN
    admin = [u for u in accounts.list_users(rec) if u.username == "admin"][0]
    accounts.reset_password(rec, admin.id, "mat-khau-moi-sau-khoi-phuc")
    rec.lock()
    with pytest.raises(LoginFailed):
        vault.unlock("admin", ADMIN_PW)
    vault.unlock("admin", "mat-khau-moi-sau-khoi-phuc").lock()
    assert normalize_recovery_code("abcde fghjk") == "ABCDE-FGHJK"


def test_password_change_rewraps_one_slot_only(created, data_dir):
    vault, session, _ = created
    salt_before = (data_dir / "vks-cds.db").read_bytes()[:16]
    slots_before = json.loads((data_dir / "keyslots.json").read_text())["slots"]
    with pytest.raises(LoginFailed):
        accounts.change_own_password(session, "khong-dung-mat-khau", "mat-khau-moi-123")
    accounts.change_own_password(session, ADMIN_PW, "mat-khau-moi-cua-quan-tri")
    session.lock()
    slots_after = json.loads((data_dir / "keyslots.json").read_text())["slots"]
    changed = [a["id"] for a, b in zip(sorted(slots_before, key=lambda s: s["id"]),
                                       sorted(slots_after, key=lambda s: s["id"])) if a != b]
    assert len(changed) == 1
    # the DB was not re-encrypted: SQLCipher's per-file salt (first 16 bytes) is unchanged
    assert (data_dir / "vks-cds.db").read_bytes()[:16] == salt_before
    vault.unlock("admin", "mat-khau-moi-cua-quan-tri").lock()
    with pytest.raises(LoginFailed):
        vault.unlock("admin", ADMIN_PW)
    vault.unlock("nhaplieu", ENTRY_PW).lock()


@pytest.mark.parametrize("password,reason", [
    ("ngan-qua", "ít nhất 10"),
    ("abcnhaplieu2xyz", "tên đăng nhập"),
])
def test_password_policy(admin_session, password, reason):
    with pytest.raises(ValidationError) as info:
        accounts.add_user(admin_session, "nhaplieu2", "", Role.DATA_ENTRY, password)
    assert reason in info.value.message
    assert "nhaplieu2" not in [u.username for u in accounts.list_users(admin_session)]


def test_roles_enforced_in_services(created):
    vault, session, _ = created
    session.lock()
    for username, pw in (("nhaplieu", ENTRY_PW), ("lanhdao", APPROVER_PW)):
        s = vault.unlock(username, pw)
        users_before = accounts.list_users(s)
        with pytest.raises(PermissionDenied):
            accounts.add_user(s, "moi_them", "", Role.ADMIN, "mat-khau-du-dai-9")
        with pytest.raises(PermissionDenied):
            accounts.reset_password(s, users_before[0].id, "mat-khau-du-dai-9")
        with pytest.raises(PermissionDenied):
            settings.set_value(s, "auto_lock_minutes", 99)
        assert accounts.list_users(s) == users_before
        assert settings.get(s, "auto_lock_minutes") == 10
        s.lock()
    s = vault.unlock("nhaplieu", ENTRY_PW)
    with pytest.raises(PermissionDenied):
        audit.verify(s)
    s.lock()


def test_last_admin_cannot_be_removed(admin_session):
    me = [u for u in accounts.list_users(admin_session) if u.username == "admin"][0]
    with pytest.raises(ValidationError):
        accounts.set_role(admin_session, me.id, Role.DATA_ENTRY)
    with pytest.raises(ValidationError):
        accounts.set_active(admin_session, me.id, False)


def test_deactivated_user_slot_removed(created):
    vault, session, _ = created
    entry = [u for u in accounts.list_users(session) if u.username == "nhaplieu"][0]
    accounts.set_active(session, entry.id, False)
    session.lock()
    with pytest.raises(LoginFailed):
        vault.unlock("nhaplieu", ENTRY_PW)


def test_lock_closes_connections_and_wipes_key(admin_session, data_dir):
    key_ref = admin_session.master_key()
    db = admin_session.db
    admin_session.lock()
    assert bytes(key_ref) == bytes(32)
    assert db.engine is None and not admin_session.is_unlocked
    assert not (data_dir / "vks-cds.db-wal").exists()  # last connection closed, WAL checkpointed
    with pytest.raises(Exception):
        accounts.list_users(admin_session)


def test_backup_restore_round_trip(created, data_dir):
    vault, session, _ = created
    accounts.add_user(session, "truoc_sao_luu", "Trước", Role.DATA_ENTRY, "mat-khau-du-dai-2")
    backup = vault.backup_now(session)
    assert backup.exists() and backup.with_suffix(".slots.json").exists()
    accounts.add_user(session, "sau_sao_luu", "Sau", Role.DATA_ENTRY, "mat-khau-du-dai-3")
    result = vault.restore(session, backup)
    assert not session.is_unlocked  # the user logs in again
    assert result.aside.exists()
    with pytest.raises(RollbackDetected) as info:  # an older database: the administrator decides
        vault.unlock("admin", ADMIN_PW)
    assert info.value.can_accept
    s = vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục bản sao lưu")
    assert [e for e in audit.list_entries(s, 20) if e.action == "rollback.accept"]
    names = {u.username for u in accounts.list_users(s)}
    assert "truoc_sao_luu" in names and "sau_sao_luu" not in names
    s.lock()


def test_backup_rotation_keeps_ten(created, data_dir, monkeypatch):
    vault, session, _ = created
    for i in range(13):
        vault._write_backup(session.db, reason="auto")
    assert len([b for b in vault.list_backups() if b.reason == "auto"]) == 10


def test_flipped_byte_detected_and_restore_offered(created, data_dir):
    vault, session, _ = created
    accounts.add_user(session, "giu_lai", "Giữ", Role.DATA_ENTRY, "mat-khau-du-dai-4")
    vault.backup_now(session)
    session.lock()
    db_path = data_dir / "vks-cds.db"
    raw = bytearray(db_path.read_bytes())
    raw[100] ^= 0x01  # inside page 1 (after the 16-byte salt), covered by the page HMAC
    db_path.write_bytes(bytes(raw))
    damaged_hash = sha(db_path)
    with pytest.raises(VaultDamaged) as info:
        vault.unlock("admin", ADMIN_PW)
    assert "bị hỏng" in info.value.message and str(db_path) in info.value.message
    handle = info.value.restore_handle
    assert handle.good_backups
    aside = handle.restore()
    handle.discard()
    assert sha(aside) == damaged_hash  # the damaged file is kept, never overwritten
    s = vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục sau khi tệp hỏng")
    assert "giu_lai" in {u.username for u in accounts.list_users(s)}
    assert vault.check(s.master_key()) == []
    s.lock()


def test_check_reports_damage_in_a_later_page(created, data_dir):
    vault, session, _ = created
    for i in range(30):
        accounts.add_user(session, f"nguoi_dung_{i:02d}", "Tên " * 50, Role.DATA_ENTRY, "mat-khau-du-dai-5")
    key = bytearray(session.master_key())
    session.lock()
    db_path = data_dir / "vks-cds.db"
    raw = bytearray(db_path.read_bytes())
    assert len(raw) > 4096 * 4
    raw[4096 * 3 + 500] ^= 0x40
    db_path.write_bytes(bytes(raw))
    problems = vault.check(key)
    assert problems and any("cipher" in p or "open" in p for p in problems)


def test_migration_from_older_schema_keeps_data(tmp_path):
    from desktop.models.storage.keyslots import generate_master_key
    from desktop.models.storage.schema import Setting

    path = tmp_path / "old.db"
    key = generate_master_key()
    db = Database(path, key)
    upgrade(db, "0001")
    assert current_revision(db) == "0001"
    with db.session() as s:
        s.add(Setting(key="giu", value='"dữ liệu cũ"'))
    upgrade(db)
    assert current_revision(db) == head_revision() != "0001"
    with db.session() as s:
        assert s.get(Setting, "giu").value == '"dữ liệu cũ"'
    db.close()


def test_a_closed_database_refuses_every_use(tmp_path):
    """After close() the key is wiped: every use is the typed "locked" error (the checks and the
    encrypted copy used to hand the wiped key to SQLCipher: a TypeError), and nothing is written."""
    from desktop.models.storage.keyslots import generate_master_key

    path = tmp_path / "store.db"
    db = Database(path, generate_master_key())
    upgrade(db)
    db.close()
    before = all_bytes(tmp_path)
    copy = tmp_path / "copy.db"
    uses = [db.integrity_problems, lambda: db.export_encrypted_copy(copy), lambda: current_revision(db),
            lambda: upgrade(db)]
    for use in uses:
        with pytest.raises(DatabaseError, match="locked"):
            use()
    for context in (db.session, db.connection):
        with pytest.raises(DatabaseError, match="locked"):
            with context():
                pass
    assert all_bytes(tmp_path) == before and not copy.exists()


def test_unlock_migrates_after_backup(created, data_dir):
    vault, session, _ = created
    # simulate an installation created by an older app version
    from sqlalchemy import text

    with session.db.connection() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num='0001'"))
        foundation = {"settings", "users", "units", "unit_former_names", "audit_log", "alembic_version"}
        later = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid"))
                 if r[0] not in foundation and not r[0].startswith("sqlite_")]
        for name in reversed(later):  # children before the tables they reference
            conn.execute(text(f'DROP TABLE "{name}"'))
    session.lock()
    s = vault.unlock("admin", ADMIN_PW)
    pre = [b for b in vault.list_backups() if b.reason.startswith("pre")]
    assert pre, "an encrypted backup is written before migrating"
    assert current_revision(s.db) == head_revision()
    assert "admin" in {u.username for u in accounts.list_users(s)}
    s.lock()


def test_audit_chain_detects_tampering(created):
    vault, session, _ = created
    from sqlalchemy import text

    assert audit.verify(session) == []
    with session.db.connection() as conn:
        conn.execute(text("UPDATE audit_log SET subject='sửa' WHERE id=2"))
    assert any("nội dung" in p for p in audit.verify(session))
    with session.db.connection() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id=2"))
    assert any("Thiếu" in p or "phá vỡ" in p for p in audit.verify(session))


def test_audit_chain_detects_truncation_and_reorder(created):
    vault, session, _ = created
    from sqlalchemy import text

    n = len(audit.list_entries(session))
    with session.db.connection() as conn:
        conn.execute(text(f"DELETE FROM audit_log WHERE id={n}"))
    assert audit.verify(session)
    with session.db.connection() as conn:
        conn.execute(text("UPDATE audit_log SET id=-1 WHERE id=1"))
        conn.execute(text("UPDATE audit_log SET id=1 WHERE id=2"))
        conn.execute(text("UPDATE audit_log SET id=2 WHERE id=-1"))
    assert audit.verify(session)


def test_create_refuses_existing_and_weak(vault, data_dir):
    with pytest.raises(ValidationError):
        vault.create(UNIT, "admin", "ngan", kdf=FAST_KDF)
    assert not (data_dir / "vks-cds.db").exists()
    s, _ = vault.create(UNIT, "admin", ADMIN_PW, kdf=FAST_KDF)
    s.lock()
    with pytest.raises(ValidationError):
        vault.create(UNIT, "admin", ADMIN_PW, kdf=FAST_KDF)


def test_unwritable_data_folder_is_explained(tmp_path):
    import os

    if os.geteuid() == 0:
        # root ignores permissions: use a path under a regular file instead
        blocker = tmp_path / "file"
        blocker.write_text("x")
        v = Vault(blocker / "data")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        v = Vault(ro / "data")
    from desktop.models.domain.errors import StorageError

    with pytest.raises(StorageError) as info:
        v.create(UNIT, "admin", ADMIN_PW, kdf=FAST_KDF)
    assert "Không ghi được" in info.value.message


def test_models_import_no_qt():
    code = ("import sys, importlib, pkgutil, desktop.models, desktop.export\n"
            "for pkg in (desktop.models, desktop.export):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if '.migrations' in m.name: continue\n"
            "        importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.startswith('PySide6')]\n"
            "print(bad)\n"
            "sys.exit(1 if bad else 0)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
