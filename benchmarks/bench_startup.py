"""Issue 2 benchmark: unlock time (Argon2id KDF + SQLCipher open) and cold start to the login
window, against a minimal PySide6 window started the same way in the same run.

Run: .venv/bin/python benchmarks/bench_startup.py [--runs N]
Prints figures and ratios; it asserts nothing (targets: unlock 0.3–0.6 s, start ratio ≤ 1.3×).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MINIMAL = """
import sys
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
w = QWidget(); w.resize(520, 420); w.show(); app.processEvents()
"""

LOGIN = """
import sys
from pathlib import Path
from desktop.ui.app import make_app
from desktop.models.vault import Vault
from desktop.ui.login import LoginWindow
app = make_app()
w = LoginWindow(Vault(Path(sys.argv[1]))); w.show(); app.processEvents()
"""


def cold_start(code: str, *args: str, runs: int) -> list[float]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    from desktop.models.keyslots import tune_kdf
    from desktop.models.vault import UnitIdentity, Vault

    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-"))
    t0 = time.perf_counter()
    kdf = tune_kdf()
    tune_s = time.perf_counter() - t0
    vault = Vault(tmp / "data")
    s, _ = vault.create(UnitIdentity("BENCH", "Đơn vị đo"), "quantri", "mat-khau-do-hieu-nang", kdf=kdf)
    s.lock()
    unlocks, kdfs = [], []
    slots = vault._load_slots()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        slots.find(slots.user_slot_id("quantri")).kdf.derive("mat-khau-do-hieu-nang")
        kdfs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sess = vault.unlock("quantri", "mat-khau-do-hieu-nang")
        unlocks.append(time.perf_counter() - t0)
        sess.lock()
    print(f"Argon2id tuned: t={kdf.time_cost}, m={kdf.memory_kib // 1024} MiB, p={kdf.parallelism} "
          f"(tuning took {tune_s:.2f} s)")
    print(f"KDF alone:           median {statistics.median(kdfs) * 1000:7.1f} ms")
    print(f"Unlock (KDF + open): median {statistics.median(unlocks) * 1000:7.1f} ms  (target 300–600 ms)")

    minimal = cold_start(MINIMAL, runs=args.runs)
    login = cold_start(LOGIN, str(tmp / "data"), runs=args.runs)
    m, l = statistics.median(minimal), statistics.median(login)
    print(f"Cold start, minimal PySide6 window: median {m * 1000:7.1f} ms")
    print(f"Cold start, VKS CĐS login window:   median {l * 1000:7.1f} ms")
    print(f"Ratio login/minimal: {l / m:.2f}x  (target ≤ 1.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
