"""Issue 20 benchmark: the provincial (and national) office at every size.

For N subordinate units × 60 targets × 12 monthly reports (bulk-loaded straight into a real
SQLCipher database, so 3,000 units take seconds to build, not hours), prints:

- `refresh_unit` after one imported report (the per-bundle work at the province), with its
  period passed as the import does, and the same for a unit whose history is 12 months long;
- the matrix open (service) against a raw SQL read of the same cells in the same process;
- the consolidated report document (`reporting.consolidated_report_doc`) against the matrix;

then the growth fitted over the sizes (the exponent b of time ≈ a·N^b: 0 = flat, 1 = linear).
The national office is the case "34 provinces" (its subordinates) and "355" the regional units
of the country, as if one office received them all.

Run: .venv/bin/python benchmarks/bench_scaling.py [--units 10,100,355,1000,3000] [--runs 5]
Aims (issue 20): refresh ≤ 20 ms independent of size and history; matrix ≤ 150 ms at 1,000
units; consolidated document ≤ 1 s at 1,000 units. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
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
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_progress import median_ms, synthetic_plan  # noqa: E402

PW = "mat-khau-do-hieu-nang"
PLAN = "bench-60"
MONTHS = 12
EMPTY_ENTRY = dict(numerator=None, denominator=None, count=None, done=None, done_date=None, result_text="",
                   difficulties="", proposals="")
STATUSES = ("hoan_thanh", "dung_tien_do", "cham_tien_do", "qua_han", "chua_thuc_hien")


def _entry(mt: str, unit: int, month: int) -> dict:
    if mt == "ratio":
        return {"numerator": float(80 + (unit + month) % 20), "denominator": 100.0}
    if mt == "count":
        return {"count": 1 if month % 3 == 0 else 0}
    if mt == "milestone":
        done = month >= (unit % 12) + 1
        return {"done": done, "done_date": f"2025-{month:02d}-05" if done else None}
    if mt == "recurring":
        return {"done": True}
    return {"result_text": "Đã triển khai"}


def build(tmp: Path, n_units: int):
    """A province with `n_units` units that each sent 12 monthly reports; cells materialised."""


    from desktop.models import consolidation, plans
    from desktop.models.keyslots import KdfParams
    from desktop.models.schema import ProgressEntry, Report, Unit
    from desktop.models.vault import UnitIdentity, Vault

    v = Vault(tmp / f"province-{n_units}")
    s, _ = v.create(UnitIdentity("VKS-BENCH", "Viện kiểm sát nhân dân tỉnh Đo", level="tinh"), "quantri", PW,
                    kdf=KdfParams(1, 65536, 2, b"\0" * 16))
    f = tmp / "plan.json"
    f.write_text(json.dumps(synthetic_plan(), ensure_ascii=False), "utf-8")
    plans.import_file(s, f)
    plan = plans.get_plan(s, PLAN)
    kinds = {t.code: t.measure.type for t in plan.targets}
    targets = consolidation.consolidated_targets(s, plan)
    t0 = time.perf_counter()
    now = datetime(2026, 1, 10)
    with s.db.session() as db:
        db.execute(Unit.__table__.insert(), [dict(code=f"VKS-KV{i:04d}", name=f"Viện kiểm sát nhân dân khu vực {i}",
                                       short_name=f"KV{i}", level="khu_vuc", parent_code="VKS-BENCH", place_name="",
                                       doc_symbol="", active=True, is_self=False) for i in range(1, n_units + 1)])
    report_id = 0
    for first in range(1, n_units + 1, 250):  # in slices: 3,000 units are 2.2 million entries
        reports, entries, cells = [], [], []
        for i in range(first, min(n_units, first + 249) + 1):
            code = f"VKS-KV{i:04d}"
            for m in range(1, MONTHS + 1):
                report_id += 1
                snap = {c: {k: (None if x is None else str(x)) for k, x in _entry(mt, i, m).items()}
                        for c, mt in kinds.items()}
                reports.append(dict(id=report_id, plan_id=PLAN, plan_version=plan.version, period_key=f"2025-{m:02d}",
                                    unit_code=code, status="da_nhan", narrative="{}", revision=0, created_at=now,
                                    updated_at=now, received_at=datetime(2025, m % 12 + 1, 3 + i % 5),
                                    approved_snapshot=json.dumps({"entries": snap, "narrative": {}},
                                                                 ensure_ascii=False)))
                for c, mt in kinds.items():
                    entries.append({**EMPTY_ENTRY, "report_id": report_id, "target_code": c, "updated_at": now,
                                    **_entry(mt, i, m)})
                for j, t in enumerate(targets):
                    cells.append(dict(plan_id=PLAN, period_key=f"2025-{m:02d}", unit_code=code, target_code=t.code,
                                      status=STATUSES[(i + j + m) % len(STATUSES)], percent=0.8, reason="",
                                      report_id=report_id))
        with s.db.session() as db:
            db.execute(Report.__table__.insert(), reports)
            db.execute(ProgressEntry.__table__.insert(), entries)
            db.execute(consolidation.MatrixCellRow.__table__.insert(), cells)
    print(f"  built {n_units:,} units × 60 targets × {MONTHS} months ({n_units * MONTHS * 60:,} entries and cells) "
          f"in {time.perf_counter() - t0:.1f} s".replace(",", "."))
    return v, s, plan


def fit_exponent(sizes: list[int], times: list[float]) -> float:
    """Least-squares slope of log(time) on log(size)."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(max(t, 1e-6)) for t in times]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="10,100,355,1000,3000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-doc", action="store_true", help="skip the consolidated document (slow before issue 20)")
    args = ap.parse_args()

    from sqlalchemy import text

    from desktop.models import consolidation, reporting
    from desktop.models.domain import ReportingPeriod

    print(f"bench_scaling — {datetime.now():%d/%m/%Y %H:%M}, {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU, Python {platform.python_version()}")
    sizes = [int(x) for x in args.units.split(",")]
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="vks-bench-scale-"))
    try:
        for n in sizes:
            print(f"{n:,} units:".replace(",", "."))
            v, s, plan = build(tmp, n)
            unit = f"VKS-KV{max(1, n // 2):04d}"
            refresh = median_ms(lambda: consolidation.refresh_unit(s, PLAN, unit, plan, since="2025-12"), args.runs)
            refresh_all = median_ms(lambda: consolidation.refresh_unit(s, PLAN, unit, plan), max(1, args.runs // 2))

            def raw():
                with s.db.session() as db:
                    db.execute(text("SELECT unit_code, target_code, status, percent, reason FROM matrix_cells "
                                    "WHERE plan_id = :p AND period_key = :k"), {"p": PLAN, "k": "2025-06"}).fetchall()
            raw_ms = median_ms(raw, args.runs)
            matrix_ms = median_ms(lambda: consolidation.matrix(s, PLAN, "2025-06"), args.runs)
            doc_ms = None
            if not args.no_doc:
                doc_ms = median_ms(lambda: reporting.consolidated_report_doc(
                    s, PLAN, ReportingPeriod.parse("2025-06")), max(1, min(args.runs, 3)))
            rows.append((n, refresh, refresh_all, matrix_ms, raw_ms, doc_ms))
            print(f"  refresh_unit after one report {refresh:7.1f} ms (aim ≤ 20) | whole 12-month history "
                  f"{refresh_all:7.1f} ms")
            print(f"  matrix open {matrix_ms:7.1f} ms vs raw SQL read {raw_ms:6.1f} ms = {matrix_ms / raw_ms:4.2f}×"
                  + (f" | consolidated document {doc_ms:8.1f} ms = {doc_ms / matrix_ms:5.1f}× the matrix"
                     if doc_ms is not None else ""))
            s.lock()
            shutil.rmtree(tmp / f"province-{n}", ignore_errors=True)
        if len(rows) > 1:
            ns = [r[0] for r in rows]
            print("growth (time ≈ a·N^b): "
                  f"refresh b = {fit_exponent(ns, [r[1] for r in rows]):.2f}, "
                  f"matrix b = {fit_exponent(ns, [r[3] for r in rows]):.2f}, "
                  f"raw read b = {fit_exponent(ns, [r[4] for r in rows]):.2f}"
                  + (f", document b = {fit_exponent(ns, [r[5] for r in rows]):.2f}" if rows[0][5] is not None else ""))
        print("| units | refresh after one report (ms) | matrix (ms) | raw read (ms) | matrix / raw | document (ms) |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n, refresh, _all, m, r, d in rows:
            print(f"| {n:,} | {refresh:.1f} | {m:.1f} | {r:.1f} | {m / r:.2f}× | {'' if d is None else f'{d:.0f}'} |"
                  .replace(",", "."))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
