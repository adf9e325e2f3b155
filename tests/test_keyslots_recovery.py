"""The recovery slot's key derivation (issue 20): HKDF-SHA256 for the generated ~122-bit recovery
code, Argon2id for every password; recovery slots written before keep opening with Argon2id."""

from __future__ import annotations

import json
import math

import pytest

from desktop.models.domain.errors import LoginFailed
from desktop.models.services import accounts
from desktop.models.storage import keyslots, vault as vault_mod
from desktop.models.storage.keyslots import (RECOVERY_ALPHABET, KdfParams, RecoveryKdf, SlotError, SlotFile,
                                             generate_recovery_code, normalize_recovery_code)
from desktop.models.storage.vault import Role, Vault

from conftest import ADMIN_PW, FAST_KDF, UNIT


def _slot_json(data_dir, slot_id: str) -> dict:
    return next(s for s in json.loads((data_dir / "keyslots.json").read_text())["slots"] if s["id"] == slot_id)


@pytest.fixture
def derivations(monkeypatch):
    """Counts Argon2id and HKDF derivations (the real ones still run)."""
    counts = {"argon2id": 0, "hkdf": 0}
    real_argon, real_hkdf = KdfParams.derive, RecoveryKdf.derive

    def argon(self, secret):
        counts["argon2id"] += 1
        return real_argon(self, secret)

    def hkdf(self, secret):
        counts["hkdf"] += 1
        return real_hkdf(self, secret)

    monkeypatch.setattr(KdfParams, "derive", argon)
    monkeypatch.setattr(RecoveryKdf, "derive", hkdf)
    return counts


def test_recovery_code_entropy_is_a_key_not_a_password():
    # 25 symbols of 30: the figure docs/security.md rests the HKDF choice on
    assert len(RECOVERY_ALPHABET) == len(set(RECOVERY_ALPHABET)) == 30
    code = generate_recovery_code()
    assert len(code.replace("-", "")) == 25 and set(code.replace("-", "")) <= set(RECOVERY_ALPHABET)
    assert 25 * math.log2(30) > 122


