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

# Each child reports when its window is on screen: the wall clock (time.time, compared with the
# parent's clock at spawn) and its CPU time since the process started (time.process_time), then
# leaves at once (os._exit: the time to tear down is not the time to start).
SHOWN = """
import os, time
print(time.time(), time.process_time(), flush=True)
os._exit(0)
"""

MINIMAL = """
import sys
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv[:1])
w = QWidget(); w.resize(520, 420); w.show(); app.processEvents()
""" + SHOWN

# What `vks-cds gui` does up to the login window (desktop.ui.app.run_gui without the event loop).
LOGIN = """
import sys
from desktop.ui.app import AppController, DeferredVault, make_app
from desktop.fsutil import InstanceLock
app = make_app()
lock = InstanceLock(sys.argv[1]); lock.acquire()
controller = AppController(DeferredVault(sys.argv[1])); controller.start(); app.processEvents()
assert controller.login is not None and controller.login.isVisible()
""" + SHOWN

# What is imported before the login window shows (should be nothing of the storage stack).
IMPORTED = """
import sys
from desktop.ui.app import AppController, DeferredVault, make_app
app = make_app()
controller = AppController(DeferredVault(sys.argv[1])); controller.start(); app.processEvents()
print(" ".join(m for m in ("desktop.models.storage.vault", "desktop.models.storage.keyslots", "argon2", "sqlalchemy",
                           "desktop.models.domain.plan", "logging.handlers") if m in sys.modules) or "none")
import os; os._exit(0)
"""


def compile_sources() -> None:
    """Write the bytecode of the app's modules, as an installed (pip) or frozen (PyInstaller)
    app has it: with PYTHONDONTWRITEBYTECODE set (this build box sets it) every start would
    compile desktop/ from source, which the minimal window does not pay (7 ms for ui/app.py alone)."""
    import compileall

    for folder in ("desktop", "resources"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def cold_start(code: str, *args: str, runs: int) -> tuple[list[float], list[float]]:
    """Wall time from spawn to the window shown, and the child's CPU time by then."""
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    times, cpu = [], []
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
        times.append(float(out[-2]) - t0)
        cpu.append(float(out[-1]))
    return times, cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    from desktop.models.storage.keyslots import tune_kdf
    from desktop.models.storage.vault import UnitIdentity, Vault

    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-"))
    t0 = time.perf_counter()
    kdf = tune_kdf()
    tune_s = time.perf_counter() - t0
    vault = Vault(tmp / "data")
    s, _ = vault.create(UnitIdentity("BENCH", "Đơn vị đo"), "quantri", "mat-khau-do-hieu-nang", kdf=kdf)
    s.lock()
    unlocks, kdfs, unlocks_cpu, kdfs_cpu = [], [], [], []
    slots = vault._load_slots()
    for _ in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        slots.find(slots.user_slot_id("quantri")).kdf.derive("mat-khau-do-hieu-nang")
        kdfs.append(time.perf_counter() - t0)
        kdfs_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        sess = vault.unlock("quantri", "mat-khau-do-hieu-nang")
        unlocks.append(time.perf_counter() - t0)
        unlocks_cpu.append(time.process_time() - c0)
        sess.lock()
    print(f"Argon2id tuned: t={kdf.time_cost}, m={kdf.memory_kib // 1024} MiB, p={kdf.parallelism} "
          f"(tuning took {tune_s:.2f} s)")
    print(f"KDF alone:           median {statistics.median(kdfs) * 1000:7.1f} ms wall, "
          f"{statistics.median(kdfs_cpu) * 1000:7.1f} ms CPU (both lanes)")
    print(f"Unlock (KDF + open): median {statistics.median(unlocks) * 1000:7.1f} ms wall, "
          f"{statistics.median(unlocks_cpu) * 1000:7.1f} ms CPU  (target 300–600 ms on an idle PC)")

    compile_sources()
    minimal, minimal_cpu, login, login_cpu = [], [], [], []
    for _ in range(args.runs):  # interleaved, so a change in the machine's load hits both
        for out, out_cpu, code, extra in ((minimal, minimal_cpu, MINIMAL, ()), (login, login_cpu, LOGIN, (str(tmp / "data"),))):
            w, c = cold_start(code, *extra, runs=1)
            out += w
            out_cpu += c
    m, l = statistics.median(minimal), statistics.median(login)
    mc, lc = statistics.median(minimal_cpu), statistics.median(login_cpu)
    print(f"Cold start, minimal PySide6 window: median {m * 1000:7.1f} ms wall, {mc * 1000:7.1f} ms CPU")
    print(f"Cold start, VKS CĐS login window:   median {l * 1000:7.1f} ms wall, {lc * 1000:7.1f} ms CPU")
    print(f"Ratio login/minimal: {l / m:.2f}x wall, {lc / mc:.2f}x CPU  (target ≤ 1.3x)")
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    loaded = subprocess.run([sys.executable, "-c", IMPORTED, str(tmp / "data")], check=True, env=env, cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    print(f"Imported before the login window shows, of the storage stack: {loaded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
