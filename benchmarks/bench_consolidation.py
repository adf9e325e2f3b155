"""Issue 7 benchmark: a provincial DB with N units × 60 targets × 12 monthly reports
(355 units ≈ 255,000 entries): matrix open (service + Qt model) and filter, at several scales.

Run: .venv/bin/python benchmarks/bench_consolidation.py [--units 10,50,355] [--runs 5]
Targets: matrix open and filter ≤ 300 ms at 355 units.
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
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_progress import synthetic_plan  # noqa: E402

PW = "mat-khau-do-hieu-nang"


def median_ms(fn, runs):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t) * 1000


def build(tmp: Path, n_units: int):
    from desktop.models.services import accounts, consolidation, plans, progress, units
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.vault import Role, UnitIdentity, Vault

    v = Vault(tmp / f"province-{n_units}")
    s, _ = v.create(UnitIdentity("VKS-BENCH", "Viện kiểm sát nhân dân tỉnh Đo", level="tinh"), "quantri", PW,
                    kdf=KdfParams(1, 65536, 2, b"\0" * 16))
    accounts.add_user(s, "lanhdao", "", Role.APPROVER, PW)
    f = tmp / "plan.json"
    f.write_text(json.dumps(synthetic_plan(), ensure_ascii=False), "utf-8")
    plans.import_file(s, f)
    plan = plans.get_plan(s, "bench-60")
    t0 = time.perf_counter()
    for i in range(n_units):
        code = f"VKS-KV{i + 1:03d}"
        units.add_unit(s, code, f"Viện kiểm sát nhân dân khu vực {i + 1}", short_name=f"KV{i + 1}")
        for m in range(1, 13):
            entries = {}
            for t in plan.targets:
                mt = t.measure.type
                entries[t.code] = ({"numerator": str(80 + (i + m) % 20), "denominator": "100"} if mt == "ratio" else
                                   {"count": "1" if m % 3 == 0 else "0"} if mt == "count" else
                                   {"done": "1" if m >= (i % 12) + 1 else None, "done_date": f"2025-{m:02d}-05"}
                                   if mt == "milestone" else {"done": "1"} if mt == "recurring" else
                                   {"result_text": "Đã triển khai"})
            progress.store_received_report(s, code, "bench-60", plan.version, f"2025-{m:02d}", entries,
                                           received_at=datetime(2025, m % 12 + 1, 3 + (i % 5)))
        consolidation.refresh_unit(s, "bench-60", code, plan)
    print(f"  built {n_units} units × 60 targets × 12 periods ({n_units * 720:,} entries) in "
          f"{time.perf_counter() - t0:.1f} s".replace(",", "."))
    return v, s


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="10,50,355")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from desktop.models.services import consolidation
    from desktop.models.domain.status import Progress
    from desktop.ui.consolidation_page import MatrixFilter, MatrixTableModel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-cons-"))
    try:
        for n in [int(x) for x in args.units.split(",")]:
            print(f"{n} units:")
            v, s = build(tmp, n)
            model = MatrixTableModel()
            proxy = MatrixFilter()
            proxy.setSourceModel(model)

            def open_matrix():
                m = consolidation.matrix(s, "bench-60", "2025-06")
                model.set_matrix(m)
                proxy.rowCount()

            def filter_rows():
                proxy.set_filter("khu vuc 1", Progress.CHAM_TIEN_DO)
                proxy.rowCount()
                proxy.set_filter("", None)
                proxy.rowCount()

            o = median_ms(open_matrix, args.runs)
            f = median_ms(filter_rows, args.runs)
            print(f"  matrix open {o:7.1f} ms | filter (text+status, then clear) {f:7.1f} ms "
                  f"| total {o + f:7.1f} ms (target ≤ 300 ms at 355 units)")
            s.lock()
        del app
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
