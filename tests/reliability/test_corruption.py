"""Corruption: one byte flipped at sampled positions of a closed database.

Every flip must be detected, either when the app opens the file (`check_key_opens`, the first
thing unlock does, then the reads of unlock itself) or by the integrity check
(`PRAGMA cipher_integrity_check` + `PRAGMA integrity_check`). Then the restore path: the app
offers the newest good backup and, once restored, the data is exactly what was backed up.

SQLCipher 4 page layout used here (4096-byte pages, 80 reserved bytes per page):
  page 1, bytes 0–15: the KDF/HMAC salt, stored in clear; flipping it changes the HMAC key
  bytes [start, 4016): AES-256-CBC ciphertext of the page
  bytes [4016, 4032): the page's random IV
  bytes [4032, 4096): HMAC-SHA512 over ciphertext + IV + page number
so every byte of the file is covered; the campaign confirms it experimentally, region by region.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest

import crash_worker as cw
from desktop.models.services import progress
from desktop.models.storage import db as dbmod
from desktop.models.domain.errors import VaultDamaged
from desktop.models.storage.vault import Vault

PAGE = 4096
RESERVE = 80
SEED = 4096


def dump(path: Path, key: bytes) -> dict[str, list]:
    """Every row of every table, read with the raw key (no app code, no writes)."""
    conn = dbmod.raw_connect(path, key)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall())) for t in tables}
    finally:
        conn.close()


def _without_restore_record(restored: dict, backup: dict) -> dict:
    """The restored rows minus the one audit record the restore appends (and the audit head)."""
    extra = sorted(set(restored.get("audit_log", [])) - set(backup.get("audit_log", [])))
    if len(extra) != 1 or "'restore'" not in extra[0]:
        return restored
    out = dict(restored, audit_log=sorted(set(restored["audit_log"]) - set(extra)))
    out["settings"] = sorted([r for r in restored["settings"] if not r.startswith("('audit_head'")] +
                             [r for r in backup["settings"] if r.startswith("('audit_head'")])
    return out


@pytest.fixture(scope="module")
def damaged_setup(tmp_path_factory, base_template):
    """A closed database with data, its newest backup taken after the last change, and the key."""
    root = cw.copy_template(base_template[0], tmp_path_factory.mktemp("corruption") / "unit")
    facts = base_template[1]
    vault = Vault(root / "data")
    s = vault.unlock("nhaplieu", cw.ENTRY_PW)
    for i, code in enumerate(facts["targets"][:20]):
        progress.record_progress(s, facts["report_id"], code, result_text=cw.save_value(i), difficulties="Không")
    expected = {c: e.result_text for c, e in progress.get_report(s, facts["report_id"]).entries.items()}
    time.sleep(1.05 - time.time() % 1)  # a backup in a later second than the template's (see R4)
    newest = vault.backup_now(s)
    key = bytes(s.master_key())
    s.lock()
    db_path = vault.folder.db_path
    assert not Path(str(db_path) + "-wal").exists()  # closed: everything is in the main file
    original = db_path.read_bytes()
    _OUTSIDE[str(root)] = _outside_state(vault)
    assert len(original) % PAGE == 0
    return root, vault, key, original, newest, dump(newest, key), expected


_OUTSIDE: dict[str, dict] = {}


def _anchors() -> dict:
    """This OS user's rollback anchors (issue 17): what a crash at this instant would leave."""
    from desktop.models.storage.anchors import default_anchor_folder

    folder = default_anchor_folder()
    return {p.name: p.read_bytes() for p in folder.glob("*")} if folder.exists() else {}


def _put_back_anchors(saved: dict) -> None:
    from desktop.models.storage.anchors import default_anchor_folder

    folder = default_anchor_folder()
    for p in folder.glob("*") if folder.exists() else []:
        p.unlink()
    for name, data in saved.items():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def _outside_state(vault) -> dict:
    """The slot file (its generation), restored with the database; no anchor of this test yet."""
    return {"slots": vault.folder.slots_path.read_bytes()}


def _put_back_outside(vault, state: dict) -> None:
    vault.folder.slots_path.write_bytes(state["slots"])
    _put_back_anchors({})


