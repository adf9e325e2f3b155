"""Issue 7 benchmark: a provincial office imports 30 report bundles from its units in one inbox
scan (decrypt, check, verify signatures and hashes, apply, refresh the matrix, write receipts).

Run: .venv/bin/python benchmarks/bench_import.py [--units 3] [--months 10]
Target: importing 30 bundles ≤ 10 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=3)
    ap.add_argument("--months", type=int, default=10)
    args = ap.parse_args()

    from desktop import demo
    from desktop.models.services import exchange, plans
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import UnitIdentity

    kdf = KdfParams(1, 65536, 2, b"\0" * 16)  # unlock cost is not what is measured here
    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-import-"))
    try:
        (tmp / "share").mkdir()
        province = demo._create_office(tmp, UnitIdentity("VKS-THA", "Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                                                         level="tinh"), kdf)
        units = [demo._create_office(tmp, UnitIdentity(f"VKS-KV{i}-THA", f"Viện kiểm sát nhân dân khu vực {i}",
                                                       parent_code="VKS-THA", level="khu_vuc"), kdf)
                 for i in range(1, args.units + 1)]
        p = province.login("quantri")  # the units wrote their key requests when they were set up
        demo._enrol_children(p, units, tmp / "share")
        plans.create_own_plan(p, demo.PLAN_BASE, demo.PLAN)
        p.lock()
        for u in units:
            s = u.login("quantri")
            demo._receive_package(s, u)
            s.lock()
        p = province.login("lanhdao")
        exchange.publish_plans(p, [demo.PLAN])
        p.lock()
        for u in units:
            s = u.login("lanhdao")
            exchange.scan_inbox(s)
            s.lock()
        t0 = time.perf_counter()
        for i, u in enumerate(units):
            for m in range(1, args.months + 1):
                demo._fill_and_send(u, demo.PLAN, f"2025-{m:02d}", 0.8, seed=i * 100 + m)
        made = time.perf_counter() - t0
        n = len(list((tmp / "share" / "VKS-THA" / "inbox").glob("*.cdsb")))
        size = sum(f.stat().st_size for f in (tmp / "share" / "VKS-THA" / "inbox").glob("*.cdsb"))
        p = province.login("lanhdao")
        t0 = time.perf_counter()
        outcomes = exchange.scan_inbox(p)
        took = time.perf_counter() - t0
        p.lock()
        applied = sum(1 for o in outcomes if o.verdict in (exchange.APPLIED, exchange.APPLIED_GAP))
        print(f"{n} bundles ({size / 1024:.0f} KiB, each with the printed report PDF) prepared by the units in {made:.1f} s")
        print(f"Province inbox scan: {applied}/{n} applied in {took:.2f} s "
              f"({took / max(n, 1) * 1000:.0f} ms per bundle, incl. matrix refresh and signed receipt) — target ≤ 10 s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
