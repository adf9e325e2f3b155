"""Issue 20 benchmark: the provincial (and national) office at every size.

For N subordinate units × 60 targets × 12 monthly reports (units, reports and entries bulk-loaded
straight into a real SQLCipher database, then the matrix cells evaluated for real by
`consolidation.rebuild`, whatever their storage), prints:

- `refresh_unit` after one imported report (the per-bundle work at the province): a new month (every
  cell written, as the importer calls it) and a resend with the same figures, with its
  period passed as the import does, and the same for a unit whose history is 12 months long;
- the matrix open (service) against a raw read of the same cells in the same process: the SQL read
  of the period's packed rows (`matrix_rows`) and their unpacking into plain values with the cyclic
  GC paused, the least any reader of every cell of the period must do (the rows alone are also
  printed: the matrix unpacks a unit only when the page shows it, so it can be below this);
- the consolidated report document (`reporting.consolidated_report_doc`) against the matrix;

then the growth fitted over the sizes (the exponent b of time ≈ a·N^b: 0 = flat, 1 = linear).
The national office is the case "34 provinces" (its subordinates) and "355" the regional units
of the country, as if one office received them all.

The database is built in a child process that opens it without SQLCipher's
`cipher_memory_security` (a bench-only switch, to load 2 million entries in minutes; the app and
every timed step here keep it ON): 3,000 units take about 4 minutes.

Run: .venv/bin/python benchmarks/bench_scaling.py [--units 10,100,355,1000,3000] [--runs 5]
Aims (issue 20): refresh ≤ 20 ms independent of size and history; matrix ≤ 150 ms at 1,000
units; consolidated document ≤ 1 s at 1,000 units. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_progress import median_wall_cpu_ms, synthetic_plan  # noqa: E402

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
    """A province with `n_units` units that each sent 12 monthly reports; cells materialised
    (built by a child process: `_build`), opened here as the app opens it."""
    from desktop.models.services import plans
    from desktop.models.storage.vault import Vault

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--build-into", str(tmp), "--units", str(n_units)],
                   check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(f"  built in a child process: {time.perf_counter() - t0:.1f} s wall, {cpu:.1f} s CPU")
    v = Vault(tmp / f"province-{n_units}")
    s = v.unlock("quantri", PW)
    return v, s, plans.get_plan(s, PLAN)


def _build(tmp: Path, n_units: int) -> None:
    """The child's work: bulk-load units, reports and entries, then `consolidation.rebuild`."""
    from desktop.models.storage import db as dbmod

    raw_connect = dbmod.raw_connect

    def without_memory_security(path, key):  # bench-only: the app keeps it ON
        conn = raw_connect(path, key)
        conn.execute("PRAGMA cipher_memory_security = OFF")
        return conn
    dbmod.raw_connect = without_memory_security

    from desktop.models.services import consolidation, plans
    from desktop.models.storage.keyslots import KdfParams
    from desktop.models.storage.schema import ProgressEntry, Report, Unit
    from desktop.models.storage.vault import UnitIdentity, Vault

    v = Vault(tmp / f"province-{n_units}")
    s, _ = v.create(UnitIdentity("VKS-BENCH", "Viện kiểm sát nhân dân tỉnh Đo", level="tinh"), "quantri", PW,
                    kdf=KdfParams(1, 65536, 2, b"\0" * 16))
    f = tmp / "plan.json"
    f.write_text(json.dumps(synthetic_plan(), ensure_ascii=False), "utf-8")
    plans.import_file(s, f)
    plan = plans.get_plan(s, PLAN)
    kinds = {t.code: t.measure.type for t in plan.targets}
    t0 = time.perf_counter()
    now = datetime(2026, 1, 10)
    with s.db.session() as db:
        db.execute(Unit.__table__.insert(), [dict(code=f"VKS-KV{i:04d}", name=f"Viện kiểm sát nhân dân khu vực {i}",
                                       short_name=f"KV{i}", level="khu_vuc", parent_code="VKS-BENCH", place_name="",
                                       doc_symbol="", active=True, is_self=False) for i in range(1, n_units + 1)])
    report_id = 0
    for first in range(1, n_units + 1, 250):  # in slices: 3,000 units are 2.2 million entries
        reports, entries = [], []
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
        with s.db.session() as db:
            db.execute(Report.__table__.insert(), reports)
            db.execute(ProgressEntry.__table__.insert(), entries)
    loaded = time.perf_counter()
    cells = consolidation.rebuild(s, PLAN)
    print(f"  built {n_units:,} units × 60 targets × {MONTHS} months ({n_units * MONTHS * 60:,} entries) in "
          f"{loaded - t0:.1f} s, then {cells:,} cells evaluated by consolidation.rebuild in "
          f"{time.perf_counter() - loaded:.1f} s".replace(",", "."))
    s.lock()


def _f(pair, digits: int = 1) -> str:
    return f"{pair[0]:.{digits}f} / {pair[1]:.{digits}f}"