def positions(size: int, n_random: int, seed: int) -> list[int]:
    """Page 1 (salt, header, body, IV, HMAC), an interior page, the last page, then random ones."""
    pages = size // PAGE
    fixed = set()
    for page in (0, pages // 2, pages - 1):
        base = page * PAGE
        for off in (0, 1, 15, 16, 17, 24, 100, 1000, 2048, PAGE - RESERVE - 1, PAGE - RESERVE, PAGE - RESERVE + 15,
                    PAGE - 64, PAGE - 1):
            fixed.add(base + off)
    rng = random.Random(seed)
    rest = rng.sample(range(size), min(n_random, size))
    return sorted(fixed) + [p for p in rest if p not in fixed]


def region(pos: int) -> str:
    page, off = divmod(pos, PAGE)
    if page == 0 and off < 16:
        return "salt"
    if off >= PAGE - 64:
        return "hmac"
    if off >= PAGE - RESERVE:
        return "iv"
    return "page 1 body" if page == 0 else "body"


def flip_campaign(setup, pos_list: list[int], restore_every: int, rng_seed: int) -> dict:
    root, vault, key, original, newest, backup_dump, expected = setup
    db_path = vault.folder.db_path
    rng = random.Random(rng_seed)
    stats = {"positions": 0, "at_open": 0, "by_check": 0, "undetected": [], "regions": {}, "restores": 0,
             "restore_problems": []}
    for i, pos in enumerate(pos_list):
        raw = bytearray(original)
        raw[pos] ^= 1 << rng.randrange(8)
        db_path.write_bytes(bytes(raw))
        stats["positions"] += 1
        reg = region(pos)
        stats["regions"].setdefault(reg, [0, 0])[0] += 1
        try:
            dbmod.check_key_opens(db_path, key)
            at_open = False
        except dbmod.DatabaseError:
            at_open = True
        detected = at_open or bool(vault.check(bytearray(key)))
        stats["at_open"] += at_open
        stats["by_check"] += detected and not at_open
        if not detected:
            stats["undetected"].append(pos)
        else:
            stats["regions"][reg][1] += 1
        if detected and restore_every and i % restore_every == 0:
            stats["restores"] += 1
            stats["restore_problems"] += restore_and_compare(setup, at_open)
            shutil.rmtree(vault.folder.damaged, ignore_errors=True)
    db_path.write_bytes(original)
    return stats


def restore_and_compare(setup, at_open: bool) -> list[str]:
    """The user's path: unlock (damage found: the newest good backup is offered) or, when only the
    check found it, restore the newest good backup from the check screen / `vks-cds restore`."""
    root, vault, key, original, newest, backup_dump, expected = setup
    damaged = vault.folder.db_path.read_bytes()
    try:
        s = vault.unlock("admin", cw.ADMIN_PW)  # restore is an admin's (issue 17)
    except VaultDamaged as exc:
        handle = exc.restore_handle
        if not handle.good_backups or handle.good_backups[0].path != newest:
            return [f"offered {[b.path.name for b in handle.good_backups][:2]}, want newest {newest.name}"]
        aside = handle.restore()
        handle.discard()
    else:
        s.lock()
        if at_open:
            return ["check_key_opens failed but unlock succeeded"]
        damaged = vault.folder.db_path.read_bytes()  # as the session left it (login audited, page still bad)
        good = vault.good_backups(bytearray(key))
        if not good or good[0].path != newest:
            return ["the newest good backup is not first in good_backups()"]
        handle = vault.handle_from_backup(good[0].path, cw.ADMIN_PW, "admin")  # as `vks-cds restore` does
        aside = handle.restore_full(good[0]).aside
        handle.discard()
    problems = []
    if aside.read_bytes() != damaged:
        problems.append("the damaged file was not kept unchanged in damaged/")
    if _without_restore_record(dump(vault.folder.db_path, key), backup_dump) != backup_dump:
        problems.append("restored database differs from the backup (beyond its one audit record of the restore)")
    # the restored database is older than the slot file: the administrator accepts it (issue 17)
    vault.unlock("admin", cw.ADMIN_PW, accept_rollback="khôi phục sau khi tệp hỏng").lock()
    s = vault.unlock("nhaplieu", cw.ENTRY_PW)
    try:
        got = {c: e.result_text for c, e in progress.get_report(s, 1).entries.items()}
    finally:
        s.lock()
    if got != expected:
        problems.append("restored entries differ from what was saved before the backup")
    if vault.check(bytearray(key)):
        problems.append("restored database fails the check")
    # back to the state before this position: same DB, slot file and anchors, the backups as they were
    vault.folder.db_path.write_bytes(original)
    _put_back_outside(vault, _OUTSIDE[str(root)])
    for b in vault.folder.backups.glob("vks-cds-*-auto*"):
        if b.stat().st_mtime > newest.stat().st_mtime:
            b.unlink()
    return problems


def _report(figures, label, stats):
    regions = ", ".join(f"{r} {d}/{n}" for r, (n, d) in sorted(stats["regions"].items()))
    figures.add("corruption", f"{label}: {stats['positions']} single-byte flips, {stats['at_open']} detected at open, "
                              f"{stats['by_check']} only by the check, {len(stats['undetected'])} undetected; "
                              f"detected per region {regions}")
    figures.add("corruption", f"{label}: {stats['restores']} restores through the offered backup, "
                              f"{len(stats['restore_problems'])} problems")


def test_flips_detected_and_restored_fast(damaged_setup, figures):
    pos = positions(len(damaged_setup[3]), n_random=12, seed=SEED)
    stats = flip_campaign(damaged_setup, pos, restore_every=9, rng_seed=1)
    _report(figures, "fast", stats)
    assert stats["positions"] >= 40
    assert stats["undetected"] == [], [f"{p} ({region(p)})" for p in stats["undetected"]]
    assert stats["restore_problems"] == []
    assert stats["restores"] >= 4


@pytest.mark.slow
def test_flips_detected_and_restored_long(damaged_setup, figures):
    size = len(damaged_setup[3])
    n = int(os.environ.get("RELIABILITY_FLIPS", "1200"))
    pos = positions(size, n_random=n, seed=SEED + 1)
    # and every reserved byte (IV + HMAC) of page 1 and of the last page, and the whole salt
    extra = [o for o in range(16)] + [PAGE - RESERVE + o for o in range(RESERVE)] + \
            [size - RESERVE + o for o in range(RESERVE)]
    pos += [p for p in extra if p not in set(pos)]
    stats = flip_campaign(damaged_setup, pos, restore_every=20, rng_seed=2)
    _report(figures, "long", stats)
    assert stats["positions"] >= 1000
    assert stats["undetected"] == [], [f"{p} ({region(p)})" for p in stats["undetected"]]
    assert stats["restore_problems"] == []


def test_flip_in_the_write_ahead_log_is_not_silently_applied(tmp_path, base_template):
    """A crash leaves committed pages in vks-cds.db-wal. A damaged WAL frame fails its checksum,
    so SQLite stops replaying at that frame: the database stays consistent (older commits only)."""
    root = cw.copy_template(base_template[0], tmp_path / "wal")
    facts = base_template[1]
    vault = Vault(root / "data")
    s = vault.unlock("nhaplieu", cw.ENTRY_PW)
    key = bytes(s.master_key())
    for i in range(5):
        progress.record_progress(s, facts["report_id"], facts["targets"][i], result_text=cw.save_value(i))
    wal = Path(str(vault.folder.db_path) + "-wal")
    snapshot = {p.name: p.read_bytes() for p in vault.folder.root.iterdir() if p.name.startswith("vks-cds.db")}
    anchors_at_crash = _anchors()
    s.lock()
    _put_back_anchors(anchors_at_crash)  # a killed app does not write its anchor at lock
    assert len(snapshot.get("vks-cds.db-wal", b"")) > 0
    # put back the crash-time files (main file + WAL, as a kill would leave them) and flip a WAL byte
    for name, data in snapshot.items():
        (vault.folder.root / name).write_bytes(data)
    raw = bytearray(snapshot["vks-cds.db-wal"])
    assert len(raw) > 32 + 24 + PAGE
    raw[len(raw) - 100] ^= 0x10
    wal.write_bytes(bytes(raw))
    assert vault.check(bytearray(key)) == []
    s = vault.unlock("nhaplieu", cw.ENTRY_PW)
    s.lock()


def test_newest_backup_offered_when_several_share_a_second(tmp_path, base_template, monkeypatch):
    from datetime import datetime as real_datetime

    from desktop.models.storage import backups as vault_module  # backup names are stamped there

    root = cw.copy_template(base_template[0], tmp_path / "same-second")
    vault = Vault(root / "data")
    s = vault.unlock("admin", cw.ADMIN_PW)  # may write an automatic backup: the three come after it
    second = real_datetime.now().replace(microsecond=0)

    class SameSecond(real_datetime):
        """The vault's clock stopped on one second (a busy machine must not make this test flake)."""

        @classmethod
        def now(cls, tz=None):
            return second if tz is None else second.astimezone(tz)

    monkeypatch.setattr(vault_module, "datetime", SameSecond)
    made = [vault.backup_now(s) for _ in range(3)]
    monkeypatch.undo()
    key = bytearray(s.master_key())
    s.lock()
    assert len({p.name[:23] for p in made}) == 1, "the three backups were meant to share one second"
    assert vault.good_backups(key)[0].path == made[-1]
