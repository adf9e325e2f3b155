"""Issue 20 benchmark: `vks-cds demo` with the production key derivation on every login.

Runs the whole demo (five offices around one share) twice in this process:

- with the production Argon2id parameters (`keyslots.tune_kdf`, calibrated on CPU time), as
  `vks-cds demo` does;
- with a minimal Argon2id (t=1, 8 MiB) as the baseline: everything the demo does except the
  key derivations' cost;

and prints for each the wall time, the CPU time (this process and its children: age, minisign,
pdftotext…), the number of Argon2id key derivations (logins, account slots, calibration; recovery
slots written before the recovery KDF) and the share of CPU time they take, and the number of
HKDF derivations of recovery slots (their own KDF since issue 20: the code is a random key). On a busy machine the CPU time is the figure to compare;
the wall time is what a user waits on an idle PC only when the machine is idle.

Run: .venv/bin/python benchmarks/bench_demo.py [--runs 1]
Aim (issue 20): ≤ 15 s with the production KDF.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_once(kdf) -> dict:
    """One demo run; `kdf` None = the production parameters (tuned as `vks-cds demo` does)."""
    from desktop import demo
    from desktop.models.storage import keyslots
    from desktop.models.storage.vault import Vault

    counts = {"derive": 0, "derive_cpu": 0.0, "logins": 0, "hkdf": 0}
    real_derive = keyslots.KdfParams.derive
    real_unlock = Vault.unlock
    recovery_kdf = getattr(keyslots, "RecoveryKdf", None)  # absent before issue 20's recovery KDF
    real_hkdf = recovery_kdf.derive if recovery_kdf is not None else None

    def unlock(self, *a, **kw):
        counts["logins"] += 1
        return real_unlock(self, *a, **kw)

    def counted(self, secret):
        c0 = time.process_time()
        try:
            return real_derive(self, secret)
        finally:
            counts["derive"] += 1
            counts["derive_cpu"] += time.process_time() - c0

    def hkdf(self, secret):
        counts["hkdf"] += 1
        return real_hkdf(self, secret)

    out = Path(tempfile.mkdtemp(prefix="vks-bench-demo-"))
    keyslots.KdfParams.derive = counted
    Vault.unlock = unlock
    if recovery_kdf is not None:
        recovery_kdf.derive = hkdf
    try:
        w0, c0 = time.perf_counter(), _cpu()
        with contextlib.redirect_stdout(io.StringIO()):
            demo.run_demo(out / "demo", kdf=kdf)
        return {"wall": time.perf_counter() - w0, "cpu": _cpu() - c0, **counts}
    finally:
        keyslots.KdfParams.derive = real_derive
        Vault.unlock = real_unlock
        if recovery_kdf is not None:
            recovery_kdf.derive = real_hkdf
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()

    from desktop.models.storage.keyslots import KdfParams, tune_kdf

    print(f"bench_demo — {datetime.now():%d/%m/%Y %H:%M}, {platform.node()}, {os.cpu_count()} CPU, "
          f"load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}")
    prod = tune_kdf()
    c0 = time.process_time()
    prod.derive("x")
    print(f"production Argon2id: t={prod.time_cost}, m={prod.memory_kib // 1024} MiB, p={prod.parallelism}; "
          f"one derivation {time.process_time() - c0:.2f} s CPU")
    minimal = KdfParams(1, 8192, 1, b"\0" * 16)
    results = {"production": [], "baseline": []}
    for _ in range(args.runs):  # interleaved
        results["production"].append(run_once(None))
        results["baseline"].append(run_once(minimal))
    med = {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in results.items()}
    for k in ("production", "baseline"):
        m = med[k]
        print(f"  {k:<10} wall {m['wall']:6.1f} s | CPU {m['cpu']:6.1f} s | {m['derive']:.0f} Argon2id derivations, "
              f"{m['derive_cpu']:5.1f} s CPU = {m['derive_cpu'] / m['cpu']:.0%} of the CPU time; {m['logins']:.0f} logins; "
              f"{m['hkdf']:.0f} HKDF (recovery slots)")
    p, b = med["production"], med["baseline"]
    print(f"  production / baseline: wall {p['wall'] / b['wall']:.2f}×, CPU {p['cpu'] / b['cpu']:.2f}× "
          f"(aim: production ≤ 15 s on an idle PC; CPU time is the load-independent figure)")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
