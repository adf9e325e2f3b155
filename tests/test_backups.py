"""Whole-unit backups (issue 21) and restore as an admin-only, audited, checked operation (issue 17.4).

Real SQLCipher files, real encrypted evidence blobs, the real CLI as a process.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.models.services import accounts, plans, progress, settings
from desktop.models.storage import audit
from desktop.models.storage import backups as bk
from desktop.models.domain.errors import AppError, DamagedDatabase, PermissionDenied, VaultDamaged
from desktop.models.storage.vault import EvidenceMissing, Role, Vault

from conftest import ADMIN_PW, ENTRY_PW

PLAN, PERIOD = "thanhhoa-cds-2025", "2025-03"


def sha(p: Path) -> str:
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    """Every file under root with its hash (the 'nothing else changed' snapshot)."""
    return {str(p.relative_to(root)): sha(p) for p in sorted(Path(root).rglob("*")) if p.is_file()
            and p.name not in (".lock", "throttle.json") and not p.name.startswith("vks-cds.log")}


@pytest.fixture
def unit(created, tmp_path):
    """A unit with a report and three evidence files attached by the data-entry clerk."""
    vault, admin, _ = created
    plans.install_builtin_plans(admin)
    admin.lock()
    s = vault.unlock("nhaplieu", ENTRY_PW)
    report = progress.open_report(s, PLAN, PERIOD)
    targets = [t.code for t in progress.report_targets(s, report)]
    files = []
    for i in range(3):
        f = tmp_path / f"minh-chung-{i}.pdf"
        f.write_bytes(b"%PDF-1.4\n" + os.urandom(300_000 + i))
        progress.attach_evidence(s, report.id, targets[i], f)
        files.append(f)
    s.lock()
    return vault, report.id, targets, files


def attach(vault, report_id, target, path) -> None:
    s = vault.unlock("nhaplieu", ENTRY_PW)
    try:
        progress.attach_evidence(s, report_id, target, path)
    finally:
        s.lock()


def test_backup_holds_database_slots_and_every_blob_incrementally(unit, tmp_path):
    vault, report_id, targets, files = unit
    s = vault.unlock("admin", ADMIN_PW)
    seen = []
    r1 = vault.backup(s, progress=lambda d, t, p: seen.append((d, t, p)))
    assert r1.blobs_total == 3 and r1.bytes_copied > 900_000
    assert any(p == "blobs" for _d, _t, p in seen)
    man = json.loads(bk.manifest_path(r1.path).read_text())
    assert len(man["blobs"]) == 3 and man["db_sha256"] == sha(r1.path)
    for name in man["blobs"]:
        assert bk.blob_path(vault.folder.backups, name).read_bytes() == \
            (vault.folder.root / "evidence" / name[:2] / name).read_bytes()
    r2 = vault.backup(s)  # nothing new: only the database is copied
    assert r2.blobs_total == 3 and r2.blobs_copied == 0 and r2.bytes_copied == 0
    s.lock()
    new = tmp_path / "moi.pdf"
    new.write_bytes(b"%PDF-1.4\n" + os.urandom(50_000))
    attach(vault, report_id, targets[3], new)
    s = vault.unlock("admin", ADMIN_PW)
    r3 = vault.backup(s)
    s.lock()
    assert r3.blobs_total == 4 and r3.blobs_copied == 1 and 50_000 < r3.bytes_copied < 60_000
    assert all(b.complete for b in vault.list_backups() if b.reason == "manual")


def test_second_place_and_restore_on_a_new_pc(unit, tmp_path):
    vault, report_id, targets, files = unit
    share = tmp_path / "o-dia-khac"
    s = vault.unlock("admin", ADMIN_PW)
    settings.set_value(s, "backup_second_folder", str(share))
    result = vault.backup(s)
    s.lock()
    place = share / "VKS-CDS VKS-KV1-THA"
    assert result.places == [vault.folder.backups, place] and not result.second_place_error
    copy = [b for b in vault.list_backups(place) if b.reason == "manual"][0]
    # the PC is lost: a fresh data folder, only the second place survives
    new_pc = Vault(tmp_path / "may-moi")
    handle = new_pc.handle_from_backup(copy.path, ADMIN_PW, "admin")
    restored = handle.restore_full(handle.good_backups[0])
    handle.discard()
    assert restored.blobs_checked == 3 and restored.blobs_copied == 3 and not restored.missing
    # the anchors of this OS account saw a newer generation of this vault: the administrator accepts (issue 17)
    new_pc.unlock("admin", ADMIN_PW, accept_rollback="khôi phục bản sao lưu").lock()
    s = new_pc.unlock("nhaplieu", ENTRY_PW)
    report = progress.get_report(s, report_id)
    for i, f in enumerate(files):
        ev = report.entries[targets[i]].evidence[0]
        assert progress.evidence_bytes(s, ev.sha256) == f.read_bytes()
    s.lock()


def test_second_place_failure_is_reported_and_local_backup_stands(unit, tmp_path):
    vault, *_ = unit
    blocker = tmp_path / "khong-phai-thu-muc"
    blocker.write_text("x")
    s = vault.unlock("admin", ADMIN_PW)
    settings.set_value(s, "backup_second_folder", str(blocker))
    result = vault.backup(s)
    s.lock()
    assert result.path.exists() and result.places == [vault.folder.backups]
    assert "Không ghi được bản sao lưu" in result.second_place_error


def test_rotation_never_deletes_blobs_a_kept_backup_refers_to(unit, tmp_path):
    vault, report_id, targets, files = unit
    s = vault.unlock("admin", ADMIN_PW)
    settings.set_value(s, "backup_keep", 3)
    manual = vault.backup(s).path  # manual: never rotated
    s.lock()
    # evidence only in later automatic backups, then removed from the unit
    for i in range(5):
        f = tmp_path / f"tam-{i}.pdf"
        f.write_bytes(b"%PDF-1.4\n" + os.urandom(20_000))
        attach(vault, report_id, targets[5], f)
        s = vault.unlock("admin", ADMIN_PW)
        vault._write_backup(s.db, reason="auto")
        s.lock()
    kept = vault.list_backups()
    assert len([b for b in kept if b.reason == "auto"]) == 3
    needed = set()
    for b in kept:
        needed |= set(json.loads(bk.manifest_path(b.path).read_text())["blobs"])
    on_disk = {p.name for p in (vault.folder.backups / "blobs").glob("*/*")}
    assert needed <= on_disk
    assert on_disk == needed  # and nothing else is kept
    assert set(json.loads(bk.manifest_path(manual).read_text())["blobs"]) <= on_disk


def test_restore_checks_every_blob_and_names_what_is_missing(unit):
    vault, report_id, targets, files = unit
    s = vault.unlock("admin", ADMIN_PW)
    backup = vault.backup_now(s)
    man = json.loads(bk.manifest_path(backup).read_text())
    # one blob gone everywhere, another damaged everywhere
    gone, bad = man["blobs"][0], man["blobs"][1]
    for root in (vault.folder.backups / "blobs", vault.folder.root / "evidence"):
        (root / gone[:2] / gone).unlink()
        p = root / bad[:2] / bad
        raw = bytearray(p.read_bytes())
        raw[5000] ^= 0x01
        p.write_bytes(bytes(raw))
    before = tree(vault.folder.root)
    with pytest.raises(EvidenceMissing) as info:
        vault.restore(s, backup)
    assert s.is_unlocked and tree(vault.folder.root) == before  # refused: nothing changed
    missing = {m.problem: m for m in info.value.details["missing"]}
    assert set(missing) == {"missing", "damaged"}
    names = {f.name for f in files}
    for m in missing.values():
        assert m.filenames and set(m.filenames) <= names and m.used_in
        assert m.filenames[0] in info.value.message
    result = vault.restore(s, backup, allow_missing=True)
    assert len(result.missing) == 2 and not s.is_unlocked
    s = vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục bản sao lưu")
    last = audit.list_entries(s, 5)
    rec = [e for e in last if e.action == "restore"][0]
    assert rec.detail["backup"] == backup.name and len(rec.detail["evidence_missing"]) == 2
    s.lock()


def test_restore_requires_admin_and_is_audited(unit, tmp_path):
    vault, *_ = unit
    s = vault.unlock("admin", ADMIN_PW)
    backup = vault.backup_now(s)
    accounts.add_user(s, "sau_sao_luu", "Sau", Role.DATA_ENTRY, "mat-khau-du-dai-3")
    s.lock()
    clerk = vault.unlock("nhaplieu", ENTRY_PW)
    before = tree(vault.folder.root)
    with pytest.raises(PermissionDenied):
        vault.restore(clerk, backup)
    with pytest.raises(PermissionDenied):
        vault.prepare_restore(clerk, backup)
    assert clerk.is_unlocked and tree(vault.folder.root) == before
    clerk.lock()
    # the same through the CLI, as the attack did it
    before = tree(vault.folder.root)
    r = subprocess.run([sys.executable, "-m", "desktop", "--data-dir", str(vault.folder.root), "restore", str(backup),
                        "--user", "nhaplieu", "--password-stdin"], input=ENTRY_PW + "\n", capture_output=True,
                       text=True, timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 1 and "không có quyền" in r.stderr and "Traceback" not in r.stderr
    after = tree(vault.folder.root)
    # only the clerk's own login/lock records were appended (the database) and each login advances the
    # authenticated generation kept in the slot file (issue 17): nothing was restored
    kept = ("vks-cds.db", "keyslots.json")
    assert {k: v for k, v in after.items() if not k.startswith(kept)} == \
        {k: v for k, v in before.items() if not k.startswith(kept)}
    s = vault.unlock("admin", ADMIN_PW)
    assert "sau_sao_luu" in {u.username for u in accounts.list_users(s)}
    assert not any(e.action == "restore" for e in audit.list_entries(s, 50))
    live_gen = max(e.id for e in audit.list_entries(s, 1))
    result = vault.restore(s, backup)
    assert result.live_generation >= live_gen > result.backup_generation
    s = vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục bản sao lưu")
    assert "sau_sao_luu" not in {u.username for u in accounts.list_users(s)}
    rec = [e for e in audit.list_entries(s, 5) if e.action == "restore"][0]
    assert rec.detail["by"] == "admin" and rec.detail["backup_generation"] == result.backup_generation
    assert rec.detail["live_generation"] == result.live_generation and rec.detail["manifest"] == "ok"
    assert audit.verify(s) == []
    s.lock()


def test_a_discarded_damage_handle_restores_nothing(unit):
    """A restore prepared, then the handle discarded (its key wiped): running the prepared plan
    is refused with the handle's own message (it used to reach SQLCipher with no key: a
    TypeError) and the damaged folder stays as it was."""
    vault, *_ = unit
    s = vault.unlock("admin", ADMIN_PW)
    vault.backup_now(s)
    s.lock()
    raw = bytearray(vault.folder.db_path.read_bytes())
    raw[100] ^= 0x01
    vault.folder.db_path.write_bytes(bytes(raw))
    with pytest.raises(VaultDamaged) as info:
        vault.unlock("admin", ADMIN_PW)
    handle = info.value.restore_handle
    plan = handle.prepare()
    handle.discard()
    before = tree(vault.folder.root)
    with pytest.raises(AppError, match="Phiên khôi phục đã đóng"):
        handle.restore_full(plan=plan)
    with pytest.raises(AppError, match="Phiên khôi phục đã đóng"):
        handle.prepare()
    assert tree(vault.folder.root) == before


def test_damage_handle_restores_only_for_an_admin(unit):
    vault, *_ = unit
    s = vault.unlock("admin", ADMIN_PW)
    vault.backup_now(s)
    s.lock()
    raw = bytearray(vault.folder.db_path.read_bytes())
    raw[100] ^= 0x01
    vault.folder.db_path.write_bytes(bytes(raw))
    before = tree(vault.folder.root)
    with pytest.raises(VaultDamaged) as info:
        vault.unlock("nhaplieu", ENTRY_PW)
    handle = info.value.restore_handle
    assert handle.good_backups and not handle.can_restore
    with pytest.raises(PermissionDenied):
        handle.restore()
    handle.discard()
    assert tree(vault.folder.root) == before
    with pytest.raises(VaultDamaged) as info:
        vault.unlock("admin", ADMIN_PW)
    handle = info.value.restore_handle
    assert handle.can_restore
    handle.restore()
    handle.discard()
    vault.unlock("admin", ADMIN_PW, accept_rollback="khôi phục bản sao lưu").lock()  # an older database: the administrator accepts it (issue 17)
    vault.unlock("nhaplieu", ENTRY_PW).lock()


def test_tampered_or_swapped_backups_are_refused(unit):
    vault, *_ = unit
    s = vault.unlock("admin", ADMIN_PW)
    older = vault.backup_now(s)
    accounts.add_user(s, "moi_them", "Mới", Role.DATA_ENTRY, "mat-khau-du-dai-9")
    newer = vault.backup_now(s)
    before = tree(vault.folder.root)
    # a forged generation in the manifest (written by someone without the key)
    man = json.loads(bk.manifest_path(newer).read_text())
    man["generation"] += 100
    bk.manifest_path(newer).write_text(json.dumps(man))
    with pytest.raises(bk.BackupTampered):
        vault.prepare_restore(s, newer)
    # an older database copied under the newer backup's name
    bk.manifest_path(newer).write_text(json.dumps(dict(man, generation=man["generation"] - 100)))
    newer.write_bytes(older.read_bytes())
    with pytest.raises(bk.BackupTampered):
        vault.restore(s, newer)
    assert s.is_unlocked
    changed = {k for k, v in tree(vault.folder.root).items() if before.get(k) != v}
    assert changed == {f"backups/{newer.name}", f"backups/{bk.manifest_path(newer).name}"}  # the attacker's edits
    s.lock()


def test_damage_at_any_read_is_a_typed_error(created):
    """A page that unlock does not read (the root of the plan targets table), damaged on disk,
    raises DamagedDatabase when a service reads it; the background check finds it too."""
    from desktop.models.storage.db import raw_connect

    vault, session, _ = created
    plans.install_builtin_plans(session)
    vault._write_backup(session.db, reason="auto")  # so that unlock's daily backup (which reads every page) is not due
    key = bytearray(session.master_key())
    session.lock()
    conn = raw_connect(vault.folder.db_path, key)
    root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'plan_targets'").fetchone()[0]
    conn.close()
    raw = bytearray(vault.folder.db_path.read_bytes())
    raw[(root_page - 1) * 4096 + 200] ^= 0x10
    vault.folder.db_path.write_bytes(bytes(raw))
    s = vault.unlock("admin", ADMIN_PW)  # unlock does not read that page
    try:
        from sqlalchemy import text

        with pytest.raises(DamagedDatabase) as info:
            with s.db.session() as q:
                q.execute(text("SELECT * FROM plan_targets")).all()
        assert "bị hỏng" in info.value.message
        assert vault.background_check(s)
        offer = vault.damage_handle(s, "test")
        assert offer.restore_handle.good_backups and offer.restore_handle.can_restore
        offer.restore_handle.discard()
    finally:
        s.lock()


def test_leftovers_are_swept_never_a_users_file(unit, tmp_path):
    vault, *_ = unit
    root = vault.folder.root
    s = vault.unlock("admin", ADMIN_PW)
    vault.backup_now(s)
    s.lock()
    sub = next((root / "evidence").iterdir())
    bsub = next((root / "backups" / "blobs").iterdir())
    leftovers = [root / ".restore-20261202-101010.db", root / ".keyslots.json.4242.tmp",
                 root / "backups" / ".vks-cds-20261202-101010-manual.db.part",
                 root / "backups" / ".vks-cds-20261202-101010-manual.slots.json.77.tmp",
                 sub / ".put-abc123", bsub / ".0123abcd.part", root / "damaged" / ".vks-cds-1.db.part"]
    (root / "damaged").mkdir(exist_ok=True)
    for p in leftovers:
        p.write_bytes(b"half")
    export_dir = tmp_path / "xuat"
    export_dir.mkdir()
    users_files = [export_dir / ".bao-cao.pdf.part", export_dir / "bao-cao.pdf", root / "ghi-chu.part",
                   root / "backups" / "ban-sao-cua-toi.db"]
    for p in users_files:
        p.write_bytes(b"mine")
    keep = tree(root)
    removed = bk.sweep_leftovers(root)
    assert sorted(removed) == sorted(leftovers)
    assert all(p.exists() for p in users_files)
    assert {k: v for k, v in keep.items() if (root / k) not in leftovers} == tree(root)
    # a fresh leftover is spared by the age-limited sweep at unlock (another process may be writing it)
    (sub / ".put-fresh").write_bytes(b"x")
    assert bk.sweep_leftovers(root, min_age_s=3600) == []
