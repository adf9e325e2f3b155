"""Wrong passwords × 20: the database file and every other file except the throttle counter stay
byte-for-byte unchanged, and the enforced delay grows (none after the first failure, then 2, 4, 8 … s, capped at 300 s).

A fake clock stands in for waiting; the long variant uses the production Argon2id cost
(tune_kdf: ~0.45 s, ≥ 64 MiB) and reports the real time one guess costs.
"""

from __future__ import annotations

import hashlib
import time

import pytest

import crash_worker as cw
from desktop.models.domain.errors import LoginFailed, LoginThrottled
from desktop.models.storage.keyslots import tune_kdf
from desktop.models.storage.vault import Role, Vault

ATTEMPTS = 20


def hashes(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def wrong_password_series(data_dir) -> dict:
    now = [1_000_000.0]
    vault = Vault(data_dir, clock=lambda: now[0])
    before = hashes(data_dir)
    delays, refused_early, seconds = [], 0, []
    slot = vault._load_slots().user_slot_id("admin")
    for i in range(ATTEMPTS):
        wait = vault.throttle.wait_remaining(slot)
        if wait > 0:  # trying inside the delay is refused without even deriving the key
            with pytest.raises(LoginThrottled):
                vault.unlock("admin", "mat-khau-sai-lan-nay")
            refused_early += 1
            now[0] += wait + 0.01
        t0 = time.perf_counter()
        with pytest.raises(LoginFailed) as info:
            vault.unlock("admin", f"mat-khau-sai-so-{i:02d}")
        seconds.append(time.perf_counter() - t0)
        delays.append(info.value.details["wait"])
    after = hashes(data_dir)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    throttle_text = (data_dir / "throttle.json").read_text("utf-8")
    now[0] += 301
    s = vault.unlock("admin", cw.ADMIN_PW)
    s.lock()
    return {"delays": delays, "changed": changed, "refused_early": refused_early, "seconds": seconds,
            "throttle": throttle_text, "db_before": before["vks-cds.db"], "db_after": after["vks-cds.db"]}


def _check(result) -> None:
    assert result["db_before"] == result["db_after"]
    assert result["changed"] == ["throttle.json"]
    d = result["delays"]
    assert d == sorted(d) and d[0] == 0 and d[1] == 2 and d[-1] == 300
    assert all(b > a for a, b in zip(d[:9], d[1:10]))  # strictly growing until the cap
    assert "admin" not in result["throttle"]
    assert result["refused_early"] == ATTEMPTS - 2


def _report(figures, label, r):
    s = r["seconds"]
    figures.add("passwords", f"{label}: {ATTEMPTS} wrong passwords, DB sha256 unchanged "
                             f"({r['db_before'][:12]}…), files changed: {r['changed']}; delays (s): "
                             f"{', '.join(f'{x:g}' for x in r['delays'])}; {r['refused_early']} early tries refused "
                             f"without a key derivation; one wrong try costs {min(s)*1000:.0f}–{max(s)*1000:.0f} ms")


def test_twenty_wrong_passwords(created, data_dir, figures):
    vault, session, _ = created
    session.lock()
    r = wrong_password_series(data_dir)
    _check(r)
    _report(figures, "test KDF", r)


@pytest.mark.slow
def test_twenty_wrong_passwords_production_kdf(tmp_path, figures):
    kdf = tune_kdf()
    vault = Vault(tmp_path / "data")
    s, _ = vault.create(cw.UNIT, "admin", cw.ADMIN_PW, "Quản trị", kdf=kdf)
    from desktop.models.services import accounts

    accounts.add_user(s, "nhaplieu", "Nhập", Role.DATA_ENTRY, cw.ENTRY_PW)
    s.lock()
    r = wrong_password_series(tmp_path / "data")
    _check(r)
    _report(figures, f"production Argon2id (t={kdf.time_cost}, m={kdf.memory_kib // 1024} MiB, p={kdf.parallelism})", r)
    assert min(r["seconds"]) > 0.2  # each guess pays the full key derivation
    per_day = int(86400 / 300) + 1
    figures.add("passwords", f"online guessing against one account after the cap: at most {per_day} tries/day")