def open_matrix_model(session):
    """What opening the matrix page costs besides the service: the Qt table model and its filter
    proxy over the 1,000 × 60 cells, up to the first painted screenful of data."""
    from PySide6.QtCore import Qt

    from desktop.models.services import consolidation
    from desktop.ui.consolidation_page import MatrixFilter, MatrixTableModel

    m = consolidation.matrix(session, PLAN, "2025-06")
    model = MatrixTableModel()
    model.set_matrix(m)
    proxy = MatrixFilter()
    proxy.setSourceModel(model)
    proxy.sort(0, Qt.SortOrder.AscendingOrder)  # the page's view sorts by unit
    for r in range(min(40, proxy.rowCount())):
        for c in range(min(20, proxy.columnCount())):
            proxy.data(proxy.index(r, c))
    return proxy


def every_unit_evaluated(session, plan, period_key: str) -> dict:
    """The consolidated document's cells as computed before issue 20: every unit's targets
    evaluated from its entries (the baseline, and the reference the materialised cells must equal)."""
    from datetime import date

    from desktop.models.services import consolidation
    from desktop.models.services.dashboard import evaluate_unit
    from desktop.models.domain.plan import ReportingPeriod

    period = ReportingPeriod.parse(period_key)
    as_of = min(date.today(), consolidation.submission_deadline(plan, period))
    targets_of = consolidation.unit_targets(session, plan)
    m = consolidation.matrix(session, PLAN, period)
    return {(u.code, ts.target.code): (ts.result.status, ts.result.percent) for u in m.units if u.reported
            for ts in evaluate_unit(session, PLAN, as_of, period, unit_code=u.code, plan=plan,
                                    targets=targets_of[u.code])}


