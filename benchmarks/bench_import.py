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
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=3)
    ap.add_argument("--months", type=int, default=10)
    args = ap.parse_args()

    from desktop import demo
    from desktop.models.services import exchange
    from exchange_setup import inbox, make_offices, send_reports

    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-import-"))
    try:
        province, units = make_offices(tmp, args.units)
        t0 = time.perf_counter()
        for i, u in enumerate(units):
            send_reports(u, [(demo.PLAN, f"2025-{m:02d}", 0.8, i * 100 + m) for m in range(1, args.months + 1)])
        made = time.perf_counter() - t0
        n = len(list(inbox(tmp).glob("*.cdsb")))
        size = sum(f.stat().st_size for f in inbox(tmp).glob("*.cdsb"))
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
