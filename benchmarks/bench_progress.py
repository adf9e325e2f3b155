"""Issue 4 benchmark: a unit with 60 targets × 12 monthly reports and N GB of evidence.

Prints: dashboard open (service + page), saving one entry, unlock — each measured before and
after the evidence is added, so the effect of the evidence size is visible as a ratio.
Targets: dashboard ≤ 200 ms, save ≤ 50 ms, both unchanged by the evidence size.

Run: .venv/bin/python benchmarks/bench_progress.py [--evidence-gb 2] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PASSWORD = "mat-khau-do-hieu-nang"


def synthetic_plan(year: int = 2025) -> dict:
    kinds = [{"type": "ratio", "target_percent": 100, "comparison": ">="},
             {"type": "count", "minimum": 4, "per": "year", "cumulative": True},
             {"type": "milestone"}, {"type": "recurring", "every": "month"}, {"type": "qualitative"}]
    groups = []
    for g in range(6):
        targets = []
        for i in range(10):
            n = g * 10 + i
            month = 1 + n % 12
            targets.append({"code": f"BM-{g + 1}-{i + 1:02d}", "kind": "muc_tieu",
                            "text": f"Mục tiêu đo hiệu năng số {n + 1}: 100% văn bản được ký số chuyên dùng",
                            "deadline": {"type": "month", "year": year, "month": month, "text": f"{month}/{year}"},
                            "measure": kinds[n % len(kinds)], "evidence_required": True})
        groups.append({"code": f"G{g + 1}", "title": f"Nhóm mục tiêu {g + 1}", "targets": targets})
    return {"format": "vks-cds-plan/1", "id": "bench-60", "kind": "ke_hoach", "symbol": "KH-BENCH",
            "title": "Kế hoạch đo hiệu năng 60 mục tiêu", "issuing_unit": {"name": "Đơn vị đo"},
            "year": year, "version": 1, "groups": groups}


def median_ms(fn, runs: int) -> float:
    return median_wall_cpu_ms(fn, runs)[0]


def median_wall_cpu_ms(fn, runs: int) -> tuple[float, float]:
    """Medians of wall-clock and CPU (process) time in ms: on a loaded machine the CPU time is the
    steadier figure, the wall time the one a user waits."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evidence-gb", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    from desktop.models.services import accounts, dashboard, plans, progress
    from desktop.models.domain.plan import ReportingPeriod
    from desktop.models.storage.keyslots import tune_kdf
    from desktop.models.storage.vault import Role, UnitIdentity, Vault
    from desktop.ui.dashboard import DashboardPage

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-progress-"))
    try:
        vault = Vault(tmp / "data")
        s, _ = vault.create(UnitIdentity("BENCH", "Đơn vị đo", level="khu_vuc"), "quantri", PASSWORD, kdf=tune_kdf())
        accounts.add_user(s, "nhaplieu", "", Role.DATA_ENTRY, PASSWORD)
        plan_file = tmp / "plan.json"
        plan_file.write_text(json.dumps(synthetic_plan(), ensure_ascii=False), "utf-8")
        plans.import_file(s, plan_file)
        s.lock()
        s = vault.unlock("nhaplieu", PASSWORD)
        t0 = time.perf_counter()
        report_ids = []
        for m in range(1, 13):
            r = progress.open_report(s, "bench-60", ReportingPeriod("month", 2025, m))
            report_ids.append(r.id)
            for t in progress.report_targets(s, r):
                mt = t.measure.type
                values = ({"numerator": 90 + m, "denominator": 100 + m} if mt == "ratio" else
                          {"count": m % 3 == 0 and 1 or 0} if mt == "count" else
                          {"done": m >= 6, "done_date": f"2025-{m:02d}-10" if m >= 6 else None} if mt == "milestone" else
                          {"done": True} if mt == "recurring" else {"result_text": "Đã triển khai"})
                progress.record_progress(s, r.id, t.code, **values)
        fill_s = time.perf_counter() - t0
        n_entries = 60 * 12
        print(f"Filled {n_entries} entries (60 targets × 12 months) in {fill_s:.1f} s")

        def dash_open():
            page = DashboardPage(s)
            app.processEvents()
            page.deleteLater()

        counter = [0]

        def save_one():
            counter[0] += 1
            progress.record_progress(s, report_ids[-1], "BM-1-01", numerator=100 + counter[0] % 5, denominator=200)

        def unlock():
            x = vault.unlock("nhaplieu", PASSWORD)
            x.lock()

        def measure(label):
            d_service = median_ms(lambda: dashboard.build_dashboard(s, "bench-60"), args.runs)
            d_page = median_ms(dash_open, args.runs)
            save = median_ms(save_one, args.runs * 3)
            unl = median_ms(unlock, max(3, args.runs // 2))
            print(f"[{label}] dashboard service {d_service:7.1f} ms | dashboard page open {d_page:7.1f} ms | "
                  f"save one entry {save:6.1f} ms | unlock {unl:7.1f} ms")
            return d_page, save, unl

        before = measure("no evidence")
        # N GB of evidence through the real encrypted store (distinct 64 MiB files)
        store = progress.evidence_store(s)
        size = 64 * 1024 * 1024
        n_files = max(1, int(args.evidence_gb * 1024 ** 3 // size))
        block = os.urandom(1024 * 1024)
        t0 = time.perf_counter()

        class Gen:
            def __init__(self, i):
                self.left = size
                self.prefix = i.to_bytes(8, "big")

            def read(self, n):
                if self.left <= 0:
                    return b""
                n = min(n, self.left)
                self.left -= n
                return (self.prefix + block)[:n]

        for i in range(n_files):
            store.put_stream(Gen(i), size + 1)
        ev_s = time.perf_counter() - t0
        total = sum(p.stat().st_size for p in (tmp / "data" / "evidence").rglob("*") if p.is_file())
        print(f"Stored {n_files} evidence files, {total / 1024 ** 3:.2f} GB encrypted, in {ev_s:.1f} s "
              f"({total / 1024 ** 2 / ev_s:.0f} MB/s)")
        after = measure(f"{total / 1024 ** 3:.1f} GB evidence")
        print("Ratios after/before: dashboard {:.2f}x, save {:.2f}x, unlock {:.2f}x (target ≈ 1.0)".format(
            after[0] / before[0], after[1] / before[1], after[2] / before[2]))
        print("Targets: dashboard open ≤ 200 ms, save ≤ 50 ms")
        s.lock()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
