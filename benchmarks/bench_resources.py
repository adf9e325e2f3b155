"""Issue 9 resource limits: peak memory (RSS) and times at the sizes the app promises to handle.

* a provincial database with 355 units × 60 targets × 12 monthly reports (255,600 entries):
  filling it, then, each in a fresh process so its peak RSS is its own: unlock, opening the
  consolidation matrix (service + Qt table model), a backup, the integrity check;
* 2 GB of evidence through the real encrypted store (64 MiB files): storing it, reading one file
  back (streamed, verified), unlock and backup afterwards.

Run: .venv/bin/python benchmarks/bench_resources.py [--units 355] [--evidence-gb 2] [--keep DIR]
Smaller: --units 20 --evidence-gb 0.25 (about 30 s). The full size takes ~5 minutes and ~3 GB of
disk. Prints figures; asserts nothing. `--phase` is internal (one measured step in a child).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PW = "mat-khau-do-hieu-nang"  # bench_consolidation.build's password
EVIDENCE_FILE = 64 * 1024 * 1024


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024
    except OSError:
        return float("nan")


def folder_mb(p: Path) -> float:
    return sum(x.stat().st_size for x in Path(p).rglob("*") if x.is_file()) / 1024 / 1024


# ------------------------------------------------------------------ phases (run in a child each)
def phase_build(args) -> dict:
    from bench_consolidation import build

    t0 = time.perf_counter()
    v, s = build(Path(args.root), args.units)
    seconds = time.perf_counter() - t0
    s.lock()
    return {"seconds": seconds, "entries": args.units * 720,
            "db_mb": v.folder.db_path.stat().st_size / 1024 / 1024}


def _vault(args):
    from desktop.models.storage.vault import Vault

    return Vault(Path(args.root) / f"province-{args.units}")


def phase_unlock(args) -> dict:
    v = _vault(args)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        s = v.unlock("quantri", PW)
        times.append(time.perf_counter() - t0)
        s.lock()
    return {"seconds": min(times), "all": times}


def phase_matrix(args) -> dict:
    from PySide6.QtWidgets import QApplication

    from desktop.models.services import consolidation
    from desktop.ui.consolidation_page import MatrixTableModel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    s = _vault(args).unlock("quantri", PW)
    base = current_rss_mb()
    model = MatrixTableModel()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        m = consolidation.matrix(s, "bench-60", "2025-06")
        model.set_matrix(m)
        model.rowCount()
        times.append(time.perf_counter() - t0)
    rows = model.rowCount()
    s.lock()
    del app
    return {"seconds": min(times), "first": times[0], "rows": rows, "rss_before_mb": base}


def phase_backup(args) -> dict:
    v = _vault(args)
    s = v.unlock("quantri", PW)
    t0 = time.perf_counter()
    path = v.backup_now(s)
    seconds = time.perf_counter() - t0
    s.lock()
    return {"seconds": seconds, "backup_mb": path.stat().st_size / 1024 / 1024}


def phase_check(args) -> dict:
    v = _vault(args)
    s = v.unlock("quantri", PW)
    key = bytearray(s.master_key())
    s.lock()
    t0 = time.perf_counter()
    problems = v.check(key)
    return {"seconds": time.perf_counter() - t0, "problems": len(problems)}


def phase_evidence(args) -> dict:
    """Store N GB of evidence (distinct 64 MiB files), then read the last one back streamed."""
    from desktop.models.services import progress
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import UnitIdentity, Vault

    v = Vault(Path(args.root) / "evidence-unit")
    s, _ = v.create(UnitIdentity("BENCH", "Đơn vị đo"), "quantri", PW, kdf=KdfParams(1, 65536, 2, b"\0" * 16))
    store = progress.evidence_store(s)
    n_files = max(1, int(args.evidence_gb * 1024 ** 3 // EVIDENCE_FILE))
    block = os.urandom(1024 * 1024)

    class Source:  # a file-like of EVIDENCE_FILE bytes, distinct per index, never held in memory
        def __init__(self, i):
            self.left, self.prefix = EVIDENCE_FILE, i.to_bytes(8, "big")

        def read(self, n):
            if self.left <= 0:
                return b""
            n = min(n, self.left)
            self.left -= n
            return (self.prefix + block)[:n]

    t0 = time.perf_counter()
    last = None
    for i in range(n_files):
        last = store.put_stream(Source(i), EVIDENCE_FILE + 1)
    store_s = time.perf_counter() - t0
    rss_after_store = peak_rss_mb()
    t0 = time.perf_counter()
    total = sum(len(chunk) for chunk in store.iter_plaintext(last.store_name))
    read_s = time.perf_counter() - t0
    assert total == EVIDENCE_FILE
    s.lock()
    t0 = time.perf_counter()
    s = v.unlock("quantri", PW)
    unlock_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    v.backup_now(s)
    backup_s = time.perf_counter() - t0
    s.lock()
    size = folder_mb(v.folder.root / "evidence")
    return {"seconds": store_s, "files": n_files, "evidence_mb": size, "mb_per_sec": size / store_s,
            "peak_after_store_mb": rss_after_store, "read_one_s": read_s, "unlock_s": unlock_s,
            "backup_s": backup_s}


PHASES = {"build": phase_build, "unlock": phase_unlock, "matrix": phase_matrix, "backup": phase_backup,
          "check": phase_check, "evidence": phase_evidence}


def run_phase(args) -> int:
    base = peak_rss_mb()
    out = PHASES[args.phase](args)
    out.update(phase=args.phase, peak_rss_mb=peak_rss_mb(), start_rss_mb=base)
    print("RESULT " + json.dumps(out))
    return 0


# ------------------------------------------------------------------ orchestration
def child(phase: str, args, root: Path) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--root", str(root), "--units", str(args.units),
           "--evidence-gb", str(args.evidence_gb)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=355)
    ap.add_argument("--evidence-gb", type=float, default=2.0)
    ap.add_argument("--keep", help="build in (and keep) this folder instead of a temporary one")
    ap.add_argument("--skip", default="", help="comma-separated phases to skip, e.g. evidence")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        return run_phase(args)

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vks-bench-res-"))
    root.mkdir(parents=True, exist_ok=True)
    skip = {x for x in args.skip.split(",") if x}
    try:
        entries = f"{args.units * 720:,}".replace(",", ".")
        print(f"Resource limits — {args.units} units ({entries} entries), {args.evidence_gb:g} GB evidence; "
              f"each step in a fresh process")
        rows = []
        for phase in ("build", "unlock", "matrix", "backup", "check", "evidence"):
            if phase in skip or (phase != "build" and phase != "evidence" and "build" in skip
                                 and not (root / f"province-{args.units}").exists()):
                continue
            r = child(phase, args, root)
            rows.append(r)
            extra = {k: v for k, v in r.items() if k not in ("phase", "seconds", "peak_rss_mb", "start_rss_mb", "all")}
            shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) and k.endswith(("_s", "first")) else
                              f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in extra.items())
            print(f"  {phase:<9} {r['seconds']:8.2f} s | peak RSS {r['peak_rss_mb']:7.0f} MB "
                  f"(after imports {r['start_rss_mb']:4.0f} MB) | {shown}")
        print(f"  data on disk: {folder_mb(root):.0f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
