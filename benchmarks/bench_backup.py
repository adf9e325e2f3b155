"""Issue 21 figures: whole-unit backup and restore with 2 GB of evidence, against `cp -r`.

A unit with a report and N × 64 MiB evidence files attached through the real service (encrypted
store). Then, each timed in this process, with `cp -r` of the same files in the same run as the
baseline (same page cache state: everything was just written, so both read from memory):

* full backup into an empty place (database, slot file, every blob), vs `cp -r` of the data folder;
* incremental backup after one new 1 MiB file, vs `cp -r` again (what a naive copy would redo);
* restore on a new PC (empty data folder: every blob decrypted and hashed, then copied), vs
  `cp -r` of the backup place;
* restore in place (blobs already there: decrypted and hashed only).

Run: .venv/bin/python benchmarks/bench_backup.py [--evidence-gb 2] [--keep DIR]
Smaller: --evidence-gb 0.25. The full size needs ~9 GB of disk. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FILE = 64 * 1024 * 1024
ADMIN_PW = "mat-khau-quan-tri-do-hieu-nang"
ENTRY_PW = "mat-khau-nhap-lieu-do-hieu-nang"


def size_mb(p: Path) -> float:
    return sum(x.stat().st_size for x in Path(p).rglob("*") if x.is_file()) / 1048576


def cp_r(src: Path, dst: Path) -> float:
    if dst.exists():
        shutil.rmtree(dst)
    t0 = time.perf_counter()
    subprocess.run(["cp", "-r", str(src), str(dst)], check=True)
    subprocess.run(["sync"], check=True)  # the app fsyncs every file; the baseline must reach the disk too
    return time.perf_counter() - t0


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--evidence-gb", type=float, default=2.0)
    ap.add_argument("--keep", help="work in this folder and keep it")
    args = ap.parse_args()

    from desktop.models.services import accounts, plans, progress, settings
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import Role, UnitIdentity, Vault

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    n_files = max(1, round(args.evidence_gb * 1024 ** 3 / FILE))
    kdf = KdfParams(time_cost=1, memory_kib=65536, parallelism=2, salt=b"\0" * 16)
    try:
        vault = Vault(work / "data")
        admin, _ = vault.create(UnitIdentity("VKS-KV1-THA", "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa"),
                                "quantri", ADMIN_PW, kdf=kdf)
        accounts.add_user(admin, "nhaplieu", "Cán bộ", Role.DATA_ENTRY, ENTRY_PW)
        plans.install_builtin_plans(admin)
        settings.set_value(admin, "evidence_max_mb", 100)
        admin.lock()
        s = vault.unlock("nhaplieu", ENTRY_PW)
        report = progress.open_report(s, "thanhhoa-cds-2025", "2025-03")
        targets = [t.code for t in progress.report_targets(s, report)]
        src = work / "nguon.pdf"
        t0 = time.perf_counter()
        for i in range(n_files):
            src.write_bytes(b"%PDF-1.4\n" + os.urandom(FILE - 9))
            progress.attach_evidence(s, report.id, targets[i % len(targets)], src)
        store_s = time.perf_counter() - t0
        s.lock()
        evidence_mb = size_mb(work / "data" / "evidence")

        admin = vault.unlock("quantri", ADMIN_PW)  # the daily automatic backup runs here (not timed)
        for p in vault.folder.backups.iterdir():  # start the timed backup from an empty place
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        full, full_s = timed(lambda: vault.backup(admin))
        base_full_s = cp_r(work / "data", work / "cp-data")
        shutil.rmtree(work / "cp-data")

        admin.lock()
        s = vault.unlock("nhaplieu", ENTRY_PW)
        src.write_bytes(b"%PDF-1.4\n" + os.urandom(1024 * 1024))
        progress.attach_evidence(s, report.id, targets[-1], src)
        s.lock()
        src.unlink()
        admin = vault.unlock("quantri", ADMIN_PW)
        inc, inc_s = timed(lambda: vault.backup(admin))
        base_inc_s = cp_r(work / "data", work / "cp-data")
        shutil.rmtree(work / "cp-data")
        backup_mb = size_mb(vault.folder.backups)

        # restore on a new PC: an empty data folder, the backup place copied from "another drive"
        place = work / "o-dia-khac"
        shutil.copytree(vault.folder.backups, place)
        subprocess.run(["sync"], check=True)
        admin.lock()
        newest = [b for b in vault.list_backups(place) if b.reason == "manual"][0]
        new_pc = Vault(work / "may-moi")
        handle = new_pc.handle_from_backup(newest.path, ADMIN_PW, "quantri")
        restored, restore_new_s = timed(lambda: handle.restore_full(handle.good_backups[0]))
        handle.discard()
        base_restore_s = cp_r(place, work / "cp-restore")
        shutil.rmtree(work / "cp-restore")

        # restore in place: every blob is already in the live store (verified, not copied)
        admin = vault.unlock("quantri", ADMIN_PW)
        inplace, inplace_s = timed(lambda: vault.restore(admin, inc.path))

        print(f"bench_backup — {datetime.now():%d/%m/%Y %H:%M}, {platform.node()}, {platform.machine()}, "
              f"{os.cpu_count()} CPU, Python {platform.python_version()}")
        print(f"evidence: {n_files} files × 64 MiB stored in {store_s:.1f} s → {evidence_mb:,.0f} MB encrypted")
        rows = [
            ("full backup (DB + slots + every blob)", full_s, full.bytes_copied / 1048576, base_full_s),
            ("incremental backup after one new 1 MiB file", inc_s, inc.bytes_copied / 1048576, base_inc_s),
            ("restore on a new PC (verify + copy every blob)", restore_new_s, size_mb(new_pc.folder.root / "evidence"),
             base_restore_s),
            ("restore in place (verify every blob, none copied)", inplace_s, 0.0, float("nan")),
        ]
        print(f"{'step':52} {'time':>8} {'MB copied':>10} {'cp -r':>8} {'ratio':>6}")
        for name, t, mb, base in rows:
            ratio = f"{t / base:.2f}" if base == base else "—"
            base_s = f"{base:.2f}s" if base == base else "—"
            print(f"{name:52} {t:7.2f}s {mb:10,.1f} {base_s:>8} {ratio:>6}")
        print(f"backup place after two backups: {backup_mb:,.0f} MB (blobs shared); "
              f"restore checked {restored.blobs_checked} blobs, copied {restored.blobs_copied}, "
              f"missing {len(restored.missing)}; in place checked {inplace.blobs_checked}, copied {inplace.blobs_copied}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