def test_new_vault_recovery_slot_is_hkdf_password_slots_argon2(created, data_dir, derivations):
    vault, session, code = created
    session.lock()
    rec = _slot_json(data_dir, "recovery")
    assert rec["kind"] == "recovery" and rec["kdf"]["alg"] == "hkdf-sha256"
    assert set(rec["kdf"]) == {"alg", "salt"} and len(keyslots._unb64(rec["kdf"]["salt"])) == 16
    others = [s for s in json.loads((data_dir / "keyslots.json").read_text())["slots"] if s["id"] != "recovery"]
    assert len(others) == 3 and all(s["kdf"]["alg"] == "argon2id" for s in others)
    # opens with the code as people type it (lower case, spaces, 0 for O…) through HKDF only
    typed = code.lower().replace("-", " ")
    s = vault.unlock_with_recovery(typed)
    assert s.user.via_recovery and s.user.role == Role.ADMIN
    s.lock()
    assert derivations == {"argon2id": 0, "hkdf": 1}
    with pytest.raises(LoginFailed):
        vault.unlock_with_recovery("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    # the users still log in through Argon2id
    vault.unlock("admin", ADMIN_PW).lock()
    assert derivations == {"argon2id": 1, "hkdf": 2}


def test_old_argon2_recovery_slot_still_opens(data_dir, tmp_path, monkeypatch):
    """A vault made before this change: its recovery slot wraps under the Argon2id template (as
    `Vault.create` did); it opens as before, for the login and for a restore."""

    class _BeforeHkdf:  # what Vault.create passed for the recovery slot before: the Argon2id template
        @staticmethod
        def new():
            return FAST_KDF

    monkeypatch.setattr(vault_mod, "RecoveryKdf", _BeforeHkdf)
    vault = Vault(data_dir)
    session, code = vault.create(UNIT, "admin", ADMIN_PW, "Nguyễn Văn Quản", kdf=FAST_KDF)
    vault.backup_now(session)
    session.lock()
    monkeypatch.undo()
    rec = _slot_json(data_dir, "recovery")
    assert rec["kdf"]["alg"] == "argon2id" and rec["kdf"]["t"] == FAST_KDF.time_cost

    slots = SlotFile.load(data_dir / "keyslots.json")
    assert isinstance(slots.get("recovery").kdf, KdfParams)
    s = Vault(data_dir).unlock_with_recovery(code)
    assert s.user.via_recovery
    # the recovery session resets the admin's password: the old recovery slot is left as it was
    admin = next(u for u in accounts.list_users(s) if u.username == "admin")
    accounts.reset_password(s, admin.id, "mat-khau-moi-sau-khoi-phuc")
    s.lock()
    assert _slot_json(data_dir, "recovery") == rec
    # and a backup's copy of the old slot file opens with the code too (restore on a new PC)
    backup = vault.list_backups()[0].path
    handle = Vault(tmp_path / "may-moi").handle_from_backup(backup, code)
    assert handle.slot_id is None and handle.can_restore
    handle.discard()


def test_unknown_user_pays_argon2_even_when_recovery_slot_comes_first(created, data_dir, derivations):
    vault, session, code = created
    session.lock()
    rec = vault.unlock_with_recovery(code)
    admin = next(u for u in accounts.list_users(rec) if u.username == "admin")
    accounts.reset_password(rec, admin.id, "mat-khau-moi-sau-khoi-phuc")  # the admin slot moves to the end
    rec.lock()
    slots = SlotFile.load(data_dir / "keyslots.json")
    assert slots.slots[0].slot_id == "recovery" and isinstance(slots.slots[0].kdf, RecoveryKdf)
    before = dict(derivations)
    with pytest.raises(LoginFailed):
        vault.unlock("khong-ton-tai", "mat-khau-gi-do-1")
    # one Argon2id run with a password slot's parameters, as for a known name; no HKDF shortcut
    assert derivations["argon2id"] == before["argon2id"] + 1 and derivations["hkdf"] == before["hkdf"]
    assert slots.password_kdf() == slots.get(slots.user_slot_id("nhaplieu")).kdf


def test_hkdf_only_for_the_recovery_slot(tmp_path):
    slots = SlotFile.new(tmp_path / "k.json")
    master = bytearray(range(32))
    uid = slots.user_slot_id("admin")
    with pytest.raises(SlotError):
        slots.put(uid, "user", "mat-khau-dai-du-roi", master, RecoveryKdf.new())
    with pytest.raises(SlotError):
        slots.put("recovery", "user", "mat-khau-dai-du-roi", master, RecoveryKdf.new())
    # a forged file that puts a password slot under HKDF is refused before any AES-GCM
    slots.put(uid, "user", "mat-khau-dai-du-roi", master, FAST_KDF)
    code = normalize_recovery_code(generate_recovery_code())
    slots.put("recovery", "recovery", code, master, RecoveryKdf.new())
    forged = slots.get(uid)
    forged.kdf = RecoveryKdf.new()
    with pytest.raises(SlotError):
        slots.open(uid, "mat-khau-dai-du-roi")
    assert slots.open("recovery", code) == master


def test_recovery_kdf_round_trip_and_salt(tmp_path):
    slots = SlotFile.new(tmp_path / "k.json")
    master = bytearray(b"\x07" * 32)
    code = normalize_recovery_code(generate_recovery_code())
    first = slots.put("recovery", "recovery", code, master, RecoveryKdf.new())
    assert isinstance(first.kdf, RecoveryKdf)
    salt = first.kdf.salt
    slots.save()
    loaded = SlotFile.load(tmp_path / "k.json")
    assert loaded.get("recovery").kdf == RecoveryKdf(salt)
    assert loaded.open("recovery", code) == master
    with pytest.raises(SlotError):
        loaded.open("recovery", normalize_recovery_code(generate_recovery_code()))
    # put draws a new salt each time: the same code never gives the same wrapping key twice
    second = slots.put("recovery", "recovery", code, master, first.kdf)
    assert second.kdf.salt != salt
    assert RecoveryKdf(salt).derive(code) != RecoveryKdf(second.kdf.salt).derive(code)
    assert RecoveryKdf(salt).derive(code) == RecoveryKdf(salt).derive(code)
    # an unknown algorithm is still refused when the file is read
    with pytest.raises(SlotError):
        keyslots.slot_kdf_from_json({"alg": "scrypt", "salt": "AAAA"})