def refresh_new_period(session, unit: str, runs: int) -> tuple[float, float]:
    """`refresh_unit` as the importer calls it (no plan passed, the report's period) for a report
    of a period the unit had not sent: its December row is removed before each run (untimed), so
    every cell of the month is written."""
    from sqlalchemy import text

    from desktop.models.services import consolidation

    wall, cpu = [], []
    for _ in range(runs):
        with session.db.session() as db:
            db.execute(text("DELETE FROM matrix_rows WHERE plan_id = :p AND unit_code = :u AND period_key = '2025-12'"),
                       {"p": PLAN, "u": unit})
        t0, c0 = time.perf_counter(), time.process_time()
        consolidation.refresh_unit(session, PLAN, unit, since="2025-12")
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def fit_exponent(sizes: list[int], times: list[float]) -> float:
    """Least-squares slope of log(time) on log(size)."""
    xs = [math.log(n) for n in sizes]
    ys = [math.log(max(t, 1e-6)) for t in times]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", default="10,34,100,355,1000,3000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-doc", action="store_true", help="skip the consolidated document (slow before issue 20)")
    ap.add_argument("--baseline-max", type=int, default=1000,
                    help="evaluate every unit (the document before issue 20) up to this many units")
    ap.add_argument("--check-max", type=int, default=100,
                    help="up to this many units, check the document against evaluating every unit")
    ap.add_argument("--keep", metavar="DIR", help="keep the built databases in DIR and reuse them on the next run "
                    "(building 3,000 units takes minutes on a busy machine)")
    ap.add_argument("--no-qt", dest="qt", action="store_false", help="skip the matrix page's Qt model")
    ap.add_argument("--build-into", metavar="DIR", help=argparse.SUPPRESS)  # the child process of build()
    args = ap.parse_args()
    if args.build_into:
        _build(Path(args.build_into), int(args.units))
        return 0

    from sqlalchemy import text

    from desktop.models.services import consolidation, reporting
    from desktop.models.domain.plan import ReportingPeriod

    print(f"bench_scaling — {datetime.now():%d/%m/%Y %H:%M}, {platform.node()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPU, Python {platform.python_version()}")
    sizes = [int(x) for x in args.units.split(",")]
    rows = []
    if args.qt:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])  # noqa: F841 — the models need one
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vks-bench-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        for n in sizes:
            print(f"{n:,} units:".replace(",", "."))
            if (tmp / f"province-{n}" / "keyslots.json").exists() and args.keep:
                from desktop.models.services import plans
                from desktop.models.storage.vault import Vault

                v = Vault(tmp / f"province-{n}")
                s = v.unlock("quantri", PW)
                plan = plans.get_plan(s, PLAN)
                print("  reusing the database built by an earlier run")
            else:
                v, s, plan = build(tmp, n)
            unit = f"VKS-KV{max(1, n // 2):04d}"
            refresh_new = refresh_new_period(s, unit, args.runs)
            refresh = median_wall_cpu_ms(lambda: consolidation.refresh_unit(s, PLAN, unit, plan, since="2025-12"),
                                         args.runs)
            refresh_all = median_wall_cpu_ms(lambda: consolidation.refresh_unit(s, PLAN, unit, plan),
                                             max(1, args.runs // 2))

            def raw_rows():
                with s.db.session() as db:
                    return db.execute(text("SELECT unit_code, cells FROM matrix_rows WHERE plan_id = :p AND "
                                           "period_key = :k"), {"p": PLAN, "k": "2025-06"}).fetchall()

            def raw():  # every cell of the period as plain values: the least a reader of them all does
                unpack = consolidation.unpack_cells
                gc.disable()  # as the services build their cells: no cyclic GC walks over 60,000 new lists
                try:
                    return {code: unpack(blob) for code, blob in raw_rows()}
                finally:
                    gc.enable()
            rows_ms = median_wall_cpu_ms(raw_rows, args.runs)
            raw_ms = median_wall_cpu_ms(raw, args.runs)
            # the first opening after an unlock checks every report's signatures and entries; the
            # next ones only the reports that changed (insider.report_problems_in)
            s.lock()
            s = v.unlock("quantri", PW)
            first_ms = median_wall_cpu_ms(lambda: consolidation.matrix(s, PLAN, "2025-06"), 1)
            matrix_ms = median_wall_cpu_ms(lambda: consolidation.matrix(s, PLAN, "2025-06"), args.runs)
            model_ms = median_wall_cpu_ms(lambda: open_matrix_model(s), args.runs) if args.qt else None
            doc_ms = full_ms = None
            if not args.no_doc:
                doc_ms = median_wall_cpu_ms(lambda: reporting.consolidated_report_doc(
                    s, PLAN, ReportingPeriod.parse("2025-06")), max(1, min(args.runs, 3)))
            if not args.no_doc and n <= args.baseline_max:
                full_ms = median_wall_cpu_ms(lambda: every_unit_evaluated(s, plan, "2025-06"), 1)
            same = None
            if not args.no_doc and n <= args.check_max:  # the cells were evaluated by consolidation.rebuild
                doc = reporting.consolidated_report_doc(s, PLAN, ReportingPeriod.parse("2025-06"))
                want = {k: (st, pct) for k, (st, pct) in every_unit_evaluated(s, plan, "2025-06").items()}
                same = {k: (c.status, c.value) for k, c in doc.cells.items()} == want
            rows.append((n, refresh, refresh_all, matrix_ms, raw_ms, doc_ms, model_ms, first_ms, refresh_new, rows_ms))
            print(f"  refresh_unit after a new month's report {_f(refresh_new)} ms (aim ≤ 20) | after a resend with "
                  f"the same figures {_f(refresh)} ms | whole 12-month history {_f(refresh_all)} ms   [wall/CPU]")
            print(f"  matrix open {_f(matrix_ms)} ms vs raw read + unpacking {_f(raw_ms)} ms (rows alone "
                  f"{_f(rows_ms)}) = "
                  f"{matrix_ms[0] / raw_ms[0]:4.2f}× wall, {matrix_ms[1] / max(raw_ms[1], 0.01):4.2f}× CPU; "
                  f"first open after unlock {_f(first_ms)} ms")
            if model_ms is not None:
                print(f"  matrix page open (service + Qt model + filter) {_f(model_ms)} ms (aim ≤ 150) = "
                      f"{model_ms[0] / raw_ms[0]:4.2f}× the raw read (wall)")
            if doc_ms is not None:
                print(f"  consolidated document {_f(doc_ms)} ms (aim ≤ 1000) = {doc_ms[0] / matrix_ms[0]:5.1f}× "
                      "the matrix (wall)")
            if full_ms is not None:
                print(f"  baseline: every unit evaluated (the document before issue 20) {_f(full_ms, 0)} ms; "
                      f"document / baseline = {doc_ms[1] / full_ms[1]:.3f} (CPU)")
            if same is not None:
                print(f"  document cells equal to evaluating every unit: {'yes' if same else 'NO'}")
            s.lock()
            if not args.keep:
                shutil.rmtree(tmp / f"province-{n}", ignore_errors=True)
        if len(rows) > 1:
            ns = [r[0] for r in rows]

            def b(i):
                return fit_exponent(ns, [r[i][1] for r in rows])
            print("growth of the CPU time (time ≈ a·N^b): "
                  f"refresh b = {b(8):.2f} (new month) / {b(1):.2f} (same figures), matrix b = {b(3):.2f}, "
                  f"raw read + unpacking b = {b(4):.2f}, rows alone b = {b(9):.2f}"
                  + (f", document b = {b(5):.2f}" if rows[0][5] is not None else "")
                  + (f", matrix page b = {b(6):.2f}" if rows[0][6] is not None else ""))
        print("| units | refresh after a new month (ms) | refresh after a resend, same figures (ms) | whole history (ms) | matrix (ms) | "
              "raw read + unpacking (ms) | rows alone (ms) | matrix / raw (CPU) | first matrix after unlock (ms) | "
              "matrix page with Qt model (ms) | document (ms) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n, refresh, whole, m, r, d, q, first, new, rr in rows:
            print(f"| {n:,} | {_f(new)} | {_f(refresh)} | {_f(whole)} | {_f(m)} | {_f(r)} | {_f(rr)} | {m[1] / max(r[1], 0.01):.2f}× | "
                  f"{_f(first)} | {'' if q is None else _f(q)} | {'' if d is None else _f(d, 0)} |".replace(",", "."))
        print("(each cell: median wall / median CPU time)")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
